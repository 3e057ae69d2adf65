//! The notification outbox (`twofactl_outbox`). A notification is queued in the same
//! transaction as the change it reports and delivered after the commit. Delivery claims a
//! batch (`pending` -> `sending`, committed), sends it, then settles it (`sent`, or back to
//! `pending` with the error). A crash mid-batch leaves rows `sending`: "interrupted", shown
//! by `outbox list` and resent only on request, so no message is ever sent twice unasked
//! and none is silently dropped.

use anyhow::Result;

use crate::app::UserId;
use crate::db::sql::{Begin, Get, Sql, Tx};
use crate::error::is_busy;
use crate::mail::Outgoing;
use crate::vals;

/// Queues messages (inside the caller's transaction).
pub struct Queue<'c> {
    conn: &'c dyn Sql,
}

impl<'c> Queue<'c> {
    pub fn new(conn: &'c dyn Sql) -> Result<Self> {
        Ok(Queue { conn })
    }

    /// Queue `msg`; returns its outbox id.
    pub fn push(
        &mut self,
        now: i64,
        user_id: &UserId,
        username: &str,
        kind: &str,
        msg: &Outgoing,
    ) -> Result<i64> {
        self.conn
            .value_row(
                "INSERT INTO twofactl_outbox (created, user_id, username, kind, sender, recipient, message)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
                &vals![
                    now,
                    user_id,
                    username,
                    kind,
                    msg.from.to_string(),
                    msg.to.to_string(),
                    &msg.bytes
                ],
            )?
            .int(0)
    }
}

/// Which messages a delivery run takes.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// The messages queued by this run (ids `lo..=hi`).
    Range(i64, i64),
    /// Every pending message; with `Some(t)`, also those interrupted before time `t`.
    All { interrupted_before: Option<i64> },
}

/// A message claimed for delivery.
#[derive(Debug)]
pub struct Item {
    pub id: i64,
    pub username: String,
    pub sender: String,
    pub recipient: String,
    pub message: Vec<u8>,
}

/// Claim up to `limit` messages with ids above `after` (one committed transaction).
pub fn claim(
    conn: &dyn Sql,
    scope: Scope,
    after: i64,
    limit: usize,
    now: i64,
) -> Result<Vec<Item>> {
    let tx = Tx::begin(conn, Begin::Write)?;
    let (lo, hi, interrupted_before) = match scope {
        Scope::Range(lo, hi) => (lo, hi, None),
        Scope::All { interrupted_before } => (i64::MIN, i64::MAX, interrupted_before),
    };
    let mut items = Vec::new();
    tx.each(
        "SELECT id, username, sender, recipient, message FROM twofactl_outbox
         WHERE state <> 'sent' AND id > ?1 AND id BETWEEN ?2 AND ?3
           AND (state = 'pending'
                OR (state = 'sending' AND CAST(?4 AS BIGINT) IS NOT NULL AND last_attempt < ?4))
         ORDER BY id LIMIT ?5",
        &vals![after, lo, hi, interrupted_before, limit as i64],
        |r| {
            items.push(Item {
                id: r.int(0)?,
                username: r.string(1)?,
                sender: r.string(2)?,
                recipient: r.string(3)?,
                message: match r.get(4) {
                    Some(rusqlite::types::Value::Blob(b)) => b.clone(),
                    Some(rusqlite::types::Value::Text(t)) => t.clone().into_bytes(),
                    _ => Vec::new(),
                },
            });
            Ok(())
        },
    )?;
    for i in &items {
        tx.execute(
            "UPDATE twofactl_outbox SET state = 'sending', attempts = attempts + 1, last_attempt = ?2 WHERE id = ?1",
            &vals![i.id, now],
        )?;
    }
    tx.commit()?;
    Ok(items)
}

/// What became of a claimed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// Refused or not sent; back to `pending` with the error.
    Failed(String),
    /// Not tried (the run was interrupted): back to `pending` as it was.
    Unsent,
}

/// Record the outcome of a claimed batch (one committed transaction). The messages are
/// already sent: a busy database is waited out a few more times before giving up, since a
/// batch left `sending` would need `--retry-interrupted` to go out again.
pub fn settle(conn: &dyn Sql, outcomes: &[(i64, Outcome)], now: i64) -> Result<()> {
    const TRIES: u32 = 3;
    let mut n = 1;
    loop {
        match settle_once(conn, outcomes, now) {
            Err(e) if n < TRIES && is_busy(&e) => n += 1,
            r => return r,
        }
    }
}

fn settle_once(conn: &dyn Sql, outcomes: &[(i64, Outcome)], now: i64) -> Result<()> {
    let tx = Tx::begin(conn, Begin::Write)?;
    for (id, outcome) in outcomes {
        match outcome {
            Outcome::Sent => tx.execute(
                "UPDATE twofactl_outbox SET state = 'sent', sent = ?2, message = NULL, last_error = NULL WHERE id = ?1",
                &vals![*id, now],
            )?,
            Outcome::Failed(e) => tx.execute(
                "UPDATE twofactl_outbox SET state = 'pending', last_error = ?2 WHERE id = ?1",
                &vals![*id, e.as_str()],
            )?,
            Outcome::Unsent => tx.execute(
                "UPDATE twofactl_outbox SET state = 'pending', attempts = attempts - 1 WHERE id = ?1",
                &vals![*id],
            )?,
        };
    }
    tx.commit()
}

/// An unsent message as `outbox list` shows it.
#[derive(Debug)]
pub struct Unsent {
    pub id: i64,
    pub created: i64,
    pub username: String,
    pub recipient: String,
    pub kind: String,
    /// `pending`, or `interrupted` (claimed by a run that did not finish).
    pub state: &'static str,
    pub attempts: i64,
    pub last_attempt: Option<i64>,
    pub last_error: Option<String>,
}

/// Stream the unsent messages, oldest first.
pub fn for_each_unsent<F>(conn: &dyn Sql, mut each: F) -> Result<()>
where
    F: FnMut(&Unsent) -> Result<()>,
{
    conn.each(
        "SELECT id, created, username, recipient, kind, state, attempts, last_attempt, last_error
         FROM twofactl_outbox WHERE state <> 'sent' ORDER BY id",
        &[],
        |r| {
            each(&Unsent {
                id: r.int(0)?,
                created: r.int(1)?,
                username: r.string(2)?,
                recipient: r.string(3)?,
                kind: r.string(4)?,
                state: if r.string(5)? == "sending" {
                    "interrupted"
                } else {
                    "pending"
                },
                attempts: r.int(6)?,
                last_attempt: r.opt_int(7)?,
                last_error: r.opt_string(8)?,
            })
        },
    )?;
    Ok(())
}

/// (pending, sending) counts.
pub fn counts(conn: &dyn Sql) -> Result<(u64, u64)> {
    let r = conn.value_row(
        "SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'sending')
         FROM twofactl_outbox WHERE state <> 'sent'",
        &[],
    )?;
    Ok((r.int(0)?.unsigned_abs(), r.int(1)?.unsigned_abs()))
}
