//! The endpoints. Each reads like its line in `API.md`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use loyalty::access::PosKey;
use loyalty::brands::{Brand, Language};
use loyalty::members::phone::Phone;
use loyalty::members::{self, member_code, MemberRef};
use loyalty::money::{ExternalId, Fen};
use loyalty::{coupons, points, stored_value, SystemClock};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::envelope::{self, Connection, Operation};
use super::extract::{IdempotencyKey, JsonBody};
use super::Problem;
use crate::http::AppState;

/// A member as a POS names them: the rotating code or member number shown
/// on the card (a string of digits), or `{"phone": "+8613800000000"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum MemberField {
    Code(String),
    Number(u64),
    Phone { phone: String },
}

impl MemberField {
    fn resolve(&self) -> Result<MemberRef, Problem> {
        Ok(match self {
            MemberField::Code(c) => MemberRef::Code(c.clone()),
            MemberField::Number(n) => MemberRef::Code(n.to_string()),
            MemberField::Phone { phone } => {
                MemberRef::Phone(Phone::parse_e164(phone).map_err(|_| {
                    Problem::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_input",
                        "phone must be E.164, like +8613800000000.",
                    )
                })?)
            }
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TierOut {
    pub code: String,
    pub name: String,
    pub discount_pct: i64,
}

impl From<points::TierRef> for TierOut {
    fn from(t: points::TierRef) -> Self {
        TierOut {
            code: t.code,
            name: t.name,
            discount_pct: t.discount_pct,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LookupResponse {
    pub member_id: i64,
    pub member_no: String,
    pub display_name: String,
    pub tier: TierOut,
    pub points: i64,
    /// The member's coupons usable now (not used, not expired).
    pub coupons: Vec<CouponOut>,
    /// The member's prepaid balance (储值).
    pub stored_value: StoredValueOut,
}

impl LookupResponse {
    fn new(brand: &Brand, till: members::AtTill) -> Self {
        let members::AtTill {
            member: m,
            tier,
            stored_value: stored,
            wallet,
        } = till;
        LookupResponse {
            member_id: m.id.0,
            member_no: m.member_no.as_str().to_owned(),
            display_name: m.display_name,
            tier: TierOut {
                code: tier.code.clone(),
                name: tier.name(brand.default_language).to_owned(),
                discount_pct: tier.discount_pct,
            },
            points: m.points_balance,
            coupons: wallet
                .iter()
                .filter(|h| h.coupon.usable(loyalty::Clock::now_ms(&SystemClock)))
                .map(|h| CouponOut::new(brand, &h.coupon, &h.template))
                .collect(),
            stored_value: StoredValueOut {
                balance_fen: stored.total_fen(),
            },
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    /// The rotating code or the member number from the card.
    pub member: Option<String>,
    /// Or the phone number, E.164.
    pub phone: Option<String>,
}

impl LookupQuery {
    fn member(&self) -> Result<MemberField, Problem> {
        match (&self.member, &self.phone) {
            (Some(code), _) => Ok(MemberField::Code(code.clone())),
            (None, Some(phone)) => Ok(MemberField::Phone {
                phone: phone.clone(),
            }),
            (None, None) => Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_input",
                "Name the member with ?member=CODE or ?phone=+86….",
            )),
        }
    }
}

fn field_id(field: &'static str, value: &str) -> Result<ExternalId, Problem> {
    ExternalId::parse(field, value).map_err(|_| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_input",
            format!("{field} must be 1–100 visible ASCII characters."),
        )
    })
}

fn amount(field: &'static str, fen: i64) -> Result<Fen, Problem> {
    Fen::positive(fen).map_err(|_| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_input",
            format!(
                "{field} must be a whole number of fen between 1 and {}.",
                Fen::MAX
            ),
        )
    })
}

fn point_count(points: i64) -> Result<i64, Problem> {
    if points <= 0 || points > 1_000_000_000 {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_input",
            "points must be a positive whole number.",
        ));
    }
    Ok(points)
}

fn occurred_at(rfc3339: &str) -> Result<i64, Problem> {
    let time = rfc3339.parse::<jiff::Timestamp>().map_err(|_| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_input",
            "occurred_at must be an RFC 3339 time, like 2026-11-25T12:30:00+08:00.",
        )
    })?;
    Ok(time.as_millisecond())
}

