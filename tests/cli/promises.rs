//! Small promises the documentation makes, each once broken: a configuration value out of
//! range is exit 8 naming the file and key, never a panic, and no stored time makes one;
//! AUTH never crosses an unencrypted connection unless `allow_insecure_auth` says so; a
//! sendmail command that hangs is stopped at `sendmail_timeout`; `--password-stdin` reads
//! one line of at most 4 KiB, and no more than that; a closed stdout pipe is exit 0 for
//! `demo` too; text from the database is escaped on a terminal in every format, and JSON
//! escapes every control character; a reason with control characters is refused.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
use serde_json::Value;

use crate::self_service::{request, sandbox_with_mail};
use crate::smtp::{Options, Server};
use crate::support::*;

const FROM: &str = "Fixture Ops <ops@example.com>";
const SMTP_USER: &str = "twofactl-mailer";
const SMTP_PASSWORD: &str = "s3cret-Sm7p-pa55word";

/// A path as a TOML string.
fn toml_path(p: &Path) -> String {
    let s = p.to_str().expect("temp paths are UTF-8");
    assert!(!s.contains(['"', '\\']), "path {s:?} needs escaping");
    format!("\"{s}\"")
}

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
    (
        "[mail]\nsendmail_timeout = \"1h 1s\"\n",
        "mail.sendmail_timeout",
    ),
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
         [mail]\nsendmail_timeout = \"1h\"\n\
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

// ---- 2. No AUTH in cleartext -----------------------------------------------------------------

fn plain_auth_server() -> Server {
    Server::start(Options {
        auth: Some((SMTP_USER.to_owned(), SMTP_PASSWORD.to_owned())),
        ..Options::default()
    })
}

fn plain_config(port: u16, extra: &str) -> String {
    format!(
        "[mail]\nfrom = \"{FROM}\"\n\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\ntimeout = \"5s\"\n{extra}"
    )
}

/// `admin-reset alice` with a notice, the SMTP password in the environment.
fn notify_alice(sb: &Sandbox) -> Run {
    let mut cmd = sb.cmd();
    cmd.env("TWOFACTL_SMTP_PASSWORD", SMTP_PASSWORD)
        .arg("--db")
        .arg(&sb.db)
        .args(["admin-reset", "alice", "--reason", "r", "--yes"]);
    Run::of(&mut cmd)
}

fn doctor(sb: &Sandbox) -> Run {
    let mut cmd = sb.cmd();
    cmd.env("TWOFACTL_SMTP_PASSWORD", SMTP_PASSWORD)
        .arg("--db")
        .arg(&sb.db)
        .arg("doctor");
    Run::of(&mut cmd)
}

#[track_caller]
fn assert_no_auth_sent(server: &Server) {
    let commands = server.commands();
    assert!(
        !commands.iter().any(|c| c.starts_with("AUTH")),
        "AUTH reached the server in cleartext: {commands:?}"
    );
    assert!(server.messages().is_empty());
}

#[test]
fn auth_over_an_unencrypted_connection_is_refused_with_exit_8() {
    let server = plain_auth_server();
    let sb = Sandbox::new();
    sb.write_config(&plain_config(
        server.port,
        &format!("username = \"{SMTP_USER}\"\n"),
    ));
    let before = sb.hash();
    let run = notify_alice(&sb);
    run.code(8).one_error_line().never_shows(SMTP_PASSWORD);
    assert!(run.err().contains("hint: "), "no hint: {}", run.err());
    assert!(
        run.err().contains("allow_insecure_auth"),
        "the hint should name allow_insecure_auth: {}",
        run.err()
    );
    sb.assert_unchanged(&before);

    let run = doctor(&sb);
    run.code(8).never_shows(SMTP_PASSWORD);
    assert!(
        run.out()
            .lines()
            .any(|l| l.starts_with("FAIL") && l.contains("AUTH") && l.contains("unencrypted")),
        "doctor should say AUTH would be refused over an unencrypted connection:\n{}",
        run.out()
    );
    assert_no_auth_sent(&server);
}

#[test]
fn auth_from_the_application_settings_is_refused_too() {
    let server = plain_auth_server();
    let sb = Sandbox::new();
    let port = server.port.to_string();
    let conn = sb.conn();
    for (k, v) in [
        ("smtp.host", "127.0.0.1"),
        ("smtp.port", port.as_str()),
        ("smtp.security", "none"),
        ("smtp.username", SMTP_USER),
        ("smtp.password", SMTP_PASSWORD),
        ("smtp.from", FROM),
    ] {
        conn.execute(
            "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)",
            [k, v],
        )
        .unwrap();
    }
    drop(conn);
    let before = sb.hash();
    let run = sb.run(["admin-reset", "alice", "--reason", "r", "--yes"]);
    run.code(8).one_error_line().never_shows(SMTP_PASSWORD);
    sb.assert_unchanged(&before);
    assert_no_auth_sent(&server);
}

