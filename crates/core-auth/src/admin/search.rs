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

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

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

#[derive(Debug, Clone)]
enum Arg {
    Text(String),
}

/// A SQL text with numbered placeholders, bound in the order they appear.
#[derive(Default)]
struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    fn bind(&mut self, v: impl Into<String>) -> &mut Self {
        self.args.push(Arg::Text(v.into()));
        let n = self.args.len();
        self.text.push_str(&format!("${n}"));
        self
    }
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Text)]
    id: String,
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

macro_rules! load_by_name {
    ($conn:expr, $sql:expr, $row:ty) => {{
        let sql: &Sql = $sql;
        match $conn {
            DbConn::Sqlite(c) => {
                let mut q =
                    diesel::sql_query(sql.text.clone()).into_boxed::<diesel::sqlite::Sqlite>();
                for a in &sql.args {
                    let Arg::Text(s) = a;
                    q = q.bind::<Text, _>(s.clone());
                }
                q.load::<$row>(c)
            }
            DbConn::Postgresql(c) => {
                let mut q = diesel::sql_query(sql.text.clone()).into_boxed::<diesel::pg::Pg>();
                for a in &sql.args {
                    let Arg::Text(s) = a;
                    q = q.bind::<Text, _>(s.clone());
                }
                q.load::<$row>(c)
            }
        }
    }};
}

/// A condition that can also list its users (a word, a role, a group).
#[derive(Debug, Clone)]
enum Cond {
    Word(String),
    Role(String),
    Group(String),
}

fn upper(prefix: &str) -> String {
    let mut s = prefix.to_string();
    s.push(HIGHEST);
    s
}

impl Cond {
    /// `SELECT user_id ...` of the users it matches.
    fn source(&self, sql: &mut Sql) {
        match self {
            Cond::Word(w) => {
                sql.push("SELECT user_id FROM user_search_terms WHERE term >= ")
                    .bind(w.as_str())
                    .push(" AND term < ")
                    .bind(upper(w));
            }
            Cond::Role(r) => {
                sql.push("SELECT user_id FROM user_roles WHERE role = ")
                    .bind(r.as_str())
                    .push(
                        " UNION SELECT ug.user_id FROM user_groups ug \
                         JOIN group_roles gr ON gr.group_id = ug.group_id WHERE gr.role = ",
                    )
                    .bind(r.as_str());
            }
            Cond::Group(g) => {
                sql.push("SELECT user_id FROM user_groups WHERE group_id = ")
                    .bind(g.as_str());
            }
        }
    }

    /// A test of the user whose id is in `col` (index probes by user id).
    fn probe(&self, sql: &mut Sql, col: &str) {
        match self {
            Cond::Word(w) => {
                sql.push(&format!(
                    "EXISTS (SELECT 1 FROM user_search_terms t WHERE t.user_id = {col} AND t.term >= "
                ))
                .bind(w.as_str())
                .push(" AND t.term < ")
                .bind(upper(w))
                .push(")");
            }
            Cond::Role(r) => {
                sql.push(&format!(
                    "(EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = {col} AND r.role = "
                ))
                .bind(r.as_str())
                .push(&format!(
                    ") OR EXISTS (SELECT 1 FROM user_groups ug JOIN group_roles gr \
                     ON gr.group_id = ug.group_id WHERE ug.user_id = {col} AND gr.role = "
                ))
                .bind(r.as_str())
                .push("))");
            }
            Cond::Group(g) => {
                sql.push(&format!(
                    "EXISTS (SELECT 1 FROM user_groups g WHERE g.user_id = {col} AND g.group_id = "
                ))
                .bind(g.as_str())
                .push(")");
            }
        }
    }
}

/// How many users `c` matches, counting no further than the cap.
fn capped_count(conn: &mut DbConn, c: &Cond, cap: i64) -> CoreResult<i64> {
    let mut sql = Sql::default();
    sql.push("SELECT COUNT(*) AS n FROM (SELECT 1 AS x FROM (");
    c.source(&mut sql);
    sql.push(&format!(") s LIMIT {cap}) capped"));
    let rows = load_by_name!(conn, &sql, CountRow)?;
    Ok(rows.first().map(|r| r.n).unwrap_or(0))
}

/// The account flags of the query as SQL on `u` (backend literals, so
/// SQLite can use the partial indexes).
fn flags(sql: &mut Sql, q: &UserQuery, sqlite: bool) {
    let (t, f) = if sqlite {
        ("1", "0")
    } else {
        ("TRUE", "FALSE")
    };
    match q.disabled {
        Some(true) => sql.push(&format!(" AND u.disabled = {t}")),
        Some(false) => sql.push(&format!(" AND u.disabled = {f}")),
        None => sql,
    };
    if q.unverified {
        sql.push(&format!(" AND u.email_verified = {f}"));
    }
}

