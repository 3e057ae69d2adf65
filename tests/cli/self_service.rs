//! The self-service reset end to end: `request-reset` checks the password (Argon2 hashes made
//! by libargon2 and argon2-cffi) and e-mails a code to a real SMTP server run by the test; the
//! test reads the code from what the server received and gives it to `verify`, then checks the
//! rows, the sessions, the audit log, the notification, and every limit. No code and no
//! password may appear in any output, audit row or anywhere in the database file.

use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, params};
use serde_json::Value;

use crate::smtp::{Options, Received, Server, closed_port};
use crate::support::*;

/// The password of every fixture user in these tests (and of every line of the fixture file).
pub const PASSWORD: &str = "correct horse battery staple";
/// A password that is not it.
pub const WRONG_PASSWORD: &str = "correct horse battery stapler";

/// The Argon2 fixtures: (maker, PHC string), all of [`PASSWORD`].
pub fn argon2_fixtures() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/argon2-hashes.tsv"),
    )
    .unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let fields: Vec<&str> = l.split('\t').collect();
            assert_eq!(fields.len(), 3, "fixture line {l:?}");
            (fields[0].to_owned(), fields[2].to_owned())
        })
        .collect()
}

/// A cheap PHC string of [`PASSWORD`] (libargon2's argon2id, v=19, m=4096, t=2, p=1).
pub fn password_hash() -> String {
    argon2_fixtures()
        .into_iter()
        .map(|(_, phc)| phc)
        .find(|phc| phc.starts_with("$argon2id$v=19$m=4096,t=2,p=1$"))
        .expect("an argon2id v=19 p=1 fixture")
}

/// Config text that sends mail to the test server on `port`, plus `extra` TOML.
pub fn mail_config(port: u16, extra: &str) -> String {
    format!(
        "[mail]\ntransport = \"smtp\"\nfrom = \"Fixture App <no-reply@example.com>\"\n\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\ntimeout = \"5s\"\n\n{extra}\n"
    )
}

/// A sandbox of `users` whose password is [`PASSWORD`], mailing to a fresh SMTP server.
pub fn sandbox_with_mail(users: &[U<'_>], extra_config: &str) -> (Sandbox, Server) {
    let sb = Sandbox::with_users(users);
    sb.conn()
        .execute("UPDATE users SET password_hash = ?1", [password_hash()])
        .unwrap();
    let server = Server::start(Options::default());
    sb.write_config(&mail_config(server.port, extra_config));
    (sb, server)
}

/// `request-reset USER --password-stdin` (plus `args`), the password on stdin.
pub fn request(sb: &Sandbox, user: &str, password: &str, args: &[&str]) -> Run {
    let mut cmd = sb.cmd();
    cmd.arg("--db")
        .arg(&sb.db)
        .args(args)
        .args(["request-reset", user, "--password-stdin"])
        .write_stdin(format!("{password}\n"));
    Run::of(&mut cmd)
}

/// `request-reset` that must succeed; returns the code from the message the server received.
#[track_caller]
pub fn request_code(sb: &Sandbox, server: &Server, user: &str) -> String {
    let before = server.messages().len();
    request(sb, user, PASSWORD, &[]).ok();
    let messages = server.messages();
    assert_eq!(
        messages.len(),
        before + 1,
        "request-reset should send exactly one message"
    );
    code_in(messages.last().unwrap())
}

/// The 8-digit code in a verification message's text part (a line of its own).
#[track_caller]
pub fn code_in(msg: &Received) -> String {
    let text = msg.text().expect("the code message has a text/plain part");
    let codes: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.len() == 8 && l.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    assert_eq!(
        codes.len(),
        1,
        "expected one 8-digit line in the message:\n{text}"
    );
    codes[0].to_owned()
}

/// Another 8-digit code than `code`.
pub fn other_code(code: &str, n: u32) -> String {
    let c: u32 = code.parse().unwrap();
    format!("{:08}", (c + n) % 100_000_000)
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `2026-11-27T22:31:07Z` to unix seconds.
#[track_caller]
pub fn unix_of(rfc3339: &str) -> i64 {
    assert!(is_rfc3339_utc(rfc3339), "not RFC 3339 UTC: {rfc3339:?}");
    let n = |r: std::ops::Range<usize>| rfc3339[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)
}

/// Unix seconds to `2026-11-27T22:31:07Z`.
pub fn rfc3339_of(unix: i64) -> String {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Every RFC 3339 UTC time in `text`.
pub fn times_in(text: &str) -> Vec<i64> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(19))
        .filter_map(|i| text.get(i..i + 20))
        .filter(|s| is_rfc3339_utc(s))
        .map(unix_of)
        .collect()
}

/// The state of every reset request of `user`, oldest first.
pub fn request_states(sb: &Sandbox, user: &str) -> Vec<String> {
    let conn = sb.conn();
    if !has_table(&conn, "twofactl_reset_requests") {
        return Vec::new();
    }
    conn.prepare(
        "SELECT r.state FROM twofactl_reset_requests r JOIN users u ON u.id = r.user_id
         WHERE u.username = ?1 ORDER BY r.id",
    )
    .unwrap()
    .query_map([user], |r| r.get(0))
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// Every text value of every twofactl table, joined (to search for secrets).
pub fn twofactl_text(conn: &Connection) -> String {
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE 'twofactl%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let mut all = String::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let cols = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..cols {
                match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        all.push_str(&String::from_utf8_lossy(t));
                    }
                    rusqlite::types::ValueRef::Integer(n) => all.push_str(&n.to_string()),
                    _ => {}
                }
                all.push('\t');
            }
            all.push('\n');
        }
    }
    all
}

