//! PostgreSQL: the URL (`postgres://` or `postgresql://`), the role's password (never from
//! the command line), TLS with rustls, and the connection's timeouts.
//!
//! The URL follows libpq's: `postgresql://USER@HOST:PORT/DBNAME?sslmode=MODE`, with `host=`
//! in the query for a Unix socket directory. What it leaves out comes from libpq's variables
//! (`PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGSSLMODE`), then libpq's defaults (the socket directory,
//! 5432, the OS user, a database named like the role). A password in the URL is refused: the
//! URL is given with `--db`, shown by `doctor` and kept in shell history. The password comes
//! from `[database] password_file`, `PGPASSWORD` or the password file (`PGPASSFILE`,
//! `~/.pgpass`), as libpq reads them.
//!
//! `sslmode` is libpq's: `disable`, `prefer` and `require` (encrypted, the server not
//! verified), `verify-ca` (the certificate chains to a trusted CA), `verify-full` (and names
//! the host). The default is `verify-full` for a host that is not local, `prefer` for a Unix
//! socket or a loopback address. Trusted CAs are the system's and `[database] ca_file`.

pub mod read;
pub mod sql;
mod tls;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::Result;
use postgres::config::Host;
use postgres::{Client, Config};

use crate::app::{Dialect, profiles};
use crate::config::SchemaSection;
use crate::error::{Exit, Failure, fail};

/// How TLS is used, as libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// `s` as a mode; the error names `what` (the URL's `sslmode`, `PGSSLMODE`) and the modes.
    fn parse(s: &str, what: &str) -> Result<SslMode, String> {
        [
            SslMode::Disable,
            SslMode::Prefer,
            SslMode::Require,
            SslMode::VerifyCa,
            SslMode::VerifyFull,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
        .ok_or_else(|| {
            format!("{what} {s:?} is not disable, prefer, require, verify-ca or verify-full")
        })
    }
}

/// A PostgreSQL database to connect to.
#[derive(Debug, Clone)]
pub struct Target {
    config: Config,
    pub sslmode: SslMode,
    /// Every host is a Unix socket or a loopback address.
    pub local: bool,
}

/// Where the password and extra CA come from, and how long to wait for locks.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub password_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    pub lock_timeout: Duration,
}

/// How long to wait for the server to answer a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn bad_url(why: impl std::fmt::Display) -> Failure {
    fail(Exit::Config, format!("bad database URL: {why}"))
        .hint("write it as postgresql://USER@HOST:PORT/DBNAME?sslmode=verify-full")
}

impl Target {
    /// Parse `url`, completed from libpq's environment variables.
    pub fn parse(url: &str) -> Result<Target, Failure> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut sslmode = None;
        let mut rest = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("sslmode", v)) => {
                    sslmode = Some(SslMode::parse(v, "sslmode").map_err(bad_url)?);
                }
                Some(("password", _)) => return Err(password_in_url()),
                _ => rest.push(pair),
            }
        }
        let rebuilt = if rest.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        let mut config = Config::from_str(&rebuilt).map_err(bad_url)?;
        if config.get_password().is_some() {
            return Err(password_in_url());
        }
        if config.get_hosts().is_empty() {
            match env("PGHOST") {
                Some(h) => add_host(&mut config, &h),
                None => add_host(&mut config, default_socket_dir()),
            }
        }
        if config.get_ports().is_empty()
            && let Some(p) = env("PGPORT")
        {
            config.port(p.parse().map_err(|_| bad_url(format!("PGPORT {p:?}")))?);
        }
        if config.get_user().is_none() {
            let user = env("PGUSER").unwrap_or_else(crate::process::os_user);
            config.user(&user);
        }
        if config.get_dbname().is_none() {
            let db = env("PGDATABASE")
                .or_else(|| config.get_user().map(str::to_owned))
                .unwrap_or_default();
            config.dbname(&db);
        }
        let local = config.get_hosts().iter().all(|h| match h {
            Host::Unix(_) => true,
            Host::Tcp(name) => matches!(name.as_str(), "localhost" | "127.0.0.1" | "::1"),
        });
        config.connect_timeout(CONNECT_TIMEOUT);
        config.application_name("twofactl");
        let from_env = env("PGSSLMODE")
            .map(|m| SslMode::parse(&m, "PGSSLMODE"))
            .transpose()
            .map_err(|why| fail(Exit::Config, why))?;
        let sslmode = sslmode.or(from_env).unwrap_or(if local {
            SslMode::Prefer
        } else {
            SslMode::VerifyFull
        });
        Ok(Target {
            config,
            sslmode,
            local,
        })
    }

    /// "role@host:port/dbname", for messages (never a password).
    pub fn describe(&self) -> String {
        let host = match self.config.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            Some(Host::Unix(p)) => p.display().to_string(),
            None => String::new(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        format!(
            "{}@{host}:{port}/{}",
            self.config.get_user().unwrap_or_default(),
            self.config.get_dbname().unwrap_or_default()
        )
    }

    /// Connect. With `read_only`, every transaction of the session is read-only, so that a
    /// reading command cannot change the application's data whatever it runs.
    pub fn connect(&self, settings: &Settings, read_only: bool) -> Result<Client> {
        let mut config = self.config.clone();
        if let Some(p) = password(&config, settings)? {
            config.password(p);
        }
        config.ssl_mode(match self.sslmode {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                postgres::config::SslMode::Require
            }
        });
        let tls = tls::connector(self.sslmode, settings.ca_file.as_deref())?;
        let mut client = config.connect(tls).map_err(|e| connect_failure(self, &e))?;
        let ms = settings.lock_timeout.as_millis();
        // No JIT compilation: twofactl's statements are short, and JIT, which a bulk
        // statement's cost estimate turns on, spent longer compiling (280 ms on a reset of
        // 100,000 users) than it saved. (JIT came with PostgreSQL 11.) Sorts of a bulk reset's
        // names (a few MB per 100,000) stay in memory rather than spill to disk.
        client.batch_execute(&format!(
            "SET lock_timeout = {ms}; SET work_mem = '64MB';
             SELECT set_config('jit', 'off', false)
             WHERE current_setting('server_version_num')::int >= 110000;{}",
            if read_only {
                " SET default_transaction_read_only = on;"
            } else {
                ""
            }
        ))?;
        Ok(client)
    }
}

