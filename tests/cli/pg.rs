//! PostgreSQL, against a real server: each test starts a throwaway cluster of its own (from
//! Debian's `postgresql` package: `initdb` once into a template, copied per test), listening
//! on a private socket directory and a free port on 127.0.0.1, with TLS from a test CA and
//! password (SCRAM) logins over TCP. PostgreSQL refuses to run as root: as root, the cluster
//! belongs to the `postgres` user and is run through `setpriv`.
//!
//! What is proven: the URL and its password sources, TLS modes, `doctor`, and `list-users`
//! on both engines giving the same output for the same users; commands that change the
//! database refuse PostgreSQL before doing anything.

use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};

use crate::smtp::Pki;
use crate::support::*;

pub const NEEDS: &str = "needs postgresql (.ci/run installs it)";

/// The role twofactl logs in as over TCP, and its password.
pub const ROLE: &str = "twofactl";
pub const ROLE_PASSWORD: &str = "role-Pw-8c1f";

/// The directory of PostgreSQL's server programs; fails (never skips) when there is none.
fn bindir() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .unwrap_or_else(|e| panic!("{NEEDS}: /usr/lib/postgresql: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").is_file())
        .collect();
    dirs.sort();
    dirs.pop().unwrap_or_else(|| panic!("{NEEDS}: no initdb"))
}

/// `cmd` run as the owner of the cluster: the `postgres` user when the tests run as root.
fn as_owner(program: &Path) -> StdCommand {
    if is_root() {
        let mut c = StdCommand::new("setpriv");
        c.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
        ])
        .arg(program);
        c
    } else {
        StdCommand::new(program)
    }
}

/// Give `path` (recursively) to the cluster's owner.
fn own(path: &Path) {
    if is_root() {
        let ok = StdCommand::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(path)
            .status()
            .unwrap()
            .success();
        assert!(ok, "chown {}", path.display());
    }
}

/// An initialised cluster, made once per test process and copied by each test.
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<tempfile::TempDir> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let dir = tempfile::Builder::new()
                .prefix("twofactl-pg-template-")
                .tempdir()
                .unwrap();
            own(dir.path());
            let pwfile = dir.path().join("pw");
            std::fs::write(&pwfile, "superuser-pw\n").unwrap();
            own(&pwfile);
            let out = as_owner(&bindir().join("initdb"))
                .args(["-D"])
                .arg(dir.path().join("data"))
                .args([
                    "-U",
                    "postgres",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ])
                .arg(format!("--pwfile={}", pwfile.display()))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            dir
        })
        .path()
}

/// A running throwaway PostgreSQL server.
pub struct Pg {
    dir: tempfile::TempDir,
    server: Child,
    pub port: u16,
    /// The test CA's certificate (PEM file), which signed the server's for localhost and
    /// 127.0.0.1.
    pub ca: PathBuf,
}

