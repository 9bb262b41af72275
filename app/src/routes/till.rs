//! `/admin/till`: the cashier's screen. Plain server-rendered forms that work
//! before (and without) any WebAssembly; members never download any of it.
//! Large targets and one column, for a tablet or a phone at the counter.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::{Notice, Page, PageBrand};
use crate::coupon_text;
use crate::functions::till::TillCoupon;
use crate::functions::till::TillFind;
use crate::functions::till::TillPoints;
use crate::functions::till::TillPurchase;
use crate::functions::till::{load_till, TillPage, TillQuery};
use crate::functions::till::{TillStoredPay, TillStoredRefund, TillStoredVoid, TillTopUp};
use crate::i18n::*;
use crate::routes::admin::console_nav;
use crate::routes::{page_locale, staff_page};
use leptos::server_fn::ServerFn as _;
use loyalty::money::yuan;
use loyalty::staff::till::{FormKey, MemberAtTill, Outcome};

#[component]
pub fn AdminTill() -> impl IntoView {
    let q = use_query_map().get_untracked();
    let query = TillQuery {
        store: q.get("store").and_then(|s| s.parse().ok()),
        member: q.get("m"),
        done: q.get("done"),
    };
    staff_page(
        move || load_till(query.clone()),
        |page| view! { <Till page /> }.into_any(),
    )
}

fn done_view(locale: Locale, done: &Outcome) -> impl IntoView {
    let is_order = matches!(
        done,
        Outcome::Purchase { .. } | Outcome::Coupon { .. } | Outcome::Points { .. }
    );
    let (lines, order) = match done {
        Outcome::Purchase {
            amount_fen,
            points_earned,
            points_balance,
            new_tier,
            order_id,
            ..
        } => {
            let mut lines = vec![td_string!(
                locale,
                till_done_purchase,
                amount = yuan(*amount_fen),
                points = *points_earned,
                balance = *points_balance
            )
            .to_string()];
            if let Some(tier) = new_tier {
                lines.push(td_string!(locale, till_done_tier, tier = tier.clone()).to_string());
            }
            (lines, order_id.clone())
        }
        Outcome::Coupon {
            code,
            bill_fen,
            discount_fen,
            order_id,
            ..
        } => (
            vec![td_string!(
                locale,
                till_done_coupon,
                code = code.clone(),
                bill = yuan(*bill_fen),
                discount = yuan(*discount_fen)
            )
            .to_string()],
            order_id.clone(),
        ),
        Outcome::Points {
            points,
            value_fen,
            points_balance,
            order_id,
            ..
        } => (
            vec![td_string!(
                locale,
                till_done_points,
                points = *points,
                value = yuan(*value_fen),
                balance = *points_balance
            )
            .to_string()],
            order_id.clone(),
        ),
        Outcome::TopUp {
            top_up_id,
            amount_fen,
            bonus_fen,
            balance_fen,
            ..
        } => (
            vec![td_string!(
                locale,
                till_done_top_up,
                amount = yuan(*amount_fen),
                bonus = yuan(*bonus_fen),
                balance = yuan(*balance_fen)
            )
            .to_string()],
            top_up_id.clone(),
        ),
        Outcome::StoredPayment {
            payment_id,
            amount_fen,
            principal_fen,
            bonus_fen,
            balance_fen,
            ..
        } => (
            vec![td_string!(
                locale,
                till_done_stored_pay,
                amount = yuan(*amount_fen),
                principal = yuan(*principal_fen),
                bonus = yuan(*bonus_fen),
                balance = yuan(*balance_fen)
            )
            .to_string()],
            payment_id.clone(),
        ),
        Outcome::StoredVoid {
            payment_id,
            balance_fen,
            ..
        } => (
            vec![
                td_string!(locale, till_done_stored_void, balance = yuan(*balance_fen)).to_string(),
            ],
            payment_id.clone(),
        ),
        Outcome::StoredRefund {
            top_up_id,
            refunded_fen,
            forfeited_fen,
            balance_fen,
            ..
        } => (
            vec![td_string!(
                locale,
                till_done_stored_refund,
                refunded = yuan(*refunded_fen),
                forfeited = yuan(*forfeited_fen),
                balance = yuan(*balance_fen)
            )
            .to_string()],
            top_up_id.clone(),
        ),
    };
    view! {
        <section class="alert ok till-done" role="status">
            {lines.into_iter().map(|l| view! { <p class="till-done-line">{l}</p> }).collect_view()}
            <p class="muted mono">
                {if is_order {
                    td_string!(locale, till_done_order, order = order).to_string()
                } else {
                    td_string!(locale, till_done_ref, reference = order).to_string()
                }}
            </p>
        </section>
    }
}

