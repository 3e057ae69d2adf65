//! The sandbox's application database: created from the application's own schema and filled
//! with sample users in every 2FA state, their sessions and the application's settings.
//! This is the only place twofactl creates an application database.

use std::path::Path;

use anyhow::{Context, Result};
use rusqlite::{Connection, OpenFlags, params};

/// A sample user for the sandbox.
pub struct SampleUser<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub password_hash: String,
    pub is_admin: bool,
    /// Base32 TOTP key, or None.
    pub totp_secret: Option<String>,
    pub totp_enabled: bool,
    pub sessions: u32,
}

/// Create a new database at `path` (which must not exist) with `users` and `settings`.
pub fn create(
    path: &Path,
    schema_sql: &str,
    users: &[SampleUser<'_>],
    settings: &[(&str, &str)],
) -> Result<()> {
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
    )
    .with_context(|| format!("could not create {}", path.display()))?;
    let tx = conn.transaction()?;
    tx.execute_batch(schema_sql)?;
    {
        let mut add_user = tx.prepare(
            "INSERT INTO users (username, email, password_hash, is_admin, totp_secret, totp_enabled)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut add_session = tx.prepare(
            "INSERT INTO sessions (id, user_id, last_seen)
             VALUES (lower(hex(randomblob(16))), ?1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
        )?;
        for u in users {
            add_user.execute(params![
                u.username,
                u.email,
                u.password_hash,
                u.is_admin,
                u.totp_secret,
                u.totp_enabled
            ])?;
            let id = tx.last_insert_rowid();
            for _ in 0..u.sessions {
                add_session.execute([id])?;
            }
        }
        let mut set = tx.prepare("INSERT INTO settings (key, value) VALUES (?1, ?2)")?;
        for (k, v) in settings {
            set.execute([k, v])?;
        }
    }
    tx.commit()?;
    Ok(())
}
