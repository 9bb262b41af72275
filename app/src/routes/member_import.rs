//! `/admin/import`: the owner uploads the old program's file, sees
//! what each row will do and every problem, starts the import and follows
//! its progress (the page reloads itself while it runs, without
//! JavaScript).

use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use leptos_router::hooks::use_query_map;
use loyalty::members::import::{Action, Field, Import, Problem, RowReport};
use loyalty::money::yuan;

use crate::components::{Notice, Page, PageBrand};
use crate::functions::member_import::{load_member_import, Check, ImportPage, StartMemberImport};
use crate::i18n::*;
use crate::routes::admin::console_nav;
use crate::routes::{page_locale, staff_page};

/// The page, and where its file goes (the server's multipart route).
pub const PAGE_PATH: &str = "/admin/import";
pub const UPLOAD_PATH: &str = "/admin/import/file";

#[component]
pub fn AdminMemberImport() -> impl IntoView {
    let shown = use_query_map()
        .get_untracked()
        .get("import")
        .and_then(|id| id.parse().ok());
    staff_page(
        move || load_member_import(shown),
        |page| view! { <MemberImport page /> }.into_any(),
    )
}

/// A problem of a row in the owner's words; `tiers` lists the brand's tiers
/// for an unknown one.
pub fn problem_text(locale: Locale, problem: &Problem, tiers: &str) -> String {
    let v = |s: &String| s.clone();
    match problem {
        Problem::PhoneMissing => td_string!(locale, impp_phone_missing).to_string(),
        Problem::PhoneInvalid { value } => {
            td_string!(locale, impp_phone_invalid, value = v(value)).to_string()
        }
        Problem::PhoneRepeated { line } => {
            td_string!(locale, impp_phone_repeated, line = *line).to_string()
        }
        Problem::NameTooLong => td_string!(locale, impp_name_too_long).to_string(),
        Problem::BirthdayInvalid { value } => {
            td_string!(locale, impp_birthday_invalid, value = v(value)).to_string()
        }
        Problem::MemberNoInvalid { value } => {
            td_string!(locale, impp_member_no_invalid, value = v(value)).to_string()
        }
        Problem::MemberNoRepeated { line } => {
            td_string!(locale, impp_member_no_repeated, line = *line).to_string()
        }
        Problem::MemberNoTaken { value } => {
            td_string!(locale, impp_member_no_taken, value = v(value)).to_string()
        }
        Problem::PointsInvalid { value } => {
            td_string!(locale, impp_points_invalid, value = v(value)).to_string()
        }
        Problem::ExpiryInvalid { value } => {
            td_string!(locale, impp_expiry_invalid, value = v(value)).to_string()
        }
        Problem::ExpiryPast { value } => {
            td_string!(locale, impp_expiry_past, value = v(value)).to_string()
        }
        Problem::TierUnknown { value } => td_string!(
            locale,
            impp_tier_unknown,
            value = v(value),
            tiers = tiers.to_owned()
        )
        .to_string(),
        Problem::MoneyInvalid { field, value } => td_string!(
            locale,
            impp_money_invalid,
            column = field_name(locale, *field),
            value = v(value)
        )
        .to_string(),
        Problem::MoneyTooLarge { field } => td_string!(
            locale,
            impp_money_too_large,
            column = field_name(locale, *field)
        )
        .to_string(),
        Problem::BalanceTooLarge => td_string!(locale, impp_balance_too_large).to_string(),
        Problem::Erased => td_string!(locale, impp_erased).to_string(),
        Problem::BonusWithoutPrincipal => {
            td_string!(locale, impp_bonus_without_principal).to_string()
        }
        Problem::ConsentInvalid { value } => {
            td_string!(locale, impp_consent_invalid, value = v(value)).to_string()
        }
        Problem::ConsentDateInvalid { value } => {
            td_string!(locale, impp_consent_date_invalid, value = v(value)).to_string()
        }
        Problem::NoStore => td_string!(locale, impp_no_store).to_string(),
    }
}

/// What happens to a row, in the owner's words.
pub fn action_text(locale: Locale, row: &RowReport) -> String {
    let no = row.member_no.clone().unwrap_or_default();
    match row.action {
        Action::Create => td_string!(locale, imp_action_create).to_string(),
        Action::Merge => td_string!(locale, imp_action_merge, no = no).to_string(),
        Action::Unchanged => td_string!(locale, imp_action_unchanged, no = no).to_string(),
        Action::Skip => td_string!(locale, imp_action_skip).to_string(),
    }
}

