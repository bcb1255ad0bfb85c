//! The browser and relying-party flows, driven over HTTP the way a browser
//! and an application do: sign in through the real form (CSRF token and
//! all), authorize with PKCE, exchange the code with client_secret_basic.

use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use clap::Args;
use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::stats::{round1, Samples};
use crate::Target;

fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()?)
}

/// The first `name=value` of the response's Set-Cookie headers.
fn set_cookie(h: &HeaderMap) -> Option<String> {
    h.get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|kv| kv.contains('=') && !kv.ends_with('='))
        .map(str::to_string)
}

/// The `value` of the `<input name="NAME" ...>` in `html`.
fn input_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let v = tag.find("value=\"")? + 7;
    let stop = v + tag[v..].find('"')?;
    Some(
        tag[v..stop]
            .replace("&#34;", "\"")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// Signs in through `GET /login` and `POST /login`; returns the session
/// cookie (`name=value`) of the signed-in session.
pub async fn sign_in(
    http: &reqwest::Client,
    url: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    let page = http.get(format!("{url}/login")).send().await?;
    let cookie = set_cookie(page.headers()).context("GET /login set no session cookie")?;
    let body = page.text().await?;
    let csrf = input_value(&body, "csrf_token").context("no csrf_token on /login")?;
    let r = http
        .post(format!("{url}/login"))
        .header(COOKIE, &cookie)
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf_token", &csrf),
            ("next", ""),
        ])
        .send()
        .await?;
    if r.status().as_u16() != 303 {
        bail!("POST /login answered {}", r.status());
    }
    set_cookie(r.headers()).context("POST /login set no session cookie")
}

/// One authorization-code flow for the session `cookie`: `GET /authorize`
/// (PKCE S256, state, nonce) answered with the code, then `POST /token`.
pub async fn code_flow(
    http: &reqwest::Client,
    t: &Target,
    cookie: &str,
    scope: &str,
) -> anyhow::Result<Value> {
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let state = uuid::Uuid::new_v4().simple().to_string();
    let mut authorize = url::Url::parse(&format!("{}/authorize", t.url))?;
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &t.client_id)
        .append_pair("redirect_uri", &t.redirect_uri)
        .append_pair("scope", scope)
        .append_pair("state", &state)
        .append_pair("nonce", &uuid::Uuid::new_v4().simple().to_string())
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let r = http
        .get(authorize.as_str())
        .header(COOKIE, cookie)
        .send()
        .await?;
    let location = r
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .with_context(|| format!("/authorize answered {} without a redirect", r.status()))?;
    if !location.starts_with(&t.redirect_uri) {
        bail!("/authorize redirected to {location}, not to the client");
    }
    let callback = url::Url::parse(&location)?;
    let param = |k: &str| {
        callback
            .query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    if param("state").as_deref() != Some(state.as_str()) {
        bail!("the callback's state does not match: {location}");
    }
    let code = param("code").with_context(|| format!("no code in {location}"))?;
    let r = http
        .post(format!("{}/token", t.url))
        .basic_auth(&t.client_id, Some(&t.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &t.redirect_uri),
            ("code_verifier", &verifier),
        ])
        .send()
        .await?;
    let status = r.status();
    let body: Value = r.json().await?;
    if !status.is_success() {
        bail!("/token answered {status}: {body}");
    }
    Ok(body)
}

/// `n` signed-in sessions, round-robin over the accounts.
async fn sessions(http: &reqwest::Client, t: &Target, n: usize) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let email = &t.emails[i % t.emails.len()];
        out.push(sign_in(http, &t.url, email, &t.password).await?);
    }
    Ok(out)
}

#[derive(Debug, Args)]
pub struct TokensArgs {
    #[command(flatten)]
    target: Target,
    /// How many flows (each gives one access and, with offline_access, one
    /// refresh token).
    #[arg(long, default_value_t = 256)]
    flows: usize,
    /// Signed-in sessions the flows are spread over.
    #[arg(long, default_value_t = 4)]
    sessions: usize,
    #[arg(long, default_value = "openid email profile offline_access")]
    scope: String,
    /// One access token per line.
    #[arg(long)]
    out_access: PathBuf,
    /// One refresh token per line.
    #[arg(long)]
    out_refresh: PathBuf,
}

