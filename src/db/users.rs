//! Queries on the application's users (and their sessions): listing, resolving the names an
//! operator typed, and clearing 2FA. Every statement is built once from the quoted `[schema]`
//! names; values are always bound, never spliced.

use std::borrow::Cow;

use anyhow::Result;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::Names;

/// A user's 2FA state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// An authenticator is active: the application asks for a code at login.
    Enabled,
    /// A new key awaits confirmation (in the application's columns, or twofactl's).
    Pending,
    /// No authenticator.
    Disabled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Enabled => "enabled",
            Status::Pending => "pending",
            Status::Disabled => "disabled",
        }
    }
}

/// A user as resolved for a change.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub is_admin: bool,
    pub status: Status,
    /// No key and not enabled: nothing to reset.
    pub clear: bool,
}

fn status(has_secret: bool, enabled: bool) -> Status {
    match (has_secret, enabled) {
        (false, _) => Status::Disabled,
        (true, false) => Status::Pending,
        (true, true) => Status::Enabled,
    }
}

/// A text column as a string (invalid UTF-8 replaced, NULL empty, numbers written out).
pub(super) fn text<'a>(row: &'a Row<'_>, i: usize) -> rusqlite::Result<Cow<'a, str>> {
    Ok(match row.get_ref(i)? {
        ValueRef::Text(b) | ValueRef::Blob(b) => String::from_utf8_lossy(b),
        ValueRef::Null => Cow::Borrowed(""),
        ValueRef::Integer(i) => Cow::Owned(i.to_string()),
        ValueRef::Real(f) => Cow::Owned(f.to_string()),
    })
}

/// A text column's bytes as stored, borrowed from the statement.
fn bytes<'a>(row: &'a Row<'_>, i: usize) -> rusqlite::Result<Cow<'a, [u8]>> {
    Ok(match row.get_ref(i)? {
        ValueRef::Text(b) | ValueRef::Blob(b) => Cow::Borrowed(b),
        ValueRef::Null => Cow::Borrowed(b""),
        ValueRef::Integer(i) => Cow::Owned(i.to_string().into_bytes()),
        ValueRef::Real(f) => Cow::Owned(f.to_string().into_bytes()),
    })
}

fn truthy(row: &Row<'_>, i: usize) -> rusqlite::Result<bool> {
    Ok(match row.get_ref(i)? {
        ValueRef::Null => false,
        ValueRef::Integer(n) => n != 0,
        ValueRef::Real(f) => f != 0.0,
        ValueRef::Text(t) | ValueRef::Blob(t) => !matches!(t, b"" | b"0"),
    })
}

fn user_columns(n: &Names) -> String {
    format!(
        "{id}, {username}, {email}, {is_admin}, {secret} IS NOT NULL, {enabled}",
        id = n.id,
        username = n.username,
        email = n.email,
        is_admin = n.is_admin,
        secret = n.totp_secret,
        enabled = n.totp_enabled,
    )
}

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let (has_secret, enabled) = (truthy(row, 4)?, truthy(row, 5)?);
    Ok(User {
        id: row.get(0)?,
        username: text(row, 1)?.into_owned(),
        email: text(row, 2)?.into_owned(),
        is_admin: truthy(row, 3)?,
        status: status(has_secret, enabled),
        clear: !has_secret && !enabled,
    })
}

/// What a name typed by an operator resolved to.
#[derive(Debug)]
pub enum Lookup {
    Found(User),
    Missing,
    /// An e-mail address shared by several users.
    Ambiguous,
}

/// Resolves names to users with prepared statements, for runs of any size.
pub struct Resolver<'c> {
    conn: &'c Connection,
    by_name: rusqlite::Statement<'c>,
    /// Prepared on the first name that needs it (most runs name users by username).
    by_email: Option<rusqlite::Statement<'c>>,
    email_sql: String,
}

