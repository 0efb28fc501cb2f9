//! One configuration struct, read from `FORDRA_*` environment variables (and `DATABASE_URL`).
//! Every variable is documented in the README's configuration table.

use std::{fmt, path::PathBuf, time::Duration};

use chrono::NaiveDate;

/// How outgoing mail leaves Fordra.
#[derive(Clone, PartialEq, Eq)]
pub enum MailTransport {
    /// An SMTP server (`FORDRA_SMTP_URL`, e.g. `smtp://127.0.0.1:2525` or `smtps://user:pw@host`).
    Smtp(String),
    /// Each message is written as an `.eml` file into this directory (demo mode).
    File(PathBuf),
}

impl fmt::Debug for MailTransport {
    // The SMTP URL may carry credentials: never print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailTransport::Smtp(_) => f.write_str("Smtp(<redacted>)"),
            MailTransport::File(dir) => write!(f, "File({})", dir.display()),
        }
    }
}

#[derive(Clone)]
pub struct Config {
    /// `DATABASE_URL`: an external PostgreSQL. `None` means the private cluster under `data_dir`.
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
    pub demo: bool,
    /// Public origin, e.g. `https://fordra.se` (links in mail, cookie `Secure`, CSRF origin check).
    pub public_url: String,
    pub mail: MailTransport,
    /// How long one SMTP exchange may take before the send counts as failed and is retried
    /// (`FORDRA_SMTP_TIMEOUT_SECONDS`, 30 by default).
    pub smtp_timeout: std::time::Duration,
    pub mail_from: String,
    /// Fixes the business date (demo and tests). The UI shows a banner when set.
    pub today: Option<NaiveDate>,
    pub engine_interval: Duration,
    /// Admin and support must use TOTP. Off only in demo mode (with a visible banner).
    pub require_totp: bool,
    /// Login failures per account within `login_window` before that account is refused.
    pub login_max_failures: i64,
    /// Login failures from one address within `login_window` before it is refused: much higher
    /// than per account, since an office shares one address.
    pub login_max_failures_per_address: i64,
    pub login_window: Duration,
    /// Requests per minute and API key (`FORDRA_API_RATE_LIMIT`); 0 turns the limit off.
    pub api_rate_limit: u32,
    /// Bearer token for `/metrics` (`FORDRA_METRICS_TOKEN`); without it, loopback clients only.
    pub metrics_token: Option<String>,
    /// Proxies whose `X-Forwarded-For` names the client (`FORDRA_TRUSTED_PROXIES`); none by
    /// default, so the connection's own address is the client's.
    pub trusted_proxies: std::sync::Arc<crate::web::client_ip::TrustedProxies>,
    /// Connections in the database pool (`FORDRA_DB_POOL_SIZE`).
    pub db_pool_size: u32,
    /// How long a request waits for a pool connection (`FORDRA_DB_ACQUIRE_TIMEOUT`).
    pub db_acquire_timeout: Duration,
    /// Where letters for debtors without e-mail are handed to the print house (a hot folder).
    pub print_dir: PathBuf,
    /// Escalation letters wait until the previous bank day's payments are imported (product.md
    /// §2). On by default, off in demo mode; `FORDRA_FRESHNESS_GATE` overrides.
    pub freshness_gate: bool,
    /// `FORDRA_WEBHOOKS_ALLOW_PRIVATE`: webhooks may go to http:// and loopback or private
    /// addresses (local testing); never to link-local or metadata addresses.
    pub webhooks_allow_private: bool,
    pub identity: Identity,
    /// BankID for Mina sidor: off, the built-in simulator, or the real service.
    pub bankid: BankIdMode,
}

/// Fordra's own identity, printed on every letter.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    pub name: String,
    pub org_nr: String,
    pub bankgiro: String,
    pub iban: String,
    /// BIC of the bank holding `iban` (the debtor agent in payout files).
    pub bic: String,
    pub licence: String,
    pub address: String,
    pub phone: String,
    pub email: String,
    pub web: String,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &self.database_url.as_ref().map(|_| "<redacted>"))
            .field("data_dir", &self.data_dir)
            .field("demo", &self.demo)
            .field("public_url", &self.public_url)
            .field("mail", &self.mail)
            .field("today", &self.today)
            .field("engine_interval", &self.engine_interval)
            .field("require_totp", &self.require_totp)
            .finish_non_exhaustive()
    }
}