pub async fn tokens(a: TokensArgs) -> anyhow::Result<()> {
    let http = client()?;
    let cookies = sessions(&http, &a.target, a.sessions.max(1)).await?;
    let (mut access, mut refresh) = (String::new(), String::new());
    for i in 0..a.flows {
        let t = code_flow(&http, &a.target, &cookies[i % cookies.len()], &a.scope).await?;
        let field = |k: &str| t.get(k).and_then(Value::as_str).map(str::to_string);
        access.push_str(&field("access_token").context("no access_token")?);
        access.push('\n');
        if let Some(rt) = field("refresh_token") {
            refresh.push_str(&rt);
            refresh.push('\n');
        }
    }
    std::fs::write(&a.out_access, access)?;
    std::fs::write(&a.out_refresh, refresh)?;
    Ok(())
}

#[derive(Debug, Args)]
pub struct AuthcodeArgs {
    #[command(flatten)]
    target: Target,
    /// Concurrent browsers, each with its own signed-in session.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    #[arg(long, default_value_t = 15.0)]
    seconds: f64,
    #[arg(long, default_value = "openid email profile")]
    scope: String,
    /// The server's process id, for the CPU split of the measurement.
    #[arg(long)]
    server_pid: Option<u32>,
    #[arg(long)]
    out: Option<PathBuf>,
}

pub async fn authcode(a: AuthcodeArgs) -> anyhow::Result<()> {
    let http = client()?;
    let cookies = sessions(&http, &a.target, a.concurrency.max(1)).await?;
    // Warm the connections and the server.
    for c in &cookies {
        code_flow(&http, &a.target, c, &a.scope).await?;
    }
    let target = Rc::new(a.target.clone());
    let errors = Rc::new(AtomicU64::new(0));
    let cpu = crate::cpu::Snapshot::take(a.server_pid);
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(a.seconds);
    let local = tokio::task::LocalSet::new();
    let mut handles = Vec::new();
    for cookie in cookies {
        let (t, errors, scope) = (target.clone(), errors.clone(), a.scope.clone());
        let http = client()?;
        handles.push(local.spawn_local(async move {
            let mut lat = Samples::default();
            while Instant::now() < deadline {
                let t0 = Instant::now();
                match code_flow(&http, &t, &cookie, &scope).await {
                    Ok(_) => lat.push(t0.elapsed()),
                    Err(e) => {
                        if errors.fetch_add(1, Ordering::Relaxed) == 0 {
                            eprintln!("authcode: {e:#}");
                        }
                    }
                }
            }
            lat
        }));
    }
    let lat = local
        .run_until(async move {
            let mut all = Samples::default();
            for h in handles {
                all.extend(h.await?);
            }
            anyhow::Ok(all)
        })
        .await?;
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu.map_or(Value::Null, |c| c.since(a.server_pid));
    crate::write_json(
        a.out.as_ref(),
        &json!({
            "cpu": cpu,
            "concurrency": a.concurrency,
            "seconds": round1(secs),
            "scope": a.scope,
            "flows": lat.len(),
            "errors": errors.load(Ordering::Relaxed),
            "flows_per_sec": round1(lat.len() as f64 / secs),
            "latency": lat.summary(),
        }),
    )
}

#[derive(Debug, Args)]
pub struct SigninArgs {
    #[arg(long)]
    url: String,
    /// Accounts to sign in as (repeatable).
    #[arg(long = "email", required = true)]
    emails: Vec<String>,
    #[arg(long)]
    password: String,
    /// Concurrent sign-ins.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Length of the flood.
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    /// Probes alone, before the flood, for a baseline.
    #[arg(long, default_value_t = 5.0)]
    baseline_seconds: f64,
    /// One probe of each kind every this many milliseconds.
    #[arg(long, default_value_t = 10)]
    probe_interval_ms: u64,
    /// Client for the client_credentials probe.
    #[arg(long)]
    cc_client_id: String,
    #[arg(long)]
    cc_client_secret: String,
    /// The server's process id, for the CPU split of the flood.
    #[arg(long)]
    server_pid: Option<u32>,
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Clone, Copy)]
enum Probe {
    Jwks,
    ClientCredentials,
}

