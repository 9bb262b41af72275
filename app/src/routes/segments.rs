//! `/admin/segments?window=180&segment=important_value`: the eight RFM
//! segments as a table and a bar chart drawn on the server, one segment's
//! members, and the churn-risk list; each list downloads as CSV.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::{Notice, Page, PageBrand};
use crate::functions::segments::GrantRfmCampaign;
use crate::functions::segments::{
    load_segments, CampaignLine, SegmentMember, SegmentsPage, WINDOWS,
};
use crate::i18n::*;
use crate::routes::admin::console_nav;
use crate::routes::{page_locale, staff_page};
use leptos::server_fn::ServerFn as _;
use loyalty::money::yuan;

#[component]
pub fn AdminSegments() -> impl IntoView {
    let q = use_query_map().get_untracked();
    let window = q.get("window").and_then(|w| w.parse().ok());
    let segment = q.get("segment");
    staff_page(
        move || load_segments(window, segment.clone()),
        |page| view! { <Segments page /> }.into_any(),
    )
}

fn segment_name(locale: Locale, s: &str) -> String {
    match s {
        "important_value" => td_string!(locale, seg_important_value),
        "important_develop" => td_string!(locale, seg_important_develop),
        "important_keep" => td_string!(locale, seg_important_keep),
        "important_win_back" => td_string!(locale, seg_important_win_back),
        "general_value" => td_string!(locale, seg_general_value),
        "general_develop" => td_string!(locale, seg_general_develop),
        "general_keep" => td_string!(locale, seg_general_keep),
        _ => td_string!(locale, seg_general_win_back),
    }
    .to_string()
}

/// Eight horizontal bars, one per segment, scaled to the largest.
fn chart(locale: Locale, counts: &[(String, i64, i64)]) -> impl IntoView {
    let max = counts.iter().map(|c| c.1).max().unwrap_or(0).max(1);
    let row_h = 22.0;
    let height = row_h * counts.len() as f64;
    let bars = counts
        .iter()
        .enumerate()
        .map(|(i, (s, n, _))| {
            let y = i as f64 * row_h;
            let w = (*n as f64 / max as f64) * 170.0;
            let name = segment_name(locale, s);
            view! {
                <text x="0" y=format!("{:.0}", y + 15.0) font-size="11" fill="#3d332d">{name.clone()}</text>
                <rect x="190" y=format!("{:.0}", y + 4.0) width=format!("{:.1}", w.max(0.5)) height="14" fill="var(--brand, #b4442b)">
                    <title>{format!("{name}: {n}")}</title>
                </rect>
                <text x=format!("{:.1}", 194.0 + w) y=format!("{:.0}", y + 15.0) font-size="11" fill="#5d514a">{n.to_string()}</text>
            }
        })
        .collect_view();
    let summary = counts
        .iter()
        .map(|(s, n, _)| format!("{} {n}", segment_name(locale, s)))
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <figure class="spark">
            <svg viewBox=format!("0 0 400 {height:.0}") role="img" aria-label=summary>{bars}</svg>
        </figure>
    }
}

fn member_rows(members: &[SegmentMember], figure: fn(i64) -> String) -> impl IntoView {
    members
        .iter()
        .map(|m| {
            view! {
                <tr>
                    <th scope="row"><a href=format!("/admin/members/{}", m.member_no)>{m.member_no.clone()}</a></th>
                    <td>{m.phone_masked.clone()}</td>
                    <td>{m.name.clone()}</td>
                    <td class="num">{m.days_since}</td>
                    <td class="num">{m.visits}</td>
                    <td class="num">{figure(m.figure)}</td>
                    <td class="num">{yuan(m.lifetime_fen)}</td>
                </tr>
            }
        })
        .collect_view()
}

fn list_head(locale: Locale, figure: String) -> impl IntoView {
    view! {
        <thead>
            <tr>
                <th scope="col">{td_string!(locale, seg_col_no)}</th>
                <th scope="col">{td_string!(locale, seg_col_phone)}</th>
                <th scope="col">{td_string!(locale, seg_col_name)}</th>
                <th scope="col">{td_string!(locale, seg_col_days_since)}</th>
                <th scope="col">{td_string!(locale, seg_col_visits)}</th>
                <th scope="col">{figure}</th>
                <th scope="col">{td_string!(locale, seg_col_lifetime)}</th>
            </tr>
        </thead>
    }
}