impl Pg {
    pub fn start() -> Pg {
        let dir = tempfile::Builder::new()
            .prefix("twofactl-pg-")
            .tempdir()
            .unwrap();
        let data = dir.path().join("data");
        let ok = StdCommand::new("cp")
            .arg("-a")
            .arg(template().join("data"))
            .arg(&data)
            .status()
            .unwrap()
            .success();
        assert!(ok, "copying the template cluster");
        let pki = Pki::generate(false);
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, &pki.ca_pem).unwrap();
        std::fs::write(data.join("server.crt"), &pki.chain_pem).unwrap();
        std::fs::write(data.join("server.key"), &pki.key_pem).unwrap();
        chmod(&data.join("server.key"), 0o600);
        own(dir.path());
        chmod(dir.path(), 0o755);
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let server = as_owner(&bindir().join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(dir.path())
            .args([
                "-c",
                "listen_addresses=127.0.0.1,127.0.0.2",
                "-c",
                "ssl=on",
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let pg = Pg {
            dir,
            server,
            port,
            ca,
        };
        pg.wait_ready();
        pg
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.superuser("postgres").is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "PostgreSQL did not start: {}",
                std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The socket directory.
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A superuser session on `db`, over the socket.
    pub fn superuser(&self, db: &str) -> Result<Client, postgres::Error> {
        postgres::Config::new()
            .host_path(self.socket_dir())
            .port(self.port)
            .user("postgres")
            .dbname(db)
            .connect(NoTls)
    }

    /// Make database `name` from `schema` (SQL), owned by the superuser, with the role
    /// twofactl logs in as (which may read it).
    pub fn database(&self, name: &str, schema: &str) -> Client {
        let mut admin = self.superuser("postgres").unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let mut db = self.database_exists(name);
        db.batch_execute(schema).unwrap();
        db.batch_execute(&format!(
            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {ROLE}"
        ))
        .unwrap();
        db
    }

    /// A superuser session on database `name`, made by someone else (Django), with the role
    /// twofactl logs in as created.
    pub fn database_exists(&self, name: &str) -> Client {
        let mut admin = self.superuser("postgres").unwrap();
        admin
            .batch_execute(&format!(
                "DO $$ BEGIN
                   IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
                     CREATE ROLE {ROLE} LOGIN PASSWORD '{ROLE_PASSWORD}';
                   END IF;
                 END $$;"
            ))
            .unwrap();
        self.superuser(name).unwrap()
    }

    /// The URL of database `db` over TCP for the role, with extra query `params`.
    pub fn url(&self, host: &str, db: &str, params: &str) -> String {
        let q = if params.is_empty() {
            String::new()
        } else {
            format!("?{params}")
        };
        format!("postgresql://{ROLE}@{host}:{}/{db}{q}", self.port)
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        // SIGINT: PostgreSQL's fast shutdown (the server's pid is the child's: setpriv execs).
        let _ = StdCommand::new("kill")
            .args(["-INT", &self.server.id().to_string()])
            .status();
        let _ = self.server.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The sample application's tables as PostgreSQL holds them (booleans, an identity id).
pub const APP_SCHEMA_PG: &str = include_str!("../fixtures/postgres/app-schema.sql");

/// Copy the rows of `tables` from an SQLite database into the PostgreSQL tables of the same
/// names, each value converted by PostgreSQL to its column's type (through JSON: numbers,
/// text, NULL; blobs as bytea hex).
pub fn copy_tables(conn: &rusqlite::Connection, pg: &mut Client, tables: &[&str]) {
    use rusqlite::types::ValueRef;
    use serde_json::{Map, Value};
    for table in tables {
        let quoted = format!("\"{table}\"");
        let mut stmt = conn.prepare(&format!("SELECT * FROM {quoted}")).unwrap();
        let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
        let insert = format!(
            "INSERT INTO {quoted} SELECT * FROM json_populate_record(NULL::{quoted}, $1::text::json)"
        );
        let mut rows = stmt.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            let mut obj = Map::new();
            for (i, name) in names.iter().enumerate() {
                let v = match r.get_ref(i).unwrap() {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => Value::from(n),
                    ValueRef::Real(f) => Value::from(f),
                    ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Value::from(format!("\\x{}", hex(b))),
                };
                obj.insert(name.clone(), v);
            }
            let json = Value::Object(obj).to_string();
            pg.execute(&insert, &[&json])
                .unwrap_or_else(|e| panic!("{table}: {json}: {e}"));
        }
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Copy the users and settings of an SQLite sandbox of the sample schema.
pub fn copy_users(sb: &Sandbox, pg: &mut Client) {
    copy_tables(&sb.conn(), pg, &["users", "settings"]);
}

/// `list-users` in each format and with each filter prints on PostgreSQL exactly what it
/// prints on SQLite (`sqlite` and `url` holding the same rows).
#[track_caller]
fn assert_same_listing(sqlite: &Sandbox, pg_sb: &Sandbox, url: &str, pattern: &str) {
    for args in [
        &["--format", "json", "list-users"][..],
        &["--format", "csv", "list-users"],
        &["list-users"],
        &["--format", "json", "list-users", "--status", "enabled"],
        &["--format", "json", "list-users", "--status", "pending"],
        &["--format", "json", "list-users", "--status", "disabled"],
        &["--format", "json", "list-users", "--admins"],
        &["--format", "csv", "list-users", "--match", pattern],
        &["--format", "csv", "list-users", "--match", "%"],
        &["--format", "json", "list-users", "--limit", "2"],
    ] {
        let want = sqlite.run(args);
        want.ok();
        let got = run_pg(pg_sb, url, args);
        got.ok();
        assert_eq!(got.out(), want.out(), "{url} {args:?}");
    }
}

/// Run twofactl in `sb` with `--db url`, the role's password in PGPASSWORD and the test CA
/// trusted, and `args`.
pub fn run_pg(sb: &Sandbox, url: &str, args: &[&str]) -> Run {
    let mut cmd = sb.cmd();
    cmd.env("PGPASSWORD", ROLE_PASSWORD)
        .arg("--db")
        .arg(url)
        .args(args);
    Run::of(&mut cmd)
}

/// A sandbox whose config trusts the test CA for PostgreSQL.
pub fn trusting(pg: &Pg) -> Sandbox {
    trusting_with(pg, "")
}

/// [`trusting`], with more `[database]` keys.
pub fn trusting_with(pg: &Pg, database: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.write_config(&format!(
        "[database]\n{database}ca_file = \"{}\"\n\n[mail]\ntransport = \"file\"\nfile_dir = \"outbox\"\nfrom = \"twofactl@example.com\"\n",
        pg.ca.display()
    ));
    sb
}

#[test]
#[ignore = "needs postgresql (.ci/run installs it)"]
fn list_users_gives_the_same_output_on_postgresql_as_on_sqlite() {
    let pg = Pg::start();
    let sb = trusting(&pg);
    let mut db = pg.database("app", APP_SCHEMA_PG);
    copy_users(&sb, &mut db);
    let url = pg.url("localhost", "app", "sslmode=verify-full");
    assert_same_listing(&sb, &sb, &url, "EXAMPLE.org");
    assert!(run_pg(&sb, &url, &["list-users"]).out().contains("alice"));
}

/// Gitea on PostgreSQL (xorm's types there: BIGSERIAL ids, BOOL flags, VARCHAR text): the
/// profile lists the same users as on SQLite.
#[test]
#[ignore = "needs postgresql (.ci/run installs it)"]
fn the_gitea_profile_lists_the_same_users_on_postgresql() {
    let pg = Pg::start();
    let sqlite = crate::apps::gitea::gitea();
    let mut db = pg.database("gitea", include_str!("../fixtures/postgres/gitea.sql"));
    copy_tables(&sqlite.conn(), &mut db, &["user", "two_factor"]);
    let sb = Sandbox::empty();
    sb.write_config(&crate::apps::config(
        "gitea",
        &format!("[database]\nca_file = \"{}\"\n", pg.ca.display()),
    ));
    let url = pg.url("localhost", "gitea", "sslmode=verify-full");
    assert_same_listing(&sqlite, &sb, &url, "ALI");
    let admins = run_pg(&sb, &url, &["--format", "json", "list-users", "--admins"]);
    assert_eq!(admins.json_lines().len(), 1, "{}", admins.out());
}

#[test]
#[ignore = "needs postgresql (.ci/run installs it)"]
fn doctor_reports_the_server_tls_profile_rights_and_users() {
    let pg = Pg::start();
    let sb = trusting(&pg);
    let mut db = pg.database("app", APP_SCHEMA_PG);
    copy_users(&sb, &mut db);
    let url = pg.url("localhost", "app", "sslmode=verify-full");
    // A role that may only read: the rights a change needs are named, as GRANTs.
    let reader = run_pg(&sb, &url, &["doctor"]);
    reader.code(8);
    assert!(
        reader
            .out()
            .contains("GRANT UPDATE on \"users\", DELETE on \"sessions\", CREATE on schema public"),
        "{}",
        reader.out()
    );
    db.batch_execute(&format!(
        "GRANT UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {ROLE};
         GRANT CREATE ON SCHEMA public TO {ROLE};"
    ))
    .unwrap();
    let run = run_pg(&sb, &url, &["doctor"]);
    run.ok();
    let out = run.out();
    assert!(out.contains("PostgreSQL 1"), "{out}");
    assert!(out.contains("TLS: TLSv1.3 (sslmode verify-full)"), "{out}");
    assert!(out.contains("profile default"), "{out}");
    assert!(out.contains("may read every table"), "{out}");
    assert!(out.contains("may change what a reset"), "{out}");
    assert!(
        out.contains("none yet: the first change creates them"),
        "{out}"
    );
    assert!(out.contains(&format!("{} users", STANDARD.len())), "{out}");
    run_pg(
        &sb,
        &url,
        &[
            "admin-reset",
            "alice",
            "--reason",
            "r",
            "--yes",
            "--no-notify",
        ],
    )
    .ok();
    let after = run_pg(&sb, &url, &["doctor"]);
    assert!(
        after.ok().out().contains("twofactl tables"),
        "{}",
        after.out()
    );
    assert!(after.out().contains("version 6"), "{}", after.out());

    // Without TLS the report says so.
    let plain = run_pg(
        &sb,
        &pg.url("127.0.0.1", "app", "sslmode=disable"),
        &["doctor"],
    );
    plain.ok();
    assert!(
        plain.out().contains("TLS: not encrypted (sslmode disable)"),
        "{}",
        plain.out()
    );

    // A lock held past busy_timeout (PostgreSQL's lock_timeout) is exit 7, and says so.
    let mut locker = pg.superuser("app").unwrap();
    let mut tx = locker.transaction().unwrap();
    tx.batch_execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let impatient = trusting_with(&pg, "busy_timeout = \"1s\"\n");
    let started = Instant::now();
    let busy = run_pg(
        &impatient,
        &pg.url("localhost", "app", "sslmode=verify-full"),
        &["list-users"],
    );
    busy.code(7).one_error_line();
    assert!(busy.err().contains("busy_timeout"), "{}", busy.err());
    assert!(started.elapsed() < Duration::from_secs(20));
    tx.rollback().unwrap();

    // A table the role may not read fails the rights check, naming it.
    db.batch_execute(&format!("REVOKE SELECT ON settings FROM {ROLE}"))
        .unwrap();
    let denied = run_pg(
        &sb,
        &pg.url("localhost", "app", "sslmode=verify-full"),
        &["doctor"],
    );
    denied.code(8);
    assert!(
        denied.out().contains("may not read \"settings\""),
        "{}",
        denied.out()
    );
    db.batch_execute(&format!("REVOKE SELECT ON users FROM {ROLE}"))
        .unwrap();
    let list = run_pg(
        &sb,
        &pg.url("localhost", "app", "sslmode=verify-full"),
        &["list-users"],
    );
    list.code(8).one_error_line();
    assert!(list.err().contains("GRANT SELECT"), "{}", list.err());
}

#[test]
#[ignore = "needs postgresql (.ci/run installs it)"]
fn tls_modes_verify_as_libpq_does() {
    let pg = Pg::start();
    let sb = Sandbox::new();
    pg.database("app", APP_SCHEMA_PG);
    let list = ["--format", "json", "list-users"];
    // Not trusted: verify-full refuses, naming the fix; require encrypts without verifying.
    let refused = run_pg(
        &sb,
        &pg.url("localhost", "app", "sslmode=verify-full"),
        &list,
    );
    refused.code(8).one_error_line();
    assert!(refused.err().contains("certificate"), "{}", refused.err());
    assert!(refused.err().contains("ca_file"), "{}", refused.err());
    run_pg(&sb, &pg.url("localhost", "app", "sslmode=require"), &list).ok();
    // Trusted, but the certificate names localhost and 127.0.0.1, not 127.0.0.2 (where the
    // server listens too): verify-ca accepts, verify-full does not.
    let sb = trusting(&pg);
    run_pg(
        &sb,
        &pg.url("127.0.0.1", "app", "sslmode=verify-full"),
        &list,
    )
    .ok();
    run_pg(&sb, &pg.url("127.0.0.2", "app", "sslmode=verify-ca"), &list).ok();
    let wrong_name = run_pg(
        &sb,
        &pg.url("127.0.0.2", "app", "sslmode=verify-full"),
        &list,
    );
    wrong_name.code(8).one_error_line();
    assert!(
        wrong_name.err().contains("certificate"),
        "{}",
        wrong_name.err()
    );
    // PGSSLMODE stands in for a URL without sslmode, as in libpq; a bad one is exit 8.
    let env_mode = |mode: &str| {
        let mut cmd = sb.cmd();
        cmd.env("PGPASSWORD", ROLE_PASSWORD)
            .env("PGSSLMODE", mode)
            .args([
                "--db",
                &pg.url("127.0.0.2", "app", ""),
                "--format",
                "json",
                "list-users",
            ]);
        Run::of(&mut cmd)
    };
    env_mode("verify-ca").ok();
    env_mode("verify-full").code(8).one_error_line();
    let bad = env_mode("maybe");
    bad.code(8).one_error_line();
    assert!(bad.err().contains("PGSSLMODE"), "{}", bad.err());
    // [database] url does what --db does.
    let configured = Sandbox::new();
    configured.write_config(&format!(
        "[database]\nurl = \"{}\"\nca_file = \"{}\"\n",
        pg.url("localhost", "app", "sslmode=verify-full"),
        pg.ca.display()
    ));
    let mut cmd = configured.cmd();
    cmd.env("PGPASSWORD", ROLE_PASSWORD)
        .args(["--format", "json", "list-users"]);
    Run::of(&mut cmd).ok();
    // A remote-looking host defaults to verify-full.
    let remote = run_pg(
        &sb,
        &format!("postgresql://{ROLE}@nonexistent.invalid/app"),
        &list,
    );
    remote.code(8).one_error_line();
}

#[test]
#[ignore = "needs postgresql (.ci/run installs it)"]
fn the_password_comes_from_a_file_pgpassword_or_pgpass_never_the_url() {
    let pg = Pg::start();
    let sb = trusting(&pg);
    pg.database("app", APP_SCHEMA_PG);
    let url = pg.url("localhost", "app", "sslmode=verify-full");
    let list = |sb: &Sandbox, env: &[(&str, &str)]| {
        let mut cmd = sb.cmd();
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.args(["--db", &url, "--format", "json", "list-users"]);
        Run::of(&mut cmd)
    };
    // No password anywhere: the server refuses the login; the message names where to put one.
    let refused = list(&sb, &[]);
    refused.code(8).one_error_line();
    assert!(refused.err().contains("PGPASSWORD"), "{}", refused.err());
    // PGPASSWORD.
    list(&sb, &[("PGPASSWORD", ROLE_PASSWORD)]).ok();
    // ~/.pgpass, used only while no one else may read it.
    let pgpass = sb.write(
        ".pgpass",
        format!(
            "# host:port:db:role:password\nlocalhost:{}:app:{ROLE}:{ROLE_PASSWORD}\n",
            pg.port
        ),
    );
    chmod(&pgpass, 0o644);
    list(&sb, &[]).code(8);
    chmod(&pgpass, 0o600);
    list(&sb, &[]).ok();
    // [database] password_file wins over both.
    std::fs::remove_file(&pgpass).unwrap();
    let file = sb.write("db-password", format!("{ROLE_PASSWORD}\n"));
    sb.write_config(&format!(
        "[database]\nca_file = \"{}\"\npassword_file = \"{}\"\n",
        pg.ca.display(),
        file.display()
    ));
    list(&sb, &[("PGPASSWORD", "wrong")]).ok();
    // A password in the URL is refused, and not repeated.
    let mut cmd = sb.cmd();
    cmd.args([
        "--db",
        &format!(
            "postgresql://{ROLE}:{ROLE_PASSWORD}@localhost:{}/app",
            pg.port
        ),
        "list-users",
    ]);
    let leaked = Run::of(&mut cmd);
    leaked.code(8).one_error_line();
    assert!(!leaked.err().contains(ROLE_PASSWORD), "{}", leaked.err());
    assert!(leaked.err().contains("password_file"), "{}", leaked.err());
}

/// A role that may only read: every change is exit 8 naming the GRANT it needs, before
/// anything is changed or created; a dry run and the reading commands work.
#[test]
#[ignore = "needs postgresql (.ci/run installs it)"]
fn a_role_that_may_only_read_changes_nothing_and_is_told_what_to_grant() {
    let pg = Pg::start();
    let sb = trusting(&pg);
    let mut db = pg.database("app", APP_SCHEMA_PG);
    copy_users(&sb, &mut db);
    let url = pg.url("localhost", "app", "sslmode=verify-full");
    let before: i64 = db
        .query_one(
            "SELECT count(*) FROM users WHERE totp_secret IS NOT NULL",
            &[],
        )
        .unwrap()
        .get(0);
    let png = sb.path("dave.png");
    for args in [
        &[
            "admin-reset",
            "alice",
            "--reason",
            "r",
            "--yes",
            "--no-notify",
        ][..],
        &["enroll", "dave", "--qr-png", png.to_str().unwrap()],
    ] {
        let run = run_pg(&sb, &url, args);
        run.code(8).one_error_line();
        assert!(run.err().contains("GRANT"), "{args:?}: {}", run.err());
    }
    let dry = run_pg(
        &sb,
        &url,
        &["--format", "json", "admin-reset", "alice", "--dry-run"],
    );
    assert!(dry.ok().out().contains("would_reset"), "{}", dry.out());
    run_pg(&sb, &url, &["audit"]).ok();
    run_pg(&sb, &url, &["outbox", "list"]).ok();
    let after: i64 = db
        .query_one(
            "SELECT count(*) FROM users WHERE totp_secret IS NOT NULL",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(before, after);
    let tables: i64 = db
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'twofactl%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 0, "nothing of twofactl's was created");
}

#[test]
#[ignore = "needs postgresql (.ci/run installs it)"]
fn list_users_streams_100_000_users_in_flat_memory() {
    let pg = Pg::start();
    let sb = trusting(&pg);
    let mut db = pg.database("app", APP_SCHEMA_PG);
    db.batch_execute(
        "INSERT INTO users (username, email, password_hash, totp_secret, totp_enabled)
         SELECT 'user' || lpad(i::text, 6, '0'), 'user' || i || '@example.com', 'x', 'KEY', true
         FROM generate_series(0, 99999) i",
    )
    .unwrap();
    let url = pg.url("localhost", "app", "sslmode=verify-full");
    let (exit, peak_kib) = peak_rss_env(
        &sb,
        &[("PGPASSWORD", ROLE_PASSWORD)],
        &["--db", &url, "--format", "csv", "list-users"],
    );
    assert_eq!(exit, Some(0));
    assert!(
        peak_kib < 32 * 1024,
        "list-users of 100,000 users peaked at {:.1} MiB",
        peak_kib as f64 / 1024.0
    );
}

/// Django's own `manage.py migrate` builds the django-otp tables on PostgreSQL, and Django
/// and django-otp make the users and devices (tests/fixtures/django/otp.py setup); the
/// profile lists them as django-otp sees them.
#[test]
#[ignore = "needs postgresql and python3 with django, django-otp and psycopg (.ci/run installs them)"]
fn the_django_otp_profile_works_on_what_django_made_on_postgresql() {
    let pg = Pg::start();
    let mut admin = pg.superuser("postgres").unwrap();
    admin.batch_execute("CREATE DATABASE django").unwrap();
    let django = |args: &[&str]| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/django");
        let out = StdCommand::new(crate::apps::django::python())
            .args(args)
            .current_dir(&dir)
            .env(
                "TWOFACTL_DJANGO_PG",
                format!("{} {} django", pg.socket_dir().display(), pg.port),
            )
            .env("DJANGO_SETTINGS_MODULE", "settings")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "python {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let otp = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["otp.py"];
        all.extend_from_slice(args);
        serde_json::from_str(django(&all).trim()).unwrap()
    };
    django(&["manage.py", "migrate", "--verbosity", "0"]);
    django(&["otp.py", "setup"]);
    let mut db = pg.database_exists("django");
    db.batch_execute(&format!(
        "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {ROLE}"
    ))
    .unwrap();
    let sb = Sandbox::empty();
    sb.write_config(&crate::apps::config(
        "django-otp",
        &format!("[database]\nca_file = \"{}\"\n", pg.ca.display()),
    ));
    let url = pg.url("localhost", "django", "sslmode=verify-full");
    let run = run_pg(&sb, &url, &["--format", "json", "list-users"]);
    run.ok();
    let got: Vec<(String, String, bool, String)> = run
        .json_lines()
        .iter()
        .map(|v| {
            (
                v["username"].as_str().unwrap().to_owned(),
                v["status"].as_str().unwrap().to_owned(),
                v["is_admin"].as_bool().unwrap(),
                v["email"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want = [
        ("admin", "enabled", true, "admin@example.com"),
        ("alice", "enabled", false, "alice@example.com"),
        ("bob", "enabled", false, "bob@example.com"),
        ("carol", "pending", false, "carol@example.com"),
        ("dave", "disabled", false, ""),
    ]
    .map(|(u, s, a, e)| (u.to_owned(), s.to_owned(), a, e.to_owned()));
    assert_eq!(got, want);
    // The role may only read: doctor names the rights a change needs (exit 8).
    let doctor = run_pg(&sb, &url, &["doctor"]);
    doctor.code(8);
    assert!(
        doctor.out().contains("profile django-otp"),
        "{}",
        doctor.out()
    );

    // With the rights a change needs, a key twofactl enrolls on PostgreSQL is one
    // django-otp accepts, and a reset leaves django-otp no device of the user's.
    db.batch_execute(&format!(
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {ROLE};
         GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {ROLE};
         GRANT CREATE ON SCHEMA public TO {ROLE};"
    ))
    .unwrap();
    let png = sb.path("dave.png");
    run_pg(
        &sb,
        &url,
        &["enroll", "dave", "--qr-png", png.to_str().unwrap()],
    )
    .ok();
    let key: String = db
        .query_one(
            "SELECT secret FROM twofactl_pending_keys
             WHERE user_id = (SELECT id::text FROM auth_user WHERE username = 'dave')",
            &[],
        )
        .unwrap()
        .get(0);
    crate::enroll::settle();
    let code = crate::enroll::totp_at(&key, crate::self_service::now());
    run_pg(&sb, &url, &["enroll", "dave", "--code", &code]).ok();
    let answer = otp(&["verify", "dave", &code]);
    assert_eq!(answer["accepted"].as_array().unwrap().len(), 1, "{answer}");
    assert_eq!(otp(&["devices", "alice"])["static_tokens"], 3);
    run_pg(
        &sb,
        &url,
        &[
            "admin-reset",
            "alice",
            "--reason",
            "r",
            "--yes",
            "--no-notify",
        ],
    )
    .ok();
    assert_eq!(
        otp(&["devices", "alice"]),
        serde_json::json!({"devices": [], "static_tokens": 0})
    );
    let bob = otp(&["devices", "bob"]);
    assert_eq!(bob["devices"].as_array().unwrap().len(), 2, "{bob}");
}

/// PostgreSQL tables for the tables of an SQLite database: each declared type mapped to the
/// PostgreSQL type of its affinity (SQLite's rules: INT -> bigint; CHAR, CLOB, TEXT -> text;
/// BLOB -> bytea; REAL, FLOA, DOUB -> double precision), BOOL -> boolean, anything else text;
/// NOT NULL and primary keys kept. Returns the DDL and the tables' names.
pub fn pg_schema(conn: &rusqlite::Connection) -> (String, Vec<String>) {
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let mut ddl = String::new();
    for t in &tables {
        let cols: Vec<(String, String, bool, i64)> = conn
            .prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1)")
            .unwrap()
            .query_map([t], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let mut defs: Vec<String> = cols
            .iter()
            .map(|(name, decl, not_null, _)| {
                let d = decl.to_ascii_uppercase();
                let ty = if d.contains("BOOL") {
                    "boolean"
                } else if d.contains("INT") {
                    "bigint"
                } else if d.contains("BLOB") {
                    "bytea"
                } else if ["REAL", "FLOA", "DOUB"].iter().any(|x| d.contains(x)) {
                    "double precision"
                } else {
                    "text"
                };
                format!(
                    "\"{name}\" {ty}{}",
                    if *not_null { " NOT NULL" } else { "" }
                )
            })
            .collect();
        let mut pk: Vec<&(String, String, bool, i64)> = cols.iter().filter(|c| c.3 > 0).collect();
        pk.sort_by_key(|c| c.3);
        if !pk.is_empty() {
            let names: Vec<String> = pk.iter().map(|c| format!("\"{}\"", c.0)).collect();
            defs.push(format!("PRIMARY KEY ({})", names.join(", ")));
        }
        ddl.push_str(&format!("CREATE TABLE \"{t}\" ({});\n", defs.join(", ")));
    }
    (ddl, tables)
}

/// Every profile's fixture (tests/fixtures/apps/*.sql with the rows its tests insert) moved
/// to PostgreSQL (tables from [`pg_schema`], the same rows): list-users prints exactly what it
/// prints on SQLite, in every format and filter. This runs each path of the seam's
/// PostgreSQL dialect: a role or a group as administrator, an e-mail preference, keys in rows
/// with a kind and a state, integer, text and uuid ids.
#[test]
#[ignore = "needs postgresql (.ci/run installs it)"]
fn every_profile_lists_the_same_users_on_postgresql_as_on_sqlite() {
    let pg = Pg::start();
    for (name, sqlite) in profiles() {
        let (_, _, sb) = on_postgresql(&pg, name, &sqlite);
        let url = pg.url("localhost", name, "sslmode=verify-full");
        assert_same_listing(&sqlite, &sb, &url, "A");
        let listed = run_pg(&sb, &url, &["--format", "json", "list-users"]);
        assert!(!listed.json_lines().is_empty(), "{name}");
    }
}

/// Every profile's SQLite fixture, by the name of its PostgreSQL database.
pub fn profiles() -> Vec<(&'static str, Sandbox)> {
    use crate::apps;
    vec![
        ("kanboard", apps::kanboard::kanboard()),
        ("wallabag", apps::wallabag::wallabag()),
        ("wallabag26", apps::wallabag::wallabag_2_6()),
        ("vaultwarden", apps::vaultwarden::vaultwarden()),
        ("nextcloud", apps::nextcloud::nextcloud()),
        ("django", apps::django::django()),
        ("accounts", apps::generic::accounts()),
    ]
}

/// A profile's SQLite fixture moved to PostgreSQL database `name` (tables from
/// [`pg_schema`], the same rows, the role granted SELECT): a session on it, its tables, and a
/// sandbox with the fixture's configuration trusting the test CA.
pub fn on_postgresql(pg: &Pg, name: &str, sqlite: &Sandbox) -> (Client, Vec<String>, Sandbox) {
    let conn = sqlite.conn();
    let (ddl, tables) = pg_schema(&conn);
    let mut client = pg.database(name, &ddl);
    let names: Vec<&str> = tables.iter().map(String::as_str).collect();
    copy_tables(&conn, &mut client, &names);
    let sb = Sandbox::empty();
    sb.write_config(&format!(
        "{}\n[database]\nca_file = \"{}\"\n",
        std::fs::read_to_string(&sqlite.config).unwrap(),
        pg.ca.display()
    ));
    (client, tables, sb)
}
