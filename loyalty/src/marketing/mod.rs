//! Bringing members back: automation, the RFM insight, referrals, message
//! delivery, campaigns, the dashboard.

pub mod automation;
pub mod campaigns;
pub mod dashboard;
pub mod delivery;
pub mod insight;
pub mod messages;
pub mod referrals;
pub mod templates;