/// `rfm:important_value:180` in the brand's words; the members list's
/// filters as "the members list".
fn audience(locale: Locale, a: &str) -> String {
    let mut parts = a.split(':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("rfm"), Some(s), Some(days)) => format!(
            "{} · {}",
            segment_name(locale, s),
            td_string!(locale, seg_window_days, days = days.to_owned())
        ),
        _ => td_string!(locale, seg_from_members_list).to_string(),
    }
}

/// What each campaign gave and brought back: coupons issued and redeemed,
/// and the bills they were redeemed on.
fn campaigns(locale: Locale, lines: &[CampaignLine]) -> impl IntoView {
    let rows = lines
        .iter()
        .map(|c| {
            let rate = if c.issued > 0 {
                c.redeemed * 100 / c.issued
            } else {
                0
            };
            let issued = match c.progress {
                Some((done, total)) => td_string!(
                    locale,
                    seg_in_progress,
                    done = done,
                    total = total,
                    issued = c.issued
                )
                .to_string(),
                None if c.out_of_stock => {
                    td_string!(locale, seg_out_of_stock, issued = c.issued).to_string()
                }
                None => c.issued.to_string(),
            };
            view! {
                <tr>
                    <td class="nowrap">{c.date.clone()}</td>
                    <th scope="row">{audience(locale, &c.audience)}</th>
                    <td>{c.coupon.clone()}</td>
                    <td class="num">{issued}</td>
                    <td class="num">{format!("{} ({rate}%)", c.redeemed)}</td>
                    <td class="num">{yuan(c.bills_fen)}</td>
                    <td class="num">{yuan(c.discount_fen)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="panel" id="campaigns">
            <h2>{td_string!(locale, seg_campaigns)}</h2>
            {if lines.is_empty() {
                view! { <p class="muted">{td_string!(locale, seg_no_campaigns)}</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap" tabindex="0" role="region" aria-label=td_string!(locale, seg_campaigns)>
                        <table class="report">
                            <thead>
                                <tr>
                                    <th scope="col">{td_string!(locale, seg_col_date)}</th>
                                    <th scope="col">{td_string!(locale, seg_segment)}</th>
                                    <th scope="col">{td_string!(locale, auto_coupon)}</th>
                                    <th scope="col">{td_string!(locale, cpn_issued)}</th>
                                    <th scope="col">{td_string!(locale, seg_col_redeemed)}</th>
                                    <th scope="col">{td_string!(locale, seg_col_bills)}</th>
                                    <th scope="col">{td_string!(locale, seg_col_discount)}</th>
                                </tr>
                            </thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                }
                    .into_any()
            }}
        </section>
    }
}

#[component]
fn Segments(page: SegmentsPage) -> impl IntoView {
    let locale = page_locale(page.staff.brand.default_locale);
    let brand = PageBrand::from(&page.staff.brand);
    let window = page.window_days;
    let windows = WINDOWS
        .iter()
        .map(|w| {
            view! {
                <option value=w.to_string() selected=*w == window>
                    {td_string!(locale, seg_window_days, days = *w)}
                </option>
            }
        })
        .collect_view();
    let analysed: i64 = page.counts.iter().map(|c| c.1).sum();
    let rows = page
        .counts
        .iter()
        .map(|(s, n, spend)| {
            let share = if analysed > 0 { n * 100 / analysed } else { 0 };
            view! {
                <tr id=format!("seg-{s}") class=if page.segment.as_deref() == Some(s.as_str()) { "picked" } else { "" }>
                    <th scope="row">
                        <a href=format!("/admin/segments?window={window}&segment={s}#members")>{segment_name(locale, s)}</a>
                    </th>
                    <td class="num">{*n}</td>
                    <td class="num">{format!("{share}%")}</td>
                    <td class="num">{yuan(*spend)}</td>
                </tr>
            }
        })
        .collect_view();
    let means = td_string!(
        locale,
        seg_means,
        days = format!("{:.1}", page.mean_recency_days),
        visits = format!("{:.1}", page.mean_frequency),
        spend = yuan(page.mean_monetary_fen.round() as i64)
    )
    .to_string();
    let picked = page.segment.clone().map(|s| {
        let name = segment_name(locale, &s);
        let shown = page.members.len() as i64;
        let templates = page
            .templates
            .iter()
            .map(|(id, title)| view! { <option value=id.to_string()>{title.clone()}</option> })
            .collect_view();
        let campaign = (!page.templates.is_empty() && page.members_total > 0).then(|| view! {
            <form class="stack" method="post" action=GrantRfmCampaign::PATH>
                <h3>{td_string!(locale, seg_campaign, segment = name.clone())}</h3>
                <p class="muted">{td_string!(locale, seg_campaign_hint, total = page.members_total)}</p>
                <input type="hidden" name="key" value=page.key.clone() />
                <input type="hidden" name="segment" value=s.clone() />
                <input type="hidden" name="window" value=window.to_string() />
                <label for="campaign-template">{td_string!(locale, auto_coupon)}</label>
                <select id="campaign-template" name="template" required>{templates}</select>
                <button class="button primary" type="submit">{td_string!(locale, seg_campaign_send)}</button>
            </form>
        });
        view! {
            <section class="panel" id="members">
                <h2>{name.clone()}</h2>
                <p class="hint">{td_string!(locale, seg_shown, shown = shown, total = page.members_total)}</p>
                <p><a class="button secondary small" href=format!("/admin/segments.csv?window={window}&segment={s}") download>{td_string!(locale, seg_export)}</a></p>
                {campaign}
                <div class="table-wrap" tabindex="0" role="region" aria-label=name>
                    <table class="report">
                        {list_head(locale, td_string!(locale, seg_col_spend).to_string())}
                        <tbody>{member_rows(&page.members, yuan)}</tbody>
                    </table>
                </div>
            </section>
        }
    });
    let days = |d: i64| d.to_string();
    view! {
        <Page locale title=td_string!(locale, admin_segments).to_string() brand>
            {console_nav(locale, &page.staff)}
            <h1>{td_string!(locale, admin_segments)}</h1>
            <Notice locale />
            {use_query_map().get_untracked().get("queued").map(|_| view! {
                <p class="alert ok" role="status">{td_string!(locale, seg_queued)}</p>
            })}
            <p class="hint">{td_string!(locale, seg_intro)}</p>
            <form method="get" action="/admin/segments" class="filters">
                <label for="window">{td_string!(locale, seg_window)}</label>
                <select id="window" name="window">{windows}</select>
                <button class="button secondary small" type="submit">{td_string!(locale, seg_apply)}</button>
            </form>
            <p>{means}</p>
            {chart(locale, &page.counts)}
            <div class="table-wrap" tabindex="0" role="region" aria-label=td_string!(locale, admin_segments)>
                <table class="report" id="segments">
                    <thead>
                        <tr>
                            <th scope="col">{td_string!(locale, seg_segment)}</th>
                            <th scope="col">{td_string!(locale, seg_members)}</th>
                            <th scope="col">{td_string!(locale, seg_share)}</th>
                            <th scope="col">{td_string!(locale, seg_col_spend)}</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            {picked}
            {campaigns(locale, &page.campaigns)}
            <section class="panel" id="churn">
                <h2>{td_string!(locale, churn_title)}</h2>
                <p class="hint">{td_string!(locale, churn_rule, judged = page.judged, total = page.at_risk_total)}</p>
                <p><a class="button secondary small" href="/admin/segments.csv?churn=1" download>{td_string!(locale, seg_export)}</a></p>
                <div class="table-wrap" tabindex="0" role="region" aria-label=td_string!(locale, churn_title)>
                    <table class="report" id="at-risk">
                        {list_head(locale, td_string!(locale, seg_col_interval).to_string())}
                        <tbody>{member_rows(&page.at_risk, days)}</tbody>
                    </table>
                </div>
            </section>
        </Page>
    }
}
