//! What the load sends: each endpoint of the issue as a request built for
//! the n-th call of a run, and the raw ceiling — the same core calls in the
//! same transactions as the API handlers, without HTTP.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use loyalty::coupons::{self, CouponCode};
use loyalty::infra::idempotency::{self, Claim};
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
        let secret = ServerSecret::from_master(crate::server::SECRET.as_bytes());
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
    /// check, shared rate limit on PostgreSQL, idempotency claim, member or
    /// coupon, the operation and the stored response in one transaction),
    /// called directly on a pool like the server's.
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
                let _ = rate_limits::take(&db, &clock, caller.key_id(), 100_000).await?;
            }
            let bytes = serde_json::to_vec(&body).expect("json");
            let fingerprint = idempotency::fingerprint("POST", path, &bytes);
            let Claim::Owned(owner) =
                idempotency::claim(&db, &clock, caller.key_id(), &order, &fingerprint).await?
            else {
                return Err(loyalty::Error::RequestInProgress);
            };
            let order_id = ExternalId::parse("order_id", &order)?;
            let bill = Fen::positive(10_000)?;
            let response = match endpoint {
                Endpoint::Purchase => {
                    let who = MemberRef::Code(body["member"].as_str().unwrap_or_default().into());
                    let m = members::identify(&db, &clock, &secret, caller.brand().id, &who).await?;
                    let mut tx = db.begin().await?;
                    let r = points::record_purchase(
                        &mut tx,
                        &clock,
                        &caller,
                        m.id,
                        &order_id,
                        bill,
                        None,
                    )
                    .await?;
                    let out = json!({"purchase_id": r.purchase_id, "points_earned": r.points_earned,
                        "points_balance": r.points_balance, "tier_changed": r.tier_changed});
                    (tx, out)
                }
                Endpoint::StoredPay => {
                    let code = body["member"].as_str().unwrap_or_default();
                    let card = members::member_code::shown(
                        &db,
                        &clock,
                        &secret,
                        caller.brand().id,
                        code,
                    )
                    .await?;
                    let mut tx = db.begin().await?;
                    let amount = Fen::positive(100)?;
                    let r = loyalty::stored_value::pay(
                        &mut tx, &clock, &caller, &card, &order_id, amount, None,
                    )
                    .await?;
                    let out = json!({"payment_id": order, "paid_fen": r.paid_fen,
                        "principal_fen": r.principal_fen, "bonus_fen": r.bonus_fen,
                        "balance_fen": r.balance.total_fen()});
                    (tx, out)
                }
                _ => {
                    let code = CouponCode::parse(body["code"].as_str().unwrap_or_default())
                        .ok_or(loyalty::Error::CouponNotFound)?;
                    let mut tx = db.begin().await?;
                    let r = coupons::redeem(&mut tx, &clock, &caller, &code, &order_id, bill)
                        .await?;
                    let out = json!({"redemption_id": r.redemption_id, "discount_fen": r.discount_fen,
                        "coupon": r.coupon.code.as_str()});
                    (tx, out)
                }
            };
            let (mut tx, out) = response;
            idempotency::complete(&mut tx, &clock, owner, 200, &out.to_string()).await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        Some(result.is_ok())
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
