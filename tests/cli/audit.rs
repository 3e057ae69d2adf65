//! `audit`: the log twofactl writes, read back with `--user`, `--action`, `--since`,
//! `--limit`, as text or JSON Lines.

use std::time::{Duration, UNIX_EPOCH};

use rusqlite::params;

use crate::support::*;

/// 2020-01-01T00:00:00Z
const T2020: i64 = 1_577_836_800;
/// 2024-06-01T12:00:00Z
const T2024: i64 = 1_717_243_200;

fn rfc3339(unix: i64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(unix as u64)).to_string()
}

/// A log of four records: alice (2020), dave (2024, already clear), bob (now), and a
/// `verify` record for carol (now).
fn logged_sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.reset([
        "alice",
        "--reason",
        "lost phone",
        "--yes",
        "--actor",
        "root",
    ])
    .ok();
    sb.reset(["dave", "--reason", "audit", "--yes"]).ok();
    sb.reset(["bob", "--reason", "new phone", "--yes"]).ok();
    let conn = sb.conn();
    conn.execute(
        "UPDATE twofactl_audit SET time = ?1 WHERE username = 'alice'",
        [T2020],
    )
    .unwrap();
    conn.execute(
        "UPDATE twofactl_audit SET time = ?1 WHERE username = 'dave'",
        [T2024],
    )
    .unwrap();
    let now: i64 = conn
        .query_row(
            "SELECT time FROM twofactl_audit WHERE username = 'bob'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute(
        "INSERT INTO twofactl_audit (time, os_user, actor, action, user_id, username, reason, outcome)
         VALUES (?1, 'helpdesk', NULL, 'verify', 4, 'carol', NULL, 'reset')",
        params![now],
    )
    .unwrap();
    sb
}

/// (username, action) of each JSON record, in order.
#[track_caller]
fn records(sb: &Sandbox, args: &[&str]) -> Vec<String> {
    let mut all = vec!["audit", "--format", "json"];
    all.extend_from_slice(args);
    let run = sb.run(&all);
    run.ok();
    run.json_lines()
        .iter()
        .map(|v| {
            format!(
                "{}/{}",
                v["username"].as_str().unwrap(),
                v["action"].as_str().unwrap()
            )
        })
        .collect()
}

const ALICE: &str = "alice/admin-reset";
const DAVE: &str = "dave/admin-reset";
const BOB: &str = "bob/admin-reset";
const CAROL: &str = "carol/verify";

#[test]
fn an_empty_log_on_a_database_twofactl_never_wrote() {
    let sb = Sandbox::new();
    let before = sb.hash();
    let run = sb.run(["audit", "--format", "json"]);
    run.ok().stdout_empty();
    sb.run(["audit"]).ok();
    sb.run(["audit", "--user", "alice", "--since", "1h"]).ok();
    sb.assert_unchanged(&before);
}

#[test]
fn json_records_carry_exactly_the_documented_keys() {
    let sb = Sandbox::new();
    sb.reset([
        "alice",
        "dave",
        "--reason",
        "lost phone, ticket 4711",
        "--yes",
        "--actor",
        "root",
    ])
    .ok();
    let rows = sb.audit();
    let run = sb.run(["audit", "--format", "json"]);
    run.ok();
    let lines = run.json_lines();
    assert_eq!(lines.len(), 2);
    for (v, row) in lines.iter().zip(&rows) {
        let have = keys(v);
        for key in [
            "time", "os_user", "actor", "action", "username", "reason", "outcome",
        ] {
            assert!(have.iter().any(|k| k == key), "no {key:?} in {v}");
        }
        assert_eq!(v["time"], rfc3339(row.time));
        assert!(is_rfc3339_utc(v["time"].as_str().unwrap()), "{v}");
        assert_eq!(v["os_user"], row.os_user.as_str());
        assert_eq!(v["actor"], "root");
        assert_eq!(v["action"], "admin-reset");
        assert_eq!(v["reason"], "lost phone, ticket 4711");
    }
    assert_eq!(lines[0]["username"], "alice");
    assert_eq!(lines[0]["outcome"], "reset");
    assert_eq!(lines[1]["username"], "dave");
    assert_eq!(lines[1]["outcome"], "already_clear");

    // Without --actor, the actor is null.
    sb.reset(["bob", "--reason", "r", "--yes"]).ok();
    let run = sb.run(["audit", "--format", "json", "--user", "bob"]);
    run.ok();
    assert_eq!(run.json_lines()[0]["actor"], serde_json::Value::Null);
}

#[test]
fn text_is_a_table_of_the_records() {
    let sb = logged_sandbox();
    let run = sb.run(["audit"]);
    run.ok();
    let out = run.out();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1 + 4, "{out}");
    assert!(lines[0].to_lowercase().contains("user"), "{out}");
    assert!(
        lines[1].contains("alice") && lines[1].contains("2020-01-01T00:00:00Z"),
        "{out}"
    );
    assert!(
        lines[1].contains("lost phone") && lines[1].contains("root"),
        "{out}"
    );
    assert!(
        lines[2].contains("dave") && lines[2].contains("already"),
        "{out}"
    );
}

