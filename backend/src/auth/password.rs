//! argon2id password hashing, always off the async threads, and never more
//! than [`HASHES_AT_ONCE`] at a time: each hash takes 19 MiB, so a burst of
//! sign-ins (or of failed ones) must queue instead of growing berth by
//! 19 MiB a request. A full queue answers 429.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Semaphore;

use crate::error::{AppError, AppResult};

/// Hashes (19 MiB of memory each) computed at once; the rest wait.
pub const HASHES_AT_ONCE: usize = 2;
/// Requests waiting for a hash beyond which the next is refused with 429.
pub const HASHES_WAITING: usize = 64;

/// The gate every password hash and check goes through (one per app).
pub struct Hashing {
    gate: Semaphore,
    waiting: AtomicUsize,
}

impl Default for Hashing {
    fn default() -> Self {
        Hashing {
            gate: Semaphore::new(HASHES_AT_ONCE),
            waiting: AtomicUsize::new(0),
        }
    }
}

/// One place in the queue, given back however the wait ends (a client
/// that goes away drops it).
struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Hashing {
    /// argon2id of a new password.
    pub async fn hash(&self, password: String) -> AppResult<String> {
        self.run(move || hash_now(&password)).await
    }

    /// Checks `password` against `hash`; see [`verify_now`].
    pub async fn verify(&self, password: String, hash: Option<String>) -> AppResult<bool> {
        self.run(move || verify_now(&password, hash)).await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= HASHES_WAITING {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(AppError::TooManyRequests {
                message: "too many sign-ins at once; try again in a moment".into(),
                retry_after_secs: 2,
            });
        }
        let queued = Queued(&self.waiting);
        let permit = self
            .gate
            .acquire()
            .await
            .map_err(|e| AppError::internal(format!("the hashing gate closed: {e}")))?;
        drop(queued);
        let out = tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| AppError::internal(format!("password hashing task failed: {e}")))?;
        drop(permit);
        out
    }
}

pub const MIN_PASSWORD_LEN: usize = 8;
pub const MAX_PASSWORD_LEN: usize = 256;

/// A password berth accepts for a new or changed account.
pub fn check_new_password(password: &str) -> AppResult<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(AppError::BadRequest(format!(
            "the password must have at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    if n > MAX_PASSWORD_LEN {
        return Err(AppError::BadRequest(format!(
            "the password must have at most {MAX_PASSWORD_LEN} characters"
        )));
    }
    Ok(())
}

/// A username: 1-64 characters of letters, digits, `.`, `_`, `-`, `@`.
pub fn check_username(username: &str) -> AppResult<()> {
    let ok_chars = username
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if username.is_empty() || username.chars().count() > 64 || !ok_chars {
        return Err(AppError::BadRequest(
            "the username must be 1 to 64 letters, digits, '.', '_', '-' or '@'".into(),
        ));
    }
    Ok(())
}

fn hash_now(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(format!("password hashing failed: {e}")))
}

/// Checks `password` against `hash`. With no hash (unknown user) the work is
/// still done against a fixed hash, so timing does not reveal which usernames exist.
fn verify_now(password: &str, hash: Option<String>) -> AppResult<bool> {
    let known = hash.is_some();
    let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_string());
    let parsed = PasswordHash::new(&hash)
        .map_err(|e| AppError::internal(format!("a stored password hash is malformed: {e}")))?;
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    Ok(known && matches)
}

/// argon2id of a random string nobody knows, with the default parameters.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$X6XIWTjzWkUpGLq7eHfF3ySGbKpLM3bDaJjZ1CLV2Ns";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() {
        let h = Hashing::default();
        let hash = h.hash("correct horse".into()).await.expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(h
            .verify("correct horse".into(), Some(hash.clone()))
            .await
            .expect("verify"));
        assert!(!h
            .verify("wrong horse".into(), Some(hash))
            .await
            .expect("verify"));
        assert!(!h.verify("anything".into(), None).await.expect("verify"));
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_and_the_gate_holds_two() {
        let h = std::sync::Arc::new(Hashing::default());
        // Fill the queue without running anything: take both permits.
        let held = h
            .gate
            .acquire_many(HASHES_AT_ONCE as u32)
            .await
            .expect("permits");
        let mut waiting = Vec::new();
        for _ in 0..HASHES_WAITING {
            let h = h.clone();
            waiting.push(tokio::spawn(
                async move { h.verify("x".into(), None).await },
            ));
        }
        while h.waiting.load(Ordering::Acquire) < HASHES_WAITING {
            tokio::task::yield_now().await;
        }
        match h.verify("one more".into(), None).await {
            Err(AppError::TooManyRequests {
                retry_after_secs, ..
            }) => assert!(retry_after_secs > 0),
            other => panic!("expected 429, got {other:?}"),
        }
        // Clients that go away give their place back.
        for w in &waiting {
            w.abort();
        }
        for w in waiting {
            assert!(w.await.is_err_and(|e| e.is_cancelled()));
        }
        assert_eq!(h.waiting.load(Ordering::Acquire), 0);
        drop(held);
        assert!(!h.verify("after".into(), None).await.expect("verified"));
        assert_eq!(h.gate.available_permits(), HASHES_AT_ONCE);
    }

    #[test]
    fn weak_passwords_and_odd_usernames_are_refused() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough").is_ok());
        assert!(check_username("alice.smith").is_ok());
        assert!(check_username("").is_err());
        assert!(check_username("bob; rm -rf").is_err());
    }
}
