//! Configuration from the environment (and `.env`), checked up front so a
//! mistake is one clear line at start-up, not a panic later.

use std::net::SocketAddr;
use std::path::PathBuf;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/tablecard.db";
pub const DEFAULT_SITE_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_SITE_ROOT: &str = "target/site";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("LEPTOS_SITE_ADDR {0:?} is not an address: use host:port, for example 127.0.0.1:3000")]
    SiteAddr(String),
    #[error("TABLECARD_SECRET_KEY must be at least 32 characters (it signs cookies); generate one with `openssl rand -base64 48`")]
    SecretKeyTooShort,
    #[error("TABLECARD_SECRET_KEY_PREVIOUS lists the keys TABLECARD_SECRET_KEY replaced, comma-separated, each at least 32 characters; it needs TABLECARD_SECRET_KEY set")]
    PreviousSecretKey,
    #[error("TABLECARD_LOG_FORMAT {0:?} is not understood: use `text` or `json`")]
    LogFormat(String),
    #[error(
        "TABLECARD_SMS {0:?} is not understood: use `aliyun` (Alibaba Cloud SMS), `tencent` (Tencent Cloud SMS), `webhook` (your own bridge) or `log` (development)"
    )]
    CodeDelivery(String),
    #[error("TABLECARD_SMS=webhook needs TABLECARD_CODE_WEBHOOK_URL (http:// or https://) and TABLECARD_CODE_WEBHOOK_SECRET (at least 16 characters)")]
    Webhook,
    #[error("TABLECARD_SMS=aliyun needs TABLECARD_ALIYUN_ACCESS_KEY_ID and TABLECARD_ALIYUN_ACCESS_KEY_SECRET (a RAM user's AccessKey with AliyunDysmsFullAccess); TABLECARD_ALIYUN_SMS_ENDPOINT, if set, must start with http:// or https://")]
    Aliyun,
    #[error("TABLECARD_SMS=tencent needs TABLECARD_TENCENT_SECRET_ID, TABLECARD_TENCENT_SECRET_KEY and TABLECARD_TENCENT_SMS_APP_ID (the SmsSdkAppId, 1400…); TABLECARD_TENCENT_SMS_ENDPOINT, if set, must start with http:// or https://")]
    Tencent,
    #[error("TABLECARD_METRICS_TOKEN must be at least 24 characters (Prometheus sends it as a bearer token); generate one with `openssl rand -hex 24`")]
    MetricsToken,
    #[error("TABLECARD_METRICS_ADDR {0:?} is not an address: use host:port, for example 127.0.0.1:9464 (keep it off the public network)")]
    MetricsAddr(String),
    #[error("TABLECARD_BACKUP_EVERY_HOURS must be a whole number from 1 to 168, and TABLECARD_BACKUP_KEEP from 1 to 1000")]
    BackupSchedule,
    #[error("TABLECARD_SMS_INBOUND_TOKEN must be at least 16 letters, digits, '-' or '_' (it goes in the reply-callback address you give the SMS provider)")]
    InboundToken,
    #[error("TABLECARD_PUBLIC_URL {0:?} must start with http:// or https://")]
    PublicUrl(String),
    #[error("TABLECARD_PUBLIC_URL is https://, a live site, but TABLECARD_SMS is not set: members' sign-in codes would go to the server log. Set TABLECARD_SMS=aliyun or =tencent (with the provider's credentials) or =webhook (with its URL and secret), or =log to keep them in the log on purpose")]
    CodesToLogOnLiveSite,
    #[error("TABLECARD_PUBLIC_URL is https://, a live site, but TABLECARD_SECRET_KEY is not set: each process would make up its own key, and cookies and codes would stop working at every restart. Generate one with `openssl rand -base64 48`")]
    SecretKeyMissingOnLiveSite,
    #[error("the SMS address ({0}) must be https:// on a live site (plain http:// only to this machine): it carries members' phone numbers and codes")]
    WebhookInClear(String),
    #[error("TABLECARD_API_RATE_PER_MINUTE {0:?} must be a whole number from 1 to 100000")]
    ApiRate(String),
    #[error("TABLECARD_CODE_BUDGET_PER_DAY {0:?} must be a whole number from 1 to 1000000")]
    CodeBudget(String),
    #[error("TABLECARD_TRUSTED_PROXIES: {0:?} is neither a count of proxies (1 to 10) nor an address or network such as 10.0.0.0/8; separate several with commas")]
    TrustedProxies(String),
}

