//! `/admin/segments?window=180&segment=important_value`: the eight RFM
//! segments as a table and a bar chart drawn on the server, one segment's
//! members, and the churn-risk list; each list downloads as CSV.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::{Page, PageBrand};
use crate::functions::segments::{load_segments, SegmentMember, SegmentsPage, WINDOWS};
use crate::i18n::*;
use crate::routes::admin::console_nav;
use crate::routes::points::yuan;
use crate::routes::{page_locale, staff_page};

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
            let w = (*n as f64 / max as f64) * 180.0;
            let name = segment_name(locale, s);
            view! {
                <text x="0" y=format!("{:.0}", y + 15.0) font-size="11" fill="#3d332d">{name.clone()}</text>
                <rect x="80" y=format!("{:.0}", y + 4.0) width=format!("{:.1}", w.max(0.5)) height="14" fill="var(--brand, #b4442b)">
                    <title>{format!("{name}: {n}")}</title>
                </rect>
                <text x=format!("{:.1}", 84.0 + w) y=format!("{:.0}", y + 15.0) font-size="11" fill="#5d514a">{n.to_string()}</text>
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
            <svg viewBox=format!("0 0 300 {height:.0}") role="img" aria-label=summary>{bars}</svg>
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
        view! {
            <section class="panel" id="members">
                <h2>{name.clone()}</h2>
                <p class="hint">{td_string!(locale, seg_shown, shown = shown, total = page.members_total)}</p>
                <p><a class="button secondary small" href=format!("/admin/segments.csv?window={window}&segment={s}") download>{td_string!(locale, seg_export)}</a></p>
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
