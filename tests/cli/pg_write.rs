//! Changes on PostgreSQL: every command that writes, run on a throwaway cluster (see
//! `pg::Pg`) with the role granted what a change needs, and checked against the same run on
//! SQLite where the two must agree: the application's rows, the output, the audit log. The
//! database-level guarantees are shown on PostgreSQL as the SQLite suite shows them:
//! all-or-nothing, a held lock (exit 7), SIGKILL in the middle of a 100,000-user reset,
//! hostile names, and notifications sent exactly once.

use std::process::Stdio;
use std::time::{Duration, Instant};

use postgres::Client;
use serde_json::Value;

use crate::enroll::{settle, totp_at};
use crate::pg::{APP_SCHEMA_PG, Pg, ROLE, ROLE_PASSWORD, copy_tables, run_pg, trusting_with};
use crate::self_service::{PASSWORD, code_in, mail_config, password_hash};
use crate::smtp::{Options, Server};
use crate::support::*;

/// The sample application on PostgreSQL, with the rows of `sb` (users, sessions,
/// settings), and the role granted what twofactl's changes need: SELECT, UPDATE and DELETE
/// on the application's tables, CREATE on the schema for twofactl's own.
fn writable_app(pg: &Pg, sb: &Sandbox) -> Client {
    let mut db = pg.database("app", APP_SCHEMA_PG);
    copy_tables(&sb.conn(), &mut db, &["users", "sessions", "settings"]);
    db.batch_execute(&grant_changes()).unwrap();
    db
}

/// SQL granting the role what twofactl's changes need on the sample application and the
/// profiles' fixtures: SELECT, UPDATE and DELETE on the tables, CREATE on the schema for
/// twofactl's own.
fn grant_changes() -> String {
    format!(
        "GRANT SELECT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {ROLE};
         GRANT CREATE ON SCHEMA public TO {ROLE};"
    )
}

/// A sandbox trusting the test CA, with more `[database]` keys, and `config` (TOML) after
/// its `[database]` table.
fn sandbox(pg: &Pg, database: &str, config: &str) -> Sandbox {
    let sb = trusting_with(pg, database);
    let text = std::fs::read_to_string(&sb.config).unwrap();
    let database: String = text.split("\n\n").next().unwrap().to_owned();
    sb.write_config(&format!("{database}\n\n{config}"));
    sb
}

