//! Tablecard's core. Every business rule and every SQL statement lives here;
//! the web app and the POS API are thin edges over these functions.
//!
//! Every operation below a brand takes the acting brand as an argument, so a
//! query that forgets the tenant does not compile.

pub mod access;
pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod automation;
pub mod backup;
pub mod brand_setup;
pub mod brands;
pub mod checkin;
pub mod clock;
pub mod coupon_setup;
pub mod coupons;
pub mod dashboard;
pub mod db;
pub mod delivery;
pub mod demo;
pub mod error;
pub mod feedback;
pub mod forms;
pub mod idempotency;
pub mod insight;
pub mod jobs;
pub mod member_code;
pub mod members;
pub mod money;
pub mod otp;
pub mod phone;
pub mod points;
pub mod rate_limits;
pub mod referrals;
pub mod roster;
pub mod rules;
pub mod secret;
pub mod sessions;
pub mod setup;
pub mod staff;
pub mod staff_sessions;
pub mod stores;
pub mod tables;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tiers;
pub mod till;

pub use clock::{Clock, FixedClock, SystemClock};
pub use db::{Backend, ConnectError, Db};
pub use error::{Error, Result};
pub use secret::ServerSecret;
