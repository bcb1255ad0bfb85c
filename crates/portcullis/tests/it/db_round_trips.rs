//! Database round trips on the hot paths, counted.
//!
//! Every statement a connection sends is recorded through diesel's
//! instrumentation (`set_default_instrumentation`: installed on each
//! connection as it is established, in this test process only; production
//! code is unchanged and pays nothing). That includes the pool's check on
//! checkout (`SELECT 1`) and `BEGIN`/`COMMIT`: on PostgreSQL each is a
//! network round trip, on SQLite a statement and a lock.
//!
//! Each test warms the path up once, then counts one request. A change that
//! adds a round trip fails here; a change that removes one should lower the
//! budget (the failure message lists the statements).

use std::collections::HashMap;
use std::sync::{Mutex, Once, OnceLock};

use core_auth::clients::ClientSpec;
use core_auth::db::DbUrl;
use diesel::connection::{set_default_instrumentation, Instrumentation, InstrumentationEvent};
use testkit::oidc::TestClient;
use testkit::TestServer;

use crate::oidc_support::*;

/// Statements sent, per database (the URL or path the connection opened).
fn statements_log() -> &'static Mutex<HashMap<String, Vec<String>>> {
    static LOG: OnceLock<Mutex<HashMap<String, Vec<String>>>> = OnceLock::new();
    LOG.get_or_init(Default::default)
}

struct Recorder {
    database: Option<String>,
}

impl Instrumentation for Recorder {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartEstablishConnection { url, .. } => {
                self.database = Some(url.to_string());
            }
            InstrumentationEvent::StartQuery { query, .. } => {
                if let Some(db) = &self.database {
                    statements_log()
                        .lock()
                        .unwrap()
                        .entry(db.clone())
                        .or_default()
                        .push(query.to_string());
                }
            }
            _ => {}
        }
    }
}

fn recorder() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(Recorder { database: None }))
}

/// A server whose every connection is recorded.
async fn server() -> TestServer {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| set_default_instrumentation(recorder).unwrap());
    TestServer::start().await
}

/// The name this server's connections were opened with.
fn database_of(srv: &TestServer) -> String {
    match DbUrl::parse(srv.db.url()).unwrap() {
        DbUrl::Sqlite(path) => path.to_string_lossy().into_owned(),
        DbUrl::Postgres(url) => url,
    }
}

fn sent(srv: &TestServer) -> Vec<String> {
    statements_log()
        .lock()
        .unwrap()
        .get(&database_of(srv))
        .cloned()
        .unwrap_or_default()
}

/// The statements `request` makes the server send.
async fn count<F, Fut>(srv: &TestServer, request: F) -> Vec<String>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let before = sent(srv).len();
    request().await;
    sent(srv).split_off(before)
}

#[track_caller]
fn within(what: &str, statements: &[String], budget: usize) {
    let listing = statements
        .iter()
        .enumerate()
        .map(|(i, s)| format!("  {}. {}", i + 1, s.chars().take(200).collect::<String>()))
        .collect::<Vec<_>>()
        .join("\n");
    eprintln!(
        "{what}: {} round trips (budget {budget})\n{listing}",
        statements.len()
    );
    assert!(
        statements.len() <= budget,
        "{what}: {} database round trips, budget {budget}:\n{listing}",
        statements.len()
    );
}

async fn service(srv: &TestServer) -> TestClient {
    srv.register(ClientSpec {
        name: "Service".into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["api:read".into()],
        ..ClientSpec::default()
    })
    .await
}

fn basic(c: &TestClient) -> Option<(&str, &str)> {
    Some((&c.client_id, c.secret.as_deref().unwrap_or_default()))
}

/// Tokens (with a refresh token) for a signed-in user of `app`.
async fn user_tokens(srv: &TestServer, app: &TestClient) -> serde_json::Value {
    let b = signed_in(srv, "rt@example.com").await;
    let (c, v) = code(srv, &b, app, &[("scope", "openid email offline_access")]).await;
    let (status, t) = exchange(srv, app, &c, &v).await;
    assert_eq!(status, 200, "{t}");
    t
}

#[actix_web::test]
async fn discovery_and_jwks_never_touch_the_database() {
    let srv = server().await;
    let http = reqwest::Client::new();
    for path in ["/.well-known/openid-configuration", "/jwks"] {
        http.get(srv.at(path)).send().await.unwrap();
        let sql = count(&srv, || async {
            let r = http.get(srv.at(path)).send().await.unwrap();
            assert_eq!(r.status(), 200);
        })
        .await;
        within(path, &sql, 0);
    }
}

#[actix_web::test]
async fn client_credentials_round_trips() {
    let srv = server().await;
    let svc = service(&srv).await;
    let form = [("grant_type", "client_credentials")];
    srv.post_form("/token", &form, basic(&svc)).await;
    let sql = count(&srv, || async {
        let (status, _, t) = srv.post_form("/token", &form, basic(&svc)).await;
        assert_eq!(status, 200, "{t}");
    })
    .await;
    // The client's lookup, then its group commit alone: BEGIN, the issuance
    // counter, COMMIT (no token row, no audit row per token).
    within("POST /token client_credentials", &sql, 4);
}

#[actix_web::test]
async fn userinfo_round_trips() {
    let srv = server().await;
    let app = srv.web_client().await;
    let t = user_tokens(&srv, &app).await;
    let at = s(&t, "access_token");
    assert_eq!(userinfo_status(&srv, &at).await, 200);
    let sql = count(&srv, || async {
        assert_eq!(userinfo_status(&srv, &at).await, 200);
    })
    .await;
    within("GET /userinfo", &sql, 1);
}

#[actix_web::test]
async fn introspect_round_trips() {
    let srv = server().await;
    let app = srv.web_client().await;
    let t = user_tokens(&srv, &app).await;
    let at = s(&t, "access_token");
    let form = [("token", at.as_str())];
    srv.post_form("/introspect", &form, basic(&app)).await;
    let sql = count(&srv, || async {
        let (status, _, v) = srv.post_form("/introspect", &form, basic(&app)).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["active"], true, "{v}");
    })
    .await;
    within("POST /introspect (access token)", &sql, 2);
}

#[actix_web::test]
async fn refresh_round_trips() {
    let srv = server().await;
    let app = srv.web_client().await;
    let t = user_tokens(&srv, &app).await;
    let (status, t1) = refresh(&srv, &app, &s(&t, "refresh_token"), None).await;
    assert_eq!(status, 200, "{t1}");
    let rt1 = s(&t1, "refresh_token");
    let sql = count(&srv, || async {
        let (status, t2) = refresh(&srv, &app, &rt1, None).await;
        assert_eq!(status, 200, "{t2}");
    })
    .await;
    within("POST /token refresh_token", &sql, 9);
}
