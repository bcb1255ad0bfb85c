//! The machine's own ceilings, measured in the benchmark run: token signing
//! as the server does it (JSON header and claims, base64url, the signature
//! through OpenSSL) with RSA-2048 (RS256, PKCS#1 v1.5 over SHA-256), P-256
//! (ES256) and Ed25519 (EdDSA), and bcrypt at the configured cost (one
//! verification, as one sign-in costs). One thread each.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use josekit::jwk::alg::ed::EdCurve;
use josekit::jws::{EdDSA, JwsHeader, JwsSigner, JwsVerifier, ES256, RS256};
use serde_json::json;

use crate::stats::{round1, round3};

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

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

    let rsa = RS256
        .generate_key_pair(2048)
        .context("generating an RSA-2048 key")?;
    let (rs_sign, rs_verify) = signing(
        budget,
        Box::new(RS256.signer_from_der(rsa.to_der_private_key())?),
        Box::new(RS256.verifier_from_der(rsa.to_der_public_key())?),
    )
    .context("RS256")?;
    let ec = ES256
        .generate_key_pair()
        .context("generating a P-256 key")?;
    let (es_sign, es_verify) = signing(
        budget,
        Box::new(ES256.signer_from_der(ec.to_der_private_key())?),
        Box::new(ES256.verifier_from_der(ec.to_der_public_key())?),
    )
    .context("ES256")?;
    let ed = EdDSA
        .generate_key_pair(EdCurve::Ed25519)
        .context("generating an Ed25519 key")?;
    let (ed_sign, ed_verify) = signing(
        budget,
        Box::new(EdDSA.signer_from_der(ed.to_der_private_key())?),
        Box::new(EdDSA.verifier_from_der(ed.to_der_public_key())?),
    )
    .context("EdDSA")?;

    let password = "bench: a long passphrase that is not common";
    let hash = bcrypt::hash(password, a.bcrypt_cost).context("bcrypt hash")?;
    let bcrypt = repeat(budget, 4, || {
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
        "rsa2048_sign_per_sec": round1(rs_sign.per_sec()),
        "rsa2048_sign_per_cpu_sec": rs_sign.per_cpu_sec().map(round1),
        "rsa2048_verify_per_sec": round1(rs_verify.per_sec()),
        "rsa2048_verify_per_cpu_sec": rs_verify.per_cpu_sec().map(round1),
        "rsa2048_sign_ms": round3(1000.0 / rs_sign.per_sec()),
        "es256_sign_per_sec": round1(es_sign.per_sec()),
        "es256_sign_per_cpu_sec": es_sign.per_cpu_sec().map(round1),
        "es256_verify_per_sec": round1(es_verify.per_sec()),
        "es256_sign_ms": round3(1000.0 / es_sign.per_sec()),
        "eddsa_sign_per_sec": round1(ed_sign.per_sec()),
        "eddsa_sign_per_cpu_sec": ed_sign.per_cpu_sec().map(round1),
        "eddsa_verify_per_sec": round1(ed_verify.per_sec()),
        "eddsa_sign_ms": round3(1000.0 / ed_sign.per_sec()),
        "bcrypt_cost": a.bcrypt_cost,
        "bcrypt_verify_per_sec": round2(bcrypt.per_sec()),
        "bcrypt_verify_per_cpu_sec": bcrypt.per_cpu_sec().map(round2),
        "bcrypt_verify_ms": round1(1000.0 / bcrypt.per_sec()),
        "threads": 1,
    });
    crate::write_json(a.out.as_ref(), &out)
}

/// Signing an access token's claims as the server does (and verifying
/// one), for `budget` and `budget / 2`.
fn signing(
    budget: Duration,
    signer: Box<dyn JwsSigner>,
    verifier: Box<dyn JwsVerifier>,
) -> anyhow::Result<(Rate, Rate)> {
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
        Ok(josekit::jws::serialize_compact(
            &payload, &header, &*signer,
        )?)
    };
    let token = sign_once()?;
    // Warm up, then measure.
    for _ in 0..50 {
        sign_once()?;
    }
    let sign = repeat(budget, 1, || sign_once().map(drop))?;
    let verify = repeat(budget / 2, 1, || {
        josekit::jws::deserialize_compact(&token, &*verifier)
            .map(drop)
            .map_err(anyhow::Error::from)
    })?;
    Ok((sign, verify))
}

/// CPU time (user + system) this thread has used, in seconds, from
/// /proc/thread-self/stat (clock ticks, 100 per second on Linux).
fn thread_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the command name, which is in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// One measurement: how many, over how many wall and CPU seconds.
struct Rate {
    n: u64,
    wall: f64,
    cpu: Option<f64>,
}

impl Rate {
    fn per_sec(&self) -> f64 {
        self.n as f64 / self.wall
    }

    /// Per second of this thread's CPU time: what the core can do, whatever
    /// else the machine was running meanwhile.
    fn per_cpu_sec(&self) -> Option<f64> {
        self.cpu.filter(|c| *c > 0.0).map(|c| self.n as f64 / c)
    }
}

/// Runs `f` until `budget` has passed and at least `min` times.
fn repeat(
    budget: Duration,
    min: u64,
    mut f: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Rate> {
    let cpu0 = thread_cpu_secs();
    let start = Instant::now();
    let mut n = 0u64;
    while n < min || start.elapsed() < budget {
        f()?;
        n += 1;
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = match (cpu0, thread_cpu_secs()) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    Ok(Rate { n, wall, cpu })
}
