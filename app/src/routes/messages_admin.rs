//! `/admin/messages`: today's text messages and why any failed, the
//! provider templates with their previews, and the rules of sending.

use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use loyalty::marketing::delivery::Purpose;
use loyalty::marketing::messages::{clock_time, Failed};
use loyalty::marketing::templates::{TemplateFor, Var};
use loyalty::money::{yuan, yuan_figure};

use crate::components::{Notice, Page, PageBrand};
use crate::functions::messages_admin::{
    load_messages, MessagesPage, RemoveSmsTemplate, SaveSmsSettings, SaveSmsTemplate,
};
use crate::i18n::*;
use crate::routes::admin::console_nav;
use crate::routes::{page_locale, staff_page};

#[component]
pub fn AdminMessages() -> impl IntoView {
    staff_page(load_messages, |page| view! { <Messages page /> }.into_any())
}

/// Each language by its own name, as language menus do.
fn language_name(tag: &str) -> &'static str {
    match tag {
        "zh-CN" => "简体中文",
        "zh-TW" => "繁體中文",
        _ => "English",
    }
}

fn trigger_name(locale: Locale, kind: &str) -> String {
    match kind {
        "join" => td_string!(locale, auto_trigger_join).to_string(),
        "birthday" => td_string!(locale, auto_trigger_birthday_month).to_string(),
        "tier_up" => td_string!(locale, auto_trigger_tier_up).to_string(),
        "nth_visit" => td_string!(locale, auto_trigger_nth_visit, n = "N").to_string(),
        "no_visit" => td_string!(locale, auto_trigger_no_visit, days = "N").to_string(),
        _ => td_string!(locale, auto_trigger_points_expiring, days = "N").to_string(),
    }
}

/// What a failure means for the owner, from the provider's code.
fn reason_text(locale: Locale, f: &Failed) -> String {
    let r = f.reason.as_str();
    let has = |words: &[&str]| words.iter().any(|w| r.contains(w));
    if r == "template_missing" {
        td_string!(locale, smsr_template_missing)
    } else if has(&[
        "SignatureDoesNotMatch",
        "AuthFailure",
        "InvalidAccessKeyId",
        "SmsSdkAppId",
        "RAM_PERMISSION",
        "SecretId",
    ]) {
        td_string!(locale, smsr_credentials)
    } else if has(&[
        "AMOUNT_NOT_ENOUGH",
        "InsufficientBalance",
        "OUT_OF_SERVICE",
        "Arrears",
    ]) {
        td_string!(locale, smsr_balance)
    } else if has(&["TEMPLATE", "Template"]) {
        td_string!(locale, smsr_template)
    } else if has(&["SIGNATURE", "SIGN_", "Signature"]) {
        td_string!(locale, smsr_signature)
    } else {
        match f.outcome.as_str() {
            "unreachable" => td_string!(locale, smsr_number),
            "limited" => td_string!(locale, smsr_limited),
            "transient" => td_string!(locale, smsr_busy),
            _ => td_string!(locale, smsr_other),
        }
    }
    .to_string()
}

