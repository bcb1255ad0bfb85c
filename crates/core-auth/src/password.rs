//! Password policy and hashing.
//!
//! bcrypt reads only the first 72 bytes of its input, so a password is never
//! given to it directly: we pre-hash with HMAC-SHA256 (a fixed, Portcullis
//! specific key, so a leaked hash cannot be "shucked" against plain SHA-256
//! leaks) and give bcrypt the 44-character base64 of that digest. Every byte
//! of a 128-character password counts. Stored form:
//! `bcrypt-sha256$<bcrypt hash>`. A bare `$2b$...` hash (imported from
//! elsewhere) is verified as plain bcrypt and upgraded at the next sign-in.
//!
//! bcrypt runs on its own threads, one per core, at a lower scheduling
//! priority (nice 10) than the threads that answer requests: a flood of
//! sign-ins queues for those threads and takes the CPU the rest of the
//! server leaves, so token and discovery requests keep their latency.

use std::collections::HashSet;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::PasswordConfig;
use crate::error::{CoreError, CoreResult};

const SCHEME: &str = "bcrypt-sha256$";
const PREHASH_KEY: &[u8] = b"portcullis-password-prehash-v1";
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

/// Outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// Right password; `rehash` when the stored hash is weaker than the
    /// configured cost or uses an older scheme.
    Yes {
        rehash: bool,
    },
    No,
}

/// Policy and hashing with the configured cost. Cheap to clone.
#[derive(Clone)]
pub struct Passwords {
    inner: Arc<Inner>,
}

struct Inner {
    cost: u32,
    min_len: usize,
    max_len: usize,
    common: HashSet<&'static str>,
    dummy: OnceLock<String>,
    pool: OnceLock<Option<HashPool>>,
}

type Job = Box<dyn FnOnce() + Send>;

/// The bcrypt threads: a queue of jobs, served by one low-priority thread
/// per core.
struct HashPool {
    // `Sender` is `Sync`: callers on any thread send without a lock.
    queue: mpsc::Sender<Job>,
}

/// The nice value of the bcrypt threads (0 is normal, 19 the lowest).
pub const HASH_THREAD_NICE: i32 = 10;

impl HashPool {
    fn start() -> Option<HashPool> {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let mut started = 0;
        for i in 0..threads {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new()
                .name(format!("bcrypt-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // Hold the lock only to take a job.
                        let job = match rx.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if spawned.is_ok() {
                started += 1;
            }
        }
        (started > 0).then(|| HashPool { queue: tx })
    }
}

/// Lowers the calling thread's priority to [`HASH_THREAD_NICE`]. Linux
/// keeps the nice value per thread; lowering it needs no privilege.
fn lower_priority() {
    use thread_priority::{ThreadPriority, ThreadPriorityValue};
    // For normal threads the crate maps 0..=99 onto nice values:
    // floor(39 * (1 - p / 99)) - 20, so 22 is nice 10 (the test checks).
    let value = ThreadPriorityValue::try_from(22u8).map(ThreadPriority::Crossplatform);
    if let Err(e) = value.map(|p| p.set_for_current()) {
        tracing::warn!(error = ?e, "could not lower the priority of a bcrypt thread");
    }
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("cost", &self.inner.cost)
            .finish_non_exhaustive()
    }
}

impl Passwords {
    pub fn new(cfg: &PasswordConfig) -> Self {
        let common = COMMON_PASSWORDS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        Self {
            inner: Arc::new(Inner {
                cost: cfg.bcrypt_cost,
                min_len: cfg.min_length,
                max_len: cfg.max_length,
                common,
                dummy: OnceLock::new(),
                pool: OnceLock::new(),
            }),
        }
    }

    pub fn cost(&self) -> u32 {
        self.inner.cost
    }

