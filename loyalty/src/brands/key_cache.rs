//! The POS keys a server has seen, with their brands, in memory: every API
//! request presents one, and looking it up cost a read of its own (on
//! PostgreSQL three round trips, with the pool's checks of the connection).
//! The brands the member pages name by slug are kept the same way: every
//! page reads its brand first, a hand-off to the database for a row that
//! changes when its owner saves the brand's settings.
//!
//! A key or brand found here is used only while nothing can have changed it unseen:
//! - changes this server makes (a key revoked, the brand's profile saved)
//!   empty the cache once they are committed ([`crate::Db::auth_changed`]);
//! - on PostgreSQL, which several servers may share, triggers notify every
//!   server of any change to a key or a brand (the `tablecard_auth`
//!   channel, migration 0028), wherever it was made, and each empties its
//!   cache; while a server's listener is not connected, it uses nothing
//!   cached, and it empties the cache again once it is back;
//! - no entry is used longer than [`TRUST_FOR`] after it was read, which
//!   bounds what nothing above reaches (a hand edit of a SQLite file).
//!
//! A key that was not found is not kept: an unknown key costs a read each
//! time, as before.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::access::PosKey;
use crate::brands::Brand;
use crate::Backend;

/// How long a key read from the database is used without reading it again.
pub const TRUST_FOR: Duration = Duration::from_secs(10);
/// The channel the triggers of migration 0028 notify.
pub const CHANNEL: &str = "tablecard_auth";
/// More keys than any brand has tills: past this, the cache starts over.
const MAX_KEYS: usize = 4096;

pub struct KeyCache {
    entries: Mutex<Entries>,
    /// Whether a change would be heard of now: always on SQLite (one
    /// process), while the listener is connected on PostgreSQL.
    heard: AtomicBool,
    /// PostgreSQL: where to listen, until the listener is started (on the
    /// first lookup), and what stops it when the cache is dropped.
    listener: Mutex<Option<(String, oneshot::Receiver<()>)>>,
    _stop: oneshot::Sender<()>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Entries {
    /// Counts the times the cache was emptied: a key read before the last
    /// one is not kept.
    generation: u64,
    keys: HashMap<String, Found>,
    /// Brands by slug, with when each was read.
    brands: HashMap<String, (Brand, Instant)>,
}

/// A key as the cache has it: when it was last marked used, and when it
/// was read from the database.
#[derive(Clone)]
pub struct Found {
    pub key: PosKey,
    pub last_used: Option<i64>,
    pub(crate) read_at: Instant,
}

/// Whether an entry read from the database at `read_at` may be used.
fn trusted(heard: bool, read_at: Instant) -> bool {
    heard && read_at.elapsed() < TRUST_FOR
}

/// Inserts into a map kept to [`MAX_KEYS`] entries: one more empties it.
fn bounded_insert<V>(map: &mut HashMap<String, V>, key: String, value: V) {
    if map.len() >= MAX_KEYS && !map.contains_key(&key) {
        map.clear();
    }
    map.insert(key, value);
}

impl KeyCache {
    /// `url`: the database's, on PostgreSQL (its listener connects there).
    pub(crate) fn new(backend: Backend, url: &str) -> Arc<KeyCache> {
        let (stop, stopped) = oneshot::channel();
        let listener = (backend == Backend::Postgres).then(|| (url.to_owned(), stopped));
        Arc::new(KeyCache {
            entries: Mutex::default(),
            heard: AtomicBool::new(backend == Backend::Sqlite),
            listener: Mutex::new(listener),
            _stop: stop,
        })
    }

    /// The key hashed to `hash`, if it is here and may be used, and the
    /// generation to [`put`](Self::put) it (or what the database says)
    /// under.
    pub(crate) fn get(self: &Arc<Self>, hash: &str) -> (Option<Found>, u64) {
        self.look_up(|entries, heard| {
            entries
                .keys
                .get(hash)
                .filter(|found| trusted(heard, found.read_at))
                .cloned()
        })
    }

    /// Keeps a key read from the database (or one whose use was just
    /// recorded), unless the cache was emptied since `generation`: the read
    /// may then predate the change.
    pub(crate) fn put(&self, generation: u64, hash: String, found: Found) {
        self.keep(generation, |entries| {
            bounded_insert(&mut entries.keys, hash, found)
        });
    }

    /// The brand named `slug`, as [`get`](Self::get) finds a key.
    pub(crate) fn brand(self: &Arc<Self>, slug: &str) -> (Option<Brand>, u64) {
        self.look_up(|entries, heard| {
            entries
                .brands
                .get(slug)
                .filter(|(_, read_at)| trusted(heard, *read_at))
                .map(|(brand, _)| brand.clone())
        })
    }

    /// Keeps a brand read from the database, as [`put`](Self::put) keeps a
    /// key.
    pub(crate) fn keep_brand(&self, generation: u64, brand: Brand) {
        let slug = brand.slug.as_str().to_owned();
        self.keep(generation, |entries| {
            bounded_insert(&mut entries.brands, slug, (brand, Instant::now()))
        });
    }

    /// What `find` finds in the entries, told whether changes made
    /// elsewhere are heard of, and the generation to keep what the
    /// database says under.
    fn look_up<T>(
        self: &Arc<Self>,
        find: impl FnOnce(&Entries, bool) -> Option<T>,
    ) -> (Option<T>, u64) {
        self.start_listening();
        let entries = self.entries.lock().expect("not poisoned");
        let heard = self.hearing();
        (find(&entries, heard), entries.generation)
    }

