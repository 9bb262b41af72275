//! One row of an old program's export, checked: which column is which (by
//! the names old systems and owners give them, in English and Chinese),
//! and each value parsed or named as a problem.

use serde::{Deserialize, Serialize};

use crate::members::phone::Phone;
use crate::members::Birthday;
use crate::points::tiers::TierTable;

/// The columns an import understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Phone,
    Name,
    Birthday,
    MemberNo,
    Points,
    PointsExpiry,
    Tier,
    StoredValue,
    StoredBonus,
    Marketing,
    MarketingAt,
}

impl Field {
    pub const ALL: [Field; 11] = [
        Field::Phone,
        Field::Name,
        Field::Birthday,
        Field::MemberNo,
        Field::Points,
        Field::PointsExpiry,
        Field::Tier,
        Field::StoredValue,
        Field::StoredBonus,
        Field::Marketing,
        Field::MarketingAt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::Phone => "phone",
            Field::Name => "name",
            Field::Birthday => "birthday",
            Field::MemberNo => "member_no",
            Field::Points => "points",
            Field::PointsExpiry => "points_expiry",
            Field::Tier => "tier",
            Field::StoredValue => "stored_value",
            Field::StoredBonus => "stored_bonus",
            Field::Marketing => "marketing",
            Field::MarketingAt => "marketing_at",
        }
    }

    /// The header names this column goes by, compared without case,
    /// spaces, underscores or dashes.
    fn names(self) -> &'static [&'static str] {
        match self {
            Field::Phone => &[
                "phone",
                "mobile",
                "phonenumber",
                "mobilephone",
                "cellphone",
                "tel",
                "手机",
                "手机号",
                "手机号码",
                "电话",
                "电话号码",
                "手機",
                "手機號碼",
                "電話",
            ],
            Field::Name => &[
                "name",
                "membername",
                "fullname",
                "姓名",
                "名字",
                "会员姓名",
                "會員姓名",
                "称呼",
            ],
            Field::Birthday => &[
                "birthday",
                "birthdate",
                "dateofbirth",
                "dob",
                "生日",
                "出生日期",
            ],
            Field::MemberNo => &[
                "memberno",
                "membernumber",
                "memberid",
                "cardno",
                "cardnumber",
                "oldmemberno",
                "会员号",
                "会员编号",
                "会员卡号",
                "卡号",
                "會員編號",
                "會員卡號",
                "卡號",
            ],
            Field::Points => &[
                "points",
                "pointsbalance",
                "balancepoints",
                "积分",
                "积分余额",
                "可用积分",
                "積分",
                "積分餘額",
            ],
            Field::PointsExpiry => &[
                "pointsexpiry",
                "pointsexpire",
                "pointsexpireat",
                "pointsexpiresat",
                "expiry",
                "积分到期",
                "积分到期日",
                "积分有效期",
                "到期日",
                "積分到期日",
                "積分有效期",
            ],
            Field::Tier => &[
                "tier",
                "level",
                "grade",
                "等级",
                "会员等级",
                "等級",
                "會員等級",
            ],
            Field::StoredValue => &[
                "storedvalue",
                "balance",
                "storedbalance",
                "prepaid",
                "储值",
                "储值余额",
                "余额",
                "本金",
                "儲值",
                "儲值餘額",
                "餘額",
            ],
            Field::StoredBonus => &[
                "storedbonus",
                "bonusbalance",
                "bonus",
                "赠送余额",
                "赠送金额",
                "赠额",
                "贈送餘額",
                "贈送金額",
            ],
            Field::Marketing => &[
                "marketing",
                "marketingconsent",
                "consent",
                "optin",
                "营销同意",
                "同意营销",
                "接收营销",
                "行銷同意",
                "同意行銷",
            ],
            Field::MarketingAt => &[
                "marketingat",
                "consentat",
                "consentdate",
                "marketingconsentat",
                "同意时间",
                "同意日期",
                "同意時間",
            ],
        }
    }

    /// The column a header names, if any.
    pub fn of_header(header: &str) -> Option<Field> {
        let key: String = header
            .chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-' | '\u{3000}' | '(' | ')' | '（' | '）'))
            .flat_map(char::to_lowercase)
            .collect();
        Field::ALL
            .into_iter()
            .find(|f| f.names().contains(&key.as_str()))
    }
}