    /// Why `password` is not acceptable for an account with `email`, as a
    /// message for the form; `None` when it is.
    pub fn policy_violation(&self, password: &str, email: &str) -> Option<String> {
        let len = password.chars().count();
        if len < self.inner.min_len {
            return Some(format!("Use at least {} characters.", self.inner.min_len));
        }
        if len > self.inner.max_len {
            return Some(format!("Use at most {} characters.", self.inner.max_len));
        }
        let lower = password.to_lowercase();
        if self.inner.common.contains(lower.as_str()) {
            return Some(
                "This is one of the most common passwords, so it is easy to guess. Choose another."
                    .into(),
            );
        }
        let email = email.trim().to_lowercase();
        if !email.is_empty() {
            let local = email.split('@').next().unwrap_or_default();
            if lower == email || (local.len() >= 3 && lower == local) {
                return Some("Don't use your email address as your password.".into());
            }
        }
        None
    }

    pub fn is_common(&self, password: &str) -> bool {
        self.inner.common.contains(password.to_lowercase().as_str())
    }

    /// Runs `f` on a bcrypt thread and waits for it (on the calling thread
    /// when the bcrypt threads could not be started). `None` only when `f`
    /// panicked.
    fn on_hash_thread<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let pool = self.inner.pool.get_or_init(HashPool::start);
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        let Some(pool) = pool else {
            return run_here(job, rx);
        };
        match pool.queue.send(job).map_err(|e| e.0) {
            Ok(()) => rx.recv().ok(),
            Err(job) => run_here(job, rx),
        }
    }

    /// Hashes with the configured cost. Slow by design: call it off the async
    /// workers.
    pub fn hash(&self, password: &str) -> CoreResult<String> {
        let input = prehash(password);
        let cost = self.inner.cost;
        let h = self
            .on_hash_thread(move || bcrypt::hash(input, cost))
            .ok_or_else(|| CoreError::Crypto("bcrypt: the hashing thread failed".into()))?
            .map_err(|e| CoreError::Crypto(format!("bcrypt: {e}")))?;
        Ok(format!("{SCHEME}{h}"))
    }

    pub fn verify(&self, password: &str, stored: &str) -> Verified {
        let (input, bcrypt_hash, legacy) = match stored.strip_prefix(SCHEME) {
            Some(h) => (prehash(password), h, false),
            None if stored.starts_with("$2") => (password.to_string(), stored, true),
            None => {
                // Unknown format: spend the same time, then refuse.
                self.verify_dummy(password);
                return Verified::No;
            }
        };
        let stored_hash = bcrypt_hash.to_string();
        match self.on_hash_thread(move || bcrypt::verify(&input, &stored_hash)) {
            Some(Ok(true)) => Verified::Yes {
                rehash: legacy || cost_of(bcrypt_hash).is_none_or(|c| c < self.inner.cost),
            },
            _ => Verified::No,
        }
    }

    /// Spends the time of one verification at the configured cost and
    /// answers nothing: used when there is no such user, so that an unknown
    /// email costs what a wrong password costs.
    pub fn verify_dummy(&self, password: &str) {
        let cost = self.inner.cost;
        let dummy = self
            .inner
            .dummy
            .get_or_init(|| {
                self.on_hash_thread(move || bcrypt::hash("portcullis-dummy-password", cost))
                    .and_then(Result::ok)
                    .unwrap_or_default()
            })
            .clone();
        let input = prehash(password);
        self.on_hash_thread(move || {
            let _ = bcrypt::verify(input, &dummy);
        });
    }
}

fn run_here<T>(job: Job, rx: mpsc::Receiver<T>) -> Option<T> {
    job();
    rx.recv().ok()
}

fn prehash(password: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail; fall back to the
    // plain password (still verified, only truncated by bcrypt) if it ever did.
    match Hmac::<Sha256>::new_from_slice(PREHASH_KEY) {
        Ok(mut mac) => {
            mac.update(password.as_bytes());
            STANDARD.encode(mac.finalize().into_bytes())
        }
        Err(_) => password.to_string(),
    }
}

