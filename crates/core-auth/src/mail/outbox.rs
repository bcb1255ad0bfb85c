//! The durable outbox. A request that sends mail writes the message here in
//! the same transaction as the change it reports; a worker claims due
//! messages, delivers them and marks them sent, or reschedules them with
//! backoff. Claims are leases: a worker that dies leaves its messages to be
//! claimed again when the lease runs out. Two nodes never hold the same
//! message (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one writer).
//!
//! Messages carry secrets (links with tokens), so the payload is stored
//! encrypted under the key-encryption key and emptied once sent.
//!
//! The outbox also holds *requests*: work a request handler hands to the
//! worker so that it does the same thing whatever the answer would be (a
//! password reset: the handler queues the address; the worker looks it up
//! and queues the mail, or nothing). A request is taken and closed in the
//! worker's transaction; it is never claimed as a message.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use serde::{Deserialize, Serialize};

use super::Message;
use crate::clock::UnixTime;
use crate::db::schema::outbox;
use crate::db::{write_tx, DbConn};
use crate::error::{CoreError, CoreResult};
use crate::keys::Kek;

const AAD: &[u8] = b"portcullis-outbox";
/// How long a claim lasts before another worker may take the message.
pub const LEASE_SECS: i64 = 120;

#[derive(Serialize, Deserialize)]
struct Payload {
    to_name: String,
    subject: String,
    text: String,
    html: String,
}

