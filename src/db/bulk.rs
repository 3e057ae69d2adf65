//! Bulk runs (`admin-reset` of one user or of a million) staged in TEMP tables, so that
//! memory does not grow with the number of names: the names as given (`twofactl_names`, in
//! order), the users they resolve to (`twofactl_targets`, one row per user, in the order first
//! named, with the logins a change ends) and the notifications queued (`twofactl_results`).
//! TEMP tables live in a file of the connection's own, never in the application's database
//! (so they work on a read-only connection too), and vanish with the connection.
//!
//! Names resolve as `users::Resolver` resolves one: by username, else, for a name containing
//! `@`, by e-mail address (ASCII case-insensitive), where an address shared by several users
//! is ambiguous. Here it is done set-based, in one statement per step.

use std::borrow::Cow;

use anyhow::{Result, anyhow};
use rusqlite::Connection;
use rusqlite::types::Value;

use super::users::text;
use crate::app::{App, Dialect, Who};
use crate::db::sql::{Get, Params, Sql};
use crate::vals;

/// The staging tables. A user named twice (alice and alice@example.com), like a missing name
/// given twice, is a target once, at its first place: `twofactl_targets.key` (the user's id,
/// or the name that is no user) is UNIQUE. Columns copied from the application's table have
/// no type, so that their values are kept exactly as stored.
const TABLES: &str = "
    CREATE TEMP TABLE IF NOT EXISTS twofactl_names (
        seq   INTEGER PRIMARY KEY,
        name  TEXT NOT NULL
    );
    CREATE TEMP TABLE IF NOT EXISTS twofactl_email_names (
        seq   INTEGER PRIMARY KEY,
        name  TEXT NOT NULL COLLATE NOCASE
    );
    CREATE INDEX IF NOT EXISTS temp.twofactl_email_names_name ON twofactl_email_names (name);
    CREATE TEMP TABLE IF NOT EXISTS twofactl_email_matches (
        seq      INTEGER PRIMARY KEY,
        user_id,
        matches  INTEGER NOT NULL
    );
    CREATE TEMP TABLE IF NOT EXISTS twofactl_targets (
        seq       INTEGER PRIMARY KEY,
        key       UNIQUE,
        user_id,
        name,
        email,
        is_admin  INTEGER,
        clear     INTEGER,
        sessions  INTEGER
    );
    CREATE TEMP TABLE IF NOT EXISTS twofactl_results (
        seq        INTEGER PRIMARY KEY,
        outbox_id  INTEGER NOT NULL
    );";

/// The staging tables on PostgreSQL (session-private, in `pg_temp`). User ids have the type
/// of the application's id column (`{id_type}`), so that the application's tables are
/// joined with them on their index; a target's `key` is made unique by the statement that
/// fills the table (`pg_targets_sql`).
const PG_TABLES: &str = "
    CREATE TEMP TABLE IF NOT EXISTS twofactl_names (
        seq   bigint GENERATED ALWAYS AS IDENTITY,
        name  text NOT NULL
    );
    CREATE TEMP TABLE IF NOT EXISTS twofactl_email_names (
        seq     bigint PRIMARY KEY,
        name    text NOT NULL,
        folded  text NOT NULL
    );
    CREATE INDEX IF NOT EXISTS twofactl_email_names_folded ON pg_temp.twofactl_email_names (folded);
    CREATE TEMP TABLE IF NOT EXISTS twofactl_email_matches (
        seq      bigint PRIMARY KEY,
        user_id  {id_type},
        matches  bigint NOT NULL
    );
    CREATE TEMP TABLE IF NOT EXISTS twofactl_targets (
        seq       bigint PRIMARY KEY,
        key       text,
        user_id   {id_type},
        name      text,
        email     text,
        is_admin  boolean,
        clear     boolean,
        sessions  bigint
    );
    CREATE TEMP TABLE IF NOT EXISTS twofactl_results (
        seq        bigint PRIMARY KEY,
        outbox_id  bigint NOT NULL
    );
    TRUNCATE pg_temp.twofactl_names, pg_temp.twofactl_email_names, pg_temp.twofactl_email_matches,
        pg_temp.twofactl_targets, pg_temp.twofactl_results RESTART IDENTITY;";

/// Pages of the TEMP tables kept in memory (KiB); the rest is in their file.
const TEMP_CACHE_KIB: i64 = 4096;

/// The schema of the staging tables.
fn temp(conn: &dyn Sql) -> &'static str {
    match conn.dialect() {
        Dialect::Sqlite => "temp",
        Dialect::Postgres => "pg_temp",
    }
}

