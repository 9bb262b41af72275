//! Stores, tables and their QR sheets (owners only): thin edges over
//! `loyalty::brands::setup`, each write audited in its transaction.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::functions::admin::{StaffInfo, StaffLoad};
use crate::functions::form::staff_form;
use loyalty::{brands::setup, SystemClock};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreLine {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub address: String,
    pub tables: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoresPage {
    pub staff: StaffInfo,
    pub stores: Vec<StoreLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableLine {
    pub id: i64,
    pub label: String,
    /// Where the table's QR code points.
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TablesPage {
    pub staff: StaffInfo,
    pub store: StoreLine,
    pub tables: Vec<TableLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrCard {
    pub label: String,
    /// The QR code as inline SVG, drawn on the server.
    pub svg: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrSheet {
    pub staff: StaffInfo,
    pub store_id: i64,
    pub store_name: String,
    pub cards: Vec<QrCard>,
}

/// Table cards on one A4 page (two columns, four rows).
pub const CARDS_PER_PAGE: usize = 8;

#[cfg(feature = "ssr")]
pub mod edge {
    use super::*;
    use loyalty::brands::stores::StoreId;
    use loyalty::brands::Brand;

    /// The store and its tables, with the address each QR code opens.
    pub async fn store_tables(
        state: &crate::server::PortalState,
        brand: &Brand,
        id: i64,
    ) -> loyalty::Result<(StoreLine, Vec<TableLine>)> {
        let store = loyalty::brands::stores::find(&state.db, brand.id, StoreId(id)).await?;
        let tables: Vec<TableLine> = loyalty::brands::tables::list(&state.db, brand.id, store.id)
            .await?
            .into_iter()
            .map(|t| TableLine {
                id: t.id.0,
                label: t.label,
                url: format!("{}/t/{}", state.public_url, t.token.as_str()),
            })
            .collect();
        Ok((
            StoreLine {
                id: store.id.0,
                code: store.code,
                name: store.name,
                address: store.address,
                tables: tables.len(),
            },
            tables,
        ))
    }

    /// Page `page` (from 1) of a store's table cards as one A4 SVG, in mm:
    /// two columns, four rows, cut lines dashed. None past the last page.
    pub fn sheet_svg(
        brand: &Brand,
        store: &str,
        tables: &[TableLine],
        page: usize,
    ) -> Option<String> {
        use crate::i18n::*;
        use crate::server::{qr_path, xml_escape};
        let locale = crate::functions::members::BrandInfo::from(brand).default_locale;
        let hint = xml_escape(td_string!(locale, setup_card_scan));
        let chunk = tables.chunks(CARDS_PER_PAGE).nth(page.checked_sub(1)?)?;
        let (brand_name, store) = (xml_escape(&brand.name), xml_escape(store));
        let color = brand.theme_color.as_str();
        let mut out = String::from(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="210mm" height="297mm" viewBox="0 0 210 297" font-family="sans-serif"><rect width="210" height="297" fill="#fff"/>"##,
        );
        for (i, t) in chunk.iter().enumerate() {
            let (x, y) = (7.5 + 100.0 * (i % 2) as f64, 10.0 + 70.0 * (i / 2) as f64);
            let (modules, d) = qr_path(&t.url)?;
            let scale = 46.0 / modules as f64;
            out.push_str(&format!(
                r##"<g transform="translate({x} {y})"><rect width="95" height="68" rx="3" fill="none" stroke="#8f8278" stroke-width="0.3" stroke-dasharray="2 1.5"/><text x="4" y="8" font-size="5" font-weight="700" fill="{color}">{brand_name}</text><g transform="translate(2 13) scale({scale})"><path d="{d}" fill="#000"/></g><text x="70.5" y="34" font-size="12" font-weight="700" text-anchor="middle" fill="#222">{label}</text><text x="70.5" y="43" font-size="4" text-anchor="middle" fill="#5d514a">{store}</text><text x="47.5" y="64" font-size="3.6" text-anchor="middle" fill="#5d514a">{hint}</text></g>"##,
                label = xml_escape(&t.label),
            ));
        }
        out.push_str("</svg>");
        Some(out)
    }
}

pub async fn load_stores() -> Result<StaffLoad<StoresPage>, AppError> {
    use crate::functions::admin::owner;
    use crate::server::portal_state;

    let state = portal_state()?;
    let (_, brand, info) = match owner(&state, "/admin/stores").await? {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let mut stores = Vec::new();
    for s in loyalty::brands::stores::list(&state.db, brand.id).await? {
        let (line, _) = edge::store_tables(&state, &brand, s.id.0).await?;
        stores.push(line);
    }
    Ok(StaffLoad::Page(Box::new(StoresPage {
        staff: info,
        stores,
    })))
}

/// Creates a store (no `id`) or saves one.
#[server(prefix = "/fn", endpoint = "save_store")]
pub async fn save_store(
    #[server(default)] id: Option<i64>,
    code: String,
    name: String,
    #[server(default)] address: String,
) -> Result<(), AppError> {
    use loyalty::brands::stores::{NewStore, StoreId};
    staff_form("/admin/stores", async |state, owner| {
        let (id, new) = (
            id.map(StoreId),
            NewStore {
                code,
                name,
                address,
            },
        );
        let store = state
            .db
            .in_transaction(async |tx| setup::save_store(tx, &SystemClock, &owner, id, new).await)
            .await?;
        Ok(format!("/admin/stores?saved=1#store-{}", store.id.0))
    })
    .await
}

pub async fn load_tables(store: i64) -> Result<StaffLoad<TablesPage>, AppError> {
    use crate::functions::admin::owner;
    use crate::server::portal_state;

    let state = portal_state()?;
    let (_, brand, info) = match owner(&state, &format!("/admin/stores/{store}")).await? {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    match edge::store_tables(&state, &brand, store).await {
        Ok((store, tables)) => Ok(StaffLoad::Page(Box::new(TablesPage {
            staff: info,
            store,
            tables,
        }))),
        Err(loyalty::Error::StoreNotFound) => {
            crate::server::set_status(http::StatusCode::NOT_FOUND);
            Ok(StaffLoad::Forbidden(info))
        }
        Err(e) => Err(e.into()),
    }
}

/// Adds one table (`count` 1, no number) or a numbered batch: `A`, from 1,
/// 12 tables → A1…A12.
#[server(prefix = "/fn", endpoint = "add_tables")]
pub async fn add_tables(
    store: i64,
    prefix: String,
    #[server(default)] from: Option<u32>,
    #[server(default)] count: Option<u32>,
) -> Result<(), AppError> {
    let back = format!("/admin/stores/{store}");
    staff_form(&back, async |state, owner| {
        let labels = setup::batch_labels(&prefix, from.unwrap_or(0), count.unwrap_or(1))?;
        let store = loyalty::brands::stores::StoreId(store);
        let add = async |tx: &mut sqlx::AnyConnection| {
            setup::add_tables(tx, &SystemClock, &owner, store, &labels).await
        };
        state.db.in_transaction(add).await?;
        Ok(format!("{back}?saved=1"))
    })
    .await
}

/// A new QR code for a table: the printed card stops working.
#[server(prefix = "/fn", endpoint = "new_table_code")]
pub async fn new_table_code(store: i64, table: i64) -> Result<(), AppError> {
    let table = loyalty::brands::tables::TableId(table);
    staff_form(&format!("/admin/stores/{store}"), async |state, owner| {
        let new = async |tx: &mut sqlx::AnyConnection| {
            setup::regenerate_table(tx, &SystemClock, &owner, table).await
        };
        let t = state.db.in_transaction(new).await?;
        Ok(format!(
            "/admin/stores/{}?saved=1#table-{}",
            t.store_id.0, t.id.0
        ))
    })
    .await
}

pub async fn load_qr_sheet(store: i64) -> Result<StaffLoad<QrSheet>, AppError> {
    use crate::functions::admin::owner;
    use crate::server::{portal_state, qr_svg};

    let state = portal_state()?;
    let (_, brand, info) = match owner(&state, &format!("/admin/stores/{store}/qr")).await? {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    match edge::store_tables(&state, &brand, store).await {
        Ok((store, tables)) => Ok(StaffLoad::Page(Box::new(QrSheet {
            staff: info,
            store_id: store.id,
            store_name: store.name,
            cards: tables
                .into_iter()
                .map(|t| QrCard {
                    svg: qr_svg(&t.url),
                    label: t.label,
                })
                .collect(),
        }))),
        Err(loyalty::Error::StoreNotFound) => {
            crate::server::set_status(http::StatusCode::NOT_FOUND);
            Ok(StaffLoad::Forbidden(info))
        }
        Err(e) => Err(e.into()),
    }
}
