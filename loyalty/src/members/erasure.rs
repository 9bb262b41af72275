//! Erasure at the counter (PIPL art. 47): a member who can no longer
//! receive a sign-in code — a lost phone, a number given up — asks staff in
//! person to delete their account. A manager's request waits for an owner,
//! who approves or rejects it (never their own); an owner erases at once.
//! Erasing is the same as the member's own deletion ([`super::erase`]);
//! every step is in the audit log, which names the member by id only.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::access::{Manager, Owner};
use crate::error::Invalid;
use crate::members::MemberId;
use crate::staff::audit::{self, Change};
use crate::{Clock, Db, Error, Result};

/// What became of a request at the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Erasure {
    /// An owner asked: the member is erased.
    Erased,
    /// A manager asked: the request waits for an owner.
    Awaiting { request: i64 },
}

/// The reason staff give (how the member was recognised): 1–200 characters.
fn reason(text: &str) -> Result<&str> {
    let text = text.trim();
    match text.chars().count() {
        0 => Err(Error::invalid("reason", Invalid::Empty)),
        n if n > 200 => Err(Error::invalid("reason", Invalid::TooLong { max: 200 })),
        _ => Ok(text),
    }
}

fn change(action: &'static str, member: MemberId, after: serde_json::Value) -> Change<'static> {
    Change {
        action,
        store: None,
        target_type: "member",
        target_id: Some(member.0),
        before: None,
        after: Some(after),
    }
}

/// Staff at the counter erase `member`, who asked in person, giving the
/// reason (how they were recognised).
pub async fn at_counter(
    db: &Db,
    clock: &dyn Clock,
    who: &Manager,
    member: MemberId,
    why: &str,
) -> Result<Erasure> {
    let why = reason(why)?;
    let (brand, actor) = (who.brand(), who.actor());
    let staff = actor.staff.ok_or(Error::StaffNotFound)?;
    let mut tx = db.begin().await?;
    let (outcome, record) = if who.is_owner() {
        super::erase(&mut tx, clock, brand.id, member).await?;
        let record = change("member.erase_at_counter", member, json!({ "reason": why }));
        (Erasure::Erased, record)
    } else {
        let created: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO erasure_requests (brand_id, member_id, reason, requested_by, created_at) \
             SELECT $1, $2, $3, $4, $5 FROM members WHERE brand_id = $1 AND id = $2 AND status = 'active' \
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(brand.id.0)
        .bind(member.0)
        .bind(why)
        .bind(staff.0)
        .bind(clock.now_ms())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((request,)) = created else {
            // Erased already, or a request of theirs waits.
            crate::members::find(db, brand.id, member).await?;
            return Err(Error::ErasureAlreadyRequested);
        };
        let record = change(
            "member.erase_requested",
            member,
            json!({ "request": request, "reason": why }),
        );
        (Erasure::Awaiting { request }, record)
    };
    audit::record(&mut tx, clock, &actor, record).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// A request waiting for an owner, as the owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub id: i64,
    pub member_no: String,
    pub reason: String,
    pub requested_by: String,
    pub created_at: i64,
}

/// The brand's waiting requests, oldest first.
pub async fn pending(db: &Db, who: &Owner) -> Result<Vec<Request>> {
    let rows: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
        "SELECT r.id, m.member_no, r.reason, s.display_name, r.created_at \
         FROM erasure_requests r \
         JOIN members m ON m.id = r.member_id AND m.brand_id = r.brand_id \
         JOIN staff s ON s.id = r.requested_by \
         WHERE r.brand_id = $1 AND r.state = 'pending' ORDER BY r.id",
    )
    .bind(who.brand().id.0)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, member_no, reason, requested_by, created_at)| Request {
                id,
                member_no,
                reason,
                requested_by,
                created_at,
            },
        )
        .collect())
}

/// An owner's decision on a waiting request: the member is erased, or
/// stays; once, audited, and never by the one who asked.
pub async fn decide(
    db: &Db,
    clock: &dyn Clock,
    who: &Owner,
    request: i64,
    approve: bool,
) -> Result<()> {
    let (brand, actor) = (who.brand(), who.actor());
    let owner = actor.staff.ok_or(Error::StaffNotFound)?;
    let mut tx = db.begin().await?;
    let decided: Option<(i64,)> = sqlx::query_as(
        "UPDATE erasure_requests SET state = $1, decided_by = $2, decided_at = $3 \
         WHERE id = $4 AND brand_id = $5 AND state = 'pending' AND requested_by <> $2 \
         RETURNING member_id",
    )
    .bind(if approve { "approved" } else { "rejected" })
    .bind(owner.0)
    .bind(clock.now_ms())
    .bind(request)
    .bind(brand.id.0)
    .fetch_optional(&mut *tx)
    .await?;
    let (member,) = decided.ok_or(Error::ErasureNotPending)?;
    let member = MemberId(member);
    let action = if approve {
        match super::erase(&mut tx, clock, brand.id, member).await {
            // They deleted the account themselves meanwhile: done too.
            Ok(()) | Err(Error::MemberNotFound) => {}
            Err(e) => return Err(e),
        }
        "member.erase_approved"
    } else {
        "member.erase_rejected"
    };
    audit::record(
        &mut tx,
        clock,
        &actor,
        change(action, member, json!({ "request": request })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
