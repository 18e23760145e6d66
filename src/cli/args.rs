//! The command line as typed (clap derive). CONTRACT §3 fixes every spelling here.

use clap::{Args, Parser, Subcommand, ValueEnum};
use snapqris_protocol::{Amount, ServiceCode};
use std::path::PathBuf;

/// A SNAP BI QRIS (MPM) payment API server: B2B token, generate QR, generate list.
#[derive(Debug, Parser)]
#[command(name = "snapqris", version, about)]
pub(crate) struct Cli {
    /// Options every command accepts, before or after the subcommand.
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options accepted before or after any subcommand.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Database URL: sqlite://FILE or postgres://USER:PASSWORD@HOST/DB [default: sqlite://snapqris.db]
    #[arg(
        long,
        global = true,
        env = "SNAPQRIS_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub(crate) database: Option<String>,
    /// TOML file of settings (snake_case keys); flags and SNAPQRIS_* variables override it.
    #[arg(long, global = true, env = "SNAPQRIS_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// File of the 32-byte master key that seals secrets in the database (owner-only; made by
    /// `snapqris keygen --master-key FILE`) [default: none, secrets stored in clear]
    #[arg(
        long,
        global = true,
        env = "SNAPQRIS_MASTER_KEY_FILE",
        value_name = "FILE"
    )]
    pub(crate) master_key_file: Option<PathBuf>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Serve the API.
    Serve(ServeArgs),
    /// Load-test a server with signed requests (all signed before the clock starts).
    Bench(crate::cli::bench::BenchArgs),
    /// Run the whole story on a throw-away store and print every request and response.
    Demo,
    /// Write a fresh RSA-2048 key pair: DIR/private.pem (PKCS#8) and DIR/public.pem (SPKI), or
    /// a master key (--master-key FILE).
    Keygen(KeygenArgs),
    /// Register and manage partners and merchants.
    Admin(AdminArgs),
    /// Call a server as a partner, to check signatures against the server's.
    Client(ClientArgs),
    /// Decode a QRIS payload tag by tag, or draw it as a PNG or SVG QR code.
    Qr(QrArgs),
    /// Receive snapqris's payment notifications as a partner would (development receiver).
    Notify(NotifyArgs),
}

/// `admin notify …`.
#[derive(Debug, Subcommand)]
pub(crate) enum AdminNotifyCommand {
    /// Print the notification public key (PEM SPKI), creating the key pair if there is none.
    Key,
    /// Replace the notification key with a fresh one, or with the private key given.
    RotateKey {
        /// The new private key (PEM PKCS#8 or PKCS#1); a fresh RSA-2048 key when omitted.
        #[arg(long, value_name = "FILE")]
        private_key: Option<PathBuf>,
    },
    /// List notifications, newest first (tab-separated, with a header row).
    List {
        /// Only this partner's.
        #[arg(long, value_name = "ID")]
        client_id: Option<String>,
        /// Only those in this state.
        #[arg(long, value_enum)]
        status: Option<NotificationStatusArg>,
    },
    /// Show one notification: its body and every attempt.
    Show {
        /// The notification's id.
        notification_id: String,
    },
    /// Queue a delivered or failed notification again; a running server attempts it within 1 s.
    Resend {
        /// The notification's id.
        notification_id: String,
    },
}

/// `admin notify list --status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum NotificationStatusArg {
    /// Waiting for the partner's callback URL or for it to be enabled.
    Held,
    /// Attempts due or scheduled.
    Pending,
    /// Acknowledged by the partner.
    Delivered,
    /// The retry schedule ran out.
    Failed,
}

/// `notify …`.
#[derive(Debug, Args)]
pub(crate) struct NotifyArgs {
    #[command(subcommand)]
    pub(crate) command: NotifyCommand,
}

/// The `notify` commands.
#[derive(Debug, Subcommand)]
pub(crate) enum NotifyCommand {
    /// Verify, print (one JSON line each) and acknowledge the notifications sent here.
    Listen(NotifyListenArgs),
}

