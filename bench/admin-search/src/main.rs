//! Seeds users into a SQLite database (1,000,000 by default) and measures
//! admin user search: the domain query (`core_auth::admin::search`) and
//! the whole users page (`GET /admin/users`, a real server on
//! 127.0.0.1:0, signed in as an administrator). Prints a Markdown table of
//! median and 95th percentile times.
//!
//! ```text
//! cargo run --release -p admin-search-bench -- [--users N] [--db PATH] [--runs N]
//! ```
//!
//! The database is kept (default `$TMPDIR/portcullis-admin-search.db`, about
//! 0.5 GB at a million users): a second run with the same size skips the
//! seeding.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use core_auth::admin::search::{self, UserQuery};
use core_auth::db::DbConn;
use core_auth::{Config, Secret, SystemClock};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};

const FIRST: &[&str] = &[
    "ada",
    "alan",
    "grace",
    "marie",
    "linus",
    "barbara",
    "donald",
    "edsger",
    "frances",
    "john",
    "katherine",
    "margaret",
    "niklaus",
    "radia",
    "sophie",
    "tim",
    "ken",
    "dennis",
    "bjarne",
    "guido",
    "james",
    "mary",
    "robert",
    "patricia",
    "michael",
    "jennifer",
    "william",
    "linda",
    "david",
    "elizabeth",
    "richard",
    "susan",
    "joseph",
    "jessica",
    "thomas",
    "sarah",
    "charles",
    "karen",
    "chris",
    "nancy",
];
const LAST: &[&str] = &[
    "lovelace",
    "turing",
    "hopper",
    "curie",
    "torvalds",
    "liskov",
    "knuth",
    "dijkstra",
    "allen",
    "backus",
    "johnson",
    "hamilton",
    "wirth",
    "perlman",
    "wilson",
    "berners",
    "thompson",
    "ritchie",
    "stroustrup",
    "rossum",
    "smith",
    "jones",
    "brown",
    "garcia",
    "miller",
    "davis",
    "rodriguez",
    "martinez",
    "hernandez",
    "lopez",
    "gonzalez",
    "anderson",
    "taylor",
    "thomas",
    "moore",
    "jackson",
    "martin",
    "lee",
    "perez",
    "white",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "example.net",
    "mail.example",
    "corp.example",
];

struct Args {
    users: i64,
    db: String,
    runs: usize,
}

fn args() -> Result<Args> {
    let mut a = Args {
        users: 1_000_000,
        db: std::env::temp_dir()
            .join("portcullis-admin-search.db")
            .display()
            .to_string(),
        runs: 30,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().ok_or_else(|| anyhow!("{k} needs a value"))?;
        match k.as_str() {
            "--users" => a.users = v.parse()?,
            "--db" => a.db = v,
            "--runs" => a.runs = v.parse()?,
            other => return Err(anyhow!("unknown option {other}")),
        }
    }
    Ok(a)
}

/// The n-th seeded user: a name, an address, flags.
fn person(n: i64) -> (String, String, bool, bool) {
    let f = FIRST[(n % FIRST.len() as i64) as usize];
    let l = LAST[((n / FIRST.len() as i64) % LAST.len() as i64) as usize];
    let d = DOMAINS[(n % 5) as usize];
    let name = format!(
        "{}{} {}{}",
        &f[..1].to_uppercase(),
        &f[1..],
        &l[..1].to_uppercase(),
        &l[1..]
    );
    let email = format!("{f}.{l}{n}@{d}");
    (name, email, n % 1000 == 7, n % 20 != 3)
}

