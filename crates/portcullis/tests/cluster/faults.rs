//! Faults: a node killed under load, PostgreSQL restarted under load, a
//! SQLite node killed and restarted. Bounded in time, loopback only.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::cluster::cluster_available;

use crate::support::*;

/// What a load run saw.
#[derive(Default, Debug)]
struct Tally {
    ok: usize,
    /// (time since start, status) of every failure.
    failures: Vec<(Duration, u16)>,
    /// Access token ids the server said it issued.
    jtis: Vec<String>,
    /// Accounts the server said it registered.
    emails: Vec<String>,
    /// (new refresh token's jti, new access token's jti) of every refresh
    /// the server answered 200 (group-committed rotations).
    refreshed: Vec<(String, String)>,
    slowest: Duration,
}

fn jti(token: &str) -> String {
    use base64::Engine as _;
    let p = token.split('.').nth(1).unwrap_or_default();
    let v: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(p)
            .unwrap_or_default(),
    )
    .unwrap_or(Value::Null);
    v["jti"].as_str().unwrap_or_default().to_string()
}

/// A web client and one offline refresh token per load worker.
struct Chains {
    client: (String, String),
    tokens: Vec<String>,
}

/// Signs a user in through `c` and gets `n` offline refresh tokens.
async fn chains(c: &Cluster, n: usize) -> Chains {
    c.create_user("chains@example.com");
    let client = c.web_client();
    let b = browser();
    let r = sign_in(&b, c.url(), "chains@example.com", PASSWORD).await;
    assert_eq!(r.status(), 303, "sign-in");
    let mut tokens = Vec::new();
    for _ in 0..n {
        let (code, verifier, _) = authorize(&b, c.url(), &client.0, "openid offline_access").await;
        let (status, t) = token(
            c.url(),
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://app.example.com/cb"),
                ("code_verifier", &verifier),
            ],
        )
        .await;
        assert_eq!(status, 200, "{t}");
        tokens.push(t["refresh_token"].as_str().unwrap().to_string());
    }
    Chains { client, tokens }
}