/// How text messages (sign-in codes, marketing) reach members' phones.
#[derive(Debug, Clone)]
pub enum CodeDelivery {
    /// Written to the server log: development and demos.
    Log,
    /// POSTed as signed JSON to the operator's SMS bridge.
    Webhook { url: String, secret: String },
    /// Alibaba Cloud SMS.
    Aliyun(crate::sms::aliyun::Credentials),
    /// Tencent Cloud SMS.
    Tencent(crate::sms::tencent::Credentials),
}

impl PartialEq for CodeDelivery {
    /// The same way of delivery (credentials aside).
    fn eq(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

impl CodeDelivery {
    /// Where messages are sent, when over the network.
    pub fn url(&self) -> Option<&str> {
        match self {
            CodeDelivery::Log => None,
            CodeDelivery::Webhook { url, .. } => Some(url),
            CodeDelivery::Aliyun(c) => Some(&c.endpoint),
            CodeDelivery::Tencent(c) => Some(&c.endpoint),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub site_addr: SocketAddr,
    pub site_root: PathBuf,
    /// None: a random key per process (cookies do not survive a restart).
    pub secret_key: Option<String>,
    /// Keys `secret_key` replaced, still accepted for verification.
    pub previous_secret_keys: Vec<String>,
    pub log_format: LogFormat,
    pub code_delivery: CodeDelivery,
    /// Where members reach the portal, when it is behind a proxy or HTTPS.
    pub public_url: Option<String>,
    /// The header a trusted reverse proxy puts the client's address in.
    pub client_ip_header: Option<String>,
    /// The proxies that header passes through (one, unless set).
    pub trusted_proxies: crate::client_ip::TrustedProxies,
    /// Sign-in codes one brand may send in 24 hours (its SMS budget).
    pub code_budget_per_day: i64,
    /// POS API requests per minute per key.
    pub api_rate_per_minute: u32,
    /// The secret in the providers' reply-callback addresses; None: off.
    pub sms_inbound_token: Option<String>,
    /// `/metrics` on the site's address for this bearer token; None: not there.
    pub metrics_token: Option<String>,
    /// A separate address serving `/metrics` alone (never the public one).
    pub metrics_addr: Option<SocketAddr>,
    /// Scheduled backups of a SQLite database; None: PostgreSQL, or off.
    pub backups: Option<crate::backups::Schedule>,
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let addr = get("LEPTOS_SITE_ADDR").unwrap_or_else(|| DEFAULT_SITE_ADDR.into());
        let site_addr = addr
            .trim()
            .parse()
            .map_err(|_| ConfigError::SiteAddr(addr.clone()))?;
        let secret_key = get("TABLECARD_SECRET_KEY");
        if secret_key.as_ref().is_some_and(|k| k.len() < 32) {
            return Err(ConfigError::SecretKeyTooShort);
        }
        // Keys replaced by a rotation, newest first: they verify what they
        // made (codes, cards, cookies, remembered phones), never sign.
        let previous_secret_keys: Vec<String> = get("TABLECARD_SECRET_KEY_PREVIOUS")
            .map(|keys| {
                keys.split(',')
                    .map(|k| k.trim().to_owned())
                    .filter(|k| !k.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if !previous_secret_keys.is_empty()
            && (secret_key.is_none() || previous_secret_keys.iter().any(|k| k.len() < 32))
        {
            return Err(ConfigError::PreviousSecretKey);
        }
        let log_format = match get("TABLECARD_LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => return Err(ConfigError::LogFormat(other.into())),
        };
        // TABLECARD_CODE_DELIVERY is the name before providers were built in.
        let delivery = get("TABLECARD_SMS").or_else(|| get("TABLECARD_CODE_DELIVERY"));
        let endpoint = |name: &str, default: &str| match get(name) {
            None => Some(default.to_owned()),
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                Some(url.trim().trim_end_matches('/').to_owned())
            }
            Some(_) => None,
        };
        let code_delivery = match delivery.as_deref().map(str::trim) {
            None | Some("log") => CodeDelivery::Log,
            Some("webhook") => match (
                get("TABLECARD_CODE_WEBHOOK_URL"),
                get("TABLECARD_CODE_WEBHOOK_SECRET"),
            ) {
                (Some(url), Some(secret))
                    if (url.starts_with("http://") || url.starts_with("https://"))
                        && secret.len() >= 16 =>
                {
                    CodeDelivery::Webhook { url, secret }
                }
                _ => return Err(ConfigError::Webhook),
            },
            Some("aliyun") => match (
                get("TABLECARD_ALIYUN_ACCESS_KEY_ID"),
                get("TABLECARD_ALIYUN_ACCESS_KEY_SECRET"),
                endpoint(
                    "TABLECARD_ALIYUN_SMS_ENDPOINT",
                    crate::sms::aliyun::DEFAULT_ENDPOINT,
                ),
            ) {
                (Some(access_key_id), Some(access_key_secret), Some(endpoint)) => {
                    CodeDelivery::Aliyun(crate::sms::aliyun::Credentials {
                        access_key_id: access_key_id.trim().into(),
                        access_key_secret: access_key_secret.trim().into(),
                        endpoint,
                    })
                }
                _ => return Err(ConfigError::Aliyun),
            },
            Some("tencent") => match (
                get("TABLECARD_TENCENT_SECRET_ID"),
                get("TABLECARD_TENCENT_SECRET_KEY"),
                get("TABLECARD_TENCENT_SMS_APP_ID"),
                endpoint(
                    "TABLECARD_TENCENT_SMS_ENDPOINT",
                    crate::sms::tencent::DEFAULT_ENDPOINT,
                ),
            ) {
                (Some(secret_id), Some(secret_key), Some(app_id), Some(endpoint)) => {
                    CodeDelivery::Tencent(crate::sms::tencent::Credentials {
                        secret_id: secret_id.trim().into(),
                        secret_key: secret_key.trim().into(),
                        app_id: app_id.trim().into(),
                        region: get("TABLECARD_TENCENT_SMS_REGION")
                            .map(|r| r.trim().to_owned())
                            .unwrap_or_else(|| crate::sms::tencent::DEFAULT_REGION.into()),
                        endpoint,
                    })
                }
                _ => return Err(ConfigError::Tencent),
            },
            Some(other) => return Err(ConfigError::CodeDelivery(other.into())),
        };
        let sms_inbound_token = match get("TABLECARD_SMS_INBOUND_TOKEN") {
            None => None,
            Some(t)
                if t.trim().len() >= 16
                    && t.trim()
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                Some(t.trim().to_owned())
            }
            Some(_) => return Err(ConfigError::InboundToken),
        };
        let metrics_token = match get("TABLECARD_METRICS_TOKEN") {
            None => None,
            Some(t) if t.trim().len() >= 24 && !t.trim().contains(char::is_whitespace) => {
                Some(t.trim().to_owned())
            }
            Some(_) => return Err(ConfigError::MetricsToken),
        };
        let metrics_addr = match get("TABLECARD_METRICS_ADDR") {
            None => None,
            Some(a) => Some(
                a.trim()
                    .parse()
                    .map_err(|_| ConfigError::MetricsAddr(a.clone()))?,
            ),
        };
        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        // SQLite is backed up by the server itself, beside the database
        // unless TABLECARD_BACKUP_DIR says where (or `off`).
        let number = |name: &str, default: u64, max: u64| match get(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or(ConfigError::BackupSchedule),
        };
        let every_hours = number("TABLECARD_BACKUP_EVERY_HOURS", 24, 168)?;
        let keep = number("TABLECARD_BACKUP_KEEP", 7, 1000)?;
        let backups = match (
            get("TABLECARD_BACKUP_DIR"),
            loyalty::infra::backup::sqlite_path(&database_url),
        ) {
            (Some(dir), _) if dir.trim() == "off" => None,
            (_, None) => None,
            (Some(dir), Some(_)) => Some(PathBuf::from(dir.trim())),
            (None, Some(db)) => Some(
                db.parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(std::path::Path::new("."))
                    .join("backups"),
            ),
        }
        .map(|dir| crate::backups::Schedule {
            dir,
            every: std::time::Duration::from_secs(every_hours * 3600),
            keep: keep as usize,
        });
        let public_url =
            get("TABLECARD_PUBLIC_URL").map(|u| u.trim().trim_end_matches('/').to_owned());
        if let Some(url) = &public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::PublicUrl(url.clone()));
            }
            if url.starts_with("https://") {
                if delivery.is_none() {
                    return Err(ConfigError::CodesToLogOnLiveSite);
                }
                if secret_key.is_none() {
                    return Err(ConfigError::SecretKeyMissingOnLiveSite);
                }
                if let Some(url) = code_delivery.url() {
                    if !url.starts_with("https://") && !to_this_machine(url) {
                        return Err(ConfigError::WebhookInClear(url.to_owned()));
                    }
                }
            }
        }
        let api_rate_per_minute = match get("TABLECARD_API_RATE_PER_MINUTE") {
            None => 600,
            Some(v) => v
                .trim()
                .parse()
                .ok()
                .filter(|n| (1..=100_000).contains(n))
                .ok_or(ConfigError::ApiRate(v))?,
        };
        let trusted_proxies = match get("TABLECARD_TRUSTED_PROXIES") {
            None => crate::client_ip::TrustedProxies::default(),
            Some(v) => {
                crate::client_ip::TrustedProxies::parse(&v).map_err(ConfigError::TrustedProxies)?
            }
        };
        let code_budget_per_day = match get("TABLECARD_CODE_BUDGET_PER_DAY") {
            None => loyalty::members::otp::OtpPolicy::default().per_brand_per_day,
            Some(v) => v
                .trim()
                .parse()
                .ok()
                .filter(|n| (1..=1_000_000).contains(n))
                .ok_or(ConfigError::CodeBudget(v))?,
        };
        Ok(Config {
            metrics_token,
            metrics_addr,
            sms_inbound_token,
            api_rate_per_minute,
            code_budget_per_day,
            trusted_proxies,
            code_delivery,
            public_url,
            client_ip_header: get("TABLECARD_CLIENT_IP_HEADER")
                .map(|h| h.trim().to_ascii_lowercase()),
            database_url,
            backups,
            site_addr,
            site_root: get("LEPTOS_SITE_ROOT")
                .unwrap_or_else(|| DEFAULT_SITE_ROOT.into())
                .into(),
            secret_key,
            previous_secret_keys,
            log_format,
        })
    }

    /// The address people type into a browser.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.site_addr))
    }

