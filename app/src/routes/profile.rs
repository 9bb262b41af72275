use leptos::prelude::*;

use crate::components::{Notice, Page, PageBrand};
use crate::functions::members::DeleteAccount;
use crate::functions::members::SaveProfile;
use crate::functions::members::SignOut;
use crate::functions::members::{MemberPage, MemberPart, ProfileView};
use crate::i18n::*;
use crate::routes::card::member_route;
use crate::routes::{page_locale, ServerError};
use leptos::server_fn::ServerFn as _;

/// `/r/{brand}/me`: profile, consent, language, and "my data".
#[component]
pub fn ProfileRoute() -> impl IntoView {
    member_route("me", |page| match page.part.clone() {
        MemberPart::Profile(profile) => view! { <Profile page profile=*profile /> }.into_any(),
        MemberPart::Card(_) => view! { <ServerError /> }.into_any(),
    })
}

pub(crate) fn diet_name(locale: Locale, diet: &str) -> String {
    match diet {
        "vegetarian" => td_string!(locale, diet_vegetarian),
        "vegan" => td_string!(locale, diet_vegan),
        "halal" => td_string!(locale, diet_halal),
        "no_spicy" => td_string!(locale, diet_no_spicy),
        "no_pork" => td_string!(locale, diet_no_pork),
        "no_beef" => td_string!(locale, diet_no_beef),
        "no_seafood" => td_string!(locale, diet_no_seafood),
        _ => td_string!(locale, diet_low_sugar),
    }
    .to_string()
}

fn gender_name(locale: Locale, gender: &str) -> String {
    match gender {
        "female" => td_string!(locale, gender_female),
        "male" => td_string!(locale, gender_male),
        "other" => td_string!(locale, gender_other),
        _ => td_string!(locale, gender_unspecified),
    }
    .to_string()
}

const DIETS: [&str; 8] = [
    "vegetarian",
    "vegan",
    "halal",
    "no_spicy",
    "no_pork",
    "no_beef",
    "no_seafood",
    "low_sugar",
];
const GENDERS: [&str; 4] = ["unspecified", "female", "male", "other"];

