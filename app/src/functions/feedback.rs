//! The diner's feedback form, the thank-you page and "my feedback" with the
//! restaurant's replies.
// A form's server function takes one argument per field.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::functions::members::BrandInfo;
use crate::functions::portal::TableVisit;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormPage {
    pub brand: BrandInfo,
    pub signed_in: bool,
    /// The table the diner scanned, which names the store.
    pub visit: Option<TableVisit>,
    /// The brand's stores, for a member who did not come through a table.
    pub stores: Vec<(i64, String)>,
    /// Today in the brand's calendar: the latest visit date.
    pub today: String,
    /// Points a feedback with a comment earns a member today.
    pub reward_points: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FormLoad {
    NoBrand,
    /// Neither a member nor at a table: sent to join first.
    SignedOut,
    Form(Box<FormPage>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackView {
    pub id: i64,
    pub day: String,
    pub store: Option<String>,
    pub nps: i64,
    pub stars: [Option<i64>; 3],
    pub comment: String,
    pub reward_points: i64,
    pub reply: Option<String>,
    pub reply_day: Option<String>,
    /// A reply the member had not seen before this page.
    pub new_reply: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinePage {
    pub brand: BrandInfo,
    pub items: Vec<FeedbackView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MineLoad {
    NoBrand,
    SignedOut,
    Mine(Box<MinePage>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThanksPage {
    pub brand: BrandInfo,
    pub signed_in: bool,
}

#[cfg(feature = "ssr")]
fn table_visit(
    state: &crate::server::PortalState,
    brand: loyalty::brands::BrandId,
) -> Option<loyalty::brands::tables::TableId> {
    match crate::server::visit_from_request(state) {
        Some((b, table)) if b == brand.0 => Some(loyalty::brands::tables::TableId(table)),
        _ => None,
    }
}

pub async fn load_feedback_form(slug: String) -> Result<FormLoad, AppError> {
    use crate::server::{current_member, find_brand, portal_state, see_other};

    let state = portal_state()?;
    let Some(brand) = find_brand(&state.db, &slug).await? else {
        return Ok(FormLoad::NoBrand);
    };
    let member = current_member(&state, brand.id).await?;
    let table = table_visit(&state, brand.id);
    let visit = match table {
        Some(t) => loyalty::brands::tables::find_in_brand(&state.db, brand.id, t)
            .await
            .ok()
            .map(|v| TableVisit {
                store_name: v.store_name,
                table_label: v.table_label,
            }),
        None => None,
    };
    if member.is_none() && visit.is_none() {
        see_other(&format!("/r/{0}/join?next=/r/{0}/feedback", brand.slug));
        return Ok(FormLoad::SignedOut);
    }
    let stores = loyalty::brands::stores::list(&state.db, brand.id)
        .await?
        .into_iter()
        .map(|s| (s.id.0, s.name))
        .collect();
    let mut conn = crate::server::connection(&state).await?;
    let rule = loyalty::feedback::reward_rule(&mut conn, brand.id).await?;
    drop(conn);
    Ok(FormLoad::Form(Box::new(FormPage {
        today: loyalty::points::rules::local_date(
            &brand.time_zone,
            loyalty::Clock::now_ms(&loyalty::SystemClock),
        ),
        brand: BrandInfo::from(&brand),
        signed_in: member.is_some(),
        visit,
        stores,
        reward_points: rule.points,
    })))
}

/// The form's post. Every refusal goes back to the form with the reason;
/// success goes to the thank-you page with the reward.
#[server(prefix = "/fn", endpoint = "send_feedback")]
pub async fn send_feedback(
    slug: String,
    #[server(flatten)] form: loyalty::feedback::FeedbackForm,
) -> Result<(), AppError> {
    use crate::server::{client_ip, current_member, find_brand, portal_state, request_parts};
    use crate::server::{see_other, see_other_with};

    let state = portal_state()?;
    let Some(brand) = find_brand(&state.db, &slug).await? else {
        see_other("/");
        return Ok(());
    };
    let back = format!("/r/{}/feedback", brand.slug);
    // A member, or a guest at a table: anyone else joins first.
    let (member, table) = (
        current_member(&state, brand.id).await?,
        table_visit(&state, brand.id),
    );
    if member.is_none() && table.is_none() {
        see_other(&format!("/r/{}/join?next={back}", brand.slug));
        return Ok(());
    }
    let client = client_ip(&request_parts()?);
    let send = async || {
        let submission = form.submission(member, table, client)?;
        loyalty::feedback::send(&state.db, &loyalty::SystemClock, &brand, submission).await
    };
    match send().await {
        Ok(sent) => {
            let coupon = if sent.reward_coupon.is_some() {
                "&coupon=1"
            } else {
                ""
            };
            see_other(&format!(
                "{back}/thanks?points={}{coupon}",
                sent.reward_points
            ));
        }
        Err(e) => see_other_with(&back, e)?,
    }
    Ok(())
}

pub async fn load_thanks(slug: String) -> Result<Option<ThanksPage>, AppError> {
    use crate::server::{current_member, find_brand, portal_state};

    let state = portal_state()?;
    let Some(brand) = find_brand(&state.db, &slug).await? else {
        return Ok(None);
    };
    let signed_in = current_member(&state, brand.id).await?.is_some();
    Ok(Some(ThanksPage {
        brand: BrandInfo::from(&brand),
        signed_in,
    }))
}

/// The member's feedback and the replies; opening it marks the replies read.
pub async fn load_my_feedback(slug: String) -> Result<MineLoad, AppError> {
    use crate::server::{find_brand, portal_state, see_other, signed_in_member};
    use loyalty::feedback;

    let state = portal_state()?;
    let Some(brand) = find_brand(&state.db, &slug).await? else {
        return Ok(MineLoad::NoBrand);
    };
    let Some(member) = signed_in_member(&state, brand.clone()).await? else {
        see_other(&format!(
            "/r/{0}/join?next=/r/{0}/feedback/mine",
            brand.slug
        ));
        return Ok(MineLoad::SignedOut);
    };
    let items = feedback::mine(&state.db, brand.id, member.id()).await?;
    feedback::mark_replies_seen(&state.db, &loyalty::SystemClock, &member).await?;
    let day = |ms: i64| loyalty::points::rules::local_date(&brand.time_zone, ms);
    Ok(MineLoad::Mine(Box::new(MinePage {
        brand: BrandInfo::from(&brand),
        items: items
            .into_iter()
            .map(|f| FeedbackView {
                id: f.id.0,
                new_reply: f.reply.is_some() && !f.reply_seen,
                day: f.day,
                store: f.store,
                nps: f.nps,
                stars: [f.stars.food, f.stars.service, f.stars.ambience],
                comment: f.comment,
                reward_points: f.reward_points,
                reply_day: f.replied_at.map(day),
                reply: f.reply,
            })
            .collect(),
    })))
}
