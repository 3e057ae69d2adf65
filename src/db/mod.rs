//! The application's database: opening it (never creating it), the busy timeout, checking
//! the mapped schema, and the queries twofactl runs. The application's tables are read and
//! their rows updated, never altered; twofactl's own state lives in `twofactl_*` tables
//! (see `migrate`). Query helpers take `&Connection` so they work inside a transaction.

pub mod audit;
pub mod bulk;
pub mod migrate;
pub mod outbox;
pub mod pending;
pub mod pg;
pub mod reset;
pub mod sandbox;
pub mod sql;
pub mod users;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::{Connection, ErrorCode, OpenFlags};

use self::sql::{Begin, Get, Sql, Tx};

use crate::app::{App, profiles};
use crate::config::{AppSettings, SchemaSection};
use crate::error::{Exit, fail};

/// The page cache of a writing connection, in KiB.
const WRITER_CACHE_KIB: i64 = 16 * 1024;

/// Whether a command may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    ReadOnly,
    ReadWrite,
}

/// An open application database.
pub struct Db {
    pub conn: Engine,
    /// The SQLite file, or PostgreSQL's `user@host:port/database`.
    pub path: PathBuf,
    /// The application, through its profile and `[schema]` keys.
    pub app: App,
}

/// The connection, to either engine.
pub enum Engine {
    Sqlite(Connection),
    Postgres(Box<pg::sql::Pg>),
}

impl Sql for Engine {
    fn dialect(&self) -> crate::app::Dialect {
        match self {
            Engine::Sqlite(c) => c.dialect(),
            Engine::Postgres(p) => p.dialect(),
        }
    }

    fn batch(&self, sql: &str) -> Result<()> {
        match self {
            Engine::Sqlite(c) => c.batch(sql),
            Engine::Postgres(p) => p.batch(sql),
        }
    }

    fn run(&self, sql: &str, params: sql::Params<'_>, each: Option<sql::Each<'_>>) -> Result<u64> {
        match self {
            Engine::Sqlite(c) => c.run(sql, params, each),
            Engine::Postgres(p) => p.run(sql, params, each),
        }
    }

    fn sqlite(&self) -> Option<&Connection> {
        match self {
            Engine::Sqlite(c) => Some(c),
            Engine::Postgres(_) => None,
        }
    }

    fn copy_in(&self, copy: &str, data: &[u8]) -> Result<u64> {
        match self {
            Engine::Sqlite(c) => c.copy_in(copy, data),
            Engine::Postgres(p) => p.copy_in(copy, data),
        }
    }
}

/// Open the database at `path` without ever creating it, and check the schema mapping.
pub fn open(path: &Path, mode: Mode, busy: Duration, schema: &SchemaSection) -> Result<Db> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            return Err(fail(
                Exit::Config,
                format!("database {} is not a file", path.display()),
            )
            .into());
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(fail(
                Exit::Config,
                format!("database not found: {}", path.display()),
            )
            .hint("check --db, TWOFACTL_DB or [database] path; twofactl never creates the application's database")
            .into());
        }
        Err(e) => {
            return Err(anyhow::Error::new(e)
                .context(format!("could not open database {}", path.display())));
        }
    }
    let flags = match mode {
        Mode::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY,
        Mode::ReadWrite => OpenFlags::SQLITE_OPEN_READ_WRITE,
    } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .with_context(|| format!("could not open database {}", path.display()))?;
    conn.busy_timeout(busy)?;
    crate::app::register_functions(&conn)?;
    // Touch the file: a file that is not a database fails here, before anything else.
    if let Err(e) = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(())) {
        if let rusqlite::Error::SqliteFailure(f, _) = &e
            && f.code == ErrorCode::NotADatabase
        {
            return Err(fail(
                Exit::Config,
                format!("{} is not an SQLite database", path.display()),
            )
            .hint("check --db, TWOFACTL_DB or [database] path")
            .into());
        }
        // A lock or permission error is named with the database by the error report.
        if matches!(&e, rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::ReadOnly))
        {
            return Err(e.into());
        }
        return Err(
            anyhow::Error::new(e).context(format!("could not read database {}", path.display()))
        );
    }
    // Writers get a larger page cache (this connection only; nothing changes in the file) so a
    // bulk run re-reads fewer pages; readers stream with the default, so memory stays flat.
    // Bounded all the same: a change larger than the cache spills its pages to the file
    // before the commit (still one transaction). On a reset of a million users 16 MiB took
    // as long as 64 MiB did, and it keeps the run within its memory bound.
    if mode == Mode::ReadWrite {
        conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
    }
    if mode == Mode::ReadWrite && conn.is_readonly("main")? {
        return Err(fail(
            Exit::Failure,
            format!("database {} is read-only for this user", path.display()),
        )
        .hint("run twofactl as the user that owns the database, or check the file's and its directory's permissions")
        .into());
    }
    let mut app = profiles::app(schema)?;
    profiles::adapt(&mut app, |table| crate::app::columns(&conn, table))?;
    app.check(&conn)?;
    Ok(Db {
        conn: Engine::Sqlite(conn),
        path: path.to_owned(),
        app,
    })
}

/// Start a write transaction (see [`Begin::Write`]) with twofactl's tables up to date.
/// A free function over the connection alone, so `Db::app` stays borrowable beside it.
pub fn write(conn: &dyn Sql) -> Result<Tx<'_>> {
    write_as(conn, Begin::Write)
}

/// [`write`] of a kind of its own (see [`Begin::WriteSnapshot`]).
pub fn write_as(conn: &dyn Sql, kind: Begin) -> Result<Tx<'_>> {
    let tx = Tx::begin(conn, kind)?;
    migrate::migrate(&*tx)?;
    Ok(tx)
}

impl Db {
    /// The SQLite connection, for what runs on SQLite alone.
    pub fn sqlite(&self) -> Result<&Connection> {
        match &self.conn {
            Engine::Sqlite(c) => Ok(c),
            Engine::Postgres(_) => Err(anyhow::anyhow!("an SQLite database was expected")),
        }
    }

    /// The application's settings table as key/value pairs (empty when none is mapped).
    pub fn app_settings(&self) -> Result<AppSettings> {
        let Some(table) = &self.app.map.settings else {
            return Ok(AppSettings::default());
        };
        let mut pairs = Vec::new();
        let sql: &dyn Sql = &self.conn;
        sql.each(
            &format!("SELECT \"key\", \"value\" FROM {table}"),
            &[],
            |r| {
                pairs.push((r.string(0)?, r.string(1)?));
                Ok(())
            },
        )
        .context("could not read the application's settings table")?;
        Ok(AppSettings(pairs.into_iter().collect()))
    }
}
