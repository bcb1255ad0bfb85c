//! The admin user search (`core_auth::admin::search`) with a query and
//! cursor from outside, on a small SQLite directory, under small planner
//! thresholds so that every plan runs. Each page must be what a plain
//! filter over all users gives.
//!
//! Input lines: the words, a role, a group (`ops` for the test group),
//! flags (`d` disabled, `e` enabled, `u` unverified), the cursor (as the
//! API gives it out: base64url), then three bytes: page size, candidate
//! cap, walk budget.
#![no_main]

use std::sync::OnceLock;

use admin_ui::api::extract::decode_cursor;
use core_auth::admin::search::{self, Plan, UserQuery};
use core_auth::db::schema::users;
use core_auth::roles;
use diesel::prelude::*;
use libfuzzer_sys::fuzz_target;
use portcullis_fuzz::{world, Fields, NOW};

struct Person {
    id: String,
    email: String,
    name: String,
    disabled: bool,
    verified: bool,
    roles: Vec<&'static str>,
    ops: bool,
}

struct Directory {
    people: Vec<Person>,
    ops_id: String,
}

const NAMES: &[(&str, &str)] = &[
    ("ada@example.com", "Ada Lovelace"),
    ("ada.king@example.org", "Ada King-Noel"),
    ("alan@example.com", "Alan Turing"),
    ("grace@navy.example", "Grace Hopper"),
    ("grace.h@example.com", "Grace Brewster"),
    ("edsger@example.nl", "Edsger Dijkstra"),
    ("barbara@example.com", "Barbara Liskov"),
    ("radia@example.com", "Radia Perlman"),
    ("émile@example.fr", "Émile Zola"),
    ("o.brien@example.ie", "Flann O'Brien"),
    ("zz-far1@x.example", "Far Person"),
    ("zz-far2@x.example", "Far Ada"),
    ("Upper.Case@Example.com", "UPPER case"),
    ("same@a.example", "Same Name"),
    ("same@b.example", "Same Name"),
];

fn directory() -> &'static Directory {
    static DIR: OnceLock<Directory> = OnceLock::new();
    DIR.get_or_init(|| {
        let people: Vec<Person> = NAMES
            .iter()
            .enumerate()
            .map(|(n, (email, name))| Person {
                id: format!("user-{n:02}"),
                email: email.to_string(),
                name: name.to_string(),
                disabled: n % 4 == 1,
                verified: n % 3 != 0,
                roles: if n % 3 == 2 { vec!["auditor"] } else { vec![] },
                ops: n % 5 == 0,
            })
            .collect();
        let mut c = world().pool.get().expect("connection");
        for p in &people {
            diesel::insert_into(users::table)
                .values((
                    users::id.eq(&p.id),
                    users::email.eq(&p.email),
                    users::email_key.eq(p.email.to_lowercase()),
                    users::email_verified.eq(p.verified),
                    users::name.eq(&p.name),
                    users::disabled.eq(p.disabled),
                    users::created_at.eq(NOW),
                    users::updated_at.eq(NOW),
                ))
                .execute(&mut c)
                .expect("insert user");
            search::index_user(&mut c, &p.id, &p.email, &p.name).expect("index user");
        }
        roles::create_role(&mut c, "auditor", "", NOW).expect("role");
        roles::create_role(&mut c, "operator", "", NOW).expect("role");
        let ops = roles::create_group(&mut c, "ops", "", NOW).expect("group");
        roles::grant_group_role(&mut c, &ops.id, "operator").expect("group role");
        for p in &people {
            for r in &p.roles {
                roles::grant_role(&mut c, &p.id, r).expect("grant");
            }
            if p.ops {
                roles::add_member(&mut c, &ops.id, &p.id).expect("member");
            }
        }
        Directory {
            people,
            ops_id: ops.id,
        }
    })
}

/// The plain reading of the query.
fn matches(d: &Directory, p: &Person, q: &UserQuery) -> bool {
    let terms = search::terms(&p.email, &p.name);
    let words_ok = search::query_words(&q.q)
        .iter()
        .all(|w| terms.iter().any(|t| t.starts_with(w.as_str())));
    let role_ok = q
        .role
        .as_deref()
        .filter(|r| !r.is_empty())
        .is_none_or(|r| p.roles.contains(&r) || (r == "operator" && p.ops));
    let group_ok = q
        .group
        .as_deref()
        .filter(|g| !g.is_empty())
        .is_none_or(|g| g == d.ops_id && p.ops);
    let after_ok = q
        .after
        .as_deref()
        .filter(|a| !a.is_empty())
        .is_none_or(|a| p.email.to_lowercase().as_str() > a);
    words_ok
        && role_ok
        && group_ok
        && after_ok
        && q.disabled.is_none_or(|v| v == p.disabled)
        && (!q.unverified || !p.verified)
}

fuzz_target!(|data: &[u8]| {
    let d = directory();
    let f = Fields::new(data, 6);
    let flags = f.text(3);
    let Ok(after) = decode_cursor(Some(&f.text(4))) else {
        return;
    };
    let nums = f.bytes(5);
    let n = |i: usize| i64::from(nums.get(i).copied().unwrap_or(5) % 20) + 1;
    let group = f.text(2);
    let q = UserQuery {
        q: f.text(0),
        role: Some(f.text(1)).filter(|r| !r.is_empty()),
        group: Some(if group == "ops" {
            d.ops_id.clone()
        } else {
            group
        }),
        disabled: if flags.contains('d') {
            Some(true)
        } else if flags.contains('e') {
            Some(false)
        } else {
            None
        },
        unverified: flags.contains('u'),
        after,
        limit: n(0),
    };
    let plan = Plan {
        candidate_cap: n(1),
        walk_budget: n(2),
    };
    let mut c = world().pool.get().expect("connection");
    let page = search::search_with(&mut c, &q, plan).expect("a search never fails");
    let mut expected: Vec<&Person> = d.people.iter().filter(|p| matches(d, p, &q)).collect();
    expected.sort_by_key(|p| p.email.to_lowercase());
    let more = expected.len() as i64 > q.limit;
    expected.truncate(q.limit as usize);
    let got: Vec<&str> = page.users.iter().map(|u| u.user.id.as_str()).collect();
    let want: Vec<&str> = expected.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(got, want, "query {q:?} plan {plan:?}");
    let next = more
        .then(|| expected.last().map(|p| p.email.to_lowercase()))
        .flatten();
    assert_eq!(page.next, next, "next cursor");
});
