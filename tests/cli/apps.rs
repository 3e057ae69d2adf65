//! The application profiles, each proven on a database made from the application's own schema
//! (`tests/fixtures/apps/<app>.sql`, which cites the migrations or models it was written from)
//! holding users in every state the application has. For each profile:
//!
//! - `list-users --format json` reports each user's status and administrator flag as the
//!   application means them;
//! - `admin-reset` leaves exactly what the application's own "turn off 2FA" leaves: the whole
//!   database is compared, table by table and row by row, with a copy of it on which the
//!   application's own statements were run (so nothing else, and no other user, changed);
//!   an administrator needs `--allow-admin`, and `--dry-run` changes nothing;
//! - `enroll` writes what the application's enrolment writes, and the application's check (or an
//!   independent one: oathtool, django-otp itself) accepts a code from the new key; profiles
//!   whose keys the application encrypts refuse to enrol and say where the user enrols.
//!
//! The modules below hold one application each; this one holds what they share.

pub mod django;
pub mod generic;
pub mod gitea;
pub mod kanboard;
pub mod nextcloud;
pub mod vaultwarden;
pub mod wallabag;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, Params};
use serde_json::Value;

use crate::enroll::totp_at;
use crate::self_service::now;
use crate::support::*;

/// The issuer every profile's config names (the applications here have no `settings` table).
pub const ISSUER: &str = "Example";

