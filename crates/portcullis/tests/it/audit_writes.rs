//! Audit rows and the changes they record: a change and its row are one
//! transaction, so a database that fails between the two leaves both or
//! neither; a row with no change of its own (a refusal) that cannot be
//! written is logged and counted in `/metrics`, and the page answers as
//! usual. The database is made to fail with a trigger on `audit_log`.

use core_auth::audit::{self, Filter, Row};
use core_auth::DbConn;
use diesel::connection::SimpleConnection;
use testkit::TestServer;

use crate::metrics_tls::{scrape, value, TOKEN};
use crate::util::PASSWORD;

/// How the database fails on an audit row.
#[derive(Clone, Copy)]
enum Failure {
    /// The insert raises an error.
    Raise,
    /// The database connection ends in the middle of the insert (its
    /// transaction with it): `pg_terminate_backend` of itself on
    /// PostgreSQL. SQLite has no server to lose; there it raises.
    KillConnection,
}

/// Makes the database fail on every audit row for which the SQL condition
/// `when` (on `NEW`) holds, until [`allow`] drops the trigger `name`.
async fn refuse(srv: &TestServer, name: &'static str, when: &'static str, how: Failure) {
    srv.with_db(move |c| match c {
        DbConn::Sqlite(c) => c.batch_execute(&format!(
            "CREATE TRIGGER {name} BEFORE INSERT ON audit_log WHEN {when} \
             BEGIN SELECT RAISE(ABORT, 'boom'); END;"
        )),
        DbConn::Postgresql(c) => {
            let kill = match how {
                Failure::Raise => "",
                Failure::KillConnection => "PERFORM pg_terminate_backend(pg_backend_pid());",
            };
            c.batch_execute(&format!(
                "CREATE FUNCTION {name}_fn() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN {kill} RAISE EXCEPTION 'boom'; END $$; \
                 CREATE TRIGGER {name} BEFORE INSERT ON audit_log FOR EACH ROW \
                 WHEN ({when}) EXECUTE FUNCTION {name}_fn();"
            ))
        }
    })
    .await
    .expect("create the trigger");
}

/// Drops the trigger `name` of [`refuse`].
async fn allow(srv: &TestServer, name: &'static str) {
    srv.with_db(move |c| match c {
        DbConn::Sqlite(c) => c.batch_execute(&format!("DROP TRIGGER {name};")),
        DbConn::Postgresql(c) => c.batch_execute(&format!(
            "DROP TRIGGER {name} ON audit_log; DROP FUNCTION {name}_fn();"
        )),
    })
    .await
    .expect("drop the trigger");
}

async fn rows(srv: &TestServer, event: &str, outcome: &str) -> Vec<Row> {
    let f = Filter {
        event: Some(event.to_string()),
        outcome: Some(outcome.to_string()),
        ..Filter::default()
    };
    srv.with_db(move |c| audit::query(c, &f, 1000).unwrap())
        .await
}

async fn sign_in_status(srv: &TestServer, email: &str, password: &str) -> u16 {
    srv.submit(
        &srv.client(),
        "/login",
        "/login",
        &[("email", email), ("password", password)],
    )
    .await
    .status()
    .as_u16()
}

async fn change_password(srv: &TestServer, b: &reqwest::Client, from: &str, to: &str) -> u16 {
    srv.submit(
        b,
        "/account/security",
        "/account/password",
        &[("current_password", from), ("new_password", to)],
    )
    .await
    .status()
    .as_u16()
}

#[actix_web::test]
async fn a_password_change_and_its_audit_row_happen_together_or_not_at_all() {
    let srv = TestServer::start().await;
    let email = "atomic@example.com";
    let new = "an entirely new passphrase";
    let u = srv.create_user(email, "Atomic", PASSWORD, &[]).await;
    let (here, elsewhere) = (srv.client(), srv.client());
    srv.sign_in(&here, email, PASSWORD).await;
    srv.sign_in(&elsewhere, email, PASSWORD).await;

    // The database goes away when the change writes its row.
    refuse(
        &srv,
        "lose_password_changed",
        "NEW.event = 'password_changed' AND NEW.outcome = 'success'",
        Failure::KillConnection,
    )
    .await;
    let status = change_password(&srv, &here, PASSWORD, new).await;
    assert!((500..600).contains(&status), "{status}");
    // Neither: the old password still signs in, the new one does not, the
    // other session goes on, no row, no notice.
    assert_eq!(sign_in_status(&srv, email, new).await, 401);
    assert_eq!(sign_in_status(&srv, email, PASSWORD).await, 303);
    assert_eq!(srv.get(&elsewhere, "/account").await.0, 200);
    assert!(rows(&srv, "password_changed", "success").await.is_empty());
    assert!(srv.mails_to(email).await.is_empty(), "no notice mailed");

    // The database works again: both.
    allow(&srv, "lose_password_changed").await;
    assert_eq!(change_password(&srv, &here, PASSWORD, new).await, 303);
    assert_eq!(sign_in_status(&srv, email, PASSWORD).await, 401);
    assert_eq!(sign_in_status(&srv, email, new).await, 303);
    assert_eq!(srv.get(&elsewhere, "/account").await.0, 303, "ended");
    let done = rows(&srv, "password_changed", "success").await;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].subject_user_id.as_deref(), Some(u.user.id.as_str()));
    assert_eq!(
        srv.mails_to(email).await.pop().unwrap().subject,
        "Your password was changed"
    );
}

#[actix_web::test]
async fn a_failed_standalone_audit_write_is_counted_and_the_page_still_answers() {
    let srv = TestServer::start_with(|c| {
        c.metrics.enabled = true;
        c.metrics.bearer_token = TOKEN.into();
    })
    .await;
    srv.create_user("curious@example.com", "Curious", PASSWORD, &[])
        .await;
    let b = srv.client();
    srv.sign_in(&b, "curious@example.com", PASSWORD).await;
    let metric = "portcullis_audit_write_failures_total";
    let denied = [("event", "permission_denied")];
    assert_eq!(value(&scrape(&srv).await, metric, &denied), None);

    // A refusal has no change to join: its row is written on its own.
    refuse(
        &srv,
        "refuse_denials",
        "NEW.event = 'permission_denied'",
        Failure::Raise,
    )
    .await;
    let (status, body) = srv.get(&b, "/admin").await;
    assert_eq!(status, 403, "answered as usual");
    assert!(body.contains("for administrators"), "{body}");
    assert_eq!(value(&scrape(&srv).await, metric, &denied), Some(1.0));
    assert!(rows(&srv, "permission_denied", "denied").await.is_empty());
    assert!(testkit::captured_logs().contains("could not write an audit event"));

    allow(&srv, "refuse_denials").await;
    assert_eq!(srv.get(&b, "/admin").await.0, 403);
    assert_eq!(rows(&srv, "permission_denied", "denied").await.len(), 1);
    assert_eq!(
        value(&scrape(&srv).await, metric, &denied),
        Some(1.0),
        "only the lost row is counted"
    );
}
