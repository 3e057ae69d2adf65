//! Small promises the documentation makes, each once broken: a configuration value out of
//! range is exit 8 naming the file and key, never a panic, and no stored time makes one.

use crate::self_service::{request, sandbox_with_mail};
use crate::support::*;

// ---- 1. Durations have upper bounds ----------------------------------------------------------

/// (config, the key the message must name)
const TOO_LONG: &[(&str, &str)] = &[
    (
        "[database]\nbusy_timeout = \"25days\"\n",
        "database.busy_timeout",
    ),
    (
        "[database]\nbusy_timeout = \"10m 1s\"\n",
        "database.busy_timeout",
    ),
    ("[reset]\ncode_ttl = \"10000000000y\"\n", "reset.code_ttl"),
    ("[reset]\ncode_ttl = \"24h 1s\"\n", "reset.code_ttl"),
    ("[reset]\nlockout = \"31d\"\n", "reset.lockout"),
    ("[reset]\nlockout = \"584942417355y\"\n", "reset.lockout"),
    ("[smtp]\ntimeout = \"10m 1s\"\n", "smtp.timeout"),
    ("[smtp]\ntimeout = \"100y\"\n", "smtp.timeout"),
];

#[test]
fn out_of_range_durations_are_exit_8_naming_the_file_and_key() {
    let sb = Sandbox::new();
    let before = sb.hash();
    let file = sb.config.display().to_string();
    for (config, key) in TOO_LONG {
        sb.write_config(config);
        for run in [
            sb.run(["list-users"]),
            sb.reset(["alice", "--reason", "r", "--yes"]),
        ] {
            run.code(8).one_error_line();
            let line = run.error_line();
            assert!(
                line.contains(&file) && line.contains(key),
                "config {config:?}: the message should name {file} and {key}: {line}"
            );
            sb.assert_unchanged(&before);
        }
    }
}

#[test]
fn a_huge_code_ttl_is_exit_8_not_a_panic_in_request_reset() {
    let (sb, server) = sandbox_with_mail(STANDARD, "[reset]\ncode_ttl = \"10000000000y\"\n");
    let before = sb.hash();
    let run = request(&sb, "alice", crate::self_service::PASSWORD, &[]);
    run.code(8)
        .one_error_line()
        .stderr_contains("reset.code_ttl");
    sb.assert_unchanged(&before);
    assert!(server.messages().is_empty());
}

#[test]
fn durations_at_their_upper_bounds_are_accepted() {
    let sb = Sandbox::new();
    sb.write_config(
        "[database]\nbusy_timeout = \"10m\"\n\
         [smtp]\ntimeout = \"10m\"\n\
         [reset]\ncode_ttl = \"24h\"\nlockout = \"30d\"\n",
    );
    sb.run(["list-users"]).ok();
}

/// Times in twofactl's own tables beyond what RFC 3339 can write (a hand-edited or corrupt
/// row) are shown clamped, never a panic.
#[test]
fn times_out_of_range_in_twofactl_tables_never_panic() {
    let sb = Sandbox::new();
    sb.reset(["alice", "bob", "--reason", "r", "--yes"]).ok();
    sb.conn()
        .execute_batch(
            "UPDATE twofactl_audit SET time = 9223372036854775807 WHERE username = 'alice';
             UPDATE twofactl_audit SET time = -9223372036854775808 WHERE username = 'bob';",
        )
        .unwrap();
    for args in [
        &["audit"][..],
        &["audit", "--format", "json"],
        &["list-users"],
        &["list-users", "--format", "json"],
        &["list-users", "--format", "csv"],
    ] {
        let run = sb.run(args);
        run.ok();
        assert!(
            run.out().contains("9999-12-31T23:59:59Z"),
            "{args:?}: {}",
            run.out()
        );
    }
}
