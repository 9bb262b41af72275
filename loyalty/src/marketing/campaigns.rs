//! Campaigns: one coupon for every member of a segment. A small one (a
//! console filter, at most [`MAX_SEGMENT`] members) is given while the form
//! waits; a large one (an RFM segment) is queued and given by the scheduler
//! a batch at a time. Each has a report of what it gave and brought back.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::brands::{Brand, BrandId};
use crate::coupons::{self, grants::may_give, Source, TemplateId};
use crate::infra::forms::{self, FormKey};
use crate::members::roster::{self, Filter};
use crate::members::MemberId;
use crate::staff::audit::{self, Actor, Change};
use crate::{Clock, Db, Error, Result};

/// At most this many members get a coupon from one segment form; a larger
/// campaign belongs to the scheduled jobs of the marketing work.
pub const MAX_SEGMENT: i64 = 5_000;

/// What giving a segment a coupon did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentOutcome {
    pub matched: i64,
    pub issued: i64,
    /// Members the template's limits or tier kept out, or who had it already.
    pub skipped: i64,
    pub out_of_stock: bool,
}

/// Gives every member matching `filter` one coupon of `template` (a small
/// campaign); see [`grant_to_members`].
#[allow(clippy::too_many_arguments)]
pub async fn grant_to_segment(
    db: &Db,
    clock: &dyn Clock,
    who: &crate::access::Manager,
    key: &FormKey,
    filter: &Filter,
    template: TemplateId,
) -> Result<SegmentOutcome> {
    let brand = who.brand();
    let actor = &who.actor();
    let scope = who.scope();
    may_give(db, brand, scope, template).await?;
    let audience = serde_json::to_string(filter).expect("a filter serializes");
    let described = filter.described().to_string();
    grant_to_members(
        db,
        clock,
        brand,
        actor,
        key,
        &audience,
        &described,
        template,
        |db| async move {
            let (members, more) =
                roster::matching(db, clock, brand.id, filter, 0, MAX_SEGMENT).await?;
            Ok((members.into_iter().map(|m| m.id).collect(), more))
        },
    )
    .await
}