/// What is wrong with a row; the owner's page and the command line word
/// each in the owner's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Problem {
    PhoneMissing,
    PhoneInvalid {
        value: String,
    },
    /// The same phone is on an earlier line.
    PhoneRepeated {
        line: usize,
    },
    NameTooLong,
    BirthdayInvalid {
        value: String,
    },
    MemberNoInvalid {
        value: String,
    },
    MemberNoRepeated {
        line: usize,
    },
    /// Another member here already has this old number.
    MemberNoTaken {
        value: String,
    },
    PointsInvalid {
        value: String,
    },
    ExpiryInvalid {
        value: String,
    },
    ExpiryPast {
        value: String,
    },
    TierUnknown {
        value: String,
    },
    MoneyInvalid {
        field: Field,
        value: String,
    },
    MoneyTooLarge {
        field: Field,
    },
    BonusWithoutPrincipal,
    ConsentInvalid {
        value: String,
    },
    ConsentDateInvalid {
        value: String,
    },
    /// Stored value needs a store to book it at; the brand has none.
    NoStore,
    /// With what the member holds here, the stored value would pass the
    /// most one card may hold.
    BalanceTooLarge,
    /// The phone deleted its account here: it is not brought back.
    Erased,
}

impl Problem {
    pub fn code(&self) -> &'static str {
        match self {
            Problem::PhoneMissing => "phone_missing",
            Problem::PhoneInvalid { .. } => "phone_invalid",
            Problem::PhoneRepeated { .. } => "phone_repeated",
            Problem::NameTooLong => "name_too_long",
            Problem::BirthdayInvalid { .. } => "birthday_invalid",
            Problem::MemberNoInvalid { .. } => "member_no_invalid",
            Problem::MemberNoRepeated { .. } => "member_no_repeated",
            Problem::MemberNoTaken { .. } => "member_no_taken",
            Problem::PointsInvalid { .. } => "points_invalid",
            Problem::ExpiryInvalid { .. } => "expiry_invalid",
            Problem::ExpiryPast { .. } => "expiry_past",
            Problem::TierUnknown { .. } => "tier_unknown",
            Problem::MoneyInvalid { .. } => "money_invalid",
            Problem::MoneyTooLarge { .. } => "money_too_large",
            Problem::BonusWithoutPrincipal => "bonus_without_principal",
            Problem::ConsentInvalid { .. } => "consent_invalid",
            Problem::ConsentDateInvalid { .. } => "consent_date_invalid",
            Problem::NoStore => "no_store",
            Problem::BalanceTooLarge => "balance_too_large",
            Problem::Erased => "erased",
        }
    }
}

/// The most points one member may bring.
pub const MAX_POINTS: i64 = 100_000_000;
/// The most stored value (principal, and bonus) one member may bring: a
/// top-up's own limit, ¥1,000,000.
pub const MAX_STORED_FEN: i64 = 100_000_000;

/// A row that passed every check: what the member will have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub line: usize,
    pub phone: Phone,
    pub name: String,
    pub birthday: Option<Birthday>,
    pub legacy_no: Option<String>,
    pub points: i64,
    /// When the points lapse (exclusive); None: the brand's rule decides.
    pub points_expire_at: Option<i64>,
    pub tier_rank: i64,
    pub principal_fen: i64,
    pub bonus_fen: i64,
    /// When the member agreed to marketing; Some(None): agreed, date unknown.
    pub marketing: Option<Option<i64>>,
}

/// What a row needs from the brand to be checked.
pub struct Context<'a> {
    pub time_zone: &'a str,
    pub tiers: &'a TierTable,
    pub now_ms: i64,
    pub has_store: bool,
}

/// Which column of the file holds each field (the first that names it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    at: Vec<(Field, usize)>,
}

impl Columns {
    pub fn of(header: &[String]) -> Columns {
        let mut at: Vec<(Field, usize)> = Vec::new();
        for (i, name) in header.iter().enumerate() {
            if let Some(f) = Field::of_header(name) {
                if !at.iter().any(|(seen, _)| *seen == f) {
                    at.push((f, i));
                }
            }
        }
        Columns { at }
    }

    pub fn has(&self, field: Field) -> bool {
        self.at.iter().any(|(f, _)| *f == field)
    }

    /// The headers no field claimed (shown, so a misspelt one is noticed).
    pub fn ignored(&self, header: &[String]) -> Vec<String> {
        header
            .iter()
            .enumerate()
            .filter(|(i, h)| !h.is_empty() && !self.at.iter().any(|(_, at)| at == i))
            .map(|(_, h)| h.clone())
            .collect()
    }

