//! Tablecard's core. Every business rule and every SQL statement lives here;
//! the web app and the POS API are thin edges over these functions.
//!
//! Every operation below a brand takes the acting brand as an argument, so a
//! query that forgets the tenant does not compile.

pub mod access;
pub mod brands;
pub mod coupons;
pub mod error;
pub mod feedback;
pub mod infra;
pub mod marketing;
pub mod members;
pub mod money;
pub mod points;
pub mod staff;
pub mod stored_value;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{Error, Result};
pub use infra::clock::{Clock, FixedClock, SystemClock};
pub use infra::db::{Backend, ConnectError, Db};
pub use infra::secret::ServerSecret;
