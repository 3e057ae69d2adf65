//! New TOTP keys waiting for confirmation (`twofactl_pending_keys`). A key made by `enroll`
//! stays here, not in the application's columns, until a code from it is confirmed: until
//! then the application's own authenticator (if any) keeps working. One pending key per user.

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, params};

use crate::app::UserId;

/// A key waiting for its first code.
#[derive(Debug, Clone)]
pub struct PendingKey {
    /// Base32, as the application stores keys.
    pub secret: String,
    pub created: i64,
    /// Made to replace an active authenticator (with `--force` and a reason).
    pub replaces_active: bool,
    pub reason: Option<String>,
    pub actor: Option<String>,
}

/// The user's pending key, if any.
pub fn get(conn: &Connection, user_id: &UserId) -> Result<Option<PendingKey>> {
    Ok(conn
        .query_row(
            "SELECT secret, created, replaces_active, reason, actor FROM twofactl_pending_keys
             WHERE user_id = ?1",
            [user_id],
            |r| {
                Ok(PendingKey {
                    secret: r.get(0)?,
                    created: r.get(1)?,
                    replaces_active: r.get(2)?,
                    reason: r.get(3)?,
                    actor: r.get(4)?,
                })
            },
        )
        .optional()?)
}

/// Store `key` as the user's pending key, replacing any other.
pub fn put(conn: &Connection, user_id: &UserId, key: &PendingKey) -> Result<()> {
    conn.execute(
        "INSERT INTO twofactl_pending_keys (user_id, secret, created, replaces_active, reason, actor)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created = excluded.created,
           replaces_active = excluded.replaces_active, reason = excluded.reason, actor = excluded.actor",
        params![
            user_id,
            key.secret,
            key.created,
            key.replaces_active,
            key.reason,
            key.actor
        ],
    )?;
    Ok(())
}

/// Drop the user's pending key; whether there was one.
pub fn discard(conn: &Connection, user_id: &UserId) -> Result<bool> {
    Ok(conn.execute(
        "DELETE FROM twofactl_pending_keys WHERE user_id = ?1",
        [user_id],
    )? > 0)
}