/// The outcome of a finished import, in the owner's words.
pub fn done_text(locale: Locale, import: &Import) -> String {
    let c = import.counts;
    td_string!(
        locale,
        imp_done,
        created = c.create,
        merged = c.merge,
        unchanged = c.unchanged,
        skipped = c.skip
    )
    .to_string()
}

fn status_text(locale: Locale, status: &str) -> String {
    match status {
        "checked" => td_string!(locale, imp_status_checked),
        "running" => td_string!(locale, imp_status_running),
        _ => td_string!(locale, imp_status_done),
    }
    .to_string()
}

/// A column by the name the owner's language gives it.
pub fn field_name(locale: Locale, f: Field) -> String {
    match f {
        Field::Phone => td_string!(locale, impf_phone),
        Field::Name => td_string!(locale, impf_name),
        Field::Birthday => td_string!(locale, impf_birthday),
        Field::MemberNo => td_string!(locale, impf_member_no),
        Field::Points => td_string!(locale, impf_points),
        Field::PointsExpiry => td_string!(locale, impf_points_expiry),
        Field::Tier => td_string!(locale, impf_tier),
        Field::StoredValue => td_string!(locale, impf_stored_value),
        Field::StoredBonus => td_string!(locale, impf_stored_bonus),
        Field::Marketing => td_string!(locale, impf_marketing),
        Field::MarketingAt => td_string!(locale, impf_marketing_at),
    }
    .to_string()
}

