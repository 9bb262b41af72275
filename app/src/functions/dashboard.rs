//! `/admin/dashboard` (owners and managers): the brand at a glance.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::functions::admin::{StaffInfo, StaffLoad};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardPage {
    pub staff: StaffInfo,
    pub screen: loyalty::marketing::dashboard::Screen,
    pub time_zone: String,
}

pub async fn load_dashboard() -> Result<StaffLoad<DashboardPage>, AppError> {
    use crate::functions::admin::edge::manager;
    let state = crate::server::portal_state()?;
    let (manager, brand, staff) = match manager(&state, "/admin/dashboard").await? {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let clock = &loyalty::SystemClock;
    let screen =
        loyalty::marketing::dashboard::screen(&state.db, clock, &manager, &state.otp).await?;
    Ok(StaffLoad::Page(Box::new(DashboardPage {
        staff,
        screen,
        time_zone: brand.time_zone.clone(),
    })))
}

/// An owner approves (`decision=approve`) or rejects a manager's adjustment
/// that went over the limits.
#[server(prefix = "/fn", endpoint = "decide_adjustment")]
pub async fn decide_adjustment(request: i64, decision: String) -> Result<(), AppError> {
    use loyalty::points::adjustments;
    let back = "/admin/dashboard";
    crate::functions::form::staff_form(back, async |state, owner: loyalty::access::Owner| {
        let approve = decision == "approve";
        adjustments::decide(&state.db, &loyalty::SystemClock, &owner, request, approve).await?;
        Ok(format!(
            "{back}?decided={}#approvals",
            if approve { "approved" } else { "rejected" }
        ))
    })
    .await
}

/// An owner approves (`decision=approve`) or rejects a manager's request to
/// erase a member who asked at the counter.
#[server(prefix = "/fn", endpoint = "decide_erasure")]
pub async fn decide_erasure(request: i64, decision: String) -> Result<(), AppError> {
    use loyalty::members::erasure;
    let back = "/admin/dashboard";
    crate::functions::form::staff_form(back, async |state, owner: loyalty::access::Owner| {
        let approve = decision == "approve";
        erasure::decide(&state.db, &loyalty::SystemClock, &owner, request, approve).await?;
        Ok(format!(
            "{back}?decided={}#erasures",
            if approve { "erased" } else { "kept" }
        ))
    })
    .await
}
