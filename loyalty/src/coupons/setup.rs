//! Coupon templates as the console makes them: owners for the whole brand,
//! managers only for their own stores. Each change is audited.

use serde_json::json;
use sqlx::AnyConnection;

use crate::brands::stores::StoreId;
use crate::coupons::{self, NewTemplate, Template, TemplateId};
use crate::error::Invalid;
use crate::staff::audit::{self, Change};
use crate::{Clock, Error, Result};

/// Whether a template limited to `stores` (None: every store) is within a
/// manager's `scope` (None: an owner, everything): what a manager may make,
/// pause, and give to members.
pub fn within(scope: Option<&[StoreId]>, stores: Option<&[StoreId]>) -> bool {
    match (scope, stores) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(mine), Some(theirs)) => theirs.iter().all(|s| mine.contains(s)),
    }
}

pub async fn create(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    who: &crate::access::Manager,
    t: &NewTemplate,
) -> Result<TemplateId> {
    let actor = &who.actor();
    let scope = who.scope();
    if !within(scope, t.stores.as_deref()) {
        return Err(Error::invalid("stores", Invalid::Format));
    }
    let id = coupons::create_template(conn, clock, actor.brand, t).await?;
    let change = Change {
        action: "coupon_template.create",
        store: None,
        target_type: "coupon_template",
        target_id: Some(id.0),
        before: None,
        after: Some(json!({
            "kind": t.rule.kind.as_str(),
            "threshold_fen": t.rule.threshold_fen,
            "amount_off_fen": t.rule.amount_off_fen,
            "percent_off": t.rule.percent_off,
            "stores": t.stores.as_ref().map(|s| s.iter().map(|x| x.0).collect::<Vec<_>>()),
            "stock_total": t.stock_total,
            "claimable": t.claimable,
            "points_price": t.points_price,
        })),
    };
    audit::record(conn, clock, actor, change).await?;
    Ok(id)
}

pub async fn set_active(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    who: &crate::access::Manager,
    id: TemplateId,
    active: bool,
) -> Result<Template> {
    let actor = &who.actor();
    let scope = who.scope();
    let t = coupons::template(conn, actor.brand, id).await?;
    if !within(scope, t.stores.as_deref()) {
        return Err(Error::CouponOfferNotFound);
    }
    coupons::set_template_active(conn, actor.brand, id, active).await?;
    let change = Change {
        action: if active {
            "coupon_template.resume"
        } else {
            "coupon_template.pause"
        },
        store: None,
        target_type: "coupon_template",
        target_id: Some(id.0),
        before: Some(json!({ "active": t.active })),
        after: Some(json!({ "active": active })),
    };
    audit::record(conn, clock, actor, change).await?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managers_make_templates_only_for_their_stores() {
        let (a, b) = (StoreId(1), StoreId(2));
        assert!(within(None, None));
        assert!(within(None, Some(&[a])));
        assert!(
            !within(Some(&[a]), None),
            "a brand-wide coupon is the owner's call"
        );
        assert!(within(Some(&[a, b]), Some(&[a])));
        assert!(!within(Some(&[a]), Some(&[a, b])));
    }
}