    /// Served over HTTPS: cookies are `Secure` and `__Host-` prefixed.
    pub fn secure_cookies(&self) -> bool {
        self.public_url().starts_with("https://")
    }
}

/// Whether a plain `http://` URL stays on this machine: its host is exactly
/// `localhost`, a 127.x.x.x address or `[::1]` (no user part to hide
/// another host behind, no look-alike names).
fn to_this_machine(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let port_only = |rest: &str| {
        rest.is_empty()
            || rest
                .strip_prefix(':')
                .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let (host, rest) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some(("::1", rest)) => return port_only(rest),
            _ => return false,
        },
        None => authority.split_at(authority.find(':').unwrap_or(authority.len())),
    };
    if !port_only(rest) {
        return false;
    }
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    #[test]
    fn previous_secret_keys_need_a_current_one_and_their_length() {
        let key = "k".repeat(32);
        let with = |previous: &str, current: Option<&str>| {
            Config::from_lookup(|name| match name {
                "TABLECARD_SECRET_KEY_PREVIOUS" => Some(previous.to_owned()),
                "TABLECARD_SECRET_KEY" => current.map(str::to_owned),
                _ => None,
            })
        };
        let old = format!("{}, {}", "a".repeat(32), "b".repeat(40));
        assert_eq!(
            with(&old, Some(&key)).unwrap().previous_secret_keys,
            ["a".repeat(32), "b".repeat(40)]
        );
        assert!(matches!(
            with(&old, None),
            Err(ConfigError::PreviousSecretKey)
        ));
        assert!(matches!(
            with("short", Some(&key)),
            Err(ConfigError::PreviousSecretKey)
        ));
    }

    use super::*;
    use std::collections::HashMap;

    const SECRET: &str = "a-secret-key-that-is-long-enough-0123456789";

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_serve_a_local_sqlite_portal() {
        let c = config(&[]).unwrap();
        assert_eq!(c.database_url, "sqlite://data/tablecard.db");
        assert_eq!(c.public_url(), "http://127.0.0.1:3000");
        assert_eq!(c.log_format, LogFormat::Text);
        assert!(c.secret_key.is_none());
    }

    #[test]
    fn a_bad_address_says_what_to_write() {
        let err = config(&[("LEPTOS_SITE_ADDR", "localhost")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("host:port"), "{err}");
    }

    #[test]
    fn codes_go_to_the_log_unless_a_webhook_is_configured() {
        assert_eq!(config(&[]).unwrap().code_delivery, CodeDelivery::Log);
        let hook = config(&[
            ("TABLECARD_CODE_DELIVERY", "webhook"),
            ("TABLECARD_CODE_WEBHOOK_URL", "https://sms.example.com/send"),
            ("TABLECARD_CODE_WEBHOOK_SECRET", "0123456789abcdef"),
        ])
        .unwrap();
        assert!(matches!(hook.code_delivery, CodeDelivery::Webhook { .. }));
        let missing = config(&[("TABLECARD_CODE_DELIVERY", "webhook")]).unwrap_err();
        assert!(missing.to_string().contains("TABLECARD_CODE_WEBHOOK_URL"));
        assert!(config(&[("TABLECARD_CODE_DELIVERY", "sms")]).is_err());
    }

    #[test]
    fn the_providers_are_chosen_by_name_with_their_credentials() {
        let ali = config(&[
            ("TABLECARD_SMS", "aliyun"),
            ("TABLECARD_ALIYUN_ACCESS_KEY_ID", "LTAI5tExample"),
            ("TABLECARD_ALIYUN_ACCESS_KEY_SECRET", "secret"),
        ])
        .unwrap();
        let CodeDelivery::Aliyun(c) = &ali.code_delivery else {
            panic!("{:?}", ali.code_delivery)
        };
        assert_eq!(c.endpoint, "https://dysmsapi.aliyuncs.com");
        let missing = config(&[("TABLECARD_SMS", "aliyun")]).unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("TABLECARD_ALIYUN_ACCESS_KEY_ID"),
            "{missing}"
        );
        let tencent = config(&[
            ("TABLECARD_SMS", "tencent"),
            ("TABLECARD_TENCENT_SECRET_ID", "AKIDexample"),
            ("TABLECARD_TENCENT_SECRET_KEY", "secret"),
            ("TABLECARD_TENCENT_SMS_APP_ID", "1400006666"),
            ("TABLECARD_TENCENT_SMS_ENDPOINT", "http://127.0.0.1:9102/"),
        ])
        .unwrap();
        let CodeDelivery::Tencent(c) = &tencent.code_delivery else {
            panic!("{:?}", tencent.code_delivery)
        };
        assert_eq!(
            (c.region.as_str(), c.endpoint.as_str()),
            ("ap-guangzhou", "http://127.0.0.1:9102")
        );
        let no_app = config(&[
            ("TABLECARD_SMS", "tencent"),
            ("TABLECARD_TENCENT_SECRET_ID", "AKIDexample"),
            ("TABLECARD_TENCENT_SECRET_KEY", "secret"),
        ])
        .unwrap_err();
        assert!(
            no_app.to_string().contains("TABLECARD_TENCENT_SMS_APP_ID"),
            "{no_app}"
        );
        // A live site does not send phone numbers to a provider in clear.
        let clear = config(&[
            ("TABLECARD_PUBLIC_URL", "https://card.example.com"),
            ("TABLECARD_SECRET_KEY", SECRET),
            ("TABLECARD_SMS", "aliyun"),
            ("TABLECARD_ALIYUN_ACCESS_KEY_ID", "id"),
            ("TABLECARD_ALIYUN_ACCESS_KEY_SECRET", "secret"),
            ("TABLECARD_ALIYUN_SMS_ENDPOINT", "http://sms.example.com"),
        ])
        .unwrap_err();
        assert!(clear.to_string().contains("https://"), "{clear}");
        assert!(config(&[("TABLECARD_SMS_INBOUND_TOKEN", "short")]).is_err());
        let token = config(&[("TABLECARD_SMS_INBOUND_TOKEN", "a-long-enough-token-42")]).unwrap();
        assert_eq!(
            token.sms_inbound_token.as_deref(),
            Some("a-long-enough-token-42")
        );
    }

    #[test]
    fn an_https_public_url_makes_cookies_secure() {
        let c = config(&[
            ("TABLECARD_PUBLIC_URL", "https://card.example.com/"),
            ("TABLECARD_CODE_DELIVERY", "log"),
            ("TABLECARD_SECRET_KEY", SECRET),
        ])
        .unwrap();
        assert!(c.secure_cookies());
        assert_eq!(c.public_url(), "https://card.example.com");
        assert!(!config(&[]).unwrap().secure_cookies());
        assert!(config(&[("TABLECARD_PUBLIC_URL", "card.example.com")]).is_err());
    }

    #[test]
    fn a_live_site_never_logs_sign_in_codes_by_default() {
        let live = config(&[("TABLECARD_PUBLIC_URL", "https://card.example.com")]).unwrap_err();
        assert!(live.to_string().contains("TABLECARD_SMS=aliyun"), "{live}");
        // Nor runs without its own secret, nor sends codes over plain HTTP.
        let site = ("TABLECARD_PUBLIC_URL", "https://card.example.com");
        let hook = ("TABLECARD_CODE_DELIVERY", "webhook");
        let secret = ("TABLECARD_CODE_WEBHOOK_SECRET", "0123456789abcdef");
        let keyless = config(&[site, ("TABLECARD_CODE_DELIVERY", "log")]).unwrap_err();
        assert!(keyless.to_string().contains("TABLECARD_SECRET_KEY"));
        let key = ("TABLECARD_SECRET_KEY", SECRET);
        let clear = ("TABLECARD_CODE_WEBHOOK_URL", "http://sms.example.com/hook");
        let refused = config(&[site, hook, secret, key, clear]).unwrap_err();
        assert!(refused.to_string().contains("https://"), "{refused}");
        let local = ("TABLECARD_CODE_WEBHOOK_URL", "http://127.0.0.1:9000/hook");
        assert!(config(&[site, hook, secret, key, local]).is_ok());
        for sly in [
            "http://localhost@evil.example/hook",
            "http://localhost.evil.example/hook",
            "http://127.0.0.1.nip.io/hook",
            "http://[::1].evil.example/",
        ] {
            let url = ("TABLECARD_CODE_WEBHOOK_URL", sly);
            assert!(config(&[site, hook, secret, key, url]).is_err(), "{sly}");
        }
        for local in [
            "http://localhost:8080/x",
            "http://[::1]:9000/",
            "http://127.1.2.3/",
        ] {
            let url = ("TABLECARD_CODE_WEBHOOK_URL", local);
            assert!(config(&[site, hook, secret, key, url]).is_ok(), "{local}");
        }
        let tls = ("TABLECARD_CODE_WEBHOOK_URL", "https://sms.example.com/hook");
        assert!(config(&[site, hook, secret, key, tls]).is_ok());
        // Plain HTTP (development) keeps the log as the default.
        let dev = config(&[("TABLECARD_PUBLIC_URL", "http://192.168.1.5:3000")]).unwrap();
        assert_eq!(dev.code_delivery, CodeDelivery::Log);
    }

    #[test]
    fn metrics_need_a_long_token_or_their_own_address() {
        let none = config(&[]).unwrap();
        assert!(none.metrics_token.is_none() && none.metrics_addr.is_none());
        assert!(config(&[("TABLECARD_METRICS_TOKEN", "short")]).is_err());
        let token = config(&[("TABLECARD_METRICS_TOKEN", "0123456789abcdef01234567")]).unwrap();
        assert_eq!(
            token.metrics_token.as_deref(),
            Some("0123456789abcdef01234567")
        );
        let addr = config(&[("TABLECARD_METRICS_ADDR", "127.0.0.1:9464")]).unwrap();
        assert_eq!(addr.metrics_addr, Some("127.0.0.1:9464".parse().unwrap()));
        let bad = config(&[("TABLECARD_METRICS_ADDR", "metrics")]).unwrap_err();
        assert!(bad.to_string().contains("host:port"), "{bad}");
    }

    #[test]
    fn a_short_secret_is_refused() {
        assert!(config(&[("TABLECARD_SECRET_KEY", "short")]).is_err());
        assert!(config(&[("TABLECARD_SECRET_KEY", &"k".repeat(32))]).is_ok());
    }
}
