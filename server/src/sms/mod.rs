//! Text messages out of the server: Alibaba Cloud SMS and Tencent Cloud SMS
//! built in, each signing its requests as the provider documents; the
//! signed webhook for any other provider; and local fakes of both providers
//! that check those signatures, for tests and for trying it all out without
//! an account (`tablecard sms-fake aliyun`).

pub mod aliyun;
pub mod fake;
pub mod inbound;
pub mod tencent;
pub mod webhook;

use std::time::Duration;

use loyalty::marketing::delivery::Failure;

/// The HTTP client every provider uses: short timeouts (a member is waiting
/// for the code), our name as the user agent.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(3))
        .user_agent(concat!("tablecard/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("HTTP client")
}

/// How often and how patiently a provider is retried.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub attempts: u32,
    pub backoff: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 3,
            backoff: Duration::from_millis(300),
        }
    }
}

impl Retry {
    /// Runs `attempt` until it succeeds or fails for good, waiting longer
    /// after each transient failure; other failures are final at once.
    pub async fn run<F, Fut>(&self, what: &str, mut attempt: F) -> Result<(), Failure>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(), Failure>>,
    {
        let mut last = Failure::transient("not tried");
        for n in 0..self.attempts.max(1) {
            if n > 0 {
                tokio::time::sleep(self.backoff * 2u32.pow(n - 1)).await;
            }
            match attempt().await {
                Ok(()) => return Ok(()),
                // A timeout may have reached the provider: trying again at
                // once could send the message twice.
                Err(e @ Failure::Transient { .. }) if e.reason() == "timeout" => return Err(e),
                Err(e @ Failure::Transient { .. }) => {
                    tracing::warn!(attempt = n + 1, provider = what, error = %e, "SMS not sent, trying again");
                    last = e;
                }
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }
}

/// A network error as a failure worth another try: `provider_unreachable`
/// when the request never left (safe to repeat), `timeout` when it may have.
pub(crate) fn unreachable_provider(e: &reqwest::Error) -> Failure {
    Failure::transient(if e.is_timeout() && !e.is_connect() {
        "timeout"
    } else {
        "provider_unreachable"
    })
}

/// A provider's error code as what happens next, by the provider's lists
/// of each kind; any other code is refused (the owner sees it) and not
/// retried.
pub(crate) fn classify(
    code: &str,
    unreachable: &[&str],
    limited: &[&str],
    transient: &[&str],
) -> Failure {
    if unreachable.contains(&code) {
        Failure::unreachable(code)
    } else if limited.contains(&code) {
        Failure::limited(code)
    } else if transient.contains(&code) {
        Failure::transient(code)
    } else {
        Failure::refused(code)
    }
}

/// The signed headers' names, `;`-separated, as both providers list them.
pub(crate) fn signed_headers(headers: &[(&str, &str)]) -> String {
    headers
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(";")
}

/// The canonical request both providers sign: the method, the path, the
/// canonical query, each signed header as `name:value` (the value trimmed,
/// then as `value` writes it), their names, and the body's SHA-256.
pub(crate) fn canonical_request(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    value: fn(&str) -> String,
) -> String {
    let lines: String = headers
        .iter()
        .map(|(name, v)| format!("{name}:{}\n", value(v.trim())))
        .collect();
    format!(
        "{method}\n{path}\n{query}\n{lines}\n{}\n{}",
        signed_headers(headers),
        sha256_hex(body)
    )
}

/// Lower-case hex, as both providers write digests and signatures.
pub(crate) use loyalty::infra::secret::hex;

/// The host part of an endpoint URL (what the `host` header carries).
pub(crate) fn host_of(endpoint: &str) -> &str {
    let rest = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest);
    rest.split(['/', '?', '#']).next().unwrap_or(rest)
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Compares two signatures without telling by its timing where they differ.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The phone as mainland providers want it: the national number for +86,
/// else the country code and number without the plus.
pub(crate) fn provider_number(phone: &loyalty::members::phone::Phone) -> String {
    let e164 = phone.as_str();
    e164.strip_prefix("+86")
        .map(str::to_owned)
        .unwrap_or_else(|| e164.trim_start_matches('+').to_owned())
}
