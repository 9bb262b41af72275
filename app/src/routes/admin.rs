//! The staff console's pages so far: sign-in (`/admin`), the feedback inbox
//! (`/admin/feedback`) and the NPS report (`/admin/feedback/report`). Plain
//! server-rendered forms: nothing here ships WebAssembly to members.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::{Notice, Page, PageBrand};
use crate::functions::admin::CreateApiKey;
use crate::functions::admin::MarkFeedback;
use crate::functions::admin::ReplyFeedback;
use crate::functions::admin::RevokeApiKey;
use crate::functions::admin::StaffSignIn;
use crate::functions::admin::StaffSignOut;
use crate::functions::admin::{
    load_audit, load_inbox, load_keys, load_report, load_staff, AuditPage, InboxItem, InboxPage,
    InboxQuery, KeysPage, ReportLine, ReportPage, StaffInfo,
};
use crate::i18n::*;
use crate::routes::{loaded_page, page_locale, staff_page};
use leptos::server_fn::ServerFn as _;

/// `/admin`: sign in, or the way into the console when already signed in.
#[component]
pub fn AdminLogin() -> impl IntoView {
    loaded_page(load_staff, |staff| view! { <Login staff /> }.into_any())
}

#[component]
fn Login(staff: Option<StaffInfo>) -> impl IntoView {
    let locale = page_locale(Locale::zh_CN);
    let next = use_query_map()
        .get_untracked()
        .get("next")
        .unwrap_or_default();
    let body = match staff {
        Some(s) => view! {
            <section class="panel">
                <p>{td_string!(locale, admin_signed_in_as, name = s.display_name.clone(), brand = s.brand.name.clone())}</p>
                {if s.role == "cashier" {
                    view! { <a class="button primary" href="/admin/till">{td_string!(locale, admin_till)}</a> }.into_any()
                } else {
                    view! { <a class="button primary" href="/admin/dashboard">{td_string!(locale, admin_dashboard)}</a> }.into_any()
                }}
                <SignOut locale />
            </section>
        }
        .into_any(),
        None => view! {
            <form class="stack panel" method="post" action=StaffSignIn::PATH>
                <input type="hidden" name="next" value=next />
                <label for="login">{td_string!(locale, admin_login)}</label>
                <input id="login" name="login" autocomplete="username" autocapitalize="none" required maxlength="90" aria-describedby="login-hint" />
                <p id="login-hint" class="muted">{td_string!(locale, admin_login_hint)}</p>
                <label for="password">{td_string!(locale, admin_password)}</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="128" />
                <button class="button primary" type="submit">{td_string!(locale, admin_sign_in)}</button>
            </form>
        }
        .into_any(),
    };
    view! {
        <Page locale title=td_string!(locale, admin_title).to_string()>
            <h1>{td_string!(locale, admin_title)}</h1>
            <Notice locale />
            {body}
        </Page>
    }
}

#[component]
fn SignOut(locale: Locale) -> impl IntoView {
    view! {
        <form method="post" action=StaffSignOut::PATH>
            <button class="button secondary" type="submit">{td_string!(locale, sign_out)}</button>
        </form>
    }
}

/// The console's header line: who is signed in, where to go.
pub(crate) fn console_nav(locale: Locale, staff: &StaffInfo) -> impl IntoView {
    view! {
        // The console's own styles: members never download them.
        <leptos_meta::Stylesheet id="console-css" href="/console.css" />
        <nav class="console-nav" aria-label=td_string!(locale, admin_nav)>
            <span class="muted">{format!("{} · {}", staff.display_name, staff.brand.name)}</span>
            <a class="small-link" href="/admin/till">{td_string!(locale, admin_till)}</a>
            {(staff.role != "cashier").then(|| view! {
                <a class="small-link" href="/admin/dashboard">{td_string!(locale, admin_dashboard)}</a>
                <a class="small-link" href="/admin/members">{td_string!(locale, admin_members)}</a>
                <a class="small-link" href="/admin/coupons">{td_string!(locale, admin_coupons)}</a>
                <a class="small-link" href="/admin/feedback">{td_string!(locale, admin_inbox)}</a>
                <a class="small-link" href="/admin/feedback/report">{td_string!(locale, admin_report)}</a>
            })}
            {(staff.role == "owner").then(|| view! {
                <a class="small-link" href="/admin/brand">{td_string!(locale, admin_brand)}</a>
                <a class="small-link" href="/admin/automation">{td_string!(locale, admin_automation)}</a>
                <a class="small-link" href="/admin/messages">{td_string!(locale, admin_messages)}</a>
                <a class="small-link" href="/admin/import">{td_string!(locale, admin_import)}</a>
                <a class="small-link" href="/admin/segments">{td_string!(locale, admin_segments)}</a>
                <a class="small-link" href="/admin/stored-value">{td_string!(locale, admin_stored_value)}</a>
                <a class="small-link" href="/admin/stores">{td_string!(locale, admin_stores)}</a>
                <a class="small-link" href="/admin/staff">{td_string!(locale, admin_staff)}</a>
                <a class="small-link" href="/admin/keys">{td_string!(locale, admin_keys)}</a>
                <a class="small-link" href="/admin/audit">{td_string!(locale, admin_audit)}</a>
            })}
            <a class="small-link" href="/admin/password">{td_string!(locale, staff_change_password)}</a>
            <SignOut locale />
        </nav>
    }
}