/// Puts `m` in the outbox, due now.
pub fn enqueue(conn: &mut DbConn, kek: &Kek, m: &Message, now: UnixTime) -> CoreResult<()> {
    let payload = serde_json::to_vec(&Payload {
        to_name: m.to_name.clone(),
        subject: m.subject.clone(),
        text: m.text.clone(),
        html: m.html.clone(),
    })?;
    diesel::insert_into(outbox::table)
        .values((
            outbox::kind.eq(&m.kind),
            outbox::recipient.eq(&m.to),
            outbox::payload.eq(kek.encrypt(AAD, &payload)?),
            outbox::status.eq("pending"),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
            outbox::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The kind of a queued password-reset request (`recipient`: the address
/// as typed, normalised; `payload`: who asked, encrypted).
pub const RESET_REQUEST: &str = "reset_request";

/// Queues a request of `kind` about `subject` for the worker, due now.
/// The same write whatever the worker will make of it.
pub fn enqueue_request(
    conn: &mut DbConn,
    kek: &Kek,
    kind: &str,
    subject: &str,
    payload: &[u8],
    now: UnixTime,
) -> CoreResult<()> {
    diesel::insert_into(outbox::table)
        .values((
            outbox::kind.eq(kind),
            outbox::recipient.eq(subject),
            outbox::payload.eq(kek.encrypt(AAD, payload)?),
            outbox::status.eq("pending"),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
            outbox::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A request the worker holds until its transaction ends.
#[derive(Debug, Clone)]
pub struct Request {
    pub id: i64,
    pub subject: String,
    /// The decrypted payload; `None` when it cannot be read (another
    /// key-encryption key): the request is still resolved.
    pub payload: Option<Vec<u8>>,
}

#[derive(QueryableByName)]
struct RequestRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    recipient: String,
    #[diesel(sql_type = Text)]
    payload: String,
}

/// The oldest due request of `kind`, locked until the caller's transaction
/// ends (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so two nodes never take the
/// same one; SQLite: the write transaction's lock). Call it inside
/// [`write_tx`] and close the request there with [`close_request`].
pub fn take_request(
    conn: &mut DbConn,
    kek: &Kek,
    kind: &str,
    now: UnixTime,
) -> CoreResult<Option<Request>> {
    const SELECT: &str = "SELECT id, recipient, payload FROM outbox \
         WHERE kind = $1 AND status = 'pending' AND next_attempt_at <= $2 ORDER BY id LIMIT 1";
    let row: Option<RequestRow> = match conn {
        DbConn::Postgresql(c) => diesel::sql_query(format!("{SELECT} FOR UPDATE SKIP LOCKED"))
            .bind::<Text, _>(kind)
            .bind::<BigInt, _>(now)
            .get_result(c)
            .optional()?,
        DbConn::Sqlite(c) => diesel::sql_query(SELECT)
            .bind::<Text, _>(kind)
            .bind::<BigInt, _>(now)
            .get_result(c)
            .optional()?,
    };
    Ok(row.map(|r| Request {
        id: r.id,
        subject: r.recipient,
        payload: kek.decrypt(AAD, &r.payload).ok(),
    }))
}

/// Closes a request taken with [`take_request`]: `sent` when it produced
/// a message, `dropped` when it produced nothing. Its subject and payload
/// are erased either way.
pub fn close_request(conn: &mut DbConn, id: i64, produced: bool, now: UnixTime) -> CoreResult<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq(if produced { "sent" } else { "dropped" }),
            outbox::recipient.eq(""),
            outbox::payload.eq(""),
            outbox::sent_at.eq(Some(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// A message a worker holds.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub attempts: i32,
    pub message: Message,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    recipient: String,
    #[diesel(sql_type = Text)]
    payload: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
}

/// Due messages (requests are taken with [`take_request`], never claimed).
const DUE: &str = "kind <> 'reset_request' AND \
     ((status = 'pending' AND next_attempt_at <= $3) OR (status = 'sending' AND claimed_until < $3))";

/// Claims up to `limit` due messages for `worker` until `now + LEASE_SECS`.
pub fn claim_due(
    conn: &mut DbConn,
    kek: &Kek,
    worker: &str,
    now: UnixTime,
    limit: i64,
) -> CoreResult<Vec<Claimed>> {
    let rows: Vec<Row> = match conn {
        DbConn::Postgresql(c) => diesel::sql_query(format!(
            "UPDATE outbox SET status = 'sending', claimed_by = $1, claimed_until = $2 \
             WHERE id IN (SELECT id FROM outbox WHERE {DUE} ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED) \
             RETURNING id, kind, recipient, payload, attempts"
        ))
        .bind::<Text, _>(worker)
        .bind::<BigInt, _>(now + LEASE_SECS)
        .bind::<BigInt, _>(now)
        .bind::<BigInt, _>(limit)
        .load(c)?,
        DbConn::Sqlite(_) => write_tx(conn, |c| -> CoreResult<Vec<Row>> {
            let DbConn::Sqlite(c) = c else { return Ok(vec![]) };
            Ok(diesel::sql_query(format!(
                "UPDATE outbox SET status = 'sending', claimed_by = $1, claimed_until = $2 \
                 WHERE id IN (SELECT id FROM outbox WHERE {DUE} ORDER BY id LIMIT $4) \
                 RETURNING id, kind, recipient, payload, attempts"
            ))
            .bind::<Text, _>(worker)
            .bind::<BigInt, _>(now + LEASE_SECS)
            .bind::<BigInt, _>(now)
            .bind::<BigInt, _>(limit)
            .load(c)?)
        })?,
    };
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let plain = kek.decrypt(AAD, &r.payload)?;
        let p: Payload = serde_json::from_slice(&plain)
            .map_err(|e| CoreError::Crypto(format!("outbox payload: {e}")))?;
        out.push(Claimed {
            id: r.id,
            attempts: r.attempts,
            message: Message {
                kind: r.kind,
                to: r.recipient,
                to_name: p.to_name,
                subject: p.subject,
                text: p.text,
                html: p.html,
            },
        });
    }
    out.sort_by_key(|c| c.id);
    Ok(out)
}

/// Marks a claimed message sent and forgets its content. False when the
/// claim was lost (the lease ran out and another worker took it).
pub fn mark_sent(conn: &mut DbConn, id: i64, worker: &str, now: UnixTime) -> CoreResult<bool> {
    let n = diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::status.eq("sending"))
            .filter(outbox::claimed_by.eq(worker)),
    )
    .set((
        outbox::status.eq("sent"),
        outbox::sent_at.eq(Some(now)),
        outbox::payload.eq(""),
        outbox::claimed_until.eq(None::<i64>),
        outbox::last_error.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Gives a message back after a failed attempt, due again after an
/// exponential backoff (10 s, 20 s, 40 s ... at most `max_interval`).
pub fn mark_failed(
    conn: &mut DbConn,
    id: i64,
    worker: &str,
    error: &str,
    now: UnixTime,
    max_interval: i64,
) -> CoreResult<()> {
    let attempts: i32 = outbox::table
        .find(id)
        .select(outbox::attempts)
        .first(conn)?;
    let delay = 10i64
        .saturating_mul(1i64 << attempts.clamp(0, 20))
        .min(max_interval);
    diesel::update(outbox::table.find(id).filter(outbox::claimed_by.eq(worker)))
        .set((
            outbox::status.eq("pending"),
            outbox::attempts.eq(attempts + 1),
            outbox::next_attempt_at.eq(now + delay),
            outbox::claimed_by.eq(None::<String>),
            outbox::claimed_until.eq(None::<i64>),
            outbox::last_error.eq(Some(error.chars().take(500).collect::<String>())),
        ))
        .execute(conn)?;
    Ok(())
}

/// Messages waiting to be delivered.
pub fn backlog(conn: &mut DbConn) -> CoreResult<i64> {
    Ok(outbox::table
        .filter(outbox::status.eq_any(["pending", "sending"]))
        .count()
        .get_result(conn)?)
}
