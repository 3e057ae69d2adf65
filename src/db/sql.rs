//! One way to run SQL on either engine: the queries on twofactl's tables and the
//! application's are written once, against [`Sql`], and run on SQLite (rusqlite) or
//! PostgreSQL (`db::pg::Pg`). Values cross as SQLite's five kinds ([`Value`]); PostgreSQL's
//! side converts them to and from the type the server gives each parameter and column, so
//! that a user id bound as text meets an integer column as an integer, a 0 meets a boolean
//! as false, and so on.
//!
//! Statements use `?1`-style parameters ([`Params::Pos`]) or `:name` ones
//! ([`Params::Named`], for the application's SQL, whose constants are named). Both engines
//! cache their prepared statements.

use std::ops::Deref;

use anyhow::{Result, anyhow};
use rusqlite::types::Value;

use crate::app::Dialect;

/// The values of a statement's parameters.
#[derive(Clone, Copy)]
pub enum Params<'a> {
    /// `?1`, `?2`, … in order.
    Pos(&'a [Value]),
    /// `:name`; names the statement does not use are ignored.
    Named(&'a [(&'a str, Value)]),
}

/// A row, handed to a callback while it is read.
pub type Each<'f> = &'f mut dyn FnMut(&[Value]) -> Result<()>;

/// A connection of either engine (or a transaction on one).
pub trait Sql {
    fn dialect(&self) -> Dialect;
    /// Run statements that take no parameters.
    fn batch(&self, sql: &str) -> Result<()>;
    /// Run one statement. Each row it returns goes to `each`, which must not use this
    /// connection (use [`rows`](trait.Sql.html#method.rows) for that); returns the rows
    /// changed, or returned.
    fn run(&self, sql: &str, params: Params<'_>, each: Option<Each<'_>>) -> Result<u64>;
    /// The SQLite connection, where a hot path reads rows in place rather than as values.
    fn sqlite(&self) -> Option<&rusqlite::Connection> {
        None
    }

    /// PostgreSQL: run `copy` (a `COPY … FROM STDIN`) with `data` in its text format; the
    /// rows copied. Not for SQLite.
    fn copy_in(&self, copy: &str, data: &[u8]) -> Result<u64> {
        let _ = data;
        Err(anyhow!("COPY is PostgreSQL's: {copy}"))
    }
}

impl dyn Sql + '_ {
    /// Run a statement that returns no rows; the rows it changed.
    pub fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        self.run(sql, Params::Pos(params), None)
    }

    /// [`execute`](Self::execute) with named parameters.
    pub fn execute_named(&self, sql: &str, params: &[(&str, Value)]) -> Result<u64> {
        self.run(sql, Params::Named(params), None)
    }

    /// Stream the rows of a query to `each`, which must not use this connection.
    pub fn each(
        &self,
        sql: &str,
        params: &[Value],
        mut each: impl FnMut(&[Value]) -> Result<()>,
    ) -> Result<u64> {
        self.run(sql, Params::Pos(params), Some(&mut each))
    }

    /// Every row of a query, read before they are returned (so the caller may use the
    /// connection while it goes through them).
    pub fn rows(&self, sql: &str, params: Params<'_>) -> Result<Vec<Vec<Value>>> {
        let mut out = Vec::new();
        self.run(
            sql,
            params,
            Some(&mut |r| {
                out.push(r.to_vec());
                Ok(())
            }),
        )?;
        Ok(out)
    }

    /// The first row of a query, if any.
    pub fn row(&self, sql: &str, params: &[Value]) -> Result<Option<Vec<Value>>> {
        self.row_with(sql, Params::Pos(params))
    }

    pub fn row_with(&self, sql: &str, params: Params<'_>) -> Result<Option<Vec<Value>>> {
        let mut first = None;
        self.run(
            sql,
            params,
            Some(&mut |r| {
                if first.is_none() {
                    first = Some(r.to_vec());
                }
                Ok(())
            }),
        )?;
        Ok(first)
    }

    /// The one row a query returns (an error when there is none).
    pub fn value_row(&self, sql: &str, params: &[Value]) -> Result<Vec<Value>> {
        self.row(sql, params)?
            .ok_or_else(|| anyhow!("the query returned no row: {sql}"))
    }
}

