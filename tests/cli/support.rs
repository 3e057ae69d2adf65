//! What every test needs: a sandbox (a temp directory, a clean environment, an empty config
//! file so no machine-wide config leaks in), the application's database made from its real
//! schema, a run of the real binary captured whole, and assertions on runs and files.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// What the "application" keeps in `PRAGMA user_version`; twofactl must never touch it.
pub const APP_USER_VERSION: i64 = 7;

/// No test run should take this long; a hang (e.g. an unexpected prompt) fails instead.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// A user's 2FA state in a fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Enabled,
    Pending,
    Disabled,
}

/// A user to put in a fixture database.
#[derive(Debug, Clone, Copy)]
pub struct U<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub admin: bool,
    pub state: State,
    pub sessions: u32,
}

pub const fn u(name: &'static str, email: &'static str, state: State) -> U<'static> {
    U {
        name,
        email,
        admin: false,
        state,
        sessions: 1,
    }
}

/// The standard fixture: admins and non-admins in every state, with and without sessions.
pub const STANDARD: &[U<'static>] = &[
    U {
        name: "root",
        email: "root@example.com",
        admin: true,
        state: State::Enabled,
        sessions: 1,
    },
    U {
        name: "alice",
        email: "alice@example.com",
        admin: false,
        state: State::Enabled,
        sessions: 2,
    },
    U {
        name: "bob",
        email: "bob@example.com",
        admin: false,
        state: State::Enabled,
        sessions: 1,
    },
    U {
        name: "carol",
        email: "carol@example.com",
        admin: false,
        state: State::Pending,
        sessions: 0,
    },
    U {
        name: "dave",
        email: "dave@example.com",
        admin: false,
        state: State::Disabled,
        sessions: 1,
    },
    U {
        name: "erin",
        email: "erin@example.com",
        admin: true,
        state: State::Disabled,
        sessions: 0,
    },
    U {
        name: "Frank.Miller",
        email: "frank@Example.ORG",
        admin: false,
        state: State::Enabled,
        sessions: 0,
    },
];

/// The TOTP key a fixture user has (when enabled or pending): 32 base32 characters, unique.
pub fn secret_of(name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    data_encoding::BASE32_NOPAD.encode(&digest[..20])
}

/// A fixed dummy PHC string (real hashing is slow; only the demo makes real ones).
pub fn hash_of(name: &str) -> String {
    let digest = Sha256::digest(format!("pw:{name}").as_bytes());
    format!(
        "$argon2id$v=19$m=19456,t=2,p=1$ZHVtbXlzYWx0MTIz${}",
        data_encoding::BASE64_NOPAD.encode(&digest)
    )
}

/// SHA-256 of a file's bytes.
pub fn sha256(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    Sha256::digest(&bytes).to_vec()
}

/// The rollback journal SQLite keeps beside `db` during a write transaction.
pub fn journal_of(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push("-journal");
    PathBuf::from(s)
}

