//! What a coupon's rule says, in the reader's language: its title (满200减50,
//! 8折，最高减30元, 10元代金券), its minimum bill and its weekly window. The
//! words come from the locale files; the core holds only the rule.

use loyalty::coupons::{clock_time, Kind, Rule};
use loyalty::money::yuan_figure;

use crate::i18n::*;

/// The coupon's name, from its rule.
pub fn title(locale: Locale, rule: &Rule) -> String {
    let off = yuan_figure(rule.amount_off_fen.unwrap_or(0));
    let threshold = yuan_figure(rule.threshold_fen);
    match rule.kind {
        Kind::AmountOff => td_string!(
            locale,
            coupon_title_amount_off,
            threshold = threshold,
            off = off
        )
        .to_string(),
        Kind::Voucher => td_string!(locale, coupon_title_voucher, off = off).to_string(),
        Kind::Gift => {
            let item = rule.gift_item.clone().unwrap_or_default();
            td_string!(locale, coupon_title_gift, item = item).to_string()
        }
        Kind::PercentOff => {
            let pct = rule.percent_off.unwrap_or(0);
            let zhe = zhe(pct);
            match rule.max_off_fen {
                None => td_string!(locale, coupon_title_percent, pct = pct, zhe = zhe).to_string(),
                Some(cap) => {
                    let cap = yuan_figure(cap);
                    td_string!(
                        locale,
                        coupon_title_percent_capped,
                        pct = pct,
                        zhe = zhe,
                        cap = cap
                    )
                    .to_string()
                }
            }
        }
    }
}

/// The minimum bill, when the title does not already say it.
pub fn threshold(locale: Locale, rule: &Rule) -> Option<String> {
    if rule.threshold_fen == 0 || rule.kind == Kind::AmountOff {
        return None;
    }
    let threshold = yuan_figure(rule.threshold_fen);
    Some(td_string!(locale, coupon_threshold, threshold = threshold).to_string())
}

/// When in the week it may be used: 每周三 11:00–14:00 可用.
pub fn window(locale: Locale, rule: &Rule) -> Option<String> {
    if rule.weekdays.is_empty() && rule.minutes.is_none() {
        return None;
    }
    let mut days = rule.weekdays.clone();
    days.sort_unstable();
    days.dedup();
    let days = (!days.is_empty()).then(|| {
        let separator = td_string!(locale, list_separator).to_string();
        let names: Vec<String> = days.iter().map(|d| day(locale, *d)).collect();
        let days = names.join(&separator);
        td_string!(locale, coupon_window_days, days = days).to_string()
    });
    let hours = rule
        .minutes
        .map(|(from, until)| format!("{}–{}", clock_time(from), clock_time(until)));
    let when = [days, hours]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Some(td_string!(locale, coupon_window, when = when).to_string())
}

/// The conditions in one line (minimum bill, days and hours), for the till.
pub fn conditions(locale: Locale, rule: &Rule) -> String {
    [threshold(locale, rule), window(locale, rule)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ")
}

fn day(locale: Locale, iso: i8) -> String {
    match iso {
        1 => td_string!(locale, coupon_day_1),
        2 => td_string!(locale, coupon_day_2),
        3 => td_string!(locale, coupon_day_3),
        4 => td_string!(locale, coupon_day_4),
        5 => td_string!(locale, coupon_day_5),
        6 => td_string!(locale, coupon_day_6),
        _ => td_string!(locale, coupon_day_7),
    }
    .to_string()
}

/// The Chinese way to say a percentage off: 20 → 8, 15 → 85, 12 → 88.
fn zhe(percent_off: i64) -> String {
    let pay = 100 - percent_off;
    if pay % 10 == 0 {
        (pay / 10).to_string()
    } else {
        pay.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_read_like_the_menu_board() {
        let r = Rule::amount_off(20_000, 5_000);
        assert_eq!(title(Locale::zh_CN, &r), "满200减50");
        assert_eq!(title(Locale::zh_TW, &r), "滿200減50");
        assert_eq!(title(Locale::en, &r), "¥50 off ¥200+");
        let r = Rule::percent_off(20, Some(3_000));
        assert_eq!(title(Locale::zh_CN, &r), "8折，最高减30元");
        assert_eq!(title(Locale::en, &r), "20% off, up to ¥30");
        assert_eq!(title(Locale::zh_CN, &Rule::percent_off(15, None)), "85折");
        assert_eq!(title(Locale::zh_CN, &Rule::voucher(1_250)), "12.50元代金券");
        assert_eq!(
            title(Locale::zh_CN, &Rule::voucher(200_000)),
            "2,000元代金券"
        );
        assert_eq!(title(Locale::zh_CN, &Rule::gift("酸梅汤")), "赠送酸梅汤");
        let w = Rule::percent_off(20, None)
            .on_weekdays(&[5, 3])
            .between(660, 840);
        assert_eq!(
            window(Locale::zh_CN, &w).unwrap(),
            "每周三、五 11:00–14:00 可用"
        );
        assert_eq!(
            window(Locale::zh_TW, &w).unwrap(),
            "每週三、五 11:00–14:00 可用"
        );
        assert_eq!(
            window(Locale::en, &w).unwrap(),
            "Valid Wed, Fri 11:00–14:00"
        );
        assert_eq!(window(Locale::zh_CN, &Rule::voucher(100)), None);
        let r = Rule::voucher(2_000).with_threshold(10_000);
        assert_eq!(threshold(Locale::zh_CN, &r).unwrap(), "消费满100元可用");
        assert_eq!(conditions(Locale::en, &r), "For bills of ¥100 or more");
    }
}
