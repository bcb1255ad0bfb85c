//! Metrics (`/metrics`: format, counting, bearer token, separate listener),
//! security headers (HSTS) and HTTPS served directly (with a certificate
//! reloaded without a restart).

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use core_auth::clients::ClientSpec;
use prometheus_parse::{Scrape, Value};
use testkit::TestServer;

use crate::util::PASSWORD;

pub(crate) const TOKEN: &str = "metrics-token-0123456789abcdef";

/// A server with metrics on the main listener, behind `TOKEN`.
async fn with_metrics() -> TestServer {
    TestServer::start_with(|c| {
        c.metrics.enabled = true;
        c.metrics.bearer_token = TOKEN.into();
    })
    .await
}

/// GETs `/metrics` with the token, checks the exposition format line by
/// line, and parses it.
pub(crate) async fn scrape(srv: &TestServer) -> Scrape {
    let r = reqwest::Client::new()
        .get(srv.at("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ctype = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        ctype.starts_with("text/plain; version=0.0.4"),
        "content type {ctype}"
    );
    assert_eq!(r.headers()["cache-control"], "no-store");
    let text = r.text().await.unwrap();
    check_exposition(&text);
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap()
}

/// The value of the sample `metric` whose labels include `labels`.
pub(crate) fn value(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    s.samples
        .iter()
        .find(|x| x.metric == metric && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match &x.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            other => panic!("{metric} is not a scalar: {other:?}"),
        })
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// A strict reading of the Prometheus text format 0.0.4: comments are HELP
/// or TYPE lines (or free text), each family is typed once and its samples
/// follow its TYPE line, labels are `name="escaped value"`, values are
/// floats. Panics with the offending line.
fn check_exposition(text: &str) {
    assert!(
        text.ends_with('\n'),
        "the last line must end with a newline"
    );
    let mut typed: HashMap<String, String> = HashMap::new();
    let mut family: Option<(String, String)> = None;
    let mut samples = 0;
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut parts = comment.trim_start().splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("HELP"), Some(name), _) => assert!(is_name(name), "{line}"),
                (Some("TYPE"), Some(name), Some(ty)) => {
                    assert!(is_name(name), "{line}");
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&ty),
                        "{line}"
                    );
                    assert!(
                        typed.insert(name.into(), ty.into()).is_none(),
                        "typed twice: {line}"
                    );
                    family = Some((name.into(), ty.into()));
                }
                _ => {}
            }
            continue;
        }
        // name
        let end = line
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or_else(|| panic!("no value: {line}"));
        let name = &line[..end];
        assert!(is_name(name), "{line}");
        let (base, ty) = family
            .as_ref()
            .unwrap_or_else(|| panic!("sample before any TYPE: {line}"));
        let ok = match ty.as_str() {
            "histogram" => [
                base.clone(),
                format!("{base}_bucket"),
                format!("{base}_sum"),
                format!("{base}_count"),
            ]
            .contains(&name.to_string()),
            _ => name == base,
        };
        assert!(ok, "sample {name} outside its family {base}: {line}");
        // labels
        let mut rest = &line[end..];
        if let Some(after) = rest.strip_prefix('{') {
            rest = after;
            loop {
                if let Some(after) = rest.strip_prefix('}') {
                    rest = after;
                    break;
                }
                let eq = rest.find('=').unwrap_or_else(|| panic!("label: {line}"));
                assert!(is_name(&rest[..eq]), "label name: {line}");
                rest = rest[eq + 1..]
                    .strip_prefix('"')
                    .unwrap_or_else(|| panic!("label value not quoted: {line}"));
                let mut escaped = false;
                let mut close = None;
                for (i, c) in rest.char_indices() {
                    match (escaped, c) {
                        (true, '\\' | '"' | 'n') => escaped = false,
                        (true, _) => panic!("bad escape: {line}"),
                        (false, '\\') => escaped = true,
                        (false, '"') => {
                            close = Some(i);
                            break;
                        }
                        (false, '\n') => panic!("raw newline: {line}"),
                        _ => {}
                    }
                }
                let close = close.unwrap_or_else(|| panic!("unterminated label: {line}"));
                rest = &rest[close + 1..];
                if let Some(after) = rest.strip_prefix(',') {
                    rest = after;
                }
            }
        }
        // value [timestamp]
        let mut fields = rest
            .strip_prefix(' ')
            .unwrap_or_else(|| panic!("no space before the value: {line}"))
            .split(' ');
        let v = fields.next().unwrap_or_default();
        assert!(
            v.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&v),
            "value {v:?}: {line}"
        );
        if let Some(ts) = fields.next() {
            assert!(ts.parse::<i64>().is_ok(), "timestamp: {line}");
        }
        assert!(fields.next().is_none(), "trailing fields: {line}");
        samples += 1;
    }
    assert!(samples > 0, "no samples:\n{text}");
}

