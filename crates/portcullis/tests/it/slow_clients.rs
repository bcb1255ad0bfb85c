//! Slow clients (finding 5): a body sent a byte at a time gets 408 and its
//! connection closed, while other requests are answered; one address
//! cannot hold more than `max_requests_per_ip` requests at once.

use std::time::Duration;

use testkit::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A `POST /token` promising 60,000 bytes and sending one.
async fn slow_post(srv: &TestServer) -> TcpStream {
    let url = url::Url::parse(&srv.at("/")).unwrap();
    let addr = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(
        b"POST /token HTTP/1.1\r\nHost: localhost\r\n\
          Content-Type: application/x-www-form-urlencoded\r\n\
          Content-Length: 60000\r\n\r\ng",
    )
    .await
    .unwrap();
    s
}

/// The status line the server answers on `s` (bounded wait: a test that
/// hangs is a failure too).
async fn status_line(s: &mut TcpStream) -> String {
    let mut buf = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(20), s.read(&mut buf))
        .await
        .expect("an answer within 20 s")
        .unwrap();
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Nothing has been answered on `s` yet.
fn unanswered(s: &TcpStream) -> bool {
    let mut buf = [0u8; 16];
    matches!(s.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

#[actix_web::test]
async fn a_slow_body_gets_408_while_other_requests_are_served() {
    let srv = TestServer::start_with(|c| c.body_read_timeout_secs = 5).await;
    let mut slow = Vec::new();
    for _ in 0..10 {
        slow.push(slow_post(&srv).await);
    }
    // While they are held, a normal request (and a normal POST) is answered.
    let r = reqwest::get(srv.at("/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = reqwest::Client::new()
        .post(srv.at("/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "an answer, not a wait");
    assert!(
        slow.iter().all(unanswered),
        "the slow requests are still waiting for their bodies"
    );
    for s in &mut slow {
        let line = status_line(s).await;
        assert!(line.starts_with("HTTP/1.1 408"), "{line}");
    }
}

#[actix_web::test]
async fn one_address_cannot_hold_more_than_its_share() {
    let srv = TestServer::start_with(|c| {
        c.body_read_timeout_secs = 6;
        c.max_requests_per_ip = 3;
    })
    .await;
    let mut slow = Vec::new();
    for _ in 0..3 {
        slow.push(slow_post(&srv).await);
    }
    // Let the server take them in.
    let mut refused = None;
    for _ in 0..200 {
        let r = reqwest::get(srv.at("/.well-known/openid-configuration"))
            .await
            .unwrap();
        if r.status() == 429 {
            refused = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = refused.expect("a fourth request from the address is refused");
    assert_eq!(r.headers()["retry-after"], "1");
    for s in &mut slow {
        assert!(status_line(s).await.starts_with("HTTP/1.1 408"));
    }
    // Their places are given back.
    let r = reqwest::get(srv.at("/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