/// The stored-value forms: top up and pay for anyone at the till; void
/// and refund for a manager, naming the ids the recent lines show.
fn stored_forms(
    locale: Locale,
    store: i64,
    m: &MemberAtTill,
    keys: &[FormKey; 7],
    manager: bool,
) -> impl IntoView {
    let no = m.member_no.clone();
    let tenders = loyalty::stored_value::Tender::ALL
        .into_iter()
        .map(|t| view! { <option value=t.as_str()>{crate::routes::stored_value::tender_label(locale, t.as_str())}</option> })
        .collect_view();
    let recent = (!m.stored_recent.is_empty()).then(|| {
        let rows = m
            .stored_recent
            .iter()
            .map(|mv| {
                let total = mv.principal_delta + mv.bonus_delta;
                view! {
                    <li>
                        {crate::routes::stored_value::movement_label(locale, &mv.kind)} " "
                        <strong class="mono">{yuan(total)}</strong> " "
                        <span class="mono muted">{mv.reference.clone().unwrap_or_default()}</span>
                    </li>
                }
            })
            .collect_view();
        view! {
            <h3>{td_string!(locale, till_stored_recent)}</h3>
            <ul class="till-stored-recent">{rows}</ul>
        }
    });
    let manager_forms = manager.then(|| {
        view! {
            <form class="stack panel" method="post" action=TillStoredVoid::PATH>
                <h2>{td_string!(locale, till_stored_void)}</h2>
                {member_fields(store, &no, keys[5].as_str())}
                <label for="sv-payment">{td_string!(locale, till_stored_payment_ref)}</label>
                <input id="sv-payment" name="payment" autocomplete="off" required maxlength="100" class="mono" />
                <button class="button secondary" type="submit">{td_string!(locale, till_void_button)}</button>
            </form>
            <form class="stack panel" method="post" action=TillStoredRefund::PATH>
                <h2>{td_string!(locale, till_stored_refund)}</h2>
                {member_fields(store, &no, keys[6].as_str())}
                <label for="sv-top-up">{td_string!(locale, till_stored_top_up_ref)}</label>
                <input id="sv-top-up" name="top_up" autocomplete="off" required maxlength="100" class="mono" />
                <label for="sv-refund-amount">{td_string!(locale, till_refund_amount)}</label>
                <input id="sv-refund-amount" name="amount" inputmode="decimal" autocomplete="off" required maxlength="20" class="till-money" />
                <button class="button secondary" type="submit">{td_string!(locale, till_refund_button)}</button>
            </form>
        }
    });
    view! {
        <form class="stack panel" method="post" action=TillTopUp::PATH>
            <h2>{td_string!(locale, till_top_up)}</h2>
            <p class="till-facts"><span class="till-points">{td_string!(locale, till_stored, amount = yuan(m.stored.total_fen()))}</span></p>
            {recent}
            {member_fields(store, &no, keys[3].as_str())}
            <label for="sv-amount">{td_string!(locale, till_amount)}</label>
            <input id="sv-amount" name="amount" inputmode="decimal" autocomplete="off" required maxlength="20" class="till-money" />
            <label for="sv-tender">{td_string!(locale, till_tender)}</label>
            <select id="sv-tender" name="tender">{tenders}</select>
            <button class="button primary" type="submit">{td_string!(locale, till_top_up_button)}</button>
        </form>
        <form class="stack panel" method="post" action=TillStoredPay::PATH>
            <h2>{td_string!(locale, till_stored_pay)}</h2>
            {member_fields(store, &no, keys[4].as_str())}
            <label for="sv-code">{td_string!(locale, till_stored_code)}</label>
            <input id="sv-code" name="code" inputmode="numeric" autocomplete="off" required maxlength="20" class="mono" />
            <label for="sv-pay-amount">{td_string!(locale, till_stored_amount)}</label>
            <input id="sv-pay-amount" name="amount" inputmode="decimal" autocomplete="off" required maxlength="20" class="till-money" />
            <label for="sv-order">{td_string!(locale, till_order)}</label>
            <input id="sv-order" name="order" autocomplete="off" maxlength="100" />
            <button class="button primary" type="submit">{td_string!(locale, till_stored_pay_button)}</button>
        </form>
        {manager_forms}
    }
}

