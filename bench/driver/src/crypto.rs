//! The machine's own ceilings, measured in the benchmark run: RSA-2048
//! signing (RS256, as the server signs every token: JSON header and claims,
//! base64url, PKCS#1 v1.5 over SHA-256 through OpenSSL) and bcrypt at the
//! configured cost (one verification, as one sign-in costs). One thread each.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use josekit::jws::{JwsHeader, RS256};
use serde_json::json;

use crate::stats::{round1, round3};

#[derive(Debug, Args)]
pub struct CryptoArgs {
    /// bcrypt cost to measure (the server's `password.bcrypt_cost`).
    #[arg(long, default_value_t = 12)]
    bcrypt_cost: u32,
    /// Seconds to spend on each measurement (at least).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Write the JSON here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(a: CryptoArgs) -> anyhow::Result<()> {
    let budget = Duration::from_secs_f64(a.seconds);

    let key = RS256
        .generate_key_pair(2048)
        .context("generating an RSA-2048 key")?;
    let mut signer = RS256
        .signer_from_der(key.to_der_private_key())
        .context("RSA signer")?;
    signer.set_key_id("bench");
    let verifier = RS256
        .verifier_from_der(key.to_der_public_key())
        .context("RSA verifier")?;
    // What an access token carries.
    let claims = json!({
        "iss": "http://127.0.0.1:8080",
        "sub": "3f6d2a9e-8c1b-4e57-9a0d-2b7c5e1f4a83",
        "aud": "CC5QrT2SpIsSywzJsjsXE3",
        "exp": 1_767_258_612,
        "iat": 1_767_258_012,
        "jti": "fb4c0cd4-bc25-4c49-8f43-6cd3fcea0176",
        "client_id": "CC5QrT2SpIsSywzJsjsXE3",
        "scope": "openid email profile offline_access",
        "auth_time": 1_767_258_003,
        "acr": "1",
        "sid": "oLxO66rITfmT5nsBIW_GSCsxBojsHWNImpvte6EIeHQ",
    });
    let sign_once = || -> anyhow::Result<String> {
        let payload = serde_json::to_vec(&claims)?;
        let mut header = JwsHeader::new();
        header.set_token_type("at+jwt");
        header.set_key_id("bench");
        Ok(josekit::jws::serialize_compact(&payload, &header, &signer)?)
    };
    let token = sign_once()?;
    // Warm up, then measure.
    for _ in 0..50 {
        sign_once()?;
    }
    let (signs, sign_secs) = repeat(budget, 1, || sign_once().map(drop))?;
    let (verifies, verify_secs) = repeat(budget / 2, 1, || {
        josekit::jws::deserialize_compact(&token, &verifier)
            .map(drop)
            .map_err(anyhow::Error::from)
    })?;

    let password = "bench: a long passphrase that is not common";
    let hash = bcrypt::hash(password, a.bcrypt_cost).context("bcrypt hash")?;
    let (bcrypts, bcrypt_secs) = repeat(budget, 4, || {
        bcrypt::verify(password, &hash)
            .map_err(anyhow::Error::from)
            .and_then(|ok| {
                if ok {
                    Ok(())
                } else {
                    Err(anyhow::anyhow!("bcrypt verify failed"))
                }
            })
    })?;

    let out = json!({
        "rsa2048_sign_per_sec": round1(signs as f64 / sign_secs),
        "rsa2048_verify_per_sec": round1(verifies as f64 / verify_secs),
        "rsa2048_sign_ms": round3(sign_secs * 1000.0 / signs as f64),
        "bcrypt_cost": a.bcrypt_cost,
        "bcrypt_verify_per_sec": (bcrypts as f64 / bcrypt_secs * 100.0).round() / 100.0,
        "bcrypt_verify_ms": round1(bcrypt_secs * 1000.0 / bcrypts as f64),
        "threads": 1,
    });
    crate::write_json(a.out.as_ref(), &out)
}

/// Runs `f` until `budget` has passed and at least `min` times; returns
/// (count, seconds).
fn repeat(
    budget: Duration,
    min: u64,
    mut f: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<(u64, f64)> {
    let start = Instant::now();
    let mut n = 0u64;
    while n < min || start.elapsed() < budget {
        f()?;
        n += 1;
    }
    Ok((n, start.elapsed().as_secs_f64()))
}