/// Create an application database at `path` from the application's schema, with `users`
/// (ids 1, 2, ... in order), their sessions, one setting and `user_version` set.
pub fn create_app_db(path: &Path, users: &[U<'_>]) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(twofactl::APP_SCHEMA).unwrap();
    conn.pragma_update(None, "user_version", APP_USER_VERSION)
        .unwrap();
    conn.execute(
        "INSERT INTO settings (key, value) VALUES ('app.name', 'Fixture App')",
        [],
    )
    .unwrap();
    add_users(&conn, users);
}

/// Add users (and their sessions) to an application database with the default schema.
pub fn add_users(conn: &Connection, users: &[U<'_>]) {
    for user in users {
        let secret = (user.state != State::Disabled).then(|| secret_of(user.name));
        conn.execute(
            "INSERT INTO users (username, email, password_hash, is_admin, totp_secret, totp_enabled)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                user.name,
                user.email,
                hash_of(user.name),
                user.admin,
                secret,
                user.state == State::Enabled
            ],
        )
        .unwrap();
        let id = conn.last_insert_rowid();
        for n in 0..user.sessions {
            conn.execute(
                "INSERT INTO sessions (id, user_id) VALUES (?1, ?2)",
                params![format!("sess-{id}-{n}"), id],
            )
            .unwrap();
        }
    }
}

/// A test's world: a temp directory holding the database and an (empty) config file, and
/// the binary run there with a clean environment.
pub struct Sandbox {
    dir: TempDir,
    pub db: PathBuf,
    pub config: PathBuf,
}

impl Sandbox {
    /// A sandbox with no database yet.
    pub fn empty() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("twofactl-test-")
            .tempdir()
            .unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(&config, "").unwrap();
        let db = dir.path().join("app.db");
        Sandbox { dir, db, config }
    }

    /// A sandbox with the standard fixture database.
    pub fn new() -> Sandbox {
        Sandbox::with_users(STANDARD)
    }

    /// A sandbox with a database of these users.
    pub fn with_users(users: &[U<'_>]) -> Sandbox {
        let sb = Sandbox::empty();
        create_app_db(&sb.db, users);
        sb
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Write a file in the sandbox and return its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// Replace the config file that TWOFACTL_CONFIG names.
    pub fn write_config(&self, text: &str) {
        std::fs::write(&self.config, text).unwrap();
    }

    /// The environment and working directory every run gets: nothing inherited but `PATH`.
    pub fn clean_env(&self, cmd: &mut StdCommand) {
        cmd.env_clear()
            .env(
                "PATH",
                std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
            )
            .env("HOME", self.dir())
            .env("XDG_CONFIG_HOME", self.dir())
            .env("TWOFACTL_CONFIG", &self.config)
            .current_dir(self.dir());
    }

    /// The binary, in the sandbox, with a clean environment; no arguments yet.
    pub fn std_cmd(&self) -> StdCommand {
        let mut cmd = StdCommand::new(bin());
        self.clean_env(&mut cmd);
        cmd
    }

    /// The same as an assert_cmd command (used by `run`).
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("twofactl");
        cmd.env_clear()
            .env(
                "PATH",
                std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
            )
            .env("HOME", self.dir())
            .env("XDG_CONFIG_HOME", self.dir())
            .env("TWOFACTL_CONFIG", &self.config)
            .current_dir(self.dir())
            .timeout(RUN_TIMEOUT);
        cmd
    }

    /// A command that runs the binary as an unprivileged user when the tests run as root
    /// (root ignores file modes, so a 0444 file would not be read-only to it): through
    /// `setpriv` as uid/gid 65534, with the sandbox directory opened to that user.
    /// `None` when the tests run as root and there is no `setpriv`.
    pub fn cmd_unprivileged(&self) -> Option<assert_cmd::Command> {
        if !is_root() {
            return Some(self.cmd());
        }
        let setpriv = find_in_path("setpriv")?;
        chmod(self.dir(), 0o755);
        chmod(&self.config, 0o644);
        let mut cmd = assert_cmd::Command::new(setpriv);
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin())
            .env_clear()
            .env(
                "PATH",
                std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
            )
            .env("HOME", self.dir())
            .env("XDG_CONFIG_HOME", self.dir())
            .env("TWOFACTL_CONFIG", &self.config)
            .current_dir(self.dir())
            .timeout(RUN_TIMEOUT);
        Some(cmd)
    }

    /// Run with `--db <the sandbox database>` and `args`.
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.cmd();
        cmd.arg("--db").arg(&self.db).args(args);
        Run::of(&mut cmd)
    }

    /// Run `admin-reset` with `--db <the sandbox database>` and `args` (see [`no_notify`]).
    pub fn reset<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.cmd();
        cmd.arg("--db")
            .arg(&self.db)
            .arg("admin-reset")
            .args(no_notify())
            .args(args);
        Run::of(&mut cmd)
    }

    /// `reset` with `stdin`.
    pub fn reset_stdin<I, S>(&self, args: I, stdin: impl Into<Vec<u8>>) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.cmd();
        cmd.arg("--db")
            .arg(&self.db)
            .arg("admin-reset")
            .args(no_notify())
            .args(args)
            .write_stdin(stdin.into());
        Run::of(&mut cmd)
    }

    /// Run with exactly `args` (no `--db`).
    pub fn run_raw<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.cmd();
        cmd.args(args);
        Run::of(&mut cmd)
    }

    pub fn conn(&self) -> Connection {
        Connection::open(&self.db).unwrap()
    }

    pub fn hash(&self) -> Vec<u8> {
        sha256(&self.db)
    }

    /// The database file is byte-for-byte what it was, and no journal is left behind.
    #[track_caller]
    pub fn assert_unchanged(&self, before: &[u8]) {
        assert!(
            sha256(&self.db) == before,
            "the database file changed, but nothing should have changed"
        );
        assert!(
            !journal_of(&self.db).exists(),
            "a rollback journal was left beside the database"
        );
    }

    /// A user's (totp_secret, totp_enabled); panics when there is no such user.
    #[track_caller]
    pub fn totp(&self, name: &str) -> (Option<String>, i64) {
        self.conn()
            .query_row(
                "SELECT totp_secret, totp_enabled FROM users WHERE username = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .unwrap()
            .unwrap_or_else(|| panic!("no user {name:?} in the fixture"))
    }

    /// The key twofactl holds pending for a user (in its own table), if any.
    #[track_caller]
    pub fn pending_key(&self, name: &str) -> Option<String> {
        let conn = self.conn();
        if !has_table(&conn, "twofactl_pending_keys") {
            return None;
        }
        conn.query_row(
            "SELECT p.secret FROM twofactl_pending_keys p JOIN users u ON u.id = p.user_id
             WHERE u.username = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()
        .unwrap()
    }

    /// The user's 2FA is cleared: no key, not enabled.
    #[track_caller]
    pub fn assert_cleared(&self, name: &str) {
        assert_eq!(self.totp(name), (None, 0), "{name}'s 2FA should be cleared");
    }

    /// The user's 2FA is what the fixture gave them.
    #[track_caller]
    pub fn assert_untouched(&self, user: &U<'_>) {
        let expected = match user.state {
            State::Enabled => (Some(secret_of(user.name)), 1),
            State::Pending => (Some(secret_of(user.name)), 0),
            State::Disabled => (None, 0),
        };
        assert_eq!(
            self.totp(user.name),
            expected,
            "{}'s 2FA should be untouched",
            user.name
        );
    }

    /// How many sessions the user has.
    pub fn sessions(&self, name: &str) -> i64 {
        self.conn()
            .query_row(
                "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE u.username = ?1",
                [name],
                |r| r.get(0),
            )
            .unwrap()
    }

    /// twofactl's audit rows, oldest first (empty when twofactl never wrote here).
    pub fn audit(&self) -> Vec<AuditRow> {
        audit_rows(&self.conn())
    }

    /// The application's own schema objects (everything not twofactl's).
    pub fn app_schema(&self) -> Vec<(String, String, Option<String>)> {
        app_schema(&self.conn())
    }

    /// `user_version` untouched, the application's table definitions identical, and nothing
    /// but `twofactl_*` objects added.
    #[track_caller]
    pub fn assert_app_intact(&self, schema_before: &[(String, String, Option<String>)]) {
        let conn = self.conn();
        let uv: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(uv, APP_USER_VERSION, "PRAGMA user_version was changed");
        assert_eq!(
            app_schema(&conn),
            schema_before,
            "the application's schema was changed"
        );
    }
}

/// The application's schema objects: every object not named twofactl_*.
pub fn app_schema(conn: &Connection) -> Vec<(String, String, Option<String>)> {
    conn.prepare(
        "SELECT type, name, sql FROM sqlite_schema
         WHERE name NOT LIKE 'twofactl\\_%' ESCAPE '\\'
           AND name NOT LIKE 'sqlite\\_autoindex\\_twofactl\\_%' ESCAPE '\\'
         ORDER BY type, name",
    )
    .unwrap()
    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// One row of `twofactl_audit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub time: i64,
    pub os_user: String,
    pub actor: Option<String>,
    pub action: String,
    pub user_id: Option<i64>,
    pub username: String,
    pub reason: Option<String>,
    pub outcome: String,
}

pub fn has_table(conn: &Connection, name: &str) -> bool {
    conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1",
        [name],
        |r| r.get::<_, i64>(0),
    )
    .unwrap()
        > 0
}

