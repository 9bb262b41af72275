//! `/admin/members` (search and filters) and `/admin/members/:no` (one
//! member: profile with the phone masked, points history, coupons,
//! feedback; a points adjustment with its reason; a coupon granted).

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::{Notice, Page, PageBrand};
use crate::coupon_text;
use crate::functions::roster::AdjustMemberPoints;
use crate::functions::roster::EraseMemberAtCounter;
use crate::functions::roster::GrantMemberCoupon;
use crate::functions::roster::GrantSegmentCoupon;
use crate::functions::roster::{load_member, load_members, MemberPage, MembersPage, MembersQuery};
use crate::i18n::*;
use crate::routes::admin::console_nav;
use crate::routes::profile::diet_name;
use crate::routes::{page_locale, staff_page};
use leptos::server_fn::ServerFn as _;

#[component]
pub fn AdminMembers() -> impl IntoView {
    let q = use_query_map().get_untracked();
    let query = MembersQuery {
        q: q.get("q").unwrap_or_default(),
        tier: q.get("tier").unwrap_or_default(),
        joined_from: q.get("joined_from").unwrap_or_default(),
        joined_to: q.get("joined_to").unwrap_or_default(),
        visits: q.get("visits").unwrap_or_default(),
        page: q.get("page").and_then(|p| p.parse().ok()).unwrap_or(0),
        done: q.get("done").unwrap_or_default(),
    };
    staff_page(
        move || load_members(query.clone()),
        |page| view! { <Members page /> }.into_any(),
    )
}

fn page_link(q: &MembersQuery, page: i64) -> String {
    use crate::functions::admin::urlencode as enc;
    format!(
        "/admin/members?q={}&tier={}&joined_from={}&joined_to={}&visits={}&page={page}",
        enc(&q.q),
        enc(&q.tier),
        enc(&q.joined_from),
        enc(&q.joined_to),
        enc(&q.visits)
    )
}

