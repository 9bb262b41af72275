//! The plumbing under the rules: the database, the clock, scheduled jobs,
//! idempotency, backups, rate limits, secrets, form keys and the demo.

pub mod backup;
pub mod clock;
pub mod copy;
pub mod db;
pub mod demo;
pub mod forms;
pub mod idempotency;
pub mod jobs;
pub mod rate_limits;
pub mod secret;
mod writer;