/// `notify listen`.
#[derive(Debug, Args)]
pub(crate) struct NotifyListenArgs {
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:8090", value_name = "ADDR")]
    pub(crate) listen: String,
    /// snapqris's notification public key (PEM); repeat it to accept the old and the new key
    /// during a rotation
    #[arg(long, required = true, value_name = "FILE")]
    pub(crate) public_key: Vec<std::path::PathBuf>,
}

pub(crate) use crate::cli::serve_args::{DurabilityArg, LogFormat, ServeArgs, Tolerance};

/// An amount such as `10000000.00`.
pub(crate) fn parse_amount(text: &str) -> Result<Amount, String> {
    Amount::parse(text).map_err(|_| "expected an amount with two decimals, e.g. 9000.00".into())
}

/// `keygen`: a partner's key pair (`--out`) or the deployment's master key (`--master-key`).
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["out", "master_key"])))]
pub(crate) struct KeygenArgs {
    /// Directory to write private.pem and public.pem into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Write a new master key instead: 32 random bytes, owner-only; never overwrites FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) master_key: Option<PathBuf>,
}

/// `admin`.
#[derive(Debug, Args)]
pub(crate) struct AdminArgs {
    /// What to manage.
    #[command(subcommand)]
    pub(crate) command: AdminCommand,
}

/// The things an operator manages.
#[derive(Debug, Subcommand)]
pub(crate) enum AdminCommand {
    /// Partners: the API's clients.
    #[command(subcommand)]
    Partner(PartnerCommand),
    /// Merchants: whose QR codes partners generate.
    #[command(subcommand)]
    Merchant(MerchantCommand),
    /// QR codes: simulate payments (sandboxes).
    #[command(subcommand)]
    Qr(AdminQrCommand),
    /// The notification key: print its public half for partners, or replace it.
    #[command(subcommand)]
    Notify(AdminNotifyCommand),
    /// Console operators: who may log in to the console (serve --console-listen).
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// The console's audit log: what operators did there.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Seal every secret stored in clear under the master key (--master-key-file); with
    /// --from-key-file, also re-seal what the previous master key sealed.
    Rekey {
        /// The previous master key file, when rotating to a new master key.
        #[arg(long, value_name = "FILE")]
        from_key_file: Option<PathBuf>,
    },
}

/// `admin operator …`.
#[derive(Debug, Subcommand)]
pub(crate) enum OperatorCommand {
    /// Add an operator; prints a generated password once (or reads one from stdin).
    Add {
        /// The login name: letters, digits, `.`, `_`, `@`, `-`.
        #[arg(long, value_name = "NAME")]
        name: String,
        /// Read the password from one line of stdin instead (12 to 256 characters).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove an operator; its console sessions end.
    Remove {
        /// The login name.
        #[arg(value_name = "NAME")]
        name: String,
    },
}

/// `admin audit …`.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Print the audit log, newest first: id, time, operator, action, target, detail.
    List {
        /// At most this many entries.
        #[arg(long, value_name = "N", default_value_t = 1000)]
        limit: u32,
    },
}

/// `admin qr …`.
#[derive(Debug, Subcommand)]
pub(crate) enum AdminQrCommand {
    /// Mark a QR paid now: a dynamic QR once, before it expires, for its own amount; a static
    /// QR any number of times, for the amount given with --amount.
    Pay {
        /// The QR's id (referenceNo).
        #[arg(value_name = "ID_QR", allow_negative_numbers = true)]
        id_qr: String,
        /// The amount paid, e.g. 9000.00: required for a static QR; for a dynamic QR it must
        /// equal the QR's own amount.
        #[arg(long, value_name = "VALUE", allow_negative_numbers = true)]
        amount: Option<String>,
    },
}

