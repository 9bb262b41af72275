//! One-time sign-in codes (验证码). A code lives five minutes, works once and
//! dies after five wrong tries; a phone may ask again after a minute, and a
//! phone and a client address may only ask so often per hour. Codes are
//! stored as keyed hashes and compared in constant time.
//!
//! The rows double as the rate-limit counters, so the limits hold across
//! restarts and across several servers on one database.

use hmac::Mac;
use rand::Rng;
use sqlx::AnyConnection;

use crate::brands::{Brand, BrandId, Language};
use crate::error::Invalid;
use crate::infra::secret::{hex, unhex, ServerSecret};
use crate::marketing::delivery::{Failure, Purpose, Sender, Sms};
use crate::marketing::messages;
use crate::marketing::templates::{self, TemplateFor, Var};
use crate::members::phone::Phone;
use crate::{Clock, Db, Error, Result};

#[derive(Debug, Clone, Copy)]
pub struct OtpPolicy {
    pub ttl_ms: i64,
    pub resend_after_ms: i64,
    pub max_attempts: i64,
    pub per_phone_per_hour: i64,
    /// Codes one phone gets in 24 hours, from every brand together.
    pub per_phone_per_day: i64,
    pub per_ip_per_hour: i64,
    /// Codes one brand sends in 24 hours, to everyone: its SMS budget.
    /// Beyond it nobody joins or signs in by code until codes age out; the
    /// dashboard warns the owner from [`BUDGET_WARNING_PCT`] per cent.
    pub per_brand_per_day: i64,
}

/// The share of the day's code budget from which the dashboard warns.
pub const BUDGET_WARNING_PCT: i64 = 80;

impl Default for OtpPolicy {
    fn default() -> Self {
        OtpPolicy {
            ttl_ms: 5 * 60_000,
            resend_after_ms: 60_000,
            max_attempts: 5,
            per_phone_per_hour: 5,
            per_phone_per_day: 10,
            per_ip_per_hour: 20,
            per_brand_per_day: 2_000,
        }
    }
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Six digits, as typed (spaces allowed between them).
#[derive(Clone, PartialEq, Eq)]
pub struct LoginCode(String);

impl std::fmt::Debug for LoginCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginCode(******)")
    }
}

impl LoginCode {
    pub fn parse(input: &str) -> Result<Self> {
        let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.is_empty() {
            return Err(Error::invalid("code", Invalid::Empty));
        }
        if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid("code", Invalid::Format));
        }
        Ok(LoginCode(digits))
    }

    fn generate() -> Self {
        LoginCode(format!(
            "{:06}",
            rand::rngs::OsRng.gen_range(0..1_000_000u32)
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn code_mac(
    key: &[u8; 32],
    brand: BrandId,
    phone: &Phone,
    code: &LoginCode,
) -> hmac::Hmac<sha2::Sha256> {
    let message = format!("{}:{}:{}", brand.0, phone.as_str(), code.as_str());
    ServerSecret::mac(key, message.as_bytes())
}

/// A code that was just stored and may now be delivered.
#[derive(Debug)]
pub struct IssuedCode {
    pub id: i64,
    pub code: LoginCode,
    pub expires_at: i64,
}

fn wait_secs(until_ms: i64, now: i64) -> i64 {
    ((until_ms - now).max(0) + 999) / 1000
}

/// Stores a fresh code for `phone`, unless a limit says no. The check and the
/// insert are one statement, so two taps at once cannot both get a code.
pub async fn issue(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    secret: &ServerSecret,
    policy: &OtpPolicy,
    brand: BrandId,
    phone: &Phone,
    client_ip: &str,
) -> Result<IssuedCode> {
    let now = clock.now_ms();
    let code = LoginCode::generate();
    let hash = hex(&code_mac(&secret.current().otp, brand, phone, &code)
        .finalize()
        .into_bytes());
    let client_ip: String = client_ip.chars().take(64).collect();
    let expires_at = now + policy.ttl_ms;
    let inserted: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO login_codes (brand_id, phone, client_ip, code_hash, created_at, expires_at) \
         SELECT $1, $2, $3, $4, $5, $6 \
         WHERE NOT EXISTS (SELECT 1 FROM login_codes WHERE brand_id = $1 AND phone = $2 AND created_at > $7) \
           AND (SELECT COUNT(*) FROM login_codes WHERE phone = $2 AND created_at > $8) < $9 \
           AND (SELECT COUNT(*) FROM login_codes WHERE client_ip = $3 AND created_at > $8) < $10 \
           AND (SELECT COUNT(*) FROM login_codes WHERE phone = $2 AND created_at > $11) < $12 \
           AND (SELECT COUNT(*) FROM login_codes WHERE brand_id = $1 AND created_at > $11) < $13 \
         RETURNING id",
    )
    .bind(brand.0)
    .bind(phone.as_str())
    .bind(&client_ip)
    .bind(&hash)
    .bind(now)
    .bind(expires_at)
    .bind(now - policy.resend_after_ms)
    .bind(now - HOUR_MS)
    .bind(policy.per_phone_per_hour)
    .bind(policy.per_ip_per_hour)
    .bind(now - DAY_MS)
    .bind(policy.per_phone_per_day)
    .bind(policy.per_brand_per_day)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id,)) = inserted else {
        return Err(refusal(conn, now, policy, brand, phone, &client_ip).await?);
    };
    Ok(IssuedCode {
        id,
        code,
        expires_at,
    })
}

