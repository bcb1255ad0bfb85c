//! Two nodes on one PostgreSQL database behind nginx behave as one server.

use std::collections::HashSet;

use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;
use testkit::cluster::cluster_available;

use crate::support::*;

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

fn jwt_kid(token: &str) -> String {
    let h = token.split('.').next().unwrap();
    let v: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(h)
            .unwrap(),
    )
    .unwrap();
    v["kid"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_behind_nginx_behave_as_one_server() {
    if !cluster_available(true) {
        return;
    }
    let c = tokio::task::spawn_blocking(|| Cluster::start(2, true, true))
        .await
        .unwrap();
    let base = c.url().to_string();
    let (n0, n1) = (c.nodes[0].url.clone(), c.nodes[1].url.clone());
    // (The CLI runs as a child process; a short blocking wait is fine here.)
    c.create_user("alice@example.com");
    c.create_user("bob@example.com");
    let client = c.web_client();

    // 1. A session made on one node works on the other.
    let b = browser();
    let r = sign_in(&b, &base, "alice@example.com", PASSWORD).await;
    assert_eq!(
        r.status(),
        303,
        "sign-in through nginx; nginx says: {}",
        c.proxy_errors()
    );
    let mut served_by = HashSet::new();
    for _ in 0..6 {
        let r = b.get(format!("{base}/account")).send().await.unwrap();
        assert_eq!(r.status(), 200, "the session is valid on {}", upstream(&r));
        served_by.insert(upstream(&r));
    }
    assert_eq!(
        served_by.len(),
        2,
        "consecutive requests landed on both nodes: {served_by:?}"
    );
    checked("a session made on one node works on the other (account page served by both)");

    // 2. A code issued by one node is redeemed at the other.
    let (code, verifier, issued_by) =
        authorize(&b, &base, &client.0, "openid offline_access").await;
    let other = if issued_by.ends_with(&c.nodes[0].port.to_string()) {
        &n1
    } else {
        &n0
    };
    let (status, t) = token(
        other,
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
    let (status, _) = token(
        if other == &n0 { &n1 } else { &n0 },
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://app.example.com/cb"),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 400, "the replay at the first node is refused");
    checked(&format!("a code issued by {issued_by} was redeemed at {other}; its replay at the other node was refused"));

    // 3. Refresh rotation and reuse detection across nodes (a new grant:
    // the replay above revoked the first one, as it must).
    let (code, verifier, _) = authorize(&b, &base, &client.0, "openid offline_access").await;
    let (status, t) = token(
        &n1,
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
    let rt0 = s(&t, "refresh_token");
    let (status, t1) = token(
        &n0,
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt0)],
    )
    .await;
    assert_eq!(status, 200);
    let (status, e) = token(
        &n1,
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt0)],
    )
    .await;
    assert_eq!(
        (status, s(&e, "error")),
        (400, "invalid_grant".to_string()),
        "reuse detected on the other node"
    );
    let (status, _) = token(
        &n0,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &s(&t1, "refresh_token")),
        ],
    )
    .await;
    assert_eq!(status, 400, "the family is revoked everywhere");
    checked("refresh rotated on node0; the rotated token at node1 revoked the family, seen again on node0");

    // 4. A key rotated through one node is in the other's JWKS and its tokens verify there.
    let old_kid = jwt_kid(&s(&t, "access_token"));
    c.cli(&["keys", "rotate"], "");
    let deadline = Instant::now() + Duration::from_secs(10);
    let fresh = loop {
        let (code, verifier, _) = authorize(&b, &n0, &client.0, "openid").await;
        let (_, t2) = token(
            &n0,
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://app.example.com/cb"),
                ("code_verifier", &verifier),
            ],
        )
        .await;
        let at = s(&t2, "access_token");
        if jwt_kid(&at) != old_kid {
            break at;
        }
        assert!(
            Instant::now() < deadline,
            "node0 never switched to the new key"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let new_kid = jwt_kid(&fresh);
    let jwks: Value = reqwest::get(format!("{n1}/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&new_kid.as_str()) && kids.contains(&old_kid.as_str()),
        "{kids:?}"
    );
    let r = reqwest::Client::new()
        .get(format!("{n1}/userinfo"))
        .bearer_auth(&fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a token of the new key verifies on node1");
    checked(&format!(
        "key {new_kid} rotated in; node1 publishes it and accepts node0's tokens"
    ));
    // Every algorithm rotated with it: a client registered with ES256 gets
    // a token from node0 signed by the ES256 key now active, which node1
    // publishes (with its algorithm) and verifies.
    let svc: Value = serde_json::from_str(&c.cli(
        &[
            "clients",
            "create",
            "--name",
            "Cluster Service",
            "--grant-type",
            "client_credentials",
            "--id-token-alg",
            "ES256",
        ],
        "",
    ))
    .unwrap();
    let svc = (s(&svc, "client_id"), s(&svc, "client_secret"));
    let (status, t3) = token(&n0, &svc, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 200, "{t3}");
    let es = s(&t3, "access_token");
    let es_kid = jwt_kid(&es);
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == es_kid.as_str() && k["alg"] == "ES256"),
        "node1 publishes the ES256 key {es_kid}: {kids:?}"
    );
    let r = reqwest::Client::new()
        .post(format!("{n1}/introspect"))
        .basic_auth(&svc.0, Some(&svc.1))
        .form(&[("token", es.as_str())])
        .send()
        .await
        .unwrap();
    let intro: Value = r.json().await.unwrap();
    assert_eq!(
        intro["active"], true,
        "node1 verifies the ES256 token: {intro}"
    );
    checked(&format!(
        "an ES256 client's token from node0 (key {es_kid}) verifies on node1"
    ));

    // 5. The sign-in throttle is shared: failures alternate between the
    // nodes, then both refuse even the right password.
    for i in 0..5 {
        let node = if i % 2 == 0 { &n0 } else { &n1 };
        let r = sign_in(&browser(), node, "bob@example.com", "not the password").await;
        assert_eq!(r.status(), 401);
    }
    for node in [&n0, &n1] {
        let r = sign_in(&browser(), node, "bob@example.com", PASSWORD).await;
        assert_eq!(r.status(), 429, "the sixth attempt is throttled on {node}");
    }
    let r = sign_in(&browser(), &base, "bob@example.com", PASSWORD).await;
    assert_eq!(r.status(), 429);
    checked("five failures alternating node0/node1 throttled the account on both nodes and through nginx");

    // 6. Each outbox message is delivered once, with two workers polling.
    if let Some(smtp) = &c.smtp {
        let mut expected = 0;
        for i in 0..8 {
            let reg = browser();
            let page = reg
                .get(format!("{base}/register"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let csrf = testkit::html::csrf(&page);
            let r = reg
                .post(format!("{base}/register"))
                .form(&[
                    ("email", format!("new{i}@example.com")),
                    ("name", "New".into()),
                    ("password", PASSWORD.into()),
                    ("csrf_token", csrf),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            expected += 1;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        let got = loop {
            let got = smtp.received();
            if got.len() >= expected || Instant::now() > deadline {
                break got;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        };
        tokio::time::sleep(Duration::from_secs(3)).await;
        let got_later = smtp.received();
        assert_eq!(got.len(), expected, "every message arrived");
        assert_eq!(got_later.len(), expected, "and none twice");
        let ids: HashSet<i64> = got_later.iter().map(|m| m.id).collect();
        assert_eq!(ids.len(), expected);
        checked(&format!("{expected} registrations through nginx: {expected} mails, each delivered once by two workers"));
    }
}
