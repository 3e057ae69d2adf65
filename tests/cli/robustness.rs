//! The application running beside twofactl (its write lock: waited for, or exit 7 past the
//! busy timeout), a kill or Ctrl-C in the middle of a bulk reset (all or nothing), and the
//! application's schema and `user_version` surviving every command.

use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::support::*;

/// Hold the application's write lock (`BEGIN IMMEDIATE`) for `hold`, from another
/// connection on another thread. The lock is taken before this returns.
fn hold_write_lock(sb: &Sandbox, hold: Duration) -> thread::JoinHandle<()> {
    let conn = Connection::open(&sb.db).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    thread::spawn(move || {
        thread::sleep(hold);
        conn.execute_batch("COMMIT").unwrap();
    })
}

#[test]
fn admin_reset_waits_for_the_application_lock_and_succeeds() {
    let sb = Sandbox::new();
    let start = Instant::now();
    let holder = hold_write_lock(&sb, Duration::from_secs(2));
    let run = sb.reset(["alice", "--reason", "r", "--yes"]);
    let elapsed = start.elapsed();
    holder.join().unwrap();
    run.ok();
    assert!(
        elapsed >= Duration::from_millis(1500),
        "admin-reset returned after {elapsed:?}, before the lock was released"
    );
    sb.assert_cleared("alice");
    assert_eq!(sb.audit().len(), 1);
}

#[test]
fn list_users_reads_while_the_application_holds_its_write_lock() {
    let sb = Sandbox::new();
    let start = Instant::now();
    let holder = hold_write_lock(&sb, Duration::from_secs(3));
    let run = sb.run(["list-users", "--format", "json"]);
    let elapsed = start.elapsed();
    run.ok();
    assert_eq!(run.json_lines().len(), STANDARD.len());
    assert!(
        elapsed < Duration::from_millis(2500),
        "list-users waited for the writer ({elapsed:?}); readers need not"
    );
    holder.join().unwrap();
}

#[test]
fn exit_7_when_the_lock_outlasts_the_busy_timeout() {
    let sb = Sandbox::new();
    sb.write_config("[database]\nbusy_timeout = \"1s\"\n");
    let before = sb.hash();
    let start = Instant::now();
    let holder = hold_write_lock(&sb, Duration::from_secs(4));
    let run = sb.reset(["alice", "--reason", "r", "--yes"]);
    let elapsed = start.elapsed();
    holder.join().unwrap();
    run.code(7).one_error_line().stdout_empty();
    assert!(
        run.err().to_lowercase().contains("busy"),
        "the message should say the database is busy: {}",
        run.err()
    );
    assert!(
        elapsed < Duration::from_millis(3500),
        "exit 7 came after {elapsed:?}; the configured busy timeout is 1s"
    );
    sb.assert_unchanged(&before);
    sb.assert_untouched(&STANDARD[1]);
}

/// Start `admin-reset --from-file` of every user of the bulk fixture (already copied to the
/// sandbox database), and wait until its
/// write transaction has begun (the rollback journal exists).
fn start_bulk_reset(sb: &Sandbox) -> Child {
    let names = sb.path("everyone.txt");
    big_names(&names);
    let mut child = sb
        .std_cmd()
        .arg("--db")
        .arg(&sb.db)
        .arg("admin-reset")
        .args(no_notify())
        .arg("--from-file")
        .arg(&names)
        .args(["--reason", "bulk", "--yes", "--format", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let journal = journal_of(&sb.db);
    let started = wait_until(Duration::from_secs(60), || {
        journal.exists() || child.try_wait().unwrap().is_some()
    });
    if !started || !journal.exists() {
        let _ = child.kill();
        let status = child.wait().unwrap();
        panic!("the bulk reset never began its write transaction (status {status})");
    }
    child
}

#[test]
fn sigkill_mid_bulk_reset_leaves_all_or_nothing() {
    // Killed as soon as the transaction begins, and again well into it.
    for delay in [Duration::ZERO, Duration::from_millis(700)] {
        let sb = Sandbox::empty();
        big_db(&sb.db);
        let before = sb.app_schema();
        let mut child = start_bulk_reset(&sb);
        thread::sleep(delay);
        let killed = child.kill().is_ok();
        let status = child.wait().unwrap();
        if delay.is_zero() {
            assert!(
                killed && status.signal() == Some(9),
                "the bulk reset finished before it could be killed ({status}); \
                 this test needs a run that lasts longer than the poll"
            );
        }
        let applied = assert_bulk_all_or_nothing(&sb.db);
        if status.signal() == Some(9) {
            assert!(
                !applied || delay > Duration::ZERO,
                "killed before commit, yet applied"
            );
        }
        sb.assert_app_intact(&before);
    }
}

#[test]
fn exit_130_on_sigint_mid_bulk_reset() {
    let sb = Sandbox::empty();
    big_db(&sb.db);
    let before = sb.app_schema();
    let mut child = start_bulk_reset(&sb);
    thread::sleep(Duration::from_millis(100));
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success(), "kill -INT failed");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("twofactl did not exit within 60 s of SIGINT");
        }
        thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(
        status.code(),
        Some(130),
        "expected exit 130 after SIGINT, got {status}"
    );
    assert_bulk_all_or_nothing(&sb.db);
    sb.assert_app_intact(&before);
}

#[test]
fn the_applications_schema_and_user_version_survive_every_command() {
    let sb = Sandbox::new();
    let schema = sb.app_schema();
    let original = sb.hash();
    let read_only: &[&[&str]] = &[
        &["list-users"],
        &["list-users", "--format", "json", "--status", "enabled"],
        &["list-users", "--format", "csv", "--admins"],
        &["audit"],
        &["audit", "--format", "json"],
    ];
    for args in read_only {
        sb.run(*args).ok();
        sb.assert_unchanged(&original);
    }
    sb.reset(["alice", "--reason", "r", "--dry-run"]).ok();
    sb.assert_unchanged(&original);
    sb.reset(["ghost", "--reason", "r", "--yes"]).code(4);
    sb.assert_unchanged(&original);

    sb.reset(["alice", "bob", "--reason", "r", "--yes"]).ok();
    sb.assert_app_intact(&schema);
    let conn = sb.conn();
    let added: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<Vec<String>>>()
        .unwrap()
        .into_iter()
        .filter(|n| !schema.iter().any(|(_, name, _)| name == n))
        .collect();
    assert!(!added.is_empty(), "admin-reset wrote no audit table");
    assert!(
        added
            .iter()
            .all(|n| n.starts_with("twofactl_") || n.starts_with("sqlite_autoindex_twofactl_")),
        "objects not named twofactl_*: {added:?}"
    );
    drop(conn);

    for args in read_only {
        sb.run(*args).ok();
        sb.assert_app_intact(&schema);
    }
    sb.reset(["root", "--reason", "r", "--yes"]).code(2);
    sb.assert_app_intact(&schema);
    sb.reset(["carol", "--reason", "r", "--yes", "--actor", "root"])
        .ok();
    sb.assert_app_intact(&schema);
}
