//! Referrals (推荐有礼, seed 001). Every member has a code behind a link
//! and a QR; a new member who joins through it is linked to the member who
//! invited them. Both get the brand's reward once, after the new member's
//! first purchase (so a burst of sign-ups that never eat earns nothing).
//!
//! A member is referred at most once (unique in the schema), never by
//! themselves, only by an active member of the same brand who joined
//! before them (a CHECK: ids only grow, so no loop of any length can form),
//! and only when they have just joined (the join form's caller sees to it:
//! an existing member following a link is not "new").

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use crate::brands::{Brand, BrandId};
use crate::coupons::{self, Source, TemplateId};
use crate::members::MemberId;
use crate::points::{self, Ref};
use crate::staff::audit::{self, Actor, Change};
use crate::{Clock, Db, Error, Result};

const ALPHABET: &[u8; 30] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A friend who has not eaten within this many days of joining no longer
/// earns the reward (and is no longer looked at every minute).
const PENDING_DAYS: i64 = 180;
const LEN: usize = 8;

/// A referral code as typed or scanned: 8 letters and digits that cannot be
/// mistaken for each other.
pub fn parse_code(s: &str) -> Option<String> {
    let code = s.trim().to_ascii_uppercase();
    (code.len() == LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// The member's code, made the first time it is asked for.
pub async fn code_for(db: &Db, brand: BrandId, member: MemberId) -> Result<String> {
    for _ in 0..8 {
        let current: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT referral_code FROM members WHERE brand_id = $1 AND id = $2 AND status = 'active'",
        )
        .bind(brand.0)
        .bind(member.0)
        .fetch_optional(db.pool())
        .await?;
        match current {
            None => return Err(Error::MemberNotFound),
            Some((Some(code),)) => return Ok(code),
            Some((None,)) => {}
        }
        let code: String = {
            let mut rng = rand::rngs::OsRng;
            (0..LEN)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect()
        };
        // Another tab may set one first; a collision with another member's
        // code (about never) fails the unique index: either way, look again.
        let set = sqlx::query(
            "UPDATE members SET referral_code = $1 WHERE brand_id = $2 AND id = $3 AND referral_code IS NULL",
        )
        .bind(&code)
        .bind(brand.0)
        .bind(member.0)
        .execute(db.pool())
        .await;
        match set {
            Ok(_) => {}
            Err(e) if crate::error::violation(&e) == Some(crate::error::Violation::Unique) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::CouponCodeExhausted)
}

/// Why a link was not made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    Linked,
    /// No active member of this brand has that code.
    UnknownCode,
    /// The code is the new member's own.
    SelfReferral,
    /// Already referred (by this or another member), or a phone that had
    /// its welcome before joining again.
    AlreadyReferred,
}

/// Links a member who has just joined to the member whose code brought them.
pub async fn link(
    db: &Db,
    clock: &dyn Clock,
    brand: BrandId,
    referred: MemberId,
    code: &str,
) -> Result<Linked> {
    let Some(code) = parse_code(code) else {
        return Ok(Linked::UnknownCode);
    };
    let referrer: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM members WHERE brand_id = $1 AND referral_code = $2 AND status = 'active'",
    )
    .bind(brand.0)
    .bind(&code)
    .fetch_optional(db.pool())
    .await?;
    let Some((referrer,)) = referrer else {
        return Ok(Linked::UnknownCode);
    };
    if referrer == referred.0 {
        return Ok(Linked::SelfReferral);
    }
    // Who invites must have joined first (the schema checks it too).
    if referrer > referred.0 {
        return Ok(Linked::AlreadyReferred);
    }
    let made = sqlx::query(
        "INSERT INTO referrals (brand_id, referrer_id, referred_id, created_at) \
         SELECT $1, $2, $3, $4 WHERE NOT EXISTS \
           (SELECT 1 FROM referrals WHERE referrer_id = $3 AND referred_id = $2) \
           AND EXISTS (SELECT 1 FROM members WHERE id = $3 AND welcomed = 1) \
         ON CONFLICT (referred_id) DO NOTHING",
    )
    .bind(brand.0)
    .bind(referrer)
    .bind(referred.0)
    .bind(clock.now_ms())
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok(if made == 1 {
        Linked::Linked
    } else {
        Linked::AlreadyReferred
    })
}

/// The brand's referral reward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Reward {
    pub referrer_points: i64,
    pub friend_points: i64,
    pub friend_coupon: Option<TemplateId>,
}

impl Reward {
    pub fn is_on(&self) -> bool {
        self.referrer_points > 0 || self.friend_points > 0 || self.friend_coupon.is_some()
    }
}

pub async fn reward(conn: &mut AnyConnection, brand: BrandId) -> Result<Reward> {
    let row: Option<(i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT referral_referrer_points, referral_friend_points, referral_coupon \
         FROM loyalty_rules WHERE brand_id = $1",
    )
    .bind(brand.0)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row
        .map(|(r, f, c)| Reward {
            referrer_points: r,
            friend_points: f,
            friend_coupon: c.map(TemplateId),
        })
        .unwrap_or_default())
}