pub fn audit_rows(conn: &Connection) -> Vec<AuditRow> {
    if !has_table(conn, "twofactl_audit") {
        return Vec::new();
    }
    conn.prepare(
        "SELECT time, os_user, actor, action, user_id, username, reason, outcome
         FROM twofactl_audit ORDER BY id",
    )
    .unwrap()
    .query_map([], |r| {
        Ok(AuditRow {
            time: r.get(0)?,
            os_user: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            user_id: r.get(4)?,
            username: r.get(5)?,
            reason: r.get(6)?,
            outcome: r.get(7)?,
        })
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// A finished run of the binary.
pub struct Run {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub command: String,
}

impl Run {
    pub fn of(cmd: &mut assert_cmd::Command) -> Run {
        let command = format!("{cmd:?}");
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("could not run {command}: {e}"));
        Run {
            status: out.status,
            stdout: out.stdout,
            stderr: out.stderr,
            command,
        }
    }

    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn err(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    fn context(&self) -> String {
        format!(
            "\ncommand: {}\nstatus: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command,
            self.status,
            truncate(&self.out()),
            truncate(&self.err())
        )
    }

    /// The exit code is `code`.
    #[track_caller]
    pub fn code(&self, code: i32) -> &Run {
        assert_eq!(
            self.status.code(),
            Some(code),
            "unexpected exit status{}",
            self.context()
        );
        self
    }

    #[track_caller]
    pub fn ok(&self) -> &Run {
        self.code(0)
    }

    #[track_caller]
    pub fn stdout_contains(&self, needle: &str) -> &Run {
        assert!(
            self.out().contains(needle),
            "stdout lacks {needle:?}{}",
            self.context()
        );
        self
    }

    #[track_caller]
    pub fn stderr_contains(&self, needle: &str) -> &Run {
        assert!(
            self.err().contains(needle),
            "stderr lacks {needle:?}{}",
            self.context()
        );
        self
    }

    #[track_caller]
    pub fn stdout_empty(&self) -> &Run {
        assert!(
            self.stdout.is_empty(),
            "stdout should be empty{}",
            self.context()
        );
        self
    }

    #[track_caller]
    pub fn stderr_empty(&self) -> &Run {
        assert!(
            self.stderr.is_empty(),
            "stderr should be empty{}",
            self.context()
        );
        self
    }

    /// Neither stdout nor stderr contains `needle`.
    #[track_caller]
    pub fn never_shows(&self, needle: &str) -> &Run {
        assert!(
            !self.out().contains(needle) && !self.err().contains(needle),
            "output shows {needle:?}{}",
            self.context()
        );
        self
    }

    /// No raw ESC byte (or other C0 control but newline) in stdout or stderr.
    #[track_caller]
    pub fn no_control_bytes(&self) -> &Run {
        for (what, bytes) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            assert!(
                !bytes.iter().any(|&b| (b < 0x20 && b != b'\n') || b == 0x7f),
                "raw control byte in {what}{}",
                self.context()
            );
        }
        self
    }

    /// stderr is one error line `twofactl: ...`, optionally followed by one `hint: ...` line.
    #[track_caller]
    pub fn one_error_line(&self) -> &Run {
        let err = self.err();
        let mut lines: Vec<&str> = err.lines().collect();
        // Under --format json the failure is also a JSON object, on the last line.
        if lines.last().is_some_and(|l| l.starts_with("{\"error\":")) {
            let v: Value = serde_json::from_str(lines.pop().unwrap()).unwrap();
            assert_eq!(
                v["error"]["exit"].as_i64(),
                self.status.code().map(i64::from),
                "the JSON error's exit code{}",
                self.context()
            );
        }
        let ok = match lines.as_slice() {
            [e] => e.starts_with("twofactl: "),
            [e, h] => e.starts_with("twofactl: ") && h.starts_with("hint: "),
            _ => false,
        };
        assert!(
            ok,
            "stderr should be one `twofactl: ...` line (and at most one `hint: ...` line){}",
            self.context()
        );
        self
    }

    /// The first line of stderr (the error message itself).
    pub fn error_line(&self) -> String {
        self.err().lines().next().unwrap_or("").to_owned()
    }

    /// stdout as JSON Lines; every line must be a JSON object.
    #[track_caller]
    pub fn json_lines(&self) -> Vec<Value> {
        let out = std::str::from_utf8(&self.stdout)
            .unwrap_or_else(|_| panic!("stdout is not UTF-8{}", self.context()));
        out.lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap_or_else(|e| {
                    panic!("stdout line {l:?} is not JSON: {e}{}", self.context())
                });
                assert!(v.is_object(), "JSON line {l} is not an object");
                v
            })
            .collect()
    }
}