/// Typed access to a row's values.
pub trait Get {
    fn int(&self, i: usize) -> Result<i64>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>>;
    fn string(&self, i: usize) -> Result<String>;
    fn opt_string(&self, i: usize) -> Result<Option<String>>;
    fn flag(&self, i: usize) -> bool;
}

impl Get for [Value] {
    fn int(&self, i: usize) -> Result<i64> {
        self.opt_int(i)?
            .ok_or_else(|| anyhow!("column {i} is NULL where a number was expected"))
    }

    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        match self.get(i) {
            Some(Value::Null) => Ok(None),
            Some(Value::Integer(n)) => Ok(Some(*n)),
            Some(Value::Text(t)) => t
                .parse()
                .map(Some)
                .map_err(|_| anyhow!("column {i} is not a number: {t:?}")),
            other => Err(anyhow!("column {i} is not a number: {other:?}")),
        }
    }

    fn string(&self, i: usize) -> Result<String> {
        Ok(self.opt_string(i)?.unwrap_or_default())
    }

    fn opt_string(&self, i: usize) -> Result<Option<String>> {
        match self.get(i) {
            None => Err(anyhow!("no column {i}")),
            Some(Value::Null) => Ok(None),
            Some(v) => Ok(Some(crate::app::text(v.into()))),
        }
    }

    fn flag(&self, i: usize) -> bool {
        self.get(i)
            .is_some_and(|v| crate::app::truthy_value(v.into()))
    }
}

/// A value for a parameter, from the Rust types twofactl binds.
pub trait IntoValue {
    fn into_value(self) -> Value;
}

macro_rules! into_value {
    ($($t:ty => |$x:ident| $e:expr),* $(,)?) => {
        $(impl IntoValue for $t {
            fn into_value(self) -> Value {
                let $x = self;
                $e
            }
        })*
    };
}

into_value! {
    i64 => |x| Value::Integer(x),
    u32 => |x| Value::Integer(i64::from(x)),
    bool => |x| Value::Integer(i64::from(x)),
    &str => |x| Value::Text(x.to_owned()),
    String => |x| Value::Text(x),
    &String => |x| Value::Text(x.clone()),
    &[u8] => |x| Value::Blob(x.to_vec()),
    &Vec<u8> => |x| Value::Blob(x.clone()),
    Value => |x| x,
    &Value => |x| x.clone(),
}

impl<T: IntoValue> IntoValue for Option<T> {
    fn into_value(self) -> Value {
        self.map_or(Value::Null, IntoValue::into_value)
    }
}

impl<T: IntoValue + Copy> IntoValue for &Option<T> {
    fn into_value(self) -> Value {
        (*self).into_value()
    }
}

/// `[Value]` of the expressions given.
#[macro_export]
macro_rules! vals {
    ($($e:expr),* $(,)?) => {
        [$($crate::db::sql::IntoValue::into_value($e)),*]
    };
}

impl Sql for rusqlite::Connection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn sqlite(&self) -> Option<&rusqlite::Connection> {
        Some(self)
    }

    fn batch(&self, sql: &str) -> Result<()> {
        Ok(self.execute_batch(sql)?)
    }

    fn run(&self, sql: &str, params: Params<'_>, each: Option<Each<'_>>) -> Result<u64> {
        let mut stmt = self.prepare_cached(sql)?;
        match params {
            Params::Pos(p) => {
                for (i, v) in p.iter().enumerate() {
                    stmt.raw_bind_parameter(i + 1, v)?;
                }
            }
            Params::Named(n) => {
                for (name, v) in n {
                    if let Some(i) = stmt.parameter_index(name)? {
                        stmt.raw_bind_parameter(i, v)?;
                    }
                }
            }
        }
        let cols = stmt.column_count();
        if cols == 0 {
            return Ok(stmt.raw_execute()? as u64);
        }
        let mut rows = stmt.raw_query();
        let mut n = 0;
        let mut buf = Vec::with_capacity(cols);
        let mut each = each;
        while let Some(r) = rows.next()? {
            n += 1;
            if let Some(f) = each.as_mut() {
                buf.clear();
                for i in 0..cols {
                    buf.push(r.get::<_, Value>(i)?);
                }
                f(&buf)?;
            }
        }
        Ok(n)
    }
}

