//! The rotating member code on the card (动态会员码): eight digits of member
//! number and six digits of HMAC over the member and the current 60-second
//! window. A cashier's scan is accepted for the current window ±1 (clock
//! skew and a slow queue) and never after, so a photo of the card is useless
//! two minutes later.

use hmac::Mac;
use serde::{Deserialize, Serialize};

use crate::brands::BrandId;
use crate::infra::secret::ServerSecret;
use crate::members::{self, Member, MemberId, MemberNo};
use crate::{Clock, Error, Result};
use sqlx::AnyConnection;

pub const WINDOW_MS: i64 = 60_000;
const CODE_LEN: usize = 14;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberCode {
    pub digits: String,
    /// When this code stops being the current one (Unix ms).
    pub valid_until: i64,
}

impl MemberCode {
    /// Grouped in fours for reading aloud: `1234 5678 9012 34`.
    pub fn grouped(&self) -> String {
        let mut out = String::with_capacity(self.digits.len() + 4);
        for (i, c) in self.digits.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push(' ');
            }
            out.push(c);
        }
        out
    }
}

fn window_mac(key: &[u8; 32], brand: BrandId, member: MemberId, window: i64) -> String {
    let message = format!("card:{}:{}:{window}", brand.0, member.0);
    let tag = ServerSecret::mac(key, message.as_bytes())
        .finalize()
        .into_bytes();
    // RFC 4226 dynamic truncation, to six decimal digits.
    let offset = (tag[tag.len() - 1] & 0x0f) as usize;
    let value = u32::from_be_bytes([
        tag[offset],
        tag[offset + 1],
        tag[offset + 2],
        tag[offset + 3],
    ]) & 0x7fff_ffff;
    format!("{:06}", value % 1_000_000)
}

/// The code the card shows now.
pub fn current(
    secret: &ServerSecret,
    clock: &dyn Clock,
    brand: BrandId,
    member: MemberId,
    member_no: &MemberNo,
) -> MemberCode {
    let now = clock.now_ms();
    let window = now.div_euclid(WINDOW_MS);
    MemberCode {
        digits: format!(
            "{}{}",
            member_no.as_str(),
            window_mac(&secret.current().card, brand, member, window)
        ),
        valid_until: (window + 1) * WINDOW_MS,
    }
}

/// Whether `input` has the shape of a rotating code (14 digits, spaces ok).
pub fn looks_like_code(input: &str) -> bool {
    let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    digits.len() == CODE_LEN && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The member a scanned code belongs to. A wrong, stale or foreign code is
/// `MemberNotFound`, saying nothing about which part was wrong.
pub async fn resolve(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    secret: &ServerSecret,
    brand: BrandId,
    input: &str,
) -> Result<Member> {
    let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    if !looks_like_code(&digits) {
        return Err(Error::MemberNotFound);
    }
    let (number, mac) = digits.split_at(8);
    let number = MemberNo::parse(number).map_err(|_| Error::MemberNotFound)?;
    let member = members::find_by_no(conn, brand, &number).await?;
    let window = clock.now_ms().div_euclid(WINDOW_MS);
    let mut matched = false;
    // A card shown just before a key rotation still counts.
    let windows = [window - 1, window, window + 1];
    for (keys, w) in secret.generations().flat_map(|k| windows.map(|w| (k, w))) {
        let expected = window_mac(&keys.card, brand, member.id, w);
        // Constant time: the comparison must not reveal how many digits matched.
        matched |= expected
            .bytes()
            .zip(mac.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    }
    if matched {
        Ok(member)
    } else {
        Err(Error::MemberNotFound)
    }
}

/// A member who showed the card's current rotating code at a till: what
/// spending the stored balance needs. A member number or a phone copied off
/// a receipt names a member but cannot make one, so it cannot spend.
#[derive(Debug, Clone)]
pub struct CardShown(Member);

impl CardShown {
    pub fn member(&self) -> &Member {
        &self.0
    }
}

/// The member whose current rotating code `input` is. Anything that is not
/// the shape of a rotating code is `RotatingCodeRequired`; a wrong or stale
/// code is `MemberNotFound`, as in [`resolve`].
pub async fn shown(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    secret: &ServerSecret,
    brand: BrandId,
    input: &str,
) -> Result<CardShown> {
    if !looks_like_code(input) {
        return Err(Error::RotatingCodeRequired);
    }
    resolve(conn, clock, secret, brand, input)
        .await
        .map(CardShown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FixedClock;

    #[test]
    fn the_code_changes_every_window_and_groups_for_reading() {
        let secret = ServerSecret::from_master(b"k");
        let clock = FixedClock::at(10 * WINDOW_MS + 5);
        let no = MemberNo::parse("12345678").unwrap();
        let a = current(&secret, &clock, BrandId(1), MemberId(7), &no);
        assert_eq!(a.digits.len(), 14);
        assert!(a.digits.starts_with("12345678"));
        assert_eq!(a.valid_until, 11 * WINDOW_MS);
        assert_eq!(a.grouped().len(), 17);
        clock.advance_ms(WINDOW_MS);
        let b = current(&secret, &clock, BrandId(1), MemberId(7), &no);
        assert_ne!(a.digits, b.digits);
        // Another brand's member with the same number gets another code.
        let c = current(&secret, &clock, BrandId(2), MemberId(7), &no);
        assert_ne!(b.digits, c.digits);
    }

    #[test]
    fn only_fourteen_digits_look_like_a_code() {
        assert!(looks_like_code("1234 5678 9012 34"));
        assert!(!looks_like_code("12345678"));
        assert!(!looks_like_code("1234567890123a"));
    }
}
