//! The promises a sysadmin relies on (each test reproduces a defect of twofactl 0.1):
//! replacing an active authenticator is a 2FA change with its reason, admin check,
//! notification and audit row, and the new key waits in twofactl's own table; a request left
//! `sending` by a dead run is settled; a committed change is always reported; a refused
//! enrolment changes nothing; a lock lasts until the time it announces.

use std::io::Write;
use std::process::{Command as StdCommand, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::enroll::{settle, totp_at};
use crate::self_service::{
    PASSWORD, mail_config, now, password_hash, request, request_code, request_states,
    sandbox_with_mail,
};
use crate::smtp::{Options, Server};
use crate::support::*;

/// root: an administrator with 2FA; bob: 2FA active, two sessions; dave: no 2FA.
const USERS: &[U<'static>] = &[
    U {
        name: "root",
        email: "root@example.com",
        admin: true,
        state: State::Enabled,
        sessions: 1,
    },
    U {
        name: "bob",
        email: "bob@example.com",
        admin: false,
        state: State::Enabled,
        sessions: 2,
    },
    U {
        name: "dave",
        email: "dave@example.com",
        admin: false,
        state: State::Disabled,
        sessions: 1,
    },
];

/// A sandbox of [`USERS`] (password [`PASSWORD`]) mailing to a server with `opts`.
fn sandbox_with(opts: Options, extra_config: &str) -> (Sandbox, Server) {
    let sb = Sandbox::with_users(USERS);
    sb.conn()
        .execute("UPDATE users SET password_hash = ?1", [password_hash()])
        .unwrap();
    let server = Server::start(opts);
    sb.write_config(&mail_config(server.port, extra_config));
    (sb, server)
}

/// The key twofactl holds pending for `user`, if any.
fn pending(sb: &Sandbox, user: &str) -> Option<String> {
    sb.pending_key(user)
}

/// The status list-users reports for `user`.
fn status_of(sb: &Sandbox, user: &str) -> String {
    let run = sb.run(["--format", "json", "list-users", "--match", user]);
    run.ok();
    let lines = run.json_lines();
    let line = lines
        .iter()
        .find(|l| l["username"] == user)
        .unwrap_or_else(|| panic!("{user} not listed"));
    line["status"].as_str().unwrap().to_owned()
}

fn audit_rows(
    sb: &Sandbox,
    user: &str,
    action: &str,
) -> Vec<(String, Option<String>, Option<String>, bool)> {
    sb.conn()
        .prepare(
            "SELECT outcome, actor, reason, changed FROM twofactl_audit
             WHERE username = ?1 AND action = ?2 ORDER BY id",
        )
        .unwrap()
        .query_map([user, action], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

// ---- 1. enroll --force is a 2FA change, and the new key waits in twofactl's table ----------

#[test]
fn replacing_an_active_authenticator_needs_a_reason_and_allow_admin_for_admins() {
    let (sb, server) = sandbox_with_mail(USERS, "");
    let png = sb.path("root.png");
    let png = png.to_str().unwrap();
    let before = sb.hash();
    sb.run(["enroll", "root", "--force", "--qr-png", png])
        .code(2)
        .stderr_contains("needs a reason");
    sb.assert_unchanged(&before);
    sb.run([
        "enroll",
        "root",
        "--force",
        "--qr-png",
        png,
        "--reason",
        "lost phone",
    ])
    .code(2)
    .stderr_contains("administrator")
    .stderr_contains("--allow-admin");
    sb.assert_unchanged(&before);
    assert!(!std::path::Path::new(png).exists());

    sb.run([
        "enroll",
        "root",
        "--force",
        "--qr-png",
        png,
        "--reason",
        "lost phone, ticket 7",
        "--allow-admin",
        "--actor",
        "root",
    ])
    .ok();
    // Until a code confirms the new key, the old authenticator keeps working.
    sb.assert_untouched(&USERS[0]);
    assert_eq!(sb.sessions("root"), 1);
    assert_eq!(status_of(&sb, "root"), "enabled");
    let key = pending(&sb, "root").expect("the new key is pending in twofactl's table");
    assert_ne!(key, secret_of("root"));
    assert!(
        server.messages().is_empty(),
        "nothing to tell before confirmation"
    );
    let created = audit_rows(&sb, "root", "enroll");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].0, "key_created");
    assert_eq!(created[0].2.as_deref(), Some("lost phone, ticket 7"));

    settle();
    sb.run(["enroll", "root", "--code", &totp_at(&key, now())])
        .ok()
        .stdout_contains("in place of the old one");
    assert_eq!(sb.totp("root"), (Some(key.clone()), 1));
    assert_eq!(
        sb.sessions("root"),
        0,
        "replacing an authenticator ends the sessions"
    );
    assert_eq!(pending(&sb, "root"), None);
    let rows = audit_rows(&sb, "root", "enroll");
    let confirmed = rows.last().unwrap();
    assert_eq!(confirmed.0, "confirmed");
    assert_eq!(confirmed.1.as_deref(), Some("root"), "actor");
    assert_eq!(
        confirmed.2.as_deref(),
        Some("lost phone, ticket 7"),
        "reason"
    );
    assert!(confirmed.3, "a 2FA change");
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].rcpt_to, vec!["root@example.com".to_owned()]);
    assert!(
        messages[0]
            .text()
            .unwrap()
            .contains("replaces your previous authenticator")
    );
}

