//! The member's stored value (储值) page: the balance in its two parts, the
//! brand's top-up offers, and the history.

use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::functions::members::BrandInfo;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferView {
    pub min_fen: i64,
    pub bonus_fen: i64,
    /// The last day of the offer (brand calendar), when it ends.
    pub until: Option<String>,
    /// The stores it is limited to, by name; empty: every store.
    pub stores: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovementView {
    /// top_up, payment, void, refund or import
    pub kind: String,
    pub date: String,
    pub store: Option<String>,
    pub principal_delta: i64,
    pub bonus_delta: i64,
    pub balance_after: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPage {
    pub brand: BrandInfo,
    pub principal_fen: i64,
    pub bonus_fen: i64,
    pub offers: Vec<OfferView>,
    pub movements: Vec<MovementView>,
    pub more: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredLoad {
    NoBrand,
    SignedOut,
    Stored(Box<StoredPage>),
}

pub async fn load_stored(slug: String, before: Option<i64>) -> Result<StoredLoad, AppError> {
    use crate::server::{find_brand, portal_state, see_other, signed_in_member};
    use loyalty::points::rules::local_date;

    let state = portal_state()?;
    let Some(brand) = find_brand(&state.db, &slug).await? else {
        return Ok(StoredLoad::NoBrand);
    };
    let Some(member) = signed_in_member(&state, brand.clone()).await? else {
        see_other(&format!("/r/{0}/join?next=/r/{0}/balance", brand.slug));
        return Ok(StoredLoad::SignedOut);
    };
    let s =
        loyalty::stored_value::statement(&state.db, &loyalty::SystemClock, &member, before).await?;
    let zone = &brand.time_zone;
    let name = |id: &loyalty::brands::stores::StoreId| {
        s.store_names
            .iter()
            .find(|(s, _)| s == id)
            .map(|(_, n)| n.clone())
    };
    Ok(StoredLoad::Stored(Box::new(StoredPage {
        brand: BrandInfo::from(&brand),
        principal_fen: s.balance.principal_fen,
        bonus_fen: s.balance.bonus_fen,
        offers: s
            .offers
            .into_iter()
            .map(|o| OfferView {
                min_fen: o.min_fen,
                bonus_fen: o.bonus_fen,
                until: o.ends_at.map(|end| local_date(zone, end - 1)),
                stores: o.stores.iter().flatten().filter_map(name).collect(),
            })
            .collect(),
        movements: s
            .movements
            .into_iter()
            .map(|m| MovementView {
                kind: m.kind,
                date: local_date(zone, m.at),
                store: m.store,
                principal_delta: m.principal_delta,
                bonus_delta: m.bonus_delta,
                balance_after: m.balance_after.total_fen(),
            })
            .collect(),
        more: s.more,
    })))
}
