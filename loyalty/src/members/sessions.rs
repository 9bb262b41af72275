//! Member sessions: a random 256-bit token in the member's cookie, of which
//! the database keeps only a SHA-256. A session belongs to one brand, ends
//! on sign-out, after an idle month and after half a year in any case.

use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use crate::brands::BrandId;
use crate::infra::secret::hex;
use crate::members::MemberId;
use crate::{Clock, Db, Result};

#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub idle_ms: i64,
    pub absolute_ms: i64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle_ms: 30 * 24 * 3_600_000,
            absolute_ms: 180 * 24 * 3_600_000,
        }
    }
}

/// Touching `last_seen_at` on every page would turn reads into writes.
const TOUCH_EVERY_MS: i64 = 5 * 60_000;

/// The cookie's value. Only its hash ever reaches the database or a log.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(…)")
    }
}

impl SessionToken {
    pub(crate) fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        SessionToken(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Whatever a cookie holds; a malformed value simply matches no session.
    pub fn from_cookie(value: &str) -> Option<Self> {
        let ok = value.len() == 43
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| SessionToken(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn hash(&self) -> String {
        hex(&Sha256::digest(self.0.as_bytes()))
    }
}

/// Starts a session; the caller puts the token in a cookie.
pub async fn start(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    policy: &SessionPolicy,
    brand: BrandId,
    member: MemberId,
) -> Result<SessionToken> {
    let now = clock.now_ms();
    let token = SessionToken::generate();
    sqlx::query(
        "INSERT INTO member_sessions (brand_id, member_id, token_hash, created_at, last_seen_at, expires_at) \
         VALUES ($1, $2, $3, $4, $4, $5)",
    )
    .bind(brand.0)
    .bind(member.0)
    .bind(token.hash())
    .bind(now)
    .bind(now + policy.absolute_ms)
    .execute(&mut *conn)
    .await?;
    Ok(token)
}

/// The member a live session of `brand` belongs to. A session of another
/// brand, an ended or expired one, or an erased member's, gives None.
pub async fn resolve(
    db: &Db,
    clock: &dyn Clock,
    policy: &SessionPolicy,
    brand: BrandId,
    token: &SessionToken,
) -> Result<Option<MemberId>> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT s.id, s.member_id, s.last_seen_at FROM {LIVE_JOIN} \
             WHERE {} AND s.token_hash = $2",
            live_where(1, 3, 4)
        )
    });
    let now = clock.now_ms();
    let row: Option<(i64, i64, i64)> = sqlx::query_as(&SQL)
        .bind(brand.0)
        .bind(token.hash())
        .bind(now)
        .bind(now - policy.idle_ms)
        .fetch_optional(db.pool())
        .await?;
    let Some((id, member, last_seen)) = row else {
        return Ok(None);
    };
    seen(db, now, id, last_seen).await?;
    Ok(Some(MemberId(member)))
}

/// A session `s` with its member `m`, and ([`live_where`]) what makes it
/// live. One definition for [`resolve`] and for the card's read model,
/// which finds the member and their card in one statement.
pub(crate) const LIVE_JOIN: &str =
    "member_sessions s JOIN members m ON m.brand_id = s.brand_id AND m.id = s.member_id";

/// `s` is a live session of the brand `$brand` and `m` is active: not
/// ended, not expired at `$now`, seen since `$idle_after`. The caller adds
/// which session (its token's hash).
pub(crate) fn live_where(brand: u8, now: u8, idle_after: u8) -> String {
    format!(
        "s.brand_id = ${brand} AND s.ended_at IS NULL AND s.expires_at > ${now} \
         AND s.last_seen_at > ${idle_after} AND m.status = 'active'"
    )
}

/// Notes that session `id`, last seen at `last_seen`, was used at `now`,
/// at most every [`TOUCH_EVERY_MS`].
pub(crate) async fn seen(db: &Db, now: i64, id: i64, last_seen: i64) -> Result<()> {
    if now - last_seen > TOUCH_EVERY_MS {
        sqlx::query(
            "UPDATE member_sessions SET last_seen_at = $1 WHERE id = $2 AND ended_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(db.pool())
        .await?;
    }
    Ok(())
}

/// Signs out: the token stops working at once, on every server.
pub async fn end(db: &Db, clock: &dyn Clock, brand: BrandId, token: &SessionToken) -> Result<()> {
    sqlx::query(
        "UPDATE member_sessions SET ended_at = $1 \
         WHERE token_hash = $2 AND brand_id = $3 AND ended_at IS NULL",
    )
    .bind(clock.now_ms())
    .bind(token.hash())
    .bind(brand.0)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Ends every session of a member (account deletion).
pub async fn end_all(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: BrandId,
    member: MemberId,
) -> Result<()> {
    sqlx::query(
        "UPDATE member_sessions SET ended_at = $1 \
         WHERE brand_id = $2 AND member_id = $3 AND ended_at IS NULL",
    )
    .bind(clock.now_ms())
    .bind(brand.0)
    .bind(member.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_256_bits_and_survive_the_cookie_round_trip() {
        let t = SessionToken::generate();
        assert_eq!(t.as_str().len(), 43);
        assert_eq!(SessionToken::from_cookie(t.as_str()), Some(t.clone()));
        assert_ne!(SessionToken::generate(), t);
        assert_eq!(t.hash().len(), 64);
        assert!(!format!("{t:?}").contains(t.as_str()));
    }

    #[test]
    fn junk_cookies_are_no_token() {
        assert!(SessionToken::from_cookie("").is_none());
        assert!(SessionToken::from_cookie("short").is_none());
        assert!(SessionToken::from_cookie(&"a".repeat(42).replace('a', "%")).is_none());
    }
}
