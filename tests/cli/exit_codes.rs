//! One test per exit code this issue's commands can produce, each named `exit_N_...`.
//! Codes whose setup is heavier are pinned where that setup lives:
//! 1 in `database` (read-only database), 7 and 130 in `robustness` (busy, interrupted).

use crate::support::*;

#[test]
fn exit_0_success() {
    let sb = Sandbox::new();
    sb.run(["list-users"]).ok();
    sb.run(["audit"]).ok();
    sb.reset(["alice", "--reason", "r", "--yes"]).ok();
    sb.run_raw(["--help"]).ok().stdout_contains("list-users");
    sb.run_raw(["--version"]).ok().stdout_contains("twofactl");
}

#[test]
fn exit_2_usage_errors() {
    let sb = Sandbox::new();
    let before = sb.hash();
    let cases: &[&[&str]] = &[
        &["list-users", "--bogus"],
        &["list-users", "--status", "sleeping"],
        &["list-users", "--limit", "many"],
        &["list-users", "--format", "xml"],
        &["no-such-command"],
        &["audit", "--limit", "-3"],
    ];
    for args in cases {
        let run = sb.run(*args);
        run.code(2).stdout_empty();
        assert!(!run.stderr.is_empty(), "{args:?}: no message");
        sb.assert_unchanged(&before);
    }
    // No subcommand at all.
    sb.run_raw(Vec::<&str>::new()).code(2);
}

#[test]
fn exit_2_csv_is_only_for_list_users() {
    let sb = Sandbox::new();
    let before = sb.hash();
    for run in [
        sb.reset(["alice", "--reason", "r", "--yes", "--format", "csv"]),
        sb.reset(["alice", "--reason", "r", "--dry-run", "--format", "csv"]),
        sb.run(["audit", "--format", "csv"]),
    ] {
        run.code(2).one_error_line().stdout_empty();
        assert!(run.error_line().contains("csv"), "{}", run.err());
        sb.assert_unchanged(&before);
    }
}

#[test]
fn exit_4_no_such_user() {
    let sb = Sandbox::new();
    let before = sb.hash();
    let run = sb.reset(["mallory", "--reason", "r", "--yes"]);
    run.code(4).one_error_line().stdout_empty();
    assert!(run.error_line().contains("mallory"), "{}", run.err());
    sb.assert_unchanged(&before);
}

#[test]
fn exit_8_configuration_or_schema() {
    let sb = Sandbox::empty();
    // No database at all, a missing one, and one without the application's tables.
    sb.run_raw(["list-users"]).code(8).one_error_line();
    sb.run(["list-users"]).code(8).one_error_line();
    rusqlite::Connection::open(&sb.db)
        .unwrap()
        .execute_batch("CREATE TABLE t (x);")
        .unwrap();
    sb.run(["list-users"]).code(8).one_error_line();
    sb.write_config("[database]\nbusy_timeout = \"soon\"\n");
    sb.run(["list-users"]).code(8).one_error_line();
}