#[actix_web::test]
async fn metrics_parse_as_prometheus_text_and_count_a_sign_in() {
    let srv = with_metrics().await;
    srv.create_user("m@example.com", "M", PASSWORD, &[]).await;

    let before = scrape(&srv).await;
    let ok = [("outcome", "success")];
    assert_eq!(
        value(&before, "portcullis_sign_ins_total", &ok).unwrap_or(0.0),
        0.0
    );

    // One wrong password, then a real sign-in through the pages.
    let b = srv.client();
    let r = srv
        .submit(
            &b,
            "/login",
            "/login",
            &[("email", "m@example.com"), ("password", "wrong password!")],
        )
        .await;
    assert_eq!(r.status(), 401);
    srv.sign_in(&b, "m@example.com", PASSWORD).await;

    // A client_credentials token.
    let svc = srv
        .register(ClientSpec {
            name: "Service".into(),
            grant_types: vec!["client_credentials".into()],
            ..ClientSpec::default()
        })
        .await;
    let (status, _, t) = srv
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some((&svc.client_id, svc.secret.as_deref().unwrap_or_default())),
        )
        .await;
    assert_eq!(status, 200, "{t}");

    let after = scrape(&srv).await;
    assert_eq!(value(&after, "portcullis_sign_ins_total", &ok), Some(1.0));
    assert_eq!(
        value(
            &after,
            "portcullis_sign_ins_total",
            &[("outcome", "bad_credentials")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &after,
            "portcullis_tokens_issued_total",
            &[("grant_type", "client_credentials")]
        ),
        Some(1.0)
    );
    // Requests are counted under their route pattern, method and status.
    assert_eq!(
        value(
            &after,
            "portcullis_http_requests_total",
            &[("route", "/login"), ("method", "POST"), ("status", "303")]
        ),
        Some(1.0)
    );
    assert!(
        value(
            &after,
            "portcullis_http_requests_total",
            &[("route", "/metrics"), ("method", "GET"), ("status", "200")]
        )
        .is_some(),
        "the first scrape is counted"
    );
    let login_latency = after
        .samples
        .iter()
        .find(|s| {
            s.metric == "portcullis_http_request_duration_seconds"
                && s.labels.get("route") == Some("/login")
        })
        .expect("a latency histogram for /login");
    match &login_latency.value {
        Value::Histogram(buckets) => {
            let inf = buckets.iter().find(|b| b.less_than.is_infinite()).unwrap();
            // GET + POST (wrong password) + GET + POST (sign-in)
            assert_eq!(inf.count, 4.0, "{buckets:?}");
        }
        other => panic!("not a histogram: {other:?}"),
    }
    // The scrape-time gauges: the signed-in session, the pool, the outbox.
    assert_eq!(value(&after, "portcullis_active_sessions", &[]), Some(1.0));
    assert_eq!(value(&after, "portcullis_database_up", &[]), Some(1.0));
    assert_eq!(
        value(&after, "portcullis_mail_outbox_backlog", &[]),
        Some(0.0)
    );
    assert_eq!(
        value(&after, "portcullis_db_pool_max_connections", &[]),
        Some(4.0)
    );
    assert!(value(&after, "portcullis_db_pool_connections", &[]).unwrap() >= 1.0);
    assert!(value(&after, "portcullis_db_pool_idle_connections", &[]).is_some());
}

