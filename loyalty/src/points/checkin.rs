//! Check-in (签到, seed 002): a member taps once a day in the portal and
//! gets the brand's points; every completed streak of N days in a row adds
//! a bonus. Once per member and day of the brand's calendar: the row
//! `(brand, member, day)` is claimed with one conditional insert, so a
//! double tap or two tabs give the points once.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use crate::brands::{Brand, BrandId};
use crate::error::Invalid;
use crate::members::MemberId;
use crate::points::rules::local_date;
use crate::points::{self, Ref};
use crate::staff::audit::{self, Actor, Change};
use crate::{Clock, Db, Error, Result};

/// A brand's check-in reward; 0 points a day: check-in is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub points: i64,
    pub streak_days: i64,
    pub streak_bonus: i64,
}

impl Default for Rule {
    fn default() -> Self {
        Rule {
            points: 0,
            streak_days: 7,
            streak_bonus: 0,
        }
    }
}

impl Rule {
    pub fn is_on(&self) -> bool {
        self.points > 0
    }

    /// The points for the `streak`-th day in a row.
    pub fn points_for(&self, streak: i64) -> (i64, i64) {
        let bonus = if streak > 0 && streak % self.streak_days.max(1) == 0 {
            self.streak_bonus
        } else {
            0
        };
        (self.points, bonus)
    }

    fn check(&self) -> Result<()> {
        if !(0..=10_000).contains(&self.points) {
            return Err(Error::invalid("checkin_points", Invalid::Format));
        }
        if !(2..=31).contains(&self.streak_days) {
            return Err(Error::invalid("checkin_streak_days", Invalid::Format));
        }
        if !(0..=100_000).contains(&self.streak_bonus) {
            return Err(Error::invalid("checkin_streak_bonus", Invalid::Format));
        }
        Ok(())
    }
}

pub async fn rule(conn: &mut AnyConnection, brand: BrandId) -> Result<Rule> {
    let row: Option<(i64, i64, i64)> = sqlx::query_as(
        "SELECT checkin_points, checkin_streak_days, checkin_streak_bonus FROM loyalty_rules WHERE brand_id = $1",
    )
    .bind(brand.0)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(Rule::stored(row))
}

impl Rule {
    /// The rule of a brand's `loyalty_rules` row (points, streak days,
    /// streak bonus); a brand without one has the default (off).
    pub(crate) fn stored(row: Option<(i64, i64, i64)>) -> Rule {
        row.map(|(points, streak_days, streak_bonus)| Rule {
            points,
            streak_days,
            streak_bonus,
        })
        .unwrap_or_default()
    }
}

/// Changes the reward (owners, in the console), with its audit row.
pub async fn set_rule(
    db: &Db,
    clock: &dyn Clock,
    who: &crate::access::Owner,
    new: Rule,
) -> Result<()> {
    set_rule_by(db, clock, &who.actor(), new).await
}

/// The same, for the command line's demo seeding.
pub(crate) async fn set_rule_by(
    db: &Db,
    clock: &dyn Clock,
    actor: &Actor,
    new: Rule,
) -> Result<()> {
    new.check()?;
    let mut tx = db.begin().await?;
    let before = rule(&mut tx, actor.brand).await?;
    sqlx::query(
        "UPDATE loyalty_rules SET checkin_points = $1, checkin_streak_days = $2, checkin_streak_bonus = $3 \
         WHERE brand_id = $4",
    )
    .bind(new.points)
    .bind(new.streak_days)
    .bind(new.streak_bonus)
    .bind(actor.brand.0)
    .execute(&mut *tx)
    .await?;
    let change = Change::brand_setting("brand.checkin", actor.brand, json!(before), json!(new));
    audit::record(&mut tx, clock, actor, change).await?;
    tx.commit().await?;
    Ok(())
}

/// Where a member stands today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Today {
    pub rule: Rule,
    /// Checked in today already.
    pub done: bool,
    /// Days in a row up to today (or yesterday, when not yet today).
    pub streak: i64,
}

