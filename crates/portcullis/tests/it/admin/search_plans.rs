//! The user search planner: every plan (start from a rare condition's
//! candidates, walk users in email order, walk then fall back to the
//! candidates) gives the same pages as a plain filter over all users.
//! Small thresholds reach each plan with a few dozen users; the real
//! thresholds are measured at a million users by bench/admin-search.

use core_auth::admin::search::{self, Plan, UserQuery};
use core_auth::db::schema::users;
use core_auth::roles;
use diesel::prelude::*;
use testkit::TestServer;

struct Person {
    id: String,
    email: String,
    name: String,
    disabled: bool,
    verified: bool,
    roles: Vec<&'static str>,
    groups: Vec<&'static str>,
}

const FIRST: &[&str] = &["Ada", "Alan", "Grace", "Edsger", "Barbara", "Radia"];

fn people() -> Vec<Person> {
    (0..90)
        .map(|n: usize| {
            // The last ten sort after everyone else and are the only
            // "Far" people: dense overall, absent where a walk starts.
            let (email, name) = if n >= 80 {
                (format!("zz-far{n:02}@x.example"), format!("Far Person{n}"))
            } else {
                let f = FIRST[n % FIRST.len()];
                (
                    format!("{}{n:02}@example.com", f.to_lowercase()),
                    format!("Common {f}"),
                )
            };
            let mut roles = vec![];
            if n.is_multiple_of(7) {
                roles.push("auditor");
            }
            let mut groups = vec![];
            if n.is_multiple_of(5) {
                groups.push("ops");
            }
            Person {
                id: format!("user-{n:02}"),
                email,
                name,
                disabled: n.is_multiple_of(9),
                verified: !n.is_multiple_of(4),
                roles,
                groups,
            }
        })
        .collect()
}

/// Does `p` match `q`, by a plain reading of the query?
fn matches(p: &Person, q: &UserQuery) -> bool {
    let terms = search::terms(&p.email, &p.name);
    let words_ok = search::query_words(&q.q)
        .iter()
        .all(|w| terms.iter().any(|t| t.starts_with(w.as_str())));
    // "operator" comes with the ops group.
    let role_ok = q
        .role
        .as_deref()
        .is_none_or(|r| p.roles.contains(&r) || (r == "operator" && p.groups.contains(&"ops")));
    // The oracle's queries name groups by name.
    let group_ok = q.group.as_deref().is_none_or(|g| p.groups.contains(&g));
    words_ok
        && role_ok
        && group_ok
        && q.disabled.is_none_or(|d| d == p.disabled)
        && (!q.unverified || !p.verified)
}

fn seed(c: &mut core_auth::DbConn, people: &[Person]) -> String {
    let now = 1_800_000_000;
    for p in people {
        diesel::insert_into(users::table)
            .values((
                users::id.eq(&p.id),
                users::email.eq(&p.email),
                users::email_key.eq(p.email.to_lowercase()),
                users::email_verified.eq(p.verified),
                users::name.eq(&p.name),
                users::disabled.eq(p.disabled),
                users::created_at.eq(now),
                users::updated_at.eq(now),
            ))
            .execute(c)
            .unwrap();
        search::index_user(c, &p.id, &p.email, &p.name).unwrap();
    }
    roles::create_role(c, "auditor", "", now).unwrap();
    roles::create_role(c, "operator", "", now).unwrap();
    let ops = roles::create_group(c, "ops", "", now).unwrap();
    roles::grant_group_role(c, &ops.id, "operator").unwrap();
    for p in people {
        for r in &p.roles {
            roles::grant_role(c, &p.id, r).unwrap();
        }
        if p.groups.contains(&"ops") {
            roles::add_member(c, &ops.id, &p.id).unwrap();
        }
    }
    ops.id
}

/// Every page of `q` under `plan`, as email addresses in order.
fn all_pages(c: &mut core_auth::DbConn, q: &UserQuery, plan: Plan) -> Vec<String> {
    let mut out = vec![];
    let mut q = q.clone();
    for _ in 0..200 {
        let page = search::search_with(c, &q, plan).unwrap();
        assert!(page.users.len() as i64 <= q.limit);
        out.extend(page.users.iter().map(|u| u.user.email.clone()));
        match page.next {
            Some(next) => q.after = Some(next),
            None => return out,
        }
    }
    panic!("more than 200 pages");
}

#[actix_web::test]
async fn every_plan_pages_like_a_plain_filter() {
    let srv = TestServer::start().await;
    srv.with_db(|c| {
        let people = people();
        let ops = seed(c, &people);
        let q = |text: &str| UserQuery {
            q: text.into(),
            limit: 4,
            ..UserQuery::default()
        };
        let queries = vec![
            q(""),
            q("common"),
            q("far"),
            q("zz"),
            q("common ada"),
            // The first user both match is far from each word's first.
            q("common radia"),
            q("radia common"),
            q("a"),
            q("ada01@example.com"),
            q("nobody"),
            UserQuery {
                role: Some("auditor".into()),
                ..q("")
            },
            UserQuery {
                role: Some("operator".into()),
                ..q("common")
            },
            UserQuery {
                group: Some(ops.clone()),
                ..q("")
            },
            UserQuery {
                group: Some(ops.clone()),
                unverified: true,
                ..q("far")
            },
            UserQuery {
                disabled: Some(true),
                ..q("")
            },
            UserQuery {
                disabled: Some(false),
                ..q("far")
            },
            UserQuery {
                unverified: true,
                role: Some("auditor".into()),
                ..q("common")
            },
            UserQuery {
                limit: 1,
                ..q("far person")
            },
        ];
        let plans = [
            // Real thresholds: everything is a candidate.
            Plan::default(),
            // Every condition is "dense"; the walk sees two users, so it
            // falls back to the candidates nearly always.
            Plan {
                candidate_cap: 1,
                walk_budget: 2,
            },
            // Dense conditions walk; "far" is dense but out of reach of
            // the walk: the fallback must find it.
            Plan {
                candidate_cap: 3,
                walk_budget: 12,
            },
            // Walks that always read far enough.
            Plan {
                candidate_cap: 3,
                walk_budget: 1_000,
            },
        ];
        let mut checked = 0;
        for query in &queries {
            let mut expected: Vec<&Person> = people
                .iter()
                .filter(|p| {
                    let mut oq = query.clone();
                    if oq.group.as_deref() == Some(ops.as_str()) {
                        oq.group = Some("ops".into());
                    }
                    matches(p, &oq)
                })
                .collect();
            expected.sort_by_key(|p| p.email.to_lowercase());
            let expected: Vec<String> = expected.iter().map(|p| p.email.clone()).collect();
            for plan in plans {
                let got = all_pages(c, query, plan);
                assert_eq!(got, expected, "{query:?} under {plan:?}");
                checked += got.len();
            }
        }
        // The fixture reaches real results, not only empty pages.
        assert!(checked > 500, "{checked}");
    })
    .await;
}