/// `admin partner …`.
#[derive(Debug, Subcommand)]
pub(crate) enum PartnerCommand {
    /// Register a partner.
    Add(PartnerAdd),
    /// List partners (never their secrets).
    List,
    /// Refuse the partner's tokens and requests.
    Disable {
        /// The partner's client id.
        #[arg(value_name = "ID")]
        client_id: String,
    },
    /// Accept the partner again.
    Enable {
        /// The partner's client id.
        #[arg(value_name = "ID")]
        client_id: String,
    },
    /// Replace the partner's public key.
    SetKey {
        /// The partner's client id.
        #[arg(value_name = "ID")]
        client_id: String,
        /// The new public key: PEM SPKI, PEM PKCS#1 or bare Base64 DER.
        #[arg(long, value_name = "FILE")]
        public_key: PathBuf,
    },
    /// Replace the service codes the partner may call.
    SetServices {
        /// The partner's client id.
        #[arg(value_name = "ID")]
        client_id: String,
        /// The service codes, e.g. 47,51,77,78,90,93.
        #[arg(long, value_name = "CODES", value_delimiter = ',', value_parser = parse_service, required = true)]
        services: Vec<ServiceCode>,
    },
    /// Set where the partner's payment notifications go (`--url ''` removes it).
    SetCallback {
        /// The partner's client id.
        #[arg(value_name = "ID")]
        client_id: String,
        /// The notification base URL: http:// or https://, at most 512 characters, no user
        /// info, query or fragment.
        #[arg(long, value_name = "URL")]
        url: String,
    },
    /// Replace the partner's client secret (generated and printed once when omitted).
    RotateSecret {
        /// The partner's client id.
        #[arg(value_name = "ID")]
        client_id: String,
        /// The new secret.
        #[arg(long, value_name = "SECRET", conflicts_with = "client_secret_stdin")]
        client_secret: Option<String>,
        /// Read the new secret from one line of stdin (kept out of the process list).
        #[arg(long)]
        client_secret_stdin: bool,
    },
}

/// `admin partner add`.
#[derive(Debug, Args)]
pub(crate) struct PartnerAdd {
    /// The client id: 1–36 of A-Za-z0-9._-
    #[arg(long, value_name = "ID")]
    pub(crate) client_id: String,
    /// The partner's public key: PEM SPKI, PEM PKCS#1 or bare Base64 DER; RSA ≥ 2048 bits.
    #[arg(long, value_name = "FILE")]
    pub(crate) public_key: PathBuf,
    /// The HMAC client secret (generated and printed once when omitted).
    #[arg(long, value_name = "SECRET", conflicts_with = "client_secret_stdin")]
    pub(crate) client_secret: Option<String>,
    /// Read the client secret from one line of stdin (kept out of the process list).
    #[arg(long)]
    pub(crate) client_secret_stdin: bool,
    /// How the partner signs transactions.
    #[arg(long, value_name = "MODE", default_value = "hmac")]
    pub(crate) signature: SignatureArg,
    /// Service codes the partner may call [default: 47,51,77,78,90,93]
    #[arg(long, value_name = "CODES", value_delimiter = ',', value_parser = parse_service)]
    pub(crate) services: Option<Vec<ServiceCode>>,
}

/// A transaction signature mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SignatureArg {
    /// HMAC-SHA512 with the client secret, over a string that includes the token.
    Hmac,
    /// SHA256withRSA with the partner's private key.
    Rsa,
}

/// The transaction services a partner can be granted (CONTRACT §3, §6: 47, 50, 51, 77, 78, 90,
/// 93).
pub(crate) const GRANTABLE: [ServiceCode; 7] = [
    ServiceCode::GenerateQr,
    ServiceCode::Payment,
    ServiceCode::Query,
    ServiceCode::Cancel,
    ServiceCode::Refund,
    ServiceCode::GenerateList,
    ServiceCode::ExpireBillNumber,
];

/// The services of a partner added without `--services`: all but 50, which only a payer's
/// institution is granted (CONTRACT §6.1).
pub(crate) const DEFAULT_SERVICES: [ServiceCode; 6] = [
    ServiceCode::GenerateQr,
    ServiceCode::Query,
    ServiceCode::Cancel,
    ServiceCode::Refund,
    ServiceCode::GenerateList,
    ServiceCode::ExpireBillNumber,
];

