//! Message templates (短信模板). Mainland SMS providers send only templates
//! approved in advance under the brand's signature, with their variables
//! filled in; so the owner enters, per message and language, the provider's
//! template code and the template's text as approved, and Tablecard fills
//! the variables.
//!
//! A text names its variables as `{name}` (or `${name}`, as Alibaba Cloud
//! writes them): `code`, `name`, `points`, `coupon`, `date`, `brand`. The
//! Alibaba Cloud request passes them by name; Tencent Cloud numbers them
//! `{1}`, `{2}` … in the order they first appear, which is the order here.
//!
//! Length: a mainland SMS is 70 characters, the signature 【…】 included;
//! a longer one goes as segments of 67, each billed.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use crate::access::Owner;
use crate::brands::{Brand, BrandId, Language};
use crate::error::Invalid;
use crate::marketing::automation::AutomationId;
use crate::marketing::delivery::Purpose;
use crate::staff::audit::{self, Change};
use crate::{Clock, Db, Error, Result};

/// A variable a template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Var {
    Code,
    Name,
    Points,
    Coupon,
    Date,
    Brand,
}

impl Var {
    pub const ALL: [Var; 6] = [
        Var::Code,
        Var::Name,
        Var::Points,
        Var::Coupon,
        Var::Date,
        Var::Brand,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Var::Code => "code",
            Var::Name => "name",
            Var::Points => "points",
            Var::Coupon => "coupon",
            Var::Date => "date",
            Var::Brand => "brand",
        }
    }

    pub fn parse(s: &str) -> Option<Var> {
        Var::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The variables a message for `purpose` may use: a sign-in code knows
    /// only the code and the brand.
    pub fn allowed(self, purpose: Purpose) -> bool {
        match purpose {
            Purpose::SignIn => matches!(self, Var::Code | Var::Brand),
            Purpose::Marketing => self != Var::Code,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Piece {
    Text(String),
    Var(Var),
}

/// A template's text, checked: every `{…}` is a known variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    pieces: Vec<Piece>,
}

/// Characters in one SMS, and in each segment of a longer one.
pub const SEGMENT: usize = 70;
pub const LONG_SEGMENT: usize = 67;
/// A template's text is at most this long (six segments).
pub const MAX_BODY: usize = 400;

impl Body {
    /// Parses `text` as the owner typed it; `field` names the form field a
    /// problem is reported on.
    pub fn parse(field: &'static str, text: &str) -> Result<Body> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::invalid(field, Invalid::Empty));
        }
        if text.chars().count() > MAX_BODY {
            return Err(Error::invalid(field, Invalid::TooLong { max: MAX_BODY }));
        }
        if text.chars().any(|c| c.is_control() && c != '\n') {
            return Err(Error::invalid(field, Invalid::Characters));
        }
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let (before, after) = rest.split_at(open);
            // `${code}` is Alibaba Cloud's way of writing `{code}`.
            literal.push_str(before.strip_suffix('$').unwrap_or(before));
            let Some(close) = after.find('}') else {
                return Err(Error::invalid(field, Invalid::Format));
            };
            let name = after[1..close].trim();
            let var = Var::parse(name).ok_or(Error::invalid(field, Invalid::Format))?;
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Var(var));
            rest = &after[close + 1..];
        }
        if rest.contains('}') {
            return Err(Error::invalid(field, Invalid::Format));
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Body { pieces })
    }

    /// Checks the variables against what a message for `purpose` knows; a
    /// sign-in template must carry the code.
    pub fn check_for(self, field: &'static str, purpose: Purpose) -> Result<Body> {
        if self.vars().iter().any(|v| !v.allowed(purpose)) {
            return Err(Error::invalid(field, Invalid::Format));
        }
        if purpose == Purpose::SignIn && !self.vars().contains(&Var::Code) {
            return Err(Error::invalid(field, Invalid::Range("must contain {code}")));
        }
        Ok(self)
    }

    /// The variables in the order they first appear.
    pub fn vars(&self) -> Vec<Var> {
        let mut vars = Vec::new();
        for piece in &self.pieces {
            if let Piece::Var(v) = piece {
                if !vars.contains(v) {
                    vars.push(*v);
                }
            }
        }
        vars
    }

    /// The text with each variable filled by `value` (blank when it has none).
    pub fn render(&self, value: impl Fn(Var) -> Option<String>) -> String {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.clone(),
                Piece::Var(v) => value(*v).unwrap_or_default(),
            })
            .collect()
    }

    /// The variables with their values, in order, for the provider.
    pub fn params(&self, value: impl Fn(Var) -> Option<String>) -> Vec<(Var, String)> {
        self.vars()
            .into_iter()
            .map(|v| (v, value(v).unwrap_or_default()))
            .collect()
    }

    /// The text as the owner wrote it, variables as `{name}`.
    pub fn source(&self) -> String {
        self.render(|v| Some(format!("{{{}}}", v.as_str())))
    }

    /// Whether the text contains `phrase` outside its variables.
    fn mentions(&self, phrase: &str) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Text(t) if t.contains(phrase)))
    }

    /// With the opt-out the providers require of a marketing message (拒收请
    /// 回复R) at its end, unless it already carries it.
    pub fn with_opt_out(mut self, language: Language) -> Body {
        let opt_out = opt_out(language);
        if !self.mentions(opt_out) {
            self.pieces.push(Piece::Text(format!(" {opt_out}")));
        }
        self
    }
}

