//! What the load sends: each endpoint of the issue as a request built for
//! the n-th call of a run, and the raw ceiling — the same core calls in the
//! same transactions as the API handlers, without HTTP.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use loyalty::coupons::{self, CouponCode};
use loyalty::infra::idempotency::{self, Held};
use loyalty::members::{self, MemberRef};
use loyalty::money::{ExternalId, Fen};
use loyalty::{
    brands::api_keys, infra::rate_limits, points, Backend, Db, ServerSecret, SystemClock,
};
use serde::Serialize;
use serde_json::json;

use crate::data::{self, Tenant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `GET /healthz`: the framework and the loopback, the reference.
    Healthz,
    /// `GET /r/{brand}`: the portal landing, anonymous SSR.
    Landing,
    /// `GET /r/{brand}/card`: a signed-in member's card, SSR with reads.
    Card,
    /// `GET /api/v1/members/lookup?member=…`
    Lookup,
    /// `POST /api/v1/purchases`, a new order and key each time.
    Purchase,
    /// `POST /api/v1/coupons/redeem`, a new coupon and key each time.
    Redeem,
    /// `POST /api/v1/stored-value/payments`, ¥1 from a topped-up member's
    /// balance with their card's rotating code, a new key each time.
    StoredPay,
    /// 60 % lookups, 25 % purchases, 15 % redemptions (the scale-out mix).
    Mixed,
}

impl Endpoint {
    pub fn label(self) -> &'static str {
        match self {
            Endpoint::Healthz => "GET /healthz (reference)",
            Endpoint::Landing => "GET /r/{brand} (landing)",
            Endpoint::Card => "GET /r/{brand}/card",
            Endpoint::Lookup => "GET /api/v1/members/lookup",
            Endpoint::Purchase => "POST /api/v1/purchases",
            Endpoint::Redeem => "POST /api/v1/coupons/redeem",
            Endpoint::StoredPay => "POST /api/v1/stored-value/payments",
            Endpoint::Mixed => "mixed API traffic",
        }
    }
}

/// Everything a request needs, shared by the workers of a run.
pub struct Workload {
    client: reqwest::Client,
    /// One or more servers; worker `w` talks to `bases[w % len]`.
    pub bases: Vec<String>,
    slug: String,
    brand: loyalty::brands::BrandId,
    store: loyalty::brands::stores::StoreId,
    keys: Vec<String>,
    members: i64,
    per_member: i64,
    cookie: String,
    sessions: Vec<String>,
    /// The next unused coupon, over every run of this data.
    coupons: AtomicI64,
    /// Redemptions use the coupons of members `lo..hi`, spread over them
    /// by multiplying with `spread` (coprime to `hi - lo`).
    coupon_members: (i64, i64),
    spread: i64,
    orders: AtomicU64,
    tag: String,
    random: AtomicU64,
    /// Topped-up members (id, number) that stored-value payments spend.
    cards: Vec<(i64, String)>,
}