impl<'c> Resolver<'c> {
    pub fn new(conn: &'c Connection, n: &Names) -> Result<Self> {
        let cols = user_columns(n);
        Ok(Resolver {
            conn,
            by_name: conn.prepare(&format!(
                "SELECT {cols} FROM {users} WHERE {username} = ?1",
                users = n.users,
                username = n.username
            ))?,
            by_email: None,
            email_sql: format!(
                "SELECT {cols} FROM {users} WHERE {email} = ?1 COLLATE NOCASE LIMIT 2",
                users = n.users,
                email = n.email
            ),
        })
    }

    /// A username, or else an e-mail address (only tried for names containing `@`).
    pub fn lookup(&mut self, name: &str) -> Result<Lookup> {
        if let Some(u) = self.by_name.query_row([name], user_from_row).optional()? {
            return Ok(Lookup::Found(u));
        }
        if !name.contains('@') {
            return Ok(Lookup::Missing);
        }
        let by_email = match &mut self.by_email {
            Some(s) => s,
            None => self.by_email.insert(self.conn.prepare(&self.email_sql)?),
        };
        let mut found: Vec<User> = by_email
            .query_map([name], user_from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(match found.len() {
            0 => Lookup::Missing,
            1 => Lookup::Found(found.remove(0)),
            _ => Lookup::Ambiguous,
        })
    }
}

/// Clears users' 2FA (and any key twofactl holds pending for them) and revokes their
/// sessions, with prepared statements. Only inside a write transaction (twofactl's tables
/// exist there).
pub struct Resetter<'c> {
    clear: rusqlite::Statement<'c>,
    discard: rusqlite::Statement<'c>,
    revoke: Option<rusqlite::Statement<'c>>,
}

impl<'c> Resetter<'c> {
    pub fn new(conn: &'c Connection, n: &Names) -> Result<Self> {
        Ok(Resetter {
            clear: conn.prepare(&format!(
                "UPDATE {users} SET {secret} = NULL, {enabled} = 0 WHERE {id} = ?1",
                users = n.users,
                secret = n.totp_secret,
                enabled = n.totp_enabled,
                id = n.id
            ))?,
            discard: conn.prepare("DELETE FROM twofactl_pending_keys WHERE user_id = ?1")?,
            revoke: n
                .sessions
                .as_ref()
                .map(|(t, c)| conn.prepare(&format!("DELETE FROM {t} WHERE {c} = ?1")))
                .transpose()?,
        })
    }

    /// Clear the user's TOTP key; return how many sessions were deleted.
    pub fn reset(&mut self, id: i64) -> Result<u64> {
        self.clear.execute(params![id])?;
        self.discard_pending(id)?;
        self.revoke(id)
    }

    /// Delete the user's sessions; return how many there were.
    pub fn revoke(&mut self, id: i64) -> Result<u64> {
        Ok(match &mut self.revoke {
            Some(s) => s.execute(params![id])? as u64,
            None => 0,
        })
    }

    /// Drop a key twofactl holds pending for the user; whether there was one.
    pub fn discard_pending(&mut self, id: i64) -> Result<bool> {
        Ok(self.discard.execute(params![id])? > 0)
    }
}

/// Filters for `list-users`.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub status: Option<Status>,
    pub admins: bool,
    pub pattern: Option<&'a str>,
    pub limit: Option<u64>,
}

/// One row of `list-users`, borrowed from the statement while it is being written out.
#[derive(Debug)]
pub struct ListRow<'a> {
    pub id: i64,
    /// As stored; `ListRow::text` makes it UTF-8 for output.
    pub username: Cow<'a, [u8]>,
    pub email: Cow<'a, [u8]>,
    pub is_admin: bool,
    pub status: Status,
    pub reset_open_until: Option<i64>,
    pub last_2fa_change: Option<i64>,
}

impl ListRow<'_> {
    /// A column's bytes as text (invalid UTF-8 replaced).
    pub fn text(bytes: &[u8]) -> Cow<'_, str> {
        // from_utf8 is the fast check; the lossy conversion only runs on bad bytes.
        match std::str::from_utf8(bytes) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(bytes),
        }
    }
}