    pub(crate) fn get<'a>(&self, cells: &'a [String], field: Field) -> &'a str {
        self.at
            .iter()
            .find(|(f, _)| *f == field)
            .and_then(|(_, i)| cells.get(*i))
            .map_or("", |s| s.trim())
    }
}

/// Checks one row; every problem is named, not only the first.
pub fn check(
    ctx: &Context<'_>,
    columns: &Columns,
    line: usize,
    cells: &[String],
) -> Result<Candidate, Vec<Problem>> {
    let get = |f| columns.get(cells, f);
    let mut problems = Vec::new();

    let phone = match get(Field::Phone) {
        "" => {
            problems.push(Problem::PhoneMissing);
            None
        }
        typed => match Phone::parse("86", typed) {
            Ok(p) => Some(p),
            Err(_) => {
                problems.push(Problem::PhoneInvalid {
                    value: typed.to_owned(),
                });
                None
            }
        },
    };
    let name = get(Field::Name).to_owned();
    if name.chars().count() > 40 {
        problems.push(Problem::NameTooLong);
    }
    let birthday = match get(Field::Birthday) {
        "" => None,
        typed => match parse_birthday(typed) {
            Some(b) => Some(b),
            None => {
                problems.push(Problem::BirthdayInvalid {
                    value: typed.to_owned(),
                });
                None
            }
        },
    };
    let legacy_no = match get(Field::MemberNo) {
        "" => None,
        typed if typed.chars().count() <= 40 && !typed.chars().any(char::is_control) => {
            Some(typed.to_owned())
        }
        typed => {
            problems.push(Problem::MemberNoInvalid {
                value: typed.to_owned(),
            });
            None
        }
    };
    let points = match get(Field::Points) {
        "" => 0,
        typed => match whole_number(typed).filter(|p| (0..=MAX_POINTS).contains(p)) {
            Some(p) => p,
            None => {
                problems.push(Problem::PointsInvalid {
                    value: typed.to_owned(),
                });
                0
            }
        },
    };
    let points_expire_at = match get(Field::PointsExpiry) {
        "" => None,
        typed => match parse_date(typed) {
            // Points last through the day the file names.
            Some((date, _)) => {
                let end = date.tomorrow().ok().and_then(|d| {
                    local_ms(ctx.time_zone, d.to_datetime(jiff::civil::Time::midnight()))
                });
                match end {
                    Some(end) if end <= ctx.now_ms && points > 0 => {
                        problems.push(Problem::ExpiryPast {
                            value: typed.to_owned(),
                        });
                        None
                    }
                    Some(end) => Some(end),
                    None => {
                        problems.push(Problem::ExpiryInvalid {
                            value: typed.to_owned(),
                        });
                        None
                    }
                }
            }
            None => {
                problems.push(Problem::ExpiryInvalid {
                    value: typed.to_owned(),
                });
                None
            }
        },
    };
    let tier_rank = match get(Field::Tier) {
        "" => 0,
        typed => match find_tier(ctx.tiers, typed) {
            Some(rank) => rank,
            None => {
                problems.push(Problem::TierUnknown {
                    value: typed.to_owned(),
                });
                0
            }
        },
    };
    let mut money = |field: Field| match get(field) {
        "" => 0,
        typed => match parse_fen(typed) {
            Some(fen) if fen <= MAX_STORED_FEN => fen,
            Some(_) => {
                problems.push(Problem::MoneyTooLarge { field });
                0
            }
            None => {
                problems.push(Problem::MoneyInvalid {
                    field,
                    value: typed.to_owned(),
                });
                0
            }
        },
    };
    let principal_fen = money(Field::StoredValue);
    let bonus_fen = money(Field::StoredBonus);
    // A bonus is booked on a top-up lot of the principal, as the till
    // books one: it cannot be larger.
    if bonus_fen > principal_fen {
        problems.push(Problem::BonusWithoutPrincipal);
    }
    if (principal_fen > 0 || bonus_fen > 0) && !ctx.has_store {
        problems.push(Problem::NoStore);
    }
    let consented = match get(Field::Marketing) {
        "" => false,
        typed => match parse_yes(typed) {
            Some(yes) => yes,
            None => {
                problems.push(Problem::ConsentInvalid {
                    value: typed.to_owned(),
                });
                false
            }
        },
    };
    let consent_at = match get(Field::MarketingAt) {
        "" => None,
        typed => match parse_date(typed)
            .and_then(|(d, t)| local_ms(ctx.time_zone, d.to_datetime(t)))
            .filter(|at| *at <= ctx.now_ms)
        {
            Some(at) => Some(at),
            None => {
                problems.push(Problem::ConsentDateInvalid {
                    value: typed.to_owned(),
                });
                None
            }
        },
    };

    match phone {
        Some(phone) if problems.is_empty() => Ok(Candidate {
            line,
            phone,
            name,
            birthday,
            legacy_no,
            points,
            points_expire_at,
            tier_rank,
            principal_fen,
            bonus_fen,
            marketing: consented.then_some(consent_at),
        }),
        _ => Err(problems),
    }
}