pub(crate) fn forbidden(staff: StaffInfo) -> AnyView {
    let locale = page_locale(staff.brand.default_locale);
    let brand = PageBrand::from(&staff.brand);
    view! {
        <Page locale title=td_string!(locale, admin_title).to_string() brand>
            {console_nav(locale, &staff)}
            <p class="alert error" role="alert">{td_string!(locale, admin_forbidden)}</p>
        </Page>
    }
    .into_any()
}

/// `/admin/feedback?segment=&unanswered=on&store=&from=&to=`.
#[component]
pub fn AdminInbox() -> impl IntoView {
    let q = use_query_map().get_untracked();
    let query = InboxQuery {
        segment: q.get("segment").unwrap_or_default(),
        unanswered: q.get("unanswered").is_some(),
        store: q.get("store").and_then(|s| s.parse().ok()),
        from: q.get("from").unwrap_or_default(),
        to: q.get("to").unwrap_or_default(),
    };
    staff_page(
        move || load_inbox(query.clone()),
        |page| view! { <Inbox page /> }.into_any(),
    )
}

fn segment_label(locale: Locale, segment: &str) -> String {
    match segment {
        "promoter" => td_string!(locale, nps_promoters),
        "passive" => td_string!(locale, nps_passives),
        _ => td_string!(locale, nps_detractors),
    }
    .to_string()
}