/// Make the staging tables (empty) on `conn`. On SQLite, TEMP tables are kept in a file,
/// whatever the build's default, so that a long list does not grow the heap.
pub fn create(conn: &dyn Sql, app: &App) -> Result<()> {
    if let Some(c) = conn.sqlite() {
        c.pragma_update(None, "temp_store", "FILE")?;
        c.pragma_update(Some("temp"), "cache_size", -TEMP_CACHE_KIB)?;
        c.execute_batch(TABLES)?;
        c.execute_batch(
            "DELETE FROM temp.twofactl_names;
             DELETE FROM temp.twofactl_email_names;
             DELETE FROM temp.twofactl_email_matches;
             DELETE FROM temp.twofactl_targets;
             DELETE FROM temp.twofactl_results;",
        )?;
        return Ok(());
    }
    let id_type = id_type(conn, app)?;
    // READ WRITE: a reading session's transactions are read-only by default, and TEMP
    // tables are created all the same (they are the connection's own).
    conn.batch(&format!(
        "BEGIN READ WRITE; {} COMMIT;",
        PG_TABLES.replace("{id_type}", &id_type)
    ))
}

/// PostgreSQL: gather a staging table's statistics, which autovacuum never does for TEMP
/// tables: without them the planner guesses a thousand rows and hashes every user of the
/// application for a list of any length.
fn analyze(conn: &dyn Sql, table: &str) -> Result<()> {
    if conn.dialect() == Dialect::Postgres {
        conn.batch(&format!("ANALYZE pg_temp.{table}"))?;
    }
    Ok(())
}

/// The type of the application's user id column, as PostgreSQL writes it.
fn id_type(conn: &dyn Sql, app: &App) -> Result<String> {
    let bare = |q: &str| q.trim_matches('"').replace("\"\"", "\"");
    conn.row(
        "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = to_regclass(?1) AND a.attname = ?2",
        &vals![app.map.users.as_str(), bare(&app.map.id)],
    )?
    .map(|r| r.string(0))
    .transpose()?
    .ok_or_else(|| anyhow!("no column {} in {}", app.map.id, app.map.users))
}

/// Names inserted per statement: one statement per name would spend more time starting
/// statements than storing names.
const ROWS: usize = 64;

/// Bytes of names sent per `COPY` on PostgreSQL.
const COPY_BYTES: usize = 1 << 20;

/// The `COPY` that stages names on PostgreSQL.
const COPY_NAMES: &str = "COPY pg_temp.twofactl_names (name) FROM STDIN";

/// Appends names to `twofactl_names` (inside a transaction): on SQLite a few rows per
/// statement, on PostgreSQL by `COPY`, a megabyte at a time.
pub struct NameWriter<'c> {
    conn: &'c dyn Sql,
    insert: String,
    /// Names not yet inserted (SQLite), at most [`ROWS`].
    pending: Vec<Value>,
    /// Names not yet copied (PostgreSQL), in COPY's text format.
    copy: Vec<u8>,
    /// Whether any name contains `@` (only then are e-mail addresses looked up).
    pub any_email: bool,
}

impl<'c> NameWriter<'c> {
    pub fn new(conn: &'c dyn Sql) -> Result<Self> {
        Ok(NameWriter {
            conn,
            insert: insert_names(conn, ROWS),
            pending: Vec::with_capacity(ROWS),
            copy: Vec::new(),
            any_email: false,
        })
    }

    /// Add `name` after those already added.
    pub fn push(&mut self, name: &str) -> Result<()> {
        self.any_email |= name.contains('@');
        if self.conn.dialect() == Dialect::Postgres {
            copy_text(&mut self.copy, name);
            if self.copy.len() >= COPY_BYTES {
                self.conn.copy_in(COPY_NAMES, &self.copy)?;
                self.copy.clear();
            }
            return Ok(());
        }
        self.pending.push(Value::Text(name.to_owned()));
        if self.pending.len() == ROWS {
            self.conn.execute(&self.insert, &self.pending)?;
            self.pending.clear();
        }
        Ok(())
    }

    /// Insert the names still pending; returns whether any name contains `@`.
    pub fn finish(self) -> Result<bool> {
        if !self.pending.is_empty() {
            let sql = insert_names(self.conn, self.pending.len());
            self.conn.execute(&sql, &self.pending)?;
        }
        if !self.copy.is_empty() {
            self.conn.copy_in(COPY_NAMES, &self.copy)?;
        }
        analyze(self.conn, "twofactl_names")?;
        Ok(self.any_email)
    }
}

/// `value` as one row of one column in COPY's text format: backslash, tab, newline and
/// carriage return escaped, then a newline.
fn copy_text(out: &mut Vec<u8>, value: &str) {
    for b in value.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b => out.push(b),
        }
    }
    out.push(b'\n');
}