/// The hidden fields every member form carries.
fn member_fields(store: i64, member: &str, key: &str) -> impl IntoView {
    view! {
        <input type="hidden" name="store" value=store.to_string() />
        <input type="hidden" name="member" value=member.to_owned() />
        <input type="hidden" name="key" value=key.to_owned() />
    }
}

fn member_view(
    locale: Locale,
    store: i64,
    m: &MemberAtTill,
    keys: &[FormKey; 7],
    time_zone: &str,
    manager: bool,
) -> impl IntoView {
    let tier = if m.discount_pct > 0 {
        td_string!(
            locale,
            till_tier,
            tier = m.tier_name.clone(),
            pct = m.discount_pct
        )
        .to_string()
    } else {
        td_string!(locale, till_tier_plain, tier = m.tier_name.clone()).to_string()
    };
    let coupons = if m.coupons.is_empty() {
        view! { <p class="muted">{td_string!(locale, till_coupons_none)}</p> }.into_any()
    } else {
        m.coupons
            .iter()
            .enumerate()
            .map(|(i, held)| {
                let id = format!("coupon-{i}");
                let label_for = id.clone();
                let rule = &held.template.rule;
                let (code, title) = (held.coupon.code.grouped(), coupon_text::title(locale, rule));
                let until = loyalty::points::rules::local_date(time_zone, held.coupon.valid_until);
                let detail = [
                    coupon_text::conditions(locale, rule),
                    td_string!(locale, till_until, date = until).to_string(),
                ]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" · ");
                view! {
                    <label class="till-coupon" for=label_for>
                        <input type="radio" id=id name="code" value=code.clone() checked=i == 0 />
                        <span>
                            <strong>{title}</strong>
                            <span class="mono">" " {code}</span>
                            <span class="muted till-coupon-detail">{detail}</span>
                        </span>
                    </label>
                }
            })
            .collect_view()
            .into_any()
    };
    let no = m.member_no.clone();
    view! {
        <section class="panel till-member" aria-labelledby="till-member-name">
            <h2 id="till-member-name">{m.display_name.clone()}</h2>
            <p class="muted">{td_string!(locale, till_member_no, no = no.clone())} " · " {m.phone_masked.clone()}</p>
            <p class="till-facts">
                <span class="tier-badge">{tier}</span>
                <span class="till-points">{td_string!(locale, till_points, points = m.points)}</span>
            </p>
            <a class="small-link" href=format!("/admin/till?store={store}")>{td_string!(locale, till_next_member)}</a>
        </section>

        <form class="stack panel" method="post" action=TillPurchase::PATH>
            <h2>{td_string!(locale, till_purchase)}</h2>
            {member_fields(store, &no, keys[0].as_str())}
            <label for="amount">{td_string!(locale, till_amount)}</label>
            <input id="amount" name="amount" inputmode="decimal" autocomplete="off" required maxlength="20" class="till-money" />
            <label for="order">{td_string!(locale, till_order)}</label>
            <input id="order" name="order" autocomplete="off" maxlength="100" />
            <button class="button primary" type="submit">{td_string!(locale, till_record)}</button>
        </form>

        <form class="stack panel" method="post" action=TillCoupon::PATH>
            <h2>{td_string!(locale, till_use_coupon)}</h2>
            {member_fields(store, &no, keys[1].as_str())}
            <fieldset class="till-coupons">
                <legend>{td_string!(locale, till_coupons)}</legend>
                {coupons}
            </fieldset>
            <label for="typed">{td_string!(locale, till_coupon_typed)}</label>
            <input id="typed" name="typed" autocomplete="off" autocapitalize="characters" maxlength="20" class="mono" />
            <label for="coupon-bill">{td_string!(locale, till_bill)}</label>
            <input id="coupon-bill" name="bill" inputmode="decimal" autocomplete="off" required maxlength="20" class="till-money" />
            <label for="coupon-order">{td_string!(locale, till_order)}</label>
            <input id="coupon-order" name="order" autocomplete="off" maxlength="100" />
            <button class="button primary" type="submit">{td_string!(locale, till_redeem)}</button>
        </form>

        <form class="stack panel" method="post" action=TillPoints::PATH>
            <h2>{td_string!(locale, till_points_pay)}</h2>
            {member_fields(store, &no, keys[2].as_str())}
            <label for="points">{td_string!(locale, till_points_to_use)}</label>
            <input id="points" name="points" inputmode="numeric" autocomplete="off" required maxlength="12" />
            <label for="points-bill">{td_string!(locale, till_bill)}</label>
            <input id="points-bill" name="bill" inputmode="decimal" autocomplete="off" required maxlength="20" class="till-money" />
            <label for="points-order">{td_string!(locale, till_order_required)}</label>
            <input id="points-order" name="order" autocomplete="off" required maxlength="100" />
            <button class="button primary" type="submit">{td_string!(locale, till_pay)}</button>
        </form>
        {stored_forms(locale, store, m, keys, manager)}
    }
}

