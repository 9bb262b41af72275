//! `/admin/dashboard`: figures as tiles, the last 30 days as two small bar
//! charts drawn on the server (SVG, no script), and the latest feedback.

use leptos::prelude::*;

use crate::components::{Page, PageBrand};
use crate::functions::dashboard::{load_dashboard, DashboardPage, DecideAdjustment, DecideErasure};
use crate::i18n::*;
use crate::routes::admin::console_nav;
use crate::routes::{page_locale, staff_page};
use leptos::server_fn::ServerFn as _;
use loyalty::money::yuan;

#[component]
pub fn AdminDashboard() -> impl IntoView {
    staff_page(load_dashboard, |page| {
        view! { <Dashboard page /> }.into_any()
    })
}

/// Thirty bars scaled to the largest, with the first and last dates and
/// the peak written out; the figures are also in the SVG's title for
/// screen readers.
fn bars(
    locale: Locale,
    label: String,
    values: &[(String, i64)],
    show: fn(i64) -> String,
) -> impl IntoView {
    let max = values.iter().map(|v| v.1).max().unwrap_or(0).max(1);
    let (w, h) = (300.0, 80.0);
    let step = w / values.len().max(1) as f64;
    let rects = values
        .iter()
        .enumerate()
        .map(|(i, (day, v))| {
            let bh = (*v as f64 / max as f64) * (h - 14.0);
            view! {
                <rect x=format!("{:.1}", i as f64 * step + 1.0) y=format!("{:.1}", h - 12.0 - bh)
                    width=format!("{:.1}", (step - 2.0).max(1.0)) height=format!("{:.1}", bh.max(0.5))
                    fill="var(--brand, #b4442b)">
                    <title>{format!("{day}: {}", show(*v))}</title>
                </rect>
            }
        })
        .collect_view();
    let first = values.first().map(|v| v.0.clone()).unwrap_or_default();
    let last = values.last().map(|v| v.0.clone()).unwrap_or_default();
    let peak = td_string!(locale, dash_max, value = show(max)).to_string();
    let summary = format!("{label}: {first} – {last}, {peak}");
    view! {
        <figure class="spark">
            <figcaption>{label.clone()} <span class="muted">{format!(" · {peak}")}</span></figcaption>
            <svg viewBox="0 0 300 80" role="img" aria-label=summary>
                {rects}
                <text x="0" y="79" font-size="9" fill="#5d514a">{first}</text>
                <text x="300" y="79" font-size="9" fill="#5d514a" text-anchor="end">{last}</text>
            </svg>
        </figure>
    }
}

fn tile(label: String, value: String, note: Option<String>) -> impl IntoView {
    view! {
        <div class="tile">
            <p class="tile-label">{label}</p>
            <p class="tile-value">{value}</p>
            {note.map(|n| view! { <p class="tile-note muted">{n}</p> })}
        </div>
    }
}