#[component]
fn MemberImport(page: ImportPage) -> impl IntoView {
    let locale = page_locale(page.staff.brand.default_locale);
    let brand = PageBrand::from(&page.staff.brand);
    let zone = page.time_zone.clone();
    let tiers = page.tiers.clone();
    let tier_list = tiers
        .iter()
        .map(|(_, name)| name.clone())
        .collect::<Vec<_>>()
        .join(" / ");
    let tier_name = move |rank: i64| {
        tiers
            .iter()
            .find(|(r, _)| *r == rank)
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    };
    let running = page
        .shown
        .as_ref()
        .is_some_and(|s| s.import.status == "running");
    let shown = page.shown.map(|s| {
        let import = s.import;
        let body = match (import.status.as_str(), s.check) {
            ("checked", Some(check)) => {
                checked_view(locale, &import, check, &tier_list, &tier_name).into_any()
            }
            ("running", _) => view! {
                <p>{td_string!(locale, imp_running, done = import.rows_done, total = import.rows_total)}</p>
                <progress class="tier-progress" max=import.rows_total.max(1).to_string() value=import.rows_done.to_string()></progress>
                <p class="muted">{td_string!(locale, imp_running_help)}</p>
            }
            .into_any(),
            _ => view! { <p class="alert success" role="status">{done_text(locale, &import)}</p> }.into_any(),
        };
        let stopped = import.error.as_ref().map(|code| {
            let e = crate::error::AppError::new(code);
            let why = crate::error::sentence(locale, &e).unwrap_or_else(|| code.clone());
            view! { <p class="alert error" role="alert">{td_string!(locale, imp_stopped, why = why)}</p> }
        });
        view! {
            <section class="panel stack" id="import">
                <h2>{td_string!(locale, imp_checked_title, file = import.file_name.clone())}</h2>
                {stopped}
                {body}
            </section>
        }
    });
    let recent = (!page.recent.is_empty()).then(|| {
        let rows = page
            .recent
            .iter()
            .map(|i| {
                let outcome = if i.status == "done" {
                    done_text(locale, i)
                } else {
                    format!("{} / {}", i.rows_done, i.rows_total)
                };
                view! {
                    <tr>
                        <td>{loyalty::points::rules::local_datetime(&zone, i.created_at)}</td>
                        <td>{i.file_name.clone()}</td>
                        <td>{status_text(locale, &i.status)}</td>
                        <td>{outcome}</td>
                        <td><a href=format!("{PAGE_PATH}?import={}#import", i.id)>{td_string!(locale, imp_open)}</a></td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <section class="panel" id="imports">
                <h2>{td_string!(locale, imp_recent)}</h2>
                <div class="table-scroll">
                    <table class="data"><tbody>{rows}</tbody></table>
                </div>
            </section>
        }
    });
    view! {
        <Page locale title=td_string!(locale, admin_import).to_string() brand>
            {running.then(|| view! { <leptos_meta::Meta http_equiv="refresh" content="2" /> })}
            {console_nav(locale, &page.staff)}
            <h1>{td_string!(locale, admin_import)}</h1>
            <Notice locale />
            {shown}
            <section class="panel stack" id="upload">
                <p>{td_string!(locale, imp_help)}</p>
                <p class="muted">{td_string!(locale, imp_columns_help)}</p>
                <form class="stack" method="post" action=UPLOAD_PATH enctype="multipart/form-data">
                    <label for="import-file">{td_string!(locale, imp_file)}</label>
                    <input id="import-file" type="file" name="file" required
                        accept=".csv,.txt,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" />
                    <button class="button" type="submit">{td_string!(locale, imp_check)}</button>
                </form>
            </section>
            {recent}
        </Page>
    }
}

fn checked_view(
    locale: Locale,
    import: &Import,
    check: Check,
    tier_list: &str,
    tier_name: &impl Fn(i64) -> String,
) -> impl IntoView {
    let c = check.counts;
    let writes = c.create + c.merge;
    let tile = |label: String, n: u64| {
        view! {
            <div class="tile">
                <p class="tile-label">{label}</p>
                <p class="tile-value">{n}</p>
            </div>
        }
    };
    let fields = check
        .fields
        .iter()
        .map(|f| field_name(locale, *f))
        .collect::<Vec<_>>()
        .join(", ");
    let ignored = (!check.ignored.is_empty()).then(|| {
        view! { <p class="alert">{td_string!(locale, imp_columns_ignored)}" "{check.ignored.join(", ")}</p> }
    });
    let problems = (!check.problems.is_empty()).then(|| {
        let more = (c.skip as usize > check.problems.len()).then(|| {
            view! { <p class="muted">{td_string!(locale, imp_more_problems, n = check.problems.len())}</p> }
        });
        let rows = check
            .problems
            .iter()
            .map(|r| {
                let why = r
                    .problems
                    .iter()
                    .map(|p| problem_text(locale, p, tier_list))
                    .collect::<Vec<_>>()
                    .join(" ");
                view! {
                    <tr>
                        <td>{r.line}</td>
                        <td>{r.phone.clone()}</td>
                        <td>{why}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <h3>{td_string!(locale, imp_problems)}</h3>
            {more}
            <div class="table-scroll">
                <table class="data" id="import-problems">
                    <thead><tr>
                        <th scope="col">{td_string!(locale, imp_line)}</th>
                        <th scope="col">{td_string!(locale, imp_phone)}</th>
                        <th scope="col">{td_string!(locale, imp_problems)}</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
    });
    let preview = (!check.preview.is_empty()).then(|| {
        let rows = check
            .preview
            .iter()
            .map(|r| {
                view! {
                    <tr>
                        <td>{r.line}</td>
                        <td>{r.phone.clone()}</td>
                        <td>{r.name.clone()}</td>
                        <td>{action_text(locale, r)}</td>
                        <td>{r.points}</td>
                        <td>{yuan(r.stored_fen)}</td>
                        <td>{tier_name(r.tier_rank)}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <h3>{td_string!(locale, imp_preview)}</h3>
            <div class="table-scroll">
                <table class="data" id="import-preview">
                    <thead><tr>
                        <th scope="col">{td_string!(locale, imp_line)}</th>
                        <th scope="col">{td_string!(locale, imp_phone)}</th>
                        <th scope="col">{td_string!(locale, imp_name)}</th>
                        <th scope="col">{td_string!(locale, imp_what)}</th>
                        <th scope="col">{td_string!(locale, imp_points)}</th>
                        <th scope="col">{td_string!(locale, imp_stored)}</th>
                        <th scope="col">{td_string!(locale, imp_tier)}</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
    });
    let start = if writes > 0 {
        view! {
            <form method="post" action=StartMemberImport::PATH>
                <input type="hidden" name="id" value=import.id.to_string() />
                <button class="button" type="submit">{td_string!(locale, imp_start, n = writes)}</button>
            </form>
        }
        .into_any()
    } else {
        view! { <p class="alert">{td_string!(locale, imp_nothing)}</p> }.into_any()
    };
    view! {
        <div class="tiles">
            {tile(td_string!(locale, imp_will_create).to_string(), c.create)}
            {tile(td_string!(locale, imp_will_merge).to_string(), c.merge)}
            {tile(td_string!(locale, imp_unchanged).to_string(), c.unchanged)}
            {tile(td_string!(locale, imp_skipped).to_string(), c.skip)}
        </div>
        <p>{td_string!(locale, imp_totals, points = check.points, amount = yuan(check.stored_fen))}</p>
        <p class="muted">{td_string!(locale, imp_columns_found)}" "{fields}</p>
        {ignored}
        {problems}
        {preview}
        {start}
    }
}