/// Walks users in email order from the cursor, testing each condition
/// with index probes; reads at most `budget` users (`None`: no bound).
/// With `from`, the walk starts at that key (inclusive) rather than after
/// the cursor: no user between the cursor and `from` matches.
fn walk(
    conds: &[Cond],
    q: &UserQuery,
    sqlite: bool,
    budget: Option<i64>,
    limit: i64,
    from: Option<&str>,
) -> Sql {
    let mut sql = Sql::default();
    sql.push("SELECT u.id AS id FROM (SELECT id, email_key, disabled, email_verified FROM users u WHERE ");
    sql.push(if sqlite { "1 = 1" } else { "TRUE" });
    flags(&mut sql, q, sqlite);
    if let Some(a) = &q.after {
        sql.push(" AND u.email_key > ").bind(a.as_str());
    }
    if let Some(f) = from {
        sql.push(" AND u.email_key >= ").bind(f);
    }
    sql.push(" ORDER BY u.email_key");
    if let Some(b) = budget {
        sql.push(&format!(" LIMIT {b}"));
    }
    sql.push(") u WHERE ");
    sql.push(if sqlite { "1 = 1" } else { "TRUE" });
    for c in conds {
        sql.push(" AND ");
        c.probe(&mut sql, "u.id");
    }
    sql.push(&format!(" ORDER BY u.email_key LIMIT {limit}"));
    sql
}

/// Starts from the users condition `d` lists and tests the others on them
/// before reading the users table. A word's matches carry their email
/// key, so they are sorted without reading users at all unless a flag
/// filter needs the account.
fn from_candidates(conds: &[Cond], d: usize, q: &UserQuery, sqlite: bool, limit: i64) -> Sql {
    let mut sql = Sql::default();
    let needs_users = q.disabled.is_some() || q.unverified || !matches!(conds[d], Cond::Word(_));
    let join = if sqlite { "CROSS JOIN" } else { "JOIN" };
    match &conds[d] {
        Cond::Word(w) => {
            sql.push("SELECT c.user_id AS id FROM (SELECT DISTINCT user_id, email_key FROM user_search_terms WHERE term >= ")
                .bind(w.as_str())
                .push(" AND term < ")
                .bind(upper(w));
            if let Some(a) = &q.after {
                sql.push(" AND email_key > ").bind(a.as_str());
            }
            sql.push(") c");
        }
        other => {
            sql.push("SELECT c.user_id AS id FROM (SELECT DISTINCT user_id FROM (");
            other.source(&mut sql);
            sql.push(") s) c");
        }
    }
    // SQLite keeps a CROSS JOIN in the written order: candidates first.
    if needs_users {
        sql.push(&format!(" {join} users u ON u.id = c.user_id"));
    }
    sql.push(" WHERE ");
    sql.push(if sqlite { "1 = 1" } else { "TRUE" });
    for (i, c) in conds.iter().enumerate() {
        if i != d {
            sql.push(" AND ");
            c.probe(&mut sql, "c.user_id");
        }
    }
    if needs_users {
        flags(&mut sql, q, sqlite);
        if !matches!(conds[d], Cond::Word(_)) {
            if let Some(a) = &q.after {
                sql.push(" AND u.email_key > ").bind(a.as_str());
            }
        }
    }
    let key = if matches!(conds[d], Cond::Word(_)) {
        "c.email_key"
    } else {
        "u.email_key"
    };
    sql.push(&format!(" ORDER BY {key} LIMIT {limit}"));
    sql
}

/// How many users a walk over users may read before the query starts from
/// the candidates instead (matches that are dense overall can still be
/// rare where the walk starts: the address and the name go together).
pub const WALK_BUDGET: i64 = 5_000;

/// When the walk falls short, conditions are counted again up to this
/// many times the cap, to choose the one with the fewest matches.
const FALLBACK_COUNT_FACTOR: i64 = 20;

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
    let mut conds: Vec<Cond> = query_words(&q.q).into_iter().map(Cond::Word).collect();
    if let Some(r) = q.role.as_ref().filter(|r| !r.is_empty()) {
        conds.push(Cond::Role(r.clone()));
    }
    if let Some(g) = q.group.as_ref().filter(|g| !g.is_empty()) {
        conds.push(Cond::Group(g.clone()));
    }
    let ids = planned_ids(conn, &conds, &q, plan, limit)?;
    page(conn, ids, limit)
}

/// The condition with the fewest matches (the first of equals), and how
/// many it has, counted no further than `cap`; stops at one with none.
fn fewest(conn: &mut DbConn, conds: &[Cond], cap: i64) -> CoreResult<(usize, i64)> {
    let mut best = (0, i64::MAX);
    for (i, c) in conds.iter().enumerate() {
        let n = capped_count(conn, c, cap)?;
        if n < best.1 {
            best = (i, n);
        }
        if n == 0 {
            break;
        }
    }
    Ok(best)
}