/// Connect and check the mapped schema, as `db::open` does for SQLite: with `read_only`,
/// every transaction of the session is read-only.
pub fn open_db(
    target: &Target,
    settings: &Settings,
    schema: &SchemaSection,
    read_only: bool,
) -> Result<crate::db::Db> {
    let mut client = target.connect(settings, read_only)?;
    let mut app = profiles::app(schema)?;
    app.dialect = Dialect::Postgres;
    profiles::adapt(&mut app, |t| read::columns(&mut client, t))?;
    app.check_with(|t| read::columns(&mut client, t))?;
    Ok(crate::db::Db {
        conn: crate::db::Engine::Postgres(Box::new(sql::Pg::new(client))),
        path: target.describe().into(),
        app,
    })
}

fn add_host(config: &mut Config, host: &str) {
    if host.starts_with('/') {
        config.host_path(host);
    } else {
        config.host(host);
    }
}

/// libpq's socket directory on Debian, else its compiled-in default.
fn default_socket_dir() -> &'static str {
    if Path::new("/var/run/postgresql").is_dir() {
        "/var/run/postgresql"
    } else {
        "/tmp"
    }
}

fn password_in_url() -> Failure {
    fail(
        Exit::Config,
        "the database URL holds a password; nothing was done",
    )
    .hint("remove it from the URL, and put it in [database] password_file, PGPASSWORD or ~/.pgpass")
}

/// A failed connection, named with the database, and the fix when it is a usual one.
fn connect_failure(t: &Target, e: &postgres::Error) -> anyhow::Error {
    let code = e.code().map(postgres::error::SqlState::code);
    let cause = crate::error::chain(e);
    // invalid_password, invalid_authorization_specification; or the server asked for a
    // password and none was found.
    let login = matches!(code, Some("28P01" | "28000")) || cause.contains("password missing");
    let (msg, hint) = match code {
        _ if login => (
            format!("PostgreSQL refused the login of {}: {cause}", t.describe()),
            "check the role in the URL, and its password in [database] password_file, PGPASSWORD or ~/.pgpass",
        ),
        // invalid_catalog_name
        Some("3D000") => (
            format!("no such PostgreSQL database: {}", t.describe()),
            "check the database name in the URL",
        ),
        _ if cause.contains("certificate") || cause.contains("InvalidCertificate") => (
            format!(
                "the TLS certificate of {} was not accepted: {cause}",
                t.describe()
            ),
            "trust its CA with [database] ca_file, or check the host name in the URL",
        ),
        _ => (
            format!(
                "could not connect to PostgreSQL at {}: {cause}",
                t.describe()
            ),
            "check the host and port in the URL, and that the server is running",
        ),
    };
    fail(Exit::Config, msg).hint(hint).into()
}

