//! What a newcomer meets: the manual and completions from the binary itself (for `cargo
//! install` users), a failure a script can parse, states said before a prompt, messages in
//! plain words, and no colour escapes where nobody looks at colours.

use std::path::Path;
use std::process::Command as StdCommand;

use serde_json::Value;

use crate::self_service::{PASSWORD, request, sandbox_with_mail};
use crate::support::*;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn completions_prints_the_committed_scripts() {
    let sb = Sandbox::new();
    for (shell, file) in [
        ("bash", "completions/twofactl.bash"),
        ("zsh", "completions/_twofactl"),
        ("fish", "completions/twofactl.fish"),
        ("powershell", "completions/_twofactl.ps1"),
        ("elvish", "completions/twofactl.elv"),
    ] {
        let run = sb.run(["completions", shell]);
        run.ok();
        assert_eq!(
            run.out(),
            std::fs::read_to_string(root().join(file)).unwrap()
        );
    }
    sb.run(["completions", "tcsh"]).code(2);
    // A broken config file does not hide them.
    sb.write_config("[nonsense\n");
    sb.run(["completions", "bash"]).ok();
}

#[test]
fn man_writes_every_page_where_man_finds_it() {
    let sb = Sandbox::new();
    let dir = sb.path("share/man");
    sb.run(["man", dir.to_str().unwrap()]).ok();
    let committed: Vec<_> = std::fs::read_dir(root().join("man"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(committed.len() >= 13, "{committed:?}");
    for page in &committed {
        let name = page.file_name().unwrap();
        let section = page.extension().unwrap().to_str().unwrap();
        let written = dir.join(format!("man{section}")).join(name);
        assert!(
            std::fs::read(&written).unwrap_or_default() == std::fs::read(page).unwrap(),
            "{} differs from the committed page",
            written.display()
        );
    }
    // Without a directory, twofactl(1) on stdout.
    let run = sb.run(["man"]);
    run.ok();
    assert_eq!(
        run.out(),
        std::fs::read_to_string(root().join("man/twofactl.1")).unwrap()
    );
}

#[test]
#[ignore = "needs man (man-db; .ci/run installs it)"]
fn man_finds_the_pages_twofactl_man_writes() {
    let sb = Sandbox::new();
    let dir = sb.path("share/man");
    sb.run(["man", dir.to_str().unwrap()]).ok();
    let man = find_in_path("man").expect("man (man-db) is not installed");
    for (section, page) in [("1", "twofactl-admin-reset"), ("5", "twofactl.toml")] {
        let out = StdCommand::new(&man)
            .args(["-M", dir.to_str().unwrap(), "-w", section, page])
            .output()
            .unwrap();
        assert!(out.status.success(), "man -w {section} {page}: {out:?}");
    }
}

#[test]
fn the_manual_is_complete_and_exact() {
    let main = std::fs::read_to_string(root().join("man/twofactl.1")).unwrap();
    assert!(!main.contains("twofactl\\-help"), "no help page is listed");
    assert!(main.contains("twofactl.toml(5)"));
    let reset = std::fs::read_to_string(root().join("man/twofactl-admin-reset.1")).unwrap();
    assert!(reset.contains("[\\fIUSER\\fR]..."), "repeatable USER");
    let config = std::fs::read_to_string(root().join("man/twofactl.toml.5")).unwrap();
    for key in [
        "busy_timeout",
        "users_table",
        "sendmail_timeout",
        "allow_insecure_auth",
        "max_password_failures",
        "issuer",
    ] {
        assert!(
            config.contains(&format!("\\fB{key}\\fR")),
            "{key} documented"
        );
    }
    assert!(config.contains("TWOFACTL_SMTP_PASSWORD"));
    assert!(!root().join("man/twofactl-help.1").exists());
    let sb = Sandbox::new();
    let run = sb.run(["--help"]);
    run.ok().stdout_contains("Global options:");
    assert!(!run.out().contains("\n  help "), "no help subcommand");
}

#[test]
fn under_json_a_failure_is_also_one_json_object_on_stderr() {
    let sb = Sandbox::new();
    let run = sb.run([
        "--format",
        "json",
        "admin-reset",
        "nobody",
        "--reason",
        "x",
        "--yes",
        "--no-notify",
    ]);
    run.code(4);
    let last = run.err().lines().last().unwrap().to_owned();
    let v: Value = serde_json::from_str(&last).unwrap();
    assert_eq!(v["error"]["exit"], 4);
    assert!(v["error"]["message"].as_str().unwrap().contains("nobody"));
    assert!(v["error"]["hint"].as_str().unwrap().contains("list-users"));
    // Not in text mode.
    let run = sb.run([
        "admin-reset",
        "nobody",
        "--reason",
        "x",
        "--yes",
        "--no-notify",
    ]);
    run.code(4).one_error_line();
    assert!(!run.err().contains("{\"error\""));
}

#[test]
fn audit_takes_known_actions_and_users_by_e_mail() {
    let sb = Sandbox::new();
    sb.run([
        "admin-reset",
        "alice",
        "--reason",
        "x",
        "--yes",
        "--no-notify",
    ])
    .ok();
    sb.run(["audit", "--action", "no-such-action"]).code(2);
    let by_name = sb.run([
        "--format",
        "json",
        "audit",
        "--user",
        "alice",
        "--action",
        "admin-reset",
    ]);
    by_name.ok();
    let by_mail = sb.run([
        "--format",
        "json",
        "audit",
        "--user",
        "alice@example.com",
        "--action",
        "admin-reset",
    ]);
    by_mail.ok();
    assert_eq!(by_name.json_lines().len(), 1);
    assert_eq!(by_name.out(), by_mail.out());
}

#[test]
fn a_qr_code_too_small_to_scan_is_refused() {
    let sb = Sandbox::new();
    let before = sb.hash();
    sb.run(["enroll", "dave", "--qr-png", "d.png", "--qr-size", "2"])
        .code(2);
    sb.assert_unchanged(&before);
}

#[test]
fn states_are_said_before_a_prompt() {
    let (sb, server) = sandbox_with_mail(STANDARD, "");
    let before = sb.hash();
    // dave has no authenticator: nothing to reset, and no password is asked for.
    request(&sb, "dave", PASSWORD, &[])
        .code(2)
        .stderr_contains("nothing to reset")
        .stderr_contains("twofactl enroll dave");
    assert!(server.messages().is_empty());
    // No request open: said before a code is asked for (here: no prompt possible).
    sb.run(["--no-input", "verify", "alice"])
        .code(3)
        .stderr_contains("no open reset request")
        .stderr_contains("request-reset alice");
    sb.assert_unchanged(&before);
}

#[test]
fn messages_are_plain_words() {
    let sb = Sandbox::new();
    sb.write_config("[schema]\nusers_table = \"members\"\n");
    let run = sb.run(["list-users"]);
    run.code(8).one_error_line();
    let line = run.error_line();
    assert!(!line.contains("Ident("), "{line}");
    assert!(line.contains("\"members\""), "{line}");
}

#[test]
fn no_colour_escapes_off_a_terminal() {
    let sb = Sandbox::new();
    sb.write_config(
        "[mail]\ntransport = \"file\"\nfile_dir = \"out\"\nfrom = \"App <app@example.com>\"\n",
    );
    let run = sb.run(["enroll", "dave", "--qr-terminal"]);
    run.ok();
    assert!(run.out().contains('█') || run.out().contains('▀'));
    assert!(!run.out().contains('\x1b'), "no escapes into a pipe");
}

#[test]
fn an_empty_list_is_nothing_to_do_not_an_error() {
    let sb = Sandbox::new();
    let list = sb.write("nobody.txt", "# a query that matched no one\n\n");
    let before = sb.hash();
    let run = sb.run([
        "--format",
        "json",
        "admin-reset",
        "--from-file",
        list.to_str().unwrap(),
        "--reason",
        "offboarding",
        "--yes",
        "--no-notify",
    ]);
    run.ok().stderr_contains("names no users");
    let lines = run.json_lines();
    assert_eq!(lines.len(), 1, "{}", run.out());
    assert_eq!(lines[0]["summary"]["reset"], 0);
    assert_eq!(lines[0]["summary"]["missing"], 0);
    sb.assert_unchanged(&before);
}

#[test]
fn several_administrators_are_named_in_the_plural() {
    let sb = Sandbox::with_users(&[
        U {
            name: "alice",
            email: "alice@example.com",
            admin: true,
            state: State::Enabled,
            sessions: 0,
        },
        U {
            name: "grace",
            email: "grace@example.com",
            admin: true,
            state: State::Enabled,
            sessions: 0,
        },
    ]);
    let run = sb.run([
        "admin-reset",
        "alice",
        "grace",
        "--reason",
        "x",
        "--yes",
        "--no-notify",
    ]);
    run.code(2)
        .stderr_contains("alice and grace are administrators of the application");
    let run = sb.run([
        "admin-reset",
        "alice",
        "--reason",
        "x",
        "--yes",
        "--no-notify",
    ]);
    run.code(2)
        .stderr_contains("alice is an administrator of the application");
}

#[test]
fn a_closed_request_says_how_and_when_to_go_on() {
    let (sb, server) = sandbox_with_mail(
        STANDARD,
        "[reset]\nmax_requests_per_hour = 1\nmax_attempts = 1\n",
    );
    let code = crate::self_service::request_code(&sb, &server, "alice");
    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    sb.run(["verify", "alice", wrong]).code(5);
    // Voided, and the hourly allowance is used: the hint says from when.
    sb.run(["verify", "alice", &code])
        .code(3)
        .stderr_contains("voided")
        .stderr_contains("a new code may be requested from");
    // Spent: the reset is done; what comes next is enrolling.
    let code = crate::self_service::request_code(&sb, &server, "bob");
    sb.run(["verify", "bob", &code]).ok();
    sb.run(["verify", "bob", &code])
        .code(3)
        .stderr_contains("already used")
        .stderr_contains("twofactl enroll bob");
}
