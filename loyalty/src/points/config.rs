//! A brand's earning rules and tier table, cached in the process under the
//! brand's `config_version` (migration 0027): a random number that changes
//! in the same transaction as any change to `loyalty_rules` or `tiers`, so
//! a version names one content in every process that shares the database.
//! A write reads the version with the member (a statement it makes anyway,
//! [`super::member_and_config`]) and finds the rules and tiers here: two
//! statements fewer per purchase; the card reads it in its one statement
//! and takes its tiers from here. A version not seen yet is loaded once.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use sqlx::AnyConnection;

use super::rules::{self, LoyaltyRules};
use super::tiers::{self, TierTable};
use crate::brands::Brand;
use crate::Result;

/// What one version of a brand's configuration holds.
#[derive(Debug)]
pub(crate) struct Config {
    rules: LoyaltyRules,
    pub tiers: TierTable,
}

impl Config {
    /// The rules, in `brand`'s time zone (a brand setting of its own,
    /// which the version does not follow).
    pub fn rules(&self, brand: &Brand) -> LoyaltyRules {
        LoyaltyRules {
            time_zone: brand.time_zone.clone(),
            ..self.rules.clone()
        }
    }
}

/// Versions kept at most; past it the cache starts again (old versions are
/// never asked for once their brand moved on).
const KEEP: usize = 4_096;

/// Each (brand, version) seen, with what it holds, and the version of each
/// brand asked for last.
#[derive(Default)]
struct Versions {
    seen: HashMap<(i64, i64), Arc<Config>>,
    last: HashMap<i64, i64>,
}

static CACHE: LazyLock<Mutex<Versions>> = LazyLock::new(Default::default);

/// `brand`'s rules and tiers at `version`, as read on `conn` with the
/// member. Loaded when this process has not seen the version: kept only
/// when the version was still the same after both reads (on PostgreSQL each
/// statement sees the latest commit, and a change between them would mix
/// two versions; a fresh random version can never come back).
pub(crate) async fn at(
    conn: &mut AnyConnection,
    brand: &Brand,
    version: i64,
) -> Result<Arc<Config>> {
    let key = (brand.id.0, version);
    {
        let mut cache = lock();
        if let Some(found) = cache.seen.get(&key).cloned() {
            cache.last.insert(brand.id.0, version);
            return Ok(found);
        }
    }
    let config = Arc::new(Config {
        rules: rules::load(conn, brand).await?,
        tiers: tiers::load(conn, brand.id).await?,
    });
    let (after,): (i64,) = sqlx::query_as("SELECT config_version FROM brands WHERE id = $1")
        .bind(brand.id.0)
        .fetch_one(&mut *conn)
        .await?;
    if after == version {
        let mut cache = lock();
        if cache.seen.len() >= KEEP {
            *cache = Versions::default();
        }
        cache.seen.insert(key, config.clone());
        cache.last.insert(brand.id.0, version);
    }
    Ok(config)
}

/// The version of `brand` this process asked for last, and what it holds:
/// most likely still the brand's, for a write to assume and check in its
/// first statement (`super::record_purchase`) instead of reading it first.
pub(crate) fn last(brand: &Brand) -> Option<(i64, Arc<Config>)> {
    let cache = lock();
    let version = *cache.last.get(&brand.id.0)?;
    let config = cache.seen.get(&(brand.id.0, version))?.clone();
    Some((version, config))
}

fn lock() -> std::sync::MutexGuard<'static, Versions> {
    CACHE.lock().unwrap_or_else(|e| e.into_inner())
}