/// The opt-out a marketing message ends with, in the member's language.
pub fn opt_out(language: Language) -> &'static str {
    match language {
        Language::ZhCn => "拒收请回复R",
        Language::ZhTw => "拒收請回覆R",
        Language::En => "Reply R to opt out",
    }
}

/// How a message names a member who has given no name.
pub fn member_word(language: Language) -> &'static str {
    match language {
        Language::ZhCn => "会员",
        Language::ZhTw => "會員",
        Language::En => "member",
    }
}

/// How a message will be billed: its length with the signature 【…】, and
/// the segments that makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Length {
    pub chars: usize,
    pub segments: usize,
}

pub fn length(signature: &str, text: &str) -> Length {
    let chars = signature.chars().count() + 2 + text.chars().count();
    let segments = if chars <= SEGMENT {
        1
    } else {
        chars.div_ceil(LONG_SEGMENT)
    };
    Length { chars, segments }
}

/// The sign-in text when the owner has entered none (log and webhook
/// delivery; a provider needs the owner's approved template).
pub fn default_sign_in(language: Language) -> Body {
    let text = match language {
        Language::ZhCn => "您的验证码为{code}，5分钟内有效，请勿告诉他人。",
        Language::ZhTw => "您的驗證碼為{code}，5分鐘內有效，請勿告訴他人。",
        Language::En => "Your sign-in code is {code}. It is valid for 5 minutes; do not share it.",
    };
    Body::parse("body", text).expect("the default sign-in text parses")
}

/// Example values, for the preview of a template.
pub fn sample(brand: &Brand, language: Language, var: Var) -> String {
    match (var, language) {
        (Var::Code, _) => "123456".into(),
        (Var::Name, Language::ZhCn | Language::ZhTw) => "张三".into(),
        (Var::Name, Language::En) => "Alex".into(),
        (Var::Points, _) => "1280".into(),
        (Var::Coupon, Language::ZhCn) => "满200减50券".into(),
        (Var::Coupon, Language::ZhTw) => "滿200減50券".into(),
        (Var::Coupon, Language::En) => "¥50 off ¥200".into(),
        (Var::Date, _) => local_day(language, jiff::civil::date(2026, 12, 31)),
        (Var::Brand, _) => brand.name.clone(),
    }
}

/// A day as a message says it: 12月31日, or 31 Dec.
pub fn local_day(language: Language, date: jiff::civil::Date) -> String {
    let (month, day) = (date.month(), date.day());
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    match language {
        Language::ZhCn | Language::ZhTw => format!("{month}月{day}日"),
        Language::En => format!(
            "{day} {}",
            MONTHS[usize::try_from(month - 1).unwrap_or(0).min(11)]
        ),
    }
}

/// A coupon in a few words, for `{coupon}`: 满200减50元券, 8折券,
/// 30元代金券, 赠饮品 (or the English).
pub fn coupon_words(rule: &crate::coupons::Rule, language: Language) -> String {
    use crate::coupons::Kind;
    use crate::money::yuan_figure;
    let off = yuan_figure(rule.amount_off_fen.unwrap_or(0));
    let threshold = yuan_figure(rule.threshold_fen);
    let item = rule.gift_item.clone().unwrap_or_default();
    let percent = rule.percent_off.unwrap_or(0);
    // 20 % off is 8折, 15 % off 8.5折.
    let zhe = {
        let tenths = 100 - percent;
        match tenths % 10 {
            0 => format!("{}", tenths / 10),
            r => format!("{}.{r}", tenths / 10),
        }
    };
    match (rule.kind, language) {
        (Kind::AmountOff, Language::ZhCn) => format!("满{threshold}减{off}元券"),
        (Kind::AmountOff, Language::ZhTw) => format!("滿{threshold}減{off}元券"),
        (Kind::AmountOff, Language::En) => format!("¥{off} off ¥{threshold}"),
        (Kind::PercentOff, Language::ZhCn | Language::ZhTw) => format!("{zhe}折券"),
        (Kind::PercentOff, Language::En) => format!("{percent}% off"),
        (Kind::Voucher, Language::ZhCn) => format!("{off}元代金券"),
        (Kind::Voucher, Language::ZhTw) => format!("{off}元代金券"),
        (Kind::Voucher, Language::En) => format!("¥{off} voucher"),
        (Kind::Gift, Language::ZhCn) => format!("赠{item}"),
        (Kind::Gift, Language::ZhTw) => format!("贈{item}"),
        (Kind::Gift, Language::En) => format!("free {item}"),
    }
}

