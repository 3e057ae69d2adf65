//! twofactl's audit log (`twofactl_audit`): one row per action on a user, written in the same
//! transaction as the change it records. Rows never hold a secret.

use anyhow::Result;

use crate::app::UserId;
use crate::db::sql::{Get, Sql};
use crate::vals;

/// One audit record, as written.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub time: i64,
    pub os_user: &'a str,
    pub actor: Option<&'a str>,
    pub action: &'a str,
    pub user_id: Option<&'a UserId>,
    pub username: &'a str,
    pub reason: Option<&'a str>,
    pub outcome: &'a str,
    /// Free text, e.g. "user not notified (--no-notify)".
    pub detail: Option<&'a str>,
    /// Whether this record is a change of the user's 2FA (list-users' last_2fa_change).
    pub changed: bool,
}

/// Appends audit rows (inside the caller's transaction).
pub struct Writer<'c> {
    conn: &'c dyn Sql,
}

impl<'c> Writer<'c> {
    pub fn new(conn: &'c dyn Sql) -> Result<Self> {
        Ok(Writer { conn })
    }

    pub fn write(&mut self, r: &Record<'_>) -> Result<()> {
        self.conn.execute(
            "INSERT INTO twofactl_audit
               (time, os_user, actor, action, user_id, username, reason, outcome, detail, changed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            &vals![
                r.time, r.os_user, r.actor, r.action, r.user_id, r.username, r.reason, r.outcome,
                r.detail, r.changed
            ],
        )?;
        Ok(())
    }
}

/// Filters for reading the log.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub username: Option<&'a str>,
    pub action: Option<&'a str>,
    pub since: Option<i64>,
    pub limit: Option<u64>,
}

/// One record as read back.
#[derive(Debug)]
pub struct Row {
    pub time: i64,
    pub os_user: String,
    pub actor: Option<String>,
    pub action: String,
    pub username: String,
    pub reason: Option<String>,
    pub outcome: String,
    pub detail: Option<String>,
}

/// Stream matching records, oldest first (with a limit: the newest `limit`, oldest first).
pub fn for_each<F>(conn: &dyn Sql, f: &Filter, mut each: F) -> Result<()>
where
    F: FnMut(&Row) -> Result<()>,
{
    const COLUMNS: &str = "time, os_user, actor, action, username, reason, outcome, detail";
    // The casts give PostgreSQL the parameters' types (SQLite keeps the values as they are).
    const WHERE: &str = "WHERE (CAST(?1 AS TEXT) IS NULL OR username = ?1)
             AND (CAST(?2 AS TEXT) IS NULL OR action = ?2)
             AND (CAST(?3 AS BIGINT) IS NULL OR time >= ?3)";
    // Without a limit, stream in id order; with one, take the newest and show them oldest first.
    let (sql, limit) = match f.limit {
        None => (
            format!(
                "SELECT {COLUMNS} FROM twofactl_audit {WHERE} AND CAST(?4 AS BIGINT) IS NULL ORDER BY id"
            ),
            None,
        ),
        Some(l) => (
            format!(
                "SELECT {COLUMNS} FROM (SELECT * FROM twofactl_audit {WHERE} ORDER BY id DESC LIMIT ?4) AS newest ORDER BY id"
            ),
            Some(i64::try_from(l).unwrap_or(i64::MAX)),
        ),
    };
    conn.each(&sql, &vals![f.username, f.action, f.since, limit], |r| {
        each(&Row {
            time: r.int(0)?,
            os_user: r.string(1)?,
            actor: r.opt_string(2)?,
            action: r.string(3)?,
            username: r.string(4)?,
            reason: r.opt_string(5)?,
            outcome: r.string(6)?,
            detail: r.opt_string(7)?,
        })
    })?;
    Ok(())
}