    /// Runs `keep` on the entries unless the cache was emptied since
    /// `generation`: what was read may then predate the change.
    fn keep(&self, generation: u64, keep: impl FnOnce(&mut Entries)) {
        let mut entries = self.entries.lock().expect("not poisoned");
        if entries.generation == generation {
            keep(&mut entries);
        }
    }

    /// Forgets every key and brand: something about a key or a brand
    /// changed.
    pub fn clear(&self) {
        let mut entries = self.entries.lock().expect("not poisoned");
        entries.generation += 1;
        entries.keys.clear();
        entries.brands.clear();
    }

    /// Whether changes made elsewhere are heard of now (always on SQLite;
    /// on PostgreSQL once the listener, started by the first lookup, is
    /// connected): only then is a key used from memory.
    pub fn hearing(&self) -> bool {
        self.heard.load(Ordering::Acquire)
    }

    fn start_listening(self: &Arc<Self>) {
        let Some((url, stopped)) = self.listener.lock().expect("not poisoned").take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(listen(Arc::downgrade(self), url, stopped));
    }

    fn heard(&self, connected: bool) {
        // Not heard first, then emptied; emptied first, then heard: a key
        // kept in between was read under an old generation and is dropped.
        if connected {
            self.clear();
            self.heard.store(true, Ordering::Release);
        } else {
            self.heard.store(false, Ordering::Release);
            self.clear();
        }
    }
}

/// Listens on PostgreSQL for changes to keys and brands until the cache
/// is dropped, reconnecting a second after the connection is lost.
async fn listen(cache: Weak<KeyCache>, url: String, mut stopped: oneshot::Receiver<()>) {
    loop {
        let session = async {
            let mut listener = sqlx::postgres::PgListener::connect(&url).await?;
            listener.listen(CHANNEL).await?;
            let Some(alive) = cache.upgrade() else {
                return Ok(());
            };
            alive.heard(true);
            drop(alive);
            // `None`: the connection was lost, and what was said meanwhile.
            while listener.try_recv().await?.is_some() {
                let Some(alive) = cache.upgrade() else {
                    return Ok(());
                };
                alive.clear();
            }
            Err(sqlx::Error::PoolClosed)
        };
        let ended: Result<(), sqlx::Error> = tokio::select! {
            _ = &mut stopped => return,
            ended = session => ended,
        };
        let Some(alive) = cache.upgrade() else {
            return;
        };
        alive.heard(false);
        drop(alive);
        if let Err(e) = ended {
            tracing::warn!(error = %e, "not hearing of changes to API keys: reading each from the database");
        }
        tokio::select! {
            _ = &mut stopped => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brands::stores::StoreId;

    fn key(id: i64) -> PosKey {
        let row = crate::brands::BrandRow {
            id: 1,
            slug: "demo".into(),
            name: "Demo".into(),
            theme_color: "#b4442b".into(),
            default_locale: "zh-CN".into(),
            time_zone: "Asia/Shanghai".into(),
            terms_version: "1".into(),
            terms_text: String::new(),
            embed_origins: String::new(),
            logo_version: 0,
            sms_signature: String::new(),
        };
        PosKey::new(id, row.into(), StoreId(1))
    }

    fn found(id: i64) -> Found {
        Found {
            key: key(id),
            last_used: None,
            read_at: Instant::now(),
        }
    }

    #[test]
    fn a_key_read_before_the_cache_was_emptied_is_not_kept() {
        let cache = KeyCache::new(Backend::Sqlite, "");
        let (none, generation) = cache.get("h");
        assert!(none.is_none());
        cache.clear();
        cache.put(generation, "h".into(), found(1));
        assert!(cache.get("h").0.is_none(), "read before the change");
        let (_, generation) = cache.get("h");
        cache.put(generation, "h".into(), found(1));
        assert_eq!(cache.get("h").0.expect("kept").key.key_id(), 1);
        cache.clear();
        assert!(cache.get("h").0.is_none(), "emptied");
    }

    #[test]
    fn a_key_is_used_for_a_while_only() {
        let cache = KeyCache::new(Backend::Sqlite, "");
        let (_, generation) = cache.get("h");
        let old = Found {
            read_at: Instant::now() - TRUST_FOR,
            ..found(2)
        };
        cache.put(generation, "h".into(), old);
        assert!(cache.get("h").0.is_none());
    }

    #[test]
    fn a_brand_is_kept_by_its_slug_until_anything_changes() {
        let cache = KeyCache::new(Backend::Sqlite, "");
        let brand = key(1).brand().clone();
        let (none, generation) = cache.brand("demo");
        assert!(none.is_none());
        cache.clear();
        cache.keep_brand(generation, brand.clone());
        assert!(cache.brand("demo").0.is_none(), "read before the change");
        let (_, generation) = cache.brand("demo");
        cache.keep_brand(generation, brand.clone());
        assert_eq!(cache.brand("demo").0, Some(brand));
        assert!(cache.brand("other").0.is_none());
        cache.clear();
        assert!(cache.brand("demo").0.is_none(), "emptied with the keys");
    }

    #[tokio::test]
    async fn on_postgres_nothing_is_used_until_changes_are_heard() {
        // Nothing listens at this address: changes cannot be heard.
        let cache = KeyCache::new(Backend::Postgres, "postgres://u@127.0.0.1:1/none");
        let (_, generation) = cache.get("h");
        cache.put(generation, "h".into(), found(3));
        assert!(cache.get("h").0.is_none());
        cache.keep_brand(generation, key(3).brand().clone());
        assert!(cache.brand("demo").0.is_none());
    }
}
