//! Self-service reset state in twofactl's tables: reset requests (a code's Argon2id hash,
//! expiry, attempts, state), wrong passwords and wrong confirmation codes, and the locks they
//! lead to. Every limit is counted here, in the database, so it holds across runs and
//! processes.

use anyhow::{Result, anyhow};
use rusqlite::types::Value;

use crate::app::{Dialect, UserId};
use crate::db::sql::{Get, IntoValue, Sql};
use crate::vals;

/// Where a reset request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestState {
    /// The code is made and its e-mail on the way: unusable, and counted against the hourly
    /// allowance so that runs in parallel cannot exceed it.
    Sending,
    /// The e-mail was accepted: the code may be verified until it expires.
    Open,
    /// The code was used.
    Spent,
    /// Replaced by a newer request, or too many wrong codes.
    Void,
    Expired,
    /// The e-mail failed, or its sender ended before it was confirmed: unusable, not counted.
    Undelivered,
}

impl RequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Sending => "sending",
            RequestState::Open => "open",
            RequestState::Spent => "spent",
            RequestState::Void => "void",
            RequestState::Expired => "expired",
            RequestState::Undelivered => "undelivered",
        }
    }

    fn parse(s: &str) -> Option<RequestState> {
        Some(match s {
            "sending" => RequestState::Sending,
            "open" => RequestState::Open,
            "spent" => RequestState::Spent,
            "void" => RequestState::Void,
            "expired" => RequestState::Expired,
            "undelivered" => RequestState::Undelivered,
            _ => return None,
        })
    }

    /// Whether the request is over (its `closed` time is set).
    fn is_final(self) -> bool {
        !matches!(self, RequestState::Sending | RequestState::Open)
    }
}

impl IntoValue for RequestState {
    fn into_value(self) -> Value {
        Value::Text(self.as_str().to_owned())
    }
}

impl RequestState {
    fn read(r: &[Value], i: usize) -> Result<RequestState> {
        let s = r.string(i)?;
        RequestState::parse(&s).ok_or_else(|| anyhow!("unknown request state {s:?}"))
    }
}

/// A count as a `u32` (saturating).
fn count(r: &[Value], i: usize) -> Result<u32> {
    Ok(u32::try_from(r.int(i)?).unwrap_or(u32::MAX))
}

/// A reset request as `verify` sees it.
#[derive(Debug)]
pub struct Request {
    pub id: i64,
    pub expires: i64,
    pub code_hash: String,
    pub attempts: u32,
    pub state: RequestState,
    /// When it was closed (spent, voided, expired), if it is.
    pub closed: Option<i64>,
}

/// What is counted and locked per user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// Wrong passwords given to request-reset.
    Password,
    /// Wrong codes given to confirm a pending TOTP key.
    Totp,
}

impl LockKind {
    fn as_str(self) -> &'static str {
        match self {
            LockKind::Password => "password",
            LockKind::Totp => "totp",
        }
    }

    fn failures_table(self) -> &'static str {
        match self {
            LockKind::Password => "twofactl_password_failures",
            LockKind::Totp => "twofactl_totp_failures",
        }
    }
}

/// The end of the user's lock of this kind, when one is in force at `now`.
pub fn locked_until(
    conn: &dyn Sql,
    user_id: &UserId,
    kind: LockKind,
    now: i64,
) -> Result<Option<i64>> {
    conn.row(
        "SELECT until FROM twofactl_locks WHERE user_id = ?1 AND kind = ?2 AND until > ?3",
        &vals![user_id, kind.as_str(), now],
    )?
    .map(|r| r.int(0))
    .transpose()
}

/// Failures of this kind since `since` that count towards the next lock: those after the
/// last lock ended (a lock, once over, starts the count again).
pub fn failures(conn: &dyn Sql, user_id: &UserId, kind: LockKind, since: i64) -> Result<u32> {
    let greatest = match conn.dialect() {
        Dialect::Sqlite => "max",
        Dialect::Postgres => "greatest",
    };
    let sql = format!(
        "SELECT count(*) FROM {} WHERE user_id = ?1 AND time > {greatest}(CAST(?2 AS BIGINT),
           coalesce((SELECT until - 1 FROM twofactl_locks WHERE user_id = ?1 AND kind = ?3), ?2))",
        kind.failures_table()
    );
    count(
        &conn.value_row(&sql, &vals![user_id, since, kind.as_str()])?,
        0,
    )
}

/// Record one failure at `now`.
pub fn record_failure(conn: &dyn Sql, user_id: &UserId, kind: LockKind, now: i64) -> Result<()> {
    let sql = format!(
        "INSERT INTO {} (user_id, time) VALUES (?1, ?2)",
        kind.failures_table()
    );
    conn.execute(&sql, &vals![user_id, now])?;
    Ok(())
}

/// Lock the user from `now` until `until`.
pub fn lock(conn: &dyn Sql, user_id: &UserId, kind: LockKind, now: i64, until: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO twofactl_locks (user_id, kind, since, until) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id, kind) DO UPDATE SET since = excluded.since, until = excluded.until",
        &vals![user_id, kind.as_str(), now, until],
    )?;
    Ok(())
}

