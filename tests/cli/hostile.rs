//! Hostile input: usernames built to break SQL or wildcards (as real users, reset exactly
//! them), malformed `--from-file` lists, and control characters that must never reach the
//! terminal raw.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use serde_json::Value;

use crate::support::*;

/// Real users whose names are SQL or LIKE syntax.
const HOSTILE: &[&str] = &[
    "o'brien",
    "x\"y",
    "semi;colon",
    "100%",
    "a_b",
    "Robert'); DROP TABLE users;--",
    "%",
    "_",
    "' OR '1'='1",
];

/// Users a wildcard or injection would hit by mistake.
const DECOYS: &[&str] = &["100x", "aXb", "plain", "x", "ab"];

fn hostile_sandbox() -> Sandbox {
    let users: Vec<U<'static>> = HOSTILE
        .iter()
        .chain(DECOYS)
        .enumerate()
        .map(|(i, name)| U {
            name,
            email: Box::leak(format!("user{i}@example.com").into_boxed_str()),
            admin: false,
            state: State::Enabled,
            sessions: 1,
        })
        .collect();
    Sandbox::with_users(&users)
}

#[track_caller]
fn assert_enabled(sb: &Sandbox, name: &str) {
    assert_eq!(
        sb.totp(name),
        (Some(secret_of(name)), 1),
        "{name:?} should be untouched"
    );
}

