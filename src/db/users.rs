//! Queries on the application's users, through the application seam (`app::App`): listing,
//! resolving the names an operator typed, and clearing 2FA. Every statement is built from the
//! mapping's quoted names; values are always bound, never spliced.

use std::borrow::Cow;

use anyhow::Result;
use std::cmp::Ordering;

use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, Row};

use crate::app::{App, AppUser, UserId};
use crate::db::sql::{Get, Params, Sql};

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
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub is_admin: bool,
    pub status: Status,
    /// No key and not enabled: nothing to reset.
    pub clear: bool,
}

impl From<AppUser> for User {
    fn from(u: AppUser) -> User {
        User {
            status: status(u.has_key, u.active),
            clear: !u.has_key && !u.active,
            id: u.id,
            username: u.username,
            email: u.email,
            is_admin: u.is_admin,
        }
    }
}

pub(crate) fn status(has_key: bool, active: bool) -> Status {
    match (has_key, active) {
        (_, true) => Status::Enabled,
        (true, false) => Status::Pending,
        (false, false) => Status::Disabled,
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

/// What a name typed by an operator resolved to.
#[derive(Debug)]
pub enum Lookup {
    Found(User),
    Missing,
    /// An e-mail address shared by several users.
    Ambiguous,
}

/// Resolves names to users (one statement each way, prepared once per connection).
pub struct Resolver<'c> {
    app: &'c App,
    conn: &'c dyn Sql,
    by_name: String,
}

impl<'c> Resolver<'c> {
    pub fn new(conn: &'c dyn Sql, app: &'c App) -> Result<Self> {
        let by_name = format!(
            "{} WHERE {}",
            app.select_users(),
            app.name_sql(false).expect("by username")
        );
        Ok(Resolver { app, conn, by_name })
    }

    /// A username, or else an e-mail address (only tried for names containing `@`).
    pub fn lookup(&mut self, name: &str) -> Result<Lookup> {
        let params = self
            .app
            .named(vec![(":name", Value::Text(name.to_owned()))]);
        if let Some(r) = self.conn.row_with(&self.by_name, Params::Named(&params))? {
            return Ok(Lookup::Found(self.app.user_from_values(&r)?.into()));
        }
        if !name.contains('@') {
            return Ok(Lookup::Missing);
        }
        let Some(cond) = self.app.name_sql(true) else {
            return Ok(Lookup::Missing);
        };
        let sql = format!("{} WHERE {cond} LIMIT 2", self.app.select_users());
        let mut rows = self.conn.rows(&sql, Params::Named(&params))?;
        Ok(match rows.len() {
            0 => Lookup::Missing,
            1 => Lookup::Found(self.app.user_from_values(&rows.swap_remove(0))?.into()),
            _ => Lookup::Ambiguous,
        })
    }
}

/// Clears users' 2FA as the application does (and any key twofactl holds pending for them)
/// and ends their logins. Only inside a write transaction (twofactl's tables exist there).
pub struct Resetter<'c> {
    app: &'c App,
    conn: &'c dyn Sql,
}

impl<'c> Resetter<'c> {
    pub fn new(conn: &'c dyn Sql, app: &'c App) -> Result<Self> {
        Ok(Resetter { app, conn })
    }

    /// Clear the user's TOTP key; return how many logins were ended.
    pub fn reset(&mut self, id: &UserId) -> Result<u64> {
        self.discard_pending(id)?;
        self.app.reset(self.conn, id)
    }

    /// End the user's logins; return how many there were.
    pub fn revoke(&mut self, id: &UserId) -> Result<u64> {
        self.app.end_sessions(self.conn, id)
    }

