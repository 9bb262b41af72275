//! `/admin/coupons`: coupon templates (owners for the brand, managers for
//! their stores), with a preview of the rule in the words members read.

// Server functions take a form's fields as arguments; forms have many.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use crate::functions::form::staff_form;
use leptos::prelude::*;
use loyalty::access::Manager;
use loyalty::{coupons, SystemClock};
use serde::{Deserialize, Serialize};

use crate::functions::admin::{StaffInfo, StaffLoad};
#[cfg(feature = "ssr")]
use crate::i18n::*;

/// The editor's fields as typed (also the preview's query string).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TemplateForm {
    pub kind: String,
    pub amount: String,
    pub threshold: String,
    pub percent: String,
    pub max_off: String,
    pub gift: String,
    pub weekdays: Vec<i8>,
    pub from_time: String,
    pub until_time: String,
    pub valid_days: String,
    pub starts: String,
    pub ends: String,
    pub stores: Vec<i64>,
    pub min_tier: String,
    pub stock: String,
    pub per_member: String,
    pub stacks: Option<String>,
    pub claimable: Option<String>,
    pub points_price: String,
    pub welcome: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateLine {
    pub id: i64,
    pub title: String,
    pub conditions: String,
    pub stores: String,
    pub issued: String,
    pub offered: String,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffersPage {
    pub staff: StaffInfo,
    pub templates: Vec<TemplateLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditorPage {
    pub staff: StaffInfo,
    pub form: TemplateForm,
    /// (id, name) of the stores this staff member may choose.
    pub stores: Vec<(i64, String)>,
    /// A manager must pick stores; an owner may leave them all.
    pub must_pick_stores: bool,
    pub tiers: Vec<(i64, String)>,
    /// The rule in the members' words, or the refusal, when previewing.
    pub preview: Option<Result<Vec<String>, AppError>>,
}

#[cfg(feature = "ssr")]
pub mod edge {
    use super::*;
    use loyalty::coupons::{NewTemplate, Rule};
    use loyalty::error::Invalid;
    use loyalty::Error;

    /// A template as the list shows it, in the brand's language.
    pub fn line(
        brand: &loyalty::brands::Brand,
        stores: &[loyalty::brands::stores::Store],
        t: &loyalty::coupons::Template,
    ) -> TemplateLine {
        let locale = crate::locale::to_locale(brand.default_language);
        let day = |ms: i64| loyalty::points::rules::local_date(&brand.time_zone, ms);
        let validity = match (t.ends_at, t.valid_days) {
            (Some(end), _) => {
                td_string!(locale, offer_valid_until, date = day(end - 1)).to_string()
            }
            (None, Some(d)) => td_string!(locale, offer_valid_days, days = d).to_string(),
            _ => String::new(),
        };
        let conditions = [
            crate::coupon_text::threshold(locale, &t.rule),
            crate::coupon_text::window(locale, &t.rule),
            Some(validity),
        ];
        let offered = [
            t.welcome.then_some("welcome"),
            t.claimable.then_some("claim"),
            t.points_price.map(|_| "exchange"),
        ];
        TemplateLine {
            id: t.id.0,
            title: crate::coupon_text::title(locale, &t.rule),
            conditions: (conditions.into_iter().flatten())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" · "),
            stores: match &t.stores {
                None => String::new(),
                Some(ids) => (stores.iter().filter(|s| ids.contains(&s.id)))
                    .map(|s| s.name.clone())
                    .collect::<Vec<_>>()
                    .join("、"),
            },
            issued: match t.stock_total {
                Some(total) => format!("{} / {total}", t.stock_issued),
                None => t.stock_issued.to_string(),
            },
            offered: offered.into_iter().flatten().collect::<Vec<_>>().join(","),
            active: t.active,
        }
    }

    fn yuan(field: &'static str, s: &str) -> loyalty::Result<Option<i64>> {
        if s.trim().is_empty() {
            return Ok(None);
        }
        loyalty::staff::till::parse_yuan(field, s)
            .map(|f| Some(f.get()))
            .map_err(|_| Error::invalid(field, Invalid::Format))
    }

    fn number(field: &'static str, s: &str) -> loyalty::Result<Option<i64>> {
        if s.trim().is_empty() {
            return Ok(None);
        }
        s.trim()
            .parse()
            .map(Some)
            .map_err(|_| Error::invalid(field, Invalid::Format))
    }

    fn minute(field: &'static str, s: &str) -> loyalty::Result<Option<i64>> {
        if s.trim().is_empty() {
            return Ok(None);
        }
        let (h, m) = s
            .trim()
            .split_once(':')
            .ok_or(Error::invalid(field, Invalid::Format))?;
        let (h, m): (i64, i64) = (
            h.parse()
                .map_err(|_| Error::invalid(field, Invalid::Format))?,
            m.parse()
                .map_err(|_| Error::invalid(field, Invalid::Format))?,
        );
        if !(0..=24).contains(&h) || !(0..60).contains(&m) || h * 60 + m > 1440 {
            return Err(Error::invalid(field, Invalid::Format));
        }
        Ok(Some(h * 60 + m))
    }

    /// The template the form describes, checked as the database would.
    pub fn template(
        brand: &loyalty::brands::Brand,
        f: &TemplateForm,
    ) -> loyalty::Result<NewTemplate> {
        let mut rule = match f.kind.as_str() {
            "amount_off" => Rule::amount_off(
                yuan("threshold_fen", &f.threshold)?.unwrap_or(0),
                yuan("amount_off_fen", &f.amount)?
                    .ok_or(Error::invalid("amount_off_fen", Invalid::Empty))?,
            ),
            "percent_off" => Rule::percent_off(
                number("percent_off", &f.percent)?
                    .ok_or(Error::invalid("percent_off", Invalid::Empty))?,
                yuan("max_off_fen", &f.max_off)?,
            )
            .with_threshold(yuan("threshold_fen", &f.threshold)?.unwrap_or(0)),
            "voucher" => Rule::voucher(
                yuan("amount_off_fen", &f.amount)?
                    .ok_or(Error::invalid("amount_off_fen", Invalid::Empty))?,
            )
            .with_threshold(yuan("threshold_fen", &f.threshold)?.unwrap_or(0)),
            "gift" => Rule::gift(f.gift.trim())
                .with_threshold(yuan("threshold_fen", &f.threshold)?.unwrap_or(0)),
            _ => return Err(Error::invalid("kind", Invalid::Empty)),
        };
        let mut days: Vec<i8> = f
            .weekdays
            .iter()
            .copied()
            .filter(|d| (1..=7).contains(d))
            .collect();
        days.sort_unstable();
        days.dedup();
        rule = rule.on_weekdays(&days);
        match (
            minute("minutes", &f.from_time)?,
            minute("minutes", &f.until_time)?,
        ) {
            (Some(a), Some(b)) if a < b => rule = rule.between(a, b),
            (None, None) => {}
            _ => return Err(Error::invalid("minutes", Invalid::Format)),
        }
        rule.check()?;
        let zone = &brand.time_zone;
        let starts_at = match f.starts.trim() {
            "" => None,
            d => Some(
                loyalty::points::rules::local_midnight(zone, d, 0)
                    .ok_or(Error::invalid("validity", Invalid::Format))?,
            ),
        };
        let ends_at = match f.ends.trim() {
            "" => None,
            d => Some(
                loyalty::points::rules::local_midnight(zone, d, 1)
                    .ok_or(Error::invalid("validity", Invalid::Format))?,
            ),
        };
        let valid_days = if ends_at.is_some() {
            None
        } else {
            number("valid_days", &f.valid_days)?.or(Some(30))
        };
        Ok(NewTemplate {
            rule,
            starts_at,
            ends_at,
            valid_days,
            stores: (!f.stores.is_empty()).then(|| {
                f.stores
                    .iter()
                    .map(|s| loyalty::brands::stores::StoreId(*s))
                    .collect()
            }),
            min_tier_rank: number("min_tier_rank", &f.min_tier)?.unwrap_or(0),
            stock_total: number("stock_total", &f.stock)?,
            per_member_limit: number("per_member_limit", &f.per_member)?,
            stacks_with_tier: f.stacks.is_some(),
            claimable: f.claimable.is_some(),
            points_price: number("points_price", &f.points_price)?,
            welcome: f.welcome.is_some(),
        })
    }

    /// The rule as members read it: title, then each condition.
    pub fn words(brand: &loyalty::brands::Brand, t: &NewTemplate) -> Vec<String> {
        let lang = brand.default_language;
        [
            Some(crate::coupon_text::title(
                crate::locale::to_locale(lang),
                &t.rule,
            )),
            crate::coupon_text::threshold(crate::locale::to_locale(lang), &t.rule),
            crate::coupon_text::window(crate::locale::to_locale(lang), &t.rule),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

pub async fn load_offers() -> Result<StaffLoad<OffersPage>, AppError> {
    use crate::functions::admin::edge::manager;
    let state = crate::server::portal_state()?;
    let (_, brand, staff) = match manager(&state, "/admin/coupons").await? {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let stores = loyalty::brands::stores::list(&state.db, brand.id).await?;
    let templates = loyalty::coupons::all_templates(&state.db, brand.id).await?;
    Ok(StaffLoad::Page(Box::new(OffersPage {
        staff,
        templates: (templates.iter())
            .map(|t| edge::line(&brand, &stores, t))
            .collect(),
    })))
}

/// The editor; `query` is the preview's query string (empty: a blank form).
pub async fn load_offer_editor(query: String) -> Result<StaffLoad<EditorPage>, AppError> {
    use crate::functions::admin::edge::manager;
    use crate::server::portal_state;

    let state = portal_state()?;
    let (session, brand, info) = match manager(&state, "/admin/coupons/new").await? {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let query = query.trim_start_matches('?');
    // Browsers send `weekdays%5B%5D=3`: the lenient mode reads encoded brackets.
    let form: TemplateForm = serde_qs::Config::new(5, false)
        .deserialize_str(query)
        .unwrap_or_default();
    let preview = (!query.is_empty()).then(|| {
        edge::template(&brand, &form)
            .map(|t| edge::words(&brand, &t))
            .map_err(AppError::from)
    });
    let scope = session.scope().map(<[_]>::to_vec);
    let stores = loyalty::brands::stores::list(&state.db, brand.id)
        .await?
        .into_iter()
        .filter(|s| scope.as_ref().is_none_or(|m| m.contains(&s.id)))
        .map(|s| (s.id.0, s.name))
        .collect();
    let mut conn = crate::server::connection(&state).await?;
    let table = loyalty::points::tiers::load(&mut conn, brand.id).await?;
    let lang = brand.default_language;
    Ok(StaffLoad::Page(Box::new(EditorPage {
        staff: info,
        form,
        stores,
        must_pick_stores: scope.is_some(),
        tiers: table
            .tiers()
            .iter()
            .map(|t| (t.rank, t.name(lang).to_owned()))
            .collect(),
        preview,
    })))
}

#[server(prefix = "/fn", endpoint = "create_offer")]
pub async fn create_offer(
    kind: String,
    #[server(default)] amount: String,
    #[server(default)] threshold: String,
    #[server(default)] percent: String,
    #[server(default)] max_off: String,
    #[server(default)] gift: String,
    #[server(default)] weekdays: Vec<i8>,
    #[server(default)] from_time: String,
    #[server(default)] until_time: String,
    #[server(default)] valid_days: String,
    #[server(default)] starts: String,
    #[server(default)] ends: String,
    #[server(default)] stores: Vec<i64>,
    #[server(default)] min_tier: String,
    #[server(default)] stock: String,
    #[server(default)] per_member: String,
    #[server(default)] stacks: Option<String>,
    #[server(default)] claimable: Option<String>,
    #[server(default)] points_price: String,
    #[server(default)] welcome: Option<String>,
) -> Result<(), AppError> {
    let form = TemplateForm {
        kind,
        amount,
        threshold,
        percent,
        max_off,
        gift,
        weekdays,
        from_time,
        until_time,
        valid_days,
        starts,
        ends,
        stores,
        min_tier,
        stock,
        per_member,
        stacks,
        claimable,
        points_price,
        welcome,
    };
    // Refused, the editor opens again with everything as it was typed.
    let back = format!(
        "/admin/coupons/new?{}",
        serde_qs::to_string(&form).unwrap_or_default()
    );
    staff_form(&back, async |state, manager: Manager| {
        let template = edge::template(manager.brand(), &form)?;
        let create = async |tx: &mut sqlx::AnyConnection| {
            coupons::setup::create(tx, &SystemClock, &manager, &template).await
        };
        let id = state.db.in_transaction(create).await?;
        Ok(format!("/admin/coupons?saved=1#t{}", id.0))
    })
    .await
}

#[server(prefix = "/fn", endpoint = "pause_offer")]
pub async fn pause_offer(id: i64, active: bool) -> Result<(), AppError> {
    let template = loyalty::coupons::TemplateId(id);
    staff_form("/admin/coupons", async |state, manager| {
        let set = async |tx: &mut sqlx::AnyConnection| {
            coupons::setup::set_active(tx, &SystemClock, &manager, template, active).await
        };
        state.db.in_transaction(set).await?;
        Ok(format!("/admin/coupons?saved=1#t{id}"))
    })
    .await
}