#[test]
fn allow_insecure_auth_permits_auth_without_tls_and_doctor_says_so() {
    let server = plain_auth_server();
    let sb = Sandbox::new();
    sb.write_config(&plain_config(
        server.port,
        &format!("username = \"{SMTP_USER}\"\nallow_insecure_auth = true\n"),
    ));
    notify_alice(&sb).ok().never_shows(SMTP_PASSWORD);
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].auth_user.as_deref(), Some(SMTP_USER));
    assert!(!messages[0].tls);

    let run = doctor(&sb);
    run.ok().never_shows(SMTP_PASSWORD);
    assert!(
        run.out().lines().any(|l| l.starts_with("ok")
            && l.contains("AUTH")
            && l.contains("allow_insecure_auth")),
        "doctor should say AUTH in cleartext is allowed by allow_insecure_auth:\n{}",
        run.out()
    );
}

// ---- 3. A sendmail that hangs ----------------------------------------------------------------

/// Whether process `pid` is gone (or a zombie waiting for a reaper that is not twofactl).
fn is_dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
    }
}

#[test]
fn a_sendmail_that_hangs_is_killed_after_sendmail_timeout() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let sh_pid = sb.path("sh.pid");
    let sleep_pid = sb.path("sleep.pid");
    let script = sb.write(
        "sendmail",
        format!(
            "#!/bin/sh\necho $$ > {}\nsleep 60 &\necho $! > {}\nwait\n",
            sh_pid.display(),
            sleep_pid.display()
        ),
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    sb.write_config(&format!(
        "[mail]\ntransport = \"sendmail\"\nsendmail_command = {}\nsendmail_timeout = \"1s\"\nfrom = \"{FROM}\"\n",
        toml_path(&script)
    ));
    let start = Instant::now();
    let run = sb.run(["admin-reset", "alice", "--reason", "r", "--yes", "-q"]);
    let took = start.elapsed();
    run.code(6).one_error_line().stderr_contains("timed out");
    assert!(took < Duration::from_secs(15), "took {took:?}");
    sb.assert_cleared("alice");
    let pending = sb.run(["outbox", "list", "--format", "json"]);
    pending.ok();
    assert_eq!(pending.json_lines().len(), 1, "{}", pending.out());
    for file in [&sh_pid, &sleep_pid] {
        let pid: u32 = std::fs::read_to_string(file)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
            .trim()
            .parse()
            .unwrap();
        assert!(
            wait_until(Duration::from_secs(5), || is_dead(pid)),
            "process {pid} ({}) still runs",
            file.display()
        );
    }
}

// ---- 4. --password-stdin reads one bounded line ----------------------------------------------

#[test]
fn a_password_line_over_4_kib_is_exit_2_and_changes_nothing() {
    let (sb, server) = sandbox_with_mail(STANDARD, "");
    let before = sb.hash();
    let run = request(&sb, "alice", &"x".repeat(5 * 1024), &[]);
    run.code(2).one_error_line().stderr_contains("4 KiB");
    sb.assert_unchanged(&before);
    assert!(server.messages().is_empty());
}

#[test]
fn a_4000_byte_password_is_read_whole() {
    let (sb, server) = sandbox_with_mail(STANDARD, "");
    let password: String = (0..4000)
        .map(|i| char::from(b'a' + u8::try_from(i % 26).unwrap()))
        .collect();
    let argon2 = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(4096, 2, 1, None).unwrap(),
    );
    let phc = argon2
        .hash_password(password.as_bytes())
        .unwrap()
        .to_string();
    sb.conn()
        .execute(
            "UPDATE users SET password_hash = ?1 WHERE username = 'alice'",
            [phc],
        )
        .unwrap();
    // One byte short is a wrong password: the whole line counts.
    request(&sb, "alice", &password[..3999], &[]).code(3);
    request(&sb, "alice", &password, &[]).ok();
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn password_stdin_does_not_read_unbounded_input() {
    let (sb, _server) = sandbox_with_mail(STANDARD, "");
    let mut child = sb
        .std_cmd()
        .arg("--db")
        .arg(&sb.db)
        .args(["request-reset", "alice", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        // 200 MB without a newline; count what the binary took before it closed the pipe.
        let chunk = vec![b'x'; 64 * 1024];
        let mut written = 0usize;
        for _ in 0..3200 {
            match stdin.write_all(&chunk) {
                Ok(()) => written += chunk.len(),
                Err(_) => break,
            }
        }
        written
    });
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let written = writer.join().unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        written < 1 << 20,
        "the binary read {written} bytes of an endless password line"
    );
}