fn seed(conn: &mut DbConn, total: i64) -> Result<()> {
    let DbConn::Sqlite(c) = conn else {
        return Err(anyhow!("the benchmark seeds SQLite"));
    };
    let have: i64 = core_auth::db::schema::users::table.count().get_result(c)?;
    if have >= total {
        println!("{have} users already seeded");
        return Ok(());
    }
    let started = Instant::now();
    let group = "bench-group";
    c.batch_execute(&format!(
        "INSERT OR IGNORE INTO groups (id, name, description, created_at) VALUES ('{group}', 'researchers', '', 0)"
    ))?;
    let mut n = have;
    while n < total {
        let end = (n + 20_000).min(total);
        c.transaction::<_, diesel::result::Error, _>(|c| {
            for i in n..end {
                let (name, email, disabled, verified) = person(i);
                let id = format!("u{i:09}");
                diesel::sql_query(
                    "INSERT INTO users (id, email, email_key, email_verified, name, password_hash, disabled, created_at, updated_at, profile) \
                     VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $7, '{}')",
                )
                .bind::<Text, _>(&id)
                .bind::<Text, _>(&email)
                .bind::<Text, _>(email.to_lowercase())
                .bind::<Bool, _>(verified)
                .bind::<Text, _>(&name)
                .bind::<Bool, _>(disabled)
                .bind::<BigInt, _>(1_700_000_000 + i)
                .execute(c)?;
                diesel::sql_query("INSERT INTO user_roles (user_id, role) VALUES ($1, 'user')")
                    .bind::<Text, _>(&id)
                    .execute(c)?;
                if i % 100_000 == 1 {
                    diesel::sql_query("INSERT INTO user_roles (user_id, role) VALUES ($1, 'admin')")
                        .bind::<Text, _>(&id)
                        .execute(c)?;
                }
                if i % 1000 == 11 {
                    diesel::sql_query("INSERT INTO user_groups (user_id, group_id) VALUES ($1, $2)")
                        .bind::<Text, _>(&id)
                        .bind::<Text, _>(group)
                        .execute(c)?;
                }
                let key = email.to_lowercase();
                for t in search::terms(&email, &name) {
                    diesel::sql_query(
                        "INSERT INTO user_search_terms (term, user_id, email_key) VALUES ($1, $2, $3)",
                    )
                    .bind::<Text, _>(t)
                    .bind::<Text, _>(&id)
                    .bind::<Text, _>(&key)
                    .execute(c)?;
                }
            }
            Ok(())
        })?;
        n = end;
        if n % 100_000 == 0 || n == total {
            println!(
                "seeded {n} users ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    c.batch_execute("ANALYZE")?;
    Ok(())
}

fn stats(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p95 = v[((v.len() * 95).div_ceil(100))
        .saturating_sub(1)
        .min(v.len() - 1)];
    (ms(v[v.len() / 2]), ms(p95))
}

fn cases() -> Vec<(&'static str, UserQuery, String)> {
    let q = |s: &str| UserQuery {
        q: s.into(),
        limit: 50,
        ..Default::default()
    };
    vec![
        ("first page, no search", q(""), "/admin/users".into()),
        (
            "a page deep in the list",
            UserQuery {
                after: Some("m".into()),
                ..q("")
            },
            "/admin/users?after=m".into(),
        ),
        (
            "one common word prefix (`mar`)",
            q("mar"),
            "/admin/users?q=mar".into(),
        ),
        (
            "one letter (`a`, most users match)",
            q("a"),
            "/admin/users?q=a".into(),
        ),
        (
            "two words (`grace hop`)",
            q("grace hop"),
            "/admin/users?q=grace+hop".into(),
        ),
        (
            "an exact address",
            q("marie.curie123@mail.example"),
            "/admin/users?q=marie.curie123%40mail.example".into(),
        ),
        (
            "an address prefix (`ada.lovelace4`)",
            q("ada.lovelace4"),
            "/admin/users?q=ada.lovelace4".into(),
        ),
        ("no match (`zzzz`)", q("zzzz"), "/admin/users?q=zzzz".into()),
        (
            "disabled accounts",
            UserQuery {
                disabled: Some(true),
                ..q("")
            },
            "/admin/users?status=disabled".into(),
        ),
        (
            "unverified accounts",
            UserQuery {
                unverified: true,
                ..q("")
            },
            "/admin/users?status=unverified".into(),
        ),
        (
            "role admin",
            UserQuery {
                role: Some("admin".into()),
                ..q("")
            },
            "/admin/users?role=admin".into(),
        ),
        (
            "group (1,000 members) + word",
            UserQuery {
                group: Some("bench-group".into()),
                ..q("smith")
            },
            "/admin/users?group=bench-group&q=smith".into(),
        ),
        (
            "word + unverified",
            UserQuery {
                unverified: true,
                ..q("lovelace")
            },
            "/admin/users?q=lovelace&status=unverified".into(),
        ),
    ]
}

fn main() -> Result<()> {
    let a = args()?;
    if let Some(dir) = std::path::Path::new(&a.db).parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Beside the database: the generated key-encryption key must be the one
    // the database's signing keys were stored with on an earlier run.
    let data = std::path::PathBuf::from(format!("{}.data", a.db));
    std::fs::create_dir_all(&data)?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let mut cfg = Config {
        issuer: format!("http://127.0.0.1:{port}"),
        bind: format!("127.0.0.1:{port}"),
        data_dir: data.clone(),
        database_url: format!("sqlite://{}", std::path::absolute(&a.db)?.display()),
        ..Config::default()
    };
    cfg.password.bcrypt_cost = 4;
    cfg.rate_limits.enabled = false;
    let cfg = cfg.validated().map_err(|e| anyhow!("config: {e}"))?;
    let ctx = portcullis::bootstrap::context(cfg, Arc::new(SystemClock), None)
        .map_err(|e| anyhow!("{e}"))?;
    {
        let mut conn = ctx.pool.get()?;
        core_auth::db::migrate::run_pending(&mut conn).map_err(|e| anyhow!("{e}"))?;
        seed(&mut conn, a.users).context("seeding")?;
    }
    let admin = core_auth::users::NewUser {
        email: "bench-admin@bench.example".into(),
        name: "Bench Admin".into(),
        password: Secret::new("bench admin passphrase"),
        roles: vec!["admin".into()],
        email_verified: true,
    };
    let _ = core_auth::users::create_user(&ctx.pool, &ctx.passwords, &admin, ctx.now());

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "\n{} users, SQLite, {} runs per case (milliseconds); load average before: {}\n",
        a.users,
        a.runs,
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("| Case | Search (domain) median | p95 | Users page (HTTP) median | p95 | Rows |");
    println!("|---|---|---|---|---|---|");
    let results: Vec<(String, (f64, f64), usize)> = cases()
        .into_iter()
        .map(|(name, q, _)| -> Result<_> {
            let mut conn = ctx.pool.get()?;
            let mut times = vec![];
            let mut rows = 0;
            for _ in 0..a.runs {
                let t = Instant::now();
                rows = search::search(&mut conn, &q)
                    .map_err(|e| anyhow!("{e}"))?
                    .users
                    .len();
                times.push(t.elapsed());
            }
            Ok((name.to_string(), stats(times), rows))
        })
        .collect::<Result<_>>()?;

    let server_ctx = ctx.clone();
    let runs = a.runs;
    let page_times = actix_web::rt::System::new().block_on(async move {
        let srv = portcullis::server::start(server_ctx, listener).map_err(|e| anyhow!("{e}"))?;
        let handle = srv.handle();
        actix_web::rt::spawn(srv);
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let login = http
            .get(format!("{base}/login"))
            .send()
            .await?
            .text()
            .await?;
        let csrf = login
            .split("name=\"csrf_token\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .ok_or_else(|| anyhow!("no CSRF token on the sign-in page"))?
            .to_string();
        let r = http
            .post(format!("{base}/login"))
            .form(&[
                ("email", "bench-admin@bench.example"),
                ("password", "bench admin passphrase"),
                ("csrf_token", &csrf),
            ])
            .send()
            .await?;
        if r.status().as_u16() != 303 {
            return Err(anyhow!("sign-in failed: {}", r.status()));
        }
        let mut out = vec![];
        for (_, _, path) in cases() {
            let mut times = vec![];
            for _ in 0..runs {
                let t = Instant::now();
                let r = http.get(format!("{base}{path}")).send().await?;
                let status = r.status().as_u16();
                let _ = r.bytes().await?;
                times.push(t.elapsed());
                if status != 200 {
                    return Err(anyhow!("{path}: {status}"));
                }
            }
            out.push(stats(times));
        }
        handle.stop(true).await;
        Ok::<_, anyhow::Error>(out)
    })?;
    for ((name, (m, p), rows), (hm, hp)) in results.iter().zip(page_times) {
        println!("| {name} | {m:.1} | {p:.1} | {hm:.1} | {hp:.1} | {rows} |");
    }
    Ok(())
}
