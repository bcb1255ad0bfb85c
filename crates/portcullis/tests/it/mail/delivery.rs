//! Delivery: a real SMTP server, crashed workers, encryption at rest.

use super::*;

#[actix_web::test]
async fn smtp_transport_delivers_to_a_real_smtp_server_and_survives_an_outage() {
    let Some(mut smtp) = SmtpServer::reserve() else {
        return;
    };
    let port = smtp.port;
    let srv = TestServer::start_with(move |c| {
        c.mail.transport = MailTransport::Smtp;
        c.mail.smtp.host = "127.0.0.1".into();
        c.mail.smtp.port = port;
        c.mail.smtp.tls = SmtpTls::None;
        c.mail.smtp.timeout_secs = 2;
    })
    .await;
    let transport = portcullis::mailer::build(&srv.ctx.config).unwrap();
    // The server is down: the message stays queued.
    register(&srv, "queued@example.com").await;
    let n = portcullis::mailer::deliver_due(&srv.ctx, &transport, "w1")
        .await
        .unwrap();
    assert_eq!(n, 0);
    let backlog = srv
        .with_db(|c| core_auth::mail::outbox::backlog(c).unwrap())
        .await;
    assert_eq!(backlog, 1, "still queued after a failed attempt");
    // Back up: after the backoff it is delivered, exactly once.
    smtp.start();
    assert_eq!(
        portcullis::mailer::deliver_due(&srv.ctx, &transport, "w1")
            .await
            .unwrap(),
        0,
        "not before the backoff"
    );
    srv.clock
        .advance(srv.ctx.config.mail.max_retry_interval_secs);
    assert_eq!(
        portcullis::mailer::deliver_due(&srv.ctx, &transport, "w1")
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        portcullis::mailer::deliver_due(&srv.ctx, &transport, "w2")
            .await
            .unwrap(),
        0,
        "never twice"
    );
    srv.clock.advance(3600);
    assert_eq!(
        portcullis::mailer::deliver_due(&srv.ctx, &transport, "w2")
            .await
            .unwrap(),
        0
    );
    let got = smtp.received();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].to, "queued@example.com");
    assert_eq!(got[0].subject, "Confirm your email address");
    let link = got[0].link("/verify-email").unwrap();
    assert_eq!(
        reqwest::get(&link).await.unwrap().status(),
        200,
        "the link read back from the SMTP server works"
    );
    let sent = srv
        .with_db(|c| core_auth::mail::outbox::backlog(c).unwrap())
        .await;
    assert_eq!(sent, 0);
}

#[actix_web::test]
async fn a_crashed_workers_claim_expires_and_the_message_is_sent_by_another() {
    let srv = TestServer::start().await;
    register(&srv, "lease@example.com").await;
    let now = srv.ctx.now();
    // Worker A claims and dies before sending.
    let claimed = srv
        .ctx
        .run(move |ctx| {
            core_auth::mail::outbox::claim_due(
                &mut *ctx.pool.get()?,
                ctx.keys.kek(),
                "dead-worker",
                now,
                10,
            )
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(
        srv.mails().await.is_empty(),
        "claimed by A: nobody else takes it"
    );
    srv.clock.advance(core_auth::mail::outbox::LEASE_SECS + 1);
    assert_eq!(
        srv.mails_to("lease@example.com").await.len(),
        1,
        "the lease ran out: delivered"
    );
    // Stored payloads are encrypted and emptied once sent.
    let payloads: Vec<String> = srv
        .with_db(|c| {
            use core_auth::db::schema::outbox;
            use diesel::prelude::*;
            outbox::table.select(outbox::payload).load(c).unwrap()
        })
        .await;
    assert!(payloads.iter().all(|p| p.is_empty()), "{payloads:?}");
}

#[actix_web::test]
async fn outbox_payloads_are_encrypted_at_rest() {
    let srv = TestServer::start().await;
    register(&srv, "secret@example.com").await;
    let payload: String = srv
        .with_db(|c| {
            use core_auth::db::schema::outbox;
            use diesel::prelude::*;
            outbox::table.select(outbox::payload).first(c).unwrap()
        })
        .await;
    assert!(payload.starts_with("v1."));
    assert!(
        !payload.contains("verify-email"),
        "the link is not readable in the database"
    );
}

/// `.eml` files carry live links: the outbox directory is 0700 and each
/// message 0600 whatever the umask; messages left more open by an older
/// version are tightened when the transport starts.
#[cfg(unix)]
#[actix_web::test]
async fn outbox_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let srv = TestServer::start().await;
    let dir = portcullis::mailer::outbox_dir(&srv.ctx.config);
    // What this process's umask gives a new file (0644 under the usual 022).
    let probe = srv.ctx.config.data_dir.join("probe");
    std::fs::write(&probe, b"").unwrap();
    eprintln!("umask gives new files {:o}", mode(&probe));
    register(&srv, "modes@example.com").await;
    assert_eq!(srv.mails_to("modes@example.com").await.len(), 1);
    assert_eq!(mode(&dir), 0o700, "outbox directory");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(mode(&files[0]), 0o600, "the message");
    let old = dir.join("old.eml");
    std::fs::write(&old, b"Subject: old\r\n\r\n").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    portcullis::mailer::build(&srv.ctx.config).unwrap();
    assert_eq!((mode(&dir), mode(&old)), (0o700, 0o600));
}