fn insert_names(conn: &dyn Sql, n: usize) -> String {
    let values: Vec<String> = (1..=n).map(|i| format!("(?{i})")).collect();
    format!(
        "INSERT INTO {}.twofactl_names (name) VALUES {}",
        temp(conn),
        values.join(", ")
    )
}

/// Resolve the staged names into `twofactl_targets` (replacing what was there). With
/// `by_email` (some name contains `@`), names that are no username are looked up as e-mail
/// addresses: one pass over the users, whatever the number of such names. With `sessions`
/// (under the write lock, before a change), the logins of each user whose 2FA is not clear
/// are counted, as the change will end them. Returns the first name (in order) that is the
/// e-mail address of several users; then the targets are not made.
pub fn resolve(
    conn: &dyn Sql,
    app: &App,
    by_email: bool,
    sessions: bool,
) -> Result<Option<String>> {
    let t = temp(conn);
    conn.batch(&format!(
        "DELETE FROM {t}.twofactl_email_names;
         DELETE FROM {t}.twofactl_email_matches;
         DELETE FROM {t}.twofactl_targets;
         DELETE FROM {t}.twofactl_results;"
    ))?;
    if by_email && match_emails(conn, app)? {
        let ambiguous = conn.row(
            &format!(
                "SELECT e.name FROM {t}.twofactl_email_matches m
                 JOIN {t}.twofactl_email_names e ON e.seq = m.seq
                 WHERE m.matches > 1 ORDER BY m.seq LIMIT 1"
            ),
            &[],
        )?;
        if let Some(r) = ambiguous {
            return Ok(Some(r.string(0)?));
        }
    }
    let sql = targets_sql(app, t, by_email, sessions);
    conn.execute_named(&sql, &app.named(Vec::new()))?;
    // The columns the change joins on: without them the planner reads every user to lock
    // a hundred thousand (0.4 s instead of 0.1 s).
    analyze(conn, "twofactl_targets (seq, user_id, clear)")?;
    Ok(None)
}

/// The statement that fills `twofactl_targets` from the names (and the e-mail matches).
fn targets_sql(app: &App, t: &str, by_email: bool, sessions: bool) -> String {
    let n = &app.map;
    let (has, on) = app.state_sql();
    let sessions = if sessions {
        format!(
            "CASE WHEN NOT {has} AND NOT {on} THEN 0 ELSE {count} END",
            count = app.sessions_sql(&format!("u.{}", n.id))
        )
    } else {
        "0".to_owned()
    };
    if app.dialect == Dialect::Postgres {
        return pg_targets_sql(app, by_email, &sessions);
    }
    let by_name = format!(
        "(SELECT x.{id} FROM {users} x WHERE x.{username} = n.name)",
        id = n.id,
        users = n.users,
        username = n.username,
    );
    let (user_id, email_join) = if by_email {
        (
            format!("coalesce({by_name}, m.user_id)"),
            format!("LEFT JOIN {t}.twofactl_email_matches m ON m.seq = n.seq"),
        )
    } else {
        (by_name, String::new())
    };
    // ON CONFLICT (key) DO NOTHING keeps a user's (or a missing name's) first place; WHERE
    // true keeps SQLite's parser from reading ON CONFLICT as a join constraint.
    format!(
        "INSERT INTO {t}.twofactl_targets
           (seq, key, user_id, name, email, is_admin, clear, sessions)
         SELECT r.seq, coalesce(u.{id}, r.name), u.{id},
                CASE WHEN u.{id} IS NULL THEN r.name ELSE u.{username} END,
                {email}, {admin}, NOT {has} AND NOT {on}, {sessions}
         FROM (SELECT n.seq AS seq, n.name AS name, {user_id} AS user_id
               FROM {t}.twofactl_names n {email_join}) AS r
         LEFT JOIN {users} u ON u.{id} = r.user_id
         WHERE true ORDER BY r.seq
         ON CONFLICT (key) DO NOTHING",
        id = n.id,
        username = n.username,
        email = app.email_sql(),
        admin = app.admin_sql(),
        users = n.users,
    )
}

