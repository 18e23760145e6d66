//! The effective settings: flag > `SNAPQRIS_*` variable > TOML file > default (CONTRACT §3).
//!
//! clap already resolves flag-over-variable (every `serve` setting is an `Option` with `env`),
//! so what is left here is the file and the defaults, then turning text into typed values.

use crate::cli::args::{DurabilityArg, GlobalArgs, LogFormat, ServeArgs, Tolerance, parse_amount};
use crate::cli::master_key;
use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use snapqris_protocol::{Amount, SignatureTolerance};
use snapqris_server::{RetrySchedule, ServerConfig, read_ca_file};
use snapqris_store::{Durability, MasterKey, StoreOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The database used when neither flag, variable nor file names one.
const DEFAULT_DATABASE_URL: &str = "sqlite://snapqris.db";

/// The TOML file: every key optional, unknown keys refused (a typo must not pass silently).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    database_url: Option<String>,
    listen: Option<String>,
    console_listen: Option<String>,
    timestamp_window: Option<u64>,
    token_ttl: Option<u64>,
    signature_tolerance: Option<Tolerance>,
    require_channel_id: Option<bool>,
    path_prefix: Option<String>,
    body_limit: Option<usize>,
    request_timeout: Option<u64>,
    rate_limit: Option<u32>,
    daily_claim_limit: Option<u32>,
    dynamic_validity: Option<u64>,
    max_amount: Option<String>,
    refund_window: Option<u64>,
    acquirer_domain: Option<String>,
    acquirer_nns: Option<String>,
    log_format: Option<LogFormat>,
    durability: Option<DurabilityArg>,
    master_key_file: Option<PathBuf>,
    notify_timeout: Option<u64>,
    notify_retry_schedule: Option<String>,
    notify_allow_private_networks: Option<bool>,
    notify_ca_file: Option<String>,
}

impl FileSettings {
    /// Reads the `--config` file, or nothing when none was given.
    fn load(global: &GlobalArgs) -> anyhow::Result<Self> {
        let Some(path) = &global.config else {
            return Ok(FileSettings::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).map_err(|err| {
            // toml's message spans several lines (a source excerpt); one line is the rule.
            let first = err
                .message()
                .lines()
                .next()
                .unwrap_or("invalid TOML")
                .to_owned();
            anyhow::anyhow!("config file {}: {first}", path.display())
        })
    }
}

/// The database URL the global options, the variable or the file name.
pub(crate) fn database_url(global: &GlobalArgs) -> anyhow::Result<String> {
    let file = FileSettings::load(global)?;
    Ok(global
        .database
        .clone()
        .or(file.database_url)
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()))
}

/// The master key the global option, the variable or the file name, read and checked; `None`
/// when none is named (secrets are then stored in clear).
pub(crate) fn master_key(global: &GlobalArgs) -> anyhow::Result<Option<MasterKey>> {
    let file = FileSettings::load(global)?;
    master_key_path(global, file.master_key_file)
        .map(|path| master_key::load(&path))
        .transpose()
}

/// The option's (or variable's) master key file, else the config file's.
fn master_key_path(global: &GlobalArgs, file: Option<PathBuf>) -> Option<PathBuf> {
    global.master_key_file.clone().or(file)
}

/// Every setting of `serve`, resolved; serialised as-is by `--print-config`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Settings {
    /// Database URL (masked when printed).
    pub(crate) database_url: String,
    /// Address to serve on.
    pub(crate) listen: String,
    /// Address to serve the operator console on (CONTRACT §7); empty: no console.
    pub(crate) console_listen: String,
    timestamp_window: u64,
    token_ttl: u64,
    signature_tolerance: Tolerance,
    require_channel_id: bool,
    path_prefix: String,
    body_limit: usize,
    request_timeout: u64,
    rate_limit: u32,
    daily_claim_limit: u32,
    dynamic_validity: u64,
    max_amount: String,
    refund_window: u64,
    acquirer_domain: String,
    acquirer_nns: String,
    /// How log lines look.
    pub(crate) log_format: LogFormat,
    durability: DurabilityArg,
    /// The master key file (CONTRACT §8); empty: none.
    master_key_file: String,
    notify_timeout: u64,
    notify_retry_schedule: String,
    notify_allow_private_networks: bool,
    /// Extra CAs for https callbacks; empty: the bundled roots only.
    notify_ca_file: String,
}