/// `needle` appears nowhere in the database file's bytes (nor in a journal or WAL beside it),
/// nor in any value of twofactl's tables.
#[track_caller]
pub fn assert_db_never_holds(db: &Path, needle: &str) {
    let mut files = vec![db.to_path_buf()];
    for suffix in ["-journal", "-wal"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        files.push(p.into());
    }
    for f in files.iter().filter(|f| f.exists()) {
        let bytes = std::fs::read(f).unwrap();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{} holds {needle:?}",
            f.display()
        );
    }
    let text = twofactl_text(&Connection::open(db).unwrap());
    assert!(
        !text.contains(needle),
        "a twofactl table holds {needle:?}:\n{text}"
    );
}

/// list-users' `reset_open_until` for `user`.
#[track_caller]
fn reset_open_until(sb: &Sandbox, user: &str) -> Value {
    let run = sb.run(["list-users", "--format", "json", "--match", user]);
    run.ok();
    let lines = run.json_lines();
    let row = lines
        .iter()
        .find(|v| v["username"] == user)
        .unwrap_or_else(|| panic!("list-users lacks {user}: {}", run.out()));
    row["reset_open_until"].clone()
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// The users of most tests: alice (2FA on, two sessions), bob (2FA on), dave (no 2FA).
const USERS: &[U<'static>] = &[
    U {
        name: "alice",
        email: "alice@example.com",
        admin: false,
        state: State::Enabled,
        sessions: 2,
    },
    U {
        name: "bob",
        email: "bob@example.com",
        admin: false,
        state: State::Enabled,
        sessions: 1,
    },
    U {
        name: "dave",
        email: "dave@example.com",
        admin: false,
        state: State::Disabled,
        sessions: 1,
    },
];

// ---- The whole flow ----------------------------------------------------------------------

#[test]
fn request_reset_then_verify_clears_the_2fa_end_to_end() {
    let (sb, server) = sandbox_with_mail(USERS, "");
    let mut runs = Vec::new();

    let t0 = now();
    let run = request(&sb, "alice", PASSWORD, &[]);
    let t1 = now();
    run.ok().stdout_contains("a***e@example.com");
    // The expiry printed is 10 minutes (the default code_ttl) from now.
    let times = times_in(&run.out());
    assert_eq!(times.len(), 1, "one expiry time in stdout: {}", run.out());
    assert!(
        (t0 + 600..=t1 + 600).contains(&times[0]),
        "expiry {} is not 10 minutes after {t0}..{t1}",
        times[0]
    );
    runs.push(run);

    // The message: to alice's address, with the code.
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].rcpt_to, vec!["alice@example.com".to_owned()]);
    let subject = messages[0]
        .parsed()
        .subject()
        .unwrap_or_default()
        .to_owned();
    assert!(
        subject.to_lowercase().contains("code"),
        "subject {subject:?}"
    );
    let code = code_in(&messages[0]);
    let text = messages[0].text().unwrap();
    let expiry = &rfc3339_of(times[0]);
    let human = format!("{} {} UTC", &expiry[..10], &expiry[11..16]);
    assert!(
        text.contains(&human),
        "the code message lacks its expiry {human}:\n{text}"
    );
    assert!(
        text.contains("Fixture App"),
        "the application's name:\n{text}"
    );
    assert!(
        text.contains("administrator"),
        "\"not you?\" advice:\n{text}"
    );

    // Nothing about the 2FA changed yet; the request is open and list-users shows it.
    sb.assert_untouched(&USERS[0]);
    assert_eq!(sb.sessions("alice"), 2);
    assert_eq!(request_states(&sb, "alice"), ["open"]);
    let open_until = reset_open_until(&sb, "alice");
    assert_eq!(
        open_until.as_str().map(unix_of),
        Some(times[0]),
        "reset_open_until is the expiry request-reset printed"
    );
    assert_eq!(reset_open_until(&sb, "bob"), Value::Null);

    let run = sb.run(["verify", "alice", &code]);
    run.ok()
        .stdout_contains("alice")
        .stdout_contains("2 sessions");
    runs.push(run);

    // The rows: key gone, not enabled, sessions deleted, request spent; others untouched.
    sb.assert_cleared("alice");
    assert_eq!(sb.sessions("alice"), 0);
    sb.assert_untouched(&USERS[1]);
    assert_eq!(sb.sessions("bob"), 1);
    assert_eq!(sb.sessions("dave"), 1);
    assert_eq!(request_states(&sb, "alice"), ["spent"]);
    assert_eq!(reset_open_until(&sb, "alice"), Value::Null);

    // The audit log: the request and the reset, about alice, by this OS user.
    let audit = sb.audit();
    let t2 = now();
    let of =
        |action: &str| -> Vec<&AuditRow> { audit.iter().filter(|r| r.action == action).collect() };
    let req = of("request-reset");
    assert!(
        req.iter().any(|r| r.outcome == "code_sent"),
        "no request-reset code_sent row: {audit:?}"
    );
    let ver = of("verify");
    assert_eq!(ver.len(), 1, "{audit:?}");
    assert_eq!(ver[0].outcome, "reset");
    assert_eq!(ver[0].username, "alice");
    assert_eq!(ver[0].user_id, Some(1));
    assert_eq!(ver[0].actor, None);
    assert!(!ver[0].os_user.is_empty());
    assert!(
        (t0..=t2).contains(&ver[0].time),
        "audit time {}",
        ver[0].time
    );
    for r in &audit {
        assert_eq!(r.username, "alice", "{r:?}");
    }

    // The notification: a second message to alice saying the 2FA was reset.
    let messages = server.messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1].rcpt_to, vec!["alice@example.com".to_owned()]);
    let subject = messages[1]
        .parsed()
        .subject()
        .unwrap_or_default()
        .to_owned();
    assert!(
        subject.to_lowercase().contains("reset"),
        "subject {subject:?}"
    );
    let text = messages[1].text().unwrap();
    assert!(text.contains("reset"), "{text}");
    assert!(!text.contains(&code), "the notification repeats the code");
    assert_eq!(
        count(
            &sb.conn(),
            "SELECT count(*) FROM twofactl_outbox WHERE state <> 'sent'"
        ),
        0,
        "the notification stays unsent in the outbox"
    );

    // No secret anywhere: outputs, audit rows, the database file.
    for run in &runs {
        run.never_shows(&code).never_shows(PASSWORD);
    }
    assert_db_never_holds(&sb.db, &code);
    assert_db_never_holds(&sb.db, PASSWORD);
}