/// The application's schema: `tests/fixtures/apps/<app>.sql`.
pub fn schema(app: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/apps")
        .join(format!("{app}.sql"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The config of these tests: the profile, an issuer, and mail into `mails/` as .eml files.
pub fn config(profile: &str, extra: &str) -> String {
    format!(
        "[schema]\nprofile = \"{profile}\"\n\n[totp]\nissuer = \"{ISSUER}\"\n\n\
         [mail]\ntransport = \"file\"\nfile_dir = \"mails\"\nfrom = \"Example <no-reply@example.com>\"\n\n{extra}"
    )
}

/// A sandbox whose database is `<app>.sql` with the rows `fill` inserts, configured for
/// `profile`.
pub fn sandbox(app: &str, profile: &str, fill: impl FnOnce(&Connection)) -> Sandbox {
    let sb = Sandbox::empty();
    let conn = Connection::open(&sb.db).unwrap();
    conn.execute_batch(&schema(app)).unwrap();
    fill(&conn);
    drop(conn);
    sb.write_config(&config(profile, ""));
    sb
}

/// Run one statement with its parameters (the fixtures' inserts).
#[track_caller]
pub fn exec(conn: &Connection, sql: &str, params: impl Params) {
    conn.execute(sql, params)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

// ---- What list-users reports ------------------------------------------------------------------

/// `list-users --format json`: username -> its JSON object.
#[track_caller]
pub fn listed(sb: &Sandbox) -> BTreeMap<String, Value> {
    let run = sb.run(["--format", "json", "list-users"]);
    run.ok();
    run.json_lines()
        .into_iter()
        .map(|v| (v["username"].as_str().unwrap().to_owned(), v))
        .collect()
}

/// `list-users` reports exactly these users, each as (username, status, is_admin, e-mail).
#[track_caller]
pub fn assert_listed(sb: &Sandbox, expected: &[(&str, &str, bool, &str)]) {
    let got: Vec<(String, String, bool, String)> = listed(sb)
        .into_values()
        .map(|v| {
            (
                v["username"].as_str().unwrap().to_owned(),
                v["status"].as_str().unwrap().to_owned(),
                v["is_admin"].as_bool().unwrap(),
                v["email"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut want: Vec<(String, String, bool, String)> = expected
        .iter()
        .map(|(n, s, a, e)| ((*n).to_owned(), (*s).to_owned(), *a, (*e).to_owned()))
        .collect();
    want.sort();
    assert_eq!(got, want, "list-users: (username, status, is_admin, email)");
}

/// `doctor` finds every table and column the profile names in the application's schema.
#[track_caller]
pub fn assert_mapping_ok(sb: &Sandbox, users: usize) {
    let run = sb.run(["doctor"]);
    run.ok()
        .stdout_contains(&format!("schema mapping ok, {users} users"));
}

// ---- The database, compared with what the application leaves ----------------------------------

/// Every row of every application table (twofactl's left out), in rowid order, each value
/// written out with its storage class.
pub fn dump(path: &Path) -> BTreeMap<String, Vec<Vec<String>>> {
    let conn = Connection::open(path).unwrap();
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table'
             AND name NOT LIKE 'twofactl\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    tables
        .into_iter()
        .map(|t| {
            let mut stmt = conn
                .prepare(&format!("SELECT * FROM \"{t}\" ORDER BY rowid"))
                .unwrap();
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| (0..n).map(|i| Ok(shown(r.get_ref(i)?))).collect())
                .unwrap()
                .collect::<rusqlite::Result<Vec<Vec<String>>>>()
                .unwrap();
            (t, rows)
        })
        .collect()
}

/// A value as the comparison shows it: its storage class and its contents.
fn shown(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "NULL".to_owned(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => format!("{f:?}"),
        ValueRef::Text(t) => format!("{:?}", String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => format!("x'{}'", data_encoding::HEXLOWER.encode(b)),
    }
}

/// A copy of the database as it was, on which the test runs the application's own statements:
/// what twofactl leaves must be the same, row for row.
pub struct Expected {
    path: PathBuf,
    conn: Connection,
}

impl Expected {
    /// A copy of the sandbox's database as it is now.
    pub fn of(sb: &Sandbox) -> Expected {
        let path = sb.path("expected.db");
        std::fs::copy(&sb.db, &path).unwrap();
        let conn = Connection::open(&path).unwrap();
        Expected { path, conn }
    }

    /// Run one of the application's statements on the copy.
    #[track_caller]
    pub fn exec(&self, sql: &str, params: impl Params) {
        exec(&self.conn, sql, params);
    }

    /// The sandbox's application tables hold exactly the copy's rows, and their definitions
    /// and `user_version` are the copy's.
    #[track_caller]
    pub fn assert_same(&self, sb: &Sandbox) {
        let (want, got) = (dump(&self.path), dump(&sb.db));
        let mut diff = String::new();
        for (table, rows) in &want {
            let other = got.get(table).cloned().unwrap_or_default();
            if *rows == other {
                continue;
            }
            let _ = writeln!(diff, "table {table}:");
            for r in rows.iter().filter(|r| !other.contains(r)) {
                let _ = writeln!(diff, "  expected, missing: {}", r.join(", "));
            }
            for r in other.iter().filter(|r| !rows.contains(r)) {
                let _ = writeln!(diff, "  not expected:      {}", r.join(", "));
            }
        }
        assert!(
            diff.is_empty(),
            "the database differs from what the application leaves:\n{diff}"
        );
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "the application's tables"
        );
        let conn = sb.conn();
        assert_eq!(app_schema(&conn), app_schema(&self.conn), "the schema");
        let version = |c: &Connection| -> i64 {
            c.pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap()
        };
        assert_eq!(version(&conn), version(&self.conn), "PRAGMA user_version");
    }
}

// ---- The commands, and what every profile must do --------------------------------------------

/// `admin-reset USER --reason R --yes --no-notify` (plus `args`), which must succeed.
#[track_caller]
pub fn reset(sb: &Sandbox, user: &str, args: &[&str]) -> Run {
    let mut all = vec![user, "--reason", "lost phone", "--yes"];
    all.extend_from_slice(args);
    let run = sb.reset(all);
    run.ok();
    run
}

/// An administrator is not reset without `--allow-admin` (exit 2, the database untouched,
/// `--dry-run` or not); `--dry-run` of `other` changes nothing either.
#[track_caller]
pub fn assert_guarded(sb: &Sandbox, admin: &str, other: &str) {
    let before = sb.hash();
    for args in [
        &[admin, "--reason", "r", "--yes"][..],
        &[admin, "--reason", "r", "--dry-run"],
    ] {
        sb.reset(args)
            .code(2)
            .one_error_line()
            .stderr_contains("--allow-admin");
        sb.assert_unchanged(&before);
    }
    let run = sb.reset([other, "--reason", "r", "--dry-run", "--format", "json"]);
    run.ok();
    assert_eq!(
        run.json_lines()[0]["username"].as_str(),
        Some(other),
        "{}",
        run.out()
    );
    sb.assert_unchanged(&before);
}

/// `enroll USER --show-secret` then `enroll USER --code CODE` with the code of the key shown;
/// returns the key (base32, as shown) and the otpauth URI.
#[track_caller]
pub fn enroll(sb: &Sandbox, user: &str) -> (String, String) {
    let run = sb.run(["--format", "json", "enroll", user, "--show-secret"]);
    run.ok();
    let json = &run.json_lines()[0];
    let shown = json["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("no secret in {}", run.out()))
        .replace(' ', "");
    let uri = json["otpauth_uri"].as_str().unwrap().to_owned();
    confirm(sb, user, &shown);
    (shown, uri)
}

/// `enroll USER --code CODE` with the current code of `key`.
#[track_caller]
pub fn confirm(sb: &Sandbox, user: &str, key: &str) {
    sb.run(["enroll", user, "--code", &totp_at(key, now())])
        .ok();
}

/// Profiles whose keys the application encrypts refuse to enrol (exit 8, with the hint that
/// the user enrols in the application's own page), before anything is written.
#[track_caller]
pub fn assert_no_enrolment(sb: &Sandbox, user: &str) {
    let before = sb.hash();
    for args in [
        &["enroll", user, "--show-secret"][..],
        &["enroll", user, "--code", "123456"],
        // Said before a self-service reset would go on to enrolment.
        &["verify", user, "12345678", "--enroll", "--show-secret"],
    ] {
        let run = sb.run(args);
        run.code(8).one_error_line();
        assert!(
            run.error_line().contains("encrypts TOTP keys"),
            "{}",
            run.err()
        );
        run.stderr_contains("enrols in the application's own page");
        sb.assert_unchanged(&before);
    }
}

/// `oathtool --totp -w 1 -b KEY CODE`: the code is valid for the key now, within one step
/// either side (the window of Kanboard's and wallabag's libraries). oathtool is installed by
/// .ci/run; without it the test fails.
#[track_caller]
pub fn oathtool_accepts(key: &str, code: &str) -> bool {
    let out = StdCommand::new("oathtool")
        .args(["--totp", "-w", "1", "-b", key, code])
        .output()
        .unwrap_or_else(|e| panic!("oathtool (installed by .ci/run) could not run: {e}"));
    out.status.success()
}

/// The newest 8-digit code e-mailed into the sandbox's `mails/` directory, and its recipient.
#[track_caller]
pub fn mailed_code(sb: &Sandbox) -> (String, String) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(sb.path("mails"))
        .expect("no mails/ directory: nothing was e-mailed")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
    for f in files.iter().rev() {
        let data = std::fs::read(f).unwrap();
        let msg = mail_parser::MessageParser::default().parse(&data).unwrap();
        let to = msg
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_owned();
        let text = msg.body_text(0).unwrap_or_default().into_owned();
        if let Some(code) = text
            .lines()
            .map(str::trim)
            .find(|l| l.len() == 8 && l.bytes().all(|b| b.is_ascii_digit()))
        {
            return (code.to_owned(), to);
        }
    }
    panic!("no e-mailed code in {files:?}");
}

/// The text of the newest message e-mailed into the sandbox's `mails/` directory.
#[track_caller]
pub fn last_mail(sb: &Sandbox) -> String {
    let newest = std::fs::read_dir(sb.path("mails"))
        .expect("no mails/ directory: nothing was e-mailed")
        .map(|e| e.unwrap().path())
        .max_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap())
        .expect("no message");
    let data = std::fs::read(newest).unwrap();
    let msg = mail_parser::MessageParser::default().parse(&data).unwrap();
    msg.body_text(0).unwrap().into_owned()
}

/// The user's notification says what the reset ended: every login, or not.
#[track_caller]
pub fn assert_notice_says_signed_out(sb: &Sandbox, everywhere: bool) {
    let text = last_mail(sb).replace('\n', " ");
    let claims = text.contains("signed out everywhere");
    assert_eq!(claims, everywhere, "{text}");
    assert_eq!(!claims, text.contains("may stay signed in"), "{text}");
}

/// `request-reset USER --password-stdin` with `password`, which must succeed; then `verify
/// USER CODE` with the e-mailed code. Returns the address the code was sent to.
#[track_caller]
pub fn self_service(sb: &Sandbox, user: &str, password: &str) -> String {
    let mut cmd = sb.cmd();
    cmd.arg("--db")
        .arg(&sb.db)
        .args(["request-reset", user, "--password-stdin"])
        .write_stdin(format!("{password}\n"));
    Run::of(&mut cmd).ok();
    let (code, to) = mailed_code(sb);
    sb.run(["verify", user, &code])
        .ok()
        .stdout_contains("Code accepted");
    to
}
