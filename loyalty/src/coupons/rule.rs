//! A coupon's rule and the pure arithmetic over it: what it takes off a bill
//! and when in the week it may be used. How it reads ("满200减50") is the
//! pages' business (`app::coupon_text`, from the locale files). No database
//! here, so the rules are property-tested.

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::Invalid;
use crate::money::Fen;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// 满减: an amount off a bill of at least the threshold.
    AmountOff,
    /// 折扣: a percentage off, optionally capped.
    PercentOff,
    /// 代金券: an amount off, like cash.
    Voucher,
    /// 赠品: a named free item; nothing off the bill, the item is for staff to hand over.
    Gift,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::AmountOff => "amount_off",
            Kind::PercentOff => "percent_off",
            Kind::Voucher => "voucher",
            Kind::Gift => "gift",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        [Kind::AmountOff, Kind::PercentOff, Kind::Voucher, Kind::Gift]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub kind: Kind,
    /// The bill must be at least this much, in fen (满200 → 20000).
    pub threshold_fen: i64,
    /// 满减 and 代金券: what comes off, in fen.
    pub amount_off_fen: Option<i64>,
    /// 折扣: percent off (20 → 8折).
    pub percent_off: Option<i64>,
    /// 折扣: the most it takes off, in fen.
    pub max_off_fen: Option<i64>,
    /// 赠品: the item.
    pub gift_item: Option<String>,
    /// ISO weekdays it may be used on (1 = Monday … 7 = Sunday); empty: every day.
    pub weekdays: Vec<i8>,
    /// Minutes after midnight it may be used from and until; None: all day.
    pub minutes: Option<(i64, i64)>,
}

/// Whether the moment of use falls inside the rule's weekly window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Open,
    WrongDay,
    TooEarly { from_minute: i64 },
    TooLate { until_minute: i64 },
}

impl Rule {
    pub fn amount_off(threshold_fen: i64, off_fen: i64) -> Rule {
        Rule {
            threshold_fen,
            amount_off_fen: Some(off_fen),
            ..Rule::base(Kind::AmountOff)
        }
    }

    pub fn percent_off(percent: i64, max_off_fen: Option<i64>) -> Rule {
        Rule {
            percent_off: Some(percent),
            max_off_fen,
            ..Rule::base(Kind::PercentOff)
        }
    }

    pub fn voucher(off_fen: i64) -> Rule {
        Rule {
            amount_off_fen: Some(off_fen),
            ..Rule::base(Kind::Voucher)
        }
    }

    pub fn gift(item: &str) -> Rule {
        Rule {
            gift_item: Some(item.to_owned()),
            ..Rule::base(Kind::Gift)
        }
    }

    fn base(kind: Kind) -> Rule {
        Rule {
            kind,
            threshold_fen: 0,
            amount_off_fen: None,
            percent_off: None,
            max_off_fen: None,
            gift_item: None,
            weekdays: Vec::new(),
            minutes: None,
        }
    }

    /// Only on these weekdays (1 = Monday).
    pub fn on_weekdays(mut self, days: &[i8]) -> Rule {
        self.weekdays = days.to_vec();
        self
    }

    /// Only between these times of day (minutes after midnight).
    pub fn between(mut self, from_minute: i64, until_minute: i64) -> Rule {
        self.minutes = Some((from_minute, until_minute));
        self
    }

    pub fn with_threshold(mut self, threshold_fen: i64) -> Rule {
        self.threshold_fen = threshold_fen;
        self
    }