/// [`targets_sql`] on PostgreSQL, set-based for its planner: each name's user found by a
/// join (hashed, not looked up per name; the lowest id where usernames repeat), the user's
/// row carried along as `u` so that it is read once, and each user (or missing name) kept
/// at its first place by `DISTINCT ON` its key: the id as text after `u`, or the name after
/// `n`, so that the user `7` and the missing name `7` stay apart.
fn pg_targets_sql(app: &App, by_email: bool, sessions: &str) -> String {
    let n = &app.map;
    let (id, users, username) = (&n.id, &n.users, &n.username);
    let (has, on) = app.state_sql();
    let rows = if by_email {
        format!(
            "SELECT r.seq AS twofactl_seq, r.name AS twofactl_name, x.*
             FROM (SELECT DISTINCT ON (n.seq) n.seq, n.name, coalesce(y.{id}, m.user_id) AS uid
                   FROM pg_temp.twofactl_names n
                   LEFT JOIN {users} y ON y.{username} = n.name
                   LEFT JOIN pg_temp.twofactl_email_matches m ON m.seq = n.seq
                   ORDER BY n.seq, y.{id}) r
             LEFT JOIN {users} x ON x.{id} = r.uid"
        )
    } else {
        format!(
            "SELECT DISTINCT ON (n.seq) n.seq AS twofactl_seq, n.name AS twofactl_name, x.*
             FROM pg_temp.twofactl_names n LEFT JOIN {users} x ON x.{username} = n.name
             ORDER BY n.seq, x.{id}"
        )
    };
    format!(
        "INSERT INTO pg_temp.twofactl_targets
           (seq, key, user_id, name, email, is_admin, clear, sessions)
         SELECT DISTINCT ON (key) seq, key, user_id, name, email, is_admin, clear, sessions
         FROM (SELECT u.twofactl_seq AS seq,
                      CASE WHEN u.{id} IS NULL THEN 'n' || u.twofactl_name
                           ELSE 'u' || (u.{id})::text END AS key,
                      u.{id} AS user_id,
                      CASE WHEN u.{id} IS NULL THEN u.twofactl_name
                           ELSE coalesce((u.{username})::text, '') END AS name,
                      {email} AS email, {admin} AS is_admin, NOT {has} AND NOT {on} AS clear,
                      {sessions} AS sessions
               FROM ({rows}) u) t
         ORDER BY key, seq",
        email = app.email_sql(),
        admin = app.admin_sql(),
    )
}

/// Look up the names that contain `@` and are no username as e-mail addresses, into
/// `twofactl_email_matches` (the user, and how many users have that address). Returns
/// whether there were any such names.
fn match_emails(conn: &dyn Sql, app: &App) -> Result<bool> {
    let n = &app.map;
    if app.name_sql(true).is_none() {
        return Ok(false);
    }
    let t = temp(conn);
    let pg = conn.dialect() == Dialect::Postgres;
    let candidates = conn.execute(
        &format!(
            "INSERT INTO {t}.twofactl_email_names (seq, name{folded_col})
             SELECT n.seq, n.name{folded} FROM {t}.twofactl_names n
             WHERE {has_at}
               AND NOT EXISTS (SELECT 1 FROM {users} u WHERE u.{username} = n.name)",
            folded_col = if pg { ", folded" } else { "" },
            folded = if pg {
                format!(", {}", crate::app::ascii_lower("n.name"))
            } else {
                String::new()
            },
            has_at = app.dialect.contains("n.name", "'@'"),
            users = n.users,
            username = n.username,
        ),
        &[],
    )?;
    if candidates == 0 {
        return Ok(false);
    }
    let sql = if pg {
        // Every match counted in one pass (an address may match several users); the first
        // user stands for the name when it is the only one.
        format!(
            "INSERT INTO pg_temp.twofactl_email_matches (seq, user_id, matches)
             SELECT e.seq, (array_agg(u.{id}))[1], count(*)
             FROM {users} u JOIN pg_temp.twofactl_email_names e
               ON e.folded = {email}
             GROUP BY e.seq",
            id = n.id,
            users = n.users,
            email = crate::app::ascii_lower(&app.email_sql()),
        )
    } else {
        // The users are read once, each address looked up in the (NOCASE) index of the
        // names; CROSS JOIN keeps SQLite from putting the names in the outer loop.
        format!(
            "INSERT INTO temp.twofactl_email_matches (seq, user_id, matches)
             SELECT e.seq, u.{id}, 1
             FROM {users} u CROSS JOIN temp.twofactl_email_names e
               ON e.name = {email} COLLATE NOCASE
             WHERE true
             ON CONFLICT (seq) DO UPDATE SET matches = matches + 1",
            id = n.id,
            users = n.users,
            email = app.email_sql(),
        )
    };
    conn.execute_named(&sql, &app.named(Vec::new()))?;
    Ok(true)
}

/// Lock the application's rows of the resolved users (PostgreSQL, inside the write
/// transaction), in id order: the application's own writes to them wait for the change, and
/// one made since the transaction's snapshot fails it (to be tried again).
pub fn lock_targets(conn: &dyn Sql, app: &App) -> Result<()> {
    if conn.dialect() != Dialect::Postgres {
        return Ok(());
    }
    conn.execute(
        &format!(
            "SELECT 1 FROM {users} u WHERE u.{id} IN
               (SELECT user_id FROM pg_temp.twofactl_targets WHERE user_id IS NOT NULL)
             ORDER BY u.{id} FOR UPDATE OF u",
            users = app.map.users,
            id = app.map.id,
        ),
        &[],
    )?;
    Ok(())
}