/// Which message a template is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TemplateFor {
    SignIn,
    Automation(AutomationId),
}

impl TemplateFor {
    pub fn purpose(self) -> Purpose {
        match self {
            TemplateFor::SignIn => Purpose::SignIn,
            TemplateFor::Automation(_) => Purpose::Marketing,
        }
    }

    /// As a form sends it: `sign_in` or `automation:12`.
    pub fn parse(s: &str) -> Option<TemplateFor> {
        match s {
            "sign_in" => Some(TemplateFor::SignIn),
            _ => s
                .strip_prefix("automation:")?
                .parse()
                .ok()
                .map(|id| TemplateFor::Automation(AutomationId(id))),
        }
    }

    pub fn key(self) -> String {
        match self {
            TemplateFor::SignIn => "sign_in".into(),
            TemplateFor::Automation(id) => format!("automation:{}", id.0),
        }
    }

    fn automation(self) -> Option<i64> {
        match self {
            TemplateFor::SignIn => None,
            TemplateFor::Automation(id) => Some(id.0),
        }
    }
}

/// A provider template the owner entered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub id: i64,
    pub purpose: TemplateFor,
    pub language: Language,
    /// The provider's template code; empty: text only (log and webhook).
    pub code: String,
    pub body: Body,
}

impl Template {
    /// The text with example values, the opt-out on a marketing message,
    /// and its billed length under `brand`'s signature.
    pub fn preview(&self, brand: &Brand) -> (String, Length) {
        let body = match self.purpose {
            TemplateFor::SignIn => self.body.clone(),
            TemplateFor::Automation(_) => self.body.clone().with_opt_out(self.language),
        };
        let text = body.render(|v| Some(sample(brand, self.language, v)));
        let length = length(brand.signature(), &text);
        (text, length)
    }
}

/// A template code as providers write them: letters, digits, `_` and `-`.
fn check_code(code: &str) -> Result<String> {
    let code = code.trim();
    if code.chars().count() > 40 {
        return Err(Error::invalid(
            "template_code",
            Invalid::TooLong { max: 40 },
        ));
    }
    if !code
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(Error::invalid("template_code", Invalid::Characters));
    }
    Ok(code.to_owned())
}

type TemplateRow = (i64, Option<i64>, String, String, String);

fn from_row((id, automation, language, code, body): TemplateRow) -> Option<Template> {
    Some(Template {
        id,
        purpose: match automation {
            None => TemplateFor::SignIn,
            Some(a) => TemplateFor::Automation(AutomationId(a)),
        },
        language: Language::from_tag(&language)?,
        code,
        body: Body::parse("body", &body).ok()?,
    })
}

/// A brand's templates: sign-in first, then by automation and language.
pub async fn list(db: &Db, brand: BrandId) -> Result<Vec<Template>> {
    let rows: Vec<TemplateRow> = sqlx::query_as(
        "SELECT id, automation_id, language, provider_code, body FROM sms_templates \
         WHERE brand_id = $1 ORDER BY COALESCE(automation_id, 0), language",
    )
    .bind(brand.0)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().filter_map(from_row).collect())
}

/// The template a message for `purpose` in `language` goes out under: the
/// member's language, else the brand's, else any the owner entered.
pub async fn choose(
    conn: &mut AnyConnection,
    brand: &Brand,
    purpose: TemplateFor,
    language: Language,
) -> Result<Option<Template>> {
    let rows: Vec<TemplateRow> = sqlx::query_as(
        "SELECT id, automation_id, language, provider_code, body FROM sms_templates \
         WHERE brand_id = $1 AND COALESCE(automation_id, 0) = $2 ORDER BY id",
    )
    .bind(brand.id.0)
    .bind(purpose.automation().unwrap_or(0))
    .fetch_all(&mut *conn)
    .await?;
    let all: Vec<Template> = rows.into_iter().filter_map(from_row).collect();
    let pick = |l: Language| all.iter().find(|t| t.language == l).cloned();
    Ok(pick(language)
        .or_else(|| pick(brand.default_language))
        .or_else(|| all.first().cloned()))
}