#[component]
fn Till(page: TillPage) -> impl IntoView {
    let locale = page_locale(page.staff.brand.default_locale);
    let brand = PageBrand::from(&page.staff.brand);
    let (staff, page) = (page.staff, page.screen);
    let manager = staff.role != "cashier";
    let stores: Vec<(i64, String)> = page
        .stores
        .iter()
        .map(|s| (s.id.0, s.name.clone()))
        .collect();
    let current = page.store.map(|s| s.0);
    let chooser = (stores.len() > 1).then(|| {
        let options = stores
            .iter()
            .map(|(id, name)| view! { <option value=id.to_string() selected=current == Some(*id)>{name.clone()}</option> })
            .collect_view();
        view! {
            <form class="filters" method="get" action="/admin/till">
                <label for="till-store">{td_string!(locale, till_choose_store)}</label>
                <select id="till-store" name="store">{options}</select>
                <button class="button secondary" type="submit">{td_string!(locale, till_open)}</button>
            </form>
        }
    });
    let store_name = current
        .and_then(|s| stores.iter().find(|(id, _)| *id == s))
        .map(|(_, name)| name.clone());
    let alert = view! { <Notice locale /> };
    let body = match current {
        None if stores.is_empty() => {
            view! { <p class="alert error" role="alert">{td_string!(locale, till_no_store)}</p> }.into_any()
        }
        None => ().into_any(),
        Some(store) => view! {
            <form class="stack panel" method="post" action=TillFind::PATH>
                <input type="hidden" name="store" value=store.to_string() />
                <label for="q">{td_string!(locale, till_lookup_label)}</label>
                <input id="q" name="q" autocomplete="off" required maxlength="40" class="till-lookup"
                    autofocus=page.member.is_none() aria-describedby="q-hint" />
                <p class="muted" id="q-hint">{td_string!(locale, till_lookup_hint)}</p>
                <button class="button primary" type="submit">{td_string!(locale, till_find)}</button>
            </form>
            {page.member.as_ref().map(|m| member_view(locale, store, m, &page.keys, &page.time_zone, manager))}
        }
        .into_any(),
    };
    view! {
        <Page locale title=td_string!(locale, admin_till).to_string() brand>
            {console_nav(locale, &staff)}
            <h1>{td_string!(locale, admin_till)} {store_name.map(|n| format!(" · {n}"))}</h1>
            {chooser}
            {alert}
            {page.done.as_ref().map(|d| done_view(locale, d))}
            {body}
        </Page>
    }
}