/// How the resolved targets stand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Targets: users (each once) and names that are no user.
    pub targets: u64,
    pub missing: u64,
    pub admins: u64,
    /// Users whose 2FA is not clear.
    pub to_reset: u64,
}

pub fn counts(conn: &dyn Sql) -> Result<Counts> {
    let r = conn.value_row(
        &format!(
            "SELECT count(*), count(*) FILTER (WHERE user_id IS NULL),
                    count(*) FILTER (WHERE user_id IS NOT NULL AND is_admin),
                    count(*) FILTER (WHERE user_id IS NOT NULL AND NOT clear)
             FROM {}.twofactl_targets",
            temp(conn)
        ),
        &[],
    )?;
    let get = |i| r.int(i).map(i64::unsigned_abs);
    Ok(Counts {
        targets: get(0)?,
        missing: get(1)?,
        admins: get(2)?,
        to_reset: get(3)?,
    })
}

/// A kind of target, for naming the first few in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Names that are no user (as given).
    Missing,
    /// Administrators of the application (usernames).
    Admin,
    /// Users whose 2FA is not clear (usernames).
    ToReset,
}

/// The first `limit` targets of `kind`, in order.
pub fn first(conn: &dyn Sql, kind: Kind, limit: usize) -> Result<Vec<String>> {
    let cond = match kind {
        Kind::Missing => "user_id IS NULL",
        Kind::Admin => "user_id IS NOT NULL AND is_admin",
        Kind::ToReset => "user_id IS NOT NULL AND NOT clear",
    };
    let mut names = Vec::new();
    conn.each(
        &format!(
            "SELECT name FROM {}.twofactl_targets WHERE {cond} ORDER BY seq LIMIT ?1",
            temp(conn)
        ),
        &vals![i64::try_from(limit).unwrap_or(i64::MAX)],
        |r| {
            names.push(r.string(0)?);
            Ok(())
        },
    )?;
    Ok(names)
}

/// A resolved target.
#[derive(Debug)]
pub struct Target<'a> {
    pub seq: i64,
    /// `None`: the name is no user.
    pub user_id: Option<Value>,
    /// The username, or the name as given when it is no user.
    pub name: Cow<'a, str>,
    pub email: Cow<'a, str>,
    /// No key and not enabled: nothing to reset.
    pub clear: bool,
}

/// Give the targets whose place is in `from..=to`, in order, to `each` (which may use the
/// connection: a step's targets are read first); returns how many there were.
pub fn for_each_target<F>(conn: &dyn Sql, from: i64, to: i64, mut each: F) -> Result<u64>
where
    F: FnMut(&Target<'_>) -> Result<()>,
{
    let rows = conn.rows(
        &format!(
            "SELECT seq, user_id, name, email, clear FROM {}.twofactl_targets
             WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq",
            temp(conn)
        ),
        Params::Pos(&vals![from, to]),
    )?;
    for r in &rows {
        each(&Target {
            seq: r.int(0)?,
            user_id: match &r[1] {
                Value::Null => None,
                v => Some(v.clone()),
            },
            name: Cow::Owned(r.string(2)?),
            email: Cow::Owned(r.string(3)?),
            clear: r.flag(4),
        })?;
    }
    Ok(rows.len() as u64)
}

/// How many targets have their place in `from..=to`.
pub fn count_targets(conn: &dyn Sql, from: i64, to: i64) -> Result<u64> {
    let sql = format!(
        "SELECT count(*) FROM {}.twofactl_targets WHERE seq BETWEEN ?1 AND ?2",
        temp(conn)
    );
    Ok(conn
        .value_row(&sql, &vals![from, to])?
        .int(0)?
        .unsigned_abs())
}

/// The last place a name was staged at (places run from 1); 0 when none was.
pub fn last_place(conn: &dyn Sql) -> Result<i64> {
    conn.value_row(
        &format!(
            "SELECT coalesce(max(seq), 0) FROM {}.twofactl_names",
            temp(conn)
        ),
        &[],
    )?
    .int(0)
}

/// The users whose place is in `:lo..=:hi` and whose 2FA is not clear, their ids as `id`.
fn to_reset(conn: &dyn Sql, id: &str) -> String {
    format!(
        "SELECT {id} FROM {}.twofactl_targets
         WHERE seq BETWEEN :lo AND :hi AND user_id IS NOT NULL AND NOT clear",
        temp(conn)
    )
}

/// Reset the users whose place is in `from..=to` (inside the write transaction), a few
/// statements in all rather than a few per user: as [`App::reset`] resets one, and the keys
/// twofactl holds pending for them dropped. Their logins are those `resolve` counted.
pub fn reset(conn: &dyn Sql, app: &App, from: i64, to: i64) -> Result<()> {
    let bounds = vec![(":lo", Value::Integer(from)), (":hi", Value::Integer(to))];
    // twofactl's tables keep ids as text on PostgreSQL.
    let own_id = app.dialect.text("user_id");
    conn.execute_named(
        &format!(
            "DELETE FROM twofactl_pending_keys WHERE user_id IN ({})",
            to_reset(conn, &own_id)
        ),
        &bounds,
    )?;
    app.reset_users(conn, &Who::selected(&to_reset(conn, "user_id"), bounds))?;
    Ok(())
}

/// Records the notification queued for a target.
pub struct Recorder<'c> {
    conn: &'c dyn Sql,
}