impl Sql for rusqlite::Transaction<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn batch(&self, sql: &str) -> Result<()> {
        (**self).batch(sql)
    }

    fn run(&self, sql: &str, params: Params<'_>, each: Option<Each<'_>>) -> Result<u64> {
        (**self).run(sql, params, each)
    }

    fn sqlite(&self) -> Option<&rusqlite::Connection> {
        Some(self)
    }
}

/// What a transaction is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// A change, one writer at a time: SQLite's `BEGIN IMMEDIATE`. On PostgreSQL, twofactl's
    /// advisory lock is taken first, then a READ COMMITTED transaction: each statement sees
    /// every change committed before it, and a row locked `FOR UPDATE` is read as it is once
    /// the application's own write to it, if any, is over.
    Write,
    /// A change decided over many rows before they are locked (a bulk reset): on
    /// PostgreSQL, a REPEATABLE READ transaction after the advisory lock, so that a row the
    /// application changes after the snapshot cannot be overwritten on stale facts: the
    /// change fails whole with a serialization error instead, to be started again.
    WriteSnapshot,
    /// Reads on one snapshot (and writes to TEMP tables).
    Snapshot,
}

/// The advisory lock twofactl's writers hold on PostgreSQL: "twofactl" in ASCII.
const PG_WRITER_LOCK: i64 = 0x7477_6f66_6163_746c;

/// A transaction on a [`Sql`] connection: rolled back when dropped uncommitted.
pub struct Tx<'c> {
    conn: &'c dyn Sql,
    open: bool,
    /// PostgreSQL: the writers' advisory lock is held, to release at the end.
    locked: bool,
}

impl<'c> Tx<'c> {
    pub fn begin(conn: &'c dyn Sql, kind: Begin) -> Result<Tx<'c>> {
        let mut tx = Tx {
            conn,
            open: false,
            locked: false,
        };
        match (conn.dialect(), kind) {
            (Dialect::Sqlite, Begin::Write | Begin::WriteSnapshot) => {
                conn.batch("BEGIN IMMEDIATE")?;
            }
            (Dialect::Sqlite, Begin::Snapshot) => conn.batch("BEGIN DEFERRED")?,
            (Dialect::Postgres, Begin::Write | Begin::WriteSnapshot) => {
                // Waits at most lock_timeout for another twofactl writer. Taken before the
                // transaction, so that its snapshot follows every earlier writer's commit.
                conn.batch(&format!("SELECT pg_advisory_lock({PG_WRITER_LOCK})"))?;
                tx.locked = true;
                conn.batch(if kind == Begin::Write {
                    "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE"
                } else {
                    "BEGIN ISOLATION LEVEL REPEATABLE READ READ WRITE"
                })?;
            }
            // Read-only in a reading session (TEMP tables may be written all the same).
            (Dialect::Postgres, Begin::Snapshot) => {
                conn.batch("BEGIN ISOLATION LEVEL REPEATABLE READ")?;
            }
        }
        tx.open = true;
        Ok(tx)
    }

    pub fn commit(mut self) -> Result<()> {
        self.open = false;
        self.conn.batch("COMMIT")
    }
}

impl Sql for Tx<'_> {
    fn dialect(&self) -> Dialect {
        self.conn.dialect()
    }

    fn batch(&self, sql: &str) -> Result<()> {
        self.conn.batch(sql)
    }

    fn run(&self, sql: &str, params: Params<'_>, each: Option<Each<'_>>) -> Result<u64> {
        self.conn.run(sql, params, each)
    }