    /// The same checks the schema makes, as sentences before the insert.
    pub fn check(&self) -> Result<()> {
        let money = |field: &'static str, v: Option<i64>| -> Result<()> {
            match v {
                Some(f) if !(1..=Fen::MAX).contains(&f) => {
                    Err(Error::invalid(field, Invalid::Format))
                }
                _ => Ok(()),
            }
        };
        if !(0..=Fen::MAX).contains(&self.threshold_fen) {
            return Err(Error::invalid("threshold_fen", Invalid::Format));
        }
        money("amount_off_fen", self.amount_off_fen)?;
        money("max_off_fen", self.max_off_fen)?;
        let needs = |ok: bool, field: &'static str| {
            if ok {
                Ok(())
            } else {
                Err(Error::invalid(field, Invalid::Empty))
            }
        };
        match self.kind {
            Kind::AmountOff => {
                needs(self.amount_off_fen.is_some(), "amount_off_fen")?;
                needs(self.threshold_fen > 0, "threshold_fen")?;
            }
            Kind::Voucher => needs(self.amount_off_fen.is_some(), "amount_off_fen")?,
            Kind::PercentOff => {
                needs(self.percent_off.is_some(), "percent_off")?;
                if !(1..=99).contains(&self.percent_off.unwrap_or(0)) {
                    return Err(Error::invalid("percent_off", Invalid::Format));
                }
            }
            Kind::Gift => {
                let item = self.gift_item.as_deref().unwrap_or("").trim();
                needs(!item.is_empty(), "gift_item")?;
                if item.chars().count() > 60 {
                    return Err(Error::invalid("gift_item", Invalid::TooLong { max: 60 }));
                }
            }
        }
        let only = |present: bool, allowed: bool, field: &'static str| {
            if present && !allowed {
                Err(Error::invalid(field, Invalid::Format))
            } else {
                Ok(())
            }
        };
        only(
            self.amount_off_fen.is_some(),
            matches!(self.kind, Kind::AmountOff | Kind::Voucher),
            "amount_off_fen",
        )?;
        only(
            self.percent_off.is_some(),
            self.kind == Kind::PercentOff,
            "percent_off",
        )?;
        only(
            self.max_off_fen.is_some(),
            self.kind == Kind::PercentOff,
            "max_off_fen",
        )?;
        only(
            self.gift_item.is_some(),
            self.kind == Kind::Gift,
            "gift_item",
        )?;
        if self.weekdays.iter().any(|d| !(1..=7).contains(d)) {
            return Err(Error::invalid("weekdays", Invalid::Format));
        }
        if let Some((from, until)) = self.minutes {
            if !(0..1440).contains(&from) || !(1..=1440).contains(&until) || from >= until {
                return Err(Error::invalid("hours", Invalid::Format));
            }
        }
        Ok(())
    }

    pub fn meets_threshold(&self, bill_fen: i64) -> bool {
        bill_fen >= self.threshold_fen
    }

    /// What the coupon takes off a bill that meets its threshold: never more
    /// than the bill, never more than a cap; a percentage rounds up to the
    /// fen, in the member's favour.
    pub fn discount_fen(&self, bill_fen: i64) -> i64 {
        if bill_fen <= 0 || !self.meets_threshold(bill_fen) {
            return 0;
        }
        let off = match self.kind {
            Kind::AmountOff | Kind::Voucher => self.amount_off_fen.unwrap_or(0),
            Kind::PercentOff => {
                let pct = i128::from(self.percent_off.unwrap_or(0).clamp(0, 100));
                let raw = (i128::from(bill_fen) * pct + 99) / 100;
                let raw = i64::try_from(raw).unwrap_or(i64::MAX);
                match self.max_off_fen {
                    Some(cap) => raw.min(cap),
                    None => raw,
                }
            }
            Kind::Gift => 0,
        };
        off.clamp(0, bill_fen)
    }

    /// Whether `at_ms` is inside the weekly window, in the brand's time zone.
    pub fn window_at(&self, time_zone: &str, at_ms: i64) -> Window {
        let zone = TimeZone::get(time_zone).unwrap_or(TimeZone::UTC);
        let Ok(ts) = Timestamp::from_millisecond(at_ms) else {
            return Window::WrongDay;
        };
        let local = ts.to_zoned(zone);
        let weekday = local.weekday().to_monday_one_offset();
        if !self.weekdays.is_empty() && !self.weekdays.contains(&weekday) {
            return Window::WrongDay;
        }
        if let Some((from, until)) = self.minutes {
            let minute = i64::from(local.hour()) * 60 + i64::from(local.minute());
            if minute < from {
                return Window::TooEarly { from_minute: from };
            }
            if minute >= until {
                return Window::TooLate {
                    until_minute: until,
                };
            }
        }
        Window::Open
    }
}

