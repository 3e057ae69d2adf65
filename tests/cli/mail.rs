//! E-mail through the real binary and a real SMTP server on 127.0.0.1: the notices
//! `admin-reset` sends (headers, both MIME parts, content, no secrets), one connection for a
//! bulk run, STARTTLS / implicit TLS / AUTH, the application's `smtp.*` settings under the
//! config file, every delivery failure (exit 6, one line naming the server, the reset kept and
//! the message left in the outbox), the outbox delivering the rest later, `--no-notify`,
//! `--dry-run`, no mail configured (exit 8), the file transport, and `doctor`.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mail_parser::MimeHeaders;
use serde_json::Value;

use crate::smtp::{Options, Received, Security, Server, closed_port, silent_server};
use crate::support::*;

const FROM_NAME: &str = "Fixture Ops";
const FROM_ADDR: &str = "ops@example.com";
const REASON: &str = "lost phone, ticket 4711";
const SUBJECT: &str = "Fixture App: your two-factor authentication was reset";
const USER: &str = "twofactl-mailer";
const PASSWORD: &str = "s3cret-Sm7p-pa55word";

/// The three non-admin users with 2FA enabled in the standard fixture.
const THREE: [&str; 3] = ["alice", "bob", "Frank.Miller"];

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A path as a TOML string.
fn toml_path(p: &Path) -> String {
    let s = p.to_str().expect("temp paths are UTF-8");
    assert!(
        !s.contains(['"', '\\']),
        "path {s:?} needs escaping in TOML"
    );
    format!("\"{s}\"")
}

/// A config that sends through 127.0.0.1:`port` with `security`; `extra` lines go into the
/// `[smtp]` section.
fn smtp_config(port: u16, security: &str, extra: &str) -> String {
    format!(
        "[mail]\nfrom = \"{FROM_NAME} <{FROM_ADDR}>\"\n\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"{security}\"\ntimeout = \"5s\"\n{extra}"
    )
}

/// A sandbox (standard fixture) whose config sends in plain text to `server`.
fn plain_sandbox(server: &Server) -> Sandbox {
    let sb = Sandbox::new();
    sb.write_config(&smtp_config(server.port, "none", ""));
    sb
}

/// `admin-reset -y --reason REASON --format json EXTRA... USERS...`, notifying (no `--no-notify`).
fn notify_reset(sb: &Sandbox, extra: &[&str], users: &[&str]) -> Run {
    let mut args = vec!["admin-reset", "-y", "--reason", REASON, "--format", "json"];
    args.extend_from_slice(extra);
    args.extend_from_slice(users);
    sb.run(args)
}

fn email_of(name: &str) -> &'static str {
    STANDARD
        .iter()
        .find(|u| u.name == name)
        .unwrap_or_else(|| panic!("no {name} in the standard fixture"))
        .email
}

/// The JSON Lines report: username -> notified, and the summary line.
#[track_caller]
fn notified(run: &Run) -> (BTreeMap<String, bool>, Value) {
    let mut lines = run.json_lines();
    let summary = lines.pop().expect("no summary line");
    assert!(summary.get("summary").is_some(), "last line {summary}");
    let map = lines
        .iter()
        .map(|l| {
            assert_eq!(l["outcome"], "reset", "{l}");
            (
                l["username"].as_str().unwrap().to_owned(),
                l["notified"]
                    .as_bool()
                    .unwrap_or_else(|| panic!("notified is not a bool in {l}")),
            )
        })
        .collect();
    (map, summary)
}

/// Each recipient of `messages` (lowercased), in order.
fn recipients(messages: &[Received]) -> Vec<String> {
    messages
        .iter()
        .flat_map(|m| m.rcpt_to.iter().map(|r| r.to_ascii_lowercase()))
        .collect()
}

#[track_caller]
fn assert_recipients(messages: &[Received], expected: &[&str]) {
    let mut got = recipients(messages);
    got.sort();
    let mut want: Vec<String> = expected.iter().map(|e| e.to_ascii_lowercase()).collect();
    want.sort();
    assert_eq!(got, want, "who the server received mail for");
}

/// `2026-11-27 22:23 UTC` from a Date header's fields.
fn minute_utc(d: &mail_parser::DateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        d.year, d.month, d.day, d.hour, d.minute
    )
}

/// No fixture user's TOTP key or password hash, nor any Argon2 hash, in the message: not in
/// the bytes the server received, not in either decoded part.
#[track_caller]
fn assert_no_secrets(m: &Received) {
    let raw = String::from_utf8_lossy(&m.data).into_owned();
    let texts = [
        raw.clone(),
        raw.replace("=\r\n", ""),
        m.text().unwrap_or_default(),
        m.html().unwrap_or_default(),
    ];
    for t in &texts {
        assert!(!t.contains("$argon2"), "a password hash in a message:\n{t}");
        for u in STANDARD {
            assert!(
                !t.contains(&secret_of(u.name)),
                "{}'s TOTP key in a message:\n{t}",
                u.name
            );
            assert!(
                !t.contains(&hash_of(u.name)),
                "{}'s password hash in a message:\n{t}",
                u.name
            );
        }
    }
}

/// The envelope: from `FROM_ADDR` to `email` alone.
#[track_caller]
fn assert_envelope(m: &Received, email: &str) {
    assert_eq!(m.mail_from, FROM_ADDR, "envelope sender");
    assert_eq!(
        recipients(std::slice::from_ref(m)),
        [email.to_ascii_lowercase()],
        "envelope recipients"
    );
}

