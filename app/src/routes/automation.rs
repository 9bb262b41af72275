//! `/admin/automation` (owners): triggers and what they give, the check-in
//! reward, and the scheduler's last run of each job.

use leptos::prelude::*;

use crate::components::{Notice, Page, PageBrand};
use crate::functions::automation::CreateAutomation;
use crate::functions::automation::PauseAutomation;
use crate::functions::automation::SaveCheckin;
use crate::functions::automation::SaveReferral;
use crate::functions::automation::{load_automation, AutomationPage, JobLine};
use crate::i18n::*;
use crate::routes::admin::console_nav;
use crate::routes::{page_locale, staff_page};
use leptos::server_fn::ServerFn as _;

#[component]
pub fn AdminAutomation() -> impl IntoView {
    staff_page(load_automation, |page| {
        view! { <Automation page /> }.into_any()
    })
}

fn job_name(locale: Locale, job: &str) -> String {
    match job {
        "points_expiry" => td_string!(locale, job_points_expiry),
        "tier_review" => td_string!(locale, job_tier_review),
        "automation_events" => td_string!(locale, job_automation_events),
        "automation_daily" => td_string!(locale, job_automation_daily),
        _ => td_string!(locale, job_messages),
    }
    .to_string()
}

/// `benefits=3` or `sent=2,retry=0,dropped=0` in the brand's words.
fn outcome_text(locale: Locale, outcome: &str) -> String {
    outcome
        .split(',')
        .filter_map(|pair| {
            let (name, n) = pair.split_once('=')?;
            let n: i64 = n.parse().ok()?;
            Some(
                match name {
                    "points_expired" => td_string!(locale, job_out_points_expired, n = n),
                    "members_moved" => td_string!(locale, job_out_members_moved, n = n),
                    "benefits" => td_string!(locale, job_out_benefits, n = n),
                    "referrals" => td_string!(locale, job_out_referrals, n = n),
                    "campaign_coupons" => td_string!(locale, job_out_campaign_coupons, n = n),
                    "sent" => td_string!(locale, job_out_sent, n = n),
                    "retry" => td_string!(locale, job_out_retry, n = n),
                    "dropped" => td_string!(locale, job_out_dropped, n = n),
                    "waiting" => td_string!(locale, job_out_waiting).to_string(),
                    _ => return None,
                }
                .to_string(),
            )
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

fn job_row(locale: Locale, j: &JobLine) -> impl IntoView {
    let outcome = if j.last.is_empty() {
        td_string!(locale, job_never).to_string()
    } else if j.failed {
        td_string!(locale, job_failed, attempts = j.attempts).to_string()
    } else if j.duration_ms.is_none() {
        td_string!(locale, job_running).to_string()
    } else {
        outcome_text(locale, &j.outcome)
    };
    view! {
        // The error itself (technical, in English) is in the server log and
        // in the row's tooltip for whoever runs the server.
        <tr id=format!("job-{}", j.job) class=if j.failed { "failed" } else { "" } title=j.failed.then(|| j.outcome.clone())>
            <th scope="row">{job_name(locale, &j.job)}</th>
            <td>{j.last.clone()}</td>
            <td class="num">{j.duration_ms.map(|ms| td_string!(locale, job_ms, ms = ms).to_string())}</td>
            <td>{outcome}</td>
        </tr>
    }
}

#[component]
fn Automation(page: AutomationPage) -> impl IntoView {
    let locale = page_locale(page.staff.brand.default_locale);
    let brand = PageBrand::from(&page.staff.brand);
    let rows = page
        .automations
        .iter()
        .map(|a| {
            view! {
                <tr id=format!("a{}", a.id) class=if a.active { "" } else { "paused" }>
                    <th scope="row">{a.when.clone()}</th>
                    <td>{a.gives.clone()}</td>
                    <td class="num">{a.given}</td>
                    <td>
                        <form method="post" action=PauseAutomation::PATH>
                            <input type="hidden" name="id" value=a.id.to_string() />
                            <input type="hidden" name="active" value=(!a.active).to_string() />
                            <button class="button secondary small" type="submit">
                                {if a.active { td_string!(locale, cpn_pause) } else { td_string!(locale, cpn_resume) }}
                            </button>
                        </form>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let triggers = [
        ("join", td_string!(locale, auto_trigger_join).to_string()),
        (
            "birthday",
            td_string!(locale, auto_trigger_birthday_month).to_string()
                + " / "
                + &td_string!(locale, auto_trigger_birthday_days, days = "N").to_string(),
        ),
        (
            "tier_up",
            td_string!(locale, auto_trigger_tier_up).to_string(),
        ),
        (
            "nth_visit",
            td_string!(locale, auto_trigger_nth_visit, n = "N").to_string(),
        ),
        (
            "no_visit",
            td_string!(locale, auto_trigger_no_visit, days = "N").to_string(),
        ),
        (
            "points_expiring",
            td_string!(locale, auto_trigger_points_expiring, days = "N").to_string(),
        ),
    ]
    .into_iter()
    .map(|(v, label)| view! { <option value=v>{label}</option> })
    .collect_view();
    let templates = page
        .templates
        .iter()
        .map(|(id, title)| view! { <option value=id.to_string()>{title.clone()}</option> })
        .collect_view();
    let jobs = page.jobs.iter().map(|j| job_row(locale, j)).collect_view();
    let referral_coupons = page
        .templates
        .iter()
        .map(|(id, title)| {
            view! { <option value=id.to_string() selected=page.friend_coupon == Some(*id)>{title.clone()}</option> }
        })
        .collect_view();
    let empty = page.automations.is_empty();
    view! {
        <Page locale title=td_string!(locale, admin_automation).to_string() brand>
            {console_nav(locale, &page.staff)}
            <h1>{td_string!(locale, admin_automation)}</h1>
            <Notice locale />
            <p class="hint">{td_string!(locale, auto_intro)}</p>
            {if empty {
                view! { <p class="muted">{td_string!(locale, auto_none_yet)}</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap" tabindex="0" role="region" aria-label=td_string!(locale, admin_automation)>
                        <table class="report" id="automations">
                            <thead>
                                <tr>
                                    <th scope="col">{td_string!(locale, auto_when)}</th>
                                    <th scope="col">{td_string!(locale, auto_gives)}</th>
                                    <th scope="col">{td_string!(locale, auto_given)}</th>
                                    <th scope="col"><span class="sr-only">{td_string!(locale, cpn_pause)}</span></th>
                                </tr>
                            </thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                }
                    .into_any()
            }}
            <section class="panel">
                <h2>{td_string!(locale, auto_new)}</h2>
                <form method="post" action=CreateAutomation::PATH class="stack">
                    <label for="trigger">{td_string!(locale, auto_when)}</label>
                    <select id="trigger" name="trigger" required>{triggers}</select>
                    <label for="param">{td_string!(locale, auto_param)}</label>
                    <input id="param" name="param" type="number" min="0" max="3650" inputmode="numeric" aria-describedby="param-hint" />
                    <p class="hint" id="param-hint">{td_string!(locale, auto_param_hint)}</p>
                    <label for="template">{td_string!(locale, auto_coupon)}</label>
                    <select id="template" name="template">
                        <option value="">{td_string!(locale, auto_no_coupon)}</option>
                        {templates}
                    </select>
                    <label for="points">{td_string!(locale, auto_points)}</label>
                    <input id="points" name="points" type="number" min="1" max="1000000" inputmode="numeric" />
                    <label for="message">{td_string!(locale, auto_message)}</label>
                    <textarea id="message" name="message" maxlength="300" rows="3" aria-describedby="message-hint"></textarea>
                    <p class="hint" id="message-hint">{td_string!(locale, auto_message_hint)}</p>
                    <button class="button primary" type="submit">{td_string!(locale, auto_create)}</button>
                </form>
            </section>
            <section class="panel" id="checkin">
                <h2>{td_string!(locale, checkin_title)}</h2>
                <p class="hint">{td_string!(locale, checkin_intro)}</p>
                <form method="post" action=SaveCheckin::PATH class="stack">
                    <label for="ci-points">{td_string!(locale, checkin_points)}</label>
                    <input id="ci-points" name="points" type="number" min="0" max="10000" required value=page.checkin_points.to_string() />
                    <label for="ci-days">{td_string!(locale, checkin_streak_days)}</label>
                    <input id="ci-days" name="streak_days" type="number" min="2" max="31" required value=page.checkin_streak_days.to_string() />
                    <label for="ci-bonus">{td_string!(locale, checkin_streak_bonus)}</label>
                    <input id="ci-bonus" name="streak_bonus" type="number" min="0" max="100000" required value=page.checkin_streak_bonus.to_string() />
                    <button class="button primary" type="submit">{td_string!(locale, checkin_save)}</button>
                </form>
            </section>
            <section class="panel" id="referral">
                <h2>{td_string!(locale, referral_title)}</h2>
                <p class="hint">{td_string!(locale, referral_intro)}</p>
                <form method="post" action=SaveReferral::PATH class="stack">
                    <label for="ref-referrer">{td_string!(locale, referral_referrer_points)}</label>
                    <input id="ref-referrer" name="referrer_points" type="number" min="0" max="100000" required value=page.referrer_points.to_string() />
                    <label for="ref-friend">{td_string!(locale, referral_friend_points)}</label>
                    <input id="ref-friend" name="friend_points" type="number" min="0" max="100000" required value=page.friend_points.to_string() />
                    <label for="ref-coupon">{td_string!(locale, referral_coupon)}</label>
                    <select id="ref-coupon" name="coupon">
                        <option value="">{td_string!(locale, auto_no_coupon)}</option>
                        {referral_coupons}
                    </select>
                    <button class="button primary" type="submit">{td_string!(locale, referral_save)}</button>
                </form>
            </section>
            <section class="panel">
                <h2>{td_string!(locale, jobs_title)}</h2>
                <p class="hint">{td_string!(locale, jobs_intro)}</p>
                <div class="table-wrap" tabindex="0" role="region" aria-label=td_string!(locale, jobs_title)>
                    <table class="report" id="jobs">
                        <thead>
                            <tr>
                                <th scope="col">{td_string!(locale, job_name)}</th>
                                <th scope="col">{td_string!(locale, job_last_run)}</th>
                                <th scope="col">{td_string!(locale, job_duration)}</th>
                                <th scope="col">{td_string!(locale, job_outcome)}</th>
                            </tr>
                        </thead>
                        <tbody>{jobs}</tbody>
                    </table>
                </div>
            </section>
        </Page>
    }
}