fn truncate(s: &str) -> String {
    const MAX: usize = 4000;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes in all)", &s[..end], s.len())
}

/// The keys of a JSON object, sorted.
#[track_caller]
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("{v} is not an object"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

/// The sorted list of these key names.
pub fn sorted(names: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    k.sort();
    k
}

/// `2026-11-27T22:31:07Z`: RFC 3339, UTC, to the second.
pub fn is_rfc3339_utc(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// `--no-notify`, which every `admin-reset` here passes: these tests are about the reset
/// itself; its e-mail is tested in `mail`.
pub fn no_notify() -> &'static [&'static str] {
    &["--no-notify"]
}

/// The binary under test.
pub fn bin() -> &'static Path {
    assert_cmd::cargo::cargo_bin!("twofactl")
}

pub fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Whether the tests run as root (`id -u` is 0).
pub fn is_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        let out = StdCommand::new("id").arg("-u").output().expect("run id -u");
        String::from_utf8_lossy(&out.stdout).trim() == "0"
    })
}

pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/bin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Poll `cond` every millisecond until it holds; false when `limit` passes first.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    cond()
}

/// Run the binary on the sandbox database as `twofactl ARGS | head -1` would: read one line
/// of stdout, close the pipe, and expect exit 0 with nothing on stderr. Returns the line, or
/// what went wrong.
pub fn first_line_then_close(sb: &Sandbox, args: &[&str]) -> Result<String, String> {
    use std::io::BufRead;
    let mut child = sb
        .std_cmd()
        .arg("--db")
        .arg(&sb.db)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    {
        let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
        reader.read_line(&mut first).unwrap();
        // Dropping the reader closes the pipe, as `head -1` does.
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(0) || !stderr.is_empty() {
        return Err(format!(
            "expected exit 0 and an empty stderr, got {} and stderr {stderr:?}",
            out.status
        ));
    }
    Ok(first)
}

/// The size of the bulk fixture.
pub const BIG: usize = 100_000;

/// The bulk fixture's usernames: `user000000`, `user000001`, ...
pub fn big_name(i: usize) -> String {
    format!("user{i:06}")
}

/// Copy the bulk fixture (BIG users, all with 2FA enabled, every third with a session) to
/// `dest`. It is built once and kept in cargo's target tmpdir.
pub fn big_db(dest: &Path) {
    bulk_db(dest, BIG);
}

/// A `--from-file` list naming every user of the bulk fixture.
pub fn big_names(dest: &Path) {
    bulk_names(dest, BIG);
}

/// Copy a bulk fixture of `n` users (at most 1,000,000; made like the BIG one) to `dest`.
pub fn bulk_db(dest: &Path, n: usize) {
    std::fs::copy(bulk_template(n), dest).unwrap();
}

/// A `--from-file` list naming every user of the bulk fixture of `n` users.
pub fn bulk_names(dest: &Path, n: usize) {
    let mut s = String::with_capacity(n * 11);
    for i in 0..n {
        s.push_str(&big_name(i));
        s.push('\n');
    }
    std::fs::write(dest, s).unwrap();
}

fn bulk_template(n: usize) -> PathBuf {
    assert!(n <= 1_000_000, "big_name has six digits");
    // One build of each size at a time; the file stays for later runs.
    static BUILDING: Mutex<()> = Mutex::new(());
    let _building = BUILDING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    // Bump the version when the bulk fixture changes.
    let path = dir.join(format!("twofactl-bulk-v1-{n}.db"));
    if path.is_file() {
        return path;
    }
    let tmp = tempfile::NamedTempFile::new_in(&dir).unwrap();
    {
        let conn = Connection::open(tmp.path()).unwrap();
        conn.execute_batch(twofactl::APP_SCHEMA).unwrap();
        conn.pragma_update(None, "user_version", APP_USER_VERSION)
            .unwrap();
        conn.execute_batch(&format!(
            "BEGIN;
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last})
             INSERT INTO users (username, email, password_hash, is_admin, totp_secret, totp_enabled)
             SELECT printf('user%06d', i), printf('user%06d@example.com', i),
                    '$argon2id$v=19$m=19456,t=2,p=1$ZHVtbXlzYWx0MTIz$ZHVtbXloYXNoZHVtbXloYXNoZHVtbXloYXNo',
                    0, printf('BULKKEY%025d', i), 1
             FROM n;
             INSERT INTO sessions (id, user_id) SELECT 'bulk-' || id, id FROM users WHERE id % 3 = 0;
             COMMIT;",
            last = n - 1
        ))
        .unwrap();
    }
    tmp.persist(&path).unwrap();
    path
}

