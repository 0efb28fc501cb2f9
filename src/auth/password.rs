//! argon2id password hashing with OWASP's parameters (19 MiB, 2 iterations, 1 lane), run on the
//! blocking pool so the async runtime keeps serving.

use std::sync::LazyLock;

use anyhow::{Result, anyhow};
use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::{SaltString, rand_core::OsRng},
};

pub const MIN_LENGTH: usize = 12;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_blocking(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow!("argon2: {e}"))
}

pub async fn hash(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await?
}

/// Verifies `password` against `stored`; with no stored hash (unknown user) it verifies against a
/// dummy hash so the answer takes as long either way.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let (hash, real) = match &stored {
            Some(h) => (h.as_str(), true),
            None => (DUMMY_HASH.as_str(), false),
        };
        let parsed = PasswordHash::new(hash).map_err(|e| anyhow!("stored hash: {e}"))?;
        let ok = argon2().verify_password(password.as_bytes(), &parsed).is_ok();
        Ok(ok && real)
    })
    .await?
}

static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_blocking("dummy password for timing").expect("argon2 hashing works"));

/// Swedish message for a password that is too weak, or `None` if acceptable.
pub fn check_new(password: &str, repeat: &str) -> Option<&'static str> {
    if password.chars().count() < MIN_LENGTH {
        Some("Lösenordet måste ha minst 12 tecken.")
    } else if password != repeat {
        Some("Lösenorden är inte lika.")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = hash_blocking("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let parsed = PasswordHash::new(&h).unwrap();
        assert!(argon2().verify_password(b"correct horse battery", &parsed).is_ok());
        assert!(argon2().verify_password(b"wrong", &parsed).is_err());
    }

    #[test]
    fn new_password_rules() {
        assert!(check_new("short", "short").is_some());
        assert!(check_new("long enough pw", "other").is_some());
        assert!(check_new("long enough pw", "long enough pw").is_none());
    }
}
