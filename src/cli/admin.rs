//! `admin partner …` and `admin merchant …`: the operator's registry (`admin qr …` is in
//! `payment.rs`).

use crate::cli::args::{
    AdminArgs, AdminCommand, AdminNotifyCommand, CriteriaArg, DEFAULT_SERVICES, GlobalArgs,
    MerchantAdd, MerchantCommand, PartnerAdd, PartnerCommand, SignatureArg,
};
use crate::cli::master_key;
use crate::cli::operator;
use crate::cli::outbox;
use crate::cli::payment;
use crate::cli::settings;
use crate::cli::show::say;
use anyhow::{Context, anyhow};
use snapqris_protocol::{
    ClientId, Mcc, MerchantCity, MerchantId, MerchantName, PostalCode, RsaPublicKey,
    format_rfc3339_jakarta,
};
use snapqris_qris::{Criteria, derive_sandbox_nmid};
use snapqris_store::{
    Constraint, Entity, NewMerchant, NewPartner, PartnerChange, SignatureMode, Store, StoreError,
    StoreOptions,
};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use time::OffsetDateTime;

/// Opens the store (migrating it) and runs one admin command.
pub(crate) async fn run(global: &GlobalArgs, args: AdminArgs) -> anyhow::Result<ExitCode> {
    let url = settings::database_url(global)?;
    // The store's warnings (a merchant whose PAN changed in an upgrade) reach the operator.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
        .with_ansi(false)
        .without_time()
        .try_init();
    let options = StoreOptions {
        master_key: settings::master_key(global)?,
        ..StoreOptions::default()
    };
    let open = || async {
        snapqris_store::connect(&url, &options)
            .await
            .context("cannot open the database")
    };
    match args.command {
        AdminCommand::Partner(command) => partner(&*open().await?, command).await?,
        AdminCommand::Merchant(command) => merchant(&*open().await?, command).await?,
        AdminCommand::Qr(command) => payment::run(open().await?, command).await?,
        AdminCommand::Notify(command) => notify(&*open().await?, command).await?,
        AdminCommand::Operator(command) => operator::operator(&*open().await?, command).await?,
        AdminCommand::Audit(command) => operator::audit(&*open().await?, command).await?,
        // Not through `connect`, which refuses values sealed under the previous key.
        AdminCommand::Rekey { from_key_file } => {
            master_key::rekey(&url, &options, from_key_file.as_deref()).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `admin notify key|rotate-key` (CONTRACT §6.2): both print the public key in force.
async fn notify(store: &dyn Store, command: AdminNotifyCommand) -> anyhow::Result<()> {
    let key = match command {
        AdminNotifyCommand::List { client_id, status } => {
            return outbox::list(store, client_id, status).await;
        }
        AdminNotifyCommand::Show { notification_id } => {
            return outbox::show(store, &notification_id).await;
        }
        AdminNotifyCommand::Resend { notification_id } => {
            return outbox::resend(store, &notification_id).await;
        }
        AdminNotifyCommand::Key => snapqris_server::notification_key(store).await?,
        AdminNotifyCommand::RotateKey { private_key } => {
            let new = match private_key {
                None => None,
                Some(path) => {
                    let pem = std::fs::read(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    let key =
                        snapqris_protocol::RsaPrivateKey::parse_pem(&pem).with_context(|| {
                            format!("{} is not a usable RSA private key", path.display())
                        })?;
                    Some(key)
                }
            };
            snapqris_server::rotate_notification_key(store, new).await?
        }
    };
    say!("{}", key.public_key().to_spki_pem().trim_end())?;
    Ok(())
}

async fn partner(store: &dyn Store, command: PartnerCommand) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    match command {
        PartnerCommand::Add(add) => add_partner(store, add, now).await?,
        PartnerCommand::List => list_partners(store).await?,
        PartnerCommand::Disable { client_id } => {
            let result = store.set_partner_enabled(&client_id, false, now).await;
            known_partner(result, &client_id)?;
            say!("partner {client_id} disabled")?;
        }
        PartnerCommand::Enable { client_id } => {
            let result = store.set_partner_enabled(&client_id, true, now).await;
            known_partner(result, &client_id)?;
            say!("partner {client_id} enabled")?;
        }
        PartnerCommand::SetKey {
            client_id,
            public_key,
        } => {
            let pem = read_public_key(&public_key)?;
            known_partner(
                store.set_partner_key(&client_id, &pem, now).await,
                &client_id,
            )?;
            say!("partner {client_id}: public key replaced")?;
        }
        PartnerCommand::SetServices {
            client_id,
            mut services,
        } => {
            services.sort_by_key(|service| service.code());
            services.dedup();
            let codes: Vec<String> = services.iter().map(ToString::to_string).collect();
            let change = PartnerChange::Services(services);
            known_partner(
                store.update_partner(&client_id, change, now).await,
                &client_id,
            )?;
            say!("partner {client_id} may call {}", codes.join(","))?;
        }
        PartnerCommand::SetCallback { client_id, url } => {
            let url = snapqris_server::CallbackUrl::parse(&url)?;
            let shown = url.as_ref().map(|url| url.to_string());
            let change = PartnerChange::CallbackUrl(shown.clone());
            known_partner(
                store.update_partner(&client_id, change, now).await,
                &client_id,
            )?;
            match shown {
                Some(url) => say!("partner {client_id}: notifications go to {url}")?,
                None => say!("partner {client_id}: no notification URL; notifications are held")?,
            }
        }
        PartnerCommand::RotateSecret {
            client_id,
            client_secret,
            client_secret_stdin,
        } => {
            let given = given_secret(client_secret, client_secret_stdin)?;
            let (secret, generated) = secret_or_fresh(given)?;
            let result = store.set_partner_secret(&client_id, &secret, now).await;
            known_partner(result, &client_id)?;
            say!("partner {client_id}: client secret replaced")?;
            if generated {
                say!("client-secret: {secret}")?;
            }
        }
    }
    Ok(())
}

async fn add_partner(
    store: &dyn Store,
    add: PartnerAdd,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let client_id = ClientId::parse(&add.client_id).map_err(|_| {
        anyhow!(
            "client id {:?} must be 1–36 characters of A-Za-z0-9._-",
            add.client_id
        )
    })?;
    let public_key_pem = read_public_key(&add.public_key)?;
    let given = given_secret(add.client_secret, add.client_secret_stdin)?;
    let (client_secret, generated) = secret_or_fresh(given)?;
    let mut services = add.services.unwrap_or_else(|| DEFAULT_SERVICES.to_vec());
    services.sort_by_key(|s| s.code());
    services.dedup();
    let partner = NewPartner {
        client_id,
        public_key_pem,
        client_secret: client_secret.clone(),
        signature_mode: match add.signature {
            SignatureArg::Hmac => SignatureMode::Hmac,
            SignatureArg::Rsa => SignatureMode::Rsa,
        },
        services,
    };
    match store.add_partner(&partner, now).await {
        Err(StoreError::Conflict(Constraint::ClientId)) => {
            Err(anyhow!("client id {:?} already exists", add.client_id))
        }
        other => other.context("cannot add the partner"),
    }?;
    say!("partner {} added", add.client_id)?;
    if generated {
        say!("client-secret: {client_secret}")?;
    }
    Ok(())
}

async fn list_partners(store: &dyn Store) -> anyhow::Result<()> {
    let partners = store.partners().await.context("cannot list partners")?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "client_id\tsignature\tservices\tenabled\tcallback_url\tcreated_at"
    )?;
    for p in partners {
        let services: Vec<String> = p.services.iter().map(ToString::to_string).collect();
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}",
            p.client_id,
            p.signature_mode.as_str(),
            services.join(","),
            p.enabled,
            p.callback_url.as_deref().unwrap_or(""),
            format_rfc3339_jakarta(p.created_at)
        )?;
    }
    Ok(())
}