#[test]
fn a_new_key_leaves_the_applications_columns_alone_until_confirmed() {
    let (sb, _server) = sandbox_with_mail(USERS, "");
    let png = sb.path("dave.png");
    sb.run(["enroll", "dave", "--qr-png", png.to_str().unwrap()])
        .ok();
    sb.assert_untouched(&USERS[2]);
    assert!(pending(&sb, "dave").is_some());
    assert_eq!(status_of(&sb, "dave"), "pending");
    let run = sb.run(["--format", "json", "list-users", "--status", "pending"]);
    run.ok();
    assert!(run.json_lines().iter().any(|l| l["username"] == "dave"));
    let run = sb.run(["--format", "json", "list-users", "--status", "disabled"]);
    run.ok();
    assert!(!run.json_lines().iter().any(|l| l["username"] == "dave"));
}

#[test]
fn a_second_enroll_while_a_key_is_pending_is_refused_unless_forced() {
    let (sb, _server) = sandbox_with_mail(USERS, "");
    let first = sb.path("1.png");
    sb.run(["enroll", "dave", "--qr-png", first.to_str().unwrap()])
        .ok();
    let key = pending(&sb, "dave").unwrap();
    let before = sb.hash();
    let second = sb.path("2.png");
    sb.run(["enroll", "dave", "--qr-png", second.to_str().unwrap()])
        .code(2)
        .stderr_contains("pending since")
        .stderr_contains("--code-stdin")
        .never_shows(&key);
    sb.assert_unchanged(&before);
    assert!(!second.exists());
    sb.run([
        "enroll",
        "dave",
        "--qr-png",
        second.to_str().unwrap(),
        "--force",
    ])
    .ok();
    assert_ne!(pending(&sb, "dave").unwrap(), key);
}

#[test]
fn of_ten_parallel_enrolls_for_one_user_exactly_one_succeeds() {
    let (sb, _server) = sandbox_with_mail(USERS, "");
    let children: Vec<_> = (0..10)
        .map(|i| {
            let mut cmd = sb.std_cmd();
            cmd.arg("--db")
                .arg(&sb.db)
                .args(["enroll", "dave", "--qr-png"])
                .arg(sb.path(&format!("p{i}.png")))
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    let codes: Vec<i32> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap().status.code().unwrap())
        .collect();
    assert_eq!(codes.iter().filter(|&&c| c == 0).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|&&c| c == 2).count(), 9, "{codes:?}");
    let made = audit_rows(&sb, "dave", "enroll");
    assert_eq!(made.len(), 1, "one key_created row: {made:?}");
    let files = (0..10)
        .filter(|i| sb.path(&format!("p{i}.png")).exists())
        .count();
    assert_eq!(files, 1, "only the winner's QR file is named");
    let leftovers = std::fs::read_dir(sb.dir())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".twofactl-")
        })
        .count();
    assert_eq!(leftovers, 0, "no staged file holding a key is left behind");
}

#[test]
fn codes_can_come_from_stdin() {
    let (sb, server) = sandbox_with_mail(USERS, "");
    let code = request_code(&sb, &server, "bob");
    let mut cmd = sb.cmd();
    cmd.arg("--db")
        .arg(&sb.db)
        .args(["verify", "bob", "--code-stdin"])
        .write_stdin(format!("{code}\n"));
    Run::of(&mut cmd).ok();
    sb.assert_cleared("bob");
    sb.run(["enroll", "bob", "--show-secret"]).ok();
    let key = pending(&sb, "bob").unwrap();
    settle();
    let mut cmd = sb.cmd();
    cmd.arg("--db")
        .arg(&sb.db)
        .args(["enroll", "bob", "--code-stdin"])
        .write_stdin(format!("{}\n", totp_at(&key, now())));
    Run::of(&mut cmd).ok();
    assert_eq!(sb.totp("bob"), (Some(key), 1));
}