#[test]
fn hostile_usernames_from_a_file_reset_exactly_those_users() {
    let sb = hostile_sandbox();
    let schema = sb.app_schema();
    let mut list = HOSTILE.join("\n");
    list.push('\n');
    sb.write("list.txt", list);
    let run = sb.reset([
        "--from-file",
        "list.txt",
        "--reason",
        "r",
        "--yes",
        "--format",
        "json",
    ]);
    run.ok();
    let lines = run.json_lines();
    let reported: Vec<(&str, &str)> = lines[..lines.len() - 1]
        .iter()
        .map(|v| {
            (
                v["username"].as_str().unwrap(),
                v["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(&str, &str)> = HOSTILE.iter().map(|n| (*n, "reset")).collect();
    assert_eq!(reported, expected);
    for name in HOSTILE {
        sb.assert_cleared(name);
        assert_eq!(sb.sessions(name), 0, "{name:?}'s sessions");
    }
    for name in DECOYS {
        assert_enabled(&sb, name);
        assert_eq!(sb.sessions(name), 1, "{name:?}'s sessions");
    }
    let count: i64 = sb
        .conn()
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, (HOSTILE.len() + DECOYS.len()) as i64);
    sb.assert_app_intact(&schema);
    let audited: Vec<String> = sb.audit().into_iter().map(|r| r.username).collect();
    assert_eq!(audited, HOSTILE);
}

#[test]
fn hostile_usernames_as_arguments_reset_exactly_those_users() {
    let sb = hostile_sandbox();
    sb.reset([
        "100%",
        "_",
        "Robert'); DROP TABLE users;--",
        "--reason",
        "r",
        "--yes",
    ])
    .ok();
    for name in ["100%", "_", "Robert'); DROP TABLE users;--"] {
        sb.assert_cleared(name);
    }
    for name in HOSTILE
        .iter()
        .chain(DECOYS)
        .filter(|n| !["100%", "_", "Robert'); DROP TABLE users;--"].contains(n))
    {
        assert_enabled(&sb, name);
    }
}

#[test]
fn wildcards_in_a_name_match_nothing() {
    let sb = Sandbox::new();
    let before = sb.hash();
    for name in [
        "%",
        "_lice",
        "al%",
        "%@example.com",
        "_lice@example.com",
        "*",
    ] {
        let run = sb.reset([name, "--reason", "r", "--yes"]);
        run.code(4).one_error_line();
        sb.assert_unchanged(&before);
    }
}

#[test]
fn list_users_match_takes_hostile_patterns_literally() {
    let sb = hostile_sandbox();
    let names = |pattern: &str| -> Vec<String> {
        let run = sb.run(["list-users", "--format", "json", "--match", pattern]);
        run.ok();
        run.json_lines()
            .iter()
            .map(|v| v["username"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names("' OR '1'='1"), ["' OR '1'='1"]);
    assert_eq!(names("\""), ["x\"y"]);
    assert_eq!(names(";"), ["semi;colon", "Robert'); DROP TABLE users;--"]);
    assert_eq!(names("%"), ["100%", "%"]);
    assert_eq!(names("_"), ["a_b", "_"]);
}

/// A malformed `--from-file` list: exit 2, one line naming the file and the line, the
/// offending bytes not echoed raw, nothing changed.
#[track_caller]
fn assert_list_refused(contents: &[u8], line: usize) {
    let sb = Sandbox::new();
    let before = sb.hash();
    sb.write("list.txt", contents);
    let run = sb.reset(["--from-file", "list.txt", "--reason", "r", "--yes"]);
    run.code(2).one_error_line().no_control_bytes();
    let msg = run.error_line();
    assert!(
        msg.contains("list.txt") && msg.contains(&format!("line {line}")),
        "the message should name the file and line {line}: {msg:?}"
    );
    assert!(
        run.stderr.len() < 2000,
        "the message echoes too much: {} bytes",
        run.stderr.len()
    );
    sb.assert_unchanged(&before);

    // The same list on stdin.
    let run = sb.reset_stdin(
        ["--from-file", "-", "--reason", "r", "--yes"],
        contents.to_vec(),
    );
    run.code(2).one_error_line().no_control_bytes();
    let msg = run.error_line();
    assert!(
        msg.contains("stdin") && msg.contains(&format!("line {line}")),
        "the message should name stdin and line {line}: {msg:?}"
    );
    sb.assert_unchanged(&before);
}

#[test]
fn from_file_with_a_nul_byte_is_refused() {
    assert_list_refused(b"alice\nbo\0b\ncarol\n", 2);
}

#[test]
fn from_file_with_a_bare_carriage_return_is_refused() {
    assert_list_refused(b"alice\nbob\rcarol\n", 2);
}

#[test]
fn from_file_with_non_utf8_bytes_is_refused() {
    assert_list_refused(b"alice\nbob\n\xff\xfe\xc3(\n", 3);
}

#[test]
fn from_file_with_a_1_mb_line_is_refused() {
    let mut contents = b"alice\n".to_vec();
    contents.extend(std::iter::repeat_n(b'a', 1 << 20));
    contents.extend(b"\nbob\n");
    assert_list_refused(&contents, 2);
}

#[test]
fn from_file_with_an_escape_sequence_is_refused() {
    assert_list_refused(b"alice\n\x1b[2J\x1b[31mbob\n", 2);
}

#[test]
fn from_file_with_a_byte_order_mark_does_not_hide_the_first_name() {
    // Windows editors start UTF-8 files with U+FEFF. It is invisible: a "no such user: bob"
    // for a bob who exists would send the operator on a hunt.
    let sb = Sandbox::new();
    let before = sb.hash();
    sb.write("list.txt", "\u{feff}bob\r\nalice\r\n");
    let run = sb.reset(["--from-file", "list.txt", "--reason", "r", "--yes"]);
    match run.status.code() {
        Some(0) => {
            sb.assert_cleared("bob");
            sb.assert_cleared("alice");
        }
        Some(2) => {
            run.one_error_line();
            assert!(run.error_line().contains("line 1"), "{}", run.err());
            sb.assert_unchanged(&before);
        }
        _ => panic!(
            "expected the BOM to be skipped (exit 0) or refused on line 1 (exit 2), got {}: {}",
            run.status,
            run.err()
        ),
    }
}

#[test]
fn from_file_with_no_users_is_nothing_to_do() {
    let sb = Sandbox::new();
    let before = sb.hash();
    for (name, contents) in [
        ("empty.txt", ""),
        ("comments.txt", "# nobody today\n\n   \n"),
    ] {
        sb.write(name, contents);
        let run = sb.reset(["--from-file", name, "--reason", "r", "--yes"]);
        run.ok()
            .stderr_contains(name)
            .stderr_contains("names no users");
        sb.assert_unchanged(&before);
    }
    let run = sb.reset_stdin(["--from-file", "-", "--reason", "r", "--yes"], "");
    run.ok().stderr_contains("stdin names no users");
    sb.assert_unchanged(&before);
}

#[test]
fn from_file_that_does_not_exist_is_refused() {
    let sb = Sandbox::new();
    let before = sb.hash();
    let run = sb.reset(["--from-file", "no-such-list.txt", "--reason", "r", "--yes"]);
    run.code(2).one_error_line();
    assert!(
        run.error_line().contains("no-such-list.txt"),
        "{}",
        run.err()
    );
    sb.assert_unchanged(&before);
}

#[test]
fn control_characters_in_arguments_never_reach_the_terminal() {
    let sb = Sandbox::new();
    let before = sb.hash();
    for name in ["\x1b[31mred", "a\nb", "bell\x07", "nul\u{0}byte"] {
        // NUL cannot travel in argv; the others can.
        if name.contains('\0') {
            continue;
        }
        let run = sb.reset([name, "--reason", "r", "--yes"]);
        run.code(2).one_error_line().no_control_bytes();
        sb.assert_unchanged(&before);
    }
    let run = sb.reset(["alice", "--reason", "r", "--yes", "--actor", "\x1b[2Jboss"]);
    assert!(
        matches!(run.status.code(), Some(2 | 4)),
        "{} {}",
        run.status,
        run.err()
    );
    run.one_error_line().no_control_bytes();
    sb.assert_unchanged(&before);

    let run = sb.run(["audit", "--since", "\x1b[2J"]);
    run.code(2).one_error_line().no_control_bytes();
    sb.assert_unchanged(&before);
}

#[test]
fn non_utf8_argument_is_a_usage_error() {
    let sb = Sandbox::new();
    let before = sb.hash();
    let run = sb.reset([
        OsStr::from_bytes(b"al\xffice"),
        OsStr::new("--reason"),
        OsStr::new("r"),
        OsStr::new("--yes"),
    ]);
    run.code(2).no_control_bytes();
    sb.assert_unchanged(&before);
}

/// Users whose stored names carry terminal escapes, a bell and a newline.
const NASTY: &[(&str, &str)] = &[
    ("evil\x1b[2J\x1b[31mred", "evil@example.com"),
    ("bell\x07", "bell@example.com"),
    ("two\nlines", "two@example.com"),
    ("fine", "fine@example.com"),
];

#[test]
fn escapes_stored_in_the_database_never_reach_the_terminal_raw() {
    let users: Vec<U<'static>> = NASTY.iter().map(|(n, e)| u(n, e, State::Enabled)).collect();
    let sb = Sandbox::with_users(&users);

    let run = sb.run(["list-users"]);
    run.ok().no_control_bytes();
    assert_eq!(
        run.out().lines().count(),
        1 + NASTY.len(),
        "a stored newline forged an extra row:\n{}",
        run.out()
    );

    let run = sb.run(["list-users", "--format", "json"]);
    run.ok().no_control_bytes();
    let names: Vec<String> = run
        .json_lines()
        .iter()
        .map(|v| v["username"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, NASTY.iter().map(|(n, _)| *n).collect::<Vec<_>>());

    // Reset them by e-mail (their names cannot be typed), in text and JSON.
    let run = sb.reset([
        "evil@example.com",
        "two@example.com",
        "--reason",
        "r",
        "--yes",
    ]);
    run.ok().no_control_bytes();
    sb.assert_cleared(NASTY[0].0);
    sb.assert_cleared(NASTY[2].0);
    let run = sb.reset([
        "bell@example.com",
        "--reason",
        "r",
        "--yes",
        "--format",
        "json",
    ]);
    run.ok().no_control_bytes();
    assert_eq!(run.json_lines()[0]["username"], NASTY[1].0);

    let run = sb.run(["audit"]);
    run.ok().no_control_bytes();
    assert_eq!(run.out().lines().count(), 1 + 3, "{}", run.out());
    let run = sb.run(["audit", "--format", "json"]);
    run.ok().no_control_bytes();
    let audited: Vec<Value> = run
        .json_lines()
        .iter()
        .map(|v| v["username"].clone())
        .collect();
    assert_eq!(audited, [NASTY[0].0, NASTY[2].0, NASTY[1].0]);

    // The dry run and "not found" paths print names too.
    let run = sb.reset([
        "fine@example.com",
        "evil@example.com",
        "--reason",
        "r",
        "--dry-run",
    ]);
    run.ok().no_control_bytes();
}

#[test]
fn a_reason_with_control_characters_is_refused_or_shown_safely() {
    let sb = Sandbox::new();
    let before = sb.hash();
    let run = sb.reset(["alice", "--reason", "ticket 1\n\x1b[2Jforged line", "--yes"]);
    run.no_control_bytes();
    match run.status.code() {
        Some(2) => sb.assert_unchanged(&before),
        Some(0) => {
            let audit = sb.run(["audit"]);
            audit.ok().no_control_bytes();
            assert_eq!(audit.out().lines().count(), 2, "{}", audit.out());
        }
        _ => panic!("expected exit 0 or 2: {} {}", run.status, run.err()),
    }
}

#[test]
fn a_username_that_is_not_utf8_in_the_database_still_lists() {
    let sb = Sandbox::new();
    sb.conn()
        .execute(
            "INSERT INTO users (username, email, password_hash, totp_secret, totp_enabled)
             VALUES (CAST(X'6261FF64' AS TEXT), 'bad@example.com', 'x', NULL, 0)",
            [],
        )
        .unwrap();
    for format in ["text", "json", "csv"] {
        let run = sb.run(["list-users", "--format", format]);
        run.ok();
        assert!(
            std::str::from_utf8(&run.stdout).is_ok(),
            "--format {format}: stdout is not UTF-8"
        );
        assert_eq!(
            run.out().lines().count(),
            STANDARD.len() + 1 + usize::from(format != "json")
        );
    }
    let run = sb.run(["list-users", "--format", "json"]);
    assert_eq!(run.json_lines().len(), STANDARD.len() + 1);
}
