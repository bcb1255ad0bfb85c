//! Recovery codes: ten single-use codes shown once, when the first second
//! factor is added (and whenever the person makes a new set, which voids
//! the old one). Stored as SHA-256 hashes. Each has 50 random bits in ten
//! characters of Crockford's base32 (no look-alikes), shown as `xxxxx-xxxxx`;
//! they are only ever tried after the password and count against the
//! account's throttle.

use diesel::prelude::*;

use super::{NewRecoveryCodes, Refusal};
use crate::actor::Actor;
use crate::audit::{self, Event, EventKind};
use crate::clock::UnixTime;
use crate::db::schema::recovery_codes;
use crate::db::{write_tx, DbConn};
use crate::error::CoreResult;
use crate::secret::{random_bytes, sha256_hex, Secret};
use crate::service::Core;

/// How many codes a set has.
pub const SET_SIZE: usize = 10;
/// Crockford's base32: no i, l, o or u; typed o, i and l are read as 0, 1, 1.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const LEN: usize = 10;

fn one_code() -> String {
    let bytes = random_bytes::<LEN>();
    let mut s = String::with_capacity(LEN + 1);
    for (i, b) in bytes.iter().enumerate() {
        if i == LEN / 2 {
            s.push('-');
        }
        // 256 is a multiple of 32: the low five bits are uniform.
        s.push(char::from(ALPHABET[usize::from(b & 31)]));
    }
    s
}

/// The form a code is compared in: lower case, without spaces or dashes,
/// look-alike letters read as the digits they resemble.
fn normalize(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            c => c,
        })
        .collect()
}

/// Unused codes left.
pub fn remaining(conn: &mut DbConn, user_id: &str) -> CoreResult<i64> {
    Ok(recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)?)
}

/// Makes a new set, voiding the old; inside the caller's transaction.
/// Audited as `recovery_codes_generated`.
pub(super) fn replace(
    conn: &mut DbConn,
    actor: &Actor,
    user_id: &str,
    now: UnixTime,
) -> CoreResult<NewRecoveryCodes> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(conn)?;
    let mut codes: Vec<Secret> = Vec::with_capacity(SET_SIZE);
    let mut hashes: Vec<String> = Vec::with_capacity(SET_SIZE);
    while codes.len() < SET_SIZE {
        let code = one_code();
        let hash = sha256_hex(&normalize(&code));
        if !hashes.contains(&hash) {
            hashes.push(hash);
            codes.push(Secret::new(code));
        }
    }
    for hash in &hashes {
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::user_id.eq(user_id),
                recovery_codes::code_hash.eq(hash),
                recovery_codes::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    audit::record(
        conn,
        actor,
        Event::success(EventKind::RecoveryCodesGenerated)
            .with("count", SET_SIZE)
            .subject(user_id),
        now,
    )?;
    Ok(NewRecoveryCodes(codes))
}

/// The person asks for a new set (the old one stops working). Recovery
/// codes back a factor up: an account without one is refused.
pub fn regenerate(
    core: &Core<'_>,
    actor: &Actor,
    user_id: &str,
    now: UnixTime,
) -> CoreResult<NewRecoveryCodes> {
    let mut conn = core.conn()?;
    write_tx(&mut conn, |c| {
        if !super::factors(c, user_id)?.any() {
            let mut v = crate::error::ValidationErrors::default();
            v.add(
                "recovery",
                "Recovery codes back up a second factor: add one first.",
            );
            return Err(crate::error::CoreError::Validation(v));
        }
        replace(c, actor, user_id, now)
    })
}

/// Uses one code if it is an unused code of the account; inside the
/// caller's transaction. Two nodes racing with the same code: one wins.
pub(super) fn redeem(
    conn: &mut DbConn,
    user_id: &str,
    code: &str,
    now: UnixTime,
) -> CoreResult<Result<(), Refusal>> {
    let n = normalize(code);
    if n.len() != LEN {
        return Ok(Err(Refusal::Wrong));
    }
    let used = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::code_hash.eq(sha256_hex(&n)))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now))
    .execute(conn)?;
    Ok(if used == 1 {
        Ok(())
    } else {
        Err(Refusal::Wrong)
    })
}

/// Deletes every code of the account (its last factor went).
pub(super) fn clear(conn: &mut DbConn, user_id: &str) -> CoreResult<()> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_fifty_bits_in_the_unambiguous_alphabet() {
        let c = one_code();
        assert_eq!(c.len(), LEN + 1);
        assert_eq!(c.chars().nth(LEN / 2), Some('-'));
        let n = normalize(&c);
        assert_eq!(n.len(), LEN);
        assert!(n.bytes().all(|b| ALPHABET.contains(&b)));
        assert!(!n.contains(['o', 'l', 'i', 'u']));
        assert_ne!(one_code(), one_code());
    }

    #[test]
    fn typing_is_forgiving() {
        assert_eq!(normalize(" ABCDE-fghjk "), "abcdefghjk");
        assert_eq!(normalize("OIL"), "011");
    }
}