fn local_ms(time_zone: &str, at: jiff::civil::DateTime) -> Option<i64> {
    let zone = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    at.to_zoned(zone)
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

/// `1234`, `1,234` or `1234.0` (a spreadsheet's number).
fn whole_number(typed: &str) -> Option<i64> {
    let digits: String = typed.chars().filter(|c| *c != ',').collect();
    let digits = digits.strip_suffix(".0").unwrap_or(&digits);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 12 {
        return None;
    }
    digits.parse().ok()
}

/// Yuan as written (`123`, `123.4`, `¥1,234.56`, `123.45元`) in fen.
pub fn parse_fen(typed: &str) -> Option<i64> {
    let s: String = typed
        .trim()
        .trim_start_matches(['¥', '￥'])
        .trim_end_matches(['元', '圓'])
        .chars()
        .filter(|c| *c != ',')
        .collect();
    let (yuan, cents) = s.split_once('.').unwrap_or((&s, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if yuan.is_empty() || yuan.len() > 9 || !digits(yuan) || cents.len() > 2 || !digits(cents) {
        return None;
    }
    let cents = format!("{cents:0<2}");
    Some(yuan.parse::<i64>().ok()? * 100 + cents.parse::<i64>().ok()?)
}

fn parse_yes(typed: &str) -> Option<bool> {
    match typed.to_lowercase().as_str() {
        "1" | "y" | "yes" | "true" | "是" | "同意" | "已同意" | "√" | "✓" | "x" => {
            Some(true)
        }
        "0" | "n" | "no" | "false" | "否" | "不同意" | "未同意" | "拒绝" | "拒絕" => {
            Some(false)
        }
        _ => None,
    }
}

/// A date as old systems write it (`2027-06-30`, `2027/6/30`, `2027.6.30`,
/// `2027年6月30日`, `20270630`), maybe with a time of day.
fn parse_date(typed: &str) -> Option<(jiff::civil::Date, jiff::civil::Time)> {
    let typed = typed.trim();
    let (day, time) = match typed.split_once([' ', 'T']) {
        Some((d, t)) => (d, t.trim().parse::<jiff::civil::Time>().ok()?),
        None => (typed, jiff::civil::Time::midnight()),
    };
    let parts = numbers(day);
    let (y, m, d) = match parts.as_slice() {
        [y, m, d] => (*y, *m, *d),
        [ymd] if day.len() == 8 => (ymd / 10_000, ymd / 100 % 100, ymd % 100),
        _ => return None,
    };
    if !(1900..=2200).contains(&y) {
        return None;
    }
    let date = jiff::civil::Date::new(
        i16::try_from(y).ok()?,
        i8::try_from(m).ok()?,
        i8::try_from(d).ok()?,
    )
    .ok()?;
    Some((date, time))
}

/// A birthday with or without its year (`1990-06-15`, `06-15`, `6月15日`).
fn parse_birthday(typed: &str) -> Option<Birthday> {
    if let Some((date, _)) = parse_date(typed) {
        let year = u16::try_from(date.year()).ok();
        return Birthday::new(date.month() as u8, date.day() as u8, year).ok();
    }
    match numbers(typed.trim()).as_slice() {
        [m, d] => Birthday::new(u8::try_from(*m).ok()?, u8::try_from(*d).ok()?, None).ok(),
        _ => None,
    }
}

/// The runs of digits in `s`, when everything else is a date separator.
fn numbers(s: &str) -> Vec<i64> {
    if !s
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '-' | '/' | '.' | '年' | '月' | '日'))
    {
        return Vec::new();
    }
    s.split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .filter_map(|p| if p.len() <= 8 { p.parse().ok() } else { None })
        .collect()
}

/// A tier by its code or its name in any language, without case.
fn find_tier(tiers: &TierTable, typed: &str) -> Option<i64> {
    let typed = typed.trim().to_lowercase();
    tiers
        .tiers()
        .iter()
        .find(|t| {
            [&t.code, &t.name_zh_cn, &t.name_zh_tw, &t.name_en]
                .iter()
                .any(|n| n.to_lowercase() == typed)
        })
        .map(|t| t.rank)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(tiers: &TierTable) -> Context<'_> {
        Context {
            time_zone: "Asia/Shanghai",
            tiers,
            // 2026-12-01 00:00 in Shanghai.
            now_ms: 1_796_054_400_000,
            has_store: true,
        }
    }

    fn row(header: &[&str], cells: &[&str]) -> Result<Candidate, Vec<Problem>> {
        let tiers = crate::points::tiers::default_table();
        let header: Vec<String> = header.iter().map(|s| s.to_string()).collect();
        let cells: Vec<String> = cells.iter().map(|s| s.to_string()).collect();
        check(&ctx(&tiers), &Columns::of(&header), 2, &cells)
    }

    #[test]
    fn headers_in_english_and_chinese() {
        assert_eq!(Field::of_header("手机号码"), Some(Field::Phone));
        assert_eq!(Field::of_header("Member No."), None);
        assert_eq!(Field::of_header("member_no"), Some(Field::MemberNo));
        assert_eq!(Field::of_header("Points Expiry"), Some(Field::PointsExpiry));
        assert_eq!(Field::of_header("會員等級"), Some(Field::Tier));
        assert_eq!(Field::of_header("储值余额"), Some(Field::StoredValue));
        assert_eq!(Field::of_header("备注"), None);
    }

    #[test]
    fn a_full_row_in_chinese() {
        let c = row(
            &[
                "手机号",
                "姓名",
                "生日",
                "会员卡号",
                "积分",
                "积分到期日",
                "等级",
                "储值余额",
                "赠送余额",
                "营销同意",
                "同意时间",
            ],
            &[
                "138 0013 8000",
                "李雷",
                "1990年6月15日",
                "A-0001",
                "1,200",
                "2027/6/30",
                "Gold",
                "¥1,000.50",
                "100",
                "是",
                "2025-03-01 12:00:00",
            ],
        )
        .unwrap();
        assert_eq!(c.phone.as_str(), "+8613800138000");
        assert_eq!(c.birthday, Some(Birthday::new(6, 15, Some(1990)).unwrap()));
        assert_eq!(c.legacy_no.as_deref(), Some("A-0001"));
        assert_eq!(c.points, 1200);
        // The end of 30 June 2027 in Shanghai.
        assert_eq!(c.points_expire_at, Some(1_814_371_200_000));
        assert_eq!(c.tier_rank, 2);
        assert_eq!((c.principal_fen, c.bonus_fen), (100_050, 10_000));
        assert_eq!(c.marketing, Some(Some(1_740_801_600_000)));
    }

    #[test]
    fn every_problem_of_a_row_is_named() {
        let problems = row(
            &[
                "phone",
                "birthday",
                "points",
                "tier",
                "stored_value",
                "stored_bonus",
                "marketing",
            ],
            &["12345", "13/45", "-5", "emperor", "12.345", "20", "maybe"],
        )
        .unwrap_err();
        let codes: Vec<&str> = problems.iter().map(Problem::code).collect();
        assert_eq!(
            codes,
            [
                "phone_invalid",
                "birthday_invalid",
                "points_invalid",
                "tier_unknown",
                "money_invalid",
                "bonus_without_principal",
                "consent_invalid"
            ]
        );
    }

    #[test]
    fn points_that_already_lapsed_are_not_brought_in() {
        let problems = row(
            &["phone", "points", "points_expiry"],
            &["13800138000", "10", "2025-01-01"],
        )
        .unwrap_err();
        assert_eq!(problems[0].code(), "expiry_past");
        assert!(row(&["phone", "points_expiry"], &["13800138000", "2025-01-01"]).is_ok());
    }

    #[test]
    fn money_in_yuan() {
        assert_eq!(parse_fen("12"), Some(1200));
        assert_eq!(parse_fen("12.5"), Some(1250));
        assert_eq!(parse_fen("￥1,234.56元"), Some(123_456));
        assert_eq!(parse_fen("-1"), None);
        assert_eq!(parse_fen("1.234"), None);
        assert_eq!(parse_fen(".5"), None);
    }
}