/// Only the newest code works; once a new one is delivered, older ones still
/// in flight are retired (verification already ignores them).
async fn retire_older(
    conn: &mut AnyConnection,
    now: i64,
    brand: BrandId,
    phone: &Phone,
    keep: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE login_codes SET used_at = $1 \
         WHERE brand_id = $2 AND phone = $3 AND used_at IS NULL AND id <> $4",
    )
    .bind(now)
    .bind(brand.0)
    .bind(phone.as_str())
    .bind(keep)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Which limit refused a new code, and how long until it allows one.
async fn refusal(
    conn: &mut AnyConnection,
    now: i64,
    policy: &OtpPolicy,
    brand: BrandId,
    phone: &Phone,
    client_ip: &str,
) -> Result<Error> {
    // The resend wait is per brand (it says nothing about other restaurants);
    // the hourly cap per phone is across brands, against SMS bombing.
    type Counts = (Option<i64>, i64, Option<i64>, i64, Option<i64>);
    let (last, phone_count, phone_oldest, day_count, day_oldest): Counts = sqlx::query_as(
        "SELECT MAX(CASE WHEN brand_id = $3 THEN created_at END), \
                COUNT(CASE WHEN created_at > $2 THEN 1 END), \
                MIN(CASE WHEN created_at > $2 THEN created_at END), \
                COUNT(CASE WHEN created_at > $4 THEN 1 END), \
                MIN(CASE WHEN created_at > $4 THEN created_at END) \
         FROM login_codes WHERE phone = $1",
    )
    .bind(phone.as_str())
    .bind(now - HOUR_MS)
    .bind(brand.0)
    .bind(now - DAY_MS)
    .fetch_one(&mut *conn)
    .await?;
    if let Some(last) = last.filter(|l| *l > now - policy.resend_after_ms) {
        return Ok(Error::CodeResendTooSoon {
            wait_secs: wait_secs(last + policy.resend_after_ms, now),
        });
    }
    if day_count >= policy.per_phone_per_day {
        return Ok(Error::CodeDailyLimit {
            wait_secs: wait_secs(day_oldest.unwrap_or(now) + DAY_MS, now),
        });
    }
    if phone_count >= policy.per_phone_per_hour {
        let oldest = phone_oldest.unwrap_or(now);
        return Ok(Error::CodeLimitReached {
            wait_secs: wait_secs(oldest + HOUR_MS, now),
        });
    }
    let (brand_count, brand_oldest) = sent_since(conn, brand, now - DAY_MS).await?;
    if brand_count >= policy.per_brand_per_day {
        return Ok(Error::CodeBudgetSpent {
            wait_secs: wait_secs(brand_oldest.unwrap_or(now) + DAY_MS, now),
        });
    }
    let (ip_oldest,): (Option<i64>,) = sqlx::query_as(
        "SELECT MIN(created_at) FROM login_codes WHERE client_ip = $1 AND created_at > $2",
    )
    .bind(client_ip)
    .bind(now - HOUR_MS)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Error::CodeLimitReached {
        wait_secs: wait_secs(ip_oldest.unwrap_or(now) + HOUR_MS, now),
    })
}

