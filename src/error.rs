//! Exit codes and error reporting. `report()` is the only place an error is printed:
//! it walks the error chain once, prints `twofactl: {err:#}` (plus a hint line when there is
//! one) and maps the failure to the exit code documented in the README and the man pages.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use rusqlite::ErrorCode;

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// Unexpected failure: I/O error, corrupt database, bug.
    Failure = 1,
    /// Usage error: bad flags, missing input under `--no-input`, confirmation refused.
    Usage = 2,
    /// Rejected: wrong password, wrong / expired / spent code, wrong TOTP code.
    Rejected = 3,
    /// Not found: no such user.
    NotFound = 4,
    /// Rate limited or locked.
    Limited = 5,
    /// E-mail could not be delivered.
    Mail = 6,
    /// The database stayed locked past the busy timeout.
    Busy = 7,
    /// Configuration or schema error.
    Config = 8,
    /// Interrupted (Ctrl-C).
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(code: Exit) -> Self {
        ExitCode::from(code as u8)
    }
}

/// The full chain of an error, on one line.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = c.source();
    }
    s.replace(['\n', '\r'], " ")
}

/// A failure with a documented exit code, a one-line message and an optional hint.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub code: Exit,
    pub message: String,
    pub hint: Option<String>,
}

impl Failure {
    pub fn new(code: Exit, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Shorthand: `return Err(fail(Exit::Usage, "...").into())`.
pub fn fail(code: Exit, message: impl Into<String>) -> Failure {
    Failure::new(code, message)
}

/// Whether `e` is a lock another connection held past the busy (lock) timeout.
pub fn is_busy(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<rusqlite::Error>(),
            Some(rusqlite::Error::SqliteFailure(f, _))
                if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        ) || pg_code(c) == Some("55P03")
    })
}

/// Whether `e` is PostgreSQL refusing a change because a row it would change was changed by
/// another transaction since this one read it (or a deadlock): the change is rolled back,
/// and may be tried again.
pub fn is_conflict(e: &anyhow::Error) -> bool {
    e.chain()
        .any(|c| matches!(pg_code(c), Some("40001" | "40P01")))
}

fn pg_code<'a>(c: &'a (dyn std::error::Error + 'static)) -> Option<&'a str> {
    c.downcast_ref::<postgres::Error>()
        .and_then(postgres::Error::code)
        .map(postgres::error::SqlState::code)
}

/// What a PostgreSQL error code means for the user: the exit code and a hint.
fn pg_meaning(code: &str) -> Option<(Exit, &'static str)> {
    Some(match code {
        // lock_not_available: lock_timeout ran out.
        "55P03" => (
            Exit::Busy,
            "the application holds a lock on its tables; try again, or raise [database] busy_timeout (PostgreSQL's lock_timeout)",
        ),
        "42501" => (
            Exit::Config,
            "GRANT SELECT on the application's tables to the role (twofactl doctor lists those it may not read); a change also needs UPDATE and DELETE on the tables it changes, and CREATE on the schema for twofactl's own tables",
        ),
        // serialization_failure, deadlock_detected: rolled back.
        "40001" | "40P01" => (
            Exit::Busy,
            "the application changed these users while twofactl worked, and nothing was changed; run the command again",
        ),
        _ => return None,
    })
}

/// What an error chain means for the user: exit code, and whether to stay silent.
fn classify(err: &anyhow::Error) -> (Exit, Option<&str>) {
    for cause in err.chain() {
        if let Some(f) = cause.downcast_ref::<Failure>() {
            return (f.code, f.hint.as_deref());
        }
        // Output errors arrive bare or wrapped by the JSON writer.
        let io_kind = cause
            .downcast_ref::<io::Error>()
            .map(io::Error::kind)
            .or_else(|| {
                cause
                    .downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind)
            });
        match io_kind {
            Some(io::ErrorKind::BrokenPipe) => return (Exit::Ok, None),
            Some(io::ErrorKind::Interrupted) => return (Exit::Interrupted, None),
            _ => {}
        }
        if let Some(e) = cause.downcast_ref::<dialoguer::Error>() {
            let dialoguer::Error::IO(io) = e;
            if io.kind() == io::ErrorKind::Interrupted {
                return (Exit::Interrupted, None);
            }
        }
        if let Some(meaning) = pg_code(cause).and_then(pg_meaning) {
            return (meaning.0, Some(meaning.1));
        }
        if let Some(rusqlite::Error::SqliteFailure(e, _)) = cause.downcast_ref::<rusqlite::Error>()
        {
            match e.code {
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                    return (
                        Exit::Busy,
                        Some(
                            "the application is writing; try again, or raise [database] busy_timeout",
                        ),
                    );
                }
                ErrorCode::NotADatabase => {
                    return (
                        Exit::Config,
                        Some(
                            "check that --db (or TWOFACTL_DB, or [database] path) names the application's database",
                        ),
                    );
                }
                ErrorCode::ReadOnly => {
                    return (
                        Exit::Failure,
                        Some(
                            "run twofactl as the user that owns the database, or check the file's and its directory's permissions",
                        ),
                    );
                }
                ErrorCode::DatabaseCorrupt => return (Exit::Failure, None),
                _ => {}
            }
        }
    }
    (Exit::Failure, None)
}

