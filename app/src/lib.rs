//! Tablecard's pages. Built in islands mode: every component renders on the
//! server, and only `#[island]` components ship to the phone as WebAssembly.
#![recursion_limit = "256"]

include!(concat!(env!("OUT_DIR"), "/i18n/mod.rs"));

pub mod components;
pub mod error;
pub mod functions;
pub mod locale;
pub mod routes;
#[cfg(feature = "ssr")]
pub mod server;
mod shell;

pub use shell::{shell, App};
