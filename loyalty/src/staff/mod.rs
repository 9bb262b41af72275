//! Staff accounts. Passwords are hashed with argon2id using the crate's
//! defaults, which are OWASP's current minimum (19 MiB, 2 passes, 1 lane).

pub mod accounts;
pub mod audit;
pub mod sessions;
pub mod till;

use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordHash, PasswordVerifier};
use serde::{Deserialize, Serialize};

use crate::brands::{check_name, BrandId};
use crate::error::{violation, Invalid, Violation};
use sqlx::AnyConnection;

use crate::{Clock, Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StaffId(pub i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Owner,
    Manager,
    Cashier,
}

impl Role {
    /// A role as a form names it.
    pub fn parse(s: &str) -> Result<Role> {
        match s {
            "owner" => Ok(Role::Owner),
            "manager" => Ok(Role::Manager),
            "cashier" => Ok(Role::Cashier),
            _ => Err(Error::invalid("role", Invalid::Format)),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Manager => "manager",
            Role::Cashier => "cashier",
        }
    }
}

/// A login is 3–40 of `a-z 0-9 . _ -` (lowercased), what staff type on a till.
pub fn check_login(login: &str) -> Result<String> {
    let login = login.trim().to_ascii_lowercase();
    if login.len() < 3 {
        return Err(Error::invalid("login", Invalid::TooShort { min: 3 }));
    }
    if login.len() > 40 {
        return Err(Error::invalid("login", Invalid::TooLong { max: 40 }));
    }
    if !login
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(Error::invalid("login", Invalid::Characters));
    }
    Ok(login)
}

/// Long enough to resist guessing, short enough to type: 10–128 characters.
pub fn check_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < 10 {
        return Err(Error::invalid("password", Invalid::TooShort { min: 10 }));
    }
    if n > 128 {
        return Err(Error::invalid("password", Invalid::TooLong { max: 128 }));
    }
    Ok(())
}

pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| Error::PasswordHash)
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A readable random password for generated accounts (the demo owner).
pub fn generate_password() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..16)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staff {
    pub id: StaffId,
    pub brand_id: BrandId,
    pub login: String,
    pub role: Role,
    pub display_name: String,
}

/// Creates a staff account of `role` in `brand`.
pub async fn create(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    brand: BrandId,
    role: Role,
    login: &str,
    display_name: &str,
    password: &str,
) -> Result<Staff> {
    let login = check_login(login)?;
    check_password(password)?;
    let display_name = check_name("staff_name", display_name, 40)?;
    let hash = hash_password(password)?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO staff (brand_id, login, password_hash, role, display_name, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(brand.0)
    .bind(&login)
    .bind(&hash)
    .bind(role.as_str())
    .bind(&display_name)
    .bind(clock.now_ms())
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| match violation(&e) {
        Some(Violation::Unique) => Error::StaffLoginTaken,
        Some(Violation::ForeignKey) => Error::BrandNotFound,
        _ => e.into(),
    })?;
    Ok(Staff {
        id: StaffId(id),
        brand_id: brand,
        login,
        role,
        display_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse battery!", &hash));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn weak_passwords_and_odd_logins_are_refused() {
        assert!(check_password("short").is_err());
        assert!(check_password("long enough pw").is_ok());
        assert_eq!(check_login(" Owner.Demo ").unwrap(), "owner.demo");
        assert!(check_login("ab").is_err());
        assert!(check_login("with space").is_err());
    }

    #[test]
    fn generated_passwords_pass_the_rules() {
        let p = generate_password();
        assert!(check_password(&p).is_ok());
        assert_ne!(p, generate_password());
    }
}
