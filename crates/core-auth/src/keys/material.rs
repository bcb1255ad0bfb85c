//! Making key material: a new key pair of an algorithm, its public JWK
//! (`kid`, `alg`, `use`), its `kid` (the RFC 7638 thumbprint) and its
//! private key encrypted under the key-encryption key.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use josekit::jwk::alg::ec::{EcCurve, EcKeyPair};
use josekit::jwk::alg::ed::{EdCurve, EdKeyPair};
use josekit::jwk::alg::rsa::RsaKeyPair;
use josekit::jwk::{Jwk, KeyPair};
use sha2::{Digest, Sha256};

use super::alg::Algorithm;
use super::kek::Kek;
use crate::error::{CoreError, CoreResult};

/// A freshly generated key, encrypted, ready to insert.
pub struct NewKey {
    pub(crate) alg: Algorithm,
    pub(crate) kid: String,
    pub(crate) public_jwk: String,
    pub(crate) private_key: String,
}

/// RFC 7638 thumbprint of an RSA public key: SHA-256 over the canonical
/// JSON of its required members, base64url.
pub fn rsa_thumbprint(e: &str, n: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// RFC 7638 thumbprint of a public JWK: the required members of its key
/// type (RSA: e, n; EC: crv, x, y; OKP, RFC 8037: crv, x), sorted, as
/// compact JSON, hashed with SHA-256, base64url.
pub fn thumbprint(jwk: &Jwk) -> CoreResult<String> {
    let kty = jwk.key_type();
    let required: &[&str] = match kty {
        "RSA" => &["e", "n"],
        "EC" => &["crv", "x", "y"],
        "OKP" => &["crv", "x"],
        other => {
            return Err(CoreError::Crypto(format!(
                "no thumbprint for key type {other}"
            )))
        }
    };
    let mut members = BTreeMap::new();
    members.insert("kty", kty.to_string());
    for m in required {
        let v = jwk
            .parameter(m)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| CoreError::Crypto(format!("{kty} key without `{m}`")))?;
        members.insert(m, v.to_string());
    }
    let canonical = serde_json::to_string(&members)
        .map_err(|e| CoreError::Crypto(format!("thumbprint: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

/// Generates a key pair of `alg` (RSA is slow: run it on the blocking
/// pool, outside any transaction).
pub fn generate(kek: &Kek, alg: Algorithm, rsa_bits: u32) -> CoreResult<NewKey> {
    let failed = |e: josekit::JoseError| CoreError::Crypto(format!("{alg} key generation: {e}"));
    let pair: Box<dyn KeyPair> = match alg {
        Algorithm::Rs256 | Algorithm::Ps256 => {
            Box::new(RsaKeyPair::generate(rsa_bits).map_err(failed)?)
        }
        Algorithm::Es256 => Box::new(EcKeyPair::generate(EcCurve::P256).map_err(failed)?),
        Algorithm::EdDsa => Box::new(EdKeyPair::generate(EdCurve::Ed25519).map_err(failed)?),
    };
    let mut jwk = pair.to_jwk_public_key();
    let kid = thumbprint(&jwk)?;
    jwk.set_key_id(&kid);
    jwk.set_algorithm(alg.as_str());
    jwk.set_key_use("sig");
    let der = pair.to_der_private_key();
    // The signer must accept what is stored, before anything is stored.
    alg.signer(&der, &kid)?;
    let private_key = kek.encrypt(kid.as_bytes(), &der)?;
    Ok(NewKey {
        alg,
        kid,
        public_jwk: jwk.to_string(),
        private_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_match_the_rfc_examples() {
        // RFC 7638 §3.1.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let expected = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
        assert_eq!(rsa_thumbprint("AQAB", n), expected);
        let rsa = Jwk::from_bytes(
            format!(r#"{{"kty":"RSA","n":"{n}","e":"AQAB","alg":"RS256","kid":"2011-04-29"}}"#)
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(thumbprint(&rsa).unwrap(), expected);
        // RFC 8037 §A.3.
        let okp = Jwk::from_bytes(
            br#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
        )
        .unwrap();
        assert_eq!(
            thumbprint(&okp).unwrap(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn every_algorithm_makes_a_published_key_that_verifies_what_it_signs() {
        let kek = Kek::from_bytes([3; 32]);
        for alg in Algorithm::ALL {
            let k = generate(&kek, alg, 2048).unwrap();
            assert_eq!(k.alg, alg);
            let jwk = Jwk::from_bytes(k.public_jwk.as_bytes()).unwrap();
            assert_eq!(jwk.algorithm(), Some(alg.as_str()));
            assert_eq!(jwk.key_use(), Some("sig"));
            assert_eq!(jwk.key_id(), Some(k.kid.as_str()));
            assert_eq!(thumbprint(&jwk).unwrap(), k.kid);
            assert!(jwk.parameter("d").is_none(), "{alg}: public members only");
            let der = kek.decrypt(k.kid.as_bytes(), &k.private_key).unwrap();
            let signer = alg.signer(&der, &k.kid).unwrap();
            let verifier = alg.verifier(&jwk, &k.kid).unwrap();
            let mut header = josekit::jws::JwsHeader::new();
            header.set_key_id(&k.kid);
            let token = josekit::jws::serialize_compact(b"{\"x\":1}", &header, &*signer).unwrap();
            let h = josekit::jwt::decode_header(&token).unwrap();
            assert_eq!(h.claim("alg").and_then(|v| v.as_str()), Some(alg.as_str()));
            josekit::jws::deserialize_compact(&token, &*verifier).unwrap();
        }
    }
}