/// Gives each member `members` finds one coupon of `template`: a campaign,
/// recorded in `campaigns` for its report. The form's key is claimed first,
/// in its own transaction, with the audience the form named; each member's
/// coupon carries the key as its request key. So sending the form again
/// gives nobody a second coupon, sending it again with another audience is
/// refused before anything is issued, and a run cut short finishes when the
/// form is sent again. Each batch of members is audited with the batch.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn grant_to_members<'a, F, Fut>(
    db: &'a Db,
    clock: &'a dyn Clock,
    brand: &Brand,
    actor: &Actor,
    key: &FormKey,
    audience: &str,
    described: &str,
    template: TemplateId,
    members: F,
) -> Result<SegmentOutcome>
where
    F: FnOnce(&'a Db) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<MemberId>, bool)>>,
{
    let staff = actor.staff.ok_or(Error::StaffNotFound)?;
    let hash = forms::fingerprint("segment", template.0, &[audience]);
    let request = format!("segment:{}", key.as_str());
    let mut tx = db.begin().await?;
    match forms::claim::<SegmentOutcome>(&mut tx, clock, staff, key, &hash).await {
        Ok(Some(done)) => return Ok(done),
        // Fresh: claimed. In progress: a run cut short (or still going);
        // going through the members again is safe, their request keys see
        // to it.
        Ok(None) | Err(Error::RequestInProgress) => {}
        Err(e) => return Err(e),
    }
    sqlx::query(
        "INSERT INTO campaigns (brand_id, request_key, template_id, audience, staff_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (request_key) DO NOTHING",
    )
    .bind(brand.id.0)
    .bind(&request)
    .bind(template.0)
    .bind(described.chars().take(200).collect::<String>())
    .bind(staff.0)
    .bind(clock.now_ms())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let (members, more) = members(db).await?;
    if more {
        return Err(Error::invalid(
            "segment",
            crate::error::Invalid::TooLong {
                max: MAX_SEGMENT as usize,
            },
        ));
    }
    let mut out = SegmentOutcome {
        matched: members.len() as i64,
        issued: 0,
        skipped: 0,
        out_of_stock: false,
    };
    for chunk in members.chunks(100) {
        let mut tx = db.begin().await?;
        let mut issued = 0;
        for m in chunk {
            match coupons::issue(
                &mut tx,
                clock,
                brand,
                *m,
                template,
                Source::Campaign,
                Some(&request),
            )
            .await
            {
                Ok(i) if !i.repeated => issued += 1,
                Ok(_) => out.skipped += 1,
                Err(Error::CouponOutOfStock) => {
                    out.out_of_stock = true;
                    break;
                }
                Err(Error::CouponLimitReached | Error::CouponRefused(_)) => out.skipped += 1,
                Err(e) => return Err(e),
            }
        }
        if issued > 0 {
            let change = Change {
                action: "segment.grant_coupon",
                store: None,
                target_type: "coupon_template",
                target_id: Some(template.0),
                before: None,
                after: Some(json!({ "audience": described, "issued": issued })),
            };
            audit::record(&mut tx, clock, actor, change).await?;
        }
        tx.commit().await?;
        out.issued += issued;
        if out.out_of_stock {
            out.skipped = out.matched - out.issued;
            break;
        }
    }
    let mut tx = db.begin().await?;
    forms::settle(&mut tx, staff, key, &out).await?;
    tx.commit().await?;
    Ok(out)
}

/// Queues a campaign: one coupon of `template` for every member of an RFM
/// segment (over `window_days`), however many. The form's key, the
/// campaign and its members are written in one transaction, so a resent
/// form finds the same campaign; the scheduler then gives the coupons a
/// batch at a time ([`run_queued`]). Returns the campaign's id.
#[allow(clippy::too_many_arguments)]
pub async fn queue_rfm(
    db: &Db,
    clock: &dyn Clock,
    who: &crate::access::Manager,
    key: &FormKey,
    segment: crate::marketing::insight::Segment,
    window_days: i64,
    template: TemplateId,
) -> Result<i64> {
    let brand = who.brand();
    let actor = &who.actor();
    let staff = actor.staff.ok_or(Error::StaffNotFound)?;
    may_give(db, brand, who.scope(), template).await?;
    let audience = format!("rfm:{}:{window_days}", segment.as_str());
    let hash = forms::fingerprint("segment", template.0, &[&audience]);
    // Worked out before the transaction: it reads every purchase.
    let rfm = crate::marketing::insight::rfm(db, clock, brand.id, window_days).await?;
    let members: Vec<i64> = rfm
        .members
        .iter()
        .filter(|m| m.segment == segment)
        .map(|m| m.member_id)
        .collect();
    forms::once(db, clock, actor, key, &hash, async |tx| {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO campaigns (brand_id, request_key, template_id, audience, staff_id, created_at, state, total) \
         VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7) RETURNING id",
    )
    .bind(brand.id.0)
    .bind(format!("segment:{}", key.as_str()))
    .bind(template.0)
    .bind(&audience)
    .bind(staff.0)
    .bind(clock.now_ms())
    .bind(members.len() as i64)
    .fetch_one(&mut *tx)
    .await?;
    for chunk in members.chunks(500) {
        // Ids are numbers: they go into the statement as they are.
        let values = chunk
            .iter()
            .map(|m| format!("({id}, {m})"))
            .collect::<Vec<_>>()
            .join(",");
        sqlx::query(&format!(
            "INSERT INTO campaign_members (campaign_id, member_id) VALUES {values}"
        ))
        .execute(&mut *tx)
        .await?;
    }
    let change = Change {
        action: "campaign.queue",
        store: None,
        target_type: "coupon_template",
        target_id: Some(template.0),
        before: None,
        after: Some(json!({ "audience": audience, "members": members.len() })),
    };
    Ok((id, change))
    })
    .await
}