#[actix_web::test]
async fn unmatched_paths_share_one_route_label() {
    let srv = with_metrics().await;
    let http = reqwest::Client::new();
    for p in ["/nope", "/nope/2", "/wp-login.php"] {
        let r = http.get(srv.at(p)).send().await.unwrap();
        assert_eq!(r.status(), 404);
    }
    let s = scrape(&srv).await;
    assert_eq!(
        value(
            &s,
            "portcullis_http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ),
        Some(3.0)
    );
    assert!(
        !s.samples
            .iter()
            .any(|x| x.labels.get("route").is_some_and(|r| r.contains("nope"))),
        "raw paths never become labels"
    );
}

#[actix_web::test]
async fn metrics_need_the_bearer_token() {
    let srv = with_metrics().await;
    let http = reqwest::Client::new();
    let r = http.get(srv.at("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let body = r.text().await.unwrap();
    assert!(!body.contains("portcullis_"), "{body}");
    for bad in ["Bearer wrong-token-0123456789", "Basic bWV0cmljczp4", TOKEN] {
        let r = http
            .get(srv.at("/metrics"))
            .header("authorization", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{bad}");
    }
    let r = http
        .get(srv.at("/metrics"))
        .header("authorization", format!("bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("portcullis_http_requests_total"));
}

#[actix_web::test]
async fn metrics_are_off_by_default() {
    let srv = TestServer::start().await;
    let r = reqwest::Client::new()
        .get(srv.at("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[actix_web::test]
async fn metrics_on_a_separate_listener_are_not_on_the_main_one() {
    let srv = TestServer::start_with(|c| {
        c.metrics.enabled = true;
        c.metrics.bind = "127.0.0.1:0".into();
    })
    .await;
    let addr = srv.ctx.metrics.listener().expect("metrics listener");
    let http = reqwest::Client::new();
    // Not on the main listener...
    let r = http.get(srv.at("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    // ...on its own, without a token (none is configured)...
    let r = http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    check_exposition(&text);
    // ...which serves nothing else.
    for p in [
        "/login",
        "/healthz",
        "/.well-known/openid-configuration",
        "/",
    ] {
        let r = http.get(format!("http://{addr}{p}")).send().await.unwrap();
        assert_eq!(r.status(), 404, "{p}");
    }
    // The main listener is unchanged.
    let r = http.get(srv.at("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[actix_web::test]
async fn hsts_only_with_an_https_issuer() {
    let http = reqwest::Client::new();
    let srv = TestServer::start_with(|c| {
        c.issuer = c.issuer.replace("http://", "https://");
    })
    .await;
    for p in ["/healthz", "/login", "/nope"] {
        let r = http.get(srv.at(p)).send().await.unwrap();
        assert_eq!(
            r.headers()
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap()),
            Some("max-age=31536000; includeSubDomains"),
            "{p}"
        );
    }
    drop(srv);
    let srv = TestServer::start().await;
    for p in ["/healthz", "/login", "/nope"] {
        let r = http.get(srv.at(p)).send().await.unwrap();
        assert!(
            r.headers().get("strict-transport-security").is_none(),
            "{p}"
        );
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    }
}

/// A test certificate authority and the server certificates it signs.
struct Ca {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    pem: String,
}

impl Ca {
    fn new() -> Ca {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Portcullis test CA");
        let key = rcgen::KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        Ca {
            issuer: rcgen::Issuer::new(params, key),
            pem,
        }
    }

    /// Writes a new certificate for 127.0.0.1 and its key; returns the
    /// certificate's DER.
    fn issue(&self, cert: &Path, key: &Path, mtime: SystemTime) -> Vec<u8> {
        let params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = params.signed_by(&leaf_key, &self.issuer).unwrap();
        std::fs::write(cert, leaf.pem()).unwrap();
        std::fs::write(key, leaf_key.serialize_pem()).unwrap();
        // File systems keep modification times coarsely; make this write
        // distinguishable from the previous one.
        for p in [cert, key] {
            std::fs::File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(mtime)
                .unwrap();
        }
        leaf.der().to_vec()
    }
}

/// The certificate a fresh TLS connection to `url` is shown.
async fn peer_certificate(ca_pem: &str, url: &str) -> Vec<u8> {
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .tls_info(true)
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let r = http.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let info = r
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .expect("TLS info");
    let der = info
        .peer_certificate()
        .expect("a peer certificate")
        .to_vec();
    assert_eq!(
        r.headers()
            .get("strict-transport-security")
            .map(|v| v.to_str().unwrap()),
        Some("max-age=31536000; includeSubDomains")
    );
    der
}

#[actix_web::test]
async fn tls_is_served_and_a_replaced_certificate_is_picked_up_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let ca = Ca::new();
    let t0 = SystemTime::now() - Duration::from_secs(3600);
    let first = ca.issue(&cert, &key, t0);
    let srv = TestServer::start_with(|c| {
        c.issuer = c.issuer.replace("http://", "https://");
        c.tls.cert = cert.clone();
        c.tls.key = key.clone();
        c.tls.reload_interval_secs = 1;
    })
    .await;
    let https = srv.url.replace("http://", "https://") + "/healthz";

    assert_eq!(peer_certificate(&ca.pem, &https).await, first);
    // Plain HTTP on the TLS port is not served.
    let plain = reqwest::Client::new().get(srv.at("/healthz")).send().await;
    assert!(plain.map(|r| r.status() != 200).unwrap_or(true));

    // A broken file keeps the current certificate.
    std::fs::write(&cert, "not a certificate").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&cert)
        .unwrap()
        .set_modified(t0 + Duration::from_secs(60))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(peer_certificate(&ca.pem, &https).await, first);

    // A new pair is presented within a few reload intervals.
    let second = ca.issue(&cert, &key, t0 + Duration::from_secs(120));
    assert_ne!(first, second);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let seen = peer_certificate(&ca.pem, &https).await;
        if seen == second {
            break;
        }
        assert_eq!(seen, first, "neither the old nor the new certificate");
        assert!(
            std::time::Instant::now() < deadline,
            "the new certificate was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[test]
fn check_config_loads_the_tls_files_and_refuses_public_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let check = |toml: &str| {
        std::fs::write(dir.path().join("portcullis.toml"), toml).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .arg("check-config")
            .current_dir(dir.path())
            .env_clear()
            .output()
            .unwrap()
    };
    let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    let ca = Ca::new();
    ca.issue(&cert, &key, SystemTime::now());
    let tls = format!(
        "issuer = \"https://127.0.0.1:9443\"\n[tls]\ncert = {:?}\nkey = {:?}\n",
        cert.display().to_string(),
        key.display().to_string()
    );
    let out = check(&tls);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(
        &key,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let out = check(&tls);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("tls.key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = check("[metrics]\nenabled = true\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("metrics.bearer_token"));
}
