//! The owner's messages page (`/admin/messages`): the provider templates
//! for each message and language with their previews, the sending hours,
//! the daily caps and the price, and today's sends, failures and cost.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::functions::admin::{StaffInfo, StaffLoad};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagesPage {
    pub staff: StaffInfo,
    pub time_zone: String,
    pub signature: String,
    pub screen: loyalty::marketing::messages::Screen,
}

pub async fn load_messages() -> Result<StaffLoad<MessagesPage>, AppError> {
    let state = crate::server::portal_state()?;
    let (owner, _, staff) = match crate::functions::admin::owner(&state, "/admin/messages").await? {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let clock = &loyalty::SystemClock;
    let ceiling = state.otp.per_brand_per_day;
    let screen = loyalty::marketing::messages::screen(&state.db, clock, &owner, ceiling).await?;
    Ok(StaffLoad::Page(Box::new(MessagesPage {
        staff,
        time_zone: owner.brand().time_zone.clone(),
        signature: owner.brand().signature().to_owned(),
        screen,
    })))
}

/// Saves the provider template for one message and language.
#[server(prefix = "/fn", endpoint = "save_sms_template")]
pub async fn save_sms_template(
    purpose: String,
    language: String,
    #[server(default)] code: String,
    body: String,
) -> Result<(), AppError> {
    use crate::functions::form::staff_form;
    use loyalty::marketing::templates::{self, TemplateForm};
    staff_form(
        "/admin/messages#templates",
        async |state, owner: loyalty::access::Owner| {
            let form = TemplateForm {
                purpose,
                language,
                code,
                body,
            };
            let id = templates::save(&state.db, &loyalty::SystemClock, &owner, form).await?;
            Ok(format!("/admin/messages?saved=1#template-{id}"))
        },
    )
    .await
}

#[server(prefix = "/fn", endpoint = "remove_sms_template")]
pub async fn remove_sms_template(id: i64) -> Result<(), AppError> {
    use crate::functions::form::staff_form;
    staff_form(
        "/admin/messages#templates",
        async |state, owner: loyalty::access::Owner| {
            loyalty::marketing::templates::remove(&state.db, &loyalty::SystemClock, &owner, id)
                .await?;
            Ok("/admin/messages?saved=1#templates".to_owned())
        },
    )
    .await
}

/// The sending hours (HH:MM), the daily caps and the price per 100 segments.
#[server(prefix = "/fn", endpoint = "save_sms_settings")]
pub async fn save_sms_settings(
    window_start: String,
    window_end: String,
    marketing_cap: String,
    #[server(default)] sign_in_cap: String,
    price_per_100: String,
) -> Result<(), AppError> {
    use crate::functions::form::staff_form;
    use loyalty::marketing::messages::{self, SettingsForm};
    staff_form(
        "/admin/messages#rules",
        async |state, owner: loyalty::access::Owner| {
            let form = SettingsForm {
                window_start,
                window_end,
                marketing_cap,
                sign_in_cap,
                price_per_100,
            };
            let settings = form.settings()?;
            messages::save_settings(&state.db, &loyalty::SystemClock, &owner, settings).await?;
            Ok("/admin/messages?saved=1#rules".to_owned())
        },
    )
    .await
}