/// Gives queued campaigns' coupons, 200 members per transaction, until
/// `budget` has passed (the rest waits for the next minute). Each member is
/// given once: the row leaves `pending` in the transaction that issues the
/// coupon, and the coupon carries the campaign's request key. Returns the
/// coupons issued.
pub async fn run_queued(
    db: &Db,
    clock: &dyn Clock,
    brand: &Brand,
    budget: std::time::Duration,
) -> Result<u64> {
    let started = std::time::Instant::now();
    let queued: Vec<(i64, i64, String, i64)> = sqlx::query_as(
        "SELECT id, template_id, request_key, staff_id FROM campaigns \
         WHERE brand_id = $1 AND state = 'queued' ORDER BY id",
    )
    .bind(brand.id.0)
    .fetch_all(db.pool())
    .await?;
    let mut given = 0;
    for (campaign, template, request, staff) in queued {
        let actor = Actor {
            brand: brand.id,
            staff: Some(crate::staff::StaffId(staff)),
            ip: None,
        };
        loop {
            if started.elapsed() > budget {
                return Ok(given);
            }
            let pending: Vec<(i64, String)> = sqlx::query_as(
                "SELECT c.member_id, m.status FROM campaign_members c JOIN members m ON m.id = c.member_id \
                 WHERE c.campaign_id = $1 AND c.state = 'pending' ORDER BY c.member_id LIMIT 200",
            )
            .bind(campaign)
            .fetch_all(db.pool())
            .await?;
            if pending.is_empty() {
                sqlx::query(
                    "UPDATE campaigns SET state = 'done', finished_at = $1 WHERE id = $2 AND state = 'queued'",
                )
                .bind(clock.now_ms())
                .bind(campaign)
                .execute(db.pool())
                .await?;
                break;
            }
            let mut tx = db.begin().await?;
            let mut issued = 0;
            let mut out_of_stock = false;
            for (member, status) in &pending {
                let state = if status != "active" {
                    // Erased since the campaign was queued.
                    "skipped"
                } else {
                    match coupons::issue(
                        &mut tx,
                        clock,
                        brand,
                        MemberId(*member),
                        TemplateId(template),
                        Source::Campaign,
                        Some(&request),
                    )
                    .await
                    {
                        Ok(i) if !i.repeated => {
                            issued += 1;
                            "issued"
                        }
                        Ok(_) => "issued",
                        Err(Error::CouponOutOfStock) => {
                            out_of_stock = true;
                            break;
                        }
                        Err(
                            Error::CouponLimitReached
                            | Error::CouponRefused(_)
                            | Error::CouponNotOffered
                            | Error::MemberNotFound,
                        ) => "skipped",
                        Err(e) => return Err(e),
                    }
                };
                sqlx::query(
                    "UPDATE campaign_members SET state = $1 \
                     WHERE campaign_id = $2 AND member_id = $3 AND state = 'pending'",
                )
                .bind(state)
                .bind(campaign)
                .bind(member)
                .execute(&mut *tx)
                .await?;
            }
            if out_of_stock {
                sqlx::query(
                    "UPDATE campaign_members SET state = 'skipped' WHERE campaign_id = $1 AND state = 'pending'",
                )
                .bind(campaign)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE campaigns SET state = 'done', out_of_stock = 1, finished_at = $1 \
                     WHERE id = $2 AND state = 'queued'",
                )
                .bind(clock.now_ms())
                .bind(campaign)
                .execute(&mut *tx)
                .await?;
            }
            if issued > 0 {
                let change = Change {
                    action: "segment.grant_coupon",
                    store: None,
                    target_type: "coupon_template",
                    target_id: Some(template),
                    before: None,
                    after: Some(json!({ "campaign": campaign, "issued": issued })),
                };
                audit::record(&mut tx, clock, &actor, change).await?;
            }
            tx.commit().await?;
            given += issued;
            if out_of_stock {
                break;
            }
        }
    }
    Ok(given)
}

/// A campaign's report: what it gave and what that brought back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignReport {
    pub id: i64,
    pub audience: String,
    pub template: TemplateId,
    pub created_at: i64,
    pub issued: i64,
    pub redeemed: i64,
    /// The bills the coupons were redeemed against, and their discounts.
    pub bills_fen: i64,
    pub discount_fen: i64,
    /// Still being given by the scheduler: (members done, members in all).
    pub progress: Option<(i64, i64)>,
    pub out_of_stock: bool,
}

/// The brand's latest campaigns, newest first.
pub async fn latest(db: &Db, brand: BrandId, limit: i64) -> Result<Vec<CampaignReport>> {
    type Row = (
        i64,
        String,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        String,
        i64,
        i64,
        i64,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT c.id, c.audience, c.template_id, c.created_at, \
           (SELECT CAST(COUNT(*) AS BIGINT) FROM coupons k \
             WHERE k.brand_id = c.brand_id AND k.request_key = c.request_key), \
           CAST(COUNT(r.id) AS BIGINT), \
           CAST(COALESCE(SUM(r.bill_fen), 0) AS BIGINT), CAST(COALESCE(SUM(r.discount_fen), 0) AS BIGINT), \
           c.state, c.total, c.out_of_stock, \
           (SELECT CAST(COUNT(*) AS BIGINT) FROM campaign_members m \
             WHERE m.campaign_id = c.id AND m.state <> 'pending') \
         FROM campaigns c \
         LEFT JOIN coupons k ON k.brand_id = c.brand_id AND k.request_key = c.request_key \
         LEFT JOIN coupon_redemptions r ON r.coupon_id = k.id AND r.status = 'active' \
         WHERE c.brand_id = $1 \
         GROUP BY c.id, c.audience, c.template_id, c.created_at, c.brand_id, c.request_key, \
                  c.state, c.total, c.out_of_stock \
         ORDER BY c.id DESC LIMIT $2",
    )
    .bind(brand.0)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                audience,
                template,
                created_at,
                issued,
                redeemed,
                bills_fen,
                discount_fen,
                state,
                total,
                out_of_stock,
                done,
            )| {
                CampaignReport {
                    progress: (state == "queued").then_some((done, total)),
                    out_of_stock: out_of_stock != 0,
                    id,
                    audience,
                    template: TemplateId(template),
                    created_at,
                    issued,
                    redeemed,
                    bills_fen,
                    discount_fen,
                }
            },
        )
        .collect())
}