/// The cost field of a `$2b$12$...` hash.
fn cost_of(bcrypt_hash: &str) -> Option<u32> {
    bcrypt_hash.split('$').nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The nice value of the calling thread (field 19 of its stat line).
    fn own_nice() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let after = stat.rsplit_once(')').unwrap().1;
        after.split_whitespace().nth(16).unwrap().parse().unwrap()
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn bcrypt_runs_on_lower_priority_threads() {
        let p = pw(4);
        let caller = own_nice();
        let (nice, name) = p
            .on_hash_thread(|| {
                (
                    own_nice(),
                    std::thread::current().name().map(str::to_string),
                )
            })
            .unwrap();
        assert!(name.unwrap().starts_with("bcrypt-"));
        assert_eq!(
            nice,
            (caller + HASH_THREAD_NICE).min(19),
            "caller nice {caller}"
        );
        // Hashing and verifying still work through the threads.
        let h = p.hash("correct horse battery").unwrap();
        assert!(matches!(
            p.verify("correct horse battery", &h),
            Verified::Yes { .. }
        ));
    }

    fn pw(cost: u32) -> Passwords {
        Passwords::new(&PasswordConfig {
            bcrypt_cost: cost,
            min_length: 8,
            max_length: 128,
        })
    }

    #[test]
    fn policy_rejects_short_long_common_and_email() {
        let p = pw(4);
        assert!(p
            .policy_violation("short", "")
            .unwrap()
            .contains("at least 8"));
        assert!(p
            .policy_violation(&"x".repeat(129), "")
            .unwrap()
            .contains("at most 128"));
        assert!(p
            .policy_violation("password1", "")
            .unwrap()
            .contains("common"));
        assert!(p
            .policy_violation("PassWord1", "")
            .unwrap()
            .contains("common"));
        assert!(p
            .policy_violation("ada@example.com", "Ada@Example.com")
            .unwrap()
            .contains("email"));
        assert!(p
            .policy_violation("lovelace", "lovelace@example.com")
            .is_some());
        assert_eq!(
            p.policy_violation("correct horse battery", "ada@example.com"),
            None
        );
        // 128 multi-byte characters are fine: characters, not bytes, count.
        assert_eq!(p.policy_violation(&"é".repeat(128), ""), None);
    }

    #[test]
    fn the_list_has_ten_thousand_entries() {
        assert_eq!(pw(4).inner.common.len(), 10_000);
        assert!(pw(4).is_common("123456"));
    }

    #[test]
    fn hash_and_verify_round_trip() {
        let p = pw(4);
        let h = p.hash("correct horse battery").unwrap();
        assert!(h.starts_with("bcrypt-sha256$$2b$04$"));
        assert_eq!(
            p.verify("correct horse battery", &h),
            Verified::Yes { rehash: false }
        );
        assert_eq!(p.verify("correct horse batterz", &h), Verified::No);
        assert_eq!(p.verify("anything", "garbage"), Verified::No);
    }

    #[test]
    fn passwords_longer_than_72_bytes_are_not_truncated() {
        let p = pw(4);
        let base = "a".repeat(100);
        let h = p.hash(&format!("{base}1")).unwrap();
        assert_eq!(
            p.verify(&format!("{base}1"), &h),
            Verified::Yes { rehash: false }
        );
        assert_eq!(p.verify(&format!("{base}2"), &h), Verified::No);
    }

    #[test]
    fn weaker_cost_and_legacy_hashes_ask_for_rehash() {
        let old = pw(4).hash("correct horse battery").unwrap();
        assert_eq!(
            pw(5).verify("correct horse battery", &old),
            Verified::Yes { rehash: true }
        );
        let legacy = bcrypt::hash("correct horse battery", 4).unwrap();
        assert_eq!(
            pw(4).verify("correct horse battery", &legacy),
            Verified::Yes { rehash: true }
        );
    }
}