impl Settings {
    /// Merges flags (and variables, via clap), the file and the defaults.
    pub(crate) fn resolve(global: &GlobalArgs, serve: &ServeArgs) -> anyhow::Result<Self> {
        let file = FileSettings::load(global)?;
        let defaults = ServerConfig::default();
        let max_amount = match (serve.max_amount, file.max_amount) {
            (Some(amount), _) => amount,
            (None, Some(text)) => parse_amount(&text)
                .map_err(|why| anyhow::anyhow!("max_amount {text:?} in the config file: {why}"))?,
            (None, None) => Amount::from_sen(defaults.max_amount_sen),
        };
        let settings = Settings {
            database_url: global
                .database
                .clone()
                .or(file.database_url)
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            listen: pick(&serve.listen, file.listen, "127.0.0.1:8080".to_owned()),
            console_listen: pick(&serve.console_listen, file.console_listen, String::new()),
            timestamp_window: pick(
                &serve.timestamp_window,
                file.timestamp_window,
                defaults.timestamp_window.as_secs(),
            ),
            token_ttl: pick(
                &serve.token_ttl,
                file.token_ttl,
                defaults.token_ttl.as_secs(),
            ),
            signature_tolerance: pick(
                &serve.signature_tolerance,
                file.signature_tolerance,
                match defaults.signature_tolerance {
                    SignatureTolerance::Strict => Tolerance::Strict,
                    SignatureTolerance::Lenient => Tolerance::Lenient,
                },
            ),
            require_channel_id: pick(
                &serve.require_channel_id,
                file.require_channel_id,
                defaults.require_channel_id,
            ),
            path_prefix: pick(&serve.path_prefix, file.path_prefix, defaults.path_prefix),
            body_limit: pick(&serve.body_limit, file.body_limit, defaults.body_limit),
            request_timeout: pick(
                &serve.request_timeout,
                file.request_timeout,
                defaults.request_timeout.as_secs(),
            ),
            rate_limit: pick(&serve.rate_limit, file.rate_limit, defaults.rate_limit),
            daily_claim_limit: pick(
                &serve.daily_claim_limit,
                file.daily_claim_limit,
                defaults.daily_claim_limit,
            ),
            dynamic_validity: pick(
                &serve.dynamic_validity,
                file.dynamic_validity,
                defaults.dynamic_validity.as_secs(),
            ),
            max_amount: max_amount.to_string(),
            refund_window: pick(
                &serve.refund_window,
                file.refund_window,
                defaults.refund_window.as_secs(),
            ),
            acquirer_domain: pick(
                &serve.acquirer_domain,
                file.acquirer_domain,
                defaults.acquirer_domain,
            ),
            acquirer_nns: pick(
                &serve.acquirer_nns,
                file.acquirer_nns,
                defaults.acquirer_nns,
            ),
            log_format: pick(&serve.log_format, file.log_format, LogFormat::Text),
            durability: pick(&serve.durability, file.durability, DurabilityArg::Process),
            master_key_file: master_key_path(global, file.master_key_file)
                .map(|path| path.display().to_string())
                .unwrap_or_default(),
            notify_timeout: pick(
                &serve.notify_timeout,
                file.notify_timeout,
                defaults.notify_timeout.as_secs(),
            ),
            notify_retry_schedule: pick(
                &serve.notify_retry_schedule,
                file.notify_retry_schedule,
                defaults.notify_retry_schedule.to_string(),
            ),
            notify_allow_private_networks: pick(
                &serve.notify_allow_private_networks,
                file.notify_allow_private_networks,
                defaults.notify_allow_private_networks,
            ),
            notify_ca_file: pick(&serve.notify_ca_file, file.notify_ca_file, String::new()),
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Refuses values the types above cannot rule out.
    fn validate(&self) -> anyhow::Result<()> {
        if !self.path_prefix.is_empty()
            && (!self.path_prefix.starts_with('/')
                || !self.path_prefix.bytes().all(|b| b.is_ascii_graphic()))
        {
            bail!(
                "path prefix {:?} must start with / and contain no spaces",
                self.path_prefix
            );
        }
        if self.acquirer_nns.len() != 8 || !self.acquirer_nns.bytes().all(|b| b.is_ascii_digit()) {
            bail!("acquirer NNS {:?} must be 8 digits", self.acquirer_nns);
        }
        let domain_ok = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_');
        if !(1..=32).contains(&self.acquirer_domain.len())
            || !self.acquirer_domain.bytes().all(domain_ok)
        {
            bail!(
                "acquirer domain {:?} must be 1–32 of A-Za-z0-9.-_",
                self.acquirer_domain
            );
        }
        // CONTRACT §8: out-of-range values are refused at start, whatever their source.
        self.server_config()?.validate()?;
        Ok(())
    }

    /// The settings as TOML, with any password in the database URL replaced by `***`.
    pub(crate) fn to_masked_toml(&self) -> anyhow::Result<String> {
        let mut masked = self.clone();
        masked.database_url = mask_url_password(&self.database_url);
        toml::to_string(&masked).context("cannot print the settings as TOML")
    }

    /// The server's part of the settings.
    pub(crate) fn server_config(&self) -> anyhow::Result<ServerConfig> {
        Ok(ServerConfig {
            timestamp_window: Duration::from_secs(self.timestamp_window),
            token_ttl: Duration::from_secs(self.token_ttl),
            signature_tolerance: match self.signature_tolerance {
                Tolerance::Strict => SignatureTolerance::Strict,
                Tolerance::Lenient => SignatureTolerance::Lenient,
            },
            require_channel_id: self.require_channel_id,
            path_prefix: self.path_prefix.clone(),
            body_limit: self.body_limit,
            request_timeout: Duration::from_secs(self.request_timeout),
            rate_limit: self.rate_limit,
            daily_claim_limit: self.daily_claim_limit,
            dynamic_validity: Duration::from_secs(self.dynamic_validity),
            max_amount_sen: parse_amount(&self.max_amount)
                .map_err(anyhow::Error::msg)?
                .sen(),
            refund_window: Duration::from_secs(self.refund_window),
            acquirer_domain: self.acquirer_domain.clone(),
            acquirer_nns: self.acquirer_nns.clone(),
            notify_timeout: Duration::from_secs(self.notify_timeout),
            notify_retry_schedule: RetrySchedule::parse(&self.notify_retry_schedule)?,
            notify_allow_private_networks: self.notify_allow_private_networks,
            notify_ca_certificates: match self.notify_ca_file.as_str() {
                "" => Vec::new(),
                path => read_ca_file(Path::new(path))?,
            },
        })
    }

    /// The store's part of the settings, the master key read from its file.
    pub(crate) fn store_options(&self) -> anyhow::Result<StoreOptions> {
        let master_key = match self.master_key_file.as_str() {
            "" => None,
            path => Some(master_key::load(Path::new(path))?),
        };
        Ok(StoreOptions {
            durability: match self.durability {
                DurabilityArg::Process => Durability::Process,
                DurabilityArg::Power => Durability::Power,
            },
            master_key,
            ..StoreOptions::default()
        })
    }
}

/// The flag's (or variable's) value, else the file's, else the default.
fn pick<T: Clone>(flag: &Option<T>, file: Option<T>, default: T) -> T {
    flag.clone().or(file).unwrap_or(default)
}

/// `postgres://u:pw@h/db` → `postgres://u:***@h/db`; a `password=` query parameter is masked
/// too. URLs without a password come back unchanged.
pub(crate) fn mask_url_password(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = url.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = url[authority_start..]
            .find(['/', '?', '#'])
            .map_or(url.len(), |i| authority_start + i);
        let authority = &url[authority_start..authority_end];
        if let Some(at) = authority.rfind('@')
            && let Some(colon) = authority[..at].find(':')
        {
            out = format!(
                "{}{}:***{}",
                &url[..authority_start],
                &authority[..colon],
                &url[authority_start + at..]
            );
        }
    }
    if let Some(query_start) = out.find('?') {
        let (base, query) = out.split_at(query_start + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out = format!("{base}{}", query.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::mask_url_password;

    #[test]
    fn a_password_in_a_url_is_masked_and_the_rest_kept() {
        assert_eq!(
            mask_url_password("postgres://u:pw@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            mask_url_password("postgres://u:p@ss@h:5432/db?sslmode=disable"),
            "postgres://u:***@h:5432/db?sslmode=disable"
        );
        assert_eq!(
            mask_url_password("postgres://h/db?user=u&password=pw"),
            "postgres://h/db?user=u&password=***"
        );
    }

    #[test]
    fn a_url_without_a_password_is_unchanged() {
        for url in [
            "sqlite://snapqris.db",
            "postgres://u@h/db",
            "sqlite:///tmp/a:b.db",
        ] {
            assert_eq!(mask_url_password(url), url);
        }
    }
}