#[component]
fn Profile(page: MemberPage, profile: ProfileView) -> impl IntoView {
    let locale = page_locale(page.brand.default_locale);
    let p = profile;
    let slug = page.brand.slug.clone();
    let brand = PageBrand::from(&page.brand);
    let genders = GENDERS
        .iter()
        .map(
            |&g| view! { <option value=g selected=p.gender == g>{gender_name(locale, g)}</option> },
        )
        .collect_view();
    let diets = DIETS
        .iter()
        .map(|&d| {
            view! {
                <label class="check">
                    <input
                        type="checkbox"
                        name=format!("diet_{d}")
                        checked=p.dietary.iter().any(|x| x == d)
                    />
                    <span>{diet_name(locale, d)}</span>
                </label>
            }
        })
        .collect_view();
    let months = (1..=12u8)
        .map(|m| view! { <option value=m.to_string() selected=p.birthday_month == Some(m)>{m}</option> })
        .collect_view();
    let days = (1..=31u8)
        .map(|d| view! { <option value=d.to_string() selected=p.birthday_day == Some(d)>{d}</option> })
        .collect_view();
    let languages = Locale::get_all()
        .iter()
        .map(|&l| {
            view! {
                <option value=l.as_str() selected=p.language.as_deref() == Some(l.as_str()) lang=l.as_str()>
                    {td_string!(l, lang_name)}
                </option>
            }
        })
        .collect_view();
    view! {
        <Page locale title=td_string!(locale, profile_title).to_string() brand>
            <section class="panel">
                <h1>{td_string!(locale, profile_title)}</h1>
                <Notice locale />
                <p class="muted">
                    {td_string!(locale, profile_phone)} ": " <span class="mono">{p.masked_phone.clone()}</span>
                    " · " {td_string!(locale, card_member_no)} ": "
                    <span class="mono">{page.member_no.clone()}</span>
                </p>
                <form class="stack" method="post" action=SaveProfile::PATH>
                    <input type="hidden" name="slug" value=slug.clone() />
                    <label for="display_name">{td_string!(locale, profile_name)}</label>
                    <input id="display_name" name="display_name" maxlength="40" autocomplete="nickname" value=p.display_name.clone() />
                    <fieldset class="inline-fields">
                        <legend>{td_string!(locale, profile_birthday)}</legend>
                        <div>
                            <label for="birthday_month">{td_string!(locale, birthday_month)}</label>
                            <select id="birthday_month" name="birthday_month">
                                <option value="">"—"</option>
                                {months}
                            </select>
                        </div>
                        <div>
                            <label for="birthday_day">{td_string!(locale, birthday_day)}</label>
                            <select id="birthday_day" name="birthday_day">
                                <option value="">"—"</option>
                                {days}
                            </select>
                        </div>
                        <div>
                            <label for="birth_year">{td_string!(locale, birth_year)}</label>
                            <input
                                id="birth_year"
                                name="birth_year"
                                inputmode="numeric"
                                maxlength="4"
                                pattern="[0-9]{4}"
                                value=p.birth_year.map(|y| y.to_string()).unwrap_or_default()
                            />
                        </div>
                    </fieldset>
                    <label for="gender">{td_string!(locale, profile_gender)}</label>
                    <select id="gender" name="gender">{genders}</select>
                    <fieldset class="checks">
                        <legend>{td_string!(locale, profile_dietary)}</legend>
                        {diets}
                    </fieldset>
                    <label for="allergies">{td_string!(locale, profile_allergies)}</label>
                    <input id="allergies" name="allergies" maxlength="200" value=p.allergies.clone() aria-describedby="allergies-hint" />
                    <p class="hint" id="allergies-hint">{td_string!(locale, profile_allergies_hint)}</p>
                    <label class="check">
                        <input type="checkbox" name="sensitive_consent" checked=p.sensitive aria-describedby="sensitive-hint" />
                        <span>{td_string!(locale, profile_sensitive_consent)}</span>
                    </label>
                    <p class="hint" id="sensitive-hint">{td_string!(locale, profile_sensitive_hint)}</p>
                    <label for="language">{td_string!(locale, profile_language)}</label>
                    <select id="language" name="language">
                        <option value="" selected=p.language.is_none()>{td_string!(locale, language_auto)}</option>
                        {languages}
                    </select>
                    <label class="check">
                        <input type="checkbox" name="marketing" checked=p.marketing />
                        <span>{td_string!(locale, profile_marketing)}</span>
                    </label>
                    <button class="button primary" type="submit">{td_string!(locale, profile_save)}</button>
                </form>
            </section>
            <nav class="member-nav" aria-label=td_string!(locale, member_nav)>
                <a class="button secondary" href=format!("/r/{slug}/card")>{td_string!(locale, nav_card)}</a>
                <form method="post" action=SignOut::PATH>
                    <input type="hidden" name="slug" value=slug.clone() />
                    <button class="button secondary" type="submit">{td_string!(locale, sign_out)}</button>
                </form>
            </nav>
            <section class="panel" id="my-data">
                <h2>{td_string!(locale, my_data_title)}</h2>
                <p>{td_string!(locale, my_data_body)}</p>
                <a class="button secondary" href=format!("/r/{slug}/me/export") download="my-data.json">
                    {td_string!(locale, export_data)}
                </a>
            </section>
            <section class="panel danger" id="delete">
                <h2>{td_string!(locale, delete_title)}</h2>
                <p>{td_string!(locale, delete_body)}</p>
                <form class="stack" method="post" action=DeleteAccount::PATH>
                    <input type="hidden" name="slug" value=slug.clone() />
                    <label class="check">
                        <input type="checkbox" name="confirm" required />
                        <span>{td_string!(locale, delete_confirm)}</span>
                    </label>
                    <button class="button danger" type="submit">{td_string!(locale, delete_submit)}</button>
                </form>
            </section>
        </Page>
    }
}
