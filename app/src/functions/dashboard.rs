//! `/admin/dashboard` (owners and managers): the brand at a glance.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::functions::admin::{StaffInfo, StaffLoad};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentFeedback {
    pub id: i64,
    pub day: String,
    pub nps: i64,
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardPage {
    pub staff: StaffInfo,
    pub members: i64,
    pub new_this_week: i64,
    pub active_30: i64,
    pub active_90: i64,
    pub points_outstanding: i64,
    pub liability_fen: i64,
    pub coupons_issued: i64,
    pub coupons_redeemed: i64,
    pub sales_fen: i64,
    pub nps: Option<i64>,
    pub nps_answers: i64,
    /// (date, new members, sales fen), oldest first.
    pub days: Vec<(String, i64, i64)>,
    pub feedback: Vec<RecentFeedback>,
    /// For an owner: managers' adjustments waiting for approval, and this
    /// month's points adjusted by hand, per staff member.
    pub approvals: Vec<loyalty::points::adjustments::Request>,
    pub hand_points: Vec<loyalty::points::adjustments::ByStaff>,
    pub time_zone: String,
    /// Sign-in codes the brand sent in the last 24 hours, and its budget.
    pub codes_sent: i64,
    pub code_budget: i64,
}

pub async fn load_dashboard() -> Result<StaffLoad<DashboardPage>, AppError> {
    use crate::functions::admin::edge::manager;
    use crate::server::portal_state;

    let state = portal_state()?;
    let (session, brand, info) = match manager(&state, "/admin/dashboard").await? {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let s = loyalty::marketing::dashboard::summary(
        &state.db,
        &loyalty::SystemClock,
        &brand,
        session.scope(),
    )
    .await?;
    let (approvals, hand_points) = match session.clone().owner() {
        Some(owner) => {
            use loyalty::points::adjustments;
            let clock = &loyalty::SystemClock;
            let approvals = adjustments::pending(&state.db, &owner).await?;
            (
                approvals,
                adjustments::this_month(&state.db, clock, &owner).await?,
            )
        }
        None => (Vec::new(), Vec::new()),
    };
    let clock = &loyalty::SystemClock;
    let (codes_sent, code_budget) =
        loyalty::members::otp::budget_used(&state.db, clock, &state.otp, brand.id).await?;
    let filter = loyalty::feedback::InboxFilter::default();
    let feedback = loyalty::feedback::inbox(&state.db, &session, &filter)
        .await?
        .into_iter()
        .take(5)
        .map(|f| RecentFeedback {
            id: f.id.0,
            day: f.day,
            nps: f.nps,
            comment: f.comment,
        })
        .collect();
    Ok(StaffLoad::Page(Box::new(DashboardPage {
        staff: info,
        members: s.members,
        new_this_week: s.new_this_week,
        active_30: s.active_30,
        active_90: s.active_90,
        points_outstanding: s.points_outstanding,
        liability_fen: s.liability_fen,
        coupons_issued: s.coupons_issued,
        coupons_redeemed: s.coupons_redeemed,
        sales_fen: s.sales_fen,
        nps: s.nps_month.score(),
        nps_answers: s.nps_month.total(),
        days: s.days,
        feedback,
        approvals,
        hand_points,
        time_zone: brand.time_zone.clone(),
        codes_sent,
        code_budget,
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
