//! Finding users at a million rows: search by words of the name and email
//! address, filters (role, group, disabled, unverified), keyset pagination
//! in email order.
//!
//! Each user has rows in `user_search_terms`: the lower-cased words of the
//! name and the address, and the whole address. A query word matches a
//! user when it is a prefix of one of their terms, which is a range scan of
//! the `(term, user_id)` primary key (`term >= w AND term < w || U+10FFFF`,
//! byte order on both backends).
//!
//! Each term row carries the user's `email_key`, so the matches of a word
//! come out of the primary key ready to sort in email order.
//!
//! The query is planned here rather than left to the database (see
//! [`search`]): each selective condition (a word, a role, a group) is
//! counted up to [`CANDIDATE_CAP`]. A condition under the cap drives: its
//! candidates are tested against the other conditions by index probes and
//! sorted. When every condition matches more, a walk over the users in
//! email order (probing each condition) usually fills the page at once; it
//! reads at most [`WALK_BUDGET`] users, and when that is not enough (rare
//! matches, or matches that cluster far from the cursor, as an address that
//! starts with the name searched for does) the condition with the fewest
//! matches drives after all. The work per page is bounded by the cap, the
//! budget, or the matches of the rarest word, never by the number of users.

mod plan;

use std::collections::BTreeSet;

use diesel::prelude::*;

use crate::db::schema::{user_roles, user_search_terms, users};
use crate::db::DbConn;
use crate::error::CoreResult;
use crate::users::{User, UserWithRoles};

/// Below this many matches a condition drives the query from its candidates.
pub const CANDIDATE_CAP: i64 = 5_000;
/// At most this many words of a query are used.
const MAX_WORDS: usize = 8;
const MAX_TERM_CHARS: usize = 254;
/// Larger than any character a term can continue with (byte order).
const HIGHEST: char = '\u{10FFFF}';

fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

fn clip(s: &str) -> String {
    s.chars().take(MAX_TERM_CHARS).collect()
}

/// The search terms of a user: the whole address and every word of the
/// address and the name, lower-cased, without repeats.
pub fn terms(email: &str, name: &str) -> Vec<String> {
    let email = email.trim().to_lowercase();
    let name = name.to_lowercase();
    let mut out = BTreeSet::new();
    if !email.is_empty() {
        out.insert(clip(&email));
    }
    for w in words(&email).chain(words(&name)) {
        out.insert(clip(w));
    }
    out.into_iter().collect()
}

/// The prefixes a query asks for: a word with `@` is a prefix of the whole
/// address, anything else is split into words like names are.
pub fn query_words(q: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for token in q.to_lowercase().split_whitespace() {
        if token.contains('@') {
            let t = token.trim_matches(|c: char| matches!(c, ',' | ';' | '"' | '\'' | '<' | '>'));
            if !t.is_empty() && !out.iter().any(|o| o == t) {
                out.push(clip(t));
            }
        } else {
            for w in words(token) {
                if !out.iter().any(|o| o == w) {
                    out.push(clip(w));
                }
            }
        }
    }
    out.truncate(MAX_WORDS);
    out
}

