//! `/r/{brand}/invite`: the member's referral link and QR, what it gives,
//! and how many friends joined through it. Thin over `loyalty::marketing::referrals`.

use crate::error::AppError;
use serde::{Deserialize, Serialize};

use crate::functions::members::BrandInfo;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitePage {
    pub brand: BrandInfo,
    /// The full link to share: `https://…/r/{brand}/invite/{code}`.
    pub link: String,
    pub code: String,
    /// The link as an inline SVG QR code.
    pub qr_svg: String,
    pub referrer_points: i64,
    pub friend_points: i64,
    /// The friend's coupon, in the brand's words.
    pub friend_coupon: Option<String>,
    pub joined: i64,
    pub rewarded: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InviteLoad {
    NoBrand,
    SignedOut,
    Invite(Box<InvitePage>),
}

pub async fn load_invite(slug: String) -> Result<InviteLoad, AppError> {
    use crate::server::{current_member, find_brand, portal_state, qr_svg, see_other};

    let state = portal_state()?;
    let Some(brand) = find_brand(&state.db, &slug).await? else {
        return Ok(InviteLoad::NoBrand);
    };
    let Some(member) = current_member(&state, brand.id).await? else {
        see_other(&format!("/r/{0}/join?next=/r/{0}/invite", brand.slug));
        return Ok(InviteLoad::SignedOut);
    };
    let code = loyalty::marketing::referrals::code_for(&state.db, brand.id, member).await?;
    let link = format!(
        "{}/r/{}/invite/{code}",
        state.public_url.trim_end_matches('/'),
        brand.slug
    );
    let mut conn = crate::server::connection(&state).await?;
    let reward = loyalty::marketing::referrals::reward(&mut conn, brand.id).await?;
    // A coupon that could not be given now (paused, ended, out of stock)
    // is not promised.
    let now = loyalty::Clock::now_ms(&loyalty::SystemClock);
    let friend_coupon = match reward.friend_coupon {
        Some(t) => {
            let t = loyalty::coupons::template(&mut conn, brand.id, t).await?;
            let offered = t.active
                && t.ends_at.is_none_or(|end| now < end)
                && t.stock_total.is_none_or(|total| t.stock_issued < total);
            offered.then(|| {
                crate::coupon_text::title(crate::locale::to_locale(brand.default_language), &t.rule)
            })
        }
        None => None,
    };
    drop(conn);
    let (joined, rewarded) =
        loyalty::marketing::referrals::stats(&state.db, brand.id, member).await?;
    Ok(InviteLoad::Invite(Box::new(InvitePage {
        brand: BrandInfo::from(&brand),
        qr_svg: qr_svg(&link),
        link,
        code,
        referrer_points: reward.referrer_points,
        friend_points: reward.friend_points,
        friend_coupon,
        joined,
        rewarded,
    })))
}