/// A configuration value that cannot be used; the message is shown to the operator.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Fordra's own accounts when none are configured (demo and tests).
pub const DEFAULT_BANKGIRO: &str = "991-2346";
pub const DEFAULT_IBAN: &str = "SE4550000000058398257466";

/// Every variable Fordra reads; anything else starting with `FORDRA_` gets a warning.
pub const KNOWN_VARS: &[&str] = &[
    "FORDRA_DATA_DIR",
    "FORDRA_DEMO",
    "FORDRA_PUBLIC_URL",
    "FORDRA_SMTP_URL",
    "FORDRA_SMTP_TIMEOUT_SECONDS",
    "FORDRA_MAIL",
    "FORDRA_MAIL_FROM",
    "FORDRA_TODAY",
    "FORDRA_ENGINE_INTERVAL",
    "FORDRA_LOG",
    "FORDRA_PRINT_DIR",
    "FORDRA_PG_SHARED_BUFFERS",
    "FORDRA_FRESHNESS_GATE",
    "FORDRA_WEBHOOKS_ALLOW_PRIVATE",
    "FORDRA_BANKID",
    "FORDRA_BANKID_URL",
    "FORDRA_BANKID_CERT",
    "FORDRA_BANKID_CERT_PASSWORD",
    "FORDRA_BANKID_CA",
    "FORDRA_BANKID_SIM_FIXED_TOKENS",
    "FORDRA_BANKID_SIM_START_TIMEOUT",
    "FORDRA_BANKGIRO",
    "FORDRA_IBAN",
    "FORDRA_BIC",
    "FORDRA_ORG_NR",
    "FORDRA_COMPANY_NAME",
    "FORDRA_FI_LICENCE",
    "FORDRA_API_RATE_LIMIT",
    "FORDRA_METRICS_TOKEN",
    "FORDRA_TRUSTED_PROXIES",
    "FORDRA_DB_POOL_SIZE",
    "FORDRA_DB_ACQUIRE_TIMEOUT",
];

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// Reads configuration through `get`, so tests can supply their own variables.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let database_url = get("DATABASE_URL");
        let data_dir = PathBuf::from(get("FORDRA_DATA_DIR").unwrap_or_else(|| "./var".into()));
        let data_dir = std::path::absolute(&data_dir).unwrap_or(data_dir);
        if let Some(bg) = get("FORDRA_BANKGIRO")
            && crate::domain::ocr::validate_bankgiro(&bg).is_err()
        {
            return Err(ConfigError(format!(
                "FORDRA_BANKGIRO is not a valid bankgiro number: {bg:?}"
            )));
        }
        let demo = match get("FORDRA_DEMO").as_deref() {
            None => database_url.is_none(),
            Some(v) => parse_on_off("FORDRA_DEMO", v)?,
        };
        let public_url = get("FORDRA_PUBLIC_URL")
            .unwrap_or_else(|| "http://127.0.0.1:3000".into())
            .trim_end_matches('/')
            .to_string();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError(format!(
                "FORDRA_PUBLIC_URL must start with http:// or https://, got {public_url:?}"
            )));
        }
        let smtp_url = get("FORDRA_SMTP_URL");
        let mail = match get("FORDRA_MAIL").as_deref() {
            Some("smtp") => MailTransport::Smtp(
                smtp_url
                    .ok_or_else(|| ConfigError("FORDRA_MAIL=smtp needs FORDRA_SMTP_URL".into()))?,
            ),
            Some("file") => MailTransport::File(data_dir.join("mail")),
            Some(other) => {
                return Err(ConfigError(format!(
                    "FORDRA_MAIL must be smtp or file, got {other:?}"
                )));
            }
            None => match smtp_url {
                Some(url) => MailTransport::Smtp(url),
                None if demo => MailTransport::File(data_dir.join("mail")),
                None => {
                    return Err(ConfigError(
                        "no mail transport: set FORDRA_SMTP_URL, or FORDRA_MAIL=file to write .eml files"
                            .into(),
                    ));
                }
            },
        };
        let today = match get("FORDRA_TODAY") {
            None => None,
            Some(v) => Some(crate::domain::calendar::parse_iso_date(&v).ok_or_else(|| {
                ConfigError(format!("FORDRA_TODAY must be a date YYYY-MM-DD, got {v:?}"))
            })?),
        };
        let engine_interval = match get("FORDRA_ENGINE_INTERVAL") {
            None => Duration::from_secs(60),
            Some(v) => parse_duration(&v).ok_or_else(|| {
                ConfigError(format!(
                    "FORDRA_ENGINE_INTERVAL must be a duration like 30s, 5m or 1h, got {v:?}"
                ))
            })?,
        };
        let print_dir =
            get("FORDRA_PRINT_DIR").map(PathBuf::from).unwrap_or_else(|| data_dir.join("print"));
        let webhooks_allow_private = match get("FORDRA_WEBHOOKS_ALLOW_PRIVATE").as_deref() {
            None => false,
            Some(v) => parse_on_off("FORDRA_WEBHOOKS_ALLOW_PRIVATE", v)?,
        };
        let freshness_gate = match get("FORDRA_FRESHNESS_GATE").as_deref() {
            None => !demo,
            Some(v) => parse_on_off("FORDRA_FRESHNESS_GATE", v)?,
        };
        let bankid = bankid_mode(&get, demo)?;
        if matches!(bankid, BankIdMode::Simulator(_)) && !demo && !is_loopback_url(&public_url) {
            return Err(ConfigError(format!(
                "FORDRA_BANKID=simulator lets anyone log in as anyone, so it is refused when FORDRA_PUBLIC_URL ({public_url}) is not a loopback address. Use FORDRA_BANKID=live (or off), or demo mode (FORDRA_DEMO=on)."
            )));
        }
        let number = |name: &str, default: u32| -> Result<u32, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<u32>()
                    .map_err(|_| ConfigError(format!("{name} must be a whole number, got {v:?}"))),
            }
        };
        let api_rate_limit = number("FORDRA_API_RATE_LIMIT", 600)?;
        let trusted_proxies = crate::web::client_ip::TrustedProxies::parse(
            &get("FORDRA_TRUSTED_PROXIES").unwrap_or_default(),
        )
        .map_err(|e| ConfigError(format!("FORDRA_TRUSTED_PROXIES: {e}")))?;
        let db_pool_size = number("FORDRA_DB_POOL_SIZE", 20)?;
        if db_pool_size == 0 {
            return Err(ConfigError("FORDRA_DB_POOL_SIZE must be at least 1".into()));
        }
        let db_acquire_timeout = match get("FORDRA_DB_ACQUIRE_TIMEOUT") {
            None => Duration::from_secs(5),
            Some(v) => parse_duration(&v).ok_or_else(|| {
                ConfigError(format!(
                    "FORDRA_DB_ACQUIRE_TIMEOUT must be a duration like 500ms or 5s, got {v:?}"
                ))
            })?,
        };
        let smtp_timeout = match get("FORDRA_SMTP_TIMEOUT_SECONDS") {
            None => std::time::Duration::from_secs(30),
            Some(s) => match s.parse::<u64>() {
                Ok(n) if (1..=600).contains(&n) => std::time::Duration::from_secs(n),
                _ => {
                    return Err(ConfigError(format!(
                        "FORDRA_SMTP_TIMEOUT_SECONDS must be 1–600 seconds, got {s:?}"
                    )));
                }
            },
        };
        Ok(Config {
            smtp_timeout,
            api_rate_limit,
            metrics_token: get("FORDRA_METRICS_TOKEN"),
            trusted_proxies: std::sync::Arc::new(trusted_proxies),
            db_pool_size,
            db_acquire_timeout,
            bankid,
            freshness_gate,
            webhooks_allow_private,
            database_url,
            data_dir,
            demo,
            public_url,
            mail,
            mail_from: get("FORDRA_MAIL_FROM")
                .unwrap_or_else(|| "Fordra <noreply@fordra.se>".into()),
            today,
            engine_interval,
            require_totp: !demo,
            login_max_failures: 5,
            login_max_failures_per_address: 50,
            login_window: Duration::from_secs(15 * 60),
            print_dir,
            identity: Identity {
                name: get("FORDRA_COMPANY_NAME").unwrap_or_else(|| "Fordra Inkasso AB".into()),
                org_nr: get("FORDRA_ORG_NR").unwrap_or_else(|| "559123-4561".into()),
                bankgiro: get("FORDRA_BANKGIRO").unwrap_or_else(|| DEFAULT_BANKGIRO.into()),
                iban: get("FORDRA_IBAN").unwrap_or_else(|| DEFAULT_IBAN.into()),
                bic: get("FORDRA_BIC").unwrap_or_else(|| "ESSESESS".into()),
                licence: get("FORDRA_FI_LICENCE").unwrap_or_else(|| {
                    "Tillstånd för inkassoverksamhet från Finansinspektionen".into()
                }),
                address: "Box 1234, 111 22 Stockholm".into(),
                phone: "08-123 45 67".into(),
                email: "support@fordra.se".into(),
                web: "fordra.se".into(),
            },
        })
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// Names of `FORDRA_*` variables in the environment that Fordra does not know (typos).
    pub fn unknown_vars() -> Vec<String> {
        std::env::vars()
            .map(|(k, _)| k)
            .filter(|k| k.starts_with("FORDRA_") && !KNOWN_VARS.contains(&k.as_str()))
            .collect()
    }
}