async fn streak_on(
    conn: &mut AnyConnection,
    brand: BrandId,
    member: MemberId,
    day: &str,
) -> Result<Option<i64>> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT streak FROM checkins WHERE brand_id = $1 AND member_id = $2 AND local_day = $3",
    )
    .bind(brand.0)
    .bind(member.0)
    .bind(day)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.0))
}

fn yesterday(brand: &Brand, now: i64) -> String {
    let today = local_date(&brand.time_zone, now);
    crate::points::rules::local_midnight(&brand.time_zone, &today, -1)
        .map(|ms| local_date(&brand.time_zone, ms))
        .unwrap_or_default()
}

impl Today {
    /// Where a member stands under `rule`, from their check-ins of today
    /// and of yesterday (the streak each made), if any.
    pub(crate) fn of(rule: Rule, today: Option<i64>, yesterday: Option<i64>) -> Today {
        match today {
            Some(streak) => Today {
                rule,
                done: true,
                streak,
            },
            None => Today {
                rule,
                done: false,
                streak: yesterday.unwrap_or(0),
            },
        }
    }
}

/// Today and yesterday in the brand's calendar, at `now`.
pub(crate) fn days(brand: &Brand, now: i64) -> (String, String) {
    (local_date(&brand.time_zone, now), yesterday(brand, now))
}

/// What a check-in gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckedIn {
    pub streak: i64,
    pub points: i64,
    pub bonus: i64,
    pub points_balance: i64,
    /// Already checked in today: nothing new was given.
    pub repeated: bool,
}

pub async fn check_in(
    db: &Db,
    clock: &dyn Clock,
    who: &crate::access::Member,
) -> Result<CheckedIn> {
    let (brand, member) = (who.brand(), who.id());
    let mut tx = db.begin().await?;
    let rule = rule(&mut tx, brand.id).await?;
    if !rule.is_on() {
        return Err(Error::CheckInOff);
    }
    points::lock_member(&mut tx, brand.id, member).await?;
    let now = clock.now_ms();
    let day = local_date(&brand.time_zone, now);
    let streak = streak_on(&mut tx, brand.id, member, &yesterday(brand, now))
        .await?
        .unwrap_or(0)
        + 1;
    let (points, bonus) = rule.points_for(streak);
    let row: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO checkins (brand_id, member_id, local_day, streak, points, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (brand_id, member_id, local_day) DO NOTHING RETURNING id",
    )
    .bind(brand.id.0)
    .bind(member.0)
    .bind(&day)
    .bind(streak)
    .bind(points + bonus)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id,)) = row else {
        let (earlier, given): (i64, i64) = sqlx::query_as(
            "SELECT streak, points FROM checkins WHERE brand_id = $1 AND member_id = $2 AND local_day = $3",
        )
        .bind(brand.id.0)
        .bind(member.0)
        .bind(&day)
        .fetch_one(&mut *tx)
        .await?;
        let (balance, _) = points::member_state(&mut tx, brand.id, member).await?;
        return Ok(CheckedIn {
            streak: earlier,
            points: given,
            bonus: 0,
            points_balance: balance,
            repeated: true,
        });
    };
    let mut balance = 0;
    for (amount, reason) in [(points, "check-in"), (bonus, "check-in streak")] {
        if amount > 0 {
            balance = points::grant(
                &mut tx,
                clock,
                brand,
                member,
                amount,
                reason,
                Ref::new("checkin", id),
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(CheckedIn {
        streak,
        points,
        bonus,
        points_balance: balance,
        repeated: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_completed_streak_earns_the_bonus() {
        let r = Rule {
            points: 5,
            streak_days: 7,
            streak_bonus: 20,
        };
        assert_eq!(r.points_for(1), (5, 0));
        assert_eq!(r.points_for(6), (5, 0));
        assert_eq!(r.points_for(7), (5, 20));
        assert_eq!(r.points_for(14), (5, 20));
        assert!(!Rule::default().is_on());
    }
}