/// The WHERE clause of `list-users` for `f` (empty when nothing is filtered); the pattern
/// is bound as `:pattern`.
fn list_where(n: &Names, own_version: usize, f: &Filter) -> String {
    let mut conds = Vec::new();
    match f.status {
        Some(Status::Enabled) => conds.push(format!(
            "u.{} IS NOT NULL AND u.{} <> 0",
            n.totp_secret, n.totp_enabled
        )),
        Some(Status::Pending) if own_version >= 5 => conds.push(format!(
            "((u.{s} IS NOT NULL AND u.{e} = 0)
              OR (u.{s} IS NULL AND u.{id} IN (SELECT user_id FROM twofactl_pending_keys)))",
            s = n.totp_secret,
            e = n.totp_enabled,
            id = n.id
        )),
        Some(Status::Pending) => conds.push(format!(
            "u.{} IS NOT NULL AND u.{} = 0",
            n.totp_secret, n.totp_enabled
        )),
        Some(Status::Disabled) if own_version >= 5 => conds.push(format!(
            "u.{} IS NULL AND u.{} NOT IN (SELECT user_id FROM twofactl_pending_keys)",
            n.totp_secret, n.id
        )),
        Some(Status::Disabled) => conds.push(format!("u.{} IS NULL", n.totp_secret)),
        None => {}
    }
    if f.admins {
        conds.push(format!("u.{} <> 0", n.is_admin));
    }
    if f.pattern.is_some() {
        // instr() rather than LIKE: the pattern is a plain substring, `%` and `_` included.
        conds.push(format!(
            "(instr(lower(u.{u}), lower(:pattern)) > 0 OR instr(lower(u.{e}), lower(:pattern)) > 0)",
            u = n.username,
            e = n.email
        ));
    }
    if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    }
}

/// Stream the users matching `f`, in id order, to `each`; memory does not grow with the count.
pub fn for_each<F>(
    conn: &Connection,
    n: &Names,
    own_version: usize,
    now: i64,
    f: &Filter,
    mut each: F,
) -> Result<()>
where
    F: FnMut(&ListRow<'_>) -> Result<()>,
{
    let where_ = list_where(n, own_version, f);
    let limit = if f.limit.is_some() {
        "LIMIT :limit"
    } else {
        ""
    };
    let sql = format!(
        "SELECT u.{id}, u.{username}, u.{email}, u.{is_admin}, u.{secret} IS NOT NULL, u.{enabled}
         FROM {users} u {where_} ORDER BY u.{id} {limit}",
        id = n.id,
        username = n.username,
        email = n.email,
        is_admin = n.is_admin,
        secret = n.totp_secret,
        enabled = n.totp_enabled,
        users = n.users,
    );
    let mut stmt = conn.prepare(&sql)?;
    if let Some(p) = f.pattern {
        let i = stmt.parameter_index(":pattern")?.expect("bound in the SQL");
        stmt.raw_bind_parameter(i, p)?;
    }
    if let Some(l) = f.limit {
        let i = stmt.parameter_index(":limit")?.expect("bound in the SQL");
        stmt.raw_bind_parameter(i, i64::try_from(l).unwrap_or(i64::MAX))?;
    }
    // twofactl's per-user facts come from two more cursors in user-id order, merged with the
    // users as they stream: one pass over each index instead of two lookups per user.
    let mut changes_stmt = (own_version >= 1)
        .then(|| {
            conn.prepare(
                "SELECT user_id, max(time) FROM twofactl_audit WHERE changed = 1
                 GROUP BY user_id ORDER BY user_id",
            )
        })
        .transpose()?;
    let mut open_stmt = (own_version >= 3)
        .then(|| {
            conn.prepare(
                "SELECT user_id, max(expires) FROM twofactl_reset_requests
                 WHERE state = 'open' AND expires > ?1 GROUP BY user_id ORDER BY user_id",
            )
        })
        .transpose()?;
    // A key twofactl holds pending makes a user without an authenticator `pending`.
    let mut pending_stmt = (own_version >= 5)
        .then(|| {
            conn.prepare("SELECT user_id, created FROM twofactl_pending_keys ORDER BY user_id")
        })
        .transpose()?;
    let mut pending = Merge::new(pending_stmt.as_mut().map(|s| s.query([])).transpose()?)?;
    let mut changes = Merge::new(changes_stmt.as_mut().map(|s| s.query([])).transpose()?)?;
    let mut open = Merge::new(open_stmt.as_mut().map(|s| s.query([now])).transpose()?)?;
    let mut rows = stmt.raw_query();
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let r = ListRow {
            id,
            username: bytes(row, 1)?,
            email: bytes(row, 2)?,
            is_admin: truthy(row, 3)?,
            status: match status(truthy(row, 4)?, truthy(row, 5)?) {
                Status::Disabled if pending.value_for(id)?.is_some() => Status::Pending,
                s => s,
            },
            reset_open_until: open.value_for(id)?,
            last_2fa_change: changes.value_for(id)?,
        };
        each(&r)?;
    }
    Ok(())
}