#[test]
fn json_output_of_request_reset_and_verify() {
    let (sb, server) = sandbox_with_mail(USERS, "[reset]\ncode_ttl = \"90s\"\n");
    let t0 = now();
    let run = request(&sb, "alice", PASSWORD, &["--format", "json"]);
    let t1 = now();
    run.ok();
    let lines = run.json_lines();
    assert_eq!(lines.len(), 1, "{}", run.out());
    let v = &lines[0];
    assert_eq!(
        keys(v),
        sorted(&["username", "outcome", "email_masked", "expires"])
    );
    assert_eq!(v["username"], "alice");
    assert_eq!(v["outcome"], "code_sent");
    assert_eq!(v["email_masked"], "a***e@example.com");
    let expires = unix_of(v["expires"].as_str().unwrap());
    assert!(
        (t0 + 90..=t1 + 90).contains(&expires),
        "code_ttl = 90s not honoured: {expires} vs {t0}"
    );
    let code = code_in(&server.messages()[0]);
    run.never_shows(&code);

    let run = sb.run(["--format", "json", "verify", "alice", &other_code(&code, 1)]);
    run.code(3).never_shows(&code);
    let v = &run.json_lines()[0];
    assert_eq!(v["outcome"], "wrong_code");
    assert_eq!(v["attempts_left"], 4);
    assert_eq!(v["username"], "alice");

    let run = sb.run(["--format", "json", "verify", "alice", &code]);
    run.ok().never_shows(&code);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 1, "{}", run.out());
    let v = &lines[0];
    assert_eq!(
        keys(v),
        sorted(&[
            "username",
            "outcome",
            "attempts_left",
            "sessions_revoked",
            "notified"
        ])
    );
    assert_eq!(v["username"], "alice");
    assert_eq!(v["outcome"], "reset");
    assert_eq!(v["attempts_left"], Value::Null);
    assert_eq!(v["sessions_revoked"], 2);
    assert_eq!(v["notified"], true);
    sb.assert_cleared("alice");
}