/// Replaces the search terms of one user (call after a create or a change
/// of name or address, in the same transaction).
pub fn index_user(conn: &mut DbConn, user_id: &str, email: &str, name: &str) -> CoreResult<()> {
    diesel::delete(user_search_terms::table.filter(user_search_terms::user_id.eq(user_id)))
        .execute(conn)?;
    // One statement per term: a user has a handful, and batch inserts are
    // not available over both backends at once.
    let key = email.trim().to_lowercase();
    for t in terms(email, name) {
        diesel::insert_into(user_search_terms::table)
            .values((
                user_search_terms::term.eq(t),
                user_search_terms::user_id.eq(user_id),
                user_search_terms::email_key.eq(&key),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Indexes every user that has no search terms (existing users when the
/// table is created); returns how many.
pub fn backfill(conn: &mut DbConn) -> CoreResult<usize> {
    let mut done = 0;
    loop {
        let batch: Vec<(String, String, String)> = users::table
            .filter(diesel::dsl::not(diesel::dsl::exists(
                user_search_terms::table.filter(user_search_terms::user_id.eq(users::id)),
            )))
            .select((users::id, users::email, users::name))
            .limit(1000)
            .load(conn)?;
        if batch.is_empty() {
            return Ok(done);
        }
        crate::db::write_tx(conn, |c| -> CoreResult<()> {
            for (id, email, name) in &batch {
                index_user(c, id, email, name)?;
            }
            Ok(())
        })?;
        done += batch.len();
    }
}

/// What the users page and `GET /admin/api/v1/users` ask for.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// Words to find in the name or address.
    pub q: String,
    /// Holds this role, directly or through a group.
    pub role: Option<String>,
    /// Member of this group (id).
    pub group: Option<String>,
    /// `Some(true)`: only disabled accounts; `Some(false)`: only enabled ones.
    pub disabled: Option<bool>,
    /// Only accounts whose address is not verified.
    pub unverified: bool,
    /// The cursor: the email key of the last user of the previous page.
    pub after: Option<String>,
    pub limit: i64,
}

/// One page of users, in email order.
#[derive(Debug, Clone)]
pub struct Page {
    pub users: Vec<UserWithRoles>,
    /// The cursor of the next page, when there is one.
    pub next: Option<String>,
}

/// How many users a walk over users may read before the query starts from
/// the candidates instead (matches that are dense overall can still be
/// rare where the walk starts: the address and the name go together).
pub const WALK_BUDGET: i64 = 5_000;

/// The planner's two thresholds; [`search`] uses [`CANDIDATE_CAP`] and
/// [`WALK_BUDGET`]. Smaller values let tests reach every plan with a few
/// users.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Below this many matches a condition drives the query.
    pub candidate_cap: i64,
    /// At most this many users are read by a walk in email order.
    pub walk_budget: i64,
}

impl Default for Plan {
    fn default() -> Self {
        Self {
            candidate_cap: CANDIDATE_CAP,
            walk_budget: WALK_BUDGET,
        }
    }
}

/// Runs a [`UserQuery`]: one page, in email order.
///
/// Plan: no condition: walk users (the partial indexes serve the flags).
/// A condition with fewer than [`CANDIDATE_CAP`] matches: start from its
/// candidates. Otherwise walk at most [`WALK_BUDGET`] users; if that does
/// not fill the page, start from the candidates of the condition with the
/// fewest matches (exact, and linear in its matches).
pub fn search(conn: &mut DbConn, q: &UserQuery) -> CoreResult<Page> {
    search_with(conn, q, Plan::default())
}

/// [`search`] with the given thresholds.
pub fn search_with(conn: &mut DbConn, q: &UserQuery, plan: Plan) -> CoreResult<Page> {
    let limit = q.limit.clamp(1, 500);
    let mut q = q.clone();
    q.after = q.after.filter(|a| !a.is_empty());
    let ids = plan::planned_ids(conn, &q, plan, limit)?;
    page(conn, ids, limit)
}

/// The users of `ids` (at most `limit` + 1, in email order) with their own
/// roles, and the cursor of the next page.
fn page(conn: &mut DbConn, ids: Vec<String>, limit: i64) -> CoreResult<Page> {
    let more = ids.len() as i64 > limit;
    let mut found: Vec<User> = users::table
        .filter(users::id.eq_any(&ids))
        .select(User::as_select())
        .load(conn)?;
    // The database's order (its collation orders the email keys, which
    // may not be byte order): the cursor is the last key it returned.
    let rank = |id: &str| ids.iter().position(|i| i == id).unwrap_or(usize::MAX);
    found.sort_by_key(|u| rank(&u.id));
    found.truncate(limit as usize);
    let next = if more {
        found.last().map(|u| u.email_key.clone())
    } else {
        None
    };
    let page_ids: Vec<&str> = found.iter().map(|u| u.id.as_str()).collect();
    let pairs: Vec<(String, String)> = user_roles::table
        .filter(user_roles::user_id.eq_any(&page_ids))
        .select((user_roles::user_id, user_roles::role))
        .order((user_roles::user_id.asc(), user_roles::role.asc()))
        .load(conn)?;
    let users = found
        .into_iter()
        .map(|u| {
            let roles = pairs
                .iter()
                .filter(|(id, _)| *id == u.id)
                .map(|(_, r)| r.clone())
                .collect();
            UserWithRoles { user: u, roles }
        })
        .collect();
    Ok(Page { users, next })
}

#[cfg(test)]
mod tests {
    use super::plan::upper;
    use super::*;

    #[test]
    fn terms_are_words_and_the_whole_address() {
        assert_eq!(
            terms("Ada.Lovelace@Example.com", "Ada King-Noel"),
            vec![
                "ada",
                "ada.lovelace@example.com",
                "com",
                "example",
                "king",
                "lovelace",
                "noel"
            ]
        );
        assert_eq!(terms("", ""), Vec::<String>::new());
        assert_eq!(terms("é@x.io", "Émile Zola")[0], "io");
        assert!(terms("e@x.io", "Émile").contains(&"émile".to_string()));
    }

    #[test]
    fn query_words_split_like_names_except_addresses() {
        assert_eq!(query_words("  Ada  lov "), vec!["ada", "lov"]);
        assert_eq!(query_words("O'Brien"), vec!["o", "brien"]);
        assert_eq!(
            query_words("ada.lovelace@ex, ada"),
            vec!["ada.lovelace@ex", "ada"]
        );
        assert_eq!(query_words("a a a"), vec!["a"]);
        assert!(query_words("").is_empty());
        assert_eq!(query_words("a b c d e f g h i j").len(), MAX_WORDS);
    }

    #[test]
    fn the_upper_bound_is_above_every_continuation() {
        let u = upper("ab");
        for s in ["ab", "abz", "ab\u{ffff}", "ab~~~", "abé"] {
            assert!(s >= "ab" && s < u.as_str(), "{s}");
        }
        assert!("ac" > u.as_str());
    }
}
