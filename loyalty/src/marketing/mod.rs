//! Bringing members back: automation, the RFM insight, referrals, message
//! delivery, the console's member roster and campaigns, the dashboard.

pub mod automation;
pub mod dashboard;
pub mod delivery;
pub mod insight;
pub mod referrals;
pub mod roster;