#[test]
fn a_user_named_by_e_mail_address_gets_the_code() {
    let (sb, server) = sandbox_with_mail(USERS, "");
    let code = request_code(&sb, &server, "bob@example.com");
    assert_eq!(
        server.messages()[0].rcpt_to,
        vec!["bob@example.com".to_owned()]
    );
    sb.run(["verify", "bob@example.com", &code]).ok();
    sb.assert_cleared("bob");
    sb.assert_untouched(&USERS[0]);
}

// ---- Passwords ---------------------------------------------------------------------------

#[test]
fn hashes_made_by_libargon2_and_argon2_cffi_are_checked() {
    let fixtures = argon2_fixtures();
    assert_eq!(fixtures.len(), 24, "the fixture file lost lines");
    for variant in ["$argon2id$", "$argon2i$", "$argon2d$"] {
        for v in ["v=16", "v=19"] {
            for p in ["p=1", "p=4"] {
                for maker in ["libargon2", "argon2-cffi"] {
                    assert!(
                        fixtures.iter().any(|(m, phc)| m.starts_with(maker)
                            && phc.starts_with(variant)
                            && phc.contains(v)
                            && phc.contains(p)),
                        "no {maker} fixture for {variant} {v} {p}"
                    );
                }
            }
        }
    }
    let names: Vec<String> = (0..fixtures.len()).map(|i| format!("user{i:02}")).collect();
    let emails: Vec<String> = names.iter().map(|n| format!("{n}@example.com")).collect();
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
    let (sb, server) = sandbox_with_mail(&users, "");
    {
        let conn = sb.conn();
        for (name, (_, phc)) in names.iter().zip(&fixtures) {
            conn.execute(
                "UPDATE users SET password_hash = ?1 WHERE username = ?2",
                params![phc, name],
            )
            .unwrap();
        }
    }
    for (i, (name, (maker, phc))) in names.iter().zip(&fixtures).enumerate() {
        let run = request(&sb, name, WRONG_PASSWORD, &[]);
        assert_eq!(
            run.status.code(),
            Some(3),
            "a wrong password against {maker} {phc}: {}",
            run.err()
        );
        run.stderr_contains("wrong password")
            .never_shows(WRONG_PASSWORD);
        assert_eq!(server.messages().len(), i, "a wrong password sent mail");

        let run = request(&sb, name, PASSWORD, &[]);
        assert_eq!(
            run.status.code(),
            Some(0),
            "the right password against {maker} {phc}: {}",
            run.err()
        );
        run.never_shows(PASSWORD);
        let messages = server.messages();
        assert_eq!(messages.len(), i + 1);
        assert_eq!(messages[i].rcpt_to, vec![format!("{name}@example.com")]);
    }
}

#[test]
fn an_unreadable_password_hash_is_a_clear_error_not_a_wrong_password() {
    let (sb, server) = sandbox_with_mail(USERS, "");
    for stored in [
        // bcrypt and scrypt costs over twofactl's limits, and a malformed passlib string.
        "$2b$31$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        "$pbkdf2-sha256$i=29000$N2bMeS8lpJSSMibEOGdMiQ$Ld0Kj8Nz1r9uJ1bY1lwVY5n3Kx5B1Hk1h0Q5E4UQkqY",
        "$scrypt$ln=40,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
        // Argon2 with parameters no implementation accepts (m below 8 KiB per lane), and
        // an unknown version.
        "$argon2id$v=19$m=1,t=2,p=1$c2FsdHNhbHQ$vE4wzyrVVwgKvTdZfjJOL3SLVF6rh3laJbuhOaPQD78",
        "$argon2id$v=42$m=4096,t=2,p=1$c2FsdHNhbHQ$vE4wzyrVVwgKvTdZfjJOL3SLVF6rh3laJbuhOaPQD78",
        "plain text password",
    ] {
        sb.conn()
            .execute(
                "UPDATE users SET password_hash = ?1 WHERE username = 'alice'",
                [stored],
            )
            .unwrap();
        for password in [PASSWORD, stored] {
            let run = request(&sb, "alice", password, &[]);
            run.code(8)
                .stderr_contains("password hash")
                .never_shows(PASSWORD);
            assert!(
                !run.err().contains("wrong password"),
                "an unreadable hash reported as a wrong password: {}",
                run.err()
            );
        }
    }
    assert!(server.messages().is_empty(), "mail was sent");
    // An unreadable hash is not held against the user: no failures counted, no request.
    let conn = sb.conn();
    if has_table(&conn, "twofactl_password_failures") {
        assert_eq!(
            count(&conn, "SELECT count(*) FROM twofactl_password_failures"),
            0
        );
    }
    assert!(request_states(&sb, "alice").is_empty());
    sb.assert_untouched(&USERS[0]);
}