async fn merchant(store: &dyn Store, command: MerchantCommand) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    match command {
        MerchantCommand::Add(add) => add_merchant(store, add, now).await?,
        MerchantCommand::List { client_id } => list_merchants(store, client_id.as_deref()).await?,
        MerchantCommand::Blacklist {
            merchant_id,
            reason,
        } => {
            let result = store
                .set_merchant_blacklist(&merchant_id, Some(reason.as_deref()), now)
                .await;
            known_merchant(result, &merchant_id)?;
            say!("merchant {merchant_id} blacklisted")?;
        }
        MerchantCommand::Unblacklist { merchant_id } => {
            let result = store.set_merchant_blacklist(&merchant_id, None, now).await;
            known_merchant(result, &merchant_id)?;
            say!("merchant {merchant_id} no longer blacklisted")?;
        }
    }
    Ok(())
}

async fn add_merchant(
    store: &dyn Store,
    add: MerchantAdd,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let merchant_id = MerchantId::parse(&add.merchant_id).map_err(|_| {
        anyhow!(
            "merchant id {:?} must be 1–15 characters of A-Za-z0-9",
            add.merchant_id
        )
    })?;
    let client_id = ClientId::parse(&add.client_id)
        .map_err(|_| anyhow!("no partner with client id {:?}", add.client_id))?;
    let name = MerchantName::parse(&add.name).map_err(|_| {
        anyhow!(
            "merchant name {:?} must be 1–25 printable ASCII characters",
            add.name
        )
    })?;
    let city = MerchantCity::parse(&add.city).map_err(|_| {
        anyhow!(
            "merchant city {:?} must be 1–15 printable ASCII characters",
            add.city
        )
    })?;
    let mcc =
        Mcc::parse(&add.mcc).map_err(|_| anyhow!("MCC {:?} must be exactly 4 digits", add.mcc))?;
    let postal_code = PostalCode::parse(&add.postal_code).map_err(|_| {
        anyhow!(
            "postal code {:?} must be 1–10 characters of A-Za-z0-9",
            add.postal_code
        )
    })?;
    let nmid = match add.nmid {
        Some(nmid) if is_nmid(&nmid) => nmid,
        Some(nmid) => return Err(anyhow!("NMID {nmid:?} must be ID followed by 1–13 digits")),
        None => derive_sandbox_nmid(merchant_id.as_str()),
    };
    let criteria = match add.criteria {
        CriteriaArg::Umi => Criteria::Umi,
        CriteriaArg::Uke => Criteria::Uke,
        CriteriaArg::Ume => Criteria::Ume,
        CriteriaArg::Ube => Criteria::Ube,
        CriteriaArg::Ure => Criteria::Ure,
    };
    let merchant = NewMerchant {
        merchant_id,
        client_id,
        name: name.into_string(),
        city: city.into_string(),
        mcc: mcc.into_string(),
        postal_code: postal_code.into_string(),
        nmid: nmid.clone(),
        criteria: criteria.as_str().to_owned(),
    };
    match store.add_merchant(&merchant, now).await {
        Err(StoreError::Conflict(Constraint::MerchantId)) => {
            Err(anyhow!("merchant id {:?} already exists", add.merchant_id))
        }
        Err(StoreError::NotFound(Entity::Partner)) => {
            Err(anyhow!("no partner with client id {:?}", add.client_id))
        }
        other => other.context("cannot add the merchant"),
    }?;
    say!("merchant {} added (NMID {nmid})", add.merchant_id)?;
    Ok(())
}

