//! One rule book: the console, the admin API and the command line give the
//! same answer to the same admin action, because each calls the same use
//! case of `core_auth::admin`. Each rule runs through each face: the last
//! administrator stays, nobody takes their own admin role, people are asked
//! to re-authenticate when their proof is stale (the command line never
//! is), and every change leaves an audit row naming who made it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use core_auth::audit::{self, Filter, Row};
use serde_json::{json, Value};
use testkit::{html, TestServer};

use super::api::V1;
use super::{admin_browser, call, service_token, user_token};
use crate::util::PASSWORD;

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

/// Runs `portcullis ARGS` on the server's database, with its configuration
/// directory (so its key-encryption key), as an operator would.
pub async fn cli(srv: &TestServer, args: &[&str]) -> Output {
    cli_with_input(srv, args, "").await
}

/// [`cli`] with `stdin` on standard input.
pub async fn cli_with_input(srv: &TestServer, args: &[&str], stdin: &str) -> Output {
    let mut c = Command::new(BIN);
    c.args(args)
        .current_dir(&srv.ctx.config.data_dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORTCULLIS_DATABASE_URL", srv.db.url())
        .env("PORTCULLIS_DATA_DIR", &srv.ctx.config.data_dir)
        .env("PORTCULLIS_ISSUER", &srv.url)
        .env("PORTCULLIS_PASSWORD__BCRYPT_COST", "4")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let input = stdin.to_string();
    tokio::task::spawn_blocking(move || {
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

/// The audit rows of `event`, newest first.
pub async fn rows(srv: &TestServer, event: &'static str) -> Vec<Row> {
    srv.with_db(move |c| {
        let f = Filter {
            event: Some(event.into()),
            ..Default::default()
        };
        audit::query(c, &f, 100).unwrap()
    })
    .await
}

/// Who acts, and through which face.
enum Face {
    /// A signed-in administrator's browser.
    Console(reqwest::Client, String),
    /// An administrator's own access token.
    ApiUser(String, String),
    /// A service's client_credentials token (no account behind it).
    ApiClient(String, String),
    Cli,
}

impl Face {
    fn name(&self) -> &'static str {
        match self {
            Face::Console(..) => "console",
            Face::ApiUser(..) => "API (user token)",
            Face::ApiClient(..) => "API (client token)",
            Face::Cli => "command line",
        }
    }

    /// The acting account, when there is one.
    fn account(&self) -> Option<&str> {
        match self {
            Face::Console(_, id) | Face::ApiUser(_, id) => Some(id),
            _ => None,
        }
    }

    /// Asserts that the audit row names this actor.
    fn assert_wrote(&self, row: &Row) {
        let who = self.name();
        match self {
            Face::Console(_, id) => {
                assert_eq!(row.actor_user_id.as_deref(), Some(id.as_str()), "{who}");
                assert!(row.session_id.is_some(), "{who}: the session");
            }
            Face::ApiUser(_, id) => {
                assert_eq!(row.actor_user_id.as_deref(), Some(id.as_str()), "{who}")
            }
            Face::ApiClient(_, cid) => {
                assert_eq!(row.actor_user_id, None, "{who}");
                assert_eq!(row.client_id.as_deref(), Some(cid.as_str()), "{who}");
            }
            Face::Cli => {
                assert_eq!(row.actor_user_id, None, "{who}");
                assert_eq!(row.client_id, None, "{who}");
                assert_eq!(row.user_agent, "portcullis-cli", "{who}");
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Act {
    Disable,
    Delete,
    TakeAdmin,
}

/// What a face answered: whether it went ahead, and what it said.
#[derive(Debug)]
struct Answer {
    allowed: bool,
    says: String,
}

fn problem_text(v: &Value) -> String {
    let mut s = v["detail"].as_str().unwrap_or_default().to_string();
    for e in v["errors"].as_array().into_iter().flatten() {
        s.push(' ');
        s.push_str(e["message"].as_str().unwrap_or_default());
    }
    format!("{} {s}", v["type"].as_str().unwrap_or_default())
}

/// The console's message after a redirect (the flash), or the page.
fn flash(page: &str) -> String {
    let marker = "role=\"status\">";
    match page.find(marker) {
        Some(i) => page[i + marker.len()..]
            .split("</div>")
            .next()
            .unwrap_or_default()
            .to_string(),
        None => page.to_string(),
    }
}

async fn post(srv: &TestServer, c: &reqwest::Client, action: &str, f: &[(&str, &str)]) -> Answer {
    let (_, page) = srv.get(c, "/admin").await;
    let token = html::csrf(&page);
    let mut form = f.to_vec();
    form.push(("csrf_token", &token));
    let r = c.post(srv.at(action)).form(&form).send().await.unwrap();
    let status = r.status().as_u16();
    let location = crate::util::location(&r);
    let body = r.text().await.unwrap();
    if status != 303 {
        return Answer {
            allowed: false,
            says: body,
        };
    }
    // A redirect: the user page says what happened (a refusal is a flash
    // there too), the list means the account is gone.
    let (_, next) = srv.get(c, &location).await;
    let says = flash(&next);
    let refused = ["cannot", "last enabled"].iter().any(|w| says.contains(w));
    Answer {
        allowed: !refused,
        says,
    }
}

async fn act(srv: &TestServer, face: &Face, act: Act, uid: &str) -> Answer {
    match face {
        Face::Console(c, _) => {
            let (action, form) = match act {
                Act::Disable => (format!("/admin/users/{uid}/disable"), vec![]),
                Act::Delete => (format!("/admin/users/{uid}/delete"), vec![]),
                Act::TakeAdmin => {
                    let id = uid.to_string();
                    let u = srv
                        .with_db(move |c| core_auth::users::find_by_id(c, &id).unwrap().unwrap())
                        .await;
                    let mut f = vec![("name", u.name), ("email", u.email)];
                    if u.email_verified {
                        f.push(("email_verified", "on".into()));
                    }
                    (format!("/admin/users/{uid}/edit"), f)
                }
            };
            let f: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post(srv, c, &action, &f).await
        }
        Face::ApiUser(t, _) | Face::ApiClient(t, _) => {
            let path = format!("{V1}/users/{uid}");
            let (method, body) = match act {
                Act::Disable => ("PATCH", Some(json!({"disabled": true}))),
                Act::Delete => ("DELETE", None),
                Act::TakeAdmin => ("PATCH", Some(json!({"roles": []}))),
            };
            let r = call(srv, method, &path, Some(t), body).await;
            Answer {
                allowed: r.0 == 200 || r.0 == 204,
                says: problem_text(&r.2),
            }
        }
        Face::Cli => {
            let args = match act {
                Act::Disable => vec!["users", "disable", uid],
                Act::Delete => vec!["users", "delete", uid],
                Act::TakeAdmin => vec!["users", "revoke-role", uid, "admin"],
            };
            let out = cli(srv, &args).await;
            Answer {
                allowed: out.status.success(),
                says: String::from_utf8_lossy(&out.stderr).into_owned(),
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Console,
    ApiUser,
    ApiClient,
    Cli,
}

const KINDS: [Kind; 4] = [Kind::Console, Kind::ApiUser, Kind::ApiClient, Kind::Cli];

/// A fresh server with exactly one administrator, and a face to act
/// through. The console and a user token need a person, who is then the
/// only administrator; otherwise it is `only@example.com`.
async fn stage(kind: Kind, tweak: fn(&mut core_auth::Config)) -> (TestServer, Face, String) {
    let srv = TestServer::start_with(tweak).await;
    let face = match kind {
        Kind::Console => {
            let (b, id) = admin_browser(&srv, "only@example.com").await;
            Face::Console(b, id)
        }
        Kind::ApiUser => {
            let t = user_token(&srv, "only@example.com", &["admin"], "openid admin").await;
            Face::ApiUser(t, id_of(&srv, "only@example.com").await)
        }
        Kind::ApiClient | Kind::Cli => {
            srv.create_user("only@example.com", "Only", PASSWORD, &["admin"])
                .await;
            match kind {
                Kind::ApiClient => {
                    let (client, t) = service_token(&srv, &["admin"]).await;
                    Face::ApiClient(t, client.client_id)
                }
                _ => Face::Cli,
            }
        }
    };
    let only = id_of(&srv, "only@example.com").await;
    (srv, face, only)
}

async fn id_of(srv: &TestServer, email: &'static str) -> String {
    srv.with_db(move |c| {
        core_auth::users::find_by_email(c, email)
            .unwrap()
            .unwrap()
            .id
    })
    .await
}

/// (exists, enabled, holds admin)
async fn state(srv: &TestServer, uid: &str) -> (bool, bool, bool) {
    let id = uid.to_string();
    srv.with_db(
        move |c| match core_auth::users::find_by_id(c, &id).unwrap() {
            Some(u) => (
                true,
                !u.disabled,
                core_auth::users::has_role(c, &id, "admin").unwrap(),
            ),
            None => (false, false, false),
        },
    )
    .await
}

fn no_reauth(_: &mut core_auth::Config) {}

#[actix_web::test]
async fn the_last_administrator_stays_whoever_asks() {
    for kind in KINDS {
        let (srv, face, only) = stage(kind, no_reauth).await;
        let who = face.name();
        let acting_on_self = face.account() == Some(only.as_str());
        for a in [Act::Disable, Act::TakeAdmin, Act::Delete] {
            let got = act(&srv, &face, a, &only).await;
            assert!(!got.allowed, "{who} {a:?}: {got:?}");
            // Who refuses depends on who asks: a person acting on their
            // own account meets the rule about themselves first.
            let why = match (a, acting_on_self) {
                (Act::Disable, true) => "cannot disable your own account",
                (Act::Disable, false) => "last enabled administrator",
                (Act::TakeAdmin, true) => "cannot remove your own admin role",
                (Act::TakeAdmin, false) => "would leave no administrator",
                (Act::Delete, true) => "cannot delete your own account",
                (Act::Delete, false) => "last administrator",
            };
            assert!(got.says.contains(why), "{who} {a:?}: {got:?}");
            assert_eq!(state(&srv, &only).await, (true, true, true), "{who} {a:?}");
        }
        assert!(rows(&srv, "admin_user_disabled").await.is_empty(), "{who}");
        assert!(rows(&srv, "admin_user_updated").await.is_empty(), "{who}");
        let refused = rows(&srv, "admin_user_deleted").await;
        assert_eq!(refused.len(), 1, "{who}: the refusal is recorded");
        assert_eq!(refused[0].outcome, "failure", "{who}");
        assert_eq!(refused[0].subject_user_id.as_deref(), Some(only.as_str()));
        face.assert_wrote(&refused[0]);

        // With a second administrator, the same actions on them go ahead.
        let other = srv
            .create_user("other@example.com", "Other", PASSWORD, &["admin"])
            .await
            .user
            .id;
        for (a, event, after) in [
            (Act::TakeAdmin, "admin_user_updated", (true, true, false)),
            (Act::Disable, "admin_user_disabled", (true, false, false)),
            (Act::Delete, "admin_user_deleted", (false, false, false)),
        ] {
            let got = act(&srv, &face, a, &other).await;
            assert!(got.allowed, "{who} {a:?}: {got:?}");
            assert_eq!(state(&srv, &other).await, after, "{who} {a:?}");
            let row = &rows(&srv, event).await[0];
            assert_eq!(
                (row.outcome.as_str(), row.subject_user_id.as_deref()),
                ("success", Some(other.as_str())),
                "{who} {a:?}"
            );
            face.assert_wrote(row);
        }
        let taken = &rows(&srv, "admin_user_updated").await[0];
        assert!(taken.detail.contains("roles_removed"), "{who}: {taken:?}");
    }
}

#[actix_web::test]
async fn nobody_takes_their_own_admin_role() {
    for kind in KINDS {
        let (srv, face, only) = stage(kind, no_reauth).await;
        let who = face.name();
        srv.create_user("other@example.com", "Other", PASSWORD, &["admin"])
            .await;
        let got = act(&srv, &face, Act::TakeAdmin, &only).await;
        if face.account().is_some() {
            // Another administrator remains, but the role is the actor's own.
            assert!(!got.allowed, "{who}: {got:?}");
            assert!(got.says.contains("own admin role"), "{who}: {got:?}");
            assert!(state(&srv, &only).await.2, "{who}");
            assert!(rows(&srv, "admin_user_updated").await.is_empty(), "{who}");
        } else {
            // A service or the operator has no role of its own: only the
            // last-administrator rule applies, and another one remains.
            assert!(got.allowed, "{who}: {got:?}");
            assert!(!state(&srv, &only).await.2, "{who}");
            face.assert_wrote(&rows(&srv, "admin_user_updated").await[0]);
        }
    }
}

#[actix_web::test]
async fn people_re_authenticate_when_stale_and_the_command_line_never_does() {
    fn window(c: &mut core_auth::Config) {
        c.admin.reauth_window_secs = 300;
    }
    for kind in KINDS {
        let (srv, face, _) = stage(kind, window).await;
        let who = face.name();
        let victim = srv
            .create_user("victim@example.com", "Victim", PASSWORD, &[])
            .await
            .user
            .id;
        srv.clock.advance(301);
        let got = act(&srv, &face, Act::Disable, &victim).await;
        let asked = match face {
            Face::Console(..) => "Confirm your password",
            Face::ApiUser(..) | Face::ApiClient(..) => "reauth-required",
            Face::Cli => "",
        };
        if asked.is_empty() {
            assert!(got.allowed, "{who}: {got:?}");
            assert!(!state(&srv, &victim).await.1, "{who}");
            face.assert_wrote(&rows(&srv, "admin_user_disabled").await[0]);
        } else {
            assert!(!got.allowed && got.says.contains(asked), "{who}: {got:?}");
            assert!(state(&srv, &victim).await.1, "{who}: still enabled");
            assert!(rows(&srv, "admin_user_disabled").await.is_empty(), "{who}");
        }
    }
}
