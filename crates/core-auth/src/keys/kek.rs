//! The key-encryption key: private signing keys are stored encrypted under
//! it (AES-256-GCM, the key id as associated data), so a copy of the
//! database alone does not give away the signing keys.
//!
//! It comes from `PORTCULLIS_KEY_ENCRYPTION_KEY` (32 bytes, base64 or hex).
//! Without it, a development default is generated once into
//! `<data_dir>/key-encryption-key` (mode 0600). Several nodes on one
//! database must all be given the same key.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};

use crate::error::{CoreError, CoreResult};
use crate::secret::random_bytes;

pub const ENV_VAR: &str = "PORTCULLIS_KEY_ENCRYPTION_KEY";
pub const FILE_NAME: &str = "key-encryption-key";
const VERSION: &str = "v1.";

#[derive(Clone)]
pub struct Kek([u8; 32]);

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(***)")
    }
}

/// Where the key came from, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KekSource {
    Environment,
    File(PathBuf),
    Generated(PathBuf),
}

impl Kek {
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Self(b)
    }

    /// Parses 32 bytes given as base64 (standard or URL-safe, padded or not)
    /// or as 64 hex digits.
    pub fn parse(value: &str) -> CoreResult<Kek> {
        let v = value.trim();
        let bytes = if v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&v[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| bad_key())?
        } else {
            STANDARD
                .decode(v)
                .or_else(|_| URL_SAFE_NO_PAD.decode(v.trim_end_matches('=')))
                .map_err(|_| bad_key())?
        };
        let arr: [u8; 32] = bytes.try_into().map_err(|_| bad_key())?;
        Ok(Kek(arr))
    }

    /// The key from the environment value if given, else from (or newly
    /// into) the data directory. A key file readable by others is
    /// tightened to 0600 (used or not).
    pub fn resolve(env_value: Option<&str>, data_dir: &Path) -> CoreResult<(Kek, KekSource)> {
        let path = data_dir.join(FILE_NAME);
        crate::db::files::tighten(&path)
            .map_err(|e| CoreError::Config(format!("{}: {e}", path.display())))?;
        if let Some(v) = env_value.filter(|v| !v.trim().is_empty()) {
            return Ok((Kek::parse(v)?, KekSource::Environment));
        }
        if path.exists() {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| CoreError::Config(format!("cannot read {}: {e}", path.display())))?;
            return Ok((Kek::parse(&text)?, KekSource::File(path)));
        }
        let key = random_bytes::<32>();
        write_private(&path, &STANDARD.encode(key))?;
        Ok((Kek(key), KekSource::Generated(path)))
    }

    /// Encrypts with a fresh 96-bit nonce; `aad` binds the ciphertext to
    /// its context (the key id).
    pub fn encrypt(&self, aad: &[u8], plaintext: &[u8]) -> CoreResult<String> {
        let nonce = random_bytes::<12>();
        let mut tag = [0u8; 16];
        let ct = encrypt_aead(
            Cipher::aes_256_gcm(),
            &self.0,
            Some(&nonce),
            aad,
            plaintext,
            &mut tag,
        )
        .map_err(|e| CoreError::Crypto(format!("encrypt: {e}")))?;
        let mut out = Vec::with_capacity(12 + 16 + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&tag);
        out.extend_from_slice(&ct);
        Ok(format!("{VERSION}{}", STANDARD.encode(out)))
    }

    pub fn decrypt(&self, aad: &[u8], stored: &str) -> CoreResult<Vec<u8>> {
        let raw = stored
            .strip_prefix(VERSION)
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|r| r.len() > 28)
            .ok_or_else(|| CoreError::Crypto("stored private key is malformed".into()))?;
        let (nonce, rest) = raw.split_at(12);
        let (tag, ct) = rest.split_at(16);
        decrypt_aead(Cipher::aes_256_gcm(), &self.0, Some(nonce), aad, ct, tag).map_err(|_| {
            CoreError::Crypto(format!(
                "a signing key cannot be decrypted: the key-encryption key differs from the one it was stored with. \
                 Every node must have the same {ENV_VAR}"
            ))
        })
    }
}

fn bad_key() -> CoreError {
    CoreError::Config(format!(
        "{ENV_VAR}: must be 32 bytes as base64 or 64 hex digits (e.g. `openssl rand -base64 32`)"
    ))
}

fn write_private(path: &Path, content: &str) -> CoreResult<()> {
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts
        .open(path)
        .map_err(|e| CoreError::Config(format!("cannot create {}: {e}", path.display())))?;
    f.write_all(content.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| CoreError::Config(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypt_round_trip_and_aad_binding() {
        let k = Kek::from_bytes([7; 32]);
        let c = k.encrypt(b"kid-1", b"secret key").unwrap();
        assert!(c.starts_with("v1."));
        assert_eq!(k.decrypt(b"kid-1", &c).unwrap(), b"secret key");
        assert!(k.decrypt(b"kid-2", &c).is_err(), "bound to its kid");
        assert!(Kek::from_bytes([8; 32]).decrypt(b"kid-1", &c).is_err());
        assert!(k.decrypt(b"kid-1", "v1.AAAA").is_err());
    }

    #[test]
    fn parses_base64_and_hex_and_refuses_other_lengths() {
        let b64 = STANDARD.encode([1u8; 32]);
        assert_eq!(Kek::parse(&b64).unwrap().0, [1u8; 32]);
        assert_eq!(Kek::parse(&"ab".repeat(32)).unwrap().0, [0xab; 32]);
        assert!(Kek::parse("short").is_err());
        assert!(Kek::parse(&STANDARD.encode([1u8; 16])).is_err());
    }

    #[test]
    fn generates_a_private_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let (a, src) = Kek::resolve(None, dir.path()).unwrap();
        assert!(matches!(src, KekSource::Generated(_)));
        let (b, src) = Kek::resolve(None, dir.path()).unwrap();
        assert!(matches!(src, KekSource::File(_)));
        assert_eq!(a.0, b.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE_NAME))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (c, src) = Kek::resolve(Some(&"cd".repeat(32)), dir.path()).unwrap();
        assert_eq!(src, KekSource::Environment);
        assert_eq!(c.0, [0xcd; 32]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let file = dir.path().join(FILE_NAME);
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            Kek::resolve(None, dir.path()).unwrap();
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "a too-open key file is tightened");
        }
    }
}