#[component]
fn Members(page: MembersPage) -> impl IntoView {
    let locale = page_locale(page.staff.brand.default_locale);
    let brand = PageBrand::from(&page.staff.brand);
    let q = page.query.clone();
    let tiers = page
        .tiers
        .iter()
        .map(|(rank, name)| view! { <option value=rank.to_string() selected=q.tier == rank.to_string()>{name.clone()}</option> })
        .collect_view();
    let visits = [
        ("", td_string!(locale, admin_all).to_string()),
        ("active30", td_string!(locale, members_active30).to_string()),
        ("active90", td_string!(locale, members_active90).to_string()),
        ("idle60", td_string!(locale, members_idle60).to_string()),
        ("idle180", td_string!(locale, members_idle180).to_string()),
    ]
    .into_iter()
    .map(|(v, label)| view! { <option value=v selected=q.visits == v>{label}</option> })
    .collect_view();
    let rows = page
        .rows
        .iter()
        .map(|r| {
            view! {
                <tr>
                    <th scope="row"><a href=format!("/admin/members/{}", r.member_no)>{r.member_no.clone()}</a></th>
                    <td>{r.display_name.clone()}</td>
                    <td class="mono nowrap">{r.phone_masked.clone()}</td>
                    <td>{r.tier.clone()}</td>
                    <td class="num">{r.points}</td>
                    <td class="nowrap">{r.joined.clone()}</td>
                    <td class="nowrap">{r.last_visit.clone().unwrap_or_else(|| "–".into())}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <Page locale title=td_string!(locale, admin_members).to_string() brand>
            {console_nav(locale, &page.staff)}
            <h1>{td_string!(locale, admin_members)}</h1>
            <Notice locale />
            <form class="filters" method="get" action="/admin/members">
                <label for="q">{td_string!(locale, members_search)}</label>
                <input id="q" name="q" value=q.q.clone() maxlength="40" autocomplete="off" aria-describedby="q-hint" />
                <p class="muted full" id="q-hint">{td_string!(locale, members_search_hint)}</p>
                <label for="tier">{td_string!(locale, members_tier)}</label>
                <select id="tier" name="tier">
                    <option value="">{td_string!(locale, admin_all)}</option>
                    {tiers}
                </select>
                <label for="joined_from">{td_string!(locale, members_joined_from)}</label>
                <input id="joined_from" name="joined_from" type="date" value=q.joined_from.clone() />
                <label for="joined_to">{td_string!(locale, members_joined_to)}</label>
                <input id="joined_to" name="joined_to" type="date" value=q.joined_to.clone() />
                <label for="visits">{td_string!(locale, members_visits)}</label>
                <select id="visits" name="visits">{visits}</select>
                <button class="button secondary" type="submit">{td_string!(locale, admin_filter)}</button>
            </form>
            {if page.rows.is_empty() {
                view! { <p class="muted empty">{td_string!(locale, members_none)}</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap" tabindex="0" role="region" aria-label=td_string!(locale, admin_members)>
                        <table class="report">
                            <thead>
                                <tr>
                                    <th scope="col">{td_string!(locale, members_no)}</th>
                                    <th scope="col">{td_string!(locale, staff_name)}</th>
                                    <th scope="col">{td_string!(locale, profile_phone)}</th>
                                    <th scope="col">{td_string!(locale, members_tier)}</th>
                                    <th scope="col">{td_string!(locale, points_balance)}</th>
                                    <th scope="col">{td_string!(locale, members_joined)}</th>
                                    <th scope="col">{td_string!(locale, members_last_visit)}</th>
                                </tr>
                            </thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                }
                .into_any()
            }}
            {page.segment_done.map(|(matched, issued, skipped, out)| view! {
                <p class="alert ok" role="status">
                    {td_string!(locale, members_segment_done, matched = matched, issued = issued, skipped = skipped)}
                    {out.then(|| td_string!(locale, members_segment_out).to_string())}
                </p>
            })}
            {(!page.rows.is_empty() && !page.templates.is_empty()).then(|| {
                let templates = page
                    .templates
                    .iter()
                    .map(|(id, title)| view! { <option value=id.to_string()>{title.clone()}</option> })
                    .collect_view();
                view! {
                    <form class="stack panel" method="post" action=GrantSegmentCoupon::PATH>
                        <h2>{td_string!(locale, members_segment)}</h2>
                        <p class="muted">{td_string!(locale, members_segment_hint)}</p>
                        <input type="hidden" name="key" value=page.key.clone() />
                        <input type="hidden" name="q" value=q.q.clone() />
                        <input type="hidden" name="tier" value=q.tier.clone() />
                        <input type="hidden" name="joined_from" value=q.joined_from.clone() />
                        <input type="hidden" name="joined_to" value=q.joined_to.clone() />
                        <input type="hidden" name="visits" value=q.visits.clone() />
                        <label for="segment-template">{td_string!(locale, members_grant_which)}</label>
                        <select id="segment-template" name="template">{templates}</select>
                        <button class="button primary" type="submit">{td_string!(locale, members_segment)}</button>
                    </form>
                }
            })}
            <p class="pager">
                {(q.page > 0).then(|| view! { <a class="button secondary" href=page_link(&q, q.page - 1)>{td_string!(locale, members_newer)}</a> })}
                {page.more.then(|| view! { <a class="button secondary" href=page_link(&q, q.page + 1)>{td_string!(locale, members_older)}</a> })}
            </p>
        </Page>
    }
}

#[component]
pub fn AdminMember() -> impl IntoView {
    let no = use_params_map()
        .get_untracked()
        .get("no")
        .unwrap_or_default();
    let done = use_query_map().get_untracked().get("done");
    staff_page(
        move || load_member(no.clone(), done.clone()),
        |page| view! { <Member page /> }.into_any(),
    )
}

fn status_label(locale: Locale, status: &str) -> String {
    match status {
        "available" => td_string!(locale, coupons_tab_available),
        "used" => td_string!(locale, coupons_tab_used),
        _ => td_string!(locale, coupons_tab_expired),
    }
    .to_string()
}

#[component]
fn Member(page: MemberPage) -> impl IntoView {
    use loyalty::members::roster::Done;
    let locale = page_locale(page.staff.brand.default_locale);
    let brand = PageBrand::from(&page.staff.brand);
    let (staff, page) = (page.staff, page.file);
    let zone = page.time_zone.clone();
    let day = move |ms: i64| loyalty::points::rules::local_date(&zone, ms);
    let done = page.done.clone().map(|d| {
        let text = match d {
            Done::Adjusted(a) => td_string!(
                locale,
                members_adjusted,
                delta = format!("{:+}", a.delta),
                balance = a.balance
            )
            .to_string(),
            Done::Awaiting(a) => td_string!(
                locale,
                members_adjust_awaiting,
                delta = format!("{:+}", a.delta)
            )
            .to_string(),
            Done::Granted(g) => td_string!(locale, members_granted, code = g.code).to_string(),
        };
        view! { <p class="alert ok" role="status">{text}</p> }
    });
    let m = &page.member;
    let diets = m
        .dietary
        .iter()
        .map(|d| diet_name(locale, d.as_str()))
        .collect::<Vec<_>>()
        .join("、");
    let ledger = page
        .ledger
        .iter()
        .map(|e| {
            view! {
                <tr>
                    <td class="nowrap">{loyalty::points::rules::local_datetime(&page.time_zone, e.created_at)}</td>
                    <td class="num">{format!("{:+}", e.amount)}</td>
                    <td>{crate::routes::points::entry_label(locale, e.kind.as_str(), &e.reason)}</td>
                    <td>{e.store_name.clone().unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    let coupons = page
        .coupons
        .iter()
        .map(|h| {
            let status = h.coupon.status(page.now_ms).as_str();
            view! {
                <li>
                    <strong>{coupon_text::title(locale, &h.template.rule)}</strong> " "
                    <span class="mono">{h.coupon.code.grouped()}</span> " · "
                    {status_label(locale, status)} " · "
                    <span class="muted">{td_string!(locale, till_until, date = day(h.coupon.valid_until))}</span>
                </li>
            }
        })
        .collect_view();
    let feedback = page
        .feedback
        .iter()
        .map(|f| {
            view! {
                <li>
                    <span class="nps-badge">{f.nps}</span> " " <span class="muted">{f.day.clone()}</span>
                    {(!f.comment.is_empty()).then(|| view! { <p class="prose">{f.comment.clone()}</p> })}
                    {f.reply.clone().map(|r| view! { <div class="reply"><p class="prose">{r}</p></div> })}
                </li>
            }
        })
        .collect_view();
    let templates = page
        .templates
        .iter()
        .map(|t| view! { <option value=t.id.0.to_string()>{coupon_text::title(locale, &t.rule)}</option> })
        .collect_view();
    let no = m.member_no.as_str().to_owned();
    let (phone, points, joined) = (m.phone.masked(), m.points_balance, day(m.created_at));
    let birthday = m.birthday.map(|b| format!("{:02}-{:02}", b.month, b.day));
    let (allergies, marketing) = (m.allergies.clone(), m.marketing_consent());
    let title = if m.display_name.is_empty() {
        td_string!(locale, till_member_no, no = no.clone()).to_string()
    } else {
        m.display_name.clone()
    };
    view! {
        <Page locale title=title.clone() brand>
            {console_nav(locale, &staff)}
            <p><a class="small-link" href="/admin/members">{td_string!(locale, admin_members)}</a></p>
            <h1>{title}</h1>
            <Notice locale />
            {done}
            <section class="panel">
                <dl class="facts">
                    <dt>{td_string!(locale, members_no)}</dt><dd class="mono">{no.clone()}</dd>
                    <dt>{td_string!(locale, profile_phone)}</dt><dd class="mono">{phone}</dd>
                    <dt>{td_string!(locale, members_tier)}</dt><dd>{page.tier_name.clone()}</dd>
                    <dt>{td_string!(locale, points_balance)}</dt><dd>{points}</dd>
                    <dt>{td_string!(locale, members_joined)}</dt><dd>{joined}</dd>
                    {birthday.map(|b| view! {
                        <dt>{td_string!(locale, profile_birthday)}</dt><dd>{b}</dd>
                    })}
                    {(!diets.is_empty()).then(|| view! {
                        <dt>{td_string!(locale, profile_dietary)}</dt><dd>{diets.clone()}</dd>
                    })}
                    {(!allergies.is_empty()).then(|| view! {
                        <dt>{td_string!(locale, profile_allergies)}</dt><dd>{allergies.clone()}</dd>
                    })}
                    <dt>{td_string!(locale, profile_marketing)}</dt>
                    <dd>{if marketing { td_string!(locale, members_yes) } else { td_string!(locale, members_no_consent) }}</dd>
                </dl>
            </section>

            <form class="stack panel" method="post" action=AdjustMemberPoints::PATH>
                <h2>{td_string!(locale, members_adjust)}</h2>
                <input type="hidden" name="member" value=no.clone() />
                <input type="hidden" name="key" value=page.keys[0].as_str().to_owned() />
                <label for="adjust-points">{td_string!(locale, members_adjust_points)}</label>
                <input id="adjust-points" name="points" inputmode="numeric" required maxlength="9" placeholder="+100 / -50" />
                <label for="adjust-reason">{td_string!(locale, members_adjust_reason)}</label>
                <input id="adjust-reason" name="reason" required maxlength="200" />
                <button class="button primary" type="submit">{td_string!(locale, members_adjust)}</button>
            </form>

            <form class="stack panel" method="post" action=GrantMemberCoupon::PATH>
                <h2>{td_string!(locale, members_grant)}</h2>
                <input type="hidden" name="member" value=no.clone() />
                <input type="hidden" name="key" value=page.keys[1].as_str().to_owned() />
                <label for="grant-template">{td_string!(locale, members_grant_which)}</label>
                <select id="grant-template" name="template">{templates}</select>
                <button class="button primary" type="submit">{td_string!(locale, members_grant)}</button>
            </form>

            <form class="stack panel" method="post" action=EraseMemberAtCounter::PATH id="erase">
                <h2>{td_string!(locale, erase_title)}</h2>
                <p class="muted">{td_string!(locale, erase_help)}</p>
                <input type="hidden" name="member" value=no.clone() />
                <label for="erase-reason">{td_string!(locale, erase_reason)}</label>
                <input id="erase-reason" name="reason" required maxlength="200" />
                <label class="check">
                    <input type="checkbox" name="confirm" value="yes" required />
                    " " {td_string!(locale, erase_confirm)}
                </label>
                <button class="button danger" type="submit">{td_string!(locale, erase_button)}</button>
            </form>

            <h2>{td_string!(locale, history_title)}</h2>
            {if page.ledger.is_empty() {
                view! { <p class="muted">{td_string!(locale, members_no_history)}</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap" tabindex="0" role="region" aria-label=td_string!(locale, history_title)>
                        <table class="report"><tbody>{ledger}</tbody></table>
                    </div>
                }
                .into_any()
            }}
            <h2>{td_string!(locale, members_coupons)}</h2>
            <ul class="plain-list">{coupons}</ul>
            <h2>{td_string!(locale, admin_inbox)}</h2>
            <ul class="plain-list">{feedback}</ul>
        </Page>
    }
}