    fn sqlite(&self) -> Option<&rusqlite::Connection> {
        self.conn.sqlite()
    }

    fn copy_in(&self, copy: &str, data: &[u8]) -> Result<u64> {
        self.conn.copy_in(copy, data)
    }
}

impl<'c> Deref for Tx<'c> {
    type Target = dyn Sql + 'c;

    fn deref(&self) -> &Self::Target {
        self.conn
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        // Nothing to report from here: an error means the connection is gone, and with it
        // the transaction and the lock.
        if self.open {
            let _ = self.conn.batch("ROLLBACK");
        }
        if self.locked {
            let _ = self
                .conn
                .batch(&format!("SELECT pg_advisory_unlock({PG_WRITER_LOCK})"));
        }
    }
}

/// `sql` with its parameters numbered as PostgreSQL wants them (`$1`), and the names of
/// named ones in number order: `?N` is written `$N`; each `:name` gets the next number at
/// its first use. Casts (`::text`), string literals and quoted identifiers are left alone.
pub fn numbered(sql: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(sql.len());
    let mut names: Vec<String> = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '?' if chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            ':' if chars.peek() == Some(&':') => {
                out.push_str("::");
                chars.next();
            }
            ':' if chars
                .peek()
                .is_some_and(|d| d.is_ascii_alphabetic() || *d == '_') =>
            {
                let mut name = String::from(":");
                while let Some(&d) = chars.peek() {
                    if !(d.is_ascii_alphanumeric() || d == '_') {
                        break;
                    }
                    name.push(d);
                    chars.next();
                }
                let n = match names.iter().position(|x| *x == name) {
                    Some(i) => i + 1,
                    None => {
                        names.push(name);
                        names.len()
                    }
                };
                out.push_str(&format!("${n}"));
            }
            c => out.push(c),
        }
    }
    (out, names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_marks_become_dollars_outside_quotes() {
        assert_eq!(
            numbered("SELECT '?1', \"a?2\" FROM t WHERE a = ?1 AND b IN (?2, ?10)"),
            (
                "SELECT '?1', \"a?2\" FROM t WHERE a = $1 AND b IN ($2, $10)".to_owned(),
                Vec::new()
            )
        );
    }

    #[test]
    fn named_parameters_are_numbered_once_each() {
        let (sql, names) = numbered(
            "SELECT u.\"a:b\", ':x', u.c::text FROM t u WHERE u.c::text = :admin_value \
             AND lower(u.n) = lower(:pattern) OR lower(u.e) = lower(:pattern) LIMIT :limit",
        );
        assert_eq!(
            sql,
            "SELECT u.\"a:b\", ':x', u.c::text FROM t u WHERE u.c::text = $1 \
             AND lower(u.n) = lower($2) OR lower(u.e) = lower($2) LIMIT $3"
        );
        assert_eq!(names, [":admin_value", ":pattern", ":limit"]);
    }

    #[test]
    fn sqlite_runs_through_the_same_interface() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let sql: &dyn Sql = &conn;
        sql.batch("CREATE TABLE t (a INTEGER, b TEXT)").unwrap();
        assert_eq!(
            sql.execute(
                "INSERT INTO t VALUES (?1, ?2), (2, NULL)",
                &vals![1_i64, "x"]
            )
            .unwrap(),
            2
        );
        let rows = sql
            .rows(
                "SELECT a, b FROM t WHERE a >= :lo ORDER BY a",
                Params::Named(&[(":lo", Value::Integer(1))]),
            )
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].string(1).unwrap(), "x");
        assert_eq!(rows[1].opt_string(1).unwrap(), None);
        assert_eq!(
            sql.value_row("SELECT count(*) FROM t", &[]).unwrap()[0],
            Value::Integer(2)
        );
        {
            let tx = Tx::begin(sql, Begin::Write).unwrap();
            tx.execute("DELETE FROM t", &[]).unwrap();
        }
        assert_eq!(
            sql.value_row("SELECT count(*) FROM t", &[]).unwrap()[0],
            Value::Integer(2),
            "rolled back"
        );
    }
}