impl<'c> Recorder<'c> {
    pub fn new(conn: &'c dyn Sql) -> Result<Self> {
        Ok(Recorder { conn })
    }

    pub fn notified(&mut self, seq: i64, outbox_id: i64) -> Result<()> {
        let sql = format!(
            "INSERT INTO {}.twofactl_results (seq, outbox_id) VALUES (?1, ?2)",
            temp(self.conn)
        );
        self.conn.execute(&sql, &vals![seq, outbox_id])?;
        Ok(())
    }
}

/// The audit rows of a bulk run: the same but for the user and the outcome.
#[derive(Debug, Clone, Copy)]
pub struct Audit<'a> {
    pub time: i64,
    pub os_user: &'a str,
    pub actor: Option<&'a str>,
    pub action: &'a str,
    pub reason: Option<&'a str>,
    /// The outcome of a user whose 2FA is reset, and the detail its row records.
    pub reset: (&'a str, &'a str),
    /// The outcome of a user whose 2FA was already clear.
    pub already_clear: &'a str,
}

/// Write one audit row per target that is a user, in order, in one statement (inside the
/// write transaction): the rows `audit::Writer` would write one by one, the username as
/// twofactl reads text (`twofactl_text` on SQLite; on PostgreSQL it is text already).
pub fn audit(conn: &dyn Sql, a: &Audit<'_>) -> Result<()> {
    let (t, user_id, name) = match conn.dialect() {
        Dialect::Sqlite => ("temp", "t.user_id", "twofactl_text(t.name)"),
        Dialect::Postgres => ("pg_temp", "(t.user_id)::text", "t.name"),
    };
    conn.execute(
        &format!(
            "INSERT INTO twofactl_audit
               (time, os_user, actor, action, user_id, username, reason, outcome, detail, changed)
             SELECT CAST(?1 AS BIGINT), CAST(?2 AS TEXT), CAST(?3 AS TEXT), CAST(?4 AS TEXT),
                    {user_id}, {name}, CAST(?5 AS TEXT),
                    CASE WHEN t.clear THEN CAST(?8 AS TEXT) ELSE CAST(?6 AS TEXT) END,
                    CASE WHEN t.clear THEN NULL ELSE CAST(?7 AS TEXT) END,
                    CASE WHEN t.clear THEN 0 ELSE 1 END
             FROM {t}.twofactl_targets t WHERE t.user_id IS NOT NULL ORDER BY t.seq"
        ),
        &vals![
            a.time,
            a.os_user,
            a.actor,
            a.action,
            a.reason,
            a.reset.0,
            a.reset.1,
            a.already_clear
        ],
    )?;
    Ok(())
}

/// A target with what the change did to it.
#[derive(Debug)]
pub struct Done<'a> {
    pub name: Cow<'a, str>,
    pub missing: bool,
    pub clear: bool,
    pub sessions: u64,
    pub outbox_id: Option<i64>,
}

