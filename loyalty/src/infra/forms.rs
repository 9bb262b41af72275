//! Forms staff submit, acted on once. Each form is shown with a random key;
//! the first submission claims the key in the transaction that does the
//! work and stores its outcome there, so a double click, a resubmitted form
//! or a retry after a lost response finds the claim and gets the same
//! outcome again, and nothing is done twice. A key sent again with other
//! content (Back, then new figures) is refused rather than answered with
//! the old outcome.

use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::error::Invalid;
use crate::money::ExternalId;
use crate::staff::audit::{Actor, Change};
use crate::staff::StaffId;
use crate::{Clock, Db, Error, Result};

/// How long a submitted form is remembered: a retry comes within minutes.
pub const FORM_KEEP_MS: i64 = 24 * 3_600_000;

/// The key a form is shown with: 22 URL-safe characters (128 random bits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormKey(String);

impl FormKey {
    pub fn generate() -> FormKey {
        use base64::Engine;
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        FormKey(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn parse(input: &str) -> Result<FormKey> {
        let ok = (16..=64).contains(&input.len())
            && input
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(FormKey(input.to_owned()))
        } else {
            Err(Error::invalid("form_key", Invalid::Format))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The order id of a bill the cashier gave no POS number for.
    pub(crate) fn order_id(&self) -> ExternalId {
        ExternalId::parse("order_id", &format!("TILL-{}", self.0))
            .expect("a form key is printable ASCII")
    }
}

/// A whole number typed into a form's `field`, with an optional sign
/// (`+50`, `-20`, `30`).
pub fn signed_number(field: &'static str, input: &str) -> Result<i64> {
    input
        .trim()
        .trim_start_matches('+')
        .parse()
        .map_err(|_| Error::invalid(field, Invalid::Format))
}

/// A decimal with up to three places (`1.5`, `0.25`), in thousandths.
pub fn thousandths(field: &'static str, input: &str) -> Result<i64> {
    let bad = || Error::invalid(field, Invalid::Format);
    let s = input.trim();
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && frac.is_empty() || whole.len() > 6 || frac.len() > 3 {
        return Err(bad());
    }
    if !digits(whole) || !digits(frac) {
        return Err(bad());
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let frac: i64 = format!("{frac:0<3}").parse().map_err(|_| bad())?;
    Ok(whole * 1000 + frac)
}

/// A whole number typed into a form's `field`.
pub fn number(field: &'static str, input: &str) -> Result<i64> {
    input
        .trim()
        .parse()
        .map_err(|_| Error::invalid(field, Invalid::Format))
}

/// An optional whole number: blank is None, anything else must be one.
pub fn optional_number(field: &'static str, input: &str) -> Result<Option<i64>> {
    match input.trim() {
        "" => Ok(None),
        n => n
            .parse()
            .map(Some)
            .map_err(|_| Error::invalid(field, Invalid::Format)),
    }
}

/// A count typed into a form's `field`: a whole number above zero.
pub fn count(field: &'static str, input: &str) -> Result<i64> {
    input
        .trim()
        .parse()
        .ok()
        .filter(|n: &i64| *n > 0)
        .ok_or(Error::invalid(field, Invalid::Format))
}

/// What a form said, as a hash: the action, where, and every field.
pub fn fingerprint(action: &str, scope: i64, fields: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(action.as_bytes());
    h.update(scope.to_le_bytes());
    for f in fields {
        h.update((f.len() as u64).to_le_bytes());
        h.update(f.as_bytes());
    }
    crate::infra::secret::hex(&h.finalize())
}

/// Claims `key` for this staff member: None when this submission is the
/// first (do the work, then `settle`), the stored outcome when it was done.
pub async fn claim<T: DeserializeOwned>(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    staff: StaffId,
    key: &FormKey,
    request_hash: &str,
) -> Result<Option<T>> {
    // On PostgreSQL a concurrent second submission waits here on the key's
    // index entry until the first commits, then finds its outcome.
    let fresh: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO staff_requests (staff_id, form_key, request_hash, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (staff_id, form_key) DO NOTHING RETURNING 1",
    )
    .bind(staff.0)
    .bind(key.as_str())
    .bind(request_hash)
    .bind(clock.now_ms())
    .fetch_optional(&mut *conn)
    .await?;
    if fresh.is_some() {
        return Ok(None);
    }
    let (outcome, hash): (Option<String>, String) = sqlx::query_as(
        "SELECT outcome, request_hash FROM staff_requests WHERE staff_id = $1 AND form_key = $2",
    )
    .bind(staff.0)
    .bind(key.as_str())
    .fetch_one(&mut *conn)
    .await?;
    if hash != request_hash {
        return Err(Error::FormAlreadyUsed);
    }
    outcome
        .as_deref()
        .and_then(|o| serde_json::from_str(o).ok())
        .map(Some)
        .ok_or(Error::RequestInProgress)
}

/// Stores the outcome of a claimed form, in the transaction that did the work.
pub async fn settle<T: Serialize>(
    conn: &mut AnyConnection,
    staff: StaffId,
    key: &FormKey,
    outcome: &T,
) -> Result<()> {
    let text = serde_json::to_string(outcome).expect("an outcome serializes");
    sqlx::query("UPDATE staff_requests SET outcome = $3 WHERE staff_id = $1 AND form_key = $2")
        .bind(staff.0)
        .bind(key.as_str())
        .bind(text)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The one shape of a staff form's write, in one transaction: the key is
/// claimed with the hash of what the form said (the same form sent again
/// gets its first outcome back; the key reused for another form is
/// refused), `work` runs, and its audit entry and outcome are settled under
/// the key before the commit.
pub async fn once<T: Serialize + DeserializeOwned>(
    db: &Db,
    clock: &dyn Clock,
    actor: &Actor,
    key: &FormKey,
    hash: &str,
    work: impl AsyncFnOnce(&mut AnyConnection) -> Result<(T, Change<'static>)>,
) -> Result<T> {
    let staff = actor.staff.ok_or(Error::StaffNotFound)?;
    let mut tx = db.begin().await?;
    if let Some(done) = claim(&mut tx, clock, staff, key, hash).await? {
        return Ok(done);
    }
    let (outcome, change) = work(&mut tx).await?;
    crate::staff::audit::record(&mut tx, clock, actor, change).await?;
    settle(&mut tx, staff, key, &outcome).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// The outcome of a form this staff member submitted, to confirm on screen.
pub async fn outcome<T: DeserializeOwned>(
    db: &Db,
    staff: StaffId,
    key: &FormKey,
) -> Result<Option<T>> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT outcome FROM staff_requests WHERE staff_id = $1 AND form_key = $2")
            .bind(staff.0)
            .bind(key.as_str())
            .fetch_optional(db.pool())
            .await?;
    Ok(row
        .and_then(|r| r.0)
        .and_then(|o| serde_json::from_str(&o).ok()))
}

/// Forgets forms older than a day (the hourly task).
pub async fn purge_forms(db: &Db, clock: &dyn Clock) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM staff_requests WHERE created_at < $1")
            .bind(clock.now_ms() - FORM_KEEP_MS)
            .execute(db.pool())
            .await?
            .rows_affected(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_keys_are_random_and_parse_back() {
        let k = FormKey::generate();
        assert_eq!(k.as_str().len(), 22);
        assert_eq!(FormKey::parse(k.as_str()).unwrap(), k);
        assert_ne!(FormKey::generate(), k);
        assert!(FormKey::parse("short").is_err());
        assert!(FormKey::parse("has a space in it, long").is_err());
        assert_eq!(k.order_id().as_str(), format!("TILL-{}", k.as_str()));
    }

    #[test]
    fn a_form_fingerprint_changes_with_any_field() {
        let a = fingerprint("purchase", 1, &["123", "", "100"]);
        assert_eq!(a, fingerprint("purchase", 1, &["123", "", "100"]));
        assert_ne!(a, fingerprint("purchase", 2, &["123", "", "100"]));
        assert_ne!(a, fingerprint("purchase", 1, &["123", "", "1000"]));
        assert_ne!(
            a,
            fingerprint("purchase", 1, &["1231", "", "00"]),
            "fields do not run together"
        );
    }
}
