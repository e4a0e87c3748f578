//! argon2id password hashing and verification, off the async threads on a small pool of
//! dedicated worker threads.
//!
//! Parameters follow OWASP's password storage cheat sheet for argon2id: m = 19 MiB, t = 2,
//! p = 1. Verification reads the parameters from the stored PHC string, so older hashes keep
//! working when the parameters change.
//!
//! Why dedicated threads with their own memory instead of `spawn_blocking`: every argon2
//! call needs m KiB of scratch memory. Allocated per call, glibc keeps the freed 19 MiB
//! blocks cached in the arena of whichever blocking thread ran it, so after a login storm
//! the process holds hundreds of MiB it never gives back. Each worker here owns one block
//! buffer, reused for every hash, so argon2's memory is `workers × m` for the life of the
//! process. The workers also run at a lower scheduling priority (nice +10): a storm of
//! logins then queues behind the session threads instead of delaying every other session's
//! commands, while an otherwise idle machine still gives the workers full cores.

use std::sync::{mpsc, Arc, Mutex};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use epp_proto::value::Password;
use registry_core::registrar::PasswordHash;
use tokio::sync::oneshot;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password worker failed")]
    Worker,
}

/// Largest `m` (KiB) a stored hash may ask for; a hash asking for more never matches rather
/// than letting a corrupt row allocate gigabytes.
const MAX_M_COST_KIB: u32 = 256 * 1024;

/// Niceness of the worker threads (Linux: per thread).
const WORKER_NICE: i32 = 10;

fn params() -> Result<Params, PasswordError> {
    Params::new(19 * 1024, 2, 1, None).map_err(|e| PasswordError::Hash(e.to_string()))
}

fn argon2() -> Result<Argon2<'static>, PasswordError> {
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params()?))
}

/// Hashes a password with argon2id and a fresh random salt (blocking: ~20-50 ms of CPU).
/// For tools; the server hashes through [`PasswordPool::hash`].
pub fn hash_password(pw: &str) -> Result<PasswordHash, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    let phc = argon2()?
        .hash_password(pw.as_bytes(), &salt)
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    PasswordHash::new(&phc.to_string()).map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Verifies a password against a PHC string (blocking). A malformed hash never matches.
pub fn verify_password(hash: &PasswordHash, pw: &str) -> bool {
    verify_with(&mut Vec::new(), hash, pw)
}

/// Grows `mem` to `blocks` and hands out exactly that many.
fn scratch(mem: &mut Vec<Block>, blocks: usize) -> &mut [Block] {
    if mem.len() < blocks {
        mem.resize(blocks, Block::default());
    }
    &mut mem[..blocks]
}

/// [`verify_password`] with caller-owned scratch memory.
fn verify_with(mem: &mut Vec<Block>, hash: &PasswordHash, pw: &str) -> bool {
    let Ok(parsed) = argon2::password_hash::PasswordHash::new(hash.as_phc()) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if params.m_cost() > MAX_M_COST_KIB {
        return false;
    }
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let blocks = params.block_count();
    let a = Argon2::new(algorithm, version, params);
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = &mut out[..expected.len()];
    if a.hash_password_into_with_memory(pw.as_bytes(), salt, out, scratch(mem, blocks))
        .is_err()
    {
        return false;
    }
    // Output's equality is constant-time.
    Output::new(out).is_ok_and(|got| got == expected)
}

/// [`hash_password`] with caller-owned scratch memory.
fn hash_with(mem: &mut Vec<Block>, pw: &str) -> Result<PasswordHash, PasswordError> {
    let err = |e: &dyn std::fmt::Display| PasswordError::Hash(e.to_string());
    let params = params()?;
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_buf)
        .map_err(|e| err(&e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let blocks = params.block_count();
    let a = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    a.hash_password_into_with_memory(pw.as_bytes(), salt_bytes, &mut out, scratch(mem, blocks))
        .map_err(|e| err(&e))?;
    let phc = argon2::password_hash::PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| err(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| err(&e))?),
    };
    PasswordHash::new(&phc.to_string()).map_err(|e| err(&e))
}

enum Job {
    Verify {
        hash: PasswordHash,
        pw: Password,
        reply: oneshot::Sender<bool>,
    },
    Hash {
        pw: Password,
        reply: oneshot::Sender<Result<PasswordHash, PasswordError>>,
    },
}

/// Runs hashing and verification on `workers` dedicated threads, each with its own reusable
/// argon2 memory. A login storm queues here instead of taking every core and 19 MiB per
/// attempt. The threads end when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct PasswordPool {
    jobs: mpsc::Sender<Job>,
    /// Verified against when the clID is unknown, so that the answer takes as long.
    dummy: PasswordHash,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Job::Verify { .. } => "Job::Verify",
            Job::Hash { .. } => "Job::Hash",
        })
    }
}