#[test]
fn records_are_oldest_first() {
    let sb = logged_sandbox();
    assert_eq!(records(&sb, &[]), [ALICE, DAVE, BOB, CAROL]);
}

#[test]
fn user_filter() {
    let sb = logged_sandbox();
    assert_eq!(records(&sb, &["--user", "alice"]), [ALICE]);
    assert_eq!(records(&sb, &["--user", "carol"]), [CAROL]);
    assert_eq!(records(&sb, &["--user", "nobody"]), Vec::<String>::new());
}

#[test]
fn action_filter() {
    let sb = logged_sandbox();
    assert_eq!(
        records(&sb, &["--action", "admin-reset"]),
        [ALICE, DAVE, BOB]
    );
    assert_eq!(records(&sb, &["--action", "verify"]), [CAROL]);
    assert_eq!(records(&sb, &["--action", "enroll"]), Vec::<String>::new());
}

#[test]
fn since_takes_a_date() {
    let sb = logged_sandbox();
    assert_eq!(
        records(&sb, &["--since", "2019-12-31"]),
        [ALICE, DAVE, BOB, CAROL]
    );
    assert_eq!(records(&sb, &["--since", "2020-01-02"]), [DAVE, BOB, CAROL]);
    assert_eq!(records(&sb, &["--since", "2024-06-02"]), [BOB, CAROL]);
}

#[test]
fn since_takes_an_rfc3339_time() {
    let sb = logged_sandbox();
    // Inclusive: a record at exactly that time is shown.
    assert_eq!(
        records(&sb, &["--since", "2024-06-01T12:00:00Z"]),
        [DAVE, BOB, CAROL]
    );
    assert_eq!(
        records(&sb, &["--since", "2024-06-01T12:00:01Z"]),
        [BOB, CAROL]
    );
}

#[test]
fn since_takes_an_rfc3339_time_with_an_offset() {
    let sb = logged_sandbox();
    // 2024-06-01T14:00:00+02:00 is 2024-06-01T12:00:00Z.
    assert_eq!(
        records(&sb, &["--since", "2024-06-01T14:00:00+02:00"]),
        [DAVE, BOB, CAROL]
    );
    assert_eq!(
        records(&sb, &["--since", "2024-06-01T07:00:01-05:00"]),
        [BOB, CAROL]
    );
}

#[test]
fn since_takes_an_age() {
    let sb = logged_sandbox();
    assert_eq!(records(&sb, &["--since", "1h"]), [BOB, CAROL]);
    assert_eq!(records(&sb, &["--since", "30d"]), [BOB, CAROL]);
    assert_eq!(
        records(&sb, &["--since", "100000d"]),
        [ALICE, DAVE, BOB, CAROL]
    );
}

#[test]
fn limit_keeps_the_newest_records_oldest_first() {
    let sb = logged_sandbox();
    assert_eq!(records(&sb, &["--limit", "2"]), [BOB, CAROL]);
    assert_eq!(records(&sb, &["--limit", "1", "--user", "alice"]), [ALICE]);
    assert_eq!(records(&sb, &["--limit", "10"]), [ALICE, DAVE, BOB, CAROL]);
    assert_eq!(
        records(&sb, &["--limit", "1", "--action", "admin-reset"]),
        [BOB]
    );
    let run = sb.run(["audit", "--limit", "2"]);
    run.ok();
    assert_eq!(run.out().lines().count(), 1 + 2);
}

#[test]
fn filters_combine() {
    let sb = logged_sandbox();
    assert_eq!(
        records(
            &sb,
            &["--user", "bob", "--since", "1h", "--action", "admin-reset"]
        ),
        [BOB]
    );
    assert_eq!(
        records(&sb, &["--user", "alice", "--since", "1h"]),
        Vec::<String>::new()
    );
}

#[test]
fn a_bad_since_is_exit_2() {
    let sb = logged_sandbox();
    let before = sb.hash();
    for since in ["last tuesday", "2026-13-45", "", "-1h", "12"] {
        let run = sb.run(["audit".to_owned(), format!("--since={since}")]);
        run.code(2).one_error_line();
        sb.assert_unchanged(&before);
    }
}

#[test]
fn head_1_closes_the_pipe_without_an_error() {
    let sb = Sandbox::new();
    sb.reset(["alice", "--reason", "r", "--yes"]).ok();
    // A long log: 20,000 more records, written the way twofactl writes them.
    sb.conn()
        .execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
             INSERT INTO twofactl_audit (time, os_user, actor, action, user_id, username, reason, outcome)
             SELECT 1700000000 + i, 'root', NULL, 'admin-reset', 2, 'alice', 'bulk ' || i, 'reset' FROM n;",
        )
        .unwrap();
    let failures: Vec<String> = ["text", "json"]
        .into_iter()
        .filter_map(|format| {
            first_line_then_close(&sb, &["audit", "--format", format])
                .err()
                .map(|why| format!("--format {format}: {why}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