async fn probe_once(
    http: &reqwest::Client,
    a: &SigninArgs,
    kind: Probe,
) -> anyhow::Result<Duration> {
    let t0 = Instant::now();
    let r = match kind {
        Probe::Jwks => http.get(format!("{}/jwks", a.url)).send().await?,
        Probe::ClientCredentials => {
            http.post(format!("{}/token", a.url))
                .basic_auth(&a.cc_client_id, Some(&a.cc_client_secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await?
        }
    };
    let status = r.status();
    r.bytes().await?;
    if !status.is_success() {
        bail!("probe answered {status}");
    }
    Ok(t0.elapsed())
}

/// Probes `kind` every interval until `until`.
async fn probe_loop(a: Rc<SigninArgs>, kind: Probe, until: Instant) -> anyhow::Result<Samples> {
    let http = client()?;
    probe_once(&http, &a, kind).await?;
    let mut lat = Samples::default();
    let every = Duration::from_millis(a.probe_interval_ms.max(1));
    let mut next = Instant::now();
    while next < until {
        tokio::time::sleep_until(next.into()).await;
        lat.push(probe_once(&http, &a, kind).await?);
        next = (next + every).max(Instant::now());
    }
    Ok(lat)
}

async fn probes(a: Rc<SigninArgs>, until: Instant) -> anyhow::Result<Value> {
    let jwks = tokio::task::spawn_local(probe_loop(a.clone(), Probe::Jwks, until));
    let cc = tokio::task::spawn_local(probe_loop(a, Probe::ClientCredentials, until));
    Ok(json!({
        "jwks": jwks.await??.summary(),
        "client_credentials": cc.await??.summary(),
    }))
}

pub async fn signin(a: SigninArgs) -> anyhow::Result<()> {
    let path = a.out.clone();
    let a = Rc::new(a);
    let local = tokio::task::LocalSet::new();
    let out = local
        .run_until(async move {
            let baseline = probes(
                a.clone(),
                Instant::now() + Duration::from_secs_f64(a.baseline_seconds),
            )
            .await?;
            let errors = Rc::new(AtomicU64::new(0));
            let cpu = crate::cpu::Snapshot::take(a.server_pid);
            let start = Instant::now();
            let until = start + Duration::from_secs_f64(a.seconds);
            let mut flood = Vec::new();
            for i in 0..a.concurrency.max(1) {
                let (a, errors) = (a.clone(), errors.clone());
                let http = client()?;
                flood.push(tokio::task::spawn_local(async move {
                    let email = a.emails[i % a.emails.len()].clone();
                    let mut lat = Samples::default();
                    while Instant::now() < until {
                        let t0 = Instant::now();
                        match sign_in(&http, &a.url, &email, &a.password).await {
                            Ok(_) => lat.push(t0.elapsed()),
                            Err(e) => {
                                if errors.fetch_add(1, Ordering::Relaxed) == 0 {
                                    eprintln!("signin: {e:#}");
                                }
                            }
                        }
                    }
                    lat
                }));
            }
            let during = probes(a.clone(), until).await?;
            let mut lat = Samples::default();
            for h in flood {
                lat.extend(h.await?);
            }
            let secs = start.elapsed().as_secs_f64();
            let cpu = cpu.map_or(Value::Null, |c| c.since(a.server_pid));
            anyhow::Ok(json!({
                "cpu": cpu,
                "concurrency": a.concurrency,
                "seconds": round1(secs),
                "signins": lat.len(),
                "errors": errors.load(Ordering::Relaxed),
                "signins_per_sec": round1(lat.len() as f64 / secs),
                "latency": lat.summary(),
                "probe_interval_ms": a.probe_interval_ms,
                "probes_baseline": baseline,
                "probes_during_flood": during,
            }))
        })
        .await?;
    crate::write_json(path.as_ref(), &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inputs_and_cookies() {
        let html = r#"<form><input type="hidden" name="csrf_token" value="a&amp;b"></form>"#;
        assert_eq!(input_value(html, "csrf_token").as_deref(), Some("a&b"));
        assert_eq!(input_value(html, "next"), None);
        let mut h = HeaderMap::new();
        h.append(
            SET_COOKIE,
            "portcullis_session=abc; Path=/; HttpOnly".parse().unwrap(),
        );
        assert_eq!(set_cookie(&h).as_deref(), Some("portcullis_session=abc"));
    }
}
