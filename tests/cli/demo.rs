//! `demo`: the first-run sandbox (an application database with a dozen users in all three
//! states, real argon2id hashes, sessions and settings, plus a config pointing at it).

use std::collections::HashSet;

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use rusqlite::Connection;

use crate::support::*;

/// The password every sample user has, as `demo` prints it.
const DEMO_PASSWORD: &str = "demo-password";

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn demo_makes_a_sandbox_with_users_in_every_state() {
    let sb = Sandbox::empty();
    let run = sb.run_raw(["demo", "sandbox"]);
    run.ok();
    let dir = sb.path("sandbox");
    let db = dir.join("app.db");
    assert!(db.is_file(), "no sandbox/app.db");
    assert!(dir.join("config.toml").is_file(), "no sandbox/config.toml");

    let conn = Connection::open(&db).unwrap();
    assert_eq!(count(&conn, "SELECT count(*) FROM users"), 12);
    let enabled = count(
        &conn,
        "SELECT count(*) FROM users WHERE totp_secret IS NOT NULL AND totp_enabled = 1",
    );
    let pending = count(
        &conn,
        "SELECT count(*) FROM users WHERE totp_secret IS NOT NULL AND totp_enabled = 0",
    );
    let disabled = count(
        &conn,
        "SELECT count(*) FROM users WHERE totp_secret IS NULL AND totp_enabled = 0",
    );
    assert!(
        enabled > 0 && pending > 0 && disabled > 0,
        "{enabled}/{pending}/{disabled}"
    );
    assert_eq!(enabled + pending + disabled, 12);
    assert!(count(&conn, "SELECT count(*) FROM users WHERE is_admin = 1") > 0);
    assert!(count(&conn, "SELECT count(*) FROM sessions") > 0);
    assert!(count(&conn, "SELECT count(*) FROM settings") > 0);

    let hashes: Vec<String> = conn
        .prepare("SELECT password_hash FROM users ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for h in &hashes {
        assert!(
            h.starts_with("$argon2id$"),
            "not an argon2id PHC string: {h}"
        );
    }
    assert_eq!(
        hashes.iter().collect::<HashSet<_>>().len(),
        hashes.len(),
        "every hash has its own salt"
    );
    // Real hashes: the printed password verifies (one is enough; each takes a while).
    let parsed = PasswordHash::new(&hashes[0]).unwrap();
    Argon2::default()
        .verify_password(DEMO_PASSWORD.as_bytes(), &parsed)
        .expect("the demo password verifies against the stored hash");
    run.stdout_contains(DEMO_PASSWORD);

    let secrets: Vec<String> = conn
        .prepare("SELECT totp_secret FROM users WHERE totp_secret IS NOT NULL")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for s in &secrets {
        let key = data_encoding::BASE32_NOPAD
            .decode(s.as_bytes())
            .unwrap_or_else(|e| panic!("{s} is not unpadded base32: {e}"));
        assert_eq!(key.len(), 20, "TOTP keys are 160 bits");
        run.never_shows(s);
    }
    assert_eq!(secrets.iter().collect::<HashSet<_>>().len(), secrets.len());
    run.never_shows("$argon2");
}

#[test]
fn the_demo_config_drives_the_other_commands() {
    let sb = Sandbox::empty();
    sb.run_raw(["demo", "sandbox"]).ok();
    let config = sb.path("sandbox/config.toml");
    std::fs::create_dir(sb.path("elsewhere")).unwrap();
    let with_demo_config = |args: &[&str]| {
        let mut cmd = sb.cmd();
        cmd.env("TWOFACTL_CONFIG", &config)
            .current_dir(sb.path("elsewhere"))
            .args(args);
        Run::of(&mut cmd)
    };
    let run = with_demo_config(&["list-users", "--format", "json"]);
    run.ok();
    let users = run.json_lines();
    assert_eq!(users.len(), 12);
    let statuses: HashSet<&str> = users
        .iter()
        .map(|v| v["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, HashSet::from(["enabled", "pending", "disabled"]));

    // The flow the demo suggests.
    with_demo_config(&[
        "admin-reset",
        "bob",
        "--reason",
        "lost phone, ticket 4711",
        "--dry-run",
    ])
    .ok();
    with_demo_config(&[
        "admin-reset",
        "bob",
        "--reason",
        "lost phone, ticket 4711",
        "--yes",
    ])
    .ok();
    let run = with_demo_config(&[
        "audit",
        "--format",
        "json",
        "--user",
        "bob",
        "--action",
        "admin-reset",
    ]);
    run.ok();
    let records = run.json_lines();
    assert_eq!(records.len(), 1, "{}", run.out());
    assert_eq!(records[0]["reason"], "lost phone, ticket 4711");
}

#[test]
fn demo_twice_into_the_same_dir_is_exit_2_and_keeps_the_first() {
    let sb = Sandbox::empty();
    sb.run_raw(["demo", "sandbox"]).ok();
    let db = sb.path("sandbox/app.db");
    let config = sb.path("sandbox/config.toml");
    let (db_hash, config_hash) = (sha256(&db), sha256(&config));
    let run = sb.run_raw(["demo", "sandbox"]);
    run.code(2).one_error_line();
    assert!(run.error_line().contains("sandbox"), "{}", run.err());
    assert_eq!(sha256(&db), db_hash, "the first sandbox's database changed");
    assert_eq!(
        sha256(&config),
        config_hash,
        "the first sandbox's config changed"
    );
}

#[test]
fn demo_without_a_dir_uses_a_default_in_the_current_directory() {
    let sb = Sandbox::empty();
    sb.run_raw(["demo"]).ok();
    let made: Vec<_> = std::fs::read_dir(sb.dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("app.db").is_file() && p.join("config.toml").is_file())
        .collect();
    assert_eq!(
        made.len(),
        1,
        "expected one sandbox directory in the current directory"
    );
}
