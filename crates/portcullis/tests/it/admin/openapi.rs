//! The OpenAPI document: well formed, complete, and true. Every operation
//! it lists is called without a token (401), with tokens that may not use
//! the API (403), and as an administrator; each answer must be one the
//! document lists, with a body of the documented schema.

use std::collections::HashSet;

use serde_json::{json, Value};
use testkit::TestServer;

use super::{admin_token, assert_documented, call, openapi, service_token, user_token};

fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref" {
                    out.push(x.as_str().unwrap_or_default());
                }
                refs(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

/// A body with every required field of the schema, with placeholder values.
fn minimal(doc: &Value, schema: &Value) -> Value {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => schema,
    };
    let mut out = serde_json::Map::new();
    for r in schema["required"].as_array().cloned().unwrap_or_default() {
        let k = r.as_str().unwrap().to_string();
        let t = &schema["properties"][&k]["type"];
        let t = t.as_str().or_else(|| t[0].as_str()).unwrap_or("string");
        out.insert(
            k,
            match t {
                "array" => json!([]),
                "boolean" => json!(false),
                "integer" => json!(1),
                "object" => json!({}),
                _ => json!("placeholder"),
            },
        );
    }
    Value::Object(out)
}

#[actix_web::test]
async fn the_openapi_document_is_valid_and_every_operation_answers_as_documented() {
    let srv = TestServer::start().await;
    let doc = openapi(&srv).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "Portcullis admin API");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer",
        "the bearer scheme is declared"
    );
    let mut all_refs = vec![];
    refs(&doc, &mut all_refs);
    assert!(!all_refs.is_empty());
    for r in &all_refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{r} does not resolve"
        );
    }

    let admin = admin_token(&srv).await;
    let (_, no_scope) = service_token(&srv, &["reports"]).await;
    let not_admin = user_token(&srv, "plain@example.com", &[], "openid admin").await;

    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 20, "{} paths", paths.len());
    let mut ids = HashSet::new();
    let mut operations = 0;
    for (path, item) in paths {
        assert!(path.starts_with("/admin/api/v1/"), "{path}");
        for (method, op) in item.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            operations += 1;
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: no operationId"));
            assert!(ids.insert(id.to_string()), "operationId {id} is used twice");
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{id}: no tag"
            );
            assert!(op["security"].is_array(), "{id}: no security requirement");
            // Every {param} of the path is declared, and nothing else is.
            let in_path: HashSet<String> = path
                .split('/')
                .filter(|s| s.starts_with('{'))
                .map(|s| s.trim_matches(|c| c == '{' || c == '}').to_string())
                .collect();
            let declared: HashSet<String> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .map(|p| p["name"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(in_path, declared, "{id}: path parameters");
            for code in ["401", "403"] {
                assert!(
                    op["responses"][code].is_object(),
                    "{id} does not document {code}"
                );
            }

            let concrete: String = path
                .split('/')
                .map(|s| {
                    if s.starts_with('{') {
                        "no-such-thing"
                    } else {
                        s
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let body = op["requestBody"]["content"]["application/json"]["schema"]
                .as_object()
                .map(|s| minimal(&doc, &Value::Object(s.clone())));
            let m = method.to_uppercase();

            let r = call(&srv, &m, &concrete, None, body.clone()).await;
            assert_eq!(r.0, 401, "{id} without a token: {:?}", r.2);
            assert_eq!(r.1, "application/problem+json", "{id}");
            assert_documented(&doc, method, path, 401, &r.2);
            for (who, token) in [
                ("a token without the admin scope", &no_scope),
                ("a non-admin user", &not_admin),
            ] {
                let r = call(&srv, &m, &concrete, Some(token), body.clone()).await;
                assert_eq!(r.0, 403, "{id} with {who}: {:?}", r.2);
                assert_documented(&doc, method, path, 403, &r.2);
            }

            let r = call(&srv, &m, &concrete, Some(&admin), body.clone()).await;
            if !in_path.is_empty() {
                assert_eq!(r.0, 404, "{id} with an unknown id: {:?}", r.2);
            } else if m == "GET" {
                assert_eq!(r.0, 200, "{id}: {:?}", r.2);
            } else {
                assert!(r.0 < 500, "{id}: {} {:?}", r.0, r.2);
            }
            if !(r.0 == 200 && r.1.starts_with("text/csv")) {
                assert_documented(&doc, method, path, r.0, &r.2);
            }
        }
    }
    assert!(operations >= 34, "{operations} operations");
}

/// Sends `body` as `application/json` without serializing it.
async fn raw(srv: &TestServer, method: &str, path: &str, token: Option<&str>) -> reqwest::Response {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = reqwest::Client::new()
        .request(m, srv.at(path))
        .header("content-type", "application/json")
        .body(r#"{"name": "#);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

fn www_authenticate(r: &reqwest::Response) -> String {
    r.headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// The caller is checked before the body is read: with a malformed body,
/// every operation that takes one answers 401 without a token and 403 to a
/// token that may not use the API (audited), and only an administrator
/// learns that the body is malformed (400).
#[actix_web::test]
async fn a_malformed_body_is_only_reported_to_an_administrator() {
    let srv = TestServer::start().await;
    let doc = openapi(&srv).await;
    let admin = admin_token(&srv).await;
    let (_, no_scope) = service_token(&srv, &["reports"]).await;
    let not_admin = user_token(&srv, "plain@example.com", &[], "openid admin").await;
    let mut checked = vec![];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op["requestBody"].is_null() {
                continue;
            }
            let m = method.to_uppercase();
            let concrete: String = path
                .split('/')
                .map(|s| {
                    if s.starts_with('{') {
                        "no-such-thing"
                    } else {
                        s
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let what = format!("{m} {path}");

            let r = raw(&srv, &m, &concrete, None).await;
            assert_eq!(r.status(), 401, "{what} without a token");
            assert_eq!(www_authenticate(&r), r#"Bearer realm="portcullis-admin""#);
            let r = raw(&srv, &m, &concrete, Some("not.a.jwt")).await;
            assert_eq!(r.status(), 401, "{what} with a bad token");
            assert!(www_authenticate(&r).contains(r#"error="invalid_token""#));
            for (who, token) in [("no admin scope", &no_scope), ("not an admin", &not_admin)] {
                let before = super::api::events(&srv, "permission_denied").await.len();
                let r = raw(&srv, &m, &concrete, Some(token)).await;
                assert_eq!(r.status(), 403, "{what}: {who}");
                assert!(
                    www_authenticate(&r).contains(r#"error="insufficient_scope""#),
                    "{what}: {who}"
                );
                assert_eq!(
                    r.headers()["content-type"],
                    "application/problem+json",
                    "{what}"
                );
                let after = super::api::events(&srv, "permission_denied").await.len();
                assert_eq!(after, before + 1, "{what}: {who} is audited");
            }
            let r = raw(&srv, &m, &concrete, Some(&admin)).await;
            assert_eq!(r.status(), 400, "{what} as an administrator");
            checked.push(what);
        }
    }
    assert!(checked.len() >= 8, "{checked:?}");
    // Unknown routes are behind the same check.
    let r = raw(&srv, "POST", "/admin/api/v1/nothing-here", None).await;
    assert_eq!(r.status(), 401);
    let r = raw(&srv, "POST", "/admin/api/v1/nothing-here", Some(&not_admin)).await;
    assert_eq!(r.status(), 403);
    // The description stays public.
    let r = reqwest::get(srv.at("/admin/api/v1/openapi.json"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
