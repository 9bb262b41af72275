//! The owner's stored-value page (`/admin/stored-value`): top-up offers,
//! how payments split, and the liability report with its CSV.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::functions::admin::{StaffInfo, StaffLoad};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAdminPage {
    pub staff: StaffInfo,
    pub screen: loyalty::stored_value::report::Screen,
}

pub async fn load_stored_admin() -> Result<StaffLoad<StoredAdminPage>, AppError> {
    let state = crate::server::portal_state()?;
    let (owner, _, staff) =
        match crate::functions::admin::owner(&state, "/admin/stored-value").await? {
            Ok(s) => s,
            Err(refused) => return Ok(refused),
        };
    let clock = &loyalty::SystemClock;
    let screen = loyalty::stored_value::report::screen(&state.db, clock, &owner).await?;
    Ok(StaffLoad::Page(Box::new(StoredAdminPage { staff, screen })))
}

#[cfg(feature = "ssr")]
pub mod edge {
    use loyalty::brands::Brand;
    use loyalty::money::yuan_decimal;
    use loyalty::stored_value::report::Liability;

    use crate::i18n::*;
    use loyalty::marketing::insight::csv_cell;

    /// The liability report as CSV, in the brand's language: the totals,
    /// then per store, per month and the cross-store settlement, one row
    /// each, the figures in their own columns.
    pub fn csv(brand: &Brand, report: &Liability) -> String {
        let locale = crate::functions::members::BrandInfo::from(brand).default_locale;
        let mut out = String::from("\u{feff}");
        let mut row = |cells: [String; 11]| {
            out.push_str(&cells.map(|c| csv_cell(&c)).join(","));
            out.push_str("\r\n");
        };
        let blank = String::new;
        row([
            td_string!(locale, sva_col_part).to_string(),
            td_string!(locale, sva_col_name).to_string(),
            td_string!(locale, sva_col_principal).to_string(),
            td_string!(locale, sva_col_bonus).to_string(),
            td_string!(locale, sva_col_members).to_string(),
            td_string!(locale, sva_paid_in).to_string(),
            td_string!(locale, sva_topped_up).to_string(),
            td_string!(locale, sva_bonus_given).to_string(),
            td_string!(locale, sva_spent_principal).to_string(),
            td_string!(locale, sva_spent_bonus).to_string(),
            td_string!(locale, sva_refunded).to_string(),
        ]);
        row([
            td_string!(locale, sva_total).to_string(),
            blank(),
            yuan_decimal(report.outstanding.principal_fen),
            yuan_decimal(report.outstanding.bonus_fen),
            report.members.to_string(),
            blank(),
            blank(),
            blank(),
            blank(),
            blank(),
            blank(),
        ]);
        for s in &report.by_store {
            row([
                td_string!(locale, sva_by_store).to_string(),
                s.store.clone(),
                yuan_decimal(s.outstanding.principal_fen),
                yuan_decimal(s.outstanding.bonus_fen),
                blank(),
                yuan_decimal(s.paid_in_fen),
                blank(),
                blank(),
                blank(),
                blank(),
                blank(),
            ]);
        }
        for m in &report.by_month {
            row([
                td_string!(locale, sva_by_month).to_string(),
                m.month.clone(),
                yuan_decimal(m.outstanding_at_end.principal_fen),
                yuan_decimal(m.outstanding_at_end.bonus_fen),
                blank(),
                blank(),
                yuan_decimal(m.topped_up_fen),
                yuan_decimal(m.bonus_given_fen),
                yuan_decimal(m.spent_principal_fen),
                yuan_decimal(m.spent_bonus_fen),
                yuan_decimal(m.refunded_fen),
            ]);
        }
        for s in &report.settlement {
            row([
                td_string!(locale, sva_settlement).to_string(),
                format!("{} → {}", s.topped_up_at, s.spent_at),
                yuan_decimal(s.principal_fen),
                yuan_decimal(s.bonus_fen),
                blank(),
                blank(),
                blank(),
                blank(),
                blank(),
                blank(),
                blank(),
            ]);
        }
        out
    }
}

/// A new top-up offer: 充 `min` 送 `bonus` (yuan), from `starts` until the
/// end of `ends` (dates in the brand's calendar; blank: from today, open
/// ended), at every store or at `store`.
#[server(prefix = "/fn", endpoint = "add_top_up_offer")]
pub async fn add_top_up_offer(
    min: String,
    bonus: String,
    #[server(default)] starts: String,
    #[server(default)] ends: String,
    #[server(default)] store: String,
) -> Result<(), AppError> {
    use crate::functions::form::staff_form;
    use loyalty::points::rules::local_midnight;
    use loyalty::stored_value::rules::{self, NewRule};
    use loyalty::{brands::stores::StoreId, error::Invalid, staff::till::parse_yuan, Clock};
    staff_form(
        "/admin/stored-value",
        async |state, owner: loyalty::access::Owner| {
            let clock = &loyalty::SystemClock;
            let zone = owner.brand().time_zone.clone();
            let date =
                |field: &'static str, text: &str, plus: i64| -> loyalty::Result<Option<i64>> {
                    if text.trim().is_empty() {
                        return Ok(None);
                    }
                    local_midnight(&zone, text, plus)
                        .map(Some)
                        .ok_or(loyalty::Error::invalid(field, Invalid::Format))
                };
            let rule = NewRule {
                min_fen: parse_yuan("min_fen", &min)?.get(),
                bonus_fen: parse_yuan("bonus_fen", &bonus)?.get(),
                starts_at: date("starts_at", &starts, 0)?.unwrap_or_else(|| clock.now_ms()),
                ends_at: date("ends_at", &ends, 1)?,
                stores: match store.trim() {
                    "" | "all" => None,
                    id => Some(vec![StoreId(
                        id.parse().map_err(|_| loyalty::Error::StoreNotFound)?,
                    )]),
                },
            };
            let id = rules::add(&state.db, clock, &owner, &rule).await?;
            Ok(format!("/admin/stored-value?saved=1#offer-{id}"))
        },
    )
    .await
}

#[server(prefix = "/fn", endpoint = "retire_top_up_offer")]
pub async fn retire_top_up_offer(id: i64) -> Result<(), AppError> {
    use crate::functions::form::staff_form;
    staff_form(
        "/admin/stored-value",
        async |state, owner: loyalty::access::Owner| {
            let clock = &loyalty::SystemClock;
            loyalty::stored_value::rules::retire(&state.db, clock, &owner, id).await?;
            Ok("/admin/stored-value?saved=1".to_owned())
        },
    )
    .await
}

#[server(prefix = "/fn", endpoint = "save_stored_split")]
pub async fn save_stored_split(split: String) -> Result<(), AppError> {
    use crate::functions::form::staff_form;
    use loyalty::stored_value::{rules, Split};
    staff_form(
        "/admin/stored-value#split",
        async |state, owner: loyalty::access::Owner| {
            let split = Split::parse(&split).ok_or(loyalty::Error::invalid(
                "split",
                loyalty::error::Invalid::Format,
            ))?;
            rules::set_split(&state.db, &loyalty::SystemClock, &owner, split).await?;
            Ok("/admin/stored-value?saved=1#split".to_owned())
        },
    )
    .await
}