/// Runs `workers` loops against `base` until `stop`: client_credentials
/// tokens, registrations and (with `chains`) refreshes, in turn. A worker
/// whose refresh failed (its node died mid-request) stops refreshing: the
/// rotation may have committed without its answer.
async fn load(
    base: String,
    svc: (String, String),
    workers: usize,
    until: Instant,
    tally: Arc<Mutex<Tally>>,
    chains: Option<Chains>,
) {
    let start = Instant::now();
    let mut tasks = Vec::new();
    let web = chains.as_ref().map(|c| c.client.clone());
    for w in 0..workers {
        let (base, svc, tally) = (base.clone(), svc.clone(), tally.clone());
        let web = web.clone();
        let mut chain = chains.as_ref().and_then(|c| c.tokens.get(w).cloned());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap();
            let mut i = 0u32;
            while Instant::now() < until {
                i += 1;
                let t0 = Instant::now();
                if let (Some(rt), Some(web), true) = (chain.clone(), &web, i.is_multiple_of(3)) {
                    let r = http
                        .post(format!("{base}/token"))
                        .basic_auth(&web.0, Some(&web.1))
                        .form(&[("grant_type", "refresh_token"), ("refresh_token", &rt)])
                        .send()
                        .await;
                    let (status, v) = match r {
                        Ok(r) => (r.status().as_u16(), r.json().await.unwrap_or(Value::Null)),
                        Err(_) => (0, Value::Null),
                    };
                    let mut t = tally.lock().unwrap();
                    t.slowest = t.slowest.max(t0.elapsed());
                    match v["refresh_token"].as_str() {
                        Some(next) if status == 200 => {
                            t.ok += 1;
                            let at = v["access_token"].as_str().unwrap_or_default();
                            t.refreshed.push((jti(next), jti(at)));
                            chain = Some(next.to_string());
                        }
                        _ => {
                            t.failures.push((start.elapsed(), status));
                            chain = None;
                        }
                    }
                    continue;
                }
                let (status, jti_or_email) = if i.is_multiple_of(2) {
                    match http
                        .post(format!("{base}/token"))
                        .basic_auth(&svc.0, Some(&svc.1))
                        .form(&[("grant_type", "client_credentials")])
                        .send()
                        .await
                    {
                        Ok(r) => {
                            let st = r.status().as_u16();
                            let v: Value = r.json().await.unwrap_or(Value::Null);
                            (st, v["access_token"].as_str().map(jti))
                        }
                        Err(_) => (0, None),
                    }
                } else {
                    let email = format!("load-{w}-{i}@example.com");
                    let b = browser();
                    let page = match b.get(format!("{base}/register")).send().await {
                        Ok(r) => r.text().await.unwrap_or_default(),
                        Err(_) => String::new(),
                    };
                    match testkit::html::input_value(&page, "csrf_token") {
                        None => (0, None),
                        Some(csrf) => match b
                            .post(format!("{base}/register"))
                            .form(&[
                                ("email", email.clone()),
                                ("name", "Load".into()),
                                ("password", PASSWORD.into()),
                                ("csrf_token", csrf),
                            ])
                            .send()
                            .await
                        {
                            Ok(r) => (r.status().as_u16(), Some(format!("@{email}"))),
                            Err(_) => (0, None),
                        },
                    }
                };
                let took = t0.elapsed();
                let mut t = tally.lock().unwrap();
                t.slowest = t.slowest.max(took);
                if status == 200 {
                    t.ok += 1;
                    match jti_or_email {
                        Some(e) if e.starts_with('@') => t.emails.push(e[1..].to_string()),
                        Some(j) if !j.is_empty() => t.jtis.push(j),
                        _ => {}
                    }
                } else {
                    t.failures.push((start.elapsed(), status));
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

fn service_client(c: &Cluster) -> (String, String) {
    let out = c.cli(
        &[
            "clients",
            "create",
            "--name",
            "Load",
            "--grant-type",
            "client_credentials",
            "--scope",
            "api",
        ],
        "",
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    (
        v["client_id"].as_str().unwrap().to_string(),
        v["client_secret"].as_str().unwrap().to_string(),
    )
}

/// Every write the server acknowledged is in the database.
async fn assert_committed(c: &Cluster, t: &Tally) {
    let pool = core_auth::db::pool_for(
        core_auth::db::DbUrl::parse(c.db.url()).unwrap(),
        2,
        10,
        5000,
    )
    .unwrap();
    let emails = t.emails.clone();
    let refreshed = t.refreshed.clone();
    let (issued, missing_users, missing_rotations) = tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        let mut conn = pool.get().unwrap();
        // client_credentials tokens have no row each: their issuance
        // counters are written in the group commit before the answer.
        let issued: i64 = core_auth::db::schema::token_issuance::table
            .select(core_auth::db::schema::token_issuance::count)
            .load::<i64>(&mut *conn)
            .unwrap()
            .into_iter()
            .sum();
        let mut mu = 0;
        for e in &emails {
            if core_auth::users::find_by_email(&mut conn, e)
                .unwrap()
                .is_none()
            {
                mu += 1;
            }
        }
        // Every rotation answered 200: its new refresh token and access
        // token are recorded.
        let mut mr = 0;
        for (rt, at) in &refreshed {
            let rt_row = core_auth::oidc::tokens::find_refresh(&mut conn, rt).unwrap();
            let at_row = core_auth::oidc::tokens::find_access(&mut conn, at).unwrap();
            if rt_row.is_none() || at_row.is_none() {
                mr += 1;
            }
        }
        (issued, mu, mr)
    })
    .await
    .unwrap();
    assert!(
        issued as usize >= t.jtis.len(),
        "every acknowledged token is in the issuance audit ({issued} < {})",
        t.jtis.len()
    );
    assert_eq!(missing_users, 0, "acknowledged registrations missing");
    assert_eq!(missing_rotations, 0, "acknowledged refreshes missing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_one_node_under_load_the_other_serves_and_nothing_committed_is_lost() {
    if !cluster_available(true) {
        return;
    }
    let mut c = Cluster::start(2, true, false);
    let svc = service_client(&c);
    let chains = chains(&c, 4).await;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let start = Instant::now();
    let loader = tokio::spawn(load(
        c.url().to_string(),
        svc,
        4,
        start + Duration::from_secs(6),
        tally.clone(),
        Some(chains),
    ));
    tokio::time::sleep(Duration::from_secs(2)).await;
    c.nodes[1].kill9();
    let killed_at = start.elapsed();
    loader.await.unwrap();
    let t = std::mem::take(&mut *tally.lock().unwrap());
    let late: Vec<_> = t
        .failures
        .iter()
        .filter(|(at, _)| *at > killed_at + Duration::from_secs(1))
        .collect();
    assert!(t.ok > 20, "the cluster served load: {t:?}");
    assert!(
        late.is_empty(),
        "after the kill the surviving node served everything: {late:?}"
    );
    checked(&format!(
        "node1 killed -9 at {killed_at:?} under load: {} requests ok, {} failed around the kill, none after",
        t.ok,
        t.failures.len()
    ));
    assert_committed(&c, &t).await;
    checked(&format!(
        "all {} acknowledged tokens are in the issuance audit, {} refreshes' new tokens and {} registrations in the database",
        t.jtis.len(),
        t.refreshed.len(),
        t.emails.len()
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_node_killed_under_load_then_restarted_loses_no_committed_write() {
    if std::env::var(testkit::db::PG_ENV).is_ok_and(|v| !v.is_empty()) {
        eprintln!("SKIPPED: the SQLite crash test runs in the SQLite pass");
        return;
    }
    let mut c = Cluster::start(1, false, false);
    let svc = service_client(&c);
    let chains = chains(&c, 3).await;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let start = Instant::now();
    let loader = tokio::spawn(load(
        c.url().to_string(),
        svc.clone(),
        3,
        start + Duration::from_secs(5),
        tally.clone(),
        Some(chains),
    ));
    tokio::time::sleep(Duration::from_secs(3)).await;
    c.nodes[0].kill9();
    loader.await.unwrap();
    let env = c.env();
    c.nodes[0].restart(&env);
    c.nodes[0].wait_ready(Duration::from_secs(30));
    let t = std::mem::take(&mut *tally.lock().unwrap());
    assert!(t.ok > 10, "{t:?}");
    assert_committed(&c, &t).await;
    // And the restarted node works.
    let r = reqwest::Client::new()
        .post(format!("{}/token", c.url()))
        .basic_auth(&svc.0, Some(&svc.1))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    checked(&format!(
        "SQLite node killed -9 under load and restarted: all {} acknowledged writes present ({} refreshes)",
        t.jtis.len() + t.emails.len() + t.refreshed.len(),
        t.refreshed.len()
    ));
}

/// `PORTCULLIS_TEST_PG_RESTART=<cluster>:<port>` names a PostgreSQL cluster
/// of its own (not the one every other test uses) that this test may stop
/// and start; .ci/run creates it.
fn restartable_cluster() -> Option<(String, u16)> {
    let v = std::env::var("PORTCULLIS_TEST_PG_RESTART").ok()?;
    let (name, port) = v.split_once(':')?;
    Some((name.to_string(), port.parse().ok()?))
}

fn pg_ctl(cluster: &str, action: &str) {
    let version = std::fs::read_dir("/etc/postgresql")
        .ok()
        .and_then(|mut d| d.next())
        .and_then(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .expect("a PostgreSQL cluster in /etc/postgresql");
    let status = std::process::Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", &version, cluster, action])
        .status()
        .expect("pg_ctlcluster");
    assert!(status.success(), "pg_ctlcluster {action}");
}

/// Stops and starts a PostgreSQL cluster of its own, under load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load_requests_fail_cleanly_and_the_nodes_recover() {
    if !cluster_available(true) {
        return;
    }
    let Some((pg_cluster, pg_port)) = restartable_cluster() else {
        eprintln!(
            "SKIPPED: restarting PostgreSQL needs PORTCULLIS_TEST_PG_RESTART=<cluster>:<port>"
        );
        return;
    };
    let db =
        testkit::TestDb::postgres(&format!("postgres://postgres@127.0.0.1:{pg_port}/postgres"));
    let c = Cluster::start_on(db, 2, true, false);
    let svc = service_client(&c);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    // Warm both nodes.
    for _ in 0..4 {
        let r = http
            .post(format!("{}/token", c.url()))
            .basic_auth(&svc.0, Some(&svc.1))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    pg_ctl(&pg_cluster, "stop");
    let mut outage = Vec::new();
    for _ in 0..6 {
        let t0 = Instant::now();
        let r = http
            .post(format!("{}/token", c.url()))
            .basic_auth(&svc.0, Some(&svc.1))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        let took = t0.elapsed();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        outage.push((
            status,
            body["error"].as_str().unwrap_or_default().to_string(),
            took,
        ));
        let ready = http
            .get(format!("{}/readyz", c.nodes[0].url))
            .send()
            .await
            .unwrap();
        assert_eq!(
            ready.status(),
            503,
            "/readyz says the database is unreachable"
        );
    }
    pg_ctl(&pg_cluster, "start");
    for (status, error, took) in &outage {
        assert_eq!(
            *status, 503,
            "a clean 503 while the database is down: {outage:?}"
        );
        assert_eq!(error, "temporarily_unavailable");
        assert!(
            *took < Duration::from_secs(8),
            "no hang beyond the configured timeout: {took:?}"
        );
    }
    checked(&format!("PostgreSQL stopped: {} token requests answered 503 temporarily_unavailable, each within 8 s; /readyz 503", outage.len()));
    // Both nodes recover by themselves.
    let deadline = Instant::now() + Duration::from_secs(30);
    for node in &c.nodes {
        loop {
            let ok = http
                .post(format!("{}/token", node.url))
                .basic_auth(&svc.0, Some(&svc.1))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            let ready = http
                .get(format!("{}/readyz", node.url))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ok && ready {
                break;
            }
            assert!(Instant::now() < deadline, "{} did not recover", node.name);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    checked("PostgreSQL back: both nodes serve tokens and /readyz 200 again without a restart");
}