// ---- 3. a request stuck in `sending` ----------------------------------------------------------

#[test]
fn a_request_whose_sender_was_killed_is_settled_by_the_next_run() {
    let (sb, server) = sandbox_with(
        Options {
            no_final_reply: true,
            ..Options::default()
        },
        "[reset]\nmax_requests_per_hour = 1\n",
    );
    let mut child = sb.std_cmd();
    child
        .arg("--db")
        .arg(&sb.db)
        .args(["request-reset", "bob", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = child.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(60), || server.unanswered() == 1),
        "the message never reached the server"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(request_states(&sb, "bob"), vec!["sending".to_owned()]);

    // The next run settles it at once: it never became usable and does not count.
    let working = Server::start(Options::default());
    sb.write_config(&mail_config(
        working.port,
        "[reset]\nmax_requests_per_hour = 1\n",
    ));
    let code = request_code(&sb, &working, "bob");
    assert_eq!(
        request_states(&sb, "bob"),
        vec!["undelivered".to_owned(), "open".to_owned()]
    );
    let abandoned: Vec<_> = audit_rows(&sb, "bob", "request-reset")
        .into_iter()
        .filter(|r| r.0 == "abandoned")
        .collect();
    assert_eq!(abandoned.len(), 1);
    sb.run(["verify", "bob", &code]).ok();
    sb.assert_cleared("bob");
}

#[test]
fn an_unconfirmed_send_says_the_mail_may_arrive_but_the_code_will_not_work() {
    let (sb, server) = sandbox_with(
        Options {
            no_final_reply: true,
            ..Options::default()
        },
        "",
    );
    sb.write_config(&mail_config(server.port, "").replace("timeout = \"5s\"", "timeout = \"1s\""));
    let run = request(&sb, "bob", PASSWORD, &[]);
    run.code(6)
        .stderr_contains("did not confirm")
        .stderr_contains("will not work");
    assert!(!run.err().contains("no code was issued"), "{}", run.err());
    assert_eq!(request_states(&sb, "bob"), vec!["undelivered".to_owned()]);
}

// ---- 4. a committed change is always reported ------------------------------------------------

/// Send SIGINT to `child` once `ready` holds; return its output.
fn interrupt_when(child: std::process::Child, ready: impl FnMut() -> bool) -> std::process::Output {
    assert!(
        wait_until(Duration::from_secs(60), ready),
        "never got ready"
    );
    let ok = StdCommand::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    child.wait_with_output().unwrap()
}

#[test]
fn ctrl_c_during_delivery_prints_every_committed_result_and_exits_6() {
    let (sb, server) = sandbox_with(
        Options {
            data_reply_delay: Duration::from_millis(700),
            ..Options::default()
        },
        "",
    );
    let child = sb
        .std_cmd()
        .arg("--db")
        .arg(&sb.db)
        .args([
            "--format",
            "json",
            "admin-reset",
            "bob",
            "dave",
            "root",
            "--allow-admin",
        ])
        .args(["--reason", "audit", "--yes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = interrupt_when(child, || server.commands().iter().any(|c| c == "DATA"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(6),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "three users and the summary:\n{stdout}");
    assert_eq!(lines[3]["summary"]["reset"], 2);
    assert!(stderr.contains("outbox send"), "{stderr}");
    sb.assert_cleared("bob");
    sb.assert_cleared("root");
    let unsent: i64 = sb
        .conn()
        .query_row(
            "SELECT count(*) FROM twofactl_outbox WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        unsent + server.messages().len() as i64,
        2,
        "each notification sent or waiting"
    );
    assert!(unsent >= 1, "Ctrl-C stopped the sending");
}

#[test]
fn a_busy_database_while_settling_the_outbox_still_reports_the_reset() {
    let (sb, server) = sandbox_with(
        Options {
            data_reply_delay: Duration::from_millis(1500),
            ..Options::default()
        },
        "[database]\nbusy_timeout = \"1s\"\n",
    );
    let child = sb
        .std_cmd()
        .arg("--db")
        .arg(&sb.db)
        .args([
            "--format",
            "json",
            "admin-reset",
            "bob",
            "--reason",
            "audit",
            "--yes",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(60), || server
        .commands()
        .iter()
        .any(|c| c == "DATA")));
    // The application takes the write lock while the message is being accepted.
    let conn = sb.conn();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    let start = Instant::now();
    let out = child.wait_with_output().unwrap();
    conn.execute_batch("COMMIT").unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(6),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(start.elapsed() < Duration::from_secs(30));
    assert!(stdout.contains("\"outcome\":\"reset\""), "{stdout}");
    assert!(stdout.contains("\"summary\""), "{stdout}");
    assert!(stderr.contains("committed"), "{stderr}");
    sb.assert_cleared("bob");
    assert_eq!(server.messages().len(), 1, "sent once, not twice");
    // The message went out but could not be marked sent: it is "interrupted", never resent
    // without --retry-interrupted.
    sb.run(["outbox", "send"]).ok();
    assert_eq!(server.messages().len(), 1);
}

// ---- 5. a refused enroll changes nothing ------------------------------------------------------

#[test]
fn refused_output_paths_change_nothing() {
    let (sb, _server) = sandbox_with_mail(USERS, "");
    std::os::unix::fs::symlink(sb.path("nowhere/target.png"), sb.path("dangling.png")).unwrap();
    std::fs::create_dir(sb.path("adir")).unwrap();
    assert!(
        StdCommand::new("mkfifo")
            .arg(sb.path("fifo"))
            .status()
            .unwrap()
            .success()
    );
    let before = sb.hash();
    let cases: Vec<Vec<String>> = vec![
        vec![
            "--qr-png".into(),
            sb.path("dangling.png").display().to_string(),
        ],
        vec![
            "--qr-png".into(),
            sb.path("dangling.png").display().to_string(),
            "--force".into(),
        ],
        vec![
            "--qr-png".into(),
            "s.out".into(),
            "--qr-svg".into(),
            "s.out".into(),
        ],
        vec![
            "--qr-png".into(),
            "s.out".into(),
            "--qr-svg".into(),
            "./s.out".into(),
        ],
        vec!["--qr-png".into(), "/dev/null".into(), "--force".into()],
        vec![
            "--qr-png".into(),
            sb.path("adir").display().to_string(),
            "--force".into(),
        ],
        vec![
            "--qr-svg".into(),
            sb.path("fifo").display().to_string(),
            "--force".into(),
        ],
        vec![
            "--qr-png".into(),
            sb.path("no/such/dir.png").display().to_string(),
        ],
    ];
    for args in cases {
        let mut all = vec!["enroll".to_owned(), "dave".to_owned()];
        all.extend(args.clone());
        sb.run(&all).code(2);
        sb.assert_unchanged(&before);
        assert!(!sb.path("s.out").exists(), "{args:?}");
    }
    assert!(
        std::fs::symlink_metadata(sb.path("dangling.png"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
}

#[test]
fn verify_enroll_checks_what_enrolment_needs_before_the_reset() {
    let (sb, server) = sandbox_with_mail(USERS, "");
    sb.conn()
        .execute("DELETE FROM settings WHERE key = 'app.name'", [])
        .unwrap();
    let code = request_code(&sb, &server, "bob");
    let before = sb.hash();
    sb.run(["verify", "bob", &code, "--enroll", "--qr-png", "b.png"])
        .code(8)
        .stderr_contains("issuer");
    sb.assert_unchanged(&before);
    sb.assert_untouched(&USERS[1]);
    let png = sb.path("exists.png");
    std::fs::write(&png, b"x").unwrap();
    sb.run([
        "verify",
        "bob",
        &code,
        "--enroll",
        "--qr-png",
        png.to_str().unwrap(),
    ])
    .code(2);
    sb.assert_unchanged(&before);
}

// ---- 6. a lock lasts until the time it announces ----------------------------------------------

#[test]
fn a_password_lock_lasts_until_the_time_it_announces() {
    let (sb, _server) = sandbox_with_mail(
        USERS,
        "[reset]\nmax_password_failures = 2\nlockout = \"4s\"\n",
    );
    request(&sb, "bob", "wrong", &[]).code(3);
    thread::sleep(Duration::from_secs(3));
    let run = request(&sb, "bob", "wrong", &[]);
    run.code(3).stderr_contains("locked");
    let announced = crate::self_service::times_in(&run.err());
    let until = *announced.last().expect("the lock names its end");
    // The first failure is now older than the lockout; the lock still holds until `until`.
    thread::sleep(Duration::from_millis(1500));
    assert!(now() < until, "the test machine is too slow for this test");
    request(&sb, "bob", PASSWORD, &[])
        .code(5)
        .stderr_contains("locked");
    while now() <= until {
        thread::sleep(Duration::from_millis(200));
    }
    request(&sb, "bob", PASSWORD, &[]).ok();
}