/// The variable that hands the probe (below) the arguments of the run it measures.
const PROBE: &str = "TWOFACTL_TEST_PROBE";

/// Run the binary in the sandbox with `args`, and return its exit code and its peak RSS in
/// KiB. The run is made by a process of its own (this test binary, running only
/// `rss_probe`), whose one child it is: the kernel's maximum RSS of a process's children
/// (getrusage RUSAGE_CHILDREN) then counts this run alone, not the other tests' runs.
pub fn peak_rss(sb: &Sandbox, args: &[&str]) -> (Option<i32>, u64) {
    peak_rss_env(sb, &[], args)
}

/// [`peak_rss`] with more variables in the run's environment.
pub fn peak_rss_env(sb: &Sandbox, env: &[(&str, &str)], args: &[&str]) -> (Option<i32>, u64) {
    let mut cmd = StdCommand::new(std::env::current_exe().unwrap());
    sb.clean_env(&mut cmd);
    cmd.envs(env.iter().copied());
    let out = cmd
        .env(PROBE, serde_json::to_string(args).unwrap())
        .args(["support::rss_probe", "--exact", "--ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The test harness may have begun the line ("test support::rss_probe ... ").
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("rss_probe: ").map(|(_, report)| report))
        .unwrap_or_else(|| {
            panic!(
                "the probe did not report:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let v: Value = serde_json::from_str(line).unwrap();
    (
        v["exit"].as_i64().map(|c| i32::try_from(c).unwrap()),
        v["max_rss_kib"].as_u64().unwrap(),
    )
}

/// The other half of [`peak_rss`]; does nothing unless armed by it.
#[test]
#[ignore = "helper: runs only as the probe of support::peak_rss"]
fn rss_probe() {
    use nix::sys::resource::{UsageWho, getrusage};
    let Some(args) = std::env::var_os(PROBE) else {
        return;
    };
    let args: Vec<String> = serde_json::from_str(args.to_str().unwrap()).unwrap();
    let status = StdCommand::new(bin())
        .args(&args)
        .env_remove(PROBE)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN).unwrap();
    println!(
        "rss_probe: {}",
        serde_json::json!({"exit": status.code(), "max_rss_kib": usage.max_rss()})
    );
}

/// All-or-nothing check of a bulk run on the bulk fixture: `PRAGMA integrity_check` is ok,
/// and either every user is reset (keys, sessions, audit rows) or none is. Returns whether
/// the change was applied.
#[track_caller]
pub fn assert_bulk_all_or_nothing(db: &Path) -> bool {
    let conn = Connection::open(db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "PRAGMA integrity_check");
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let users = count("SELECT count(*) FROM users");
    assert_eq!(users, BIG as i64, "users were added or lost");
    let cleared =
        count("SELECT count(*) FROM users WHERE totp_secret IS NULL AND totp_enabled = 0");
    let sessions = count("SELECT count(*) FROM sessions");
    let audit = if has_table(&conn, "twofactl_audit") {
        count("SELECT count(*) FROM twofactl_audit")
    } else {
        0
    };
    let all = BIG as i64;
    let (none_sessions, all_sessions) = (all / 3, 0);
    if cleared == 0 {
        assert_eq!(
            sessions, none_sessions,
            "no user reset, yet sessions changed"
        );
        assert_eq!(audit, 0, "no user reset, yet audit rows were written");
        false
    } else {
        assert_eq!(
            cleared, all,
            "a half-applied change: {cleared} of {all} users reset"
        );
        assert_eq!(
            sessions, all_sessions,
            "every user reset, yet sessions remain"
        );
        assert_eq!(audit, all, "every user reset, but not one audit row each");
        true
    }
}