/// Whether `url`'s host is this machine: 127.0.0.0/8, ::1 or localhost.
pub fn is_loopback_url(url: &str) -> bool {
    let rest = url.split("://").nth(1).unwrap_or("");
    let authority = rest.split('/').next().unwrap_or("");
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Which BankID Fordra uses (`FORDRA_BANKID`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BankIdMode {
    /// BankID login is off: its pages say so.
    Off,
    /// The built-in simulator, mounted under `/bankid-sim`.
    Simulator(BankIdSimSettings),
    /// The real service.
    Live {
        url: String,
        cert: std::path::PathBuf,
        password: String,
        /// PEM of BankID's server CA; when given, only it is trusted (pinning).
        ca: Option<std::path::PathBuf>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
/// The BankID simulator's timings (`FORDRA_BANKID_SIM_*`).
pub struct BankIdSimSettings {
    pub fixed_tokens: bool,
    /// An order nobody picked up fails with `startFailed` after this long (real service ~30 s).
    pub start_timeout: Duration,
    /// An order picked up but not finished fails with `expiredTransaction` after this long.
    pub finish_timeout: Duration,
}

impl Default for BankIdSimSettings {
    fn default() -> BankIdSimSettings {
        BankIdSimSettings {
            fixed_tokens: false,
            start_timeout: Duration::from_secs(30),
            finish_timeout: Duration::from_secs(180),
        }
    }
}

/// `FORDRA_BANKID`: the simulator by default in demo mode, off otherwise; live only when asked.
fn bankid_mode(
    get: &impl Fn(&str) -> Option<String>,
    demo: bool,
) -> Result<BankIdMode, ConfigError> {
    Ok(match get("FORDRA_BANKID").as_deref() {
        None if demo => BankIdMode::Simulator(sim_settings(get)?),
        None | Some("off") => BankIdMode::Off,
        Some("simulator") => BankIdMode::Simulator(sim_settings(get)?),
        Some("live") => {
            let need = |k: &str| {
                get(k).ok_or_else(|| ConfigError(format!("FORDRA_BANKID=live needs {k}")))
            };
            BankIdMode::Live {
                url: need("FORDRA_BANKID_URL")?,
                cert: PathBuf::from(need("FORDRA_BANKID_CERT")?),
                password: need("FORDRA_BANKID_CERT_PASSWORD")?,
                ca: get("FORDRA_BANKID_CA").map(PathBuf::from),
            }
        }
        Some(other) => {
            return Err(ConfigError(format!(
                "FORDRA_BANKID must be simulator, live or off, got {other:?}"
            )));
        }
    })
}

fn sim_settings(get: &impl Fn(&str) -> Option<String>) -> Result<BankIdSimSettings, ConfigError> {
    let mut s = BankIdSimSettings::default();
    if let Some(v) = get("FORDRA_BANKID_SIM_FIXED_TOKENS") {
        s.fixed_tokens = parse_on_off("FORDRA_BANKID_SIM_FIXED_TOKENS", &v)?;
    }
    if let Some(v) = get("FORDRA_BANKID_SIM_START_TIMEOUT") {
        s.start_timeout = parse_duration(&v).ok_or_else(|| {
            ConfigError(format!(
                "FORDRA_BANKID_SIM_START_TIMEOUT must be a duration like 30s, got {v:?}"
            ))
        })?;
    }
    Ok(s)
}

fn parse_on_off(name: &str, v: &str) -> Result<bool, ConfigError> {
    match v {
        "on" | "true" | "1" => Ok(true),
        "off" | "false" | "0" => Ok(false),
        _ => Err(ConfigError(format!("{name} must be on or off, got {v:?}"))),
    }
}

/// `500ms`, `30s`, `5m`, `1h`, or a bare number of seconds.
pub fn parse_duration(v: &str) -> Option<Duration> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: u64 = num.parse().ok()?;
    match unit {
        "" | "s" => Some(Duration::from_secs(n)),
        "ms" => Some(Duration::from_millis(n)),
        "m" => Some(Duration::from_secs(n * 60)),
        "h" => Some(Duration::from_secs(n * 3600)),
        _ => None,
    }
    .filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn private_cluster_defaults_to_demo_with_file_mail() {
        let c = cfg(&[]).unwrap();
        assert!(c.demo);
        assert!(matches!(c.mail, MailTransport::File(_)));
        assert!(!c.require_totp);
    }

    #[test]
    fn external_database_without_mail_refuses_to_start() {
        let err = cfg(&[("DATABASE_URL", "postgres://x/y")]).err().unwrap();
        assert!(err.0.contains("FORDRA_SMTP_URL"));
        let c = cfg(&[("DATABASE_URL", "postgres://x/y"), ("FORDRA_MAIL", "file")]).unwrap();
        assert!(!c.demo && c.require_totp);
        assert!(cfg(&[("FORDRA_MAIL", "smtp")]).is_err());
    }

    #[test]
    fn parses_today_and_interval() {
        let c = cfg(&[("FORDRA_TODAY", "2026-02-10"), ("FORDRA_ENGINE_INTERVAL", "5m")]).unwrap();
        assert_eq!(c.today, NaiveDate::from_ymd_opt(2026, 2, 10));
        assert_eq!(c.engine_interval, Duration::from_secs(300));
        assert!(cfg(&[("FORDRA_TODAY", "10/2")]).is_err());
        assert!(cfg(&[("FORDRA_ENGINE_INTERVAL", "0s")]).is_err());
    }

    #[test]
    fn bankid_is_the_simulator_in_demo_mode_and_never_implied_live() {
        assert!(matches!(cfg(&[]).unwrap().bankid, BankIdMode::Simulator(_)));
        let ext = [("DATABASE_URL", "postgres://x/y"), ("FORDRA_MAIL", "file")];
        assert_eq!(cfg(&ext).unwrap().bankid, BankIdMode::Off);
        let live = [ext[0], ext[1], ("FORDRA_BANKID", "live")];
        assert!(cfg(&live).err().unwrap().0.contains("FORDRA_BANKID_URL"));
        assert!(cfg(&[("FORDRA_BANKID", "maybe")]).is_err());
    }

    #[test]
    fn the_bankid_simulator_is_refused_on_a_public_address_outside_demo_mode() {
        let ext = [
            ("DATABASE_URL", "postgres://x/y"),
            ("FORDRA_MAIL", "file"),
            ("FORDRA_BANKID", "simulator"),
        ];
        assert!(cfg(&ext).is_ok(), "loopback by default");
        let public = [ext[0], ext[1], ext[2], ("FORDRA_PUBLIC_URL", "https://fordra.se")];
        let e = cfg(&public).err().unwrap().0;
        assert!(e.contains("FORDRA_PUBLIC_URL") && e.contains("FORDRA_BANKID"), "{e}");
        let demo = [public[0], public[1], public[2], public[3], ("FORDRA_DEMO", "on")];
        assert!(cfg(&demo).is_ok());
        for url in [
            "http://127.0.0.1:3000",
            "http://localhost:8080",
            "http://[::1]:3000",
            "http://127.0.0.5",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in ["https://fordra.se", "http://10.0.0.1:3000", "http://127.0.0.1.evil.se"] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = cfg(&[
            ("DATABASE_URL", "postgres://u:secret@h/d"),
            ("FORDRA_SMTP_URL", "smtp://u:pw@h"),
        ])
        .unwrap();
        let s = format!("{c:?}");
        assert!(!s.contains("secret") && !s.contains("pw@"));
    }
}