#[test]
fn wrong_passwords_lock_request_reset_until_the_lockout_ends() {
    let (sb, server) = sandbox_with_mail(
        USERS,
        "[reset]\nmax_password_failures = 3\nlockout = \"15m\"\n",
    );
    for left in ["2 tries left", "1 try left"] {
        let run = request(&sb, "alice", WRONG_PASSWORD, &[]);
        run.code(3)
            .stderr_contains("wrong password")
            .stderr_contains(left)
            .never_shows(WRONG_PASSWORD);
    }
    let t0 = now();
    let run = request(&sb, "alice", WRONG_PASSWORD, &[]);
    let t1 = now();
    run.code(3).stderr_contains("locked");
    let until = times_in(&run.err());
    assert_eq!(until.len(), 1, "the unlock time: {}", run.err());
    assert!((t0 + 900..=t1 + 900).contains(&until[0]));

    // Locked: even the right password is refused, with when it unlocks (15 minutes after the
    // last wrong password), and no mail goes out.
    let run = request(&sb, "alice", PASSWORD, &[]);
    run.code(5).stderr_contains("locked").never_shows(PASSWORD);
    let until = times_in(&run.err());
    assert_eq!(until.len(), 1, "the unlock time: {}", run.err());
    assert!(
        (t0 + 900..=t1 + 900).contains(&until[0]),
        "unlock time {} is not 15 minutes after the last wrong password ({t0})",
        until[0]
    );
    request(&sb, "alice", WRONG_PASSWORD, &[]).code(5);
    assert!(server.messages().is_empty());
    assert!(request_states(&sb, "alice").is_empty());

    // The lock is per user: bob is not locked.
    request_code(&sb, &server, "bob");

    // The lock is kept in the database: once it and the failures are older than the
    // lockout, the right password works again.
    sb.conn()
        .execute_batch(
            "UPDATE twofactl_password_failures SET time = time - 901;
             UPDATE twofactl_locks SET since = since - 901, until = until - 901;",
        )
        .unwrap();
    let code = request_code(&sb, &server, "alice");
    sb.run(["verify", "alice", &code]).ok();
    sb.assert_cleared("alice");
}

#[test]
fn password_stdin_takes_one_line_verbatim() {
    let (sb, server) = sandbox_with_mail(USERS, "[reset]\nmax_requests_per_hour = 10\n");
    let run_with = |stdin: &str| {
        let mut cmd = sb.cmd();
        cmd.arg("--db")
            .arg(&sb.db)
            .args(["request-reset", "alice", "--password-stdin"])
            .write_stdin(stdin.to_owned());
        Run::of(&mut cmd)
    };
    // Without a line end, with CRLF, and only the first line.
    run_with(PASSWORD).ok();
    run_with(&format!("{PASSWORD}\r\n")).ok();
    run_with(&format!("{PASSWORD}\nsomething else\n")).ok();
    assert_eq!(server.messages().len(), 3);
    // Spaces belong to the password: nothing is trimmed.
    run_with(&format!("{PASSWORD} \n")).code(3);
    run_with(&format!(" {PASSWORD}\n")).code(3);
    // Nothing on stdin.
    run_with("").code(2).stderr_contains("stdin");
    run_with("\n").code(2);
    assert_eq!(server.messages().len(), 3);
}

// ---- Codes ------------------------------------------------------------------------------------

#[test]
fn requests_per_hour_are_capped() {
    let (sb, server) = sandbox_with_mail(USERS, "[reset]\nmax_requests_per_hour = 2\n");
    request_code(&sb, &server, "alice");
    let code = request_code(&sb, &server, "alice");
    let run = request(&sb, "alice", PASSWORD, &[]);
    run.code(5).never_shows(PASSWORD);
    assert_eq!(times_in(&run.err()).len(), 1, "when: {}", run.err());
    assert_eq!(server.messages().len(), 2, "a capped request sent mail");
    // The refused request did not void the open one.
    sb.run(["verify", "alice", &code]).ok();
    // Another user has an allowance of their own.
    request_code(&sb, &server, "bob");
    // An hour later (alice has set up a new authenticator meanwhile) the allowance is back.
    sb.conn()
        .execute_batch(
            "UPDATE twofactl_reset_requests SET created = created - 3601;
             UPDATE users SET totp_secret = 'JBSWY3DPEHPK3PXP', totp_enabled = 1
             WHERE username = 'alice';",
        )
        .unwrap();
    request_code(&sb, &server, "alice");
}

