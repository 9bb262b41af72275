//! Server functions: thin edges that read the request's context, call one
//! `loyalty` function and hand back what a page shows.

pub mod accounts;
pub mod admin;
pub mod automation;
pub mod brand;
pub mod coupons;
pub mod dashboard;
pub mod feedback;
pub mod form;
pub mod invite;
pub mod member_import;
pub mod members;
pub mod messages_admin;
pub mod offers;
pub mod points;
pub mod portal;
pub mod roster;
pub mod segments;
pub mod setup;
pub mod stored_admin;
pub mod stored_value;
pub mod till;
