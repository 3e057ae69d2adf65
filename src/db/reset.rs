//! Self-service reset state in twofactl's tables: reset requests (a code's Argon2id hash,
//! expiry, attempts, state) and wrong-password records. Every limit is counted here, in the
//! database, so it holds across runs and processes.

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, params};

/// A reset request as `verify` sees it.
#[derive(Debug)]
pub struct Request {
    pub id: i64,
    pub expires: i64,
    pub code_hash: String,
    pub attempts: u32,
    pub state: String,
}

/// Wrong passwords for `user_id` since `since`: (count, time of the latest).
pub fn password_failures(
    conn: &Connection,
    user_id: i64,
    since: i64,
) -> Result<(u32, Option<i64>)> {
    Ok(conn.query_row(
        "SELECT count(*), max(time) FROM twofactl_password_failures WHERE user_id = ?1 AND time > ?2",
        params![user_id, since],
        |r| Ok((r.get::<_, i64>(0)? as u32, r.get(1)?)),
    )?)
}

pub fn record_password_failure(conn: &Connection, user_id: i64, now: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO twofactl_password_failures (user_id, time) VALUES (?1, ?2)",
        params![user_id, now],
    )?;
    Ok(())
}

pub fn clear_password_failures(conn: &Connection, user_id: i64) -> Result<()> {
    conn.execute(
        "DELETE FROM twofactl_password_failures WHERE user_id = ?1",
        [user_id],
    )?;
    Ok(())
}

/// Requests that count against the hourly allowance since `since`: (count, time of the
/// oldest). Undelivered ones do not count; ones still being sent do, so that runs in
/// parallel cannot exceed the allowance.
pub fn requests_since(conn: &Connection, user_id: i64, since: i64) -> Result<(u32, Option<i64>)> {
    Ok(conn.query_row(
        "SELECT count(*), min(created) FROM twofactl_reset_requests
         WHERE user_id = ?1 AND created > ?2 AND state <> 'undelivered'",
        params![user_id, since],
        |r| Ok((r.get::<_, i64>(0)? as u32, r.get(1)?)),
    )?)
}

/// Void the user's open (or not yet delivered) requests: a new request replaces them.
pub fn void_open(conn: &Connection, user_id: i64, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE twofactl_reset_requests SET state = 'void', closed = ?2
         WHERE user_id = ?1 AND state IN ('open', 'sending')",
        params![user_id, now],
    )?;
    Ok(())
}

/// A new request, not usable until its e-mail is accepted (`sending`).
pub fn create(
    conn: &Connection,
    user_id: i64,
    now: i64,
    expires: i64,
    code_hash: &str,
) -> Result<i64> {
    Ok(conn.query_row(
        "INSERT INTO twofactl_reset_requests (user_id, created, expires, code_hash, state)
         VALUES (?1, ?2, ?3, ?4, 'sending') RETURNING id",
        params![user_id, now, expires, code_hash],
        |r| r.get(0),
    )?)
}

/// Make a request that is still `sending` usable; false when a newer request voided it
/// while its e-mail was on the way.
pub fn open(conn: &Connection, id: i64) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE twofactl_reset_requests SET state = 'open' WHERE id = ?1 AND state = 'sending'",
        [id],
    )? == 1)
}

/// Move a request to `state` (`closed` is set for final states).
pub fn set_state(conn: &Connection, id: i64, state: &str, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE twofactl_reset_requests
         SET state = ?2, closed = CASE WHEN ?2 IN ('open', 'sending') THEN NULL ELSE ?3 END
         WHERE id = ?1",
        params![id, state, now],
    )?;
    Ok(())
}

/// The user's latest delivered request, whatever its state.
pub fn latest(conn: &Connection, user_id: i64) -> Result<Option<Request>> {
    Ok(conn
        .query_row(
            "SELECT id, expires, code_hash, attempts, state FROM twofactl_reset_requests
             WHERE user_id = ?1 AND state NOT IN ('sending', 'undelivered')
             ORDER BY id DESC LIMIT 1",
            [user_id],
            |r| {
                Ok(Request {
                    id: r.get(0)?,
                    expires: r.get(1)?,
                    code_hash: r.get(2)?,
                    attempts: r.get::<_, i64>(3)? as u32,
                    state: r.get(4)?,
                })
            },
        )
        .optional()?)
}

/// Count one more wrong code; returns the new count.
pub fn add_attempt(conn: &Connection, id: i64) -> Result<u32> {
    Ok(conn.query_row(
        "UPDATE twofactl_reset_requests SET attempts = attempts + 1 WHERE id = ?1 RETURNING attempts",
        [id],
        |r| Ok(r.get::<_, i64>(0)? as u32),
    )?)
}

/// Wrong confirmation codes for `user_id` since `since`.
pub fn totp_failures(conn: &Connection, user_id: i64, since: i64) -> Result<u32> {
    Ok(conn.query_row(
        "SELECT count(*) FROM twofactl_totp_failures WHERE user_id = ?1 AND time > ?2",
        params![user_id, since],
        |r| Ok(r.get::<_, i64>(0)? as u32),
    )?)
}

pub fn record_totp_failure(conn: &Connection, user_id: i64, now: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO twofactl_totp_failures (user_id, time) VALUES (?1, ?2)",
        params![user_id, now],
    )?;
    Ok(())
}

pub fn clear_totp_failures(conn: &Connection, user_id: i64) -> Result<()> {
    conn.execute(
        "DELETE FROM twofactl_totp_failures WHERE user_id = ?1",
        [user_id],
    )?;
    Ok(())
}

/// The state of one request, if it exists.
pub fn request_state(conn: &Connection, id: i64) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT state FROM twofactl_reset_requests WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?)
}
