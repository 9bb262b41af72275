//! The owner's setup of stores and tables, as the console does it: each
//! change in one transaction with its audit row.

use serde_json::json;
use sqlx::AnyConnection;

use crate::brands::stores::{self, NewStore, Store, StoreId};
use crate::brands::tables::{self, DiningTable, TableId};
use crate::error::Invalid;
use crate::staff::audit::{self, Change};
use crate::{Clock, Error, Result};

/// At most this many tables are added at once.
pub const MAX_BATCH: u32 = 100;

/// Creates a store (`id` None) or changes one.
pub async fn save_store(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    who: &crate::access::Owner,
    id: Option<StoreId>,
    new: NewStore,
) -> Result<Store> {
    let actor = &who.actor();
    let (store, before) = match id {
        None => (stores::create(conn, clock, actor.brand, new).await?, None),
        Some(id) => {
            let before: Option<(String, String, String)> = sqlx::query_as(
                "SELECT code, name, address FROM stores WHERE brand_id = $1 AND id = $2",
            )
            .bind(actor.brand.0)
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?;
            let before = before.ok_or(Error::StoreNotFound)?;
            let store = stores::update(conn, actor.brand, id, new).await?;
            let before = json!({ "code": before.0, "name": before.1, "address": before.2 });
            (store, Some(before))
        }
    };
    let change = Change {
        action: if before.is_none() {
            "store.create"
        } else {
            "store.update"
        },
        store: Some(store.id),
        target_type: "store",
        target_id: Some(store.id.0),
        before,
        after: Some(json!({ "code": store.code, "name": store.name, "address": store.address })),
    };
    audit::record(conn, clock, actor, change).await?;
    Ok(store)
}

/// The labels of a batch: `A` from 1, 3 tables → A1, A2, A3. A batch of one
/// without a number is just the label.
pub fn batch_labels(prefix: &str, from: u32, count: u32) -> Result<Vec<String>> {
    if count == 0 || count > MAX_BATCH {
        return Err(Error::invalid("count", Invalid::Format));
    }
    let prefix = prefix.trim();
    if count == 1 && from == 0 {
        return Ok(vec![prefix.to_owned()]);
    }
    Ok((from..from.saturating_add(count))
        .map(|n| format!("{prefix}{n}"))
        .collect())
}

/// Adds tables to a store, each with its own unguessable token.
pub async fn add_tables(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    who: &crate::access::Owner,
    store: StoreId,
    labels: &[String],
) -> Result<Vec<DiningTable>> {
    let (actor, brand) = (&who.actor(), who.brand());
    let mut made = Vec::with_capacity(labels.len());
    for label in labels {
        made.push(tables::create(conn, clock, brand, store, label).await?);
    }
    let change = Change {
        action: "table.create",
        store: Some(store),
        target_type: "store",
        target_id: Some(store.0),
        before: None,
        after: Some(json!({ "tables": made.iter().map(|t| &t.label).collect::<Vec<_>>() })),
    };
    audit::record(conn, clock, actor, change).await?;
    Ok(made)
}

/// A new QR code for a table; the printed one stops working.
pub async fn regenerate_table(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    who: &crate::access::Owner,
    table: TableId,
) -> Result<DiningTable> {
    let actor = &who.actor();
    let t = tables::regenerate(conn, actor.brand, table).await?;
    let change = Change {
        action: "table.new_code",
        store: Some(t.store_id),
        target_type: "table",
        target_id: Some(t.id.0),
        before: None,
        after: Some(json!({ "label": t.label })),
    };
    audit::record(conn, clock, actor, change).await?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_number_their_tables() {
        assert_eq!(batch_labels("A", 1, 3).unwrap(), ["A1", "A2", "A3"]);
        assert_eq!(batch_labels(" 包间", 0, 1).unwrap(), ["包间"]);
        assert_eq!(batch_labels("", 10, 2).unwrap(), ["10", "11"]);
        assert!(batch_labels("A", 1, 0).is_err());
        assert!(batch_labels("A", 1, MAX_BATCH + 1).is_err());
    }
}
