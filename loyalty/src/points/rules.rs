//! A brand's loyalty rules (积分规则) and the pure arithmetic over them: how
//! many points a bill earns, when a lot of points expires, what points are
//! worth at the till. No database here, so the rules are property-tested.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::brands::{Brand, BrandId};
use crate::{Db, Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoyaltyRules {
    /// One point per this many fen paid (100: 1 point per ¥1), rounded down.
    pub earn_fen_per_point: i64,
    /// ISO weekdays (1 = Monday … 7 = Sunday) with bonus points (积分翻倍日).
    pub bonus_weekdays: Vec<i8>,
    /// Dates with bonus points, in the brand's time zone.
    pub bonus_dates: Vec<Date>,
    /// 2000: double points on bonus days.
    pub bonus_multiplier_permille: i64,
    pub signup_bonus_points: i64,
    /// Points expire at the end of the Nth month after the month they were
    /// earned; None: never.
    pub expiry_months: Option<i64>,
    /// This many points pay ¥1 (积分抵现).
    pub redeem_points_per_yuan: i64,
    /// Points may pay at most this share of a bill.
    pub redeem_cap_pct: i64,
    /// The brand's time zone: bonus days and expiry follow its calendar.
    pub time_zone: String,
}

impl Default for LoyaltyRules {
    fn default() -> Self {
        LoyaltyRules {
            earn_fen_per_point: 100,
            bonus_weekdays: Vec::new(),
            bonus_dates: Vec::new(),
            bonus_multiplier_permille: 2000,
            signup_bonus_points: 0,
            expiry_months: Some(12),
            redeem_points_per_yuan: 100,
            redeem_cap_pct: 50,
            time_zone: "Asia/Shanghai".into(),
        }
    }
}

impl LoyaltyRules {
    fn zone(&self) -> TimeZone {
        TimeZone::get(&self.time_zone).unwrap_or(TimeZone::UTC)
    }

    fn local_date(&self, at_ms: i64) -> Option<Date> {
        let ts = Timestamp::from_millisecond(at_ms).ok()?;
        Some(ts.to_zoned(self.zone()).date())
    }

    /// Whether `at_ms` falls on a bonus day in the brand's calendar.
    pub fn is_bonus_day(&self, at_ms: i64) -> bool {
        let Some(date) = self.local_date(at_ms) else {
            return false;
        };
        let weekday = date.weekday().to_monday_one_offset();
        self.bonus_weekdays.contains(&weekday) || self.bonus_dates.contains(&date)
    }

    /// Points a paid bill earns: the base rate, times the member's tier
    /// multiplier, times the bonus-day multiplier, rounded down once at the end.
    pub fn earn_points(&self, paid_fen: i64, tier_multiplier_permille: i64, at_ms: i64) -> i64 {
        if paid_fen <= 0 || self.earn_fen_per_point <= 0 {
            return 0;
        }
        let bonus = if self.is_bonus_day(at_ms) {
            self.bonus_multiplier_permille
        } else {
            1000
        };
        let raw = i128::from(paid_fen) * i128::from(tier_multiplier_permille) * i128::from(bonus);
        let denominator = i128::from(self.earn_fen_per_point) * 1_000_000;
        i64::try_from(raw / denominator).unwrap_or(i64::MAX)
    }

    /// When points earned at `earned_ms` expire: the first instant after the
    /// end of the Nth month after the month of earning, in the brand's zone.
    pub fn lot_expiry(&self, earned_ms: i64) -> Option<i64> {
        let months = self.expiry_months?;
        let date = self.local_date(earned_ms)?;
        let first_of_month = date.first_of_month();
        let expires = first_of_month
            .checked_add(jiff::Span::new().months(months + 1))
            .ok()?;
        let zoned = expires.to_zoned(self.zone()).ok()?;
        Some(zoned.timestamp().as_millisecond())
    }

    /// What `points` pay, in fen (rounded down).
    pub fn redeem_value_fen(&self, points: i64) -> i64 {
        if points <= 0 || self.redeem_points_per_yuan <= 0 {
            return 0;
        }
        let value = i128::from(points) * 100 / i128::from(self.redeem_points_per_yuan);
        i64::try_from(value).unwrap_or(i64::MAX)
    }

    /// The most points may pay of a bill of `bill_fen`.
    pub fn redeem_cap_fen(&self, bill_fen: i64) -> i64 {
        let cap = i128::from(bill_fen.max(0)) * i128::from(self.redeem_cap_pct) / 100;
        i64::try_from(cap).unwrap_or(i64::MAX)
    }
}

/// A moment as a date in a brand's calendar (`2026-11-25`).
pub fn local_date(time_zone: &str, at_ms: i64) -> String {
    let zone = TimeZone::get(time_zone).unwrap_or(TimeZone::UTC);
    Timestamp::from_millisecond(at_ms)
        .map(|ts| ts.to_zoned(zone).date().to_string())
        .unwrap_or_default()
}

/// The start of a calendar day (`2026-11-25`, plus `plus_days`) in a brand's
/// zone, as a moment; None when the text is not a date.
pub fn local_midnight(time_zone: &str, date: &str, plus_days: i64) -> Option<i64> {
    let date: Date = date.trim().parse().ok()?;
    let date = date.checked_add(jiff::Span::new().days(plus_days)).ok()?;
    let zone = TimeZone::get(time_zone).unwrap_or(TimeZone::UTC);
    date.to_zoned(zone)
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

/// The zone's offset from UTC at a moment, in milliseconds (+8 h for Shanghai).
pub fn utc_offset_ms(time_zone: &str, at_ms: i64) -> i64 {
    let zone = TimeZone::get(time_zone).unwrap_or(TimeZone::UTC);
    Timestamp::from_millisecond(at_ms)
        .map(|ts| i64::from(zone.to_offset(ts).seconds()) * 1000)
        .unwrap_or(0)
}

/// A moment as date and time to the second in a brand's calendar
/// (`2026-11-25 12:30:05`).
pub fn local_datetime(time_zone: &str, at_ms: i64) -> String {
    let zone = TimeZone::get(time_zone).unwrap_or(TimeZone::UTC);
    Timestamp::from_millisecond(at_ms)
        .map(|ts| ts.to_zoned(zone).strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// Weekdays as the rules store them: `1,3` → Monday and Wednesday.
fn parse_weekdays(s: &str) -> Vec<i8> {
    s.split(',')
        .filter_map(|d| d.trim().parse::<i8>().ok())
        .filter(|d| (1..=7).contains(d))
        .collect()
}

fn parse_dates(s: &str) -> Vec<Date> {
    s.split(',').filter_map(|d| d.trim().parse().ok()).collect()
}

#[derive(sqlx::FromRow)]
struct RulesRow {
    earn_fen_per_point: i64,
    bonus_weekdays: String,
    bonus_dates: String,
    bonus_multiplier_permille: i64,
    signup_bonus_points: i64,
    expiry_months: Option<i64>,
    redeem_points_per_yuan: i64,
    redeem_cap_pct: i64,
}

/// The brand's rules; a brand without a rules row gets the defaults.
pub async fn load(conn: &mut AnyConnection, brand: &Brand) -> Result<LoyaltyRules> {
    let row: Option<RulesRow> = sqlx::query_as(
        "SELECT earn_fen_per_point, bonus_weekdays, bonus_dates, bonus_multiplier_permille, \
                signup_bonus_points, expiry_months, redeem_points_per_yuan, redeem_cap_pct \
         FROM loyalty_rules WHERE brand_id = $1",
    )
    .bind(brand.id.0)
    .fetch_optional(&mut *conn)
    .await?;
    let time_zone = brand.time_zone.clone();
    Ok(match row {
        None => LoyaltyRules {
            time_zone,
            ..LoyaltyRules::default()
        },
        Some(r) => LoyaltyRules {
            earn_fen_per_point: r.earn_fen_per_point,
            bonus_weekdays: parse_weekdays(&r.bonus_weekdays),
            bonus_dates: parse_dates(&r.bonus_dates),
            bonus_multiplier_permille: r.bonus_multiplier_permille,
            signup_bonus_points: r.signup_bonus_points,
            expiry_months: r.expiry_months,
            redeem_points_per_yuan: r.redeem_points_per_yuan,
            redeem_cap_pct: r.redeem_cap_pct,
            time_zone,
        },
    })
}

/// Replaces a brand's rules (the console's brand setup; tests).
pub async fn save(conn: &mut AnyConnection, brand: BrandId, rules: &LoyaltyRules) -> Result<()> {
    let weekdays = rules
        .bonus_weekdays
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let dates = rules
        .bonus_dates
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(",");
    sqlx::query(
        "UPDATE loyalty_rules SET earn_fen_per_point = $1, bonus_weekdays = $2, bonus_dates = $3, \
             bonus_multiplier_permille = $4, signup_bonus_points = $5, expiry_months = $6, \
             redeem_points_per_yuan = $7, redeem_cap_pct = $8 \
         WHERE brand_id = $9",
    )
    .bind(rules.earn_fen_per_point)
    .bind(weekdays)
    .bind(dates)
    .bind(rules.bonus_multiplier_permille)
    .bind(rules.signup_bonus_points)
    .bind(rules.expiry_months)
    .bind(rules.redeem_points_per_yuan)
    .bind(rules.redeem_cap_pct)
    .bind(brand.0)
    .execute(&mut *conn)
    .await
    .map_err(|e| match crate::error::violation(&e) {
        Some(crate::error::Violation::Check) => {
            Error::invalid("rules", crate::error::Invalid::Format)
        }
        _ => e.into(),
    })?;
    Ok(())
}

/// Creates the default rules for a new brand.
pub(crate) async fn create_defaults(conn: &mut AnyConnection, brand: BrandId) -> Result<()> {
    sqlx::query("INSERT INTO loyalty_rules (brand_id) VALUES ($1)")
        .bind(brand.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn for_brand(db: &Db, brand: &Brand) -> Result<LoyaltyRules> {
    let mut conn = db.pool().acquire().await?;
    load(&mut conn, brand).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// 2026-11-25 12:00 in Shanghai, a Wednesday.
    const WED_NOON_SHANGHAI: i64 = 1_795_579_200_000;

    fn ms(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn one_point_per_yuan_rounded_down() {
        let r = LoyaltyRules::default();
        assert_eq!(r.earn_points(12_399, 1000, WED_NOON_SHANGHAI), 123);
        assert_eq!(r.earn_points(99, 1000, WED_NOON_SHANGHAI), 0);
        assert_eq!(r.earn_points(10_000, 1500, WED_NOON_SHANGHAI), 150);
    }

    #[test]
    fn wednesday_doubles_points_in_the_brands_calendar() {
        let r = LoyaltyRules {
            bonus_weekdays: vec![3],
            ..LoyaltyRules::default()
        };
        assert_eq!(ms("2026-11-25T04:00:00Z"), WED_NOON_SHANGHAI);
        assert_eq!(r.earn_points(10_000, 1000, WED_NOON_SHANGHAI), 200);
        // 23:30 on Tuesday in UTC is already Wednesday in Shanghai.
        assert!(r.is_bonus_day(ms("2026-11-24T16:30:00Z")));
        assert!(!r.is_bonus_day(ms("2026-11-25T16:30:00Z")));
        let dated = LoyaltyRules {
            bonus_dates: vec!["2026-12-25".parse().unwrap()],
            ..LoyaltyRules::default()
        };
        assert!(dated.is_bonus_day(ms("2026-12-25T02:00:00Z")));
    }

    #[test]
    fn lots_expire_at_the_end_of_the_twelfth_month_after_earning() {
        let r = LoyaltyRules::default();
        // Earned 15 March 2026 in Shanghai: good until the end of March 2027.
        let expiry = r.lot_expiry(ms("2026-03-15T04:00:00Z")).unwrap();
        assert_eq!(expiry, ms("2027-03-31T16:00:00Z"));
        let never = LoyaltyRules {
            expiry_months: None,
            ..LoyaltyRules::default()
        };
        assert_eq!(never.lot_expiry(WED_NOON_SHANGHAI), None);
    }

    #[test]
    fn a_hundred_points_pay_one_yuan_up_to_half_the_bill() {
        let r = LoyaltyRules::default();
        assert_eq!(r.redeem_value_fen(250), 250);
        assert_eq!(r.redeem_cap_fen(10_001), 5_000);
        let dear = LoyaltyRules {
            redeem_points_per_yuan: 300,
            ..LoyaltyRules::default()
        };
        assert_eq!(dear.redeem_value_fen(100), 33);
    }

    #[test]
    fn stored_lists_ignore_junk() {
        assert_eq!(parse_weekdays("3, 9,x,7"), vec![3, 7]);
        assert_eq!(parse_dates("2026-12-25,nope").len(), 1);
    }

    proptest! {
        #[test]
        fn earning_is_monotonic_and_never_negative(
            a in 0i64..10_000_000_000, b in 0i64..10_000_000_000,
            tier in 1000i64..=10_000, at in 0i64..4_000_000_000_000,
            weekdays in proptest::collection::vec(1i8..=7, 0..3),
        ) {
            let r = LoyaltyRules { bonus_weekdays: weekdays, ..LoyaltyRules::default() };
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let p_lo = r.earn_points(lo, tier, at);
            let p_hi = r.earn_points(hi, tier, at);
            prop_assert!(p_lo >= 0);
            prop_assert!(p_lo <= p_hi);
            // Never more than the exact product of the rates.
            let exact = (hi as f64 / 100.0) * (tier as f64 / 1000.0) * 2.0;
            prop_assert!((p_hi as f64) <= exact + 1e-6);
        }

        #[test]
        fn a_higher_tier_never_earns_less(amount in 0i64..1_000_000_000, t1 in 1000i64..=10_000, t2 in 1000i64..=10_000, at in 0i64..4_000_000_000_000) {
            let r = LoyaltyRules::default();
            let (lo, hi) = if t1 <= t2 { (t1, t2) } else { (t2, t1) };
            prop_assert!(r.earn_points(amount, lo, at) <= r.earn_points(amount, hi, at));
        }

        #[test]
        fn a_lot_expires_after_it_was_earned(at in 0i64..4_000_000_000_000, months in 1i64..=120) {
            let r = LoyaltyRules { expiry_months: Some(months), ..LoyaltyRules::default() };
            let expiry = r.lot_expiry(at).unwrap();
            prop_assert!(expiry > at);
            // At least N months, at most N+1, later.
            prop_assert!(expiry - at >= months * 28 * 86_400_000);
            prop_assert!(expiry - at <= (months + 1) * 31 * 86_400_000 + 3_600_000);
        }

        #[test]
        fn points_never_pay_more_than_their_value_or_the_cap(points in 0i64..1_000_000_000, bill in 0i64..100_000_000_000) {
            let r = LoyaltyRules::default();
            prop_assert!(r.redeem_value_fen(points) <= points);
            prop_assert!(r.redeem_cap_fen(bill) <= bill);
        }
    }
}