/// A template as the owner's form sends it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TemplateForm {
    /// `sign_in` or `automation:ID`.
    pub purpose: String,
    pub language: String,
    pub code: String,
    pub body: String,
}

/// Saves the template for a message and language (replacing the one there
/// was). An automation's template is a marketing message: the providers
/// require its approved text to carry the opt-out (拒收请回复R), so one
/// without it is refused rather than sent without it; it names the coupon
/// only if the automation gives one.
pub async fn save(db: &Db, clock: &dyn Clock, who: &Owner, form: TemplateForm) -> Result<i64> {
    let purpose =
        TemplateFor::parse(&form.purpose).ok_or(Error::invalid("template_for", Invalid::Format))?;
    let language = Language::from_tag(&form.language)
        .ok_or(Error::invalid("template_language", Invalid::Format))?;
    let code = check_code(&form.code)?;
    let body =
        Body::parse("template_body", &form.body)?.check_for("template_body", purpose.purpose())?;
    if purpose.purpose() == Purpose::Marketing && !body.mentions(opt_out(language)) {
        return Err(Error::invalid("template_opt_out", Invalid::Format));
    }
    let brand = who.brand().id;
    let mut tx = db.begin().await?;
    if let Some(a) = purpose.automation() {
        let found: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT template_id FROM automations WHERE brand_id = $1 AND id = $2")
                .bind(brand.0)
                .bind(a)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((coupon,)) = found else {
            return Err(Error::AutomationNotFound);
        };
        if coupon.is_none() && body.vars().contains(&Var::Coupon) {
            return Err(Error::invalid("template_body", Invalid::Format));
        }
    }
    sqlx::query(
        "DELETE FROM sms_templates WHERE brand_id = $1 AND COALESCE(automation_id, 0) = $2 AND language = $3",
    )
    .bind(brand.0)
    .bind(purpose.automation().unwrap_or(0))
    .bind(language.tag())
    .execute(&mut *tx)
    .await?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO sms_templates (brand_id, automation_id, language, provider_code, body, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(brand.0)
    .bind(purpose.automation())
    .bind(language.tag())
    .bind(&code)
    .bind(body.source())
    .bind(clock.now_ms())
    .fetch_one(&mut *tx)
    .await?;
    let change = Change {
        action: "sms_template.save",
        store: None,
        target_type: "sms_template",
        target_id: Some(id),
        before: None,
        after: Some(json!({
            "purpose": purpose.key(), "language": language.tag(), "code": code, "body": body.source(),
        })),
    };
    audit::record(&mut tx, clock, &who.actor(), change).await?;
    tx.commit().await?;
    Ok(id)
}

/// Removes a template of the owner's brand.
pub async fn remove(db: &Db, clock: &dyn Clock, who: &Owner, id: i64) -> Result<()> {
    let brand = who.brand().id;
    let mut tx = db.begin().await?;
    let gone = sqlx::query("DELETE FROM sms_templates WHERE brand_id = $1 AND id = $2")
        .bind(brand.0)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if gone != 1 {
        return Err(Error::SmsTemplateNotFound);
    }
    let change = Change {
        action: "sms_template.remove",
        store: None,
        target_type: "sms_template",
        target_id: Some(id),
        before: None,
        after: None,
    };
    audit::record(&mut tx, clock, &who.actor(), change).await?;
    tx.commit().await?;
    Ok(())
}

/// Seeds one of the demo brand's templates, unless there is one (the fake
/// providers accept any code).
pub(crate) async fn seed(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: BrandId,
    purpose: TemplateFor,
    language: Language,
    code: &str,
    body: &str,
) -> Result<()> {
    let body = Body::parse("body", body)?.check_for("body", purpose.purpose())?;
    let body = match purpose.purpose() {
        Purpose::SignIn => body,
        Purpose::Marketing => body.with_opt_out(language),
    };
    if body.source().chars().count() > MAX_BODY {
        return Err(Error::invalid(
            "template_body",
            Invalid::TooLong { max: MAX_BODY },
        ));
    }
    sqlx::query(
        "INSERT INTO sms_templates (brand_id, automation_id, language, provider_code, body, updated_at) \
         SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS (SELECT 1 FROM sms_templates \
           WHERE brand_id = $1 AND COALESCE(automation_id, 0) = $7 AND language = $3)",
    )
    .bind(brand.0)
    .bind(purpose.automation())
    .bind(language.tag())
    .bind(code)
    .bind(body.source())
    .bind(clock.now_ms())
    .bind(purpose.automation().unwrap_or(0))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(v: Var) -> Option<String> {
        Some(match v {
            Var::Code => "042917".into(),
            Var::Name => "王芳".into(),
            Var::Points => "300".into(),
            Var::Coupon => "生日券".into(),
            Var::Date => "3月8日".into(),
            Var::Brand => "小馆".into(),
        })
    }

    #[test]
    fn both_ways_of_writing_a_variable_fill_the_same() {
        let ali = Body::parse("body", "您的验证码为${code}，请勿告诉他人").unwrap();
        let plain = Body::parse("body", "您的验证码为{code}，请勿告诉他人").unwrap();
        assert_eq!(ali, plain);
        assert_eq!(ali.render(values), "您的验证码为042917，请勿告诉他人");
        assert_eq!(ali.source(), "您的验证码为{code}，请勿告诉他人");
    }

    #[test]
    fn variables_come_in_the_order_they_first_appear() {
        let b = Body::parse(
            "body",
            "{name}，{brand}送您{coupon}，{name}请于{date}前使用",
        )
        .unwrap();
        assert_eq!(
            b.vars(),
            vec![Var::Name, Var::Brand, Var::Coupon, Var::Date]
        );
        let params = b.params(values);
        assert_eq!(params[0], (Var::Name, "王芳".into()));
        assert_eq!(params.len(), 4);
    }

    #[test]
    fn unknown_or_unclosed_variables_are_refused() {
        for bad in ["您好{nmae}", "您好{name", "您好name}", "{}", "  "] {
            assert!(Body::parse("body", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_sign_in_template_carries_the_code_and_nothing_of_the_member() {
        let no_code = Body::parse("body", "欢迎光临{brand}").unwrap();
        assert!(no_code.check_for("body", Purpose::SignIn).is_err());
        let nosy = Body::parse("body", "{name}的验证码{code}").unwrap();
        assert!(nosy.check_for("body", Purpose::SignIn).is_err());
        let marketing_code = Body::parse("body", "验证码{code}").unwrap();
        assert!(marketing_code
            .check_for("body", Purpose::Marketing)
            .is_err());
        assert!(default_sign_in(Language::En)
            .check_for("body", Purpose::SignIn)
            .is_ok());
    }

    #[test]
    fn marketing_gets_the_opt_out_once() {
        let b = Body::parse("body", "{name}生日快乐").unwrap();
        let once = b.with_opt_out(Language::ZhCn);
        assert_eq!(once.render(values), "王芳生日快乐 拒收请回复R");
        assert_eq!(once.clone().with_opt_out(Language::ZhCn), once);
    }

    #[test]
    fn seventy_characters_with_the_signature_are_one_segment() {
        // 【小馆】 is 4 characters.
        assert_eq!(length("小馆", &"字".repeat(66)).segments, 1);
        assert_eq!(length("小馆", &"字".repeat(67)).segments, 2);
        assert_eq!(length("小馆", &"字".repeat(67)).chars, 71);
        assert_eq!(length("小馆", &"字".repeat(130)).segments, 2);
        assert_eq!(length("小馆", &"字".repeat(131)).segments, 3);
    }

    #[test]
    fn coupons_read_as_diners_know_them() {
        use crate::coupons::Rule;
        assert_eq!(
            coupon_words(&Rule::amount_off(20_000, 5_000), Language::ZhCn),
            "满200减50元券"
        );
        assert_eq!(
            coupon_words(&Rule::percent_off(20, None), Language::ZhCn),
            "8折券"
        );
        assert_eq!(
            coupon_words(&Rule::percent_off(15, None), Language::ZhTw),
            "8.5折券"
        );
        assert_eq!(
            coupon_words(&Rule::voucher(3_000), Language::En),
            "¥30 voucher"
        );
        assert_eq!(coupon_words(&Rule::gift("饮品"), Language::ZhCn), "赠饮品");
    }

    #[test]
    fn purposes_round_trip_through_the_form() {
        for p in [
            TemplateFor::SignIn,
            TemplateFor::Automation(AutomationId(12)),
        ] {
            assert_eq!(TemplateFor::parse(&p.key()), Some(p));
        }
        assert_eq!(TemplateFor::parse("automation:x"), None);
    }
}
