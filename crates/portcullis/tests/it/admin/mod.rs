//! The admin console and the admin API.

mod api;
mod api_providers;
mod api_system;
mod api_users;
mod browser;
mod cli_admin;
mod console;
pub mod faces;
mod mfa;
mod openapi;
mod providers;
mod reauth;
mod search_plans;
mod signing_algs;

use core_auth::clients::ClientSpec;
use serde_json::Value;
use testkit::oidc::TestClient;
use testkit::TestServer;

use crate::oidc_support::{code, exchange, s};
use crate::util::PASSWORD;

/// A browser-like client signed in as a new administrator.
pub async fn admin_browser(srv: &TestServer, email: &str) -> (reqwest::Client, String) {
    let u = srv
        .create_user(email, "Ada Admin", PASSWORD, &["admin"])
        .await;
    let c = srv.client();
    srv.sign_in(&c, email, PASSWORD).await;
    (c, u.user.id)
}

/// A client_credentials client with the given extra scopes, and its token.
pub async fn service_token(srv: &TestServer, scopes: &[&str]) -> (TestClient, String) {
    let client = srv
        .register(ClientSpec {
            name: format!("Service {}", scopes.join(" ")),
            grant_types: vec!["client_credentials".into()],
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            ..ClientSpec::default()
        })
        .await;
    let (status, _, json) = srv
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some((
                &client.client_id,
                client.secret.as_deref().unwrap_or_default(),
            )),
        )
        .await;
    assert_eq!(status, 200, "{json}");
    let at = s(&json, "access_token");
    (client, at)
}

/// The admin API token of a service allowed the `admin` scope.
pub async fn admin_token(srv: &TestServer) -> String {
    service_token(srv, &["admin"]).await.1
}

/// A user's access token from the authorization code flow with `scope`,
/// through an application allowed the `admin` scope.
pub async fn user_token(srv: &TestServer, email: &str, roles: &[&str], scope: &str) -> String {
    srv.create_user(email, "Token Person", PASSWORD, roles)
        .await;
    let app = srv
        .register(ClientSpec {
            name: "Admin tool".into(),
            redirect_uris: vec!["https://tool.example.com/cb".into()],
            scopes: vec!["admin".into()],
            skip_consent: true,
            ..ClientSpec::default()
        })
        .await;
    let b = srv.client();
    srv.sign_in(&b, email, PASSWORD).await;
    let (c, v) = code(srv, &b, &app, &[("scope", scope)]).await;
    let (status, json) = exchange(srv, &app, &c, &v).await;
    assert_eq!(status, 200, "{json}");
    s(&json, "access_token")
}

/// Calls the API; (status, content type, JSON body or Null).
pub async fn call(
    srv: &TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, String, Value) {
    let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let mut req = reqwest::Client::new().request(m, srv.at(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = r.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, ct, json)
}

/// Asserts a problem document with `status`.
pub fn assert_problem(got: &(u16, String, Value), status: u16) {
    assert_eq!(got.0, status, "{:?}", got.2);
    assert_eq!(got.1, "application/problem+json", "{:?}", got.2);
    assert_eq!(got.2["status"], status, "{:?}", got.2);
    assert!(
        got.2["title"].is_string() && got.2["type"].is_string(),
        "{:?}",
        got.2
    );
}

/// The messages of a 422 problem for `field`.
pub fn field_errors(p: &Value, field: &str) -> Vec<String> {
    p["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["field"] == field)
                .map(|e| e["message"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Fetches the OpenAPI document.
pub async fn openapi(srv: &TestServer) -> Value {
    let (status, _, doc) = call(srv, "GET", "/admin/api/v1/openapi.json", None, None).await;
    assert_eq!(status, 200);
    doc
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            let target = &doc["components"]["schemas"][name];
            assert!(!target.is_null(), "unresolved $ref {r}");
            resolve(doc, target)
        }
        None => schema,
    }
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => false,
    }
}

/// Checks `v` against an OpenAPI 3.1 schema (the parts utoipa emits:
/// `$ref`, `type` or type lists, `required`, `properties`, `items`,
/// `allOf`, `oneOf`); the error names the path.
pub fn conforms(doc: &Value, schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            conforms(doc, s, v, at)?;
        }
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        let ok = one
            .iter()
            .filter(|s| conforms(doc, s, v, at).is_ok())
            .count();
        if ok != 1 {
            return Err(format!("{at}: matches {ok} of the oneOf schemas: {v}"));
        }
    }
    match schema.get("type") {
        Some(Value::String(t)) if !type_ok(t, v) => return Err(format!("{at}: not {t}: {v}")),
        Some(Value::Array(ts)) if !ts.iter().any(|t| type_ok(t.as_str().unwrap_or(""), v)) => {
            return Err(format!("{at}: none of {ts:?}: {v}"))
        }
        _ => {}
    }
    if let Some(req) = schema.get("required").and_then(Value::as_array) {
        for r in req {
            let k = r.as_str().unwrap_or_default();
            if v.get(k).is_none() {
                return Err(format!("{at}: missing required {k}: {v}"));
            }
        }
    }
    if let (Some(props), Some(obj)) = (
        schema.get("properties").and_then(Value::as_object),
        v.as_object(),
    ) {
        for (k, s) in props {
            if let Some(x) = obj.get(k) {
                conforms(doc, s, x, &format!("{at}.{k}"))?;
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            conforms(doc, items, x, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// Asserts that `body` is the documented answer of `method path` with
/// `status` (by the document's own response schema).
pub fn assert_documented(doc: &Value, method: &str, path: &str, status: u16, body: &Value) {
    let op = &doc["paths"][path][method.to_lowercase()];
    assert!(op.is_object(), "{method} {path} is not in the document");
    let resp = &op["responses"][status.to_string()];
    assert!(
        resp.is_object(),
        "{method} {path} does not document {status}: {body}"
    );
    if let Some(content) = resp.get("content").and_then(Value::as_object) {
        let (_, media) = content
            .iter()
            .find(|(ct, _)| ct.contains("json"))
            .unwrap_or_else(|| content.iter().next().unwrap());
        if let Some(schema) = media.get("schema") {
            if let Err(e) = conforms(doc, schema, body, "body") {
                panic!("{method} {path} {status}: {e}");
            }
        }
    }
}