    /// Drop a key twofactl holds pending for the user; whether there was one.
    pub fn discard_pending(&mut self, id: &UserId) -> Result<bool> {
        crate::db::pending::discard(self.conn, id)
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
    pub id: UserId,
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
pub(crate) fn list_where(app: &App, own_version: usize, f: &Filter) -> String {
    let (has, on) = app.state_sql();
    let id = &app.map.id;
    let ours = format!(
        "{} IN (SELECT user_id FROM twofactl_pending_keys)",
        app.dialect.text(&format!("u.{id}"))
    );
    let mut conds = Vec::new();
    match f.status {
        Some(Status::Enabled) => conds.push(on),
        Some(Status::Pending) if own_version >= 5 => {
            conds.push(format!("NOT {on} AND ({has} OR {ours})"));
        }
        Some(Status::Pending) => conds.push(format!("NOT {on} AND {has}")),
        Some(Status::Disabled) if own_version >= 5 => {
            conds.push(format!("NOT {on} AND NOT {has} AND NOT {ours}"));
        }
        Some(Status::Disabled) => conds.push(format!("NOT {on} AND NOT {has}")),
        None => {}
    }
    if f.admins {
        conds.push(app.admin_sql());
    }
    if f.pattern.is_some() {
        // instr() rather than LIKE: the pattern is a plain substring, `%` and `_` included.
        let d = app.dialect;
        let lower = |e: &str| format!("lower({e})");
        conds.push(format!(
            "({} OR {})",
            d.contains(
                &lower(&d.text(&format!("u.{}", app.map.username))),
                "lower(:pattern)"
            ),
            d.contains(&lower(&app.email_sql()), "lower(:pattern)")
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
    app: &App,
    own_version: usize,
    now: i64,
    f: &Filter,
    mut each: F,
) -> Result<()>
where
    F: FnMut(&ListRow<'_>) -> Result<()>,
{
    let limit = if f.limit.is_some() {
        "LIMIT :limit"
    } else {
        ""
    };
    let sql = format!(
        "{} {} ORDER BY u.{} {limit}",
        app.select_users(),
        list_where(app, own_version, f),
        app.map.id
    );
    let mut stmt = conn.prepare(&sql)?;
    app.bind(&mut stmt)?;
    if let Some(p) = f.pattern {
        let i = stmt.parameter_index(":pattern")?.expect("bound in the SQL");
        stmt.raw_bind_parameter(i, p)?;
    }
    if let Some(l) = f.limit {
        let i = stmt.parameter_index(":limit")?.expect("bound in the SQL");
        stmt.raw_bind_parameter(i, i64::try_from(l).unwrap_or(i64::MAX))?;
    }
    // twofactl's per-user facts come from three more cursors in user-id order, merged with
    // the users as they stream: one pass over each index instead of lookups per user.
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
        let id: Value = row.get(0)?;
        let (is_admin, has, on) = app.flags(row)?;
        let r = ListRow {
            username: bytes(row, 1)?,
            email: bytes(row, 2)?,
            is_admin,
            status: match status(has, on) {
                Status::Disabled if pending.value_for(&id)?.is_some() => Status::Pending,
                s => s,
            },
            reset_open_until: open.value_for(&id)?,
            last_2fa_change: changes.value_for(&id)?,
            id,
        };
        each(&r)?;
    }
    Ok(())
}

/// SQLite's order of values (NULL, numbers, text, blobs; text and blobs bytewise), which
/// `ORDER BY` follows on both sides of a merge.
fn sqlite_cmp(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Integer(_) | Value::Real(_) => 1,
            Value::Text(_) => 2,
            Value::Blob(_) => 3,
        }
    }
    match (a, b) {
        (Value::Integer(x), Value::Integer(y)) => x.cmp(y),
        (Value::Integer(x), Value::Real(y)) => (*x as f64).total_cmp(y),
        (Value::Real(x), Value::Integer(y)) => x.total_cmp(&(*y as f64)),
        (Value::Real(x), Value::Real(y)) => x.total_cmp(y),
        (Value::Text(x), Value::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Blob(x), Value::Blob(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// A cursor of (user id, value) rows in ascending id order, read alongside the users.
struct Merge<'s> {
    rows: Option<rusqlite::Rows<'s>>,
    current: Option<(Value, i64)>,
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
    fn value_for(&mut self, id: &Value) -> Result<Option<i64>> {
        while let Some((uid, value)) = &self.current {
            match sqlite_cmp(uid, id) {
                Ordering::Less => self.advance()?,
                Ordering::Equal => return Ok(Some(*value)),
                Ordering::Greater => return Ok(None),
            }
        }
        Ok(None)
    }
}

/// How many users the application has.
pub fn count(conn: &dyn Sql, app: &App) -> Result<u64> {
    let sql = format!("SELECT count(*) FROM {}", app.map.users);
    Ok(conn.value_row(&sql, &[])?.int(0)?.unsigned_abs())
}

/// Re-read one user by id (inside a transaction, to act on current state).
pub fn by_id(conn: &dyn Sql, app: &App, id: &UserId) -> Result<Option<User>> {
    Ok(app.user_by_id(conn, id)?.map(User::from))
}

/// [`by_id`] inside a write transaction, the user's row locked until the commit.
pub fn lock(conn: &dyn Sql, app: &App, id: &UserId) -> Result<Option<User>> {
    Ok(app.lock_user(conn, id)?.map(User::from))
}
