//! The server's tests: HTTP through the real router, the CLI, the SMS bridge
//! and crash safety.
//! One test binary instead of one per file: each extra binary links the whole
//! dependency tree again, which costs minutes and gigabytes on a small machine.

#[macro_use]
extern crate test_macros;

mod common;

mod accounts;
mod admin;
mod api;
mod automation;
mod backups;
mod brand;
mod cli;
mod coupons;
mod crash;
mod feedback;
mod hostile;
mod http;
mod import;
mod limits;
mod members;
mod metrics;
mod offers;
mod outage;
mod permissions;
mod proxy;
mod readme;
mod roster;
mod rotation;
mod segments;
mod setup;
mod sms;
mod stored_value;
mod sweep;
mod till;
mod webhook;