/// One of `47`, `50`, `51`, `77`, `78`, `90`, `93`.
fn parse_service(text: &str) -> Result<ServiceCode, String> {
    text.trim()
        .parse::<u8>()
        .ok()
        .and_then(|code| GRANTABLE.into_iter().find(|s| s.code() == code))
        .ok_or_else(|| "expected service codes among 47, 50, 51, 77, 78, 90, 93".into())
}

/// `admin merchant …`.
#[derive(Debug, Subcommand)]
pub(crate) enum MerchantCommand {
    /// Register a merchant.
    Add(MerchantAdd),
    /// List merchants.
    List {
        /// Only this partner's merchants.
        #[arg(long, value_name = "PARTNER")]
        client_id: Option<String>,
    },
    /// Refuse the merchant's requests (4039019 / 403xx19).
    Blacklist {
        /// The merchant id.
        #[arg(value_name = "ID")]
        merchant_id: String,
        /// Why, for the operators.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Lift a blacklisting.
    Unblacklist {
        /// The merchant id.
        #[arg(value_name = "ID")]
        merchant_id: String,
    },
}

/// `admin merchant add`.
#[derive(Debug, Args)]
pub(crate) struct MerchantAdd {
    /// The merchant id: 1–15 of A-Za-z0-9, unique across the deployment.
    #[arg(long, value_name = "ID")]
    pub(crate) merchant_id: String,
    /// The owning partner's client id.
    #[arg(long, value_name = "PARTNER")]
    pub(crate) client_id: String,
    /// Merchant name (QR tag 59): 1–25 printable ASCII characters.
    #[arg(long, value_name = "NAME")]
    pub(crate) name: String,
    /// Merchant city (QR tag 60): 1–15 printable ASCII characters.
    #[arg(long, value_name = "CITY")]
    pub(crate) city: String,
    /// Merchant category code: 4 digits.
    #[arg(long, value_name = "MCC", default_value = "5999", value_parser = parse_digits)]
    pub(crate) mcc: String,
    /// Postal code: 1–10 of A-Za-z0-9.
    #[arg(long, value_name = "CODE", default_value = "10110")]
    pub(crate) postal_code: String,
    /// National merchant id (derived for the sandbox when omitted).
    #[arg(long, value_name = "NMID")]
    pub(crate) nmid: Option<String>,
    /// QRIS merchant criteria.
    #[arg(long, value_name = "CRITERIA", default_value = "UMI")]
    pub(crate) criteria: CriteriaArg,
}

/// A QRIS merchant criteria, spelled as in the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
pub(crate) enum CriteriaArg {
    /// Micro business.
    Umi,
    /// Small business.
    Uke,
    /// Medium business.
    Ume,
    /// Large business.
    Ube,
    /// Regular (non-UMKM) merchant.
    Ure,
}

/// A string of digits; leading zeros kept (MCC `0742` is real).
fn parse_digits(text: &str) -> Result<String, String> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(text.to_owned())
    } else {
        Err("expected digits".into())
    }
}

/// `qr`.
#[derive(Debug, Args)]
pub(crate) struct QrArgs {
    /// What to do with the payload.
    #[command(subcommand)]
    pub(crate) command: QrCommand,
}

/// `qr …`: offline tools for QRIS payloads.
#[derive(Debug, Subcommand)]
pub(crate) enum QrCommand {
    /// Print every tag and sub-tag with its meaning, and the CRC verdict (exit 1 if invalid).
    Decode {
        /// The QRIS payload (quote it: payloads often hold spaces).
        #[arg(value_name = "PAYLOAD")]
        payload: String,
    },
    /// Draw a valid payload as a scannable QR code, PNG or SVG after the --out extension.
    Render {
        /// The QRIS payload (quote it: payloads often hold spaces).
        #[arg(value_name = "PAYLOAD")]
        payload: String,
        /// The image to write: FILE.png or FILE.svg (replaced atomically).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Pixels per module (PNG only) [default: 8]
        #[arg(long, value_name = "N")]
        scale: Option<u32>,
    },
}

/// `client`.
#[derive(Debug, Args)]
pub(crate) struct ClientArgs {
    /// Which request to send.
    #[command(subcommand)]
    pub(crate) command: ClientCommand,
}