// ---- 5. A closed stdout pipe -----------------------------------------------------------------

#[test]
fn demo_into_a_closed_pipe_exits_0() {
    for read in [0usize, 1] {
        let sb = Sandbox::empty();
        let mut child = sb
            .std_cmd()
            .args(["demo", "sandbox"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        {
            // `| true` reads nothing, `| head -c1` one byte; both then close the pipe.
            let mut out = child.stdout.take().unwrap();
            let mut buf = vec![0; read];
            out.read_exact(&mut buf).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "reading {read} bytes: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

// ---- 6. Text from the database on a terminal -------------------------------------------------

/// A username with ESC, CSI (U+009B) and DEL.
const NASTY: &str = "eve\u{1b}[31mred\u{9b}2Jx\u{7f}";

fn nasty_sandbox() -> Sandbox {
    let sb = Sandbox::new();
    add_users(
        &sb.conn(),
        &[U {
            name: NASTY,
            email: "eve@example.com",
            admin: false,
            state: State::Enabled,
            sessions: 0,
        }],
    );
    sb
}

/// Run the binary with `args` on a pseudo-terminal (util-linux `script`); returns its exit
/// code and what it wrote.
fn on_terminal(sb: &Sandbox, args: &[&str]) -> (Option<i32>, Vec<u8>) {
    let script = find_in_path("script").expect("util-linux script(1) is needed");
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut line = quote(bin().to_str().unwrap());
    line.push_str(" --db ");
    line.push_str(&quote(sb.db.to_str().unwrap()));
    for a in args {
        line.push(' ');
        line.push_str(&quote(a));
    }
    // The sandbox's clean environment, for `script` and so for the binary it runs.
    let mut cmd = StdCommand::new(script);
    cmd.env_clear();
    for (k, v) in sb.std_cmd().get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    let out = cmd
        .args(["-qec", &line, "/dev/null"])
        .current_dir(sb.dir())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (out.status.code(), out.stdout)
}

#[track_caller]
fn assert_no_raw_controls(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let bad: Vec<char> = text
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r'))
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: raw control characters {bad:?} reach the terminal:\n{text}"
    );
}

#[test]
fn text_from_the_database_is_escaped_on_a_terminal_in_every_format() {
    let sb = nasty_sandbox();
    for args in [
        &["list-users"][..],
        &["list-users", "--format", "csv"],
        &["list-users", "--format", "json"],
        &[
            "admin-reset",
            "eve@example.com",
            "--dry-run",
            "--format",
            "json",
        ],
    ] {
        let (code, out) = on_terminal(&sb, args);
        assert_eq!(code, Some(0), "{args:?}: {}", String::from_utf8_lossy(&out));
        assert_no_raw_controls(&format!("{args:?}"), &out);
        assert!(
            String::from_utf8_lossy(&out).contains("eve"),
            "{args:?}: {}",
            String::from_utf8_lossy(&out)
        );
    }
}

#[test]
fn csv_is_raw_through_a_pipe_and_json_escapes_c1_controls_everywhere() {
    let sb = nasty_sandbox();
    let run = sb.run(["list-users", "--format", "csv"]);
    run.ok();
    assert!(
        run.out()
            .lines()
            .any(|l| l.starts_with(&format!("8,{NASTY},"))),
        "piped CSV should carry the name as stored:\n{}",
        run.out()
    );

    let run = sb.run(["list-users", "--format", "json", "--match", "eve"]);
    run.ok();
    assert_no_raw_controls("piped JSON", &run.stdout);
    let out = run.out();
    for escape in ["\\u001b", "\\u009b", "\\u007f"] {
        assert!(out.contains(escape), "JSON lacks {escape}: {out}");
    }
    let lines = run.json_lines();
    assert_eq!(lines[0]["username"], Value::from(NASTY));
}

// ---- 7. A reason with control characters ----------------------------------------------------

#[test]
fn a_reason_with_control_characters_is_exit_2_and_changes_nothing() {
    let sb = Sandbox::new();
    let before = sb.hash();
    for reason in [
        "ticket 1\nforged line",
        "ticket\r1",
        "ticket \u{1b}[2J1",
        "tab\tseparated",
        "del\u{7f}",
        "csi\u{9b}2J",
    ] {
        let run = sb.reset(["alice", "--reason", reason, "--yes"]);
        run.code(2).one_error_line().no_control_bytes();
        assert!(
            run.error_line().contains("control character"),
            "{reason:?}: {}",
            run.err()
        );
        sb.assert_unchanged(&before);
    }
    assert!(sb.audit().is_empty());
}
