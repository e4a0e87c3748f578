//! argon2id password hashing and verification, off the async threads on a bounded pool.
//!
//! Parameters follow OWASP's password storage cheat sheet for argon2id: m = 19 MiB, t = 2,
//! p = 1. Verification reads the parameters from the stored PHC string, so older hashes keep
//! working when the parameters change.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use epp_proto::value::Password;
use registry_core::registrar::PasswordHash;
use tokio::sync::Semaphore;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password worker failed")]
    Worker,
}

fn argon2() -> Result<Argon2<'static>, PasswordError> {
    let params =
        Params::new(19 * 1024, 2, 1, None).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password with argon2id and a fresh random salt (blocking: ~20-50 ms of CPU).
pub fn hash_password(pw: &str) -> Result<PasswordHash, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    let phc = argon2()?
        .hash_password(pw.as_bytes(), &salt)
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    PasswordHash::new(&phc.to_string()).map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Verifies a password against a PHC string (blocking). A malformed hash never matches.
pub fn verify_password(hash: &PasswordHash, pw: &str) -> bool {
    let Ok(parsed) = argon2::password_hash::PasswordHash::new(hash.as_phc()) else {
        return false;
    };
    Argon2::default()
        .verify_password(pw.as_bytes(), &parsed)
        .is_ok()
}

/// Runs hashing and verification on tokio's blocking pool, at most `workers` at once, so a
/// login storm queues instead of taking every core and 19 MiB per attempt.
#[derive(Debug, Clone)]
pub struct PasswordPool {
    permits: Arc<Semaphore>,
    /// Verified against when the clID is unknown, so that the answer takes as long.
    dummy: PasswordHash,
}

impl PasswordPool {
    pub fn new(workers: usize) -> Result<Self, PasswordError> {
        let dummy = hash_password("not-a-password-of-anyone")?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(workers.max(1))),
            dummy,
        })
    }

    /// Verifies `pw` against `hash`, or against a dummy hash when there is none.
    pub async fn verify(
        &self,
        hash: Option<PasswordHash>,
        pw: &Password,
    ) -> Result<bool, PasswordError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| PasswordError::Worker)?;
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy.clone());
        let pw = pw.clone();
        let ok = tokio::task::spawn_blocking(move || verify_password(&hash, pw.expose()))
            .await
            .map_err(|_| PasswordError::Worker)?;
        Ok(ok && known)
    }

    /// Hashes a new password.
    pub async fn hash(&self, pw: &Password) -> Result<PasswordHash, PasswordError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| PasswordError::Worker)?;
        let pw = pw.clone();
        tokio::task::spawn_blocking(move || hash_password(pw.expose()))
            .await
            .map_err(|_| PasswordError::Worker)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash_password("s3cret-pw").expect("hash");
        assert!(h.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password(&h, "s3cret-pw"));
        assert!(!verify_password(&h, "s3cret-pW"));
    }

    #[tokio::test]
    async fn pool_never_accepts_without_a_hash() {
        let pool = PasswordPool::new(1).expect("pool");
        let pw = Password::new("abcdefgh").expect("pw");
        assert!(!pool.verify(None, &pw).await.expect("verify"));
    }
}