/// Changes the reward (owners, in the console), with its audit row.
pub async fn set_reward(
    db: &Db,
    clock: &dyn Clock,
    who: &crate::access::Owner,
    new: Reward,
) -> Result<()> {
    set_reward_by(db, clock, &who.actor(), new).await
}

/// The same, for the command line's demo seeding.
pub(crate) async fn set_reward_by(
    db: &Db,
    clock: &dyn Clock,
    actor: &Actor,
    new: Reward,
) -> Result<()> {
    for (field, p) in [
        ("referral_referrer_points", new.referrer_points),
        ("referral_friend_points", new.friend_points),
    ] {
        if !(0..=100_000).contains(&p) {
            return Err(Error::invalid(field, crate::error::Invalid::Format));
        }
    }
    let mut tx = db.begin().await?;
    if let Some(t) = new.friend_coupon {
        coupons::template(&mut tx, actor.brand, t).await?;
    }
    let before = reward(&mut tx, actor.brand).await?;
    sqlx::query(
        "UPDATE loyalty_rules SET referral_referrer_points = $1, referral_friend_points = $2, \
         referral_coupon = $3 WHERE brand_id = $4",
    )
    .bind(new.referrer_points)
    .bind(new.friend_points)
    .bind(new.friend_coupon.map(|t| t.0))
    .bind(actor.brand.0)
    .execute(&mut *tx)
    .await?;
    let change = Change::brand_setting("brand.referral", actor.brand, json!(before), json!(new));
    audit::record(&mut tx, clock, actor, change).await?;
    tx.commit().await?;
    Ok(())
}

/// Rewards every referral whose friend has made a first purchase (one not
/// refunded in full, within 180 days of joining): each referral once (a
/// conditional update claims it in the transaction that gives the points).
/// Returns how many were rewarded.
pub async fn reward_due(db: &Db, clock: &dyn Clock, brand: &Brand) -> Result<u64> {
    let due: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT r.id, r.referrer_id, r.referred_id FROM referrals r \
         WHERE r.brand_id = $1 AND r.rewarded_at IS NULL AND r.created_at > $2 \
           AND EXISTS (SELECT 1 FROM purchases p \
                       WHERE p.member_id = r.referred_id AND p.amount_fen > p.refunded_fen) \
         ORDER BY r.id LIMIT 1000",
    )
    .bind(brand.id.0)
    .bind(clock.now_ms() - PENDING_DAYS * 24 * 60 * 60 * 1000)
    .fetch_all(db.pool())
    .await?;
    let mut rewarded = 0;
    for (id, referrer, friend) in due {
        let mut tx = db.begin().await?;
        let claimed = sqlx::query(
            "UPDATE referrals SET rewarded_at = $1 WHERE id = $2 AND rewarded_at IS NULL",
        )
        .bind(clock.now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed != 1 {
            continue;
        }
        let reward = reward(&mut tx, brand.id).await?;
        let active: Vec<(i64,)> = sqlx::query_as(
            "SELECT id FROM members WHERE brand_id = $1 AND id IN ($2, $3) AND status = 'active'",
        )
        .bind(brand.id.0)
        .bind(referrer)
        .bind(friend)
        .fetch_all(&mut *tx)
        .await?;
        let is_active = |m: i64| active.iter().any(|a| a.0 == m);
        for (member, p) in [
            (referrer, reward.referrer_points),
            (friend, reward.friend_points),
        ] {
            if p > 0 && is_active(member) {
                points::grant(
                    &mut tx,
                    clock,
                    brand,
                    MemberId(member),
                    p,
                    "referral",
                    Ref::new("referral", id),
                )
                .await?;
            }
        }
        if let Some(t) = reward.friend_coupon.filter(|_| is_active(friend)) {
            let key = format!("referral:{id}");
            match coupons::issue(
                &mut tx,
                clock,
                brand,
                MemberId(friend),
                t,
                Source::Referral,
                Some(&key),
            )
            .await
            {
                Ok(_)
                | Err(
                    Error::CouponOutOfStock
                    | Error::CouponLimitReached
                    | Error::CouponNotOffered
                    | Error::CouponRefused(_),
                ) => {}
                Err(e) => return Err(e),
            }
        }
        tx.commit().await?;
        rewarded += 1;
    }
    Ok(rewarded)
}

/// What the invite page shows: friends who joined, and those rewarded.
pub async fn stats(db: &Db, brand: BrandId, member: MemberId) -> Result<(i64, i64)> {
    let (joined, rewarded): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT), \
                CAST(COALESCE(SUM(CASE WHEN rewarded_at IS NULL THEN 0 ELSE 1 END), 0) AS BIGINT) \
         FROM referrals WHERE brand_id = $1 AND referrer_id = $2",
    )
    .bind(brand.0)
    .bind(member.0)
    .fetch_one(db.pool())
    .await?;
    Ok((joined, rewarded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_forgivingly_and_strictly() {
        assert_eq!(parse_code(" ab23cd45 ").as_deref(), Some("AB23CD45"));
        assert_eq!(parse_code("AB23CD4"), None);
        assert_eq!(parse_code("AB23CD4O"), None, "no O, it looks like 0");
        assert_eq!(parse_code("'; DROP--"), None);
    }
}