/// The ids of one page (at most `limit` + 1, in email order), by the plan
/// described at [`search`].
fn planned_ids(
    conn: &mut DbConn,
    conds: &[Cond],
    q: &UserQuery,
    plan: Plan,
    limit: i64,
) -> CoreResult<Vec<String>> {
    let sqlite = matches!(conn, DbConn::Sqlite(_));
    let rows = limit + 1;
    if conds.is_empty() {
        return load_ids(conn, &walk(conds, q, sqlite, None, rows, None));
    }
    let (d, n) = fewest(conn, conds, plan.candidate_cap)?;
    if n == 0 {
        return Ok(vec![]);
    }
    if n < plan.candidate_cap {
        return load_ids(conn, &from_candidates(conds, d, q, sqlite, rows));
    }
    let budget = Some(plan.walk_budget);
    let walked = load_ids(conn, &walk(conds, q, sqlite, budget, rows, None))?;
    if walked.len() as i64 > limit {
        return Ok(walked);
    }
    // Matches that are dense overall but start far from the cursor (an
    // address that begins with the name searched for): walk again from the
    // first user every word matches.
    match first_match_key(conn, conds, q, sqlite)? {
        Start::Nowhere => return Ok(vec![]),
        Start::At(key) => {
            let again = load_ids(conn, &walk(conds, q, sqlite, budget, rows, Some(&key)))?;
            if again.len() as i64 > limit {
                return Ok(again);
            }
        }
        Start::Unknown => {}
    }
    // Every condition matched at least the cap: tell them apart with a
    // higher one, then the fewest drive.
    let cap = plan.candidate_cap.saturating_mul(FALLBACK_COUNT_FACTOR);
    let (d, _) = fewest(conn, conds, cap)?;
    load_ids(conn, &from_candidates(conds, d, q, sqlite, rows))
}

enum Start {
    /// Some word matches nobody after the cursor.
    Nowhere,
    /// Every user who matches every word has a key at or after this one.
    At(String),
    /// No word among the conditions.
    Unknown,
}

#[derive(QueryableByName)]
struct KeyRow {
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    k: Option<String>,
}

/// At most this many passes over the words while looking for the first
/// user they all match.
const LEAPFROG_PASSES: usize = 8;

/// The email key of the first user (after the cursor) whom every word
/// matches, or a key no later than it: each word in turn moves the
/// candidate key to the smallest key it matches at or after it, until a
/// whole pass moves nothing (then every word matches that key's user) or
/// [`LEAPFROG_PASSES`] end. Each step is one pass over a word's range of
/// the primary key (the key is in the term row); the database compares
/// the keys, in the collation that orders the users.
///
/// The account flags of the query take part as steps of their own (the
/// users' partial indexes are in email order), so matches that are rare
/// among the flagged accounts are found too.
fn first_match_key(
    conn: &mut DbConn,
    conds: &[Cond],
    q: &UserQuery,
    sqlite: bool,
) -> CoreResult<Start> {
    let words: Vec<&String> = conds
        .iter()
        .filter_map(|c| match c {
            Cond::Word(w) => Some(w),
            _ => None,
        })
        .collect();
    if words.is_empty() {
        return Ok(Start::Unknown);
    }
    let flagged = q.disabled.is_some() || q.unverified;
    let after = q.after.as_deref();
    let mut start: Option<String> = None;
    for _ in 0..LEAPFROG_PASSES {
        let mut moved = false;
        for step in words.iter().map(Some).chain(flagged.then_some(None)) {
            let mut sql = Sql::default();
            match step {
                Some(w) => {
                    sql.push("SELECT MIN(email_key) AS k FROM user_search_terms WHERE term >= ")
                        .bind(w.as_str())
                        .push(" AND term < ")
                        .bind(upper(w));
                }
                None => {
                    sql.push("SELECT MIN(email_key) AS k FROM users u WHERE ");
                    sql.push(if sqlite { "1 = 1" } else { "TRUE" });
                    flags(&mut sql, q, sqlite);
                }
            }
            match (&start, after) {
                (Some(s), _) => {
                    sql.push(" AND email_key >= ").bind(s.as_str());
                }
                (None, Some(a)) => {
                    sql.push(" AND email_key > ").bind(a);
                }
                (None, None) => {}
            }
            let k = load_by_name!(conn, &sql, KeyRow)?
                .into_iter()
                .next()
                .and_then(|r| r.k);
            let Some(k) = k else {
                return Ok(Start::Nowhere);
            };
            if start.as_deref() != Some(k.as_str()) {
                // The words before this one must look again from here.
                moved |= start.is_some();
                start = Some(k);
            }
        }
        if !moved {
            break;
        }
    }
    Ok(start.map_or(Start::Unknown, Start::At))
}

fn load_ids(conn: &mut DbConn, sql: &Sql) -> CoreResult<Vec<String>> {
    Ok(load_by_name!(conn, sql, IdRow)?
        .into_iter()
        .map(|r| r.id)
        .collect())
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