/// `11:00` from minutes after midnight; 1440 is `24:00`.
pub fn clock_time(minute: i64) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_classic_coupons_take_what_they_say() {
        let r = Rule::amount_off(20_000, 5_000);
        assert_eq!(r.discount_fen(18_000), 0, "below 满200 nothing comes off");
        assert_eq!(r.discount_fen(20_000), 5_000);
        let r = Rule::percent_off(20, Some(3_000));
        assert_eq!(r.discount_fen(10_000), 2_000);
        assert_eq!(r.discount_fen(50_000), 3_000, "capped at ¥30");
        // 20 % of ¥0.99 is 19.8 fen: the member gets 20.
        assert_eq!(Rule::percent_off(20, None).discount_fen(99), 20);
        assert_eq!(
            Rule::voucher(5_000).discount_fen(3_000),
            3_000,
            "never more than the bill"
        );
        assert_eq!(Rule::gift("可乐").discount_fen(3_000), 0);
    }

    #[test]
    fn windows_follow_the_brands_clock() {
        // Wednesday 2026-11-25 11:30 in Shanghai is 03:30 UTC.
        let wed_1130 = "2026-11-25T03:30:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .as_millisecond();
        let rule = Rule::percent_off(20, None)
            .on_weekdays(&[3])
            .between(660, 840);
        assert_eq!(rule.window_at("Asia/Shanghai", wed_1130), Window::Open);
        // The same instant is still Tuesday evening in New York.
        assert_eq!(
            rule.window_at("America/New_York", wed_1130),
            Window::WrongDay
        );
        let wed_1030 = wed_1130 - 3_600_000;
        assert_eq!(
            rule.window_at("Asia/Shanghai", wed_1030),
            Window::TooEarly { from_minute: 660 }
        );
        let wed_1400 = wed_1130 + 150 * 60_000;
        assert_eq!(
            rule.window_at("Asia/Shanghai", wed_1400),
            Window::TooLate { until_minute: 840 }
        );
    }

    #[test]
    fn inconsistent_rules_are_refused() {
        assert!(
            Rule::amount_off(0, 100).check().is_err(),
            "满减 needs a threshold"
        );
        assert!(Rule::percent_off(100, None).check().is_err());
        assert!(Rule::gift("  ").check().is_err());
        assert!(Rule::voucher(100).between(600, 600).check().is_err());
        assert!(Rule::voucher(100).on_weekdays(&[8]).check().is_err());
        let mut r = Rule::voucher(100);
        r.max_off_fen = Some(5);
        assert!(r.check().is_err(), "a cap belongs to a percentage");
        assert!(Rule::percent_off(12, Some(800))
            .between(0, 1440)
            .check()
            .is_ok());
    }

    fn any_rule() -> impl Strategy<Value = Rule> {
        prop_oneof![
            (1..1_000_000i64, 1..1_000_000i64).prop_map(|(t, o)| Rule::amount_off(t, o)),
            (1..100i64, proptest::option::of(1..100_000i64))
                .prop_map(|(p, c)| Rule::percent_off(p, c)),
            (1..1_000_000i64, 0..1_000_000i64)
                .prop_map(|(o, t)| Rule::voucher(o).with_threshold(t)),
            Just(Rule::gift("茶")),
        ]
    }

    proptest! {
        #[test]
        fn a_discount_never_exceeds_the_bill_or_the_cap(rule in any_rule(), bill in 0..10_000_000i64) {
            let off = rule.discount_fen(bill);
            prop_assert!(off >= 0);
            prop_assert!(off <= bill.max(0));
            if let Some(cap) = rule.max_off_fen {
                prop_assert!(off <= cap);
            }
            if !rule.meets_threshold(bill) {
                prop_assert_eq!(off, 0);
            }
        }

        #[test]
        fn a_percentage_rounds_in_the_members_favour(pct in 1..100i64, bill in 1..10_000_000i64) {
            let off = Rule::percent_off(pct, None).discount_fen(bill);
            // Never less than the exact share, and less than a fen more.
            prop_assert!(i128::from(off) * 100 >= i128::from(bill) * i128::from(pct));
            prop_assert!(i128::from(off - 1) * 100 < i128::from(bill) * i128::from(pct));
        }

        #[test]
        fn a_window_is_open_exactly_between_its_hours(from in 0..1439i64, len in 1..600i64, at in 0..1440i64) {
            let until = (from + len).min(1440);
            let rule = Rule::voucher(100).between(from, until);
            // Minutes of 2026-11-25 in Shanghai (UTC+8, no daylight saving).
            let midnight = "2026-11-24T16:00:00Z".parse::<Timestamp>().unwrap().as_millisecond();
            let open = rule.window_at("Asia/Shanghai", midnight + at * 60_000) == Window::Open;
            prop_assert_eq!(open, at >= from && at < until);
        }
    }
}