#[test]
fn a_new_request_voids_the_open_one() {
    let (sb, server) = sandbox_with_mail(USERS, "");
    let first = request_code(&sb, &server, "alice");
    let second = request_code(&sb, &server, "alice");
    assert_ne!(first, second);
    assert_eq!(request_states(&sb, "alice"), ["void", "open"]);
    sb.run(["verify", "alice", &first]).code(3);
    sb.assert_untouched(&USERS[0]);
    sb.run(["verify", "alice", &second]).ok();
    sb.assert_cleared("alice");
}

#[test]
fn wrong_codes_count_down_and_the_last_voids_the_request() {
    let (sb, server) = sandbox_with_mail(USERS, "[reset]\nmax_attempts = 3\n");
    let code = request_code(&sb, &server, "alice");
    let run = sb.run(["verify", "alice", &other_code(&code, 1)]);
    run.code(3)
        .stderr_contains("wrong code")
        .stderr_contains("2 tries left")
        .never_shows(&code);
    let run = sb.run(["verify", "alice", &other_code(&code, 2)]);
    run.code(3).stderr_contains("1 try left").never_shows(&code);
    let run = sb.run(["verify", "alice", &other_code(&code, 3)]);
    run.code(5).stderr_contains("void").never_shows(&code);
    assert_eq!(request_states(&sb, "alice"), ["void"]);
    // The right code no longer works.
    let run = sb.run(["verify", "alice", &code]);
    run.code(3).stderr_contains("void").never_shows(&code);
    sb.assert_untouched(&USERS[0]);
    assert_eq!(sb.sessions("alice"), 2);
    // A new request starts again.
    let code = request_code(&sb, &server, "alice");
    sb.run(["verify", "alice", &code]).ok();
    sb.assert_cleared("alice");
}

#[test]
fn an_expired_code_is_rejected() {
    let (sb, server) = sandbox_with_mail(USERS, "");
    let code = request_code(&sb, &server, "alice");
    sb.conn()
        .execute(
            "UPDATE twofactl_reset_requests SET expires = ?1",
            [now() - 1],
        )
        .unwrap();
    assert_eq!(
        reset_open_until(&sb, "alice"),
        Value::Null,
        "an expired request is not open"
    );
    let run = sb.run(["verify", "alice", &code]);
    run.code(3).stderr_contains("expired").never_shows(&code);
    assert_eq!(request_states(&sb, "alice"), ["expired"]);
    sb.run(["verify", "alice", &code])
        .code(3)
        .stderr_contains("expired");
    sb.assert_untouched(&USERS[0]);
    assert_eq!(sb.sessions("alice"), 2);
    assert_eq!(reset_open_until(&sb, "alice"), Value::Null);
}

#[test]
fn a_short_code_ttl_expires_the_code() {
    let (sb, server) = sandbox_with_mail(USERS, "[reset]\ncode_ttl = \"1s\"\n");
    let code = request_code(&sb, &server, "alice");
    std::thread::sleep(Duration::from_secs(2));
    sb.run(["verify", "alice", &code])
        .code(3)
        .stderr_contains("expired");
    sb.assert_untouched(&USERS[0]);
}

#[test]
fn a_spent_code_is_rejected() {
    let (sb, server) = sandbox_with_mail(USERS, "");
    let code = request_code(&sb, &server, "alice");
    sb.run(["verify", "alice", &code]).ok();
    // The application re-enables 2FA; the old code must not clear it again.
    sb.conn()
        .execute(
            "UPDATE users SET totp_secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', totp_enabled = 1
             WHERE username = 'alice'",
            [],
        )
        .unwrap();
    let run = sb.run(["verify", "alice", &code]);
    run.code(3)
        .stderr_contains("already used")
        .never_shows(&code);
    assert_eq!(
        sb.totp("alice"),
        (Some("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".to_owned()), 1)
    );
    assert_eq!(server.messages().len(), 2, "code and one notification only");
}

#[test]
fn verify_without_a_request_is_rejected() {
    let (sb, _server) = sandbox_with_mail(USERS, "");
    sb.run(["verify", "alice", "12345678"])
        .code(3)
        .one_error_line();
    sb.assert_untouched(&USERS[0]);
}

/// A TCP relay to the SMTP server on `port` that holds each connection for `delay` before
/// passing it through: a slow mail server, which keeps each `request-reset` a while between
/// storing its code and learning that the e-mail went out. Its threads end with the test
/// binary.
fn slow_relay(port: u16, delay: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let relay_port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                let Ok(server) = TcpStream::connect(("127.0.0.1", port)) else {
                    return;
                };
                let (mut from_server, mut to_client) =
                    (server.try_clone().unwrap(), client.try_clone().unwrap());
                let back = std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from_server, &mut to_client);
                    let _ = to_client.shutdown(Shutdown::Write);
                });
                let (mut from_client, mut to_server) = (client, server);
                let _ = std::io::copy(&mut from_client, &mut to_server);
                let _ = to_server.shutdown(Shutdown::Write);
                let _ = back.join();
            });
        }
    });
    relay_port
}