async fn list_merchants(store: &dyn Store, client_id: Option<&str>) -> anyhow::Result<()> {
    let merchants = store
        .merchants(client_id)
        .await
        .context("cannot list merchants")?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "merchant_id\tclient_id\tname\tcity\tmcc\tpostal_code\tnmid\tcriteria\tblacklisted\tcreated_at\tpan_account"
    )?;
    for m in merchants {
        let blacklisted = match &m.blacklisted {
            None => "no".to_owned(),
            Some(b) => match &b.reason {
                Some(reason) => format!("since {} ({reason})", format_rfc3339_jakarta(b.since)),
                None => format!("since {}", format_rfc3339_jakarta(b.since)),
            },
        };
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{:09}",
            m.merchant_id,
            m.client_id,
            m.name,
            m.city,
            m.mcc,
            m.postal_code,
            m.nmid,
            m.criteria,
            // A reason is operator text: keep the table's shape whatever it holds.
            blacklisted.replace(['\t', '\n', '\r'], " "),
            format_rfc3339_jakarta(m.created_at),
            // Tag 26.01 is the acquirer NNS, these 9 digits and a Luhn digit.
            m.pan_account
        )?;
    }
    Ok(())
}

/// An NMID as QRIS tag 51 sub 02 takes it: `ID` and digits, at most 15 characters.
fn is_nmid(nmid: &str) -> bool {
    nmid.len() <= 15
        && nmid.len() > 2
        && nmid.starts_with("ID")
        && nmid[2..].bytes().all(|b| b.is_ascii_digit())
}

/// Reads a public key file and returns it as SPKI PEM, the stored form.
fn read_public_key(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read public key {}", path.display()))?;
    let key =
        RsaPublicKey::parse(&bytes).with_context(|| format!("public key {}", path.display()))?;
    Ok(key.to_spki_pem())
}

/// The secret from `--client-secret`, or from one line of stdin with `--client-secret-stdin`
/// (CONTRACT §8; its line ending removed). clap refuses both at once.
fn given_secret(flag: Option<String>, from_stdin: bool) -> anyhow::Result<Option<String>> {
    if !from_stdin {
        return Ok(flag);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the client secret from stdin")?;
    let secret = line.strip_suffix('\n').unwrap_or(&line);
    let secret = secret.strip_suffix('\r').unwrap_or(secret);
    Ok(Some(secret.to_owned()))
}

/// The given secret, or a fresh one (`true`: generated, to be shown once).
fn secret_or_fresh(given: Option<String>) -> anyhow::Result<(String, bool)> {
    match given {
        Some(secret) if secret.is_empty() => Err(anyhow!("the client secret must not be empty")),
        Some(secret) => Ok((secret, false)),
        None => Ok((fresh_secret()?, true)),
    }
}

/// A client secret: 32 random bytes as 64 hex digits (safe to paste into any shell).
pub(crate) fn fresh_secret() -> anyhow::Result<String> {
    let mut bytes = [0_u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| anyhow!("the system random generator failed"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Turns "no such partner" into the operator's one-line message.
fn known_partner(result: Result<(), StoreError>, client_id: &str) -> anyhow::Result<()> {
    match result {
        Err(StoreError::NotFound(_)) => Err(anyhow!("no partner with client id {client_id:?}")),
        other => other.context("cannot update the partner"),
    }
}

/// Turns "no such merchant" into the operator's one-line message.
fn known_merchant(result: Result<(), StoreError>, merchant_id: &str) -> anyhow::Result<()> {
    match result {
        Err(StoreError::NotFound(_)) => Err(anyhow!("no merchant with id {merchant_id:?}")),
        other => other.context("cannot update the merchant"),
    }
}