impl PasswordPool {
    pub fn new(workers: usize) -> Result<Self, PasswordError> {
        let dummy = hash_password("not-a-password-of-anyone")?;
        let (jobs, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..workers.max(1) {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || worker(&rx))
                .map_err(|_| PasswordError::Worker)?;
        }
        Ok(Self { jobs, dummy })
    }

    /// Verifies `pw` against `hash`, or against a dummy hash when there is none.
    pub async fn verify(
        &self,
        hash: Option<PasswordHash>,
        pw: &Password,
    ) -> Result<bool, PasswordError> {
        let known = hash.is_some();
        let (reply, answer) = oneshot::channel();
        let job = Job::Verify {
            hash: hash.unwrap_or_else(|| self.dummy.clone()),
            pw: pw.clone(),
            reply,
        };
        self.jobs.send(job).map_err(|_| PasswordError::Worker)?;
        let ok = answer.await.map_err(|_| PasswordError::Worker)?;
        Ok(ok && known)
    }

    /// Hashes a new password.
    pub async fn hash(&self, pw: &Password) -> Result<PasswordHash, PasswordError> {
        let (reply, answer) = oneshot::channel();
        let job = Job::Hash {
            pw: pw.clone(),
            reply,
        };
        self.jobs.send(job).map_err(|_| PasswordError::Worker)?;
        answer.await.map_err(|_| PasswordError::Worker)?
    }
}

fn worker(rx: &Mutex<mpsc::Receiver<Job>>) {
    lower_priority();
    let mut mem: Vec<Block> = Vec::new();
    loop {
        // The lock is held only while waiting for the next job, never while hashing.
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        match job {
            Job::Verify { hash, pw, reply } => {
                let _ = reply.send(verify_with(&mut mem, &hash, pw.expose()));
            }
            Job::Hash { pw, reply } => {
                let _ = reply.send(hash_with(&mut mem, pw.expose()));
            }
        }
    }
}

/// Lowers this thread's priority: on Linux `setpriority(PRIO_PROCESS, 0)` changes the
/// calling thread only. A failure (e.g. a seccomp filter) is harmless and ignored.
fn lower_priority() {
    #[cfg(unix)]
    let _ = rustix::process::setpriority_process(None, WORKER_NICE);
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

    #[test]
    fn worker_hashes_are_standard_phc_and_memory_is_reused() {
        use argon2::password_hash::PasswordVerifier as _;
        let mut mem = Vec::new();
        let h = hash_with(&mut mem, "s3cret-pw").expect("hash");
        assert_eq!(mem.len(), 19 * 1024, "one block per KiB of m");
        // The reference implementation accepts what the workers write.
        let parsed = argon2::password_hash::PasswordHash::new(h.as_phc()).expect("phc");
        assert!(Argon2::default()
            .verify_password(b"s3cret-pw", &parsed)
            .is_ok());
        assert!(verify_with(&mut mem, &h, "s3cret-pw"));
        assert!(!verify_with(&mut mem, &h, "s3cret-pX"));
        assert_eq!(mem.len(), 19 * 1024, "verification reused the buffer");
        // And the workers accept what the reference implementation writes.
        assert!(verify_with(
            &mut mem,
            &hash_password("other-pw-1").expect("hash"),
            "other-pw-1"
        ));
    }

    #[test]
    fn malformed_or_oversized_hashes_never_match() {
        let mut mem = Vec::new();
        for phc in [
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ",
            "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            let h = PasswordHash::new(phc).expect("phc string");
            assert!(!verify_with(&mut mem, &h, "anything"), "{phc}");
        }
        assert!(mem.is_empty(), "nothing allocated for a refused hash");
    }

    #[tokio::test]
    async fn pool_verifies_and_hashes() {
        let pool = PasswordPool::new(2).expect("pool");
        let pw = Password::new("abcdefgh").expect("pw");
        let h = pool.hash(&pw).await.expect("hash");
        assert!(pool.verify(Some(h.clone()), &pw).await.expect("verify"));
        let wrong = Password::new("abcdefgX").expect("pw");
        assert!(!pool.verify(Some(h), &wrong).await.expect("verify"));
    }

    #[tokio::test]
    async fn pool_never_accepts_without_a_hash() {
        let pool = PasswordPool::new(1).expect("pool");
        let pw = Password::new("abcdefgh").expect("pw");
        assert!(!pool.verify(None, &pw).await.expect("verify"));
    }
}
