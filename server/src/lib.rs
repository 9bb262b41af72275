#![recursion_limit = "256"]
//! The pieces of the `tablecard` binary that tests drive directly.

pub mod api;
pub mod backups;
pub mod client_ip;
pub mod compress;
pub mod config;
pub mod http;
pub mod memory;
pub mod metrics;
pub mod sms;