/// Forget the user's failures and lock of this kind (after a success).
pub fn clear_failures(conn: &dyn Sql, user_id: &UserId, kind: LockKind) -> Result<()> {
    conn.execute(
        &format!("DELETE FROM {} WHERE user_id = ?1", kind.failures_table()),
        &vals![user_id],
    )?;
    conn.execute(
        "DELETE FROM twofactl_locks WHERE user_id = ?1 AND kind = ?2",
        &vals![user_id, kind.as_str()],
    )?;
    Ok(())
}

/// Requests that count against the hourly allowance since `since`: (count, time of the
/// oldest). Undelivered ones do not count; ones still being sent do, so that runs in
/// parallel cannot exceed the allowance.
pub fn requests_since(conn: &dyn Sql, user_id: &UserId, since: i64) -> Result<(u32, Option<i64>)> {
    let r = conn.value_row(
        "SELECT count(*), min(created) FROM twofactl_reset_requests
         WHERE user_id = ?1 AND created > ?2 AND state <> 'undelivered'",
        &vals![user_id, since],
    )?;
    Ok((count(&r, 0)?, r.opt_int(1)?))
}

/// Void the user's open (or not yet delivered) requests: a new request replaces them.
pub fn void_open(conn: &dyn Sql, user_id: &UserId, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE twofactl_reset_requests SET state = 'void', closed = ?2
         WHERE user_id = ?1 AND state IN ('open', 'sending')",
        &vals![user_id, now],
    )?;
    Ok(())
}

/// A new request, not usable until its e-mail is accepted (`sending`). `sender` names the
/// process sending it and `lease` is when, at the latest, its send is over.
pub struct NewRequest<'a> {
    pub user_id: &'a UserId,
    pub now: i64,
    pub expires: i64,
    pub code_hash: &'a str,
    pub sender: &'a str,
    pub lease: i64,
}

pub fn create(conn: &dyn Sql, r: &NewRequest<'_>) -> Result<i64> {
    conn.value_row(
        "INSERT INTO twofactl_reset_requests (user_id, created, expires, code_hash, state, sender, lease)
         VALUES (?1, ?2, ?3, ?4, 'sending', ?5, ?6) RETURNING id",
        &vals![r.user_id, r.now, r.expires, r.code_hash, r.sender, r.lease],
    )?
    .int(0)
}

/// Make a request that is still `sending` usable; false when another run settled it (a
/// newer request voided it) while its e-mail was on the way.
pub fn open(conn: &dyn Sql, id: i64) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE twofactl_reset_requests SET state = 'open' WHERE id = ?1 AND state = 'sending'",
        &vals![id],
    )? == 1)
}

/// Move a request to `state` (`closed` is set for final states).
pub fn set_state(conn: &dyn Sql, id: i64, state: RequestState, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE twofactl_reset_requests SET state = ?2, closed = ?3 WHERE id = ?1",
        &vals![id, state, state.is_final().then_some(now)],
    )?;
    Ok(())
}

/// A request still `sending`, with who sends it.
#[derive(Debug)]
pub struct InFlight {
    pub id: i64,
    pub sender: Option<String>,
    pub lease: Option<i64>,
}

/// Every request of `user_id` still `sending`.
pub fn in_flight(conn: &dyn Sql, user_id: &UserId) -> Result<Vec<InFlight>> {
    let mut out = Vec::new();
    conn.each(
        "SELECT id, sender, lease FROM twofactl_reset_requests
         WHERE user_id = ?1 AND state = 'sending'",
        &vals![user_id],
        |r| {
            out.push(InFlight {
                id: r.int(0)?,
                sender: r.opt_string(1)?,
                lease: r.opt_int(2)?,
            });
            Ok(())
        },
    )?;
    Ok(out)
}

/// The user's latest delivered request, whatever its state.
pub fn latest(conn: &dyn Sql, user_id: &UserId) -> Result<Option<Request>> {
    let Some(r) = conn.row(
        "SELECT id, expires, code_hash, attempts, state, closed FROM twofactl_reset_requests
         WHERE user_id = ?1 AND state NOT IN ('sending', 'undelivered')
         ORDER BY id DESC LIMIT 1",
        &vals![user_id],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(Request {
        id: r.int(0)?,
        expires: r.int(1)?,
        code_hash: r.string(2)?,
        attempts: count(&r, 3)?,
        state: RequestState::read(&r, 4)?,
        closed: r.opt_int(5)?,
    }))
}

/// Count one more wrong code; returns the new count.
pub fn add_attempt(conn: &dyn Sql, id: i64) -> Result<u32> {
    count(
        &conn.value_row(
            "UPDATE twofactl_reset_requests SET attempts = attempts + 1 WHERE id = ?1 RETURNING attempts",
            &vals![id],
        )?,
        0,
    )
}

/// The state of one request, if it exists.
pub fn request_state(conn: &dyn Sql, id: i64) -> Result<Option<RequestState>> {
    conn.row(
        "SELECT state FROM twofactl_reset_requests WHERE id = ?1",
        &vals![id],
    )?
    .map(|r| RequestState::read(&r, 0))
    .transpose()
}
