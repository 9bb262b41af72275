//! The core's tests against real databases: SQLite always, PostgreSQL when its URL is set.
//! One test binary instead of one per file: each extra binary links the whole
//! dependency tree again, which costs minutes and gigabytes on a small machine.

mod automation;
mod brand_setup;
mod copy;
mod coupons;
mod dashboard;
mod feedback;
mod idempotency;
mod import;
mod insight;
mod ledger_properties;
mod members;
mod messages;
mod migrations;
mod points;
mod rate_limits;
mod referrals;
mod roster;
mod schema_parity;
mod staff;
mod stored_value;
mod tenancy;
mod till;