fn inbox_item(locale: Locale, back: &str, f: &InboxItem) -> impl IntoView {
    let dims = [
        td_string!(locale, feedback_food).to_string(),
        td_string!(locale, feedback_service).to_string(),
        td_string!(locale, feedback_ambience).to_string(),
    ];
    let stars = dims
        .into_iter()
        .zip(f.stars)
        .filter_map(|(name, s)| s.map(|s| format!("{name} {s}/5")))
        .collect::<Vec<_>>()
        .join(" · ");
    let who = match (&f.who, f.is_member) {
        (Some(no), true) => td_string!(locale, admin_member_no, no = no.clone()).to_string(),
        (Some(phone), false) => {
            td_string!(locale, admin_guest_phone, phone = phone.clone()).to_string()
        }
        (None, _) => td_string!(locale, admin_guest).to_string(),
    };
    let place = [f.store.clone(), f.table.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
    let reply_id = format!("reply-{}", f.id);
    view! {
        <li class=format!("inbox-item {}", f.segment) id=format!("f{}", f.id)>
            <p class="inbox-head">
                <span class=format!("nps-badge {}", f.segment)>{f.nps}</span>
                <span>{segment_label(locale, &f.segment)}</span>
                <span class="muted">{f.day.clone()} " · " {place} " · " {who}</span>
            </p>
            {(!stars.is_empty()).then(|| view! { <p class="muted">{stars}</p> })}
            {(!f.comment.is_empty()).then(|| view! { <p class="prose">{f.comment.clone()}</p> })}
            {f.reply.clone().map(|r| view! {
                <div class="reply"><p class="reply-head">{td_string!(locale, admin_replied)}</p><p class="prose">{r}</p></div>
            })}
            <form class="stack" method="post" action=ReplyFeedback::PATH>
                <input type="hidden" name="id" value=f.id.to_string() />
                <input type="hidden" name="back" value=back.to_owned() />
                <label for=reply_id.clone()>{td_string!(locale, admin_reply)}</label>
                <textarea id=reply_id name="reply" rows="2" maxlength="1000" required></textarea>
                <button class="button primary" type="submit">{td_string!(locale, admin_send_reply)}</button>
            </form>
            <form method="post" action=MarkFeedback::PATH>
                <input type="hidden" name="id" value=f.id.to_string() />
                <input type="hidden" name="back" value=back.to_owned() />
                <input type="hidden" name="handled" value=(!f.handled).to_string() />
                <button class="button secondary" type="submit">
                    {if f.handled { td_string!(locale, admin_mark_open) } else { td_string!(locale, admin_mark_handled) }}
                </button>
            </form>
        </li>
    }
}

#[component]
fn Inbox(page: InboxPage) -> impl IntoView {
    let locale = page_locale(page.staff.brand.default_locale);
    let brand = PageBrand::from(&page.staff.brand);
    let q = page.query.clone();
    let segments = [
        ("", td_string!(locale, admin_all).to_string()),
        ("detractor", segment_label(locale, "detractor")),
        ("passive", segment_label(locale, "passive")),
        ("promoter", segment_label(locale, "promoter")),
    ]
    .into_iter()
    .map(|(value, label)| {
        view! { <option value=value selected=q.segment == value>{label}</option> }
    })
    .collect_view();
    let stores = page
        .stores
        .iter()
        .map(|(id, name)| view! { <option value=id.to_string() selected=q.store == Some(*id)>{name.clone()}</option> })
        .collect_view();
    let list = if page.items.is_empty() {
        view! { <p class="muted empty">{td_string!(locale, admin_inbox_empty)}</p> }.into_any()
    } else {
        let items = page
            .items
            .iter()
            .map(|f| inbox_item(locale, &page.back, f))
            .collect_view();
        view! { <ul class="inbox">{items}</ul> }.into_any()
    };
    view! {
        <Page locale title=td_string!(locale, admin_inbox).to_string() brand>
            {console_nav(locale, &page.staff)}
            <h1>{td_string!(locale, admin_inbox)}</h1>
            <Notice locale />
            <form class="filters" method="get" action="/admin/feedback">
                <label for="segment">{td_string!(locale, admin_segment)}</label>
                <select id="segment" name="segment">{segments}</select>
                <label for="store">{td_string!(locale, admin_store)}</label>
                <select id="store" name="store">
                    <option value="">{td_string!(locale, admin_all)}</option>
                    {stores}
                </select>
                <label for="from">{td_string!(locale, admin_from)}</label>
                <input id="from" name="from" type="date" value=q.from.clone() />
                <label for="to">{td_string!(locale, admin_to)}</label>
                <input id="to" name="to" type="date" value=q.to.clone() />
                <label class="check">
                    <input type="checkbox" name="unanswered" checked=q.unanswered />
                    {td_string!(locale, admin_unanswered)}
                </label>
                <button class="button secondary" type="submit">{td_string!(locale, admin_filter)}</button>
            </form>
            {list}
        </Page>
    }
}

/// `/admin/feedback/report`.
#[component]
pub fn AdminReport() -> impl IntoView {
    staff_page(load_report, |page| view! { <Report page /> }.into_any())
}

/// NPS per line as horizontal bars around zero, drawn as SVG on the server.
fn nps_chart(locale: Locale, lines: &[ReportLine]) -> impl IntoView {
    let row_h = 28;
    let height = row_h * lines.len() as i64 + 10;
    let bars = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let y = 5 + row_h * i as i64;
            let score = l.nps.unwrap_or(0);
            // -100…100 over 0…200 px of the 200 px bar area, zero at 260.
            let (x, w) = if score >= 0 { (260, score) } else { (260 + score, -score) };
            let color = if score >= 0 { "#2f7a3b" } else { "#a2301c" };
            let label = format!("{} {}", l.month, l.store.clone().unwrap_or_default());
            view! {
                <g>
                    <text x="0" y=(y + 18).to_string() font-size="13" fill="#3b312c">{label}</text>
                    <rect x=x.to_string() y=(y + 4).to_string() width=w.max(1).to_string() height="18" fill=color></rect>
                    <text x="370" y=(y + 18).to_string() font-size="13" fill="#3b312c">{l.nps.map(|n| n.to_string()).unwrap_or_else(|| "–".into())}</text>
                </g>
            }
        })
        .collect_view();
    view! {
        <svg class="chart" viewBox=format!("0 0 400 {height}") role="img" aria-label=td_string!(locale, admin_chart_label)>
            <line x1="260" y1="0" x2="260" y2=height.to_string() stroke="#8f8278" stroke-width="1"></line>
            {bars}
        </svg>
    }
}