/// A well-formed admin-reset notice (the message, not the envelope) to `username` at
/// `email`, dated between `before` and `after` (unix seconds), from `FROM_NAME <FROM_ADDR>`,
/// with `subject`. Returns (text, html).
#[track_caller]
fn assert_notice(
    m: &Received,
    username: &str,
    email: &str,
    subject: &str,
    (before, after): (i64, i64),
) -> (String, String) {
    let msg = m.parsed();
    let from = msg.from().and_then(|a| a.first()).expect("no From header");
    assert_eq!(from.address(), Some(FROM_ADDR), "From address");
    assert_eq!(from.name(), Some(FROM_NAME), "From name");
    let to = msg.to().and_then(|a| a.first()).expect("no To header");
    assert_eq!(
        to.address().map(str::to_ascii_lowercase),
        Some(email.to_ascii_lowercase()),
        "To address"
    );
    assert_eq!(msg.subject(), Some(subject), "Subject");
    let date = msg.date().expect("no (valid) Date header");
    assert!(
        date.tz_hour == 0 && date.tz_minute == 0,
        "Date is not in UTC: {date:?}"
    );
    let t = date.to_timestamp();
    assert!(
        (before - 1..=after + 1).contains(&t),
        "Date {t} is not the time of the run ({before}..{after})"
    );
    let id = msg.message_id().expect("no Message-ID header");
    assert!(id.contains('@'), "Message-ID {id:?} has no @");
    let ct = msg.root_part().content_type().expect("no Content-Type");
    assert!(
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("alternative")),
        "Content-Type is {ct:?}, not multipart/alternative"
    );
    let text = m.text().expect("no text/plain part");
    let html = m.html().expect("no text/html part");
    let when = minute_utc(date);
    for (what, body) in [("text", &text), ("html", &html)] {
        assert!(
            body.contains(&format!("Hello {username},")),
            "the {what} part does not greet {username}:\n{body}"
        );
        assert!(
            body.contains("contact your administrator"),
            "the {what} part lacks the contact-your-administrator line:\n{body}"
        );
        assert!(
            body.contains(&when),
            "the {what} part lacks the time {when:?}:\n{body}"
        );
    }
    assert!(
        html.contains("<p>") && html.contains("</html>"),
        "the HTML part is not HTML:\n{html}"
    );
    assert!(
        !text.contains("<p>"),
        "the text part carries HTML markup:\n{text}"
    );
    assert_no_secrets(m);
    (text, html)
}

/// The rows `outbox list --format json` shows.
#[track_caller]
fn outbox_list(sb: &Sandbox) -> Vec<Value> {
    let run = sb.run(["outbox", "list", "--format", "json"]);
    run.ok();
    run.json_lines()
}

