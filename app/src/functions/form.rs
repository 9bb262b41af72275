//! The one shell of a console form's post, and the one of a member's. A server function names the role
//! it needs by the capability its work takes; the shell makes that
//! capability from the signed-in staff member's session (or sends them to
//! sign in, or answers 403), runs the work, and ends the post with a 303: to
//! where the work says, or back to the form with what refused it.

use loyalty::access::{Cashier, Manager, Member, Owner};

use crate::error::AppError;
use crate::server::{
    current_staff, find_brand, portal_state, see_other, see_other_with, signed_in_member,
    PortalState,
};

/// What a console form may need: made from any signed-in staff member's
/// capability by the core's own checks, or not at all.
pub trait Role: Sized {
    fn from_staff(staff: Cashier) -> Option<Self>;
}

impl Role for Cashier {
    fn from_staff(staff: Cashier) -> Option<Self> {
        Some(staff)
    }
}

impl Role for Manager {
    fn from_staff(staff: Cashier) -> Option<Self> {
        staff.manager()
    }
}

impl Role for Owner {
    fn from_staff(staff: Cashier) -> Option<Self> {
        staff.manager()?.owner()
    }
}

/// Runs a console form's `work` with the caller's capability for role `R`
/// and ends the post: a 303 to the address the work returns, or to `back`
/// with the refusal's code for its notice. Signed out, the browser goes to
/// sign in and then back to `back`; the wrong role gets a 403. Only a
/// failure of ours (500, or 503 with the database away) is an error here.
pub async fn staff_form<R: Role>(
    back: &str,
    work: impl AsyncFnOnce(&PortalState, R) -> Result<String, AppError>,
) -> Result<(), AppError> {
    let state = portal_state()?;
    let Some(staff) = current_staff(&state).await? else {
        let here = back.split(['?', '#']).next().unwrap_or(back);
        see_other(&format!("/admin?next={}", super::admin::urlencode(here)));
        return Ok(());
    };
    let Some(capability) = R::from_staff(staff) else {
        crate::server::set_status(http::StatusCode::FORBIDDEN);
        return Ok(());
    };
    end(back, work(&state, capability).await)
}

/// Runs a member's form `work` on the brand `slug` as the member signed in
/// to it, and ends the post: a 303 to the address the work returns, or back
/// to the member's `page` (`card`, `me`, `coupons` …, given to the work as
/// its address) with the refusal's code. An unknown brand goes home; signed
/// out, the browser goes to the join form and then back to `page`.
pub async fn member_form(
    slug: &str,
    page: &str,
    work: impl AsyncFnOnce(&PortalState, Member, &str) -> Result<String, AppError>,
) -> Result<(), AppError> {
    let state = portal_state()?;
    let Some(brand) = find_brand(&state.db, slug).await? else {
        see_other("/");
        return Ok(());
    };
    let back = format!("/r/{}/{page}", brand.slug);
    let join = super::members::edge::join_url(&brand, "", Some(&back));
    let Some(member) = signed_in_member(&state, brand).await? else {
        see_other(&join);
        return Ok(());
    };
    end(&back, work(&state, member, &back).await)
}

/// Ends a form's post: a 303 to where the work said, or back to the form
/// with the refusal (a failure of ours stays an error).
fn end(back: &str, done: Result<String, AppError>) -> Result<(), AppError> {
    match done {
        Ok(to) => see_other(&to),
        Err(e) => see_other_with(back, e)?,
    }
    Ok(())
}