impl Workload {
    pub fn new(t: &Tenant, bases: Vec<String>, sessions: Vec<String>) -> Arc<Workload> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(512)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Arc::new(Workload {
            client,
            bases,
            slug: t.brand.slug.as_str().to_owned(),
            brand: t.brand.id,
            store: t.store,
            keys: t.keys.clone(),
            members: t.members,
            per_member: t.coupons_per_member,
            cookie: data::session_cookie(t),
            sessions,
            coupons: AtomicI64::new(0),
            coupon_members: (0, t.members),
            spread: spread(t.members),
            orders: AtomicU64::new(0),
            tag: format!("{:x}", rand::random::<u32>()),
            random: AtomicU64::new(0x9E37_79B9_7F4A_7C15),
            cards: Vec::new(),
        })
    }

    /// Shares this workload's position in the coupons with another (a new
    /// server on the same data must not reuse redeemed coupons).
    pub fn with_bases(&self, bases: Vec<String>) -> Arc<Workload> {
        Arc::new(Workload {
            client: self.client.clone(),
            bases,
            slug: self.slug.clone(),
            brand: self.brand,
            store: self.store,
            keys: self.keys.clone(),
            members: self.members,
            per_member: self.per_member,
            cookie: self.cookie.clone(),
            sessions: self.sessions.clone(),
            coupons: AtomicI64::new(self.coupons.load(Ordering::SeqCst)),
            coupon_members: self.coupon_members,
            spread: self.spread,
            orders: AtomicU64::new(self.orders.load(Ordering::SeqCst)),
            tag: self.tag.clone(),
            random: AtomicU64::new(self.random.load(Ordering::SeqCst)),
            cards: self.cards.clone(),
        })
    }

    /// A pseudo-random member (xorshift, shared; no lock).
    fn member(&self) -> i64 {
        let mut x = self.random.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.random.store(x, Ordering::Relaxed);
        (x % self.members as u64) as i64
    }

    /// Stored-value payments spend the balances of these members.
    pub fn with_cards(self: Arc<Self>, cards: Vec<(i64, String)>) -> Arc<Workload> {
        let mut w = Arc::try_unwrap(self).unwrap_or_else(|_| panic!("workload shared"));
        w.cards = cards;
        Arc::new(w)
    }

    /// A topped-up member's rotating code now, as a till scans it.
    fn card_code(&self, brand: loyalty::brands::BrandId) -> String {
        let (id, no) = &self.cards[(self.member() as usize) % self.cards.len()];
        let secret = crate::server::secret();
        let no = loyalty::members::MemberNo::parse(no).expect("member no");
        loyalty::members::member_code::current(
            &secret,
            &SystemClock,
            brand,
            loyalty::members::MemberId(*id),
            &no,
        )
        .digits
    }

    pub fn stored_pay_body(&self, payment: &str, code: &str) -> serde_json::Value {
        json!({"payment_id": payment, "member": code, "amount_fen": 100})
    }

    /// Redeem only the coupons of members `lo..hi` (those an earlier run
    /// on smaller data did not touch).
    pub fn coupons_of(self: Arc<Self>, lo: i64, hi: i64) -> Arc<Workload> {
        let mut w = Arc::try_unwrap(self).unwrap_or_else(|_| panic!("workload shared"));
        w.coupon_members = (lo, hi);
        w.spread = spread(hi - lo);
        Arc::new(w)
    }

    /// The next unused coupon: the c-th is of member lo + (c·spread mod n),
    /// a permutation of the members (spread is coprime to n) whose
    /// consecutive steps land far apart in the table.
    pub fn next_coupon(&self) -> Option<String> {
        let c = self.coupons.fetch_add(1, Ordering::SeqCst);
        let (lo, hi) = self.coupon_members;
        let n = hi - lo;
        (c < n * self.per_member).then(|| {
            let member = lo + ((c % n) * self.spread) % n;
            data::coupon_code(self.per_member, member, c / n)
        })
    }

    fn next_order(&self) -> String {
        format!(
            "{}-{}",
            self.tag,
            self.orders.fetch_add(1, Ordering::SeqCst)
        )
    }

    fn key(&self, worker: usize) -> &str {
        &self.keys[worker % self.keys.len()]
    }

    pub fn base(&self, worker: usize) -> &str {
        &self.bases[worker % self.bases.len()]
    }

    pub fn purchase_body(&self, order: &str, member: &str) -> serde_json::Value {
        json!({"order_id": order, "member": member, "amount_fen": 10_000})
    }

    pub fn redeem_body(&self, order: &str, code: &str) -> serde_json::Value {
        json!({"code": code, "order_id": order, "amount_fen": 10_000})
    }

    /// One request of `endpoint`: None when its data ran out, else whether
    /// the server answered with success.
    pub async fn call(self: Arc<Self>, endpoint: Endpoint, n: u64, worker: usize) -> Option<bool> {
        let base = self.base(worker);
        let endpoint = match endpoint {
            Endpoint::Mixed => match n % 20 {
                0..=11 => Endpoint::Lookup,
                12..=16 => Endpoint::Purchase,
                _ => Endpoint::Redeem,
            },
            e => e,
        };
        let request = match endpoint {
            Endpoint::Healthz => self.client.get(format!("{base}/healthz")),
            Endpoint::Landing => self
                .client
                .get(format!("{base}/r/{}", self.slug))
                .header("accept-encoding", "br, gzip")
                .header("accept-language", "zh-CN"),
            Endpoint::Card => {
                let session = &self.sessions[n as usize % self.sessions.len()];
                self.client
                    .get(format!("{base}/r/{}/card", self.slug))
                    .header("accept-encoding", "br, gzip")
                    .header("accept-language", "zh-CN")
                    .header("cookie", format!("{}={session}", self.cookie))
            }
            Endpoint::Lookup => self
                .client
                .get(format!(
                    "{base}/api/v1/members/lookup?member={}",
                    data::member_no(self.member())
                ))
                .bearer_auth(self.key(worker)),
            Endpoint::Purchase => {
                let order = self.next_order();
                let body = self.purchase_body(&order, &data::member_no(self.member()));
                self.client
                    .post(format!("{base}/api/v1/purchases"))
                    .bearer_auth(self.key(worker))
                    .header("idempotency-key", &order)
                    .json(&body)
            }
            Endpoint::Redeem => {
                let code = self.next_coupon()?;
                let order = self.next_order();
                self.client
                    .post(format!("{base}/api/v1/coupons/redeem"))
                    .bearer_auth(self.key(worker))
                    .header("idempotency-key", &order)
                    .json(&self.redeem_body(&order, &code))
            }
            Endpoint::StoredPay => {
                let order = self.next_order();
                let body = self.stored_pay_body(&order, &self.card_code(self.brand));
                self.client
                    .post(format!("{base}/api/v1/stored-value/payments"))
                    .bearer_auth(self.key(worker))
                    .header("idempotency-key", &order)
                    .json(&body)
            }
            Endpoint::Mixed => unreachable!("resolved above"),
        };
        Some(match request.send().await {
            Ok(r) => {
                let ok = r.status().is_success();
                ok & r.bytes().await.is_ok()
            }
            Err(_) => false,
        })
    }

    /// The raw ceiling of a write: the statements its handler runs (key
    /// check, shared rate limit on PostgreSQL, the member's or card's read,
    /// then in one transaction the key's lookup, the operation under a
    /// savepoint and the stored response), called directly on a pool like
    /// the server's.
    pub async fn raw(
        self: Arc<Self>,
        db: Db,
        secret: Arc<ServerSecret>,
        endpoint: Endpoint,
        worker: usize,
    ) -> Option<bool> {
        let clock = SystemClock;
        let order = self.next_order();
        let (path, body) = match endpoint {
            Endpoint::Purchase => (
                "/api/v1/purchases",
                self.purchase_body(&order, &data::member_no(self.member())),
            ),
            Endpoint::Redeem => ("/api/v1/coupons/redeem", {
                let code = self.next_coupon()?;
                self.redeem_body(&order, &code)
            }),
            Endpoint::StoredPay => (
                "/api/v1/stored-value/payments",
                self.stored_pay_body(&order, &self.card_code(self.brand)),
            ),
            _ => unreachable!("only writes have a raw ceiling"),
        };
        let result: Result<(), loyalty::Error> = async {
            let caller = api_keys::authenticate(&db, &clock, self.key(worker))
                .await?
                .ok_or(loyalty::Error::ApiKeyNotFound)?;
            if db.backend() == Backend::Postgres {
                // One process's limit, as the server holds it.
                static LIMIT: std::sync::LazyLock<rate_limits::ApiLimit> =
                    std::sync::LazyLock::new(|| rate_limits::ApiLimit::new(100_000));
                let _ = LIMIT.take(&db, &clock, caller.key_id()).await?;
            }
            let bytes = serde_json::to_vec(&body).expect("json");
            let fingerprint = idempotency::fingerprint("POST", path, &bytes);
            let order_id = ExternalId::parse("order_id", &order)?;
            let bill = Fen::positive(10_000)?;
            // What the handler reads: before its transaction on SQLite, inside
            // it once the key is held on PostgreSQL (`envelope::run_reading`).
            let brand = caller.brand().id;
            let mut before = None;
            if db.backend() == Backend::Sqlite {
                let mut conn = db.acquire().await?;
                before = Some(named(&mut conn, endpoint, &body, &secret, brand).await?);
            }
            let mut tx = db.begin().await?;
            let Held::New(slot) = idempotency::hold(
                &mut tx,
                db.backend(),
                &clock,
                caller.key_id(),
                &order,
                &fingerprint,
            )
            .await?
            else {
                return Err(loyalty::Error::RequestInProgress);
            };
            let (member, card) = match before {
                Some(read) => read,
                None => named(&mut tx, endpoint, &body, &secret, brand).await?,
            };
            // The operation runs in the transaction itself, as the handler's.
            let out = match (endpoint, member, card) {
                (Endpoint::Purchase, Some(m), _) => {
                    let r = points::record_purchase(
                        &mut tx, &clock, &caller, &m, &order_id, bill, None,
                    )
                    .await?;
                    json!({"purchase_id": r.purchase_id, "points_earned": r.points_earned,
                        "points_balance": r.points_balance, "tier_changed": r.tier_changed})
                }
                (Endpoint::StoredPay, _, Some(card)) => {
                    let amount = Fen::positive(100)?;
                    let r = loyalty::stored_value::pay(
                        &mut tx, &clock, &caller, &card, &order_id, amount, None,
                    )
                    .await?;
                    json!({"payment_id": order, "paid_fen": r.paid_fen,
                        "principal_fen": r.principal_fen, "bonus_fen": r.bonus_fen,
                        "balance_fen": r.balance.total_fen()})
                }
                _ => {
                    let code = CouponCode::parse(body["code"].as_str().unwrap_or_default())
                        .ok_or(loyalty::Error::CouponNotFound)?;
                    let r =
                        coupons::redeem(&mut tx, &clock, &caller, &code, &order_id, bill).await?;
                    json!({"redemption_id": r.redemption_id, "discount_fen": r.discount_fen,
                        "coupon": r.coupon.code.as_str()})
                }
            };
            idempotency::record(&mut tx, &clock, &slot, 200, &out.to_string()).await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        Some(result.is_ok())
    }

    /// The independent floor of a write: the rows it must write and
    /// nothing else — no API key check, no idempotency lookup, no HTTP, no
    /// reads of rules or tiers — one statement per row in one transaction, on a pool
    /// like the server's. Any implementation of the operation does at least
    /// this much: a purchase finds and credits the member, records the
    /// purchase, the order's bill, the ledger row and the lot; a redemption
    /// takes the coupon if still available and records the redemption; a
    /// stored-value payment takes the amount if the balance covers it,
    /// records the payment, takes it from the oldest lot, records the move
    /// and the ledger row. Each also stores its answer under its key
    /// (`api_key`'s): exactly once, which the contract asks of every write,
    /// needs that row.
    pub async fn floor(self: Arc<Self>, db: Db, endpoint: Endpoint, api_key: i64) -> Option<bool> {
        let now = loyalty::Clock::now_ms(&SystemClock);
        let order = self.next_order();
        let (brand, store) = (self.brand.0, self.store.0);
        let coupon = match endpoint {
            Endpoint::Redeem => Some(self.next_coupon()?),
            _ => None,
        };
        let result: Result<(), sqlx::Error> = async {
            // A plain transaction: its first statement writes, so even on
            // SQLite it needs no statement to take the write lock early.
            let mut tx = db.pool().begin().await?;
            match endpoint {
                Endpoint::Purchase => {
                    let (member,): (i64,) = sqlx::query_as(
                        "UPDATE members SET points_balance = points_balance + 100 \
                         WHERE brand_id = $1 AND member_no = $2 RETURNING id",
                    )
                    .bind(brand)
                    .bind(data::member_no(self.member()))
                    .fetch_one(&mut *tx)
                    .await?;
                    let (purchase,): (i64,) = sqlx::query_as(
                        "INSERT INTO purchases (brand_id, store_id, member_id, order_id, amount_fen, \
                         points_earned, occurred_at, created_at) VALUES ($1, $2, $3, $4, 10000, 100, $5, $5) \
                         RETURNING id",
                    )
                    .bind(brand)
                    .bind(store)
                    .bind(member)
                    .bind(&order)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO order_points (brand_id, store_id, order_id, paid_fen, bill_fen) \
                         VALUES ($1, $2, $3, 0, 10000)",
                    )
                    .bind(brand)
                    .bind(store)
                    .bind(&order)
                    .execute(&mut *tx)
                    .await?;
                    let (ledger,): (i64,) = sqlx::query_as(
                        "INSERT INTO points_ledger (brand_id, member_id, store_id, kind, amount, reason, \
                         ref_type, ref_id, created_at) VALUES ($1, $2, $3, 'earn', 100, 'purchase', \
                         'purchase', $4, $5) RETURNING id",
                    )
                    .bind(brand)
                    .bind(member)
                    .bind(store)
                    .bind(purchase)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO points_lots (brand_id, member_id, ledger_id, purchase_id, earned, \
                         remaining, expires_at, created_at) VALUES ($1, $2, $3, $4, 100, 100, NULL, $5)",
                    )
                    .bind(brand)
                    .bind(member)
                    .bind(ledger)
                    .bind(purchase)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                Endpoint::Redeem => {
                    let (coupon,): (i64,) = sqlx::query_as(
                        "UPDATE coupons SET status = 'redeemed' \
                         WHERE brand_id = $1 AND code = $2 AND status = 'available' RETURNING id",
                    )
                    .bind(brand)
                    .bind(coupon.as_deref())
                    .fetch_one(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO coupon_redemptions (brand_id, store_id, coupon_id, order_id, \
                         bill_fen, discount_fen, created_at) VALUES ($1, $2, $3, $4, 10000, 500, $5)",
                    )
                    .bind(brand)
                    .bind(store)
                    .bind(coupon)
                    .bind(&order)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                Endpoint::StoredPay => {
                    let (member, _) = &self.cards[(self.member() as usize) % self.cards.len()];
                    let (principal, bonus, seq): (i64, i64, i64) = sqlx::query_as(
                        "UPDATE stored_value_accounts SET last_principal_delta = -100, \
                         last_bonus_delta = 0, principal_fen = principal_fen - 100, seq = seq + 1 \
                         WHERE brand_id = $1 AND member_id = $2 AND principal_fen >= 100 \
                         RETURNING principal_fen, bonus_fen, seq",
                    )
                    .bind(brand)
                    .bind(member)
                    .fetch_one(&mut *tx)
                    .await?;
                    let (payment,): (i64,) = sqlx::query_as(
                        "INSERT INTO stored_value_payments (brand_id, store_id, member_id, payment_id, \
                         amount_fen, principal_fen, bonus_fen, created_at) \
                         VALUES ($1, $2, $3, $4, 100, 100, 0, $5) RETURNING id",
                    )
                    .bind(brand)
                    .bind(store)
                    .bind(member)
                    .bind(&order)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    let (lot,): (i64,) = sqlx::query_as(
                        "UPDATE stored_value_top_ups SET principal_left = principal_left - 100 \
                         WHERE id = (SELECT id FROM stored_value_top_ups \
                                     WHERE member_id = $1 AND principal_left >= 100 ORDER BY id LIMIT 1) \
                         RETURNING id",
                    )
                    .bind(member)
                    .fetch_one(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO stored_value_moves (payment_id, top_up_id, principal_fen, bonus_fen) \
                         VALUES ($1, $2, 100, 0)",
                    )
                    .bind(payment)
                    .bind(lot)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO stored_value_ledger (brand_id, member_id, seq, kind, store_id, ref_id, \
                         principal_delta, bonus_delta, prev_seq, prev_principal, prev_bonus, \
                         principal_after, bonus_after, created_at) \
                         VALUES ($1, $2, $3, 'payment', $4, $5, -100, 0, $6, $7, $8, $9, $8, $10)",
                    )
                    .bind(brand)
                    .bind(member)
                    .bind(seq)
                    .bind(store)
                    .bind(payment)
                    .bind((seq > 1).then_some(seq - 1))
                    .bind(principal + 100)
                    .bind(bonus)
                    .bind(principal)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                _ => unreachable!("only writes have a floor"),
            }
            sqlx::query(
                "INSERT INTO idempotency_keys (api_key_id, idem_key, request_hash, created_at, \
                 status, response_body, completed_at) VALUES ($1, $2, $3, $4, 200, '{}', $4)",
            )
            .bind(api_key)
            .bind(&order)
            .bind("0".repeat(64))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        }
        .await;
        self.floor_said(endpoint, &result);
        Some(result.is_ok())
    }

    /// The independent floor of the card page: everything it shows about
    /// the signed-in member (the session, the brand, the member, their tier,
    /// stored value, usable coupons, unread replies) in one hand-written
    /// query, without rendering or HTTP.
    pub async fn card_floor(self: Arc<Self>, db: Db, n: u64) -> Option<bool> {
        use sha2::{Digest, Sha256};
        let session = &self.sessions[n as usize % self.sessions.len()];
        let token_hash: String = Sha256::digest(session.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let now = loyalty::Clock::now_ms(&SystemClock);
        /// Brand, name, points, tier, principal, bonus, usable coupons,
        /// unread replies.
        type CardRow = (String, String, i64, String, i64, i64, i64, i64);
        let row: Result<Option<CardRow>, sqlx::Error> =
            sqlx::query_as(
                "SELECT b.name, m.display_name, m.points_balance, t.name_zh_cn, \
                   COALESCE(a.principal_fen, 0), COALESCE(a.bonus_fen, 0), \
                   (SELECT COUNT(*) FROM coupons c WHERE c.brand_id = m.brand_id AND c.member_id = m.id \
                      AND c.status = 'available' AND c.valid_from <= $2 AND c.valid_until > $2), \
                   (SELECT COUNT(*) FROM feedback f WHERE f.brand_id = m.brand_id AND f.member_id = m.id \
                      AND f.replied_at IS NOT NULL AND f.reply_seen_at IS NULL) \
                 FROM member_sessions s \
                 JOIN brands b ON b.id = s.brand_id AND b.slug = $3 \
                 JOIN members m ON m.brand_id = s.brand_id AND m.id = s.member_id AND m.status = 'active' \
                 JOIN tiers t ON t.brand_id = m.brand_id AND t.rank = m.tier_rank \
                 LEFT JOIN stored_value_accounts a ON a.member_id = m.id \
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.ended_at IS NULL",
            )
            .bind(&token_hash)
            .bind(now)
            .bind(&self.slug)
            .fetch_optional(db.pool())
            .await;
        let result = match row {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(sqlx::Error::RowNotFound),
            Err(e) => Err(e),
        };
        self.floor_said(Endpoint::Card, &result);
        Some(result.is_ok())
    }

    fn floor_said(&self, endpoint: Endpoint, result: &Result<(), sqlx::Error>) {
        if let Err(e) = result {
            // Once: a floor that fails is a broken benchmark, not load.
            static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
            if !SAID.swap(true, Ordering::Relaxed) {
                eprintln!("bench: the floor of {} failed: {e}", endpoint.label());
            }
        }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn key_for(&self, worker: usize) -> &str {
        self.key(worker)
    }

    /// The same workload sending with API key `key` only.
    pub fn with_key(&self, key: String) -> Arc<Workload> {
        let w = self.with_bases(self.bases.clone());
        let mut w = Arc::try_unwrap(w).unwrap_or_else(|_| panic!("fresh"));
        w.keys = vec![key];
        Arc::new(w)
    }
}

/// A multiplier near n/φ that is coprime to n: multiplying by it permutes
/// 0..n and sends neighbours far apart.
fn spread(n: i64) -> i64 {
    fn gcd(a: i64, b: i64) -> i64 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    if n <= 2 {
        return 1;
    }
    let mut m = (n as f64 * 0.618_033_988_7) as i64;
    while gcd(m, n) != 1 {
        m += 1;
    }
    m
}

/// The member a raw write names (a purchase's) or the card it was shown (a
/// stored-value payment's), read as the handler reads it.
async fn named(
    conn: &mut sqlx::AnyConnection,
    endpoint: Endpoint,
    body: &serde_json::Value,
    secret: &loyalty::infra::secret::ServerSecret,
    brand: loyalty::brands::BrandId,
) -> Result<
    (
        Option<members::Member>,
        Option<members::member_code::CardShown>,
    ),
    loyalty::Error,
> {
    let named = body["member"].as_str().unwrap_or_default();
    Ok(match endpoint {
        Endpoint::Purchase => {
            let who = MemberRef::Code(named.into());
            let m = members::identify(conn, &SystemClock, secret, brand, &who).await?;
            (Some(m), None)
        }
        Endpoint::StoredPay => {
            let card = members::member_code::shown(conn, &SystemClock, secret, brand, named);
            (None, Some(card.await?))
        }
        _ => (None, None),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn spread_permutes_the_members() {
        for n in [1, 2, 3, 10, 20_000, 90_000] {
            let m = super::spread(n);
            let mut seen = vec![false; n as usize];
            for c in 0..n {
                seen[((c * m) % n) as usize] = true;
            }
            assert!(seen.iter().all(|s| *s), "n = {n}");
        }
    }
}