/// The role's password: `[database] password_file`, else `PGPASSWORD`, else the password
/// file's line for this host, port, database and role.
fn password(config: &Config, settings: &Settings) -> Result<Option<String>> {
    if let Some(f) = &settings.password_file {
        let text = std::fs::read_to_string(f).map_err(|e| {
            fail(
                Exit::Config,
                format!("could not read database.password_file {}: {e}", f.display()),
            )
        })?;
        return Ok(Some(text.lines().next().unwrap_or_default().to_owned()));
    }
    if let Some(p) = std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()) {
        return Ok(Some(p));
    }
    let file = match std::env::var_os("PGPASSFILE") {
        Some(f) => PathBuf::from(f),
        None => match std::env::var_os("HOME") {
            Some(h) => PathBuf::from(h).join(".pgpass"),
            None => return Ok(None),
        },
    };
    Ok(pgpass(&file, config))
}

/// The password for `config` in a libpq password file, which is ignored (as libpq ignores
/// it) when it is missing, not a file, or readable by others than its owner.
fn pgpass(file: &Path, config: &Config) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(file).ok()?;
    if !meta.is_file() || meta.permissions().mode() & 0o077 != 0 {
        return None;
    }
    let text = std::fs::read_to_string(file).ok()?;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        // libpq matches a socket connection as "localhost".
        Some(Host::Unix(_)) | None => "localhost".to_owned(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let want = [
        host.as_str(),
        port.as_str(),
        config.get_dbname().unwrap_or_default(),
        config.get_user().unwrap_or_default(),
    ];
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| pgpass_line(line, &want))
}

/// One line of a password file: `host:port:database:user:password`, `*` matching anything
/// in the first four, `\:` and `\\` escaped.
fn pgpass_line(line: &str, want: &[&str; 4]) -> Option<String> {
    let mut fields = Vec::with_capacity(5);
    let mut cur = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => cur.extend(chars.next()),
            ':' if fields.len() < 4 => fields.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    fields.push(cur);
    if fields.len() != 5 {
        return None;
    }
    let matches = fields[..4]
        .iter()
        .zip(want)
        .all(|(f, w)| f == "*" || f == w);
    matches.then(|| fields.swap_remove(4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_url_is_refused_without_echoing_it() {
        for url in [
            "postgresql://app:s3cret@db.example.com/app",
            "postgres://db.example.com/app?password=s3cret",
        ] {
            let e = Target::parse(url).unwrap_err();
            assert_eq!(e.code, Exit::Config);
            assert!(!e.message.contains("s3cret"), "{}", e.message);
        }
    }

    #[test]
    fn sslmode_defaults_to_verify_full_unless_local() {
        let remote = Target::parse("postgresql://app@db.example.com/app").unwrap();
        assert_eq!(remote.sslmode, SslMode::VerifyFull);
        assert!(!remote.local);
        let local = Target::parse("postgresql://app@localhost:5433/app").unwrap();
        assert_eq!(local.sslmode, SslMode::Prefer);
        let socket = Target::parse("postgresql://app@/app?host=/run/pg").unwrap();
        assert!(socket.local);
        let pinned = Target::parse("postgres://app@localhost/app?sslmode=verify-full").unwrap();
        assert_eq!(pinned.sslmode, SslMode::VerifyFull);
        assert_eq!(pinned.describe(), "app@localhost:5432/app");
        let bad = Target::parse("postgres://app@localhost/app?sslmode=maybe").unwrap_err();
        assert!(bad.message.contains("sslmode"), "{}", bad.message);
    }

    #[test]
    fn pgpass_lines_match_with_wildcards_and_escapes() {
        let want = ["db.example.com", "5432", "app", "twofactl"];
        assert_eq!(
            pgpass_line("db.example.com:5432:app:twofactl:pw", &want).as_deref(),
            Some("pw")
        );
        assert_eq!(
            pgpass_line("*:*:*:twofactl:a\\:b\\\\c", &want).as_deref(),
            Some("a:b\\c")
        );
        assert_eq!(
            pgpass_line("*:*:*:other:pw", &want),
            None,
            "another role's line"
        );
        assert_eq!(
            pgpass_line("db.example.com:5432:app:twofactl:p:w", &want).as_deref(),
            Some("p:w"),
            "the password is the rest of the line"
        );
    }
}