#[test]
fn concurrent_requests_respect_the_hourly_cap() {
    let (sb, server) = sandbox_with_mail(USERS, "");
    let relay = slow_relay(server.port, Duration::from_millis(500));
    sb.write_config(&mail_config(relay, "[reset]\nmax_requests_per_hour = 1\n"));
    // dave gets an authenticator, so that he has something to reset.
    sb.conn()
        .execute(
            "UPDATE users SET totp_secret = 'JBSWY3DPEHPK3PXP', totp_enabled = 1
             WHERE username = 'dave'",
            [],
        )
        .unwrap();
    // Three rounds of six runs at once, one round per user.
    let mut seen = Vec::new();
    for user in ["alice", "bob", "dave"] {
        let mut children: Vec<_> = (0..6)
            .map(|_| {
                sb.std_cmd()
                    .arg("--db")
                    .arg(&sb.db)
                    .args(["request-reset", user, "--password-stdin"])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        // Let every run reach the point where it reads the password, then release them all.
        std::thread::sleep(Duration::from_millis(300));
        for child in &mut children {
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
        }
        let mut codes: Vec<Option<i32>> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap().status.code())
            .collect();
        codes.sort();
        let address = format!("{user}@example.com");
        let mails = server
            .messages()
            .iter()
            .filter(|m| m.rcpt_to == [address.clone()])
            .count();
        let states = request_states(&sb, user);
        seen.push((user, codes, mails, states));
    }
    let expected: Vec<_> = seen
        .iter()
        .map(|(user, _, _, _)| {
            (
                *user,
                vec![Some(0), Some(5), Some(5), Some(5), Some(5), Some(5)],
                1,
                vec!["open".to_owned()],
            )
        })
        .collect();
    assert_eq!(
        seen, expected,
        "max_requests_per_hour = 1 and six request-reset runs at once: (user, exit codes, \
         codes e-mailed, request states)"
    );
}

// ---- Bad input ----------------------------------------------------------------------------

#[test]
fn an_unknown_user_is_not_found_and_changes_nothing() {
    let (sb, server) = sandbox_with_mail(USERS, "");
    let before = sb.hash();
    request(&sb, "nobody", PASSWORD, &[])
        .code(4)
        .stderr_contains("no such user")
        .never_shows(PASSWORD);
    sb.assert_unchanged(&before);
    sb.run(["verify", "nobody", "12345678"])
        .code(4)
        .stderr_contains("no such user");
    sb.assert_unchanged(&before);
    assert!(server.messages().is_empty());
}

#[test]
fn no_password_without_a_terminal_is_a_usage_error() {
    let (sb, server) = sandbox_with_mail(USERS, "");
    let before = sb.hash();
    // stdin is a pipe, so there is no terminal to prompt on.
    let mut cmd = sb.cmd();
    cmd.arg("--db")
        .arg(&sb.db)
        .args(["request-reset", "alice"])
        .write_stdin(format!("{PASSWORD}\n"));
    Run::of(&mut cmd)
        .code(2)
        .stderr_contains("--password-stdin")
        .never_shows(PASSWORD);
    // The same with --no-input.
    let mut cmd = sb.cmd();
    cmd.arg("--db")
        .arg(&sb.db)
        .args(["--no-input", "request-reset", "alice"]);
    Run::of(&mut cmd)
        .code(2)
        .stderr_contains("--password-stdin");
    sb.assert_unchanged(&before);
    assert!(server.messages().is_empty());
    // verify with no request open says so, before wanting a code.
    sb.run(["verify", "alice"])
        .code(3)
        .stderr_contains("no open reset request");
    // verify without a code and no terminal.
    request_code(&sb, &server, "alice");
    sb.run(["verify", "alice"]).code(2).stderr_contains("CODE");
}

// ---- E-mail failures ---------------------------------------------------------------------

/// After a failed delivery: exit 6, nothing usable left, the allowance untouched (a later
/// request, with an allowance of one, succeeds and its code works).
fn assert_mail_failure_leaves_nothing(sb: &Sandbox, failing_port: u16) {
    sb.write_config(&mail_config(
        failing_port,
        "[reset]\nmax_requests_per_hour = 1\n",
    ));
    let run = request(sb, "alice", PASSWORD, &[]);
    run.code(6).never_shows(PASSWORD);
    assert!(
        request_states(sb, "alice")
            .iter()
            .all(|s| s == "undelivered"),
        "{:?}",
        request_states(sb, "alice")
    );
    assert_eq!(reset_open_until(sb, "alice"), Value::Null);
    // No code works: the one made was never delivered.
    for code in ["00000000", "12345678", "99999999"] {
        sb.run(["verify", "alice", code]).code(3);
    }
    sb.assert_untouched(&USERS[0]);

    let good = Server::start(Options::default());
    sb.write_config(&mail_config(
        good.port,
        "[reset]\nmax_requests_per_hour = 1\n",
    ));
    let code = request_code(sb, &good, "alice");
    sb.run(["verify", "alice", &code]).ok();
    sb.assert_cleared("alice");
}

#[test]
fn a_rejected_recipient_is_a_mail_failure_that_leaves_no_code() {
    let (sb, _server) = sandbox_with_mail(USERS, "");
    let rejecting = Server::start(Options {
        reject_rcpt: vec!["alice@example.com".to_owned()],
        ..Options::default()
    });
    assert_mail_failure_leaves_nothing(&sb, rejecting.port);
    assert!(rejecting.messages().is_empty());
}

#[test]
fn an_unreachable_server_is_a_mail_failure_that_leaves_no_code() {
    let (sb, _server) = sandbox_with_mail(USERS, "");
    assert_mail_failure_leaves_nothing(&sb, closed_port());
}

#[test]
fn a_failed_delivery_voids_the_code_sent_before() {
    let (sb, server) = sandbox_with_mail(USERS, "");
    let code = request_code(&sb, &server, "alice");
    server.set_fail_after(Some(1));
    request(&sb, "alice", PASSWORD, &[]).code(6);
    // A new request voids the open one, delivered or not: the old code is dead too.
    sb.run(["verify", "alice", &code]).code(3);
    sb.assert_untouched(&USERS[0]);
}

// ---- Secrets and races ---------------------------------------------------------------------

#[test]
fn no_code_or_password_reaches_output_audit_or_database() {
    let (sb, server) = sandbox_with_mail(USERS, "[reset]\nmax_attempts = 3\n");
    let mut runs = Vec::new();
    let mut codes = Vec::new();
    // Every kind of run: wrong password, request (text and JSON, verbose), wrong code,
    // right code, spent code.
    runs.push(request(&sb, "alice", WRONG_PASSWORD, &["--verbose"]));
    runs.push(request(&sb, "alice", PASSWORD, &["--verbose"]));
    codes.push(code_in(server.messages().last().unwrap()));
    runs.push(request(&sb, "alice", PASSWORD, &["--format", "json"]));
    codes.push(code_in(server.messages().last().unwrap()));
    let code = codes.last().unwrap().clone();
    runs.push(sb.run(["--verbose", "verify", "alice", &other_code(&code, 7)]));
    runs.push(sb.run(["--format", "json", "verify", "alice", &other_code(&code, 8)]));
    runs.push(sb.run(["--verbose", "verify", "alice", &code]));
    runs.push(sb.run(["verify", "alice", &code]));
    runs.push(sb.run(["audit", "--format", "json"]));
    runs.push(sb.run(["audit"]));
    assert_eq!(
        runs.iter().map(|r| r.status.code()).collect::<Vec<_>>(),
        [3, 0, 0, 3, 3, 0, 3, 0, 0].map(Some)
    );
    let mut secrets: Vec<&str> = codes.iter().map(String::as_str).collect();
    secrets.push(PASSWORD);
    secrets.push(WRONG_PASSWORD);
    let audit = sb.audit();
    assert!(audit.len() >= 6, "{audit:?}");
    for secret in &secrets {
        for run in &runs {
            run.never_shows(secret);
        }
        for row in &audit {
            assert!(!format!("{row:?}").contains(secret), "{row:?}");
        }
        assert_db_never_holds(&sb.db, secret);
    }
}

#[test]
fn two_verify_runs_racing_with_the_right_code_succeed_once() {
    let (sb, server) = sandbox_with_mail(USERS, "");
    let code = request_code(&sb, &server, "alice");
    let spawn = || {
        sb.std_cmd()
            .arg("--db")
            .arg(&sb.db)
            .args(["verify", "alice", &code])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let children = [spawn(), spawn()];
    let outs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let mut codes: Vec<Option<i32>> = outs.iter().map(|o| o.status.code()).collect();
    codes.sort();
    assert_eq!(
        codes,
        [Some(0), Some(3)],
        "stderr: {:?}",
        outs.iter()
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .collect::<Vec<_>>()
    );
    sb.assert_cleared("alice");
    let resets = sb
        .audit()
        .iter()
        .filter(|r| r.action == "verify" && r.outcome == "reset")
        .count();
    assert_eq!(resets, 1);
    assert_eq!(server.messages().len(), 2, "one code, one notification");
    for o in &outs {
        let mut all = o.stdout.clone();
        all.write_all(&o.stderr).unwrap();
        assert!(!String::from_utf8_lossy(&all).contains(&code));
    }
}
