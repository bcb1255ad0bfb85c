//! Anonymous session state, sealed into the cookie instead of a row.
//!
//! Before anyone signs in, a session holds only what a form or a redirect
//! needs back (the CSRF token, a pending authorization request, an
//! upstream sign-in's `state`): writing a row for each of those would let
//! any cookieless visitor grow the database. So the state of a session
//! without a user is encrypted and authenticated (AES-256-GCM, under a key
//! every node derives from the shared cookie key) and becomes the cookie's
//! value itself; it carries the time it was written and is refused after
//! the idle timeout. State too large for a cookie, and every signed-in
//! session, still live in the `sessions` table.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::clock::UnixTime;
use crate::secret::random_bytes;

/// The prefix of a sealed session key (a row's key is hex, without it).
pub const PREFIX: &str = "a.";

/// The longest sealed value, in characters: the signed cookie adds its
/// signature and name, and browsers keep cookies up to 4096 bytes.
pub const MAX_LEN: usize = 3_500;

const LABEL: &[u8] = b"portcullis anonymous session state v1";
const NONCE: usize = 12;
const TAG: usize = 16;

pub type State = HashMap<String, String>;

#[derive(Serialize, Deserialize)]
struct Sealed {
    /// When it was written.
    t: UnixTime,
    s: State,
}

/// Seals and opens anonymous state.
#[derive(Clone)]
pub struct Sealer {
    key: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// The sealing key, derived from the (shared, secret) cookie key.
    pub fn derive(master: &[u8]) -> Sealer {
        let mut key = [0u8; 32];
        if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(master) {
            mac.update(LABEL);
            key.copy_from_slice(&mac.finalize().into_bytes());
        }
        Sealer { key }
    }

    /// The cookie value for `state`, or `None` when it would not fit (the
    /// caller stores a row instead).
    pub fn seal(&self, state: &State, now: UnixTime) -> Option<String> {
        let plain = serde_json::to_vec(&Sealed {
            t: now,
            s: state.clone(),
        })
        .ok()?;
        // Base64 grows by a third: refuse early what cannot fit.
        if (plain.len() + NONCE + TAG) * 4 / 3 + PREFIX.len() > MAX_LEN {
            return None;
        }
        let nonce = random_bytes::<NONCE>();
        let mut tag = [0u8; TAG];
        let ct = encrypt_aead(
            Cipher::aes_256_gcm(),
            &self.key,
            Some(&nonce),
            LABEL,
            &plain,
            &mut tag,
        )
        .ok()?;
        let mut out = Vec::with_capacity(NONCE + ct.len() + TAG);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out.extend_from_slice(&tag);
        Some(format!("{PREFIX}{}", B64.encode(out)))
    }

    /// The state sealed in `value`, when it is ours, intact and written
    /// within `max_age` seconds; else `None` (a fresh anonymous session).
    pub fn open(&self, value: &str, now: UnixTime, max_age: i64) -> Option<State> {
        let raw = B64.decode(value.strip_prefix(PREFIX)?).ok()?;
        if raw.len() < NONCE + TAG {
            return None;
        }
        let (nonce, rest) = raw.split_at(NONCE);
        let (ct, tag) = rest.split_at(rest.len() - TAG);
        let plain = decrypt_aead(
            Cipher::aes_256_gcm(),
            &self.key,
            Some(nonce),
            LABEL,
            ct,
            tag,
        )
        .ok()?;
        let sealed: Sealed = serde_json::from_slice(&plain).ok()?;
        (sealed.t <= now && now - sealed.t <= max_age).then_some(sealed.s)
    }
}

/// Whether a session key is sealed state (not a row's key).
pub fn is_sealed(key: &str) -> bool {
    key.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(n: usize) -> State {
        HashMap::from([
            ("csrf".to_string(), "\"abc\"".to_string()),
            ("authz".to_string(), format!("\"{}\"", "x".repeat(n))),
        ])
    }

    #[test]
    fn sealed_state_opens_only_with_the_key_and_within_the_timeout() {
        let s = Sealer::derive(b"master key of sixty-four bytes, more or less.................");
        let v = s.seal(&state(10), 1_000).expect("fits");
        assert!(is_sealed(&v));
        assert_eq!(s.open(&v, 1_000, 60), Some(state(10)));
        assert_eq!(s.open(&v, 1_060, 60), Some(state(10)));
        assert_eq!(s.open(&v, 1_061, 60), None, "expired");
        assert_eq!(s.open(&v, 999, 60), None, "from the future");
        let other = Sealer::derive(b"another master key");
        assert_eq!(other.open(&v, 1_000, 60), None, "another server's");
        // Any change to the value is refused.
        let mut bytes = v.clone().into_bytes();
        let i = bytes.len() - 5;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert_eq!(s.open(&tampered, 1_000, 60), None);
        assert_eq!(s.open("a.", 1_000, 60), None);
        assert_eq!(s.open("a.!!!", 1_000, 60), None);
    }

    #[test]
    fn state_too_large_for_a_cookie_is_not_sealed() {
        let s = Sealer::derive(b"k");
        assert!(s.seal(&state(2_000), 0).is_some());
        assert!(s.seal(&state(3_000), 0).is_none());
    }
}