/// A redemption id from the path; one that is not a number names none.
fn redemption_id(path: &str) -> Result<i64, Problem> {
    path.parse()
        .map_err(|_| loyalty::Error::RedemptionNotFound.into())
}

/// How the envelope reads the member a write names
/// (`envelope::run_reading`).
fn member_named(
    state: &AppState,
    caller: &PosKey,
    who: &MemberField,
) -> impl for<'c> FnOnce(&'c mut Connection) -> Operation<'c, members::Member> + Send + 'static {
    let (state, brand, who) = (state.clone(), caller.brand().id, who.resolve());
    envelope::read(move |conn| {
        Box::pin(async move {
            let (secret, who) = (&state.portal.secret, who?);
            Ok(members::identify(conn, &SystemClock, secret, brand, &who).await?)
        })
    })
}

/// Finds a member by card code, member number or phone.
#[utoipa::path(
    get, path = "/members/lookup", params(LookupQuery), tag = "members",
    responses(
        (status = 200, body = LookupResponse),
        (status = 401, body = Problem, description = "missing or invalid key"),
        (status = 404, body = Problem, description = "`member_not_found`"),
    )
)]
pub async fn lookup(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<LookupQuery>,
) -> Result<Json<LookupResponse>, Problem> {
    let who = q.member()?.resolve()?;
    let (db, secret) = (&state.portal.db, &state.portal.secret);
    let till = members::at_till(db, &SystemClock, secret, caller.brand(), &who).await?;
    Ok(Json(LookupResponse::new(caller.brand(), till)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PurchaseRequest {
    /// Unique per store.
    #[schema(min_length = 1, max_length = 100, pattern = r"^[!-~]+$")]
    pub order_id: String,
    pub member: MemberField,
    /// Paid amount in fen.
    #[schema(minimum = 1, maximum = 100_000_000_000_i64)]
    pub amount_fen: i64,
    /// RFC 3339; defaults to now. Within the last 90 days and at most 5
    /// minutes ahead (a clock slightly ahead counts as now); else 400.
    pub occurred_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseResponse {
    pub purchase_id: i64,
    pub points_earned: i64,
    pub points_balance: i64,
    pub tier: TierOut,
    pub tier_changed: bool,
}

impl From<points::PurchaseRecorded> for PurchaseResponse {
    fn from(r: points::PurchaseRecorded) -> Self {
        PurchaseResponse {
            purchase_id: r.purchase_id,
            points_earned: r.points_earned,
            points_balance: r.points_balance,
            tier: r.tier.into(),
            tier_changed: r.tier_changed,
        }
    }
}

/// Records a paid bill: points, and an upgrade when it reaches a tier.
#[utoipa::path(
    post, path = "/purchases", request_body = PurchaseRequest, tag = "purchases",
    params(("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, pattern = r"^[ -~]+$", description = "1–255 visible ASCII characters, reused on retries")),
    responses(
        (status = 200, body = PurchaseResponse),
        (status = 400, body = Problem, description = "`idempotency_key_missing`, `invalid_body`, `invalid_input`"),
        (status = 404, body = Problem, description = "`member_not_found`"),
        (status = 409, body = Problem, description = "`order_already_recorded`, `request_in_progress`"),
        (status = 422, body = Problem, description = "`idempotency_key_reused`; `points_paid_over_cap` when points paid on this order (before its bill was known) more than the brand's cap of this bill: nothing is recorded; void a points payment and record the purchase again"),
        (status = 429, body = Problem, description = "`rate_limited`"),
    )
)]
pub async fn purchase(
    State(state): State<AppState>,
    Caller(caller): Caller,
    key: IdempotencyKey,
    JsonBody { value: req, raw }: JsonBody<PurchaseRequest>,
) -> Result<Response, Problem> {
    let order = field_id("order_id", &req.order_id)?;
    let fen = amount("amount_fen", req.amount_fen)?;
    let at = req.occurred_at.as_deref().map(occurred_at).transpose()?;
    let member = member_named(&state, &caller, &req.member);
    let path = "/api/v1/purchases";
    envelope::run_reading(
        &state,
        caller.key_id(),
        &key,
        path,
        &raw,
        member,
        move |tx, m| {
            Box::pin(async move {
                let r =
                    points::record_purchase(tx, &SystemClock, &caller, &m, &order, fen, at).await?;
                Ok(PurchaseResponse::from(r))
            })
        },
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefundRequest {
    /// Unique per purchase.
    #[schema(min_length = 1, max_length = 100, pattern = r"^[!-~]+$")]
    pub refund_id: String,
    #[schema(minimum = 1, maximum = 100_000_000_000_i64)]
    pub amount_fen: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundResponse {
    pub refund_id: String,
    pub points_reversed: i64,
    pub points_balance: i64,
}

/// Refunds part or all of a purchase; its points go back in proportion.
#[utoipa::path(
    post, path = "/purchases/{order_id}/refunds", request_body = RefundRequest, tag = "purchases",
    params(
        ("order_id" = String, Path, description = "the purchase's order id at this store"),
        ("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, pattern = r"^[ -~]+$", description = "1–255 visible ASCII characters, reused on retries"),
    ),
    responses(
        (status = 200, body = RefundResponse),
        (status = 404, body = Problem, description = "`purchase_not_found`"),
        (status = 409, body = Problem, description = "`refund_already_recorded`"),
        (status = 422, body = Problem, description = "`refund_exceeds_purchase`"),
    )
)]
pub async fn refund(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(order_id): Path<String>,
    key: IdempotencyKey,
    JsonBody { value: req, raw }: JsonBody<RefundRequest>,
) -> Result<Response, Problem> {
    let order = field_id("order_id", &order_id)?;
    let refund_id = field_id("refund_id", &req.refund_id)?;
    let fen = amount("amount_fen", req.amount_fen)?;
    let path = format!("/api/v1/purchases/{order_id}/refunds");
    envelope::run(&state, caller.key_id(), &key, &path, &raw, move |tx| {
        Box::pin(async move {
            let (brand, store) = (caller.brand(), caller.store());
            let r = points::record_refund(tx, &SystemClock, brand, store, &order, &refund_id, fen)
                .await?;
            Ok(RefundResponse {
                refund_id: req.refund_id.trim().to_owned(),
                points_reversed: r.points_reversed,
                points_balance: r.points_balance,
            })
        })
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RedeemRequest {
    pub member: MemberField,
    #[schema(min_length = 1, max_length = 100, pattern = r"^[!-~]+$")]
    pub order_id: String,
    #[schema(minimum = 1)]
    pub points: i64,
    /// The bill, in fen. The brand's cap on paying with points holds per
    /// order: against the purchase already recorded under `order_id`, else
    /// against this bill. Without either, the payment is taken, and the
    /// purchase recorded later under `order_id` is refused
    /// (`points_paid_over_cap`) while the order's points payments are over
    /// the cap of its bill.
    pub amount_fen: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RedeemResponse {
    pub redemption_id: i64,
    pub value_fen: i64,
    pub points_balance: i64,
}

impl From<points::PointsRedeemed> for RedeemResponse {
    fn from(r: points::PointsRedeemed) -> Self {
        RedeemResponse {
            redemption_id: r.redemption_id,
            value_fen: r.value_fen,
            points_balance: r.points_balance,
        }
    }
}

/// Pays part of a bill with points (积分抵现).
#[utoipa::path(
    post, path = "/points/redeem", request_body = RedeemRequest, tag = "points",
    params(("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, pattern = r"^[ -~]+$", description = "1–255 visible ASCII characters, reused on retries")),
    responses(
        (status = 200, body = RedeemResponse),
        (status = 404, body = Problem, description = "`member_not_found`"),
        (status = 422, body = Problem, description = "`insufficient_points`; `points_cap_exceeded` (over the brand's cap of the order's bill: the recorded purchase's, else `amount_fen`; counting earlier payments on the order)"),
    )
)]
pub async fn redeem_points(
    State(state): State<AppState>,
    Caller(caller): Caller,
    key: IdempotencyKey,
    JsonBody { value: req, raw }: JsonBody<RedeemRequest>,
) -> Result<Response, Problem> {
    let count = point_count(req.points)?;
    let bill = req
        .amount_fen
        .map(|f| amount("amount_fen", f))
        .transpose()?;
    let order = field_id("order_id", &req.order_id)?;
    let member = member_named(&state, &caller, &req.member);
    let path = "/api/v1/points/redeem";
    envelope::run_reading(
        &state,
        caller.key_id(),
        &key,
        path,
        &raw,
        member,
        move |tx, m| {
            Box::pin(async move {
                let r =
                    points::redeem(tx, &SystemClock, &caller, m.id, &order, count, bill).await?;
                Ok(RedeemResponse::from(r))
            })
        },
    )
    .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VoidResponse {
    pub points_balance: i64,
}

/// Cancels a points payment; the points return to the member.
#[utoipa::path(
    post, path = "/points/redemptions/{redemption_id}/void", tag = "points",
    params(
        ("redemption_id" = i64, Path, description = "from the redeem response"),
        ("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, pattern = r"^[ -~]+$", description = "1–255 visible ASCII characters, reused on retries"),
    ),
    responses(
        (status = 200, body = VoidResponse),
        (status = 404, body = Problem, description = "`redemption_not_found`"),
        (status = 409, body = Problem, description = "`redemption_already_voided`"),
    )
)]
pub async fn void_points(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(redemption): Path<String>,
    key: IdempotencyKey,
    body: Bytes,
) -> Result<Response, Problem> {
    let id = redemption_id(&redemption)?;
    let path = format!("/api/v1/points/redemptions/{redemption}/void");
    envelope::run(&state, caller.key_id(), &key, &path, &body, move |tx| {
        Box::pin(async move {
            let points_balance = points::void_redemption(tx, &SystemClock, &caller, id).await?;
            Ok(VoidResponse { points_balance })
        })
    })
    .await
}

/// A coupon as the POS sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CouponOut {
    /// The code to type or scan, without separators.
    pub code: String,
    /// The rule in the brand's language, e.g. 满200减50.
    pub title: String,
    /// `amount_off`, `percent_off`, `voucher` or `gift`.
    pub kind: String,
    /// For a gift coupon: the item to hand over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gift_item: Option<String>,
    /// Whether the member's tier discount applies on top.
    pub stacks_with_tier_discount: bool,
    /// RFC 3339.
    pub valid_until: String,
}

impl CouponOut {
    fn new(brand: &Brand, c: &coupons::Coupon, t: &coupons::Template) -> Self {
        CouponOut {
            code: c.code.as_str().to_owned(),
            title: app::coupon_text::title(app::locale::to_locale(brand.default_language), &t.rule),
            kind: t.rule.kind.as_str().to_owned(),
            gift_item: t.rule.gift_item.clone(),
            stacks_with_tier_discount: t.stacks_with_tier,
            valid_until: rfc3339(c.valid_until),
        }
    }
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// The till's language: its `Accept-Language`, else the brand's default.
fn caller_language(headers: &HeaderMap, brand: &Brand) -> Language {
    headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(app::locale::from_accept_language)
        .and_then(|l| Language::from_tag(app::i18n::I18nLocaleTrait::as_str(l)))
        .unwrap_or(brand.default_language)
}

/// Would this coupon apply to this bill, here and now?
async fn quote_coupon(
    state: &AppState,
    caller: &PosKey,
    code: &str,
    bill: Fen,
) -> Result<coupons::Quote, loyalty::Error> {
    let Some(code) = coupons::CouponCode::parse(code) else {
        return Err(loyalty::Error::CouponNotFound);
    };
    let (db, brand, store) = (&state.portal.db, caller.brand(), caller.store());
    coupons::validate(db, &SystemClock, brand, store, &code, bill).await
}

fn coupon_code(input: &str) -> Result<coupons::CouponCode, Problem> {
    coupons::CouponCode::parse(input).ok_or_else(|| Problem::from(loyalty::Error::CouponNotFound))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ValidateRequest {
    /// As printed (`7KQ3M-XR9TD`); case, spaces and dashes do not matter.
    #[schema(min_length = 10, max_length = 64)]
    pub code: String,
    /// The bill, in fen.
    #[schema(minimum = 1, maximum = 100_000_000_000_i64)]
    pub amount_fen: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ValidateResponse {
    pub valid: bool,
    pub discount_fen: i64,
    /// Why not, when not valid: `coupon_not_found`, `coupon_already_redeemed`,
    /// `coupon_expired`, `coupon_not_started`, `coupon_not_applicable`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    /// The condition that failed: `threshold`, `store`, `time_window`, `tier`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The same, as a sentence for the cashier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupon: Option<CouponOut>,
}

impl ValidateResponse {
    /// A coupon that does not apply is an answer that says why, in the
    /// till's language; anything else that went wrong is a problem.
    fn new(
        quote: Result<coupons::Quote, loyalty::Error>,
        brand: &Brand,
        language: Language,
    ) -> Result<Self, Problem> {
        use loyalty::Error as E;
        match quote {
            Ok(q) => Ok(ValidateResponse {
                valid: true,
                discount_fen: q.discount_fen,
                reason_code: None,
                reason: None,
                detail: None,
                coupon: Some(CouponOut::new(brand, &q.coupon, &q.template)),
            }),
            Err(e @ (E::CouponRefused(_) | E::CouponNotFound)) => Ok(ValidateResponse {
                valid: false,
                discount_fen: 0,
                reason_code: Some(e.code().to_owned()),
                reason: match &e {
                    E::CouponRefused(r) => Some(r.reason().to_owned()),
                    _ => None,
                },
                detail: Some(super::problem::localized(e, language).detail),
                coupon: None,
            }),
            Err(e) => Err(Problem::from(e)),
        }
    }
}

/// Checks a coupon against a bill without using it.
#[utoipa::path(
    post, path = "/coupons/validate", request_body = ValidateRequest, tag = "coupons",
    params(("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, pattern = r"^[ -~]+$", description = "1–255 visible ASCII characters, reused on retries")),
    responses(
        (status = 200, body = ValidateResponse, description = "valid or not, and why"),
        (status = 400, body = Problem, description = "`idempotency_key_missing`, `invalid_body`, `invalid_input`"),
    )
)]
pub async fn validate_coupon(
    State(state): State<AppState>,
    Caller(caller): Caller,
    key: IdempotencyKey,
    headers: HeaderMap,
    JsonBody { value: req, raw }: JsonBody<ValidateRequest>,
) -> Result<Response, Problem> {
    let bill = amount("amount_fen", req.amount_fen)?;
    // Nothing changes, so the check runs before the envelope's transaction.
    let quote = quote_coupon(&state, &caller, &req.code, bill).await;
    let language = caller_language(&headers, caller.brand());
    let answer = ValidateResponse::new(quote, caller.brand(), language);
    let path = "/api/v1/coupons/validate";
    envelope::run_prepared(
        &state,
        caller.key_id(),
        &key,
        path,
        &raw,
        answer,
        move |_, a| Box::pin(async move { Ok(a) }),
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CouponRedeemRequest {
    #[schema(min_length = 10, max_length = 64)]
    pub code: String,
    #[schema(min_length = 1, max_length = 100, pattern = r"^[!-~]+$")]
    pub order_id: String,
    /// The bill, in fen.
    #[schema(minimum = 1, maximum = 100_000_000_000_i64)]
    pub amount_fen: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CouponRedeemResponse {
    pub redemption_id: i64,
    pub discount_fen: i64,
    pub coupon: CouponOut,
}

impl CouponRedeemResponse {
    fn new(brand: &Brand, r: coupons::Redeemed) -> Self {
        CouponRedeemResponse {
            redemption_id: r.redemption_id,
            discount_fen: r.discount_fen,
            coupon: CouponOut::new(brand, &r.coupon, &r.template),
        }
    }
}

/// Uses a coupon on a bill, exactly once.
#[utoipa::path(
    post, path = "/coupons/redeem", request_body = CouponRedeemRequest, tag = "coupons",
    params(("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, pattern = r"^[ -~]+$", description = "1–255 visible ASCII characters, reused on retries")),
    responses(
        (status = 200, body = CouponRedeemResponse),
        (status = 404, body = Problem, description = "`coupon_not_found`"),
        (status = 409, body = Problem, description = "`coupon_already_redeemed`, `request_in_progress`"),
        (status = 422, body = Problem, description = "`coupon_expired`, `coupon_not_started`, `coupon_not_applicable` (threshold, store, time window, tier)"),
    )
)]
pub async fn redeem_coupon(
    State(state): State<AppState>,
    Caller(caller): Caller,
    key: IdempotencyKey,
    headers: HeaderMap,
    JsonBody { value: req, raw }: JsonBody<CouponRedeemRequest>,
) -> Result<Response, Problem> {
    let order = field_id("order_id", &req.order_id)?;
    let bill = amount("amount_fen", req.amount_fen)?;
    let language = caller_language(&headers, caller.brand());
    let code = coupon_code(&req.code);
    let path = "/api/v1/coupons/redeem";
    envelope::run_prepared(
        &state,
        caller.key_id(),
        &key,
        path,
        &raw,
        code,
        move |tx, code| {
            Box::pin(async move {
                let brand = caller.brand();
                let r = coupons::redeem(tx, &SystemClock, &caller, &code, &order, bill)
                    .await
                    .map_err(|e| super::problem::localized(e, language))?;
                Ok(CouponRedeemResponse::new(brand, r))
            })
        },
    )
    .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CouponState {
    pub code: String,
    /// `available`, or `expired` when its validity ended meanwhile.
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CouponVoidResponse {
    pub coupon: CouponState,
}

/// Cancels a coupon redemption made at this store; the coupon is usable again while valid.
#[utoipa::path(
    post, path = "/redemptions/{redemption_id}/void", tag = "coupons",
    params(
        ("redemption_id" = i64, Path, description = "from the coupon redeem response"),
        ("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, pattern = r"^[ -~]+$", description = "1–255 visible ASCII characters, reused on retries"),
    ),
    responses(
        (status = 200, body = CouponVoidResponse),
        (status = 404, body = Problem, description = "`redemption_not_found`"),
        (status = 409, body = Problem, description = "`redemption_already_voided`"),
    )
)]
pub async fn void_coupon(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(redemption): Path<String>,
    key: IdempotencyKey,
    body: Bytes,
) -> Result<Response, Problem> {
    let id = redemption_id(&redemption)?;
    // Under either route's name: the two are one request.
    let path = format!("/api/v1/redemptions/{redemption}/void");
    envelope::run(&state, caller.key_id(), &key, &path, &body, move |tx| {
        Box::pin(async move {
            let (code, status) = coupons::void_redemption(tx, &SystemClock, &caller, id).await?;
            Ok(CouponVoidResponse {
                coupon: CouponState {
                    code: code.as_str().to_owned(),
                    status: status.as_str().to_owned(),
                },
            })
        })
    })
    .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoredValueOut {
    /// Principal and bonus together, in fen.
    pub balance_fen: i64,
}

/// The tender names the API accepts, as the core spells them.
fn tender(input: Option<&str>) -> Result<Option<stored_value::Tender>, Problem> {
    input
        .map(|t| {
            stored_value::Tender::parse(t).ok_or_else(|| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_input",
                    "tender must be one of cash, card, wechat_pay, alipay, other.",
                )
            })
        })
        .transpose()
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TopUpRequest {
    /// Unique per store.
    #[schema(min_length = 1, max_length = 100, pattern = r"^[!-~]+$")]
    pub top_up_id: String,
    pub member: MemberField,
    /// Money paid in, in fen (at most ¥1,000,000 per top-up).
    #[schema(minimum = 1, maximum = 100_000_000_i64)]
    pub amount_fen: i64,
    /// How the member paid: `cash`, `card`, `wechat_pay`, `alipay` or `other`.
    pub tender: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TopUpResponse {
    pub top_up_id: String,
    /// Paid in: the part that can be refunded.
    pub principal_fen: i64,
    /// Given by the brand's top-up offer in force; never refunded.
    pub bonus_fen: i64,
    pub balance_fen: i64,
}

/// Records money a member paid in at this store (储值), with the bonus of the brand's offer in force.
#[utoipa::path(
    post, path = "/stored-value/top-ups", request_body = TopUpRequest, tag = "stored value",
    params(("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, pattern = r"^[ -~]+$", description = "1–255 visible ASCII characters, reused on retries")),
    responses(
        (status = 200, body = TopUpResponse),
        (status = 404, body = Problem, description = "`member_not_found`"),
        (status = 409, body = Problem, description = "`top_up_already_recorded`: this top_up_id is recorded at this store under another Idempotency-Key; nothing was added"),
        (status = 422, body = Problem, description = "`stored_value_limit`: the balance would pass ¥10,000,000"),
    )
)]
pub async fn top_up(
    State(state): State<AppState>,
    Caller(caller): Caller,
    key: IdempotencyKey,
    JsonBody { value: req, raw }: JsonBody<TopUpRequest>,
) -> Result<Response, Problem> {
    let top_up_id = field_id("top_up_id", &req.top_up_id)?;
    let fen = amount("amount_fen", req.amount_fen)?;
    let tender = tender(req.tender.as_deref())?;
    let member = member_named(&state, &caller, &req.member);
    let path = "/api/v1/stored-value/top-ups";
    envelope::run_reading(
        &state,
        caller.key_id(),
        &key,
        path,
        &raw,
        member,
        move |tx, m| {
            Box::pin(async move {
                let r =
                    stored_value::top_up(tx, &SystemClock, &caller, m.id, &top_up_id, fen, tender)
                        .await?;
                Ok(TopUpResponse {
                    top_up_id: top_up_id.as_str().to_owned(),
                    principal_fen: r.principal_fen,
                    bonus_fen: r.bonus_fen,
                    balance_fen: r.balance.total_fen(),
                })
            })
        },
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StoredPaymentRequest {
    /// Unique per store.
    #[schema(min_length = 1, max_length = 100, pattern = r"^[!-~]+$")]
    pub payment_id: String,
    /// The card's current rotating code (14 digits), scanned or typed: a
    /// member number or a phone cannot spend the balance.
    pub member: MemberField,
    #[schema(minimum = 1, maximum = 100_000_000_000_i64)]
    pub amount_fen: i64,
    #[schema(min_length = 1, max_length = 100, pattern = r"^[!-~]+$")]
    pub order_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoredPaymentResponse {
    pub payment_id: String,
    pub paid_fen: i64,
    /// The part of the payment taken from principal …
    pub principal_fen: i64,
    /// … and from bonus, as the brand splits payments.
    pub bonus_fen: i64,
    pub balance_fen: i64,
}

/// Pays a bill, or part of it, from the member's stored balance.
#[utoipa::path(
    post, path = "/stored-value/payments", request_body = StoredPaymentRequest, tag = "stored value",
    params(("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, pattern = r"^[ -~]+$", description = "1–255 visible ASCII characters, reused on retries")),
    responses(
        (status = 200, body = StoredPaymentResponse),
        (status = 404, body = Problem, description = "`member_not_found`: no card shows this code now (a code is valid for about a minute)"),
        (status = 409, body = Problem, description = "`payment_already_recorded`: this payment_id is recorded at this store under another Idempotency-Key; nothing was taken"),
        (status = 422, body = Problem, description = "`rotating_code_required` (a member number or phone was given); `insufficient_balance`"),
    )
)]
pub async fn pay_stored(
    State(state): State<AppState>,
    Caller(caller): Caller,
    key: IdempotencyKey,
    JsonBody { value: req, raw }: JsonBody<StoredPaymentRequest>,
) -> Result<Response, Problem> {
    let payment_id = field_id("payment_id", &req.payment_id)?;
    let fen = amount("amount_fen", req.amount_fen)?;
    let order = req
        .order_id
        .as_deref()
        .map(|o| field_id("order_id", o))
        .transpose()?;
    let code = match &req.member {
        MemberField::Code(code) => code.clone(),
        _ => return Err(loyalty::Error::RotatingCodeRequired.into()),
    };
    let (shown, brand) = (state.clone(), caller.brand().id);
    let card = envelope::read(move |conn| {
        Box::pin(async move {
            let secret = &shown.portal.secret;
            Ok(member_code::shown(conn, &SystemClock, secret, brand, &code).await?)
        })
    });
    let path = "/api/v1/stored-value/payments";
    envelope::run_reading(
        &state,
        caller.key_id(),
        &key,
        path,
        &raw,
        card,
        move |tx, card| {
            Box::pin(async move {
                let (order, clock) = (order.as_ref(), &SystemClock);
                let r =
                    stored_value::pay(tx, clock, &caller, &card, &payment_id, fen, order).await?;
                Ok(StoredPaymentResponse {
                    payment_id: payment_id.as_str().to_owned(),
                    paid_fen: r.paid_fen,
                    principal_fen: r.principal_fen,
                    bonus_fen: r.bonus_fen,
                    balance_fen: r.balance.total_fen(),
                })
            })
        },
    )
    .await
}

/// Cancels a stored-value payment made at this store; exactly what it took goes back.
#[utoipa::path(
    post, path = "/stored-value/payments/{payment_id}/void", tag = "stored value",
    params(
        ("payment_id" = String, Path, description = "the payment's id at this store"),
        ("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, pattern = r"^[ -~]+$", description = "1–255 visible ASCII characters, reused on retries"),
    ),
    responses(
        (status = 200, body = StoredValueOut),
        (status = 404, body = Problem, description = "`payment_not_found`"),
        (status = 409, body = Problem, description = "`payment_already_voided`"),
    )
)]
pub async fn void_stored(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(payment): Path<String>,
    key: IdempotencyKey,
    body: Bytes,
) -> Result<Response, Problem> {
    let id = field_id("payment_id", &payment).map_err(|_| loyalty::Error::PaymentNotFound)?;
    let path = format!("/api/v1/stored-value/payments/{payment}/void");
    envelope::run(&state, caller.key_id(), &key, &path, &body, move |tx| {
        Box::pin(async move {
            let balance = stored_value::void_payment(tx, &SystemClock, &caller, &id).await?;
            Ok(StoredValueOut {
                balance_fen: balance.total_fen(),
            })
        })
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StoredRefundRequest {
    /// Unique per top-up.
    #[schema(min_length = 1, max_length = 100, pattern = r"^[!-~]+$")]
    pub refund_id: String,
    /// Principal to give back, in fen.
    #[schema(minimum = 1, maximum = 100_000_000_i64)]
    pub amount_fen: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoredRefundResponse {
    pub principal_refunded_fen: i64,
    /// The top-up's bonus, in proportion to the refund, as far as it is unspent.
    pub bonus_forfeited_fen: i64,
    pub balance_fen: i64,
}

/// Gives back unused principal of a top-up made at this store; its bonus is forfeited in proportion.
#[utoipa::path(
    post, path = "/stored-value/top-ups/{top_up_id}/refunds", request_body = StoredRefundRequest, tag = "stored value",
    params(
        ("top_up_id" = String, Path, description = "the top-up's id at this store"),
        ("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, pattern = r"^[ -~]+$", description = "1–255 visible ASCII characters, reused on retries"),
    ),
    responses(
        (status = 200, body = StoredRefundResponse),
        (status = 404, body = Problem, description = "`top_up_not_found`"),
        (status = 409, body = Problem, description = "`refund_already_recorded`"),
        (status = 422, body = Problem, description = "`refund_exceeds_principal`: more than what is left unspent of this top-up's principal"),
    )
)]
pub async fn refund_stored(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(top_up): Path<String>,
    key: IdempotencyKey,
    JsonBody { value: req, raw }: JsonBody<StoredRefundRequest>,
) -> Result<Response, Problem> {
    let top_up_id = field_id("top_up_id", &top_up).map_err(|_| loyalty::Error::TopUpNotFound)?;
    let refund_id = field_id("refund_id", &req.refund_id)?;
    let fen = amount("amount_fen", req.amount_fen)?;
    let path = format!("/api/v1/stored-value/top-ups/{top_up}/refunds");
    envelope::run(&state, caller.key_id(), &key, &path, &raw, move |tx| {
        Box::pin(async move {
            let clock = &SystemClock;
            let r = stored_value::refund(tx, clock, &caller, &top_up_id, &refund_id, fen).await?;
            Ok(StoredRefundResponse {
                principal_refunded_fen: r.principal_refunded_fen,
                bonus_forfeited_fen: r.bonus_forfeited_fen,
                balance_fen: r.balance.total_fen(),
            })
        })
    })
    .await
}
