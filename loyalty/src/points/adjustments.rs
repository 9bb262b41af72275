//! Points staff add or take by hand, with the reason they must give: a
//! form acted on once and audited.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::infra::forms::{self, FormKey};
use crate::members::MemberId;
use crate::staff::audit::Change;
use crate::{Clock, Db, Error, Result};

/// A hand adjustment: by how much, and the balance after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjusted {
    pub delta: i64,
    pub balance: i64,
}

/// Adds or takes points by hand, with the reason staff must give.
#[allow(clippy::too_many_arguments)]
pub async fn by_hand(
    db: &Db,
    clock: &dyn Clock,
    who: &crate::access::Manager,
    key: &FormKey,
    member: MemberId,
    delta: i64,
    reason: &str,
) -> Result<Adjusted> {
    let (brand, actor) = (who.brand(), &who.actor());
    let staff = actor.staff.ok_or(Error::StaffNotFound)?;
    let hash = forms::fingerprint("adjust", member.0, &[&delta.to_string(), reason.trim()]);
    forms::once(db, clock, actor, key, &hash, async |tx| {
        let balance = super::adjust(tx, clock, brand, member, delta, reason, staff).await?;
        let change = Change {
            action: "member.adjust_points",
            store: None,
            target_type: "member",
            target_id: Some(member.0),
            before: Some(json!({ "points": balance - delta })),
            after: Some(json!({ "points": balance, "reason": reason.trim() })),
        };
        Ok((Adjusted { delta, balance }, change))
    })
    .await
}
