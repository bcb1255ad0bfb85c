//! The planner of [`super::search`]: the conditions of a query as SQL,
//! counted, walked in email order or started from their candidates, and
//! the leapfrog that finds where dense matches begin.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::{query_words, Plan, UserQuery, HIGHEST};
use crate::db::DbConn;
use crate::error::CoreResult;

/// The conditions of `q`: its words, then its role and group.
fn conditions(q: &UserQuery) -> Vec<Cond> {
    let mut conds: Vec<Cond> = query_words(&q.q).into_iter().map(Cond::Word).collect();
    if let Some(r) = q.role.as_ref().filter(|r| !r.is_empty()) {
        conds.push(Cond::Role(r.clone()));
    }
    if let Some(g) = q.group.as_ref().filter(|g| !g.is_empty()) {
        conds.push(Cond::Group(g.clone()));
    }
    conds
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

pub(super) fn upper(prefix: &str) -> String {
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

/// When the walk falls short, conditions are counted again up to this
/// many times the cap, to choose the one with the fewest matches.
const FALLBACK_COUNT_FACTOR: i64 = 20;

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
pub(super) fn planned_ids(
    conn: &mut DbConn,
    q: &UserQuery,
    plan: Plan,
    limit: i64,
) -> CoreResult<Vec<String>> {
    let conds = &conditions(q);
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
