//! A client's signing algorithm (`id_token_signed_response_alg`) on every
//! face: the console's client form, the admin API and the command line
//! register and change it; a name Portcullis does not know, or one this
//! server has no keys for (PS256 is not in the default `keys.algorithms`),
//! is refused on each with the same field; the tokens of a client
//! registered with ES256 carry it.

use serde_json::{json, Value};
use testkit::{html, TestServer};

use super::api::V1;
use super::faces::cli;
use super::{admin_browser, admin_token, call, field_errors};
use crate::oidc_support::jwt_header;

const FIELD: &str = "id_token_signed_response_alg";

/// What each face must refuse, and a fragment of why.
const REFUSED: [(&str, &str); 3] = [
    ("ES512", "Unknown signing algorithm"),
    ("es256", "Unknown signing algorithm"),
    ("PS256", "no PS256 signing keys"),
];

async fn console_post(
    srv: &TestServer,
    c: &reqwest::Client,
    action: &str,
    alg: &str,
) -> (u16, String) {
    let (_, page) = srv.get(c, "/admin/clients/new").await;
    let token = html::csrf(&page);
    let form = [
        ("csrf_token", token.as_str()),
        ("name", "Console app"),
        ("auth_method", "client_secret_basic"),
        ("redirect_uris", "https://console.example.com/cb"),
        ("grant.authorization_code", "on"),
        (FIELD, alg),
    ];
    let r = c.post(srv.at(action)).form(&form).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

#[actix_web::test]
async fn the_console_registers_changes_and_refuses_algorithms() {
    let srv = TestServer::start().await;
    let (admin, _) = admin_browser(&srv, "alg-admin@example.com").await;
    let (_, form) = srv.get(&admin, "/admin/clients/new").await;
    for alg in ["RS256", "PS256", "ES256", "EdDSA"] {
        assert!(form.contains(&format!("<option value=\"{alg}\"")), "{alg}");
    }
    assert!(
        form.contains("<option value=\"RS256\" selected>"),
        "RS256 by default"
    );

    let (status, page) = console_post(&srv, &admin, "/admin/clients", "ES256").await;
    assert_eq!(status, 201, "{page}");
    assert!(page.contains("<option value=\"ES256\" selected>"), "{page}");
    let id = page
        .split("id=\"client-id\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_string();
    let stored = srv
        .with_db({
            let id = id.clone();
            move |c| core_auth::clients::find(c, &id).unwrap().unwrap()
        })
        .await;
    assert_eq!(stored.id_token_signed_response_alg.as_str(), "ES256");

    let (status, _) = console_post(&srv, &admin, &format!("/admin/clients/{id}"), "EdDSA").await;
    assert_eq!(status, 303, "saved");
    let (_, page) = srv.get(&admin, &format!("/admin/clients/{id}")).await;
    assert!(page.contains("<option value=\"EdDSA\" selected>"), "{page}");

    for (alg, says) in REFUSED {
        let (status, page) = console_post(&srv, &admin, "/admin/clients", alg).await;
        assert_eq!(status, 422, "{alg}");
        assert!(
            page.contains(&format!("data-field=\"{FIELD}\"")),
            "{alg}: {page}"
        );
        assert!(page.contains(says), "{alg}: {page}");
        let (status, _) = console_post(&srv, &admin, &format!("/admin/clients/{id}"), alg).await;
        assert_eq!(status, 422, "{alg} on update");
    }
}

#[actix_web::test]
async fn the_api_registers_changes_and_refuses_algorithms() {
    let srv = TestServer::start().await;
    let t = admin_token(&srv).await;
    let body =
        |alg: &str| json!({"name": "Svc", "grant_types": ["client_credentials"], FIELD: alg});
    let r = call(
        &srv,
        "POST",
        &format!("{V1}/clients"),
        Some(&t),
        Some(body("ES256")),
    )
    .await;
    assert_eq!(r.0, 201, "{:?}", r.2);
    assert_eq!(r.2[FIELD], "ES256");
    let (id, secret) = (
        r.2["client_id"].as_str().unwrap().to_string(),
        r.2["client_secret"].as_str().unwrap().to_string(),
    );
    // Its access token is signed with the ES256 key.
    let (status, _, tokens) = srv
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some((&id, &secret)),
        )
        .await;
    assert_eq!(status, 200, "{tokens}");
    let h = jwt_header(tokens["access_token"].as_str().unwrap());
    assert_eq!(h["alg"], "ES256");
    assert_eq!(
        h["kid"].as_str(),
        srv.ctx
            .keys
            .active_kid_of(core_auth::keys::Algorithm::Es256)
            .as_deref()
    );
    // Introspection and the resource server's checks accept it.
    let (status, _, intro) = srv
        .post_form(
            "/introspect",
            &[("token", tokens["access_token"].as_str().unwrap())],
            Some((&id, &secret)),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(intro["active"], true, "{intro}");

    let r = call(
        &srv,
        "PUT",
        &format!("{V1}/clients/{id}"),
        Some(&t),
        Some(body("EdDSA")),
    )
    .await;
    assert_eq!(r.0, 200, "{:?}", r.2);
    assert_eq!(r.2[FIELD], "EdDSA");
    let r = call(
        &srv,
        "PUT",
        &format!("{V1}/clients/{id}"),
        Some(&t),
        Some(body("")),
    )
    .await;
    assert_eq!(r.2[FIELD], "RS256", "empty is the default");
    for (alg, says) in REFUSED {
        for (method, path) in [
            ("POST", format!("{V1}/clients")),
            ("PUT", format!("{V1}/clients/{id}")),
        ] {
            let r = call(&srv, method, &path, Some(&t), Some(body(alg))).await;
            assert_eq!(r.0, 422, "{method} {alg}: {:?}", r.2);
            let errs = field_errors(&r.2, FIELD);
            assert!(
                errs.iter().any(|e| e.contains(says)),
                "{method} {alg}: {errs:?}"
            );
        }
    }
}

#[actix_web::test]
async fn the_command_line_registers_changes_and_refuses_algorithms() {
    let srv = TestServer::start().await;
    let json_of = |out: &std::process::Output| -> Value {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let created = json_of(
        &cli(
            &srv,
            &[
                "clients",
                "create",
                "--name",
                "Cli app",
                "--grant-type",
                "client_credentials",
                "--id-token-alg",
                "ES256",
            ],
        )
        .await,
    );
    assert_eq!(created[FIELD], "ES256");
    let id = created["client_id"].as_str().unwrap().to_string();
    let updated = json_of(&cli(&srv, &["clients", "update", &id, "--id-token-alg", "EdDSA"]).await);
    assert_eq!(updated[FIELD], "EdDSA");
    let renamed = json_of(&cli(&srv, &["clients", "update", &id, "--name", "Renamed"]).await);
    assert_eq!(renamed["name"], "Renamed");
    assert_eq!(renamed[FIELD], "EdDSA", "what was not given stays");
    assert!(
        renamed.get("client_secret").is_none(),
        "the secret is not shown again"
    );
    let refused = |out: std::process::Output, says: &str| {
        assert!(!out.status.success(), "{says}: should fail");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(err.contains(says), "{says}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    };
    for (alg, says) in REFUSED {
        refused(
            cli(
                &srv,
                &[
                    "clients",
                    "create",
                    "--name",
                    "Bad",
                    "--grant-type",
                    "client_credentials",
                    "--id-token-alg",
                    alg,
                ],
            )
            .await,
            says,
        );
        refused(
            cli(&srv, &["clients", "update", &id, "--id-token-alg", alg]).await,
            says,
        );
    }
    refused(
        cli(&srv, &["clients", "update", &id]).await,
        "nothing to change",
    );
    refused(
        cli(&srv, &["clients", "update", "nope", "--name", "x"]).await,
        "no client nope",
    );
    let shown = json_of(&cli(&srv, &["clients", "show", &id]).await);
    assert_eq!(shown[FIELD], "EdDSA");
    let table = String::from_utf8_lossy(&cli(&srv, &["clients", "list"]).await.stdout).into_owned();
    let row = table
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_default();
    assert!(table.contains("ALG") && row.contains("EdDSA"), "{table}");
}