/// Print the error (once, on stderr) and return the exit code for it.
pub fn report(result: anyhow::Result<()>, json: bool) -> ExitCode {
    let Err(err) = result else {
        return Exit::Ok.into();
    };
    let (code, hint) = classify(&err);
    if code == Exit::Ok {
        // A closed stdout pipe (`twofactl list-users | head`) is not an error.
        return Exit::Ok.into();
    }
    let message = if code == Exit::Interrupted {
        "interrupted; nothing changed".to_owned()
    } else {
        one_line(&message(&err))
    };
    eprintln!("twofactl: {message}");
    if let Some(hint) = hint {
        eprintln!("hint: {hint}");
    }
    if json {
        // The last line on stderr: the failure for a script to parse.
        let object = serde_json::json!({
            "error": { "exit": code as u8, "message": message, "hint": hint }
        });
        eprintln!("{object}");
    }
    code.into()
}

/// The database a run opened, wrapped around its error so that messages about locks and
/// permissions can name it (the wrapper itself adds no text).
#[derive(Debug)]
pub struct Database {
    pub path: PathBuf,
    pub source: anyhow::Error,
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "database {}", self.path.display())
    }
}

impl std::error::Error for Database {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}

/// The error chain as one message: causes that only repeat what is already said (SQLite's
/// "Error code 5: database is locked" under "database is locked") are left out, and SQLite's
/// lock and permission errors name the database.
fn message(err: &anyhow::Error) -> String {
    let database = err
        .chain()
        .find_map(|c| c.downcast_ref::<Database>())
        .map(|d| d.path.as_path());
    let mut msg = String::new();
    for cause in err.chain() {
        if cause.downcast_ref::<rusqlite::ffi::Error>().is_some()
            || cause.downcast_ref::<Database>().is_some()
        {
            continue;
        }
        let mut text = cause.to_string();
        if let (Some(rusqlite::Error::SqliteFailure(e, _)), Some(db)) =
            (cause.downcast_ref::<rusqlite::Error>(), database)
        {
            text = match e.code {
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => format!(
                    "database {} is busy: the application held its lock past the busy timeout",
                    db.display()
                ),
                ErrorCode::ReadOnly => format!(
                    "cannot write to database {}: it or its directory (where SQLite keeps its journal) is read-only for this user",
                    db.display()
                ),
                _ => text,
            };
        }
        if text.is_empty() || msg.contains(&text) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&text);
    }
    msg
}

/// Keep messages on one line whatever the underlying library put in them.
fn one_line(s: &str) -> String {
    s.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn failure_code_survives_context() {
        let err = Err::<(), _>(fail(Exit::NotFound, "no such user: bob"))
            .context("admin-reset")
            .unwrap_err();
        assert_eq!(classify(&err).0, Exit::NotFound);
    }

    #[test]
    fn broken_pipe_is_success() {
        let err = anyhow::Error::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(classify(&err).0, Exit::Ok);
    }

    #[test]
    fn busy_database_maps_to_7() {
        let e = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        );
        assert_eq!(classify(&anyhow::Error::from(e)).0, Exit::Busy);
    }

    #[test]
    fn messages_are_one_line() {
        assert_eq!(one_line("a\n  b\r\nc"), "a b c");
    }
}