#[component]
fn Report(page: ReportPage) -> impl IntoView {
    let locale = page_locale(page.staff.brand.default_locale);
    let brand = PageBrand::from(&page.staff.brand);
    let none = || "–".to_owned();
    let rows = page
        .lines
        .iter()
        .map(|l| {
            view! {
                <tr>
                    <td>{l.month.clone()}</td>
                    <td>{l.store.clone().unwrap_or_else(|| td_string!(locale, admin_no_store).to_string())}</td>
                    <td class="num">{l.nps.map(|n| n.to_string()).unwrap_or_else(none)}</td>
                    <td class="num">{l.promoters}</td>
                    <td class="num">{l.passives}</td>
                    <td class="num">{l.detractors}</td>
                    <td class="num">{l.food.clone().unwrap_or_else(none)}</td>
                    <td class="num">{l.service.clone().unwrap_or_else(none)}</td>
                    <td class="num">{l.ambience.clone().unwrap_or_else(none)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <Page locale title=td_string!(locale, admin_report).to_string() brand>
            {console_nav(locale, &page.staff)}
            <h1>{td_string!(locale, admin_report)}</h1>
            <p class="muted">{td_string!(locale, admin_report_hint)}</p>
            {if page.lines.is_empty() {
                view! { <p class="muted empty">{td_string!(locale, admin_inbox_empty)}</p> }.into_any()
            } else {
                view! {
                    {nps_chart(locale, &page.lines)}
                    // Wide tables scroll sideways on a phone; the region
                    // takes focus so a keyboard can scroll it too.
                    <div class="table-wrap" tabindex="0" role="region" aria-label=td_string!(locale, admin_report)>
                        <table class="report">
                            <thead>
                                <tr>
                                    <th scope="col">{td_string!(locale, admin_month)}</th>
                                    <th scope="col">{td_string!(locale, admin_store)}</th>
                                    <th scope="col">"NPS"</th>
                                    <th scope="col">{td_string!(locale, nps_promoters)}</th>
                                    <th scope="col">{td_string!(locale, nps_passives)}</th>
                                    <th scope="col">{td_string!(locale, nps_detractors)}</th>
                                    <th scope="col">{td_string!(locale, feedback_food)}</th>
                                    <th scope="col">{td_string!(locale, feedback_service)}</th>
                                    <th scope="col">{td_string!(locale, feedback_ambience)}</th>
                                </tr>
                            </thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                }
                .into_any()
            }}
        </Page>
    }
}

/// `/admin/keys`: the stores' POS API keys (owners only).
#[component]
pub fn AdminKeys() -> impl IntoView {
    staff_page(load_keys, |page| view! { <Keys page /> }.into_any())
}

#[component]
fn Keys(page: KeysPage) -> impl IntoView {
    let locale = page_locale(page.staff.brand.default_locale);
    let brand = PageBrand::from(&page.staff.brand);
    let fresh = page.new_key.clone().map(|key| {
        view! {
            <section class="panel" role="status">
                <h2>{td_string!(locale, admin_key_created)}</h2>
                <p class="mono key-once">{key}</p>
                <p class="muted">{td_string!(locale, admin_key_once)}</p>
            </section>
        }
    });
    let options = page
        .stores
        .iter()
        .map(|(id, name, _)| view! { <option value=id.to_string()>{name.clone()}</option> })
        .collect_view();
    let stores = page
        .stores
        .iter()
        .map(|(_, name, keys)| {
            let rows = keys
                .iter()
                .map(|k| {
                    let state = if k.revoked {
                        td_string!(locale, admin_key_revoked).to_string()
                    } else {
                        k.last_used
                            .clone()
                            .map(|d| td_string!(locale, admin_key_used, date = d).to_string())
                            .unwrap_or_else(|| td_string!(locale, admin_key_unused).to_string())
                    };
                    view! {
                        <tr>
                            <td>{k.name.clone()}</td>
                            <td class="mono">{format!("{}…", k.prefix)}</td>
                            <td>{k.created.clone()}</td>
                            <td>{state}</td>
                            <td>
                                {(!k.revoked).then(|| view! {
                                    <form method="post" action=RevokeApiKey::PATH>
                                        <input type="hidden" name="id" value=k.id.to_string() />
                                        <button class="button danger small" type="submit">{td_string!(locale, admin_key_revoke)}</button>
                                    </form>
                                })}
                            </td>
                        </tr>
                    }
                })
                .collect_view();
            view! {
                <h2>{name.clone()}</h2>
                {if keys.is_empty() {
                    view! { <p class="muted">{td_string!(locale, admin_keys_none)}</p> }.into_any()
                } else {
                    view! {
                        <div class="table-wrap" tabindex="0" role="region" aria-label=name.clone()>
                            <table class="report">
                                <thead>
                                    <tr>
                                        <th scope="col">{td_string!(locale, admin_key_name)}</th>
                                        <th scope="col">{td_string!(locale, admin_key_prefix)}</th>
                                        <th scope="col">{td_string!(locale, admin_key_created_on)}</th>
                                        <th scope="col">{td_string!(locale, admin_key_state)}</th>
                                        <th scope="col"><span class="sr-only">{td_string!(locale, admin_key_revoke)}</span></th>
                                    </tr>
                                </thead>
                                <tbody>{rows}</tbody>
                            </table>
                        </div>
                    }
                    .into_any()
                }}
            }
        })
        .collect_view();
    view! {
        <Page locale title=td_string!(locale, admin_keys).to_string() brand>
            {console_nav(locale, &page.staff)}
            <h1>{td_string!(locale, admin_keys)}</h1>
            <Notice locale />
            {fresh}
            <form class="stack panel" method="post" action=CreateApiKey::PATH>
                <label for="key-store">{td_string!(locale, admin_store)}</label>
                <select id="key-store" name="store">{options}</select>
                <label for="key-name">{td_string!(locale, admin_key_name)}</label>
                <input id="key-name" name="name" maxlength="60" placeholder="POS" />
                <button class="button primary" type="submit">{td_string!(locale, admin_key_create)}</button>
            </form>
            {stores}
        </Page>
    }
}

/// `/admin/audit?before=ID`: who changed what, when and from where.
#[component]
pub fn AdminAudit() -> impl IntoView {
    let before = use_query_map()
        .get_untracked()
        .get("before")
        .and_then(|b| b.parse().ok());
    staff_page(
        move || load_audit(before),
        |page| view! { <Audit page /> }.into_any(),
    )
}

#[component]
fn Audit(page: AuditPage) -> impl IntoView {
    let locale = page_locale(page.staff.brand.default_locale);
    let brand = PageBrand::from(&page.staff.brand);
    let rows = page
        .lines
        .iter()
        .map(|l| {
            view! {
                <tr>
                    <td class="nowrap">{l.at.clone()}</td>
                    <td>{l.who.clone().unwrap_or_else(|| td_string!(locale, admin_audit_cli).to_string())}</td>
                    <td>{l.store.clone().unwrap_or_default()}</td>
                    <td class="mono">{l.action.clone()}</td>
                    <td class="mono">{l.target.clone()}</td>
                    <td class="mono audit-json">{l.before.clone().unwrap_or_default()}</td>
                    <td class="mono audit-json">{l.after.clone().unwrap_or_default()}</td>
                    <td class="mono">{l.ip.clone().unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <Page locale title=td_string!(locale, admin_audit).to_string() brand>
            {console_nav(locale, &page.staff)}
            <h1>{td_string!(locale, admin_audit)}</h1>
            <p class="muted">{td_string!(locale, admin_audit_hint)}</p>
            {if page.lines.is_empty() {
                view! { <p class="muted empty">{td_string!(locale, admin_audit_empty)}</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap" tabindex="0" role="region" aria-label=td_string!(locale, admin_audit)>
                        <table class="report audit">
                            <thead>
                                <tr>
                                    <th scope="col">{td_string!(locale, admin_audit_when)}</th>
                                    <th scope="col">{td_string!(locale, admin_audit_who)}</th>
                                    <th scope="col">{td_string!(locale, admin_store)}</th>
                                    <th scope="col">{td_string!(locale, admin_audit_action)}</th>
                                    <th scope="col">{td_string!(locale, admin_audit_target)}</th>
                                    <th scope="col">{td_string!(locale, admin_audit_before)}</th>
                                    <th scope="col">{td_string!(locale, admin_audit_after)}</th>
                                    <th scope="col">"IP"</th>
                                </tr>
                            </thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                }
                .into_any()
            }}
            {page.older.map(|id| view! {
                <a class="button secondary" href=format!("/admin/audit?before={id}")>{td_string!(locale, admin_audit_older)}</a>
            })}
        </Page>
    }
}