/// The users as (username, key, enabled, sessions), in id order, from SQLite.
fn users_sqlite(sb: &Sandbox) -> Vec<(String, String, bool, i64)> {
    sb.conn()
        .prepare(
            "SELECT username, coalesce(totp_secret, ''), totp_enabled,
                    (SELECT count(*) FROM sessions s WHERE s.user_id = u.id)
             FROM users u ORDER BY id",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? != 0, r.get(3)?))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// [`users_sqlite`] from PostgreSQL.
fn users_pg(db: &mut Client) -> Vec<(String, String, bool, i64)> {
    db.query(
        "SELECT username, coalesce(totp_secret, ''), totp_enabled,
                (SELECT count(*) FROM sessions s WHERE s.user_id = u.id)
         FROM users u ORDER BY id",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    .collect()
}

/// JSON lines without their times (which differ between two runs): `time` dropped, and
/// the times of list-users as `"set"` or null.
fn timeless(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if let Some(o) = v.as_object_mut() {
                o.remove("time");
                for key in ["last_2fa_change", "reset_open_until"] {
                    if let Some(t) = o.get_mut(key).filter(|t| !t.is_null()) {
                        *t = Value::from("set");
                    }
                }
            }
            v
        })
        .collect()
}

/// The `list-users` JSON line of `user`.
fn listed(sb: &Sandbox, url: &str, user: &str) -> Value {
    let run = run_pg(
        sb,
        url,
        &["--format", "json", "list-users", "--match", user],
    );
    run.ok()
        .json_lines()
        .into_iter()
        .find(|v| v["username"] == user)
        .unwrap_or_else(|| panic!("{user} is not listed: {}", run.out()))
}

/// `twofactl admin-reset` on both engines: the same output, the same users after, the same
/// audit log.
#[test]
#[ignore = "needs postgresql (.ci/run installs it)"]
fn admin_reset_on_postgresql_does_what_it_does_on_sqlite() {
    let pg = Pg::start();
    let sb = sandbox(&pg, "", "");
    let mut db = writable_app(&pg, &sb);
    let url = pg.url("localhost", "app", "sslmode=verify-full");
    assert_eq!(
        users_pg(&mut db),
        users_sqlite(&sb),
        "the same users to start"
    );
    let list = sb.write(
        "list.txt",
        "alice\nFRANK@example.org\ncarol\ndave\nghost\nalice@example.com\n",
    );
    let runs: [&[&str]; 4] = [
        &[
            "--format",
            "json",
            "admin-reset",
            "bob",
            "--reason",
            "lost phone",
            "--yes",
            "--no-notify",
        ],
        &[
            "--format",
            "json",
            "admin-reset",
            "--from-file",
            list.to_str().unwrap(),
            "--skip-missing",
            "--dry-run",
        ],
        &[
            "--format",
            "json",
            "admin-reset",
            "--from-file",
            list.to_str().unwrap(),
            "--skip-missing",
            "--reason",
            "phones lost",
            "--yes",
            "--no-notify",
        ],
        &[
            "--format",
            "json",
            "admin-reset",
            "root",
            "--allow-admin",
            "--reason",
            "r",
            "--yes",
            "--no-notify",
        ],
    ];
    for args in runs {
        let want = sb.run(args);
        want.ok();
        let got = run_pg(&sb, &url, args);
        got.ok();
        assert_eq!(got.out(), want.out(), "{args:?}");
        assert_eq!(users_pg(&mut db), users_sqlite(&sb), "after {args:?}");
    }
    let cleared = users_pg(&mut db)
        .iter()
        .filter(|(_, key, on, _)| key.is_empty() && !on)
        .count();
    assert_eq!(
        cleared,
        7,
        "every user named is clear: {:?}",
        users_pg(&mut db)
    );
    let audit = ["--format", "json", "audit"];
    let want = sb.run(audit);
    let got = run_pg(&sb, &url, &audit);
    assert_eq!(timeless(&got.ok().out()), timeless(&want.ok().out()));
    // list-users reads twofactl's tables there too: the last change of each user reset.
    let list = ["--format", "json", "list-users"];
    let (want_list, got_list) = (sb.run(list), run_pg(&sb, &url, &list));
    assert_eq!(
        timeless(&got_list.ok().out()),
        timeless(&want_list.ok().out())
    );
    let changed = timeless(&got_list.out())
        .iter()
        .filter(|v| v["last_2fa_change"] == "set")
        .count();
    assert_eq!(changed, 5, "{}", got_list.out());
    assert_eq!(timeless(&got.out()).len(), 6, "{}", got.out());
    // twofactl's tables are the role's, beside the application's, at their version.
    let owner: String = db
        .query_one(
            "SELECT tableowner::text FROM pg_tables WHERE tablename = 'twofactl_audit'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(owner, ROLE);
}

/// A list naming someone who is no user, or an administrator, stops before any change, on
/// PostgreSQL as on SQLite: exit 4 or 2, and every row as it was.
#[test]
#[ignore = "needs postgresql (.ci/run installs it)"]
fn a_list_that_cannot_be_done_whole_changes_nothing_on_postgresql() {
    let pg = Pg::start();
    let sb = sandbox(&pg, "", "");
    let mut db = writable_app(&pg, &sb);
    let url = pg.url("localhost", "app", "");
    let before = users_pg(&mut db);
    let missing = sb.write("missing.txt", "alice\nbob\nnobody\n");
    let admins = sb.write("admins.txt", "alice\nroot\n");
    for (file, code) in [(&missing, 4), (&admins, 2)] {
        let args = [
            "admin-reset",
            "--from-file",
            file.to_str().unwrap(),
            "--reason",
            "r",
            "--yes",
            "--no-notify",
        ];
        let want = sb.run(args);
        want.code(code);
        let got = run_pg(&sb, &url, &args);
        got.code(code).one_error_line();
        assert_eq!(got.err(), want.err());
        assert_eq!(users_pg(&mut db), before);
    }
    let audit: i64 = db
        .query_one(
            "SELECT count(*) FROM twofactl_audit WHERE outcome = 'reset'",
            &[],
        )
        .map(|r| r.get(0))
        .unwrap_or(0);
    assert_eq!(audit, 0);
}

/// Names are values, never SQL, on PostgreSQL too: quotes, parameters in both engines'
/// styles, a semicolon and a comment are names that are no user.
#[test]
#[ignore = "needs postgresql (.ci/run installs it)"]
fn hostile_names_are_only_names_on_postgresql() {
    let pg = Pg::start();
    let sb = sandbox(&pg, "", "");
    let mut db = writable_app(&pg, &sb);
    let url = pg.url("localhost", "app", "");
    let before = users_pg(&mut db);
    let names = [
        "alice'; DROP TABLE users; --",
        "\"users\"",
        "$1",
        ":name",
        "?1",
        "' OR '1'='1",
        "bob\\",
        "ｂｏｂ",
        "carol@example.com' OR 'x'='x",
        "/* */ root",
    ];
    let list = sb.write("hostile.txt", names.join("\n"));
    let run = run_pg(
        &sb,
        &url,
        &[
            "--format",
            "json",
            "admin-reset",
            "--from-file",
            list.to_str().unwrap(),
            "--skip-missing",
            "--reason",
            "r",
            "--yes",
            "--no-notify",
        ],
    );
    run.ok();
    let lines = run.json_lines();
    let results: Vec<(&str, &str)> = lines
        .iter()
        .filter_map(|v| Some((v["username"].as_str()?, v["outcome"].as_str()?)))
        .collect();
    assert_eq!(results.len(), names.len(), "{}", run.out());
    for ((name, result), want) in results.iter().zip(names) {
        assert_eq!((*name, *result), (want, "missing"));
    }
    assert_eq!(users_pg(&mut db), before);
}

/// A row of the application held locked by another transaction: exit 7 within the busy
/// timeout (PostgreSQL's lock_timeout), nothing changed, and the run after it works.
#[test]
#[ignore = "needs postgresql (.ci/run installs it)"]
fn a_held_row_lock_is_exit_7_and_changes_nothing() {
    let pg = Pg::start();
    let sb = sandbox(&pg, "busy_timeout = \"1s\"\n", "");
    let mut db = writable_app(&pg, &sb);
    let url = pg.url("localhost", "app", "");
    let before = users_pg(&mut db);
    let mut holder = pg.superuser("app").unwrap();
    let mut tx = holder.transaction().unwrap();
    tx.execute(
        "SELECT 1 FROM users WHERE username = 'alice' FOR UPDATE",
        &[],
    )
    .unwrap();
    let args = [
        "admin-reset",
        "bob",
        "alice",
        "--reason",
        "r",
        "--yes",
        "--no-notify",
    ];
    let started = Instant::now();
    let run = run_pg(&sb, &url, &args);
    run.code(7).one_error_line();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(users_pg(&mut db), before, "bob is not reset without alice");
    tx.rollback().unwrap();
    run_pg(&sb, &url, &args).ok();
    assert_ne!(users_pg(&mut db), before);
}

/// Ctrl-C or SIGKILL while 100,000 users are being reset: the reset is one transaction, so
/// it is there whole or not at all; the writers' lock ends with the transaction or the
/// process, and the next run does the whole reset.
#[test]
#[ignore = "needs postgresql (.ci/run installs it)"]
fn ctrl_c_or_sigkill_during_a_100_000_user_reset_leaves_nothing() {
    const N: i64 = 100_000;
    let pg = Pg::start();
    let sb = sandbox(&pg, "", "");
    let mut db = pg.database("app", APP_SCHEMA_PG);
    db.batch_execute(&format!(
        "INSERT INTO users (username, email, password_hash, totp_secret, totp_enabled)
         SELECT 'user' || lpad(i::text, 6, '0'), 'user' || i || '@example.com', 'x', 'KEY', true
         FROM generate_series(1, {N}) i;
         INSERT INTO sessions (id, user_id) SELECT 's' || id, id FROM users;
         {}",
        grant_changes()
    ))
    .unwrap();
    let names: String = (1..=N).map(|i| format!("user{i:06}\n")).collect();
    let list = sb.write("all.txt", names);
    let url = pg.url("localhost", "app", "");
    let args = [
        "--db",
        url.as_str(),
        "admin-reset",
        "--from-file",
        list.to_str().unwrap(),
        "--reason",
        "r",
        "--yes",
        "--no-notify",
    ];
    let cleared = |db: &mut Client| -> i64 {
        db.query_one("SELECT count(*) FROM users WHERE totp_secret IS NULL", &[])
            .unwrap()
            .get(0)
    };
    // Ctrl-C (SIGINT), then SIGKILL, once the reset has changed rows of the users table (it
    // holds the table's ROW EXCLUSIVE lock from its first UPDATE until it commits): in the
    // middle of the reset. Ctrl-C rolls back and exits 130; SIGKILL leaves the rollback to
    // the server. Either way nothing is left, and the writers' lock is free again.
    let mut watcher = pg.superuser("app").unwrap();
    for (signal, exit) in [("INT", Some(130)), ("KILL", None)] {
        let mut child = sb.std_cmd();
        let mut child = child
            .env("PGPASSWORD", ROLE_PASSWORD)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let writing: i64 = watcher
                .query_one(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                     WHERE c.relname = 'users' AND l.mode = 'RowExclusiveLock' AND l.granted
                       AND l.pid <> pg_backend_pid()",
                    &[],
                )
                .unwrap()
                .get(0);
            if writing > 0 {
                break;
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "the reset ended before it was seen changing rows"
            );
            assert!(
                Instant::now() < deadline,
                "the reset never began changing rows"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let sent = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), exit, "after SIG{signal}");
        assert_eq!(
            cleared(&mut db),
            0,
            "a reset stopped by SIG{signal} before its commit left nothing"
        );
        let audit: i64 = db
            .query_one("SELECT count(*) FROM twofactl_audit", &[])
            .map(|r| r.get(0))
            .unwrap_or(0);
        assert_eq!(audit, 0);
    }
    let run = run_pg(&sb, &url, &args[2..]);
    run.ok();
    assert_eq!(cleared(&mut db), N);
    let sessions: i64 = db
        .query_one("SELECT count(*) FROM sessions", &[])
        .unwrap()
        .get(0);
    assert_eq!(sessions, 0);
    let audit: i64 = db
        .query_one(
            "SELECT count(*) FROM twofactl_audit WHERE outcome = 'reset'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(audit, N, "one audit row per user, from one run only");
}

/// Notifications that could not be sent stay in the outbox on PostgreSQL, and `outbox send`
/// delivers each exactly once, however often it is run.
#[test]
#[ignore = "needs postgresql (.ci/run installs it)"]
fn notifications_go_out_exactly_once_from_the_postgresql_outbox() {
    let pg = Pg::start();
    let server = Server::start(Options::default());
    let sb = sandbox(&pg, "", &mail_config(server.port, ""));
    let mut db = writable_app(&pg, &sb);
    let url = pg.url("localhost", "app", "");
    server.set_fail_after(Some(0));
    let run = run_pg(
        &sb,
        &url,
        &[
            "admin-reset",
            "alice",
            "bob",
            "--reason",
            "lost phones",
            "--yes",
        ],
    );
    run.code(6);
    assert_eq!(server.messages().len(), 0);
    let cleared = users_pg(&mut db)
        .iter()
        .filter(|u| u.0 == "alice" || u.0 == "bob")
        .all(|u| u.1.is_empty());
    assert!(cleared, "the reset is committed before any mail");
    let list = run_pg(&sb, &url, &["--format", "json", "outbox", "list"]);
    assert_eq!(list.ok().json_lines().len(), 2, "{}", list.out());
    server.set_fail_after(None);
    for _ in 0..3 {
        run_pg(&sb, &url, &["outbox", "send"]).ok();
    }
    let to: Vec<String> = server
        .messages()
        .iter()
        .flat_map(|m| m.rcpt_to.clone())
        .collect();
    assert_eq!(
        sorted(&to.iter().map(String::as_str).collect::<Vec<_>>()),
        ["alice@example.com", "bob@example.com"]
    );
    let list = run_pg(&sb, &url, &["--format", "json", "outbox", "list"]);
    assert_eq!(list.ok().json_lines().len(), 0, "{}", list.out());
}

/// The self-service reset end to end on PostgreSQL: the password checked, the code e-mailed
/// over SMTP and verified, a new key enrolled and confirmed with a code from it.
#[test]
#[ignore = "needs postgresql (.ci/run installs it)"]
fn the_self_service_reset_runs_end_to_end_on_postgresql() {
    let pg = Pg::start();
    let server = Server::start(Options::default());
    let sb = sandbox(&pg, "", &mail_config(server.port, ""));
    let mut db = writable_app(&pg, &sb);
    db.execute("UPDATE users SET password_hash = $1", &[&password_hash()])
        .unwrap();
    let url = pg.url("localhost", "app", "");
    // A wrong password is counted in the database, and changes nothing else.
    let wrong = stdin_run(
        &sb,
        &url,
        &["request-reset", "alice", "--password-stdin"],
        "nope\n",
    );
    wrong.code(3);
    assert_eq!(server.messages().len(), 0);
    stdin_run(
        &sb,
        &url,
        &["request-reset", "alice", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    )
    .ok();
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let code = code_in(&messages[0]);
    assert!(
        listed(&sb, &url, "alice")["reset_open_until"].is_string(),
        "the open request is listed"
    );
    let png = sb.path("alice.png");
    stdin_run(
        &sb,
        &url,
        &[
            "verify",
            "alice",
            "--code-stdin",
            "--enroll",
            "--qr-png",
            png.to_str().unwrap(),
        ],
        &format!("{code}\n"),
    )
    .ok();
    let key: String = db
        .query_one(
            "SELECT secret FROM twofactl_pending_keys WHERE user_id = (SELECT id::text FROM users WHERE username = 'alice')",
            &[],
        )
        .unwrap()
        .get(0);
    let alice = |db: &mut Client| -> (Option<String>, bool, i64) {
        let r = db
            .query_one(
                "SELECT totp_secret, totp_enabled, (SELECT count(*) FROM sessions s WHERE s.user_id = u.id)
                 FROM users u WHERE username = 'alice'",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(
        alice(&mut db),
        (None, false, 0),
        "the verified code reset alice's 2FA"
    );
    let after = listed(&sb, &url, "alice");
    assert_eq!(
        after["status"], "pending",
        "the new key waits in twofactl's table: {after}"
    );
    assert!(after["reset_open_until"].is_null(), "{after}");
    assert!(after["last_2fa_change"].is_string(), "{after}");
    settle();
    let now = crate::self_service::now();
    stdin_run(
        &sb,
        &url,
        &["enroll", "alice", "--code-stdin"],
        &format!("{}\n", totp_at(&key, now)),
    )
    .ok();
    assert_eq!(alice(&mut db), (Some(key), true, 0));
    let actions: Vec<String> = db
        .query(
            "SELECT action || ':' || outcome FROM twofactl_audit WHERE username = 'alice' ORDER BY id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(actions.len() >= 4, "{actions:?}");
    // The code is kept only as a hash, and no secret is in the audit log.
    let leaks: i64 = db
        .query_one(
            "SELECT count(*) FROM twofactl_audit WHERE concat_ws(' ', reason, detail, outcome) LIKE '%' || $1 || '%'",
            &[&code],
        )
        .unwrap()
        .get(0);
    assert_eq!(leaks, 0);
}

/// Run with `stdin` on PostgreSQL.
fn stdin_run(sb: &Sandbox, url: &str, args: &[&str], stdin: &str) -> Run {
    let mut cmd = sb.cmd();
    cmd.env("PGPASSWORD", ROLE_PASSWORD)
        .arg("--db")
        .arg(url)
        .args(args)
        .write_stdin(stdin.as_bytes().to_vec());
    Run::of(&mut cmd)
}

/// A table's rows as sorted lists of `column=value`, values written the same way from either
/// engine (booleans as 1 and 0, bytes as `\x` hex); UUIDs, made at random by a reset
/// (Vaultwarden's security stamp), as `<uuid>`.
type Dump = Vec<Vec<String>>;

fn masked(s: String) -> String {
    let b = s.as_bytes();
    let uuid = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    if uuid { "<uuid>".to_owned() } else { s }
}

fn dump_sqlite(conn: &rusqlite::Connection, table: &str) -> Dump {
    use rusqlite::types::ValueRef;
    let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
    let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    let mut rows = stmt.query([]).unwrap();
    let mut out = Vec::new();
    while let Some(r) = rows.next().unwrap() {
        let mut row: Vec<String> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let v = match r.get_ref(i).unwrap() {
                    ValueRef::Null => "NULL".to_owned(),
                    ValueRef::Integer(x) => x.to_string(),
                    ValueRef::Real(f) => f.to_string(),
                    ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    ValueRef::Blob(b) => format!("\\x{}", crate::pg::hex(b)),
                };
                format!("{n}={}", masked(v))
            })
            .collect();
        row.sort();
        out.push(row);
    }
    out.sort();
    out
}

fn dump_pg(db: &mut Client, table: &str) -> Dump {
    let mut out: Dump = db
        .query(
            &format!("SELECT row_to_json(t)::text FROM \"{table}\" t"),
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| {
            let obj: serde_json::Map<String, Value> =
                serde_json::from_str(&r.get::<_, String>(0)).unwrap();
            let mut row: Vec<String> = obj
                .into_iter()
                .map(|(n, v)| {
                    let v = match v {
                        Value::Null => "NULL".to_owned(),
                        Value::Bool(b) => i64::from(b).to_string(),
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    format!("{n}={}", masked(v))
                })
                .collect();
            row.sort();
            row
        })
        .collect();
    out.sort();
    out
}

/// Every profile's reset on PostgreSQL changes the application's tables exactly as it
/// changes them on SQLite: each fixture copied to PostgreSQL, every user with 2FA reset from
/// a list on both, and every table compared row by row. This runs each of the seam's reset
/// statements in PostgreSQL's dialect: key columns and key rows, a kind and a state,
/// dependent rows, a per-row UUID, sessions, with integer, text and uuid ids.
#[test]
#[ignore = "needs postgresql (.ci/run installs it)"]
fn every_profile_resets_the_same_on_postgresql_as_on_sqlite() {
    let pg = Pg::start();
    for (name, sqlite) in crate::pg::profiles() {
        let (mut client, tables, sb) = crate::pg::on_postgresql(&pg, name, &sqlite);
        client.batch_execute(&grant_changes()).unwrap();
        let url = pg.url("localhost", name, "");
        assert_same_reset(name, &sqlite, &sb, &url, &mut client, &tables);
    }
}

/// Reset every user of `sqlite` whose 2FA is not clear, from a list, there and on
/// PostgreSQL (`url`, through `sb`, holding the same rows): the same output, the same rows
/// in every one of `tables`, the same audit log.
#[track_caller]
fn assert_same_reset(
    name: &str,
    sqlite: &Sandbox,
    sb: &Sandbox,
    url: &str,
    client: &mut Client,
    tables: &[String],
) {
    let listed = sqlite.run(["--format", "json", "list-users"]);
    let users: Vec<String> = listed
        .ok()
        .json_lines()
        .iter()
        .filter(|v| v["status"] != "disabled")
        .map(|v| v["username"].as_str().unwrap().to_owned())
        .collect();
    assert!(users.len() >= 2, "{name}: {}", listed.out());
    let list = sb.write("list.txt", users.join("\n"));
    let args = [
        "--format",
        "json",
        "admin-reset",
        "--from-file",
        list.to_str().unwrap(),
        "--allow-admin",
        "--reason",
        "r",
        "--yes",
        "--no-notify",
    ];
    let want = sqlite.run(args);
    want.ok();
    let got = run_pg(sb, url, &args);
    got.ok();
    assert_eq!(got.out(), want.out(), "{name}");
    let conn = sqlite.conn();
    for table in tables {
        // The columns PostgreSQL's table has (a fixture may hold only those twofactl uses).
        let columns: Vec<String> = client
            .query(
                "SELECT column_name::text FROM information_schema.columns WHERE table_name = $1",
                &[table],
            )
            .unwrap()
            .iter()
            .map(|r| format!("{}=", r.get::<_, String>(0)))
            .collect();
        let mut want = dump_sqlite(&conn, table);
        for row in &mut want {
            row.retain(|c| columns.iter().any(|p| c.starts_with(p.as_str())));
        }
        assert_eq!(dump_pg(client, table), want, "{name}: table {table}");
    }
    let audit = ["--format", "json", "audit"];
    assert_eq!(
        timeless(&run_pg(sb, url, &audit).ok().out()),
        timeless(&sqlite.run(audit).ok().out()),
        "{name}"
    );
}

/// Gitea on PostgreSQL, in xorm's types there (BIGSERIAL ids, BOOL flags, VARCHAR text):
/// its reset changes the same rows as on SQLite.
#[test]
#[ignore = "needs postgresql (.ci/run installs it)"]
fn the_gitea_profile_resets_the_same_on_postgresql_as_on_sqlite() {
    let pg = Pg::start();
    let sqlite = crate::apps::gitea::gitea();
    let mut db = pg.database("gitea", include_str!("../fixtures/postgres/gitea.sql"));
    let tables = ["user".to_owned(), "two_factor".to_owned()];
    copy_tables(&sqlite.conn(), &mut db, &["user", "two_factor"]);
    db.batch_execute(&grant_changes()).unwrap();
    let sb = Sandbox::empty();
    sb.write_config(&crate::apps::config(
        "gitea",
        &format!("[database]\nca_file = \"{}\"\n", pg.ca.display()),
    ));
    let url = pg.url("localhost", "gitea", "");
    assert_same_reset("gitea", &sqlite, &sb, &url, &mut db, &tables);
}

/// The application commits a change to a user's row while admin-reset waits for that row's
/// lock: the reset's snapshot is then stale, PostgreSQL refuses it whole (a serialization
/// error), and admin-reset starts again on the application's new state: every user reset
/// once, the application's change kept, one audit row each.
#[test]
#[ignore = "needs postgresql (.ci/run installs it)"]
fn a_user_changed_by_the_application_meanwhile_restarts_the_reset_on_its_new_state() {
    let pg = Pg::start();
    let sb = sandbox(&pg, "busy_timeout = \"30s\"\n", "");
    let mut db = writable_app(&pg, &sb);
    let url = pg.url("localhost", "app", "");
    let mut app = pg.superuser("app").unwrap();
    let mut tx = app.transaction().unwrap();
    tx.execute(
        "UPDATE users SET email = 'alice@new.example.com' WHERE username = 'alice'",
        &[],
    )
    .unwrap();
    let mut child = sb.std_cmd();
    let mut child = child
        .env("PGPASSWORD", ROLE_PASSWORD)
        .args(["--verbose", "--db", &url])
        .args([
            "admin-reset",
            "bob",
            "alice",
            "--reason",
            "r",
            "--yes",
            "--no-notify",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until admin-reset waits for alice's row.
    wait_for_a_lock_wait(&pg, &mut child);
    tx.commit().unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("started again"), "{err}");
    let alice: (Option<String>, String) = db
        .query_one(
            "SELECT totp_secret, email FROM users WHERE username = 'alice'",
            &[],
        )
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!(alice, (None, "alice@new.example.com".to_owned()));
    let audit: Vec<String> = db
        .query("SELECT username FROM twofactl_audit ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(audit, ["bob", "alice"]);
}

/// The limits are counted in the PostgreSQL database, across runs and between runs at the
/// same time: wrong passwords lock the user (even the right password is then refused, and
/// no mail goes out), and six request-reset runs started together with one request allowed
/// per hour e-mail exactly one code.
#[test]
#[ignore = "needs postgresql (.ci/run installs it)"]
fn limits_hold_across_runs_and_between_runs_at_once_on_postgresql() {
    let pg = Pg::start();
    let server = Server::start(Options::default());
    let sb = sandbox(
        &pg,
        "",
        &mail_config(
            server.port,
            "[reset]\nmax_password_failures = 3\nlockout = \"15m\"\nmax_requests_per_hour = 1\n",
        ),
    );
    let mut db = writable_app(&pg, &sb);
    db.execute("UPDATE users SET password_hash = $1", &[&password_hash()])
        .unwrap();
    let url = pg.url("localhost", "app", "");
    let request = |user: &str, password: &str| {
        stdin_run(
            &sb,
            &url,
            &["request-reset", user, "--password-stdin"],
            &format!("{password}\n"),
        )
    };
    for _ in 0..3 {
        request("alice", "wrong").code(3);
    }
    request("alice", PASSWORD)
        .code(5)
        .stderr_contains("locked")
        .never_shows(PASSWORD);
    assert!(server.messages().is_empty());

    let mut children: Vec<_> = (0..6)
        .map(|_| {
            let mut cmd = sb.std_cmd();
            cmd.env("PGPASSWORD", ROLE_PASSWORD)
                .args(["--db", &url, "request-reset", "bob", "--password-stdin"])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in &mut children {
        let mut stdin = child.stdin.take().unwrap();
        std::io::Write::write_all(&mut stdin, format!("{PASSWORD}\n").as_bytes()).unwrap();
    }
    let mut codes: Vec<Option<i32>> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap().status.code())
        .collect();
    codes.sort();
    assert_eq!(
        codes,
        [Some(0), Some(5), Some(5), Some(5), Some(5), Some(5)]
    );
    assert_eq!(server.messages().len(), 1);
    let states: Vec<String> = db
        .query(
            "SELECT state FROM twofactl_reset_requests
             WHERE user_id = (SELECT id::text FROM users WHERE username = 'bob')",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(states, ["open"]);
}

/// An enrolment waits for the application's own write to the user's row, then reads the
/// row as the application left it and goes on (READ COMMITTED, the row locked FOR UPDATE):
/// no error to retry.
#[test]
#[ignore = "needs postgresql (.ci/run installs it)"]
fn an_enrolment_waits_for_the_applications_write_to_the_user() {
    let pg = Pg::start();
    let sb = sandbox(
        &pg,
        "busy_timeout = \"30s\"\n",
        "[mail]\ntransport = \"file\"\nfile_dir = \"outbox\"\nfrom = \"twofactl@example.com\"\n",
    );
    let mut db = writable_app(&pg, &sb);
    let url = pg.url("localhost", "app", "");
    let mut app = pg.superuser("app").unwrap();
    let mut tx = app.transaction().unwrap();
    tx.execute(
        "UPDATE users SET email = 'dave@new.example.com' WHERE username = 'dave'",
        &[],
    )
    .unwrap();
    let png = sb.path("dave.png");
    let mut cmd = sb.std_cmd();
    let mut child = cmd
        .env("PGPASSWORD", ROLE_PASSWORD)
        .args(["--db", &url, "enroll", "dave", "--qr-png"])
        .arg(&png)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_a_lock_wait(&pg, &mut child);
    assert!(!png.exists(), "no key is shown before the row is read");
    tx.commit().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(png.exists());
    let pending: i64 = db
        .query_one("SELECT count(*) FROM twofactl_pending_keys", &[])
        .unwrap()
        .get(0);
    assert_eq!(pending, 1);
}

/// Wait until a session of the role waits for a lock (on a row another transaction holds),
/// while `child`, the twofactl run, is still running.
#[track_caller]
fn wait_for_a_lock_wait(pg: &Pg, child: &mut std::process::Child) {
    let mut watcher = pg.superuser("app").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let waiting: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE usename = $1 AND wait_event_type = 'Lock'",
                &[&ROLE],
            )
            .unwrap()
            .get(0);
        if waiting > 0 {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("twofactl ended ({status}) without waiting for the row");
        }
        assert!(
            Instant::now() < deadline,
            "twofactl never waited for the row"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