#[component]
fn Messages(page: MessagesPage) -> impl IntoView {
    let locale = page_locale(page.staff.brand.default_locale);
    let brand = PageBrand::from(&page.staff.brand);
    let (staff, zone, signature, s) = (page.staff, page.time_zone, page.signature, page.screen);
    let t = s.today.clone();
    let kind = move |p: Purpose| match p {
        Purpose::SignIn => td_string!(locale, sms_kind_sign_in).to_string(),
        Purpose::Marketing => td_string!(locale, sms_kind_marketing).to_string(),
    };
    let failures = if t.recent_failures.is_empty() {
        view! { <p class="muted">{td_string!(locale, sms_no_failures)}</p> }.into_any()
    } else {
        let rows = t
            .recent_failures
            .iter()
            .map(|f| {
                view! {
                    <tr>
                        <td>{loyalty::points::rules::local_datetime(&zone, f.at)}</td>
                        <td>{kind(f.purpose)}</td>
                        <td>{reason_text(locale, f)}<br /><code class="muted">{f.reason.clone()}</code></td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="table-scroll">
                <table class="data">
                    <thead><tr>
                        <th scope="col">{td_string!(locale, sms_when)}</th>
                        <th scope="col">{td_string!(locale, sms_kind)}</th>
                        <th scope="col">{td_string!(locale, sms_why)}</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    let automation_label = {
        let automations = s.automations.clone();
        move |id: i64| {
            automations
                .iter()
                .find(|(a, _, _)| *a == id)
                .map(|(_, k, text)| {
                    let excerpt: String = text.chars().take(16).collect();
                    format!("{} · {excerpt}…", trigger_name(locale, k))
                })
                .unwrap_or_else(|| format!("#{id}"))
        }
    };
    let purpose_label = {
        let automation_label = automation_label.clone();
        move |p: TemplateFor| match p {
            TemplateFor::SignIn => td_string!(locale, sms_kind_sign_in).to_string(),
            TemplateFor::Automation(id) => automation_label(id.0),
        }
    };
    let templates = if s.templates.is_empty() {
        view! { <p class="muted">{td_string!(locale, sms_no_templates)}</p> }.into_any()
    } else {
        let rows = s
            .templates
            .iter()
            .map(|(tpl, preview, length)| {
                view! {
                    <li class="panel stack" id=format!("template-{}", tpl.id)>
                        <p>
                            <strong>{purpose_label(tpl.purpose)}</strong>
                            " · " {language_name(tpl.language.tag())}
                            " · " <code>{if tpl.code.is_empty() { "—".to_owned() } else { tpl.code.clone() }}</code>
                        </p>
                        <p class="sms-preview">{format!("【{signature}】{preview}")}</p>
                        <p class="muted">{td_string!(locale, sms_length, chars = length.chars, segments = length.segments)}</p>
                        <form method="post" action=RemoveSmsTemplate::PATH>
                            <input type="hidden" name="id" value=tpl.id.to_string() />
                            <button class="button secondary small" type="submit">{td_string!(locale, sms_remove)}</button>
                        </form>
                    </li>
                }
            })
            .collect_view();
        view! { <ul class="plain-list stack">{rows}</ul> }.into_any()
    };
    let purposes = std::iter::once((
        "sign_in".to_owned(),
        td_string!(locale, sms_kind_sign_in).to_string(),
    ))
    .chain(
        s.automations
            .iter()
            .map(|(id, _, _)| (format!("automation:{id}"), automation_label(*id))),
    )
    .map(|(value, label)| view! { <option value=value>{label}</option> })
    .collect_view();
    let vars = Var::ALL
        .iter()
        .map(|v| view! { <code>{format!("{{{}}}", v.as_str())}</code>" " })
        .collect_view();
    let st = s.settings;
    let sign_in_budget = st.sign_in_budget(s.sign_in_ceiling);
    view! {
        <Page locale title=td_string!(locale, admin_messages).to_string() brand>
            {console_nav(locale, &staff)}
            <h1>{td_string!(locale, admin_messages)}</h1>
            <Notice locale />
            <section class="panel" id="today">
                <h2>{td_string!(locale, sms_today)}</h2>
                <div class="tiles">
                    <div class="tile">
                        <p class="tile-label">{td_string!(locale, sms_kind_sign_in)}</p>
                        <p class="tile-value">{t.sign_in.sent}</p>
                        <p class="tile-note muted">{td_string!(locale, sms_failed_n, n = t.sign_in.failed)}</p>
                    </div>
                    <div class="tile">
                        <p class="tile-label">{td_string!(locale, sms_kind_marketing)}</p>
                        <p class="tile-value">{t.marketing.sent}</p>
                        <p class="tile-note muted">{td_string!(locale, sms_failed_n, n = t.marketing.failed)}" · "{td_string!(locale, sms_waiting_n, n = t.waiting)}</p>
                    </div>
                    <div class="tile">
                        <p class="tile-label">{td_string!(locale, sms_cost)}</p>
                        <p class="tile-value">{yuan(t.cost_fen)}</p>
                        <p class="tile-note muted">{td_string!(locale, sms_segments_n, n = t.sign_in.segments + t.marketing.segments)}</p>
                    </div>
                </div>
                <h3>{td_string!(locale, sms_failures)}</h3>
                {failures}
            </section>
            <section class="panel" id="templates">
                <h2>{td_string!(locale, sms_templates)}</h2>
                <p class="muted">{td_string!(locale, sms_templates_help)}</p>
                {templates}
                <form class="stack" method="post" action=SaveSmsTemplate::PATH>
                    <h3>{td_string!(locale, sms_new_template)}</h3>
                    <label for="tpl-purpose">{td_string!(locale, sms_for)}</label>
                    <select id="tpl-purpose" name="purpose">{purposes}</select>
                    <label for="tpl-language">{td_string!(locale, sms_language)}</label>
                    <select id="tpl-language" name="language">
                        <option value="zh-CN">{language_name("zh-CN")}</option>
                        <option value="zh-TW">{language_name("zh-TW")}</option>
                        <option value="en">{language_name("en")}</option>
                    </select>
                    <label for="tpl-code">{td_string!(locale, sms_code)}</label>
                    <input id="tpl-code" name="code" maxlength="40" placeholder="SMS_465000001" autocomplete="off" />
                    <label for="tpl-body">{td_string!(locale, sms_body)}</label>
                    <textarea id="tpl-body" name="body" rows="3" maxlength="400" required></textarea>
                    <p class="muted">{td_string!(locale, sms_vars_help)}" "{vars}</p>
                    <button class="button primary" type="submit">{td_string!(locale, sms_save_template)}</button>
                </form>
            </section>
            <section class="panel" id="rules">
                <h2>{td_string!(locale, sms_rules)}</h2>
                <form class="stack" method="post" action=SaveSmsSettings::PATH>
                    <p class="muted">{td_string!(locale, sms_window_help)}</p>
                    <label for="sms-start">{td_string!(locale, sms_window_start)}</label>
                    <input id="sms-start" name="window_start" type="time" min="09:00" max="21:00" value=clock_time(st.window_start) required />
                    <label for="sms-end">{td_string!(locale, sms_window_end)}</label>
                    <input id="sms-end" name="window_end" type="time" min="09:00" max="21:00" value=clock_time(st.window_end) required />
                    <label for="sms-mcap">{td_string!(locale, sms_marketing_cap)}</label>
                    <input id="sms-mcap" name="marketing_cap" inputmode="numeric" value=st.marketing_cap.to_string() required maxlength="7" />
                    <label for="sms-scap">{td_string!(locale, sms_sign_in_cap, ceiling = s.sign_in_ceiling)}</label>
                    <input id="sms-scap" name="sign_in_cap" inputmode="numeric" value=st.sign_in_cap.map(|c| c.to_string()).unwrap_or_default() placeholder=sign_in_budget.to_string() maxlength="7" />
                    <label for="sms-price">{td_string!(locale, sms_price)}</label>
                    <input id="sms-price" name="price_per_100" inputmode="decimal" value=yuan_figure(st.fen_per_100) required maxlength="10" />
                    <button class="button secondary" type="submit">{td_string!(locale, sva_save)}</button>
                </form>
            </section>
        </Page>
    }
}
