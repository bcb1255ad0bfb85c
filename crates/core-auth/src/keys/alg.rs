//! The signing algorithms Portcullis offers: RS256 (the default, what
//! relying parties expect), PS256 (RSA-PSS), ES256 (ECDSA on P-256) and
//! EdDSA (Ed25519). Each has its own keys, rotated on their own.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use josekit::jwk::Jwk;
use josekit::jws::{EdDSA, JwsSigner, JwsVerifier, ES256, PS256, RS256};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256, Sha512};

use crate::error::{CoreError, CoreResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Rs256,
    Ps256,
    Es256,
    EdDsa,
}

impl Algorithm {
    /// Every algorithm, in the order lists show them.
    pub const ALL: [Algorithm; 4] = [
        Algorithm::Rs256,
        Algorithm::Ps256,
        Algorithm::Es256,
        Algorithm::EdDsa,
    ];

    /// What a client gets unless it asks for another.
    pub const DEFAULT: Algorithm = Algorithm::Rs256;

    /// The JOSE name (`alg`), case-sensitive.
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::Rs256 => "RS256",
            Algorithm::Ps256 => "PS256",
            Algorithm::Es256 => "ES256",
            Algorithm::EdDsa => "EdDSA",
        }
    }

    /// The algorithm named exactly `s` (JOSE names are case-sensitive).
    pub fn parse(s: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// "RS256, PS256, ES256 or EdDSA", for messages.
    pub fn names(list: &[Algorithm]) -> String {
        let names: Vec<&str> = list.iter().map(|a| a.as_str()).collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            Some((last, _)) => (*last).to_string(),
            None => String::new(),
        }
    }

    /// Whether its keys are RSA keys (slow to generate, sized by
    /// `keys.rsa_bits`).
    pub fn is_rsa(self) -> bool {
        matches!(self, Algorithm::Rs256 | Algorithm::Ps256)
    }

    /// A signer from the stored private key (PKCS#8 DER).
    pub(crate) fn signer(self, der: &[u8], kid: &str) -> CoreResult<Box<dyn JwsSigner>> {
        let bad = |e: josekit::JoseError| CoreError::Crypto(format!("{self} signer {kid}: {e}"));
        macro_rules! make {
            ($alg:expr) => {{
                let mut s = $alg.signer_from_der(der).map_err(bad)?;
                s.set_key_id(kid);
                Box::new(s) as Box<dyn JwsSigner>
            }};
        }
        Ok(match self {
            Algorithm::Rs256 => make!(RS256),
            Algorithm::Ps256 => make!(PS256),
            Algorithm::Es256 => make!(ES256),
            Algorithm::EdDsa => make!(EdDSA),
        })
    }

    /// A verifier from the published JWK.
    pub(crate) fn verifier(self, jwk: &Jwk, kid: &str) -> CoreResult<Box<dyn JwsVerifier>> {
        let bad = |e: josekit::JoseError| CoreError::Crypto(format!("{self} verifier {kid}: {e}"));
        macro_rules! make {
            ($alg:expr) => {{
                let mut v = $alg.verifier_from_jwk(jwk).map_err(bad)?;
                v.set_key_id(kid);
                Box::new(v) as Box<dyn JwsVerifier>
            }};
        }
        Ok(match self {
            Algorithm::Rs256 => make!(RS256),
            Algorithm::Ps256 => make!(PS256),
            Algorithm::Es256 => make!(ES256),
            Algorithm::EdDsa => make!(EdDSA),
        })
    }

    /// `at_hash` (OIDC Core §3.1.3.6): the left half of the hash of the
    /// token, base64url, with the hash of the ID token's algorithm:
    /// SHA-256 for RS256, PS256 and ES256; SHA-512 for EdDSA with Ed25519
    /// (as the `openidconnect` crate and node-oidc-provider compute it).
    pub fn token_hash(self, token: &str) -> String {
        match self {
            Algorithm::EdDsa => {
                let d = Sha512::digest(token.as_bytes());
                URL_SAFE_NO_PAD.encode(&d[..32])
            }
            _ => {
                let d = Sha256::digest(token.as_bytes());
                URL_SAFE_NO_PAD.encode(&d[..16])
            }
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Algorithm {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Algorithm {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Algorithm::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown signing algorithm {s:?}: use {}",
                Algorithm::names(&Algorithm::ALL)
            ))
        })
    }
}

/// `keys.algorithms`: a list, or (from the environment) one string of
/// names separated by commas or spaces.
pub(crate) fn deserialize_list<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<Algorithm>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        List(Vec<String>),
        One(String),
    }
    let names = match Either::deserialize(d)? {
        Either::List(l) => l,
        Either::One(s) => s
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect(),
    };
    names
        .iter()
        .map(|n| {
            Algorithm::parse(n.trim()).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown signing algorithm {n:?}: use {}",
                    Algorithm::names(&Algorithm::ALL)
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for a in Algorithm::ALL {
            assert_eq!(Algorithm::parse(a.as_str()), Some(a));
        }
        assert_eq!(Algorithm::parse("es256"), None);
        assert_eq!(Algorithm::parse("none"), None);
        assert_eq!(Algorithm::parse("HS256"), None);
        assert_eq!(
            Algorithm::names(&Algorithm::ALL),
            "RS256, PS256, ES256 or EdDSA"
        );
    }

    #[test]
    fn at_hash_uses_the_hash_of_the_algorithm() {
        // OIDC Core §A.3's access token and at_hash (RS256).
        let at = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        assert_eq!(Algorithm::Rs256.token_hash(at), "77QmUPtjPfzWtF2AnpK9RQ");
        assert_eq!(Algorithm::Es256.token_hash(at), "77QmUPtjPfzWtF2AnpK9RQ");
        let ed = Algorithm::EdDsa.token_hash(at);
        assert_eq!(URL_SAFE_NO_PAD.decode(&ed).unwrap().len(), 32);
        assert_eq!(
            ed,
            URL_SAFE_NO_PAD.encode(&Sha512::digest(at.as_bytes())[..32])
        );
    }
}
