//! Tablecard's pages. Built in islands mode: every component renders on the
//! server, and only `#[island]` components ship to the phone as WebAssembly.
#![recursion_limit = "256"]

include!(concat!(env!("OUT_DIR"), "/i18n/mod.rs"));

pub mod components;
pub mod locale;

// Everything below renders or runs on the server only: the WebAssembly a
// phone downloads holds the islands, the language tables and nothing else.
#[cfg(feature = "ssr")]
pub mod coupon_text;
#[cfg(feature = "ssr")]
pub mod error;
#[cfg(feature = "ssr")]
pub mod functions;
#[cfg(feature = "ssr")]
pub mod routes;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
mod shell;

#[cfg(feature = "ssr")]
pub use shell::{shell, App};