/// (username, detail) of every audit row, oldest first.
fn audit_details(sb: &Sandbox) -> Vec<(String, Option<String>)> {
    sb.conn()
        .prepare("SELECT username, detail FROM twofactl_audit ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn outbox_rows(sb: &Sandbox) -> i64 {
    let conn = sb.conn();
    if !has_table(&conn, "twofactl_outbox") {
        return 0;
    }
    conn.query_row("SELECT count(*) FROM twofactl_outbox", [], |r| r.get(0))
        .unwrap()
}

/// After a failed delivery: the users are reset with an audit row each, and exactly
/// `unsent` are in the outbox with a last error containing `error`.
#[track_caller]
fn assert_reset_kept_and_queued(sb: &Sandbox, reset: &[&str], unsent: &[&str], error: &str) {
    for name in reset {
        sb.assert_cleared(name);
        assert_eq!(sb.sessions(name), 0, "{name}'s sessions should be revoked");
    }
    let audit = sb.audit();
    let mut audited: Vec<&str> = audit
        .iter()
        .filter(|a| a.action == "admin-reset" && a.outcome == "reset")
        .map(|a| a.username.as_str())
        .collect();
    audited.sort_unstable();
    let mut want = reset.to_vec();
    want.sort_unstable();
    assert_eq!(audited, want, "audit rows of the reset");
    let rows = outbox_list(sb);
    let mut queued: Vec<&str> = rows
        .iter()
        .map(|r| r["username"].as_str().unwrap())
        .collect();
    queued.sort_unstable();
    let mut want = unsent.to_vec();
    want.sort_unstable();
    assert_eq!(queued, want, "the outbox should hold the unsent notices");
    for r in &rows {
        let name = r["username"].as_str().unwrap();
        let email: String = sb
            .conn()
            .query_row(
                "SELECT email FROM users WHERE username = ?1",
                [name],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(r["recipient"].as_str(), Some(email.as_str()), "{r}");
        assert_eq!(r["kind"], "admin-reset", "{r}");
        assert_eq!(r["state"], "pending", "{r}");
        assert_eq!(r["attempts"], 1, "{r}");
        let last = r["last_error"]
            .as_str()
            .unwrap_or_else(|| panic!("no last_error in {r}"));
        assert!(last.contains(error), "last_error {last:?} lacks {error:?}");
    }
}

// ---- What the messages say -------------------------------------------------------------------

#[test]
fn admin_reset_notifies_each_user_with_a_proper_message() {
    let server = Server::start(Options::default());
    let sb = plain_sandbox(&server);
    let before = now();
    let run = notify_reset(&sb, &[], &THREE);
    let after = now();
    run.ok();

    let (notified, summary) = notified(&run);
    let want: BTreeMap<String, bool> = THREE.iter().map(|n| ((*n).to_owned(), true)).collect();
    assert_eq!(notified, want, "notified per user");
    assert_eq!(summary["summary"]["reset"], 3, "{summary}");

    let messages = server.messages();
    assert_eq!(messages.len(), 3, "one message per reset user");
    let emails: Vec<&str> = THREE.iter().map(|n| email_of(n)).collect();
    assert_recipients(&messages, &emails);
    let mut ids = HashSet::new();
    for m in &messages {
        assert!(!m.tls, "the plain-text server cannot have had TLS");
        assert_eq!(m.auth_user, None);
        let name = THREE
            .iter()
            .find(|n| m.rcpt_to[0].eq_ignore_ascii_case(email_of(n)))
            .unwrap();
        assert_envelope(m, email_of(name));
        let (text, html) = assert_notice(m, name, email_of(name), SUBJECT, (before, after));
        // Without --show-reason the reason stays in the audit log only.
        for body in [&text, &html, &String::from_utf8_lossy(&m.data).into_owned()] {
            assert!(
                !body.contains("4711") && !body.contains("Reason"),
                "the reason is in a message without --show-reason:\n{body}"
            );
        }
        assert!(
            ids.insert(m.parsed().message_id().unwrap().to_owned()),
            "two messages share a Message-ID"
        );
    }
    for a in sb.audit() {
        assert_eq!(
            a.reason.as_deref(),
            Some(REASON),
            "the audit keeps the reason"
        );
    }
    for (name, detail) in audit_details(&sb) {
        let detail = detail.unwrap_or_default();
        assert!(
            !detail.contains("not notified"),
            "{name}'s audit row says not notified: {detail:?}"
        );
    }
    assert!(outbox_list(&sb).is_empty(), "nothing should stay unsent");
}

#[test]
fn show_reason_puts_the_reason_in_the_message() {
    let server = Server::start(Options::default());
    let sb = plain_sandbox(&server);
    let reason = "ticket <4711> & \"lost\" phone";
    let before = now();
    let run = sb.run([
        "admin-reset",
        "-y",
        "--reason",
        reason,
        "--show-reason",
        "bob",
    ]);
    let after = now();
    run.ok();
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    assert_envelope(&messages[0], "bob@example.com");
    let (text, html) = assert_notice(
        &messages[0],
        "bob",
        "bob@example.com",
        SUBJECT,
        (before, after),
    );
    assert!(
        text.contains(reason),
        "the text part lacks the reason:\n{text}"
    );
    assert!(
        html.contains("ticket &lt;4711&gt; &amp; &quot;lost&quot; phone"),
        "the HTML part lacks the reason, escaped:\n{html}"
    );
    assert!(
        !html.contains("<4711>"),
        "the HTML part has the reason unescaped:\n{html}"
    );
}

#[test]
fn a_utf8_application_name_is_mime_encoded_in_the_subject() {
    let server = Server::start(Options::default());
    let sb = plain_sandbox(&server);
    sb.conn()
        .execute(
            "UPDATE settings SET value = 'Sécurité Zoë' WHERE key = 'app.name'",
            [],
        )
        .unwrap();
    let before = now();
    let run = notify_reset(&sb, &[], &["alice"]);
    let after = now();
    run.ok();
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_envelope(m, "alice@example.com");
    let raw = String::from_utf8_lossy(&m.data).into_owned();
    let (head, _) = raw
        .split_once("\r\n\r\n")
        .expect("no blank line after the header");
    assert!(head.is_ascii(), "raw 8-bit text in the header:\n{head}");
    let subject_raw = m.parsed().header_raw("Subject").unwrap().to_owned();
    assert!(
        subject_raw.to_ascii_lowercase().contains("=?utf-8?"),
        "the Subject is not RFC 2047 encoded: {subject_raw:?}"
    );
    let (text, html) = assert_notice(
        m,
        "alice",
        "alice@example.com",
        "Sécurité Zoë: your two-factor authentication was reset",
        (before, after),
    );
    assert!(text.contains("Sécurité Zoë"), "{text}");
    assert!(html.contains("Sécurité Zoë"), "{html}");
}

#[test]
fn a_hostile_application_name_cannot_add_headers() {
    let server = Server::start(Options::default());
    let sb = plain_sandbox(&server);
    set(
        &sb,
        &[(
            "app.name",
            "Evil\r\nBcc: attacker@evil.example\r\nX-Injected: yes",
        )],
    );
    notify_reset(&sb, &[], &["alice"]).ok();
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_envelope(m, "alice@example.com");
    let msg = m.parsed();
    assert!(
        msg.header_raw("Bcc").is_none() && msg.header_raw("X-Injected").is_none(),
        "the application's name added headers:\n{}",
        String::from_utf8_lossy(&m.data)
    );
    let subject = msg.subject().unwrap_or_default();
    assert!(
        subject.starts_with("Evil") && subject.contains("attacker@evil.example"),
        "the Subject should carry the whole name: {subject:?}"
    );
}

#[test]
fn a_bulk_run_reuses_one_smtp_connection() {
    const N: usize = 50;
    let names: Vec<String> = (0..N).map(|i| format!("bulk{i:02}")).collect();
    let emails: Vec<String> = names.iter().map(|n| format!("{n}@example.net")).collect();
    let users: Vec<U<'_>> = names
        .iter()
        .zip(&emails)
        .map(|(n, e)| U {
            name: n,
            email: e,
            admin: false,
            state: State::Enabled,
            sessions: 1,
        })
        .collect();
    let sb = Sandbox::with_users(&users);
    let server = Server::start(Options::default());
    sb.write_config(&smtp_config(server.port, "none", ""));
    let list = sb.write("users.txt", names.join("\n"));
    let run = notify_reset(&sb, &["--from-file", list.to_str().unwrap()], &[]);
    run.ok();
    let (notified, _) = notified(&run);
    assert_eq!(notified.len(), N);
    assert!(
        notified.values().all(|n| *n),
        "every user should be notified: {notified:?}"
    );
    let messages = server.messages();
    let want: Vec<&str> = emails.iter().map(String::as_str).collect();
    assert_recipients(&messages, &want);
    assert_eq!(
        server.connections(),
        1,
        "{N} messages should share one SMTP connection"
    );
    let commands = server.commands();
    let count = |verb: &str| commands.iter().filter(|c| c.starts_with(verb)).count();
    assert_eq!(count("EHLO"), 1, "one greeting: {commands:?}");
    assert_eq!(count("MAIL FROM"), N, "one transaction per message");
}

// ---- TLS and AUTH ----------------------------------------------------------------------------

#[test]
fn starttls_with_the_test_ca_from_ca_file() {
    let server = Server::start(Options {
        security: Security::StartTls,
        ..Options::default()
    });
    let sb = Sandbox::new();
    sb.write_config(&smtp_config(
        server.port,
        "starttls",
        &format!("ca_file = {}\n", toml_path(&server.ca_pem)),
    ));
    notify_reset(&sb, &[], &["alice", "bob"]).ok();
    let messages = server.messages();
    assert_recipients(&messages, &["alice@example.com", "bob@example.com"]);
    assert!(
        messages.iter().all(|m| m.tls),
        "a message arrived without TLS"
    );
    assert!(
        server.commands().iter().any(|c| c == "STARTTLS"),
        "the client never sent STARTTLS"
    );
}

#[test]
fn implicit_tls() {
    let server = Server::start(Options {
        security: Security::Tls,
        ..Options::default()
    });
    let sb = Sandbox::new();
    sb.write_config(&smtp_config(
        server.port,
        "tls",
        &format!("ca_file = {}\n", toml_path(&server.ca_pem)),
    ));
    notify_reset(&sb, &[], &["alice"]).ok();
    let messages = server.messages();
    assert_recipients(&messages, &["alice@example.com"]);
    assert!(messages[0].tls, "the message arrived without TLS");
}

fn auth_server() -> Server {
    Server::start(Options {
        security: Security::StartTls,
        auth: Some((USER.to_owned(), PASSWORD.to_owned())),
        ..Options::default()
    })
}

/// STARTTLS + AUTH config for `server` with `username` and extra `[smtp]` lines.
fn auth_config(server: &Server, extra: &str) -> String {
    smtp_config(
        server.port,
        "starttls",
        &format!(
            "ca_file = {}\nusername = \"{USER}\"\n{extra}",
            toml_path(&server.ca_pem)
        ),
    )
}

#[test]
fn auth_with_the_password_from_password_file() {
    let server = auth_server();
    let sb = Sandbox::new();
    let pw = sb.write("smtp-password", format!("{PASSWORD}\n"));
    sb.write_config(&auth_config(
        &server,
        &format!("password_file = {}\n", toml_path(&pw)),
    ));
    let run = notify_reset(&sb, &[], &["alice"]);
    run.ok().never_shows(PASSWORD);
    let messages = server.messages();
    assert_recipients(&messages, &["alice@example.com"]);
    assert_eq!(messages[0].auth_user.as_deref(), Some(USER));
    assert!(messages[0].tls);
}

#[test]
fn auth_with_the_password_from_the_environment() {
    let server = auth_server();
    let sb = Sandbox::new();
    sb.write_config(&auth_config(&server, ""));
    let mut cmd = sb.cmd();
    cmd.env("TWOFACTL_SMTP_PASSWORD", PASSWORD)
        .arg("--db")
        .arg(&sb.db)
        .args([
            "admin-reset",
            "-y",
            "--reason",
            REASON,
            "--format",
            "json",
            "bob",
        ]);
    let run = Run::of(&mut cmd);
    run.ok().never_shows(PASSWORD);
    let messages = server.messages();
    assert_recipients(&messages, &["bob@example.com"]);
    assert_eq!(messages[0].auth_user.as_deref(), Some(USER));
}

#[test]
fn auth_failure_is_exit_6_naming_the_server_without_the_password() {
    let server = auth_server();
    let sb = Sandbox::new();
    let wrong = "wr0ng-Pa55word-xyzzy";
    let pw = sb.write("smtp-password", format!("{wrong}\n"));
    sb.write_config(&auth_config(
        &server,
        &format!("password_file = {}\n", toml_path(&pw)),
    ));
    let run = notify_reset(&sb, &["-q"], &["alice", "bob"]);
    run.code(6)
        .one_error_line()
        .never_shows(wrong)
        .never_shows(PASSWORD);
    let line = run.error_line();
    assert!(
        line.contains(&format!("127.0.0.1:{}", server.port)),
        "the message does not name the server: {line}"
    );
    assert!(
        line.to_ascii_lowercase().contains("authentication"),
        "the message does not say authentication failed: {line}"
    );
    assert!(server.messages().is_empty());
    let (notified, _) = notified(&run);
    assert!(notified.values().all(|n| !n), "{notified:?}");
    assert_reset_kept_and_queued(&sb, &["alice", "bob"], &["alice", "bob"], "127.0.0.1");
    sb.run(["outbox", "list"]).ok().never_shows(wrong);
    let bytes = std::fs::read(&sb.db).unwrap();
    assert!(
        !bytes.windows(wrong.len()).any(|w| w == wrong.as_bytes()),
        "the SMTP password was written to the database"
    );
}

#[test]
fn an_untrusted_certificate_is_exit_6_naming_the_problem() {
    let server = Server::start(Options {
        security: Security::StartTls,
        untrusted_cert: true,
        ..Options::default()
    });
    let sb = Sandbox::new();
    sb.write_config(&smtp_config(
        server.port,
        "starttls",
        &format!("ca_file = {}\n", toml_path(&server.ca_pem)),
    ));
    let run = notify_reset(&sb, &["-q"], &["alice"]);
    run.code(6).one_error_line();
    let line = run.error_line();
    let lower = line.to_ascii_lowercase();
    assert!(
        line.contains(&format!("127.0.0.1:{}", server.port)),
        "the message does not name the server: {line}"
    );
    assert!(
        lower.contains("certificate")
            && (lower.contains("unknownissuer") || lower.contains("unknown issuer")),
        "the message does not name the certificate problem (unknown issuer): {line}"
    );
    assert!(server.messages().is_empty());
    assert_reset_kept_and_queued(&sb, &["alice"], &["alice"], "certificate");
}

// ---- Where the settings come from ------------------------------------------------------------

fn set(sb: &Sandbox, settings: &[(&str, &str)]) {
    let conn = sb.conn();
    for (k, v) in settings {
        conn.execute(
            "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)",
            [k, v],
        )
        .unwrap();
    }
}

#[test]
fn smtp_settings_come_from_the_application_when_the_config_has_none() {
    let server = Server::start(Options {
        auth: Some((USER.to_owned(), PASSWORD.to_owned())),
        ..Options::default()
    });
    let sb = Sandbox::new();
    let port = server.port.to_string();
    set(
        &sb,
        &[
            ("smtp.host", "127.0.0.1"),
            ("smtp.port", &port),
            ("smtp.security", "none"),
            ("smtp.username", USER),
            ("smtp.password", PASSWORD),
            ("smtp.from", "Settings Sender <settings@example.com>"),
        ],
    );
    // The config file only allows AUTH without TLS (the test server has none); the rest
    // comes from the application.
    sb.write_config("[smtp]\nallow_insecure_auth = true\n");
    let run = notify_reset(&sb, &[], &["alice"]);
    run.ok().never_shows(PASSWORD);
    let messages = server.messages();
    assert_recipients(&messages, &["alice@example.com"]);
    let m = &messages[0];
    assert_eq!(m.mail_from, "settings@example.com", "envelope sender");
    let msg = m.parsed();
    let from = msg.from().and_then(|a| a.first()).unwrap();
    assert_eq!(from.address(), Some("settings@example.com"));
    assert_eq!(from.name(), Some("Settings Sender"));
    assert_eq!(m.auth_user.as_deref(), Some(USER));
}

#[test]
fn the_config_file_overrides_the_applications_smtp_settings() {
    let server = Server::start(Options::default());
    let sb = Sandbox::new();
    let wrong_port = closed_port().to_string();
    // Every one of these would fail: nothing on 127.0.0.2, a closed port, STARTTLS that the
    // plain server does not offer.
    set(
        &sb,
        &[
            ("smtp.host", "127.0.0.2"),
            ("smtp.port", &wrong_port),
            ("smtp.security", "starttls"),
            ("smtp.from", "Settings Sender <settings@example.com>"),
        ],
    );
    sb.write_config(&smtp_config(server.port, "none", ""));
    notify_reset(&sb, &[], &["alice"]).ok();
    let messages = server.messages();
    assert_recipients(&messages, &["alice@example.com"]);
    assert_eq!(messages[0].mail_from, FROM_ADDR, "[mail] from should win");
    let msg = messages[0].parsed();
    assert_eq!(
        msg.from().and_then(|a| a.first()).and_then(|a| a.address()),
        Some(FROM_ADDR)
    );
}

// ---- Failures --------------------------------------------------------------------------------

#[test]
fn a_550_rejection_fails_only_that_users_message() {
    let server = Server::start(Options {
        reject_rcpt: vec!["bob@example.com".to_owned()],
        ..Options::default()
    });
    let sb = plain_sandbox(&server);
    let run = notify_reset(&sb, &["-q"], &THREE);
    run.code(6).one_error_line();
    let line = run.error_line();
    assert!(
        line.contains(&format!("127.0.0.1:{}", server.port)) && line.contains("550"),
        "the message should name the server and the 550: {line}"
    );
    let (notified, _) = notified(&run);
    let want: BTreeMap<String, bool> = [("Frank.Miller", true), ("alice", true), ("bob", false)]
        .iter()
        .map(|(n, b)| ((*n).to_owned(), *b))
        .collect();
    assert_eq!(notified, want, "notified per user");
    let messages = server.messages();
    assert_recipients(&messages, &["alice@example.com", "frank@example.org"]);
    assert_reset_kept_and_queued(&sb, &THREE, &["bob"], "550");
}

#[test]
fn a_451_temporary_failure_keeps_the_message() {
    let server = Server::start(Options {
        fail_after: Some(0),
        ..Options::default()
    });
    let sb = plain_sandbox(&server);
    let run = notify_reset(&sb, &["-q"], &["alice"]);
    run.code(6).one_error_line();
    let line = run.error_line();
    assert!(
        line.contains(&format!("127.0.0.1:{}", server.port)) && line.contains("451"),
        "the message should name the server and the 451: {line}"
    );
    assert!(server.messages().is_empty());
    let (notified, _) = notified(&run);
    assert_eq!(notified.get("alice"), Some(&false));
    assert_reset_kept_and_queued(&sb, &["alice"], &["alice"], "451");
}

#[test]
fn a_server_that_never_answers_times_out() {
    let (port, silent) = silent_server();
    let sb = Sandbox::new();
    sb.write_config(&smtp_config(port, "none", "").replace("timeout = \"5s\"", "timeout = \"1s\""));
    let start = Instant::now();
    let run = notify_reset(&sb, &["-q"], &["alice", "bob"]);
    let took = start.elapsed();
    run.code(6).one_error_line();
    assert!(
        took < Duration::from_secs(6),
        "a 1 s timeout took {took:?} to give up"
    );
    assert!(silent.connections() >= 1, "the binary never connected");
    let line = run.error_line();
    assert!(
        line.contains(&format!("127.0.0.1:{port}")),
        "the message does not name the server: {line}"
    );
    assert!(
        line.to_ascii_lowercase().contains("timed out"),
        "the message does not say it timed out: {line}"
    );
    assert_reset_kept_and_queued(&sb, &["alice", "bob"], &["alice", "bob"], "timed out");
}

#[test]
fn nothing_listening_is_exit_6() {
    let port = closed_port();
    let sb = Sandbox::new();
    sb.write_config(&smtp_config(port, "none", ""));
    let run = notify_reset(&sb, &["-q"], &["alice"]);
    run.code(6).one_error_line();
    let line = run.error_line();
    assert!(
        line.contains(&format!("127.0.0.1:{port}")),
        "the message does not name the server: {line}"
    );
    assert!(
        line.to_ascii_lowercase().contains("refused"),
        "the message does not say the connection was refused: {line}"
    );
    assert_reset_kept_and_queued(&sb, &["alice"], &["alice"], "refused");
}

// ---- The outbox ------------------------------------------------------------------------------

#[test]
fn outbox_send_delivers_exactly_what_a_failed_run_left() {
    const N: usize = 10;
    const K: usize = 4;
    let names: Vec<String> = (0..N).map(|i| format!("user{i}")).collect();
    let emails: Vec<String> = names.iter().map(|n| format!("{n}@example.net")).collect();
    let users: Vec<U<'_>> = names
        .iter()
        .zip(&emails)
        .map(|(n, e)| U {
            name: n,
            email: e,
            admin: false,
            state: State::Enabled,
            sessions: 0,
        })
        .collect();
    let sb = Sandbox::with_users(&users);
    let server = Server::start(Options {
        fail_after: Some(K),
        ..Options::default()
    });
    sb.write_config(&smtp_config(server.port, "none", ""));
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();

    let run = notify_reset(&sb, &["-q"], &name_refs);
    run.code(6).one_error_line();
    let (notified, _) = notified(&run);
    assert_eq!(notified.values().filter(|n| **n).count(), K, "{notified:?}");
    assert_eq!(server.messages().len(), K, "the server took {K} messages");
    assert_reset_kept_and_queued(&sb, &name_refs, &name_refs[K..], "451");

    // Still failing: nothing more arrives, nothing is dropped, each message tried again.
    let retry = sb.run(["outbox", "send", "-q"]);
    retry.code(6).one_error_line();
    assert!(retry.error_line().contains("451"), "{}", retry.error_line());
    assert_eq!(server.messages().len(), K, "a failing server took more");
    let rows = outbox_list(&sb);
    assert_eq!(rows.len(), N - K, "messages left the outbox unsent");
    for r in &rows {
        assert_eq!(r["attempts"], 2, "{r}");
    }

    server.set_fail_after(None);
    let send = sb.run(["outbox", "send", "--format", "json"]);
    send.ok();
    let report = send.json_lines();
    assert_eq!(report.len(), 1, "one JSON object");
    assert_eq!(report[0]["sent"], N - K, "{}", report[0]);
    assert_eq!(report[0]["failed"], 0, "{}", report[0]);
    let messages = server.messages();
    let want: Vec<&str> = emails.iter().map(String::as_str).collect();
    // Each recipient exactly once over both runs.
    assert_recipients(&messages, &want);
    assert!(outbox_list(&sb).is_empty(), "the outbox should be empty");

    let again = sb.run(["outbox", "send", "--format", "json"]);
    again.ok();
    assert_eq!(again.json_lines()[0]["sent"], 0);
    assert_eq!(server.messages().len(), N, "a second send sent again");
}

#[test]
fn an_interrupted_delivery_is_resent_only_when_asked() {
    let sb = Sandbox::new();
    sb.write_config(&smtp_config(closed_port(), "none", ""));
    notify_reset(&sb, &["-q"], &["alice"]).code(6);
    // As if a run had claimed the message and died before the server answered.
    let changed = sb
        .conn()
        .execute(
            "UPDATE twofactl_outbox SET state = 'sending', last_attempt = ?1",
            [now() - 3600],
        )
        .unwrap();
    assert_eq!(changed, 1, "one message should be in the outbox");
    let rows = outbox_list(&sb);
    assert_eq!(rows.len(), 1, "an interrupted message must stay listed");
    assert_eq!(rows[0]["state"], "interrupted", "{}", rows[0]);

    let server = Server::start(Options::default());
    sb.write_config(&smtp_config(server.port, "none", ""));
    sb.run(["outbox", "send"]).ok();
    assert!(
        server.messages().is_empty(),
        "an interrupted message was resent unasked"
    );
    sb.run(["outbox", "send", "--retry-interrupted"]).ok();
    let messages = server.messages();
    assert_recipients(&messages, &["alice@example.com"]);
    assert!(outbox_list(&sb).is_empty(), "the outbox should be empty");
}

// ---- Not sending -----------------------------------------------------------------------------

#[test]
fn no_notify_sends_nothing_and_the_audit_says_so() {
    let server = Server::start(Options::default());
    let sb = plain_sandbox(&server);
    let run = sb.run([
        "admin-reset",
        "-y",
        "--reason",
        REASON,
        "--format",
        "json",
        "--no-notify",
        "alice",
        "bob",
    ]);
    run.ok();
    let (notified, _) = notified(&run);
    assert!(notified.values().all(|n| !n), "{notified:?}");
    assert_eq!(notified.len(), 2);
    sb.assert_cleared("alice");
    sb.assert_cleared("bob");
    assert_eq!(
        server.connections(),
        0,
        "--no-notify connected to the server"
    );
    assert!(server.messages().is_empty());
    assert_eq!(outbox_rows(&sb), 0, "--no-notify queued messages");
    let details = audit_details(&sb);
    assert_eq!(details.len(), 2, "{details:?}");
    for (name, detail) in details {
        assert!(
            detail
                .as_deref()
                .is_some_and(|d| d.contains("not notified")),
            "{name}'s audit row should say the user was not notified: {detail:?}"
        );
    }
}

#[test]
fn a_dry_run_sends_nothing() {
    let server = Server::start(Options::default());
    let sb = plain_sandbox(&server);
    let before = sb.hash();
    let run = notify_reset(&sb, &["--dry-run"], &["alice", "bob"]);
    run.ok();
    let lines = run.json_lines();
    assert_eq!(lines[0]["outcome"], "would_reset", "{}", lines[0]);
    assert_eq!(lines[0]["notified"], false, "{}", lines[0]);
    assert_eq!(server.connections(), 0, "a dry run connected to the server");
    assert!(server.messages().is_empty());
    sb.assert_unchanged(&before);
}

#[test]
fn no_mail_configured_is_exit_8_before_anything_changes() {
    // The fixture's settings hold app.name only, and the config file is empty.
    let sb = Sandbox::new();
    let before = sb.hash();
    let run = notify_reset(&sb, &[], &["alice"]);
    run.code(8).one_error_line().stdout_empty();
    assert!(
        run.error_line().to_ascii_lowercase().contains("smtp"),
        "the message should say no SMTP server is configured: {}",
        run.error_line()
    );
    sb.assert_unchanged(&before);
}

// ---- The file transport ----------------------------------------------------------------------

#[test]
fn the_file_transport_writes_one_private_eml_per_message() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    sb.write_config(&format!(
        "[mail]\ntransport = \"file\"\nfile_dir = \"mails\"\nfrom = \"{FROM_NAME} <{FROM_ADDR}>\"\n"
    ));
    let before = now();
    let run = notify_reset(&sb, &[], &THREE);
    let after = now();
    run.ok();
    let (notified, _) = notified(&run);
    assert!(notified.values().all(|n| *n), "{notified:?}");
    let dir = sb.path("mails");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("no {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "one file per message: {files:?}");
    let mut seen = Vec::new();
    for f in &files {
        assert_eq!(
            f.extension().and_then(|e| e.to_str()),
            Some("eml"),
            "{}",
            f.display()
        );
        let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} has mode {mode:o}", f.display());
        let data = std::fs::read(f).unwrap();
        let to = {
            let msg = mail_parser::MessageParser::default()
                .parse(&data)
                .expect("an .eml file does not parse");
            msg.to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap()
                .to_owned()
        };
        let name = THREE
            .iter()
            .find(|n| email_of(n).eq_ignore_ascii_case(&to))
            .unwrap_or_else(|| panic!("a file for an unknown recipient {to}"));
        // The file holds the message alone; there is no envelope to check.
        let message = Received {
            mail_from: String::new(),
            rcpt_to: Vec::new(),
            data,
            tls: false,
            auth_user: None,
        };
        assert_notice(&message, name, email_of(name), SUBJECT, (before, after));
        seen.push(to.to_ascii_lowercase());
    }
    seen.sort();
    let mut want: Vec<String> = THREE
        .iter()
        .map(|n| email_of(n).to_ascii_lowercase())
        .collect();
    want.sort();
    assert_eq!(seen, want, "one file for each reset user");
}

// ---- doctor ----------------------------------------------------------------------------------

/// doctor's JSON checks: name -> (ok, detail).
#[track_caller]
fn doctor_checks(run: &Run) -> (bool, BTreeMap<String, (bool, String)>) {
    let lines = run.json_lines();
    assert_eq!(lines.len(), 1, "doctor prints one JSON object");
    let ok = lines[0]["ok"].as_bool().expect("no ok");
    let checks = lines[0]["checks"]
        .as_array()
        .expect("no checks")
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_owned(),
                (
                    c["ok"].as_bool().unwrap(),
                    c["detail"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect();
    (ok, checks)
}

const SMTP_STEPS: [&str; 4] = ["smtp connect", "smtp EHLO", "smtp STARTTLS", "smtp AUTH"];

/// The text report's line for `check`, as (passed, line).
#[track_caller]
fn doctor_line(run: &Run, check: &str) -> (bool, String) {
    let out = run.out();
    let line = out
        .lines()
        .find(|l| {
            let rest = l
                .strip_prefix("ok")
                .or_else(|| l.strip_prefix("FAIL"))
                .unwrap_or("");
            rest.trim_start().starts_with(&format!("{check}  "))
        })
        .unwrap_or_else(|| panic!("no {check:?} line in doctor's report:\n{out}"));
    (line.starts_with("ok"), line.to_owned())
}

fn doctor_sandbox(server: &Server, password: &str) -> Sandbox {
    let sb = Sandbox::new();
    let pw = sb.write("smtp-password", format!("{password}\n"));
    sb.write_config(&auth_config(
        server,
        &format!("password_file = {}\n", toml_path(&pw)),
    ));
    sb
}

#[test]
fn doctor_checks_each_smtp_step_without_sending_mail() {
    let server = auth_server();
    let sb = doctor_sandbox(&server, PASSWORD);

    let text = sb.run(["doctor"]);
    text.ok().never_shows(PASSWORD);
    for step in SMTP_STEPS {
        let (passed, line) = doctor_line(&text, step);
        assert!(passed, "{step} should pass: {line}");
    }

    let json = sb.run(["doctor", "--format", "json"]);
    json.ok().never_shows(PASSWORD);
    let (ok, checks) = doctor_checks(&json);
    assert!(ok, "{checks:?}");
    for step in SMTP_STEPS {
        let (passed, detail) = checks
            .get(step)
            .unwrap_or_else(|| panic!("no {step:?} check in {checks:?}"));
        assert!(passed, "{step}: {detail}");
    }
    assert!(
        checks["smtp AUTH"].1.contains(USER),
        "the AUTH step should name the login: {checks:?}"
    );

    assert_eq!(server.connections(), 2, "one connection per doctor run");
    assert!(server.messages().is_empty(), "doctor sent mail");
    let commands = server.commands();
    assert!(
        !commands.iter().any(|c| c.starts_with("MAIL")),
        "doctor began a mail transaction: {commands:?}"
    );
    assert_eq!(
        commands.iter().filter(|c| c.starts_with("AUTH")).count(),
        2,
        "doctor should log in once per run: {commands:?}"
    );
}

#[test]
fn doctor_fails_on_wrong_credentials_and_names_the_step() {
    let server = auth_server();
    let wrong = "wr0ng-Pa55word-xyzzy";
    let sb = doctor_sandbox(&server, wrong);

    let text = sb.run(["doctor"]);
    text.code(6).never_shows(wrong).never_shows(PASSWORD);
    let (passed, line) = doctor_line(&text, "smtp AUTH");
    assert!(!passed, "AUTH should fail: {line}");
    assert!(
        line.contains(&format!("127.0.0.1:{}", server.port)),
        "the failing step should name the server: {line}"
    );
    for step in &SMTP_STEPS[..3] {
        let (passed, line) = doctor_line(&text, step);
        assert!(passed, "{step} should pass: {line}");
    }

    let json = sb.run(["doctor", "--format", "json"]);
    json.code(6).never_shows(wrong);
    let (ok, checks) = doctor_checks(&json);
    assert!(!ok, "{checks:?}");
    assert_eq!(
        checks.get("smtp AUTH").map(|c| c.0),
        Some(false),
        "{checks:?}"
    );
    assert!(server.messages().is_empty());
}

#[test]
fn doctor_send_test_delivers_exactly_one_message() {
    let server = auth_server();
    let sb = doctor_sandbox(&server, PASSWORD);
    let run = sb.run(["doctor", "--send-test", "helpdesk@example.com"]);
    run.ok();
    let (passed, line) = doctor_line(&run, "send test");
    assert!(passed, "{line}");
    let messages = server.messages();
    assert_eq!(messages.len(), 1, "exactly one test message");
    let m = &messages[0];
    assert_eq!(m.rcpt_to, ["helpdesk@example.com"]);
    assert_eq!(m.mail_from, FROM_ADDR);
    assert!(m.tls);
    assert_eq!(m.auth_user.as_deref(), Some(USER));
    let msg = m.parsed();
    let subject = msg.subject().unwrap_or_default();
    assert!(
        subject.starts_with("Fixture App") && subject.contains("test"),
        "subject {subject:?}"
    );
    assert!(msg.date().is_some() && msg.message_id().is_some());
}

// ---- The sendmail transport ------------------------------------------------------------------

/// `transport = "sendmail"` runs the configured command with the envelope on its command line
/// and the message on stdin; a command that fails leaves the message in the outbox.
#[test]
fn the_sendmail_transport_pipes_each_message_to_the_command() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let spool = sb.path("spool");
    std::fs::create_dir_all(&spool).unwrap();
    // A stand-in for /usr/sbin/sendmail with its interface: envelope in argv, message on stdin.
    let script = sb.write(
        "sendmail",
        format!(
            "#!/bin/sh\nn=$(ls {spool} | grep -c args)\nprintf '%s\\n' \"$@\" > {spool}/$n.args\ncat > {spool}/$n.eml\n",
            spool = spool.display()
        ),
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    sb.write_config(&format!(
        "[mail]\ntransport = \"sendmail\"\nsendmail_command = \"{}\"\nfrom = \"{FROM_NAME} <{FROM_ADDR}>\"\n",
        script.display()
    ));
    let run = notify_reset(&sb, &[], &THREE[..2]);
    run.ok();
    let (notified, _) = notified(&run);
    assert!(notified.values().all(|n| *n), "{notified:?}");
    for n in 0..2 {
        let args = std::fs::read_to_string(spool.join(format!("{n}.args"))).unwrap();
        let eml = std::fs::read_to_string(spool.join(format!("{n}.eml"))).unwrap();
        assert!(
            args.lines().any(|a| a == FROM_ADDR),
            "envelope sender missing: {args}"
        );
        let to = THREE[..2]
            .iter()
            .map(|u| email_of(u))
            .find(|e| args.lines().any(|a| a.eq_ignore_ascii_case(e)))
            .unwrap_or_else(|| panic!("no recipient in {args}"));
        assert!(eml.contains("Subject: "), "{eml}");
        assert!(
            eml.to_ascii_lowercase()
                .contains(&format!("to: {}", to.to_ascii_lowercase())),
            "{eml}"
        );
    }

    // A command that fails: exit 6, the reset stands, the message waits in the outbox.
    sb.write_config(&format!(
        "[mail]\ntransport = \"sendmail\"\nsendmail_command = \"/bin/false\"\nfrom = \"{FROM_NAME} <{FROM_ADDR}>\"\n"
    ));
    let run = notify_reset(&sb, &["-q"], &THREE[2..]);
    run.code(6).one_error_line().stderr_contains("/bin/false");
    sb.assert_cleared(THREE[2]);
    let pending = sb.run(["outbox", "list", "--format", "json"]);
    pending.ok();
    assert_eq!(pending.json_lines().len(), 1, "{}", pending.out());
}