/// Stream the targets with their results, in the order first named, to `each`. Reads TEMP
/// tables only: no lock on the application's database is needed.
pub fn for_each_done<F>(conn: &dyn Sql, mut each: F) -> Result<()>
where
    F: FnMut(&Done<'_>) -> Result<()>,
{
    if let Some(c) = conn.sqlite() {
        return for_each_done_sqlite(c, each);
    }
    conn.each(
        "SELECT t.seq, t.name, t.user_id IS NULL, t.clear, t.sessions, r.outbox_id
         FROM pg_temp.twofactl_targets t LEFT JOIN pg_temp.twofactl_results r ON r.seq = t.seq
         ORDER BY t.seq",
        &[],
        |r| {
            each(&Done {
                name: Cow::Owned(r.string(1)?),
                missing: r.flag(2),
                clear: r.flag(3),
                sessions: r.opt_int(4)?.unwrap_or(0).unsigned_abs(),
                outbox_id: r.opt_int(5)?,
            })
        },
    )?;
    Ok(())
}

/// [`for_each_done`] on SQLite: the rows read in place, and the results merged with the
/// targets as both stream in order rather than looked up per target.
fn for_each_done_sqlite<F>(conn: &Connection, mut each: F) -> Result<()>
where
    F: FnMut(&Done<'_>) -> Result<()>,
{
    let mut targets = conn.prepare(
        "SELECT seq, name, user_id IS NULL, clear, sessions FROM temp.twofactl_targets
         ORDER BY seq",
    )?;
    let mut results =
        conn.prepare("SELECT seq, outbox_id FROM temp.twofactl_results ORDER BY seq")?;
    let mut results = results.query([])?;
    let mut result = next_result(&mut results)?;
    let mut rows = targets.query([])?;
    while let Some(r) = rows.next()? {
        let seq: i64 = r.get(0)?;
        let outbox_id = match result {
            Some((s, outbox_id)) if s == seq => {
                result = next_result(&mut results)?;
                Some(outbox_id)
            }
            _ => None,
        };
        each(&Done {
            name: text(r, 1)?,
            missing: r.get::<_, i64>(2)? != 0,
            clear: r.get::<_, Option<i64>>(3)?.unwrap_or(0) != 0,
            sessions: r.get::<_, Option<i64>>(4)?.unwrap_or(0).unsigned_abs(),
            outbox_id,
        })?;
    }
    Ok(())
}

fn next_result(rows: &mut rusqlite::Rows<'_>) -> Result<Option<(i64, i64)>> {
    Ok(match rows.next()? {
        Some(r) => Some((r.get(0)?, r.get(1)?)),
        None => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SchemaSection;

    /// An application database with `users` (username, email, is_admin, 2FA set), staged.
    fn app(users: &[(&str, &str, &dyn rusqlite::ToSql, bool)]) -> (Connection, App) {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(crate::APP_SCHEMA).unwrap();
        for (name, email, admin, set) in users {
            conn.execute(
                "INSERT INTO users (username, email, password_hash, is_admin, totp_secret, totp_enabled)
                 VALUES (?1, ?2, 'x', ?3, ?4, ?5)",
                rusqlite::params![name, email, admin, set.then_some("KEY"), set],
            )
            .unwrap();
        }
        let app = crate::app::profiles::app(&SchemaSection::default()).unwrap();
        create(&conn, &app).unwrap();
        (conn, app)
    }

    /// Stage `names`; returns whether any contains `@`.
    fn stage(conn: &Connection, names: &[&str]) -> bool {
        let mut w = NameWriter::new(conn).unwrap();
        for n in names {
            w.push(n).unwrap();
        }
        w.finish().unwrap()
    }

    fn targets(conn: &Connection) -> Vec<(Option<i64>, String, bool)> {
        let mut v = Vec::new();
        for_each_target(conn, 1, i64::MAX, |t| {
            let id = t.user_id.as_ref().map(|v| match v {
                Value::Integer(i) => *i,
                _ => -1,
            });
            v.push((id, t.name.clone().into_owned(), t.clear));
            Ok(())
        })
        .unwrap();
        v
    }

    #[test]
    fn names_are_escaped_for_copy() {
        let mut out = Vec::new();
        copy_text(&mut out, "a\\b\tc\nd\re");
        copy_text(&mut out, "ｂｏｂ");
        assert_eq!(out, "a\\\\b\\tc\\nd\\re\nｂｏｂ\n".as_bytes());
    }

    #[test]
    fn names_resolve_in_order_each_user_once() {
        let (conn, n) = app(&[
            ("alice", "alice@example.com", &0, true),
            ("bob", "Bob@Example.com", &0, false),
            ("carol@example.org", "carol@example.net", &1, true),
            ("dave", "carol@example.org", &0, true),
        ]);
        let names = [
            "ghost",
            "BOB@example.COM",
            "alice",
            "alice@example.com",
            "bob",
            "ghost",
            "carol@example.org",
            "Ghost",
        ];
        assert!(stage(&conn, &names));
        assert_eq!(resolve(&conn, &n, true, false).unwrap(), None);
        assert_eq!(
            targets(&conn),
            [
                (None, "ghost".to_owned(), true),
                (Some(2), "bob".to_owned(), true),
                (Some(1), "alice".to_owned(), false),
                // A username wins over another user's e-mail address.
                (Some(3), "carol@example.org".to_owned(), false),
                (None, "Ghost".to_owned(), true),
            ]
        );
        assert_eq!(
            counts(&conn).unwrap(),
            Counts {
                targets: 5,
                missing: 2,
                admins: 1,
                to_reset: 2
            }
        );
        assert_eq!(first(&conn, Kind::Missing, 3).unwrap(), ["ghost", "Ghost"]);
        assert_eq!(first(&conn, Kind::Admin, 3).unwrap(), ["carol@example.org"]);
        assert_eq!(first(&conn, Kind::ToReset, 1).unwrap(), ["alice"]);

        // Resolving again (as under the write lock) replaces the targets.
        conn.execute("DELETE FROM users WHERE username = 'alice'", [])
            .unwrap();
        assert_eq!(resolve(&conn, &n, true, false).unwrap(), None);
        assert_eq!(counts(&conn).unwrap().missing, 4);
    }

    #[test]
    fn an_address_of_several_users_is_ambiguous() {
        let (conn, n) = app(&[
            ("twin1", "shared@example.com", &0, true),
            ("twin2", "SHARED@example.com", &0, true),
        ]);
        stage(
            &conn,
            &["twin1", "nobody@example.com", "Shared@Example.com"],
        );
        assert_eq!(
            resolve(&conn, &n, true, false).unwrap().as_deref(),
            Some("Shared@Example.com")
        );
    }

    #[test]
    fn without_at_signs_no_address_is_looked_up() {
        let (conn, n) = app(&[("alice", "alice@example.com", &0, true)]);
        let names: Vec<String> = (0..200).map(|i| format!("user{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        assert!(!stage(&conn, &refs));
        assert_eq!(resolve(&conn, &n, false, false).unwrap(), None);
        let t = targets(&conn);
        assert_eq!(t.len(), 200, "every name staged, past a full statement");
        assert_eq!(t[199].1, "user199");
    }

    #[test]
    fn is_admin_is_read_as_users_reads_it() {
        let blob: &[u8] = b"0";
        let (conn, n) = app(&[
            ("a", "a@x", &"yes", true),
            ("b", "b@x", &"", true),
            ("c", "c@x", &0.5, true),
            ("d", "d@x", &blob, true),
            ("e", "e@x", &"0", true),
        ]);
        stage(&conn, &["a", "b", "c", "d", "e"]);
        resolve(&conn, &n, false, false).unwrap();
        assert_eq!(first(&conn, Kind::Admin, 5).unwrap(), ["a", "c"]);
        for name in ["a", "b", "c", "d", "e"] {
            let u = crate::db::users::Resolver::new(&conn, &n)
                .unwrap()
                .lookup(name)
                .unwrap();
            let crate::db::users::Lookup::Found(u) = u else {
                panic!("{name}")
            };
            assert_eq!(u.is_admin, ["a", "c"].contains(&name), "{name}");
        }
    }

    #[test]
    fn a_range_is_reset_and_its_results_merged_with_the_targets() {
        let (conn, n) = app(&[
            ("alice", "alice@example.com", &0, true),
            ("bob", "bob@example.com", &0, false),
            ("carol", "carol@example.com", &0, true),
            ("dave", "dave@example.com", &0, true),
        ]);
        crate::app::register_functions(&conn).unwrap();
        crate::db::migrate::migrate(&conn).unwrap();
        conn.execute_batch(
            "INSERT INTO sessions (id, user_id) VALUES
               ('s1', 1), ('s2', 1), ('s3', 2), ('s4', 3), ('s5', 4);
             INSERT INTO twofactl_pending_keys (user_id, secret, created) VALUES
               (1, 'K', 0), (4, 'K', 0)",
        )
        .unwrap();
        stage(&conn, &["alice", "ghost", "bob", "carol", "dave"]);
        resolve(&conn, &n, false, true).unwrap();
        // Places 1 to 4: alice and carol are reset, bob was clear, dave is in the next step.
        reset(&conn, &n, 1, 4).unwrap();
        Recorder::new(&conn).unwrap().notified(1, 7).unwrap();
        let left: Vec<(String, Option<String>, i64)> = conn
            .prepare(
                "SELECT u.username, u.totp_secret, (SELECT count(*) FROM sessions s WHERE s.user_id = u.id)
                 FROM users u ORDER BY u.id",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            left,
            [
                ("alice".to_owned(), None, 0),
                ("bob".to_owned(), None, 1),
                ("carol".to_owned(), None, 0),
                ("dave".to_owned(), Some("KEY".to_owned()), 1),
            ]
        );
        let pending: Vec<i64> = conn
            .prepare("SELECT user_id FROM twofactl_pending_keys")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            pending,
            [4],
            "only the step's users lose their pending keys"
        );
        let mut done = Vec::new();
        for_each_done(&conn, |d| {
            done.push((
                d.name.clone().into_owned(),
                d.missing,
                d.clear,
                d.sessions,
                d.outbox_id,
            ));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            done,
            [
                ("alice".to_owned(), false, false, 2, Some(7)),
                ("ghost".to_owned(), true, true, 0, None),
                // bob's 2FA was clear: his login stays, and is not counted.
                ("bob".to_owned(), false, true, 0, None),
                ("carol".to_owned(), false, false, 1, None),
                ("dave".to_owned(), false, false, 1, None),
            ]
        );
    }
}
