//! Coupons staff give a member by hand, from the console: a form acted on
//! once and audited. A manager gives only what is within their stores.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::brands::stores::StoreId;
use crate::brands::Brand;
use crate::coupons::{self, Source, TemplateId};
use crate::infra::forms::{self, FormKey};
use crate::members::MemberId;
use crate::staff::audit::Change;
use crate::{Clock, Db, Error, Result};

/// A coupon given by hand: its code, to read out to the member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Granted {
    pub code: String,
    pub template: i64,
}

/// Refuses a template a manager may not give: one for the whole brand or
/// for stores that are not theirs.
/// The active templates `who` may give: all of them for a brand-wide
/// manager, those within their stores otherwise.
pub async fn givable(db: &Db, who: &crate::access::Manager) -> Result<Vec<coupons::Template>> {
    Ok(coupons::templates(db, who.brand().id)
        .await?
        .into_iter()
        .filter(|t| coupons::setup::within(who.scope(), t.stores.as_deref()))
        .collect())
}

pub(crate) async fn may_give(
    db: &Db,
    brand: &Brand,
    scope: Option<&[StoreId]>,
    template: TemplateId,
) -> Result<()> {
    if scope.is_none() {
        return Ok(());
    }
    let mut conn = db.acquire().await?;
    let t = coupons::template(&mut conn, brand.id, template).await?;
    if crate::coupons::setup::within(scope, t.stores.as_deref()) {
        Ok(())
    } else {
        Err(Error::CouponOfferNotFound)
    }
}

/// Gives a member a coupon from a template, by hand.
#[allow(clippy::too_many_arguments)]
pub async fn by_hand(
    db: &Db,
    clock: &dyn Clock,
    who: &crate::access::Manager,
    key: &FormKey,
    member: MemberId,
    template: TemplateId,
) -> Result<Granted> {
    let brand = who.brand();
    may_give(db, brand, who.scope(), template).await?;
    let hash = forms::fingerprint("grant", member.0, &[&template.0.to_string()]);
    forms::once(db, clock, &who.actor(), key, &hash, async |tx| {
        let issued =
            coupons::issue(tx, clock, brand, member, template, Source::Staff, None).await?;
        let change = Change {
            action: "member.grant_coupon",
            store: None,
            target_type: "member",
            target_id: Some(member.0),
            before: None,
            after: Some(json!({ "coupon": issued.coupon.id, "template": template.0 })),
        };
        let code = issued.coupon.code.grouped();
        Ok((
            Granted {
                code,
                template: template.0,
            },
            change,
        ))
    })
    .await
}