/// `client …`: one SNAP request each.
#[derive(Debug, Subcommand)]
pub(crate) enum ClientCommand {
    /// Take a B2B access token (service 73).
    Token(ClientOptions),
    /// Generate a QR (service 47): static without --amount, dynamic with it.
    Generate {
        /// Connection and credentials.
        #[command(flatten)]
        options: ClientOptions,
        /// The merchant.
        #[arg(long, value_name = "ID")]
        merchant_id: String,
        /// The amount, e.g. 9000.00 (sent as typed); absent: a static QR.
        #[arg(long, value_name = "AMOUNT")]
        amount: Option<String>,
        /// The partner's reference [default: a fresh one]
        #[arg(long, value_name = "REF")]
        partner_reference_no: Option<String>,
    },
    /// List a merchant's QRs of one day (service 90).
    List {
        /// Connection and credentials.
        #[command(flatten)]
        options: ClientOptions,
        /// The merchant.
        #[arg(long, value_name = "ID")]
        merchant_id: String,
        /// The day, yyyy-MM-dd or an ISO-8601 date-time [default: today in Jakarta]
        #[arg(long, value_name = "DATE")]
        date: Option<String>,
    },
    /// Refund (part of) a payment of a QR (service 78).
    Refund {
        /// Connection and credentials.
        #[command(flatten)]
        options: ClientOptions,
        /// The merchant and QR.
        #[command(flatten)]
        qr: OriginalQr,
        /// The amount to give back, e.g. 4000.00 (sent as typed).
        #[arg(long, value_name = "AMOUNT")]
        amount: String,
        /// The partner's refund reference [default: a fresh one]
        #[arg(long, value_name = "REF")]
        partner_refund_no: Option<String>,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// Which payment of a static QR paid more than once.
        #[arg(long, value_name = "ID")]
        payment_id: Option<String>,
    },
    /// Cancel an unpaid dynamic QR (service 77).
    Cancel {
        /// Connection and credentials.
        #[command(flatten)]
        options: ClientOptions,
        /// The merchant and QR.
        #[command(flatten)]
        qr: OriginalQr,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
}

/// The QR a refund or cancel is of: its merchant, and its id or generate reference (or both).
#[derive(Debug, Args)]
pub(crate) struct OriginalQr {
    /// The merchant.
    #[arg(long, value_name = "ID")]
    pub(crate) merchant_id: String,
    /// The QR's id (`referenceNo` of generate).
    #[arg(
        long,
        value_name = "ID_QR",
        required_unless_present = "partner_reference_no"
    )]
    pub(crate) reference_no: Option<String>,
    /// The QR's generate reference.
    #[arg(long, value_name = "REF")]
    pub(crate) partner_reference_no: Option<String>,
}

/// Where the server is and who the partner is.
#[derive(Debug, Args)]
pub(crate) struct ClientOptions {
    /// The server, with any path prefix: http://HOST:PORT[/PREFIX]
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    pub(crate) base_url: String,
    /// The partner's client id.
    #[arg(long, value_name = "ID")]
    pub(crate) client_id: String,
    /// How the partner signs.
    #[command(flatten)]
    pub(crate) keys: PartnerKeys,
    /// Use this access token instead of taking one first.
    #[arg(long, value_name = "TOKEN")]
    pub(crate) token: Option<String>,
    /// Also print each request, its string-to-sign and body hash (on stderr).
    #[arg(long)]
    pub(crate) explain: bool,
}

/// A partner's signing material, shared by `client` and `bench`.
#[derive(Debug, Args)]
pub(crate) struct PartnerKeys {
    /// The partner's private key (PKCS#8 or PKCS#1 PEM): signs token requests, and
    /// transactions in rsa mode.
    #[arg(long, value_name = "FILE")]
    pub(crate) private_key: Option<PathBuf>,
    /// The client secret (hmac mode).
    #[arg(
        long,
        value_name = "SECRET",
        env = "SNAPQRIS_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub(crate) client_secret: Option<String>,
    /// How transactions are signed.
    #[arg(long, value_name = "MODE", default_value = "hmac")]
    pub(crate) signature: SignatureArg,
}
