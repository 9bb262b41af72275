use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::i18n::Locale;

/// What the brand's landing page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrandPage {
    pub slug: String,
    pub name: String,
    pub theme_color: String,
    pub default_locale: Locale,
    /// Where the diner sits, when they arrived through a table QR code.
    pub visit: Option<TableVisit>,
    /// This phone is signed in to the brand: the page offers the card.
    pub signed_in: bool,
    pub logo_version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableVisit {
    pub store_name: String,
    pub table_label: String,
}

/// The landing page of `/r/{slug}`; None when no such brand exists.
pub async fn load_brand_page(slug: String) -> Result<Option<BrandPage>, AppError> {
    use crate::server::{portal_state, visit_from_request};

    let state = portal_state()?;
    let Some(brand) = crate::server::find_brand(&state.db, &slug).await? else {
        return Ok(None);
    };
    let visit = match visit_from_request(&state) {
        Some((brand_id, table_id)) if brand_id == brand.id.0 => {
            loyalty::brands::tables::find_in_brand(
                &state.db,
                brand.id,
                loyalty::brands::tables::TableId(table_id),
            )
            .await
            .ok()
            .map(|v| TableVisit {
                store_name: v.store_name,
                table_label: v.table_label,
            })
        }
        _ => None,
    };
    let signed_in = crate::server::current_member(&state, brand.id)
        .await?
        .is_some();
    Ok(Some(BrandPage {
        signed_in,
        slug: brand.slug.to_string(),
        name: brand.name,
        theme_color: brand.theme_color.as_str().to_owned(),
        default_locale: brand.default_language.tag().parse().unwrap_or_default(),
        visit,
        logo_version: brand.logo_version,
    }))
}

/// Resolves a scanned table QR code: remembers the table for this visit and
/// sends the diner to the brand's portal. False when the code is unknown.
#[server(prefix = "/fn", endpoint = "visit_table")]
pub async fn visit_table(token: String) -> Result<bool, AppError> {
    use crate::server::{portal_state, remember_visit};
    use loyalty::brands::tables::{self, TableToken};

    let state = portal_state()?;
    let Ok(token) = TableToken::parse(&token) else {
        return Ok(false);
    };
    match tables::resolve(&state.db, &token).await {
        Ok(visit) => {
            remember_visit(&state, visit.brand.id.0, visit.table_id.0);
            leptos_axum::redirect(&format!("/r/{}", visit.brand.slug));
            // leptos_axum only sets the status for requests that accept HTML;
            // a QR scanner or curl deserves a real redirect too.
            crate::server::set_status(http::StatusCode::FOUND);
            Ok(true)
        }
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e.into()),
    }
}
