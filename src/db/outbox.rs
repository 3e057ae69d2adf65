//! The notification outbox (`twofactl_outbox`). A notification is queued in the same
//! transaction as the change it reports and delivered after the commit. Delivery claims a
//! batch (`pending` -> `sending`, committed), sends it, then settles it (`sent`, or back to
//! `pending` with the error). A crash mid-batch leaves rows `sending`: "interrupted", shown
//! by `outbox list` and resent only on request, so no message is ever sent twice unasked
//! and none is silently dropped.

use anyhow::Result;
use rusqlite::{Connection, TransactionBehavior, params};

use crate::app::UserId;
use crate::mail::Outgoing;

/// Queues messages with one prepared statement (inside the caller's transaction).
pub struct Queue<'c> {
    insert: rusqlite::Statement<'c>,
}

impl<'c> Queue<'c> {
    pub fn new(conn: &'c Connection) -> Result<Self> {
        Ok(Queue {
            insert: conn.prepare(
                "INSERT INTO twofactl_outbox (created, user_id, username, kind, sender, recipient, message)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
            )?,
        })
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
        let id = self.insert.query_row(
            params![
                now,
                user_id,
                username,
                kind,
                msg.from.to_string(),
                msg.to.to_string(),
                msg.bytes
            ],
            |r| r.get(0),
        )?;
        Ok(id)
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
    conn: &mut Connection,
    scope: Scope,
    after: i64,
    limit: usize,
    now: i64,
) -> Result<Vec<Item>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (lo, hi, interrupted_before) = match scope {
        Scope::Range(lo, hi) => (lo, hi, None),
        Scope::All { interrupted_before } => (i64::MIN, i64::MAX, interrupted_before),
    };
    let items = {
        let mut select = tx.prepare_cached(
            "SELECT id, username, sender, recipient, message FROM twofactl_outbox
             WHERE state <> 'sent' AND id > ?1 AND id BETWEEN ?2 AND ?3
               AND (state = 'pending' OR (state = 'sending' AND ?4 IS NOT NULL AND last_attempt < ?4))
             ORDER BY id LIMIT ?5",
        )?;
        let items = select
            .query_map(
                params![after, lo, hi, interrupted_before, limit as i64],
                |r| {
                    Ok(Item {
                        id: r.get(0)?,
                        username: r.get(1)?,
                        sender: r.get(2)?,
                        recipient: r.get(3)?,
                        message: r.get::<_, Option<Vec<u8>>>(4)?.unwrap_or_default(),
                    })
                },
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut mark = tx.prepare_cached(
            "UPDATE twofactl_outbox SET state = 'sending', attempts = attempts + 1, last_attempt = ?2 WHERE id = ?1",
        )?;
        for i in &items {
            mark.execute(params![i.id, now])?;
        }
        items
    };
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
pub fn settle(conn: &mut Connection, outcomes: &[(i64, Outcome)], now: i64) -> Result<()> {
    const TRIES: u32 = 3;
    let mut n = 1;
    loop {
        match settle_once(conn, outcomes, now) {
            Err(e) if n < TRIES && is_busy(&e) => n += 1,
            r => return r,
        }
    }
}

fn is_busy(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<rusqlite::Error>(),
            Some(rusqlite::Error::SqliteFailure(f, _))
                if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    })
}

fn settle_once(conn: &mut Connection, outcomes: &[(i64, Outcome)], now: i64) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut sent = tx.prepare_cached(
            "UPDATE twofactl_outbox SET state = 'sent', sent = ?2, message = NULL, last_error = NULL WHERE id = ?1",
        )?;
        let mut failed = tx.prepare_cached(
            "UPDATE twofactl_outbox SET state = 'pending', last_error = ?2 WHERE id = ?1",
        )?;
        let mut unsent = tx.prepare_cached(
            "UPDATE twofactl_outbox SET state = 'pending', attempts = attempts - 1 WHERE id = ?1",
        )?;
        for (id, outcome) in outcomes {
            match outcome {
                Outcome::Sent => sent.execute(params![id, now])?,
                Outcome::Failed(e) => failed.execute(params![id, e])?,
                Outcome::Unsent => unsent.execute(params![id])?,
            };
        }
    }
    tx.commit()?;
    Ok(())
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
pub fn for_each_unsent<F>(conn: &Connection, mut each: F) -> Result<()>
where
    F: FnMut(&Unsent) -> Result<()>,
{
    let mut stmt = conn.prepare(
        "SELECT id, created, username, recipient, kind, state, attempts, last_attempt, last_error
         FROM twofactl_outbox WHERE state <> 'sent' ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let state: String = r.get(5)?;
        each(&Unsent {
            id: r.get(0)?,
            created: r.get(1)?,
            username: r.get(2)?,
            recipient: r.get(3)?,
            kind: r.get(4)?,
            state: if state == "sending" {
                "interrupted"
            } else {
                "pending"
            },
            attempts: r.get(6)?,
            last_attempt: r.get(7)?,
            last_error: r.get(8)?,
        })?;
    }
    Ok(())
}

/// (pending, sending) counts.
pub fn counts(conn: &Connection) -> Result<(u64, u64)> {
    Ok(conn.query_row(
        "SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'sending')
         FROM twofactl_outbox WHERE state <> 'sent'",
        [],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )?)
}