/// The brand's codes sent since `since`, and the oldest of them.
async fn sent_since(
    conn: &mut AnyConnection,
    brand: BrandId,
    since: i64,
) -> Result<(i64, Option<i64>)> {
    Ok(sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT), MIN(created_at) FROM login_codes \
         WHERE brand_id = $1 AND created_at > $2",
    )
    .bind(brand.0)
    .bind(since)
    .fetch_one(&mut *conn)
    .await?)
}

/// How much of its day's code budget a brand has spent: (codes sent in the
/// last 24 hours, the budget).
pub async fn budget_used(
    db: &Db,
    clock: &dyn Clock,
    policy: &OtpPolicy,
    brand: BrandId,
) -> Result<(i64, i64)> {
    let mut conn = db.acquire().await?;
    let budget = messages::settings(&mut conn, brand)
        .await?
        .sign_in_budget(policy.per_brand_per_day);
    let (sent, _) = sent_since(&mut conn, brand, clock.now_ms() - DAY_MS).await?;
    Ok((sent, budget))
}

/// Forgets a code that could not be delivered, so it neither counts against
/// the limits nor can be guessed.
pub async fn withdraw(conn: &mut AnyConnection, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM login_codes WHERE id = $1 AND used_at IS NULL")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct CodeRow {
    id: i64,
    code_hash: String,
    attempts: i64,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
}