/// A cursor of (user id, value) rows in ascending id order, read alongside the users.
struct Merge<'s> {
    rows: Option<rusqlite::Rows<'s>>,
    current: Option<(i64, i64)>,
}

impl<'s> Merge<'s> {
    fn new(rows: Option<rusqlite::Rows<'s>>) -> Result<Self> {
        let mut m = Merge {
            rows,
            current: None,
        };
        m.advance()?;
        Ok(m)
    }

    fn advance(&mut self) -> Result<()> {
        self.current = match &mut self.rows {
            Some(rows) => match rows.next()? {
                Some(r) => Some((r.get(0)?, r.get(1)?)),
                None => None,
            },
            None => None,
        };
        Ok(())
    }

    /// The value for user `id`; ids must be asked for in ascending order.
    fn value_for(&mut self, id: i64) -> Result<Option<i64>> {
        while let Some((uid, value)) = self.current {
            match uid.cmp(&id) {
                std::cmp::Ordering::Less => self.advance()?,
                std::cmp::Ordering::Equal => return Ok(Some(value)),
                std::cmp::Ordering::Greater => return Ok(None),
            }
        }
        Ok(None)
    }
}

/// How many users the application has.
pub fn count(conn: &Connection, n: &Names) -> Result<u64> {
    let c: i64 = conn.query_row(&format!("SELECT count(*) FROM {}", n.users), [], |r| {
        r.get(0)
    })?;
    Ok(c.unsigned_abs())
}

/// The user's stored password hash (a PHC string, as the application wrote it).
pub fn password_hash(conn: &Connection, n: &Names, id: i64) -> Result<String> {
    let sql = format!(
        "SELECT {} FROM {} WHERE {} = ?1",
        n.password_hash, n.users, n.id
    );
    Ok(conn.query_row(&sql, [id], |r| Ok(text(r, 0)?.into_owned()))?)
}

/// Re-read one user by id (inside a transaction, to act on current state).
pub fn by_id(conn: &Connection, n: &Names, id: i64) -> Result<Option<User>> {
    let sql = format!(
        "SELECT {} FROM {} WHERE {} = ?1",
        user_columns(n),
        n.users,
        n.id
    );
    Ok(conn.query_row(&sql, [id], user_from_row).optional()?)
}

/// The user's stored TOTP key, if any (for confirming a pending key; never printed).
pub fn totp_key(conn: &Connection, n: &Names, id: i64) -> Result<Option<String>> {
    let sql = format!(
        "SELECT {} FROM {} WHERE {} = ?1",
        n.totp_secret, n.users, n.id
    );
    Ok(conn.query_row(&sql, [id], |r| r.get(0))?)
}

/// Make `key` the user's active authenticator.
pub fn set_active_key(conn: &Connection, n: &Names, id: i64, key: &str) -> Result<()> {
    let sql = format!(
        "UPDATE {} SET {} = ?2, {} = 1 WHERE {} = ?1",
        n.users, n.totp_secret, n.totp_enabled, n.id
    );
    conn.execute(&sql, params![id, key])?;
    Ok(())
}