#[component]
fn Dashboard(page: DashboardPage) -> impl IntoView {
    let locale = page_locale(page.staff.brand.default_locale);
    let brand = PageBrand::from(&page.staff.brand);
    let (staff, time_zone, page) = (page.staff, page.time_zone, page.screen);
    let summary = page.summary.clone();
    let joined: Vec<(String, i64)> = summary
        .days
        .iter()
        .map(|(d, n, _)| (d.clone(), *n))
        .collect();
    let sales: Vec<(String, i64)> = summary
        .days
        .iter()
        .map(|(d, _, f)| (d.clone(), *f))
        .collect();
    let feedback = page
        .feedback
        .iter()
        .map(|f| {
            view! {
                <li>
                    <a href=format!("/admin/feedback#f{}", f.id.0)><span class="nps-badge">{f.nps}</span></a>
                    " " <span class="muted">{f.day.clone()}</span>
                    {(!f.comment.is_empty()).then(|| view! { <p class="prose">{f.comment.clone()}</p> })}
                </li>
            }
        })
        .collect_view();
    let zone = time_zone.clone();
    let approvals = page.approvals.iter().map(|r| {
        let when = loyalty::points::rules::local_datetime(&zone, r.created_at);
        view! {
            <li class="panel stack">
                <p>
                    <strong>{format!("{:+}", r.delta)}</strong> " · "
                    <a href=format!("/admin/members/{}", r.member_no)>{r.member_name.clone()}" "<span class="mono">{r.member_no.clone()}</span></a>
                </p>
                <p class="prose">{r.reason.clone()}</p>
                <p class="muted">{td_string!(locale, dash_asked_by, name = r.requested_by.clone(), when = when)}</p>
                <form class="row" method="post" action=DecideAdjustment::PATH>
                    <input type="hidden" name="request" value=r.id.to_string() />
                    <button type="submit" name="decision" value="approve">{td_string!(locale, dash_approve)}</button>
                    <button type="submit" name="decision" value="reject" class="secondary">{td_string!(locale, dash_reject)}</button>
                </form>
            </li>
        }
    }).collect_view();
    let erasures = page.erasures.iter().map(|r| {
        let when = loyalty::points::rules::local_datetime(&zone, r.created_at);
        view! {
            <li class="panel stack">
                <p><a href=format!("/admin/members/{}", r.member_no)><span class="mono">{r.member_no.clone()}</span></a></p>
                <p class="prose">{r.reason.clone()}</p>
                <p class="muted">{td_string!(locale, dash_asked_by, name = r.requested_by.clone(), when = when)}</p>
                <form class="row" method="post" action=DecideErasure::PATH>
                    <input type="hidden" name="request" value=r.id.to_string() />
                    <button type="submit" name="decision" value="approve" class="danger">{td_string!(locale, erase_approve)}</button>
                    <button type="submit" name="decision" value="reject" class="secondary">{td_string!(locale, erase_reject)}</button>
                </form>
            </li>
        }
    }).collect_view();
    let hand_points = page
        .hand_points
        .iter()
        .map(|h| {
            view! {
                <tr>
                    <td>{h.staff.clone()}</td>
                    <td class="num">{format!("+{}", h.added)}</td>
                    <td class="num">{format!("-{}", h.taken)}</td>
                    <td class="num">{h.adjustments}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <Page locale title=td_string!(locale, admin_dashboard).to_string() brand>
            {console_nav(locale, &staff)}
            <h1>{td_string!(locale, admin_dashboard)}</h1>
            {(page.codes_sent * 100 >= page.code_budget * loyalty::members::otp::BUDGET_WARNING_PCT).then(|| view! {
                <p class={if page.codes_sent >= page.code_budget { "alert error" } else { "alert note" }} role="alert">
                    {td_string!(locale, dash_code_budget, sent = page.codes_sent, budget = page.code_budget)}
                </p>
            })}
            {(!page.approvals.is_empty()).then(|| view! {
                <section id="approvals" aria-labelledby="approvals-title">
                    <h2 id="approvals-title">{td_string!(locale, dash_approvals, n = page.approvals.len())}</h2>
                    <ul class="plain-list stack">{approvals}</ul>
                </section>
            })}
            {(!page.erasures.is_empty()).then(|| view! {
                <section id="erasures" aria-labelledby="erasures-title">
                    <h2 id="erasures-title">{td_string!(locale, erase_waiting, n = page.erasures.len())}</h2>
                    <ul class="plain-list stack">{erasures}</ul>
                </section>
            })}
            <div class="tiles">
                {tile(td_string!(locale, dash_members).to_string(), summary.members.to_string(),
                    Some(td_string!(locale, dash_new_week, n = summary.new_this_week).to_string()))}
                {tile(td_string!(locale, dash_active).to_string(), format!("{} / {}", summary.active_30, summary.active_90),
                    Some(td_string!(locale, dash_active_note).to_string()))}
                {tile(td_string!(locale, dash_liability).to_string(), yuan(summary.liability_fen),
                    Some(td_string!(locale, dash_points_out, n = summary.points_outstanding).to_string()))}
                {tile(td_string!(locale, dash_coupons).to_string(), format!("{} / {}", summary.coupons_redeemed, summary.coupons_issued),
                    Some(td_string!(locale, dash_coupons_note).to_string()))}
                {tile(td_string!(locale, dash_sales).to_string(), yuan(summary.sales_fen),
                    Some(td_string!(locale, dash_last_30).to_string()))}
                {tile("NPS".to_owned(), summary.nps_month.score().map(|n| n.to_string()).unwrap_or_else(|| "–".into()),
                    Some(td_string!(locale, dash_nps_note, n = summary.nps_month.total()).to_string()))}
                {tile(td_string!(locale, dash_messages).to_string(),
                    (page.messages.sign_in.sent + page.messages.marketing.sent).to_string(),
                    Some(td_string!(locale, dash_messages_note,
                        failed = page.messages.sign_in.failed + page.messages.marketing.failed,
                        cost = yuan(page.messages.cost_fen)).to_string()))}
            </div>
            <div class="charts">
                {bars(locale, td_string!(locale, dash_chart_joined).to_string(), &joined, |v| v.to_string())}
                {bars(locale, td_string!(locale, dash_chart_sales).to_string(), &sales, yuan)}
            </div>
            {(!page.hand_points.is_empty()).then(|| view! {
                <h2>{td_string!(locale, dash_hand_points)}</h2>
                <table class="table">
                    <thead><tr>
                        <th scope="col">{td_string!(locale, dash_hand_staff)}</th>
                        <th scope="col" class="num">{td_string!(locale, dash_hand_added)}</th>
                        <th scope="col" class="num">{td_string!(locale, dash_hand_taken)}</th>
                        <th scope="col" class="num">{td_string!(locale, dash_hand_count)}</th>
                    </tr></thead>
                    <tbody>{hand_points}</tbody>
                </table>
            })}
            <h2>{td_string!(locale, dash_latest_feedback)}</h2>
            {if page.feedback.is_empty() {
                view! { <p class="muted">{td_string!(locale, admin_inbox_empty)}</p> }.into_any()
            } else {
                view! { <ul class="plain-list">{feedback}</ul> }.into_any()
            }}
        </Page>
    }
}