/// Checks a typed code against the newest code of `phone` and uses it up.
/// Each statement commits on its own: a wrong try must count even though the
/// caller goes on to report an error.
pub async fn verify(
    db: &Db,
    clock: &dyn Clock,
    secret: &ServerSecret,
    policy: &OtpPolicy,
    brand: BrandId,
    phone: &Phone,
    code: &LoginCode,
) -> Result<()> {
    let now = clock.now_ms();
    let row: Option<CodeRow> = sqlx::query_as(
        "SELECT id, code_hash, attempts, created_at, expires_at, used_at \
         FROM login_codes WHERE brand_id = $1 AND phone = $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(brand.0)
    .bind(phone.as_str())
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row.filter(|r| r.used_at.is_none()) else {
        return Err(Error::CodeMissing);
    };
    let resend_in = wait_secs(row.created_at + policy.resend_after_ms, now);
    if row.attempts >= policy.max_attempts {
        return Err(Error::CodeTooManyTries {
            wait_secs: resend_in,
        });
    }
    if row.expires_at <= now {
        return Err(Error::CodeExpired);
    }
    let stored = unhex(&row.code_hash).unwrap_or_default();
    // A code sent just before a key rotation still works.
    let matches = secret.generations().any(|keys| {
        code_mac(&keys.otp, brand, phone, code)
            .verify_slice(&stored)
            .is_ok()
    });
    if !matches {
        let mut tx = db.begin().await?; // (see Db::begin: an explicit COMMIT reports a failed write)
        let counted: Option<(i64,)> = sqlx::query_as(
            "UPDATE login_codes SET attempts = attempts + 1 \
             WHERE id = $1 AND attempts < $2 RETURNING attempts",
        )
        .bind(row.id)
        .bind(policy.max_attempts)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        return Err(match counted {
            Some((attempts,)) if attempts < policy.max_attempts => Error::CodeWrong {
                tries_left: policy.max_attempts - attempts,
            },
            _ => Error::CodeTooManyTries {
                wait_secs: resend_in,
            },
        });
    }
    let mut tx = db.begin().await?; // (see Db::begin: an explicit COMMIT reports a failed write)
    let used: Option<(i64,)> = sqlx::query_as(
        "UPDATE login_codes SET used_at = $1 \
         WHERE id = $2 AND used_at IS NULL AND attempts < $3 AND expires_at > $1 RETURNING id",
    )
    .bind(now)
    .bind(row.id)
    .bind(policy.max_attempts)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    match used {
        Some(_) => Ok(()),
        None => Err(Error::CodeMissing),
    }
}

/// Issues a code and hands it to the sender, under the brand's sign-in
/// template in the member's language. A code that could not be delivered
/// is withdrawn, so the member may simply try again; every attempt is
/// recorded for the owner's figures, with the provider's reason when it
/// failed.
#[allow(clippy::too_many_arguments)]
pub async fn send(
    db: &Db,
    clock: &dyn Clock,
    secret: &ServerSecret,
    policy: &OtpPolicy,
    sender: &dyn Sender,
    brand: &Brand,
    phone: &Phone,
    client_ip: &str,
    language: Language,
) -> Result<IssuedCode> {
    let (issued, template) = {
        let mut tx = db.begin().await?;
        if db.backend() == crate::Backend::Postgres {
            // READ COMMITTED would let two concurrent requests both pass the
            // limits; these locks serialise requests per phone, then per
            // address (always in that order, so they cannot deadlock).
            for key in [format!("otp-phone:{phone}"), format!("otp-ip:{client_ip}")] {
                sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let settings = messages::settings(&mut tx, brand.id).await?;
        let policy = OtpPolicy {
            per_brand_per_day: settings.sign_in_budget(policy.per_brand_per_day),
            ..*policy
        };
        let issued = issue(&mut tx, clock, secret, &policy, brand.id, phone, client_ip).await?;
        let template = templates::choose(&mut tx, brand, TemplateFor::SignIn, language).await?;
        tx.commit().await?;
        (issued, template)
    };
    let (code, body) = match template {
        Some(t) => (Some(t.code).filter(|c| !c.is_empty()), t.body),
        None => (None, templates::default_sign_in(language)),
    };
    let value = |v: Var| match v {
        Var::Code => Some(issued.code.as_str().to_owned()),
        Var::Brand => Some(brand.name.clone()),
        _ => None,
    };
    let sms = Sms {
        phone: phone.clone(),
        brand_slug: brand.slug.to_string(),
        brand_name: brand.name.clone(),
        signature: brand.signature().to_owned(),
        language,
        purpose: Purpose::SignIn,
        template_code: code,
        params: body.params(value),
        text: body.render(value),
    };
    if let Err(e) = messages::send(db, clock, brand.id, sender, &sms).await {
        tracing::error!(error = %e, phone = %phone.masked(), brand = %brand.slug, "one-time code not delivered");
        let mut conn = db.pool().acquire().await?;
        withdraw(&mut conn, issued.id).await?;
        return Err(match e {
            Failure::Unreachable { .. } => Error::PhoneCannotReceive,
            // The provider's own limit for this number (per minute, hour or
            // day, unknown which): ten minutes is an honest guess.
            Failure::Limited { .. } => Error::CodeLimitReached { wait_secs: 600 },
            Failure::Transient { .. } | Failure::Refused { .. } => Error::CodeNotDelivered,
        });
    }
    let mut conn = db.pool().acquire().await?;
    retire_older(&mut conn, clock.now_ms(), brand.id, phone, issued.id).await?;
    Ok(issued)
}

/// Codes older than a day are no longer counters of any limit.
pub async fn purge_old(db: &Db, clock: &dyn Clock) -> Result<u64> {
    let done = sqlx::query("DELETE FROM login_codes WHERE created_at < $1")
        .bind(clock.now_ms() - 24 * HOUR_MS)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_six_digits_spaces_allowed() {
        assert_eq!(LoginCode::parse(" 123 456 ").unwrap().as_str(), "123456");
        assert!(LoginCode::parse("12345").is_err());
        assert!(LoginCode::parse("1234567").is_err());
        assert!(LoginCode::parse("12345a").is_err());
        assert!(LoginCode::parse("１２３４５６").is_err());
    }

    #[test]
    fn generated_codes_keep_leading_zeros() {
        for _ in 0..200 {
            let c = LoginCode::generate();
            assert_eq!(c.as_str().len(), 6);
            assert!(LoginCode::parse(c.as_str()).is_ok());
        }
    }

    #[test]
    fn the_debug_form_never_shows_the_code() {
        let c = LoginCode::parse("123456").unwrap();
        assert!(!format!("{c:?}").contains("123456"));
    }

    #[test]
    fn waits_round_up_to_whole_seconds() {
        assert_eq!(wait_secs(1_001, 0), 2);
        assert_eq!(wait_secs(1_000, 0), 1);
        assert_eq!(wait_secs(0, 5), 0);
    }
}
