//! New TOTP keys waiting for confirmation (`twofactl_pending_keys`). A key made by `enroll`
//! stays here, not in the application's columns, until a code from it is confirmed: until
//! then the application's own authenticator (if any) keeps working. One pending key per user.

use anyhow::Result;

use crate::app::UserId;
use crate::db::sql::{Get, Sql};
use crate::vals;

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
pub fn get(conn: &dyn Sql, user_id: &UserId) -> Result<Option<PendingKey>> {
    let Some(r) = conn.row(
        "SELECT secret, created, replaces_active, reason, actor FROM twofactl_pending_keys
         WHERE user_id = ?1",
        &vals![user_id],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(PendingKey {
        secret: r.string(0)?,
        created: r.int(1)?,
        replaces_active: r.flag(2),
        reason: r.opt_string(3)?,
        actor: r.opt_string(4)?,
    }))
}

/// Store `key` as the user's pending key, replacing any other.
pub fn put(conn: &dyn Sql, user_id: &UserId, key: &PendingKey) -> Result<()> {
    conn.execute(
        "INSERT INTO twofactl_pending_keys (user_id, secret, created, replaces_active, reason, actor)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created = excluded.created,
           replaces_active = excluded.replaces_active, reason = excluded.reason, actor = excluded.actor",
        &vals![
            user_id,
            &key.secret,
            key.created,
            key.replaces_active,
            key.reason.as_deref(),
            key.actor.as_deref()
        ],
    )?;
    Ok(())
}

/// Drop the user's pending key; whether there was one.
pub fn discard(conn: &dyn Sql, user_id: &UserId) -> Result<bool> {
    Ok(conn.execute(
        "DELETE FROM twofactl_pending_keys WHERE user_id = ?1",
        &vals![user_id],
    )? > 0)
}
