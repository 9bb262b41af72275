//! The server secret behind one-time code hashes and rotating member codes.
//! One master key (`TABLECARD_SECRET_KEY`) is expanded into a key per use, so
//! a leak of one derived key says nothing about the others.
//!
//! The master key can be rotated: previous keys
//! (`TABLECARD_SECRET_KEY_PREVIOUS`) are kept for verification only, so a
//! code sent, a card shown or a phone remembered under the old key still
//! counts while everything new is made with the current one.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// The keys derived from one master key.
#[derive(Clone)]
pub(crate) struct Keys {
    pub(crate) otp: [u8; 32],
    pub(crate) card: [u8; 32],
    pub(crate) phone: [u8; 32],
}

impl Keys {
    fn from_master(master: &[u8]) -> Keys {
        Keys {
            otp: derive(master, "tablecard/otp/v1"),
            card: derive(master, "tablecard/card/v1"),
            phone: derive(master, "tablecard/phone/v1"),
        }
    }
}

#[derive(Clone)]
pub struct ServerSecret {
    current: Keys,
    /// Keys of earlier master keys, newest first: they verify, never sign.
    previous: Vec<Keys>,
}

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecret(…)")
    }
}

fn derive(master: &[u8], label: &str) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(master).expect("HMAC takes any key length");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

impl ServerSecret {
    pub fn from_master(master: &[u8]) -> Self {
        ServerSecret {
            current: Keys::from_master(master),
            previous: Vec::new(),
        }
    }

    /// The same secret, also accepting what `masters` (earlier keys,
    /// newest first) made.
    pub fn with_previous<M: AsRef<[u8]>>(mut self, masters: &[M]) -> Self {
        self.previous = masters
            .iter()
            .map(|m| Keys::from_master(m.as_ref()))
            .collect();
        self
    }

    /// The keys everything new is made with.
    pub(crate) fn current(&self) -> &Keys {
        &self.current
    }

    /// Every key that may have made what is presented: the current one
    /// first, then the previous ones.
    pub(crate) fn generations(&self) -> impl Iterator<Item = &Keys> {
        std::iter::once(&self.current).chain(&self.previous)
    }

    /// A secret that lives as long as the process (development without a key).
    pub fn random() -> Self {
        let mut master = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut master);
        Self::from_master(&master)
    }

    pub(crate) fn mac(key: &[u8; 32], message: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(message);
        mac
    }
}

impl ServerSecret {
    /// A phone as a brand's pseudonymous key: HMAC-SHA256 of brand and
    /// number, 64 hex digits. Without the secret it names nobody.
    pub(crate) fn phone_key(&self, brand: crate::brands::BrandId, phone: &str) -> String {
        Self::phone_key_with(&self.current, brand, phone)
    }

    /// The phone's keys under the previous master keys, to find what was
    /// remembered before a rotation.
    pub(crate) fn previous_phone_keys(
        &self,
        brand: crate::brands::BrandId,
        phone: &str,
    ) -> Vec<String> {
        self.previous
            .iter()
            .map(|k| Self::phone_key_with(k, brand, phone))
            .collect()
    }

    fn phone_key_with(keys: &Keys, brand: crate::brands::BrandId, phone: &str) -> String {
        let message = format!("{}|{phone}", brand.0);
        hex(&Self::mac(&keys.phone, message.as_bytes())
            .finalize()
            .into_bytes())
    }
}

/// Lower-case hex (keyed hashes here; the SMS providers' digests and
/// signatures in the server).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
