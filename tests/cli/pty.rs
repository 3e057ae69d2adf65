//! Where a person is involved, tested as a person meets it: the real binary in a
//! pseudo-terminal (expectrl), the test reading the screen, waiting for a prompt, typing and
//! pressing Ctrl-C. Covers the hidden password prompt, Ctrl-C at a prompt, the confirmation
//! of `admin-reset`, the QR code drawn in the terminal, and codes typed after a wait at a
//! prompt (a run must ask the clock when it checks, not when it started).

use std::fs::File;
use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use expectrl::process::unix::WaitStatus;
use nix::sys::termios::{LocalFlags, Termios, tcgetattr};

use crate::enroll::{decode, settle, totp_at};
use crate::self_service::{PASSWORD, code_in, now, password_hash, request, unix_of};
use crate::smtp::Received;
use crate::support::*;

/// How long any one wait on the program may take before the test fails (generous: the
/// machine may be busy with other builds).
const TIMEOUT: Duration = Duration::from_secs(60);

/// expectrl starts its terminal with echo off (convenient for scripts, unlike a person's
/// terminal); a tiny shell turns it back on before it becomes the program.
const AS_A_TERMINAL: &str = "stty echo || exit 125; exec \"$0\" \"$@\"";

/// The program in a pseudo-terminal, and everything it wrote to the screen.
pub struct Pty {
    session: expectrl::session::OsSession,
    /// The terminal's master side, to read its settings (on Linux the master reports the
    /// settings the program set on its side).
    master: File,
    /// Every byte written to the terminal, escape sequences included.
    raw: Vec<u8>,
    /// How far into `raw` earlier `expect`s have matched.
    seen: usize,
    eof: bool,
    command: String,
}

/// How a run in the terminal ended.
pub struct Ended {
    pub code: i32,
    /// What the screen showed (escape sequences and carriage returns removed).
    pub screen: String,
    /// Every byte written to the terminal, escape sequences included.
    pub raw: Vec<u8>,
}

impl Pty {
    /// `twofactl --db <the sandbox database> ARGS` in a new terminal, with the sandbox's clean
    /// environment plus `TERM=xterm`.
    pub fn run(sb: &Sandbox, args: &[&str]) -> Pty {
        let mut full = vec!["--db", sb.db.to_str().unwrap()];
        full.extend_from_slice(args);
        Pty::shell(sb, AS_A_TERMINAL, &full)
    }

    /// `sh -c SCRIPT twofactl ARGS` in a new terminal: `$0` is the binary, `"$@"` the args.
    pub fn shell(sb: &Sandbox, script: &str, args: &[&str]) -> Pty {
        let mut cmd = Command::new("/bin/sh");
        sb.clean_env(&mut cmd);
        cmd.env("TERM", "xterm")
            .arg("-c")
            .arg(script)
            .arg(bin())
            .args(args);
        Pty::spawn(cmd)
    }

    /// `cmd` in a new terminal (of 80 by 24 characters), as it is: environment, directory and
    /// all. The terminal starts with echo off (see [`AS_A_TERMINAL`]).
    pub fn spawn(cmd: Command) -> Pty {
        let command = format!("{cmd:?}");
        let session = expectrl::Session::spawn(cmd)
            .unwrap_or_else(|e| panic!("could not spawn {command} in a pty: {e}"));
        let master = session
            .get_process()
            .get_raw_handle()
            .expect("the pty's master side");
        Pty {
            session,
            master,
            raw: Vec::new(),
            seen: 0,
            eof: false,
            command,
        }
    }

    /// Read what the program wrote so far, waiting at most a moment; false at end of output.
    fn pump(&mut self) -> bool {
        if self.eof {
            return false;
        }
        let mut buf = [0u8; 4096];
        match self.session.try_read(&mut buf) {
            Ok(0) => self.eof = true,
            Ok(n) => self.raw.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("reading the pty failed: {e}{}", self.context()),
        }
        !self.eof
    }

    /// Tell the program its terminal has `cols` columns and `rows` rows.
    pub fn set_size(&mut self, cols: u16, rows: u16) {
        self.session
            .get_process_mut()
            .set_window_size(cols, rows)
            .unwrap_or_else(|e| panic!("could not resize the pty: {e}{}", self.context()));
    }

    /// What the screen showed so far.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&visible(&self.raw).0).into_owned()
    }

    fn context(&self) -> String {
        let screen = self.screen();
        let tail: String = {
            let chars: Vec<char> = screen.chars().collect();
            chars[chars.len().saturating_sub(4000)..].iter().collect()
        };
        format!(
            "\ncommand: {}\n--- screen (last 4000 characters) ---\n{tail}\n--- end of screen ---",
            self.command
        )
    }

    /// Wait until the screen shows one of `needles` after what earlier `expect`s matched;
    /// returns which one. Fails at the end of output or after [`TIMEOUT`].
    #[track_caller]
    pub fn expect_one_of(&mut self, needles: &[&str]) -> usize {
        let start = Instant::now();
        loop {
            let (vis, at) = visible(&self.raw[self.seen..]);
            let found = needles
                .iter()
                .enumerate()
                .filter_map(|(i, n)| find(&vis, n.as_bytes()).map(|p| (p + n.len(), i)))
                .min();
            if let Some((end, i)) = found {
                self.seen += at[end - 1] + 1;
                return i;
            }
            if self.eof {
                panic!(
                    "the program ended without showing {needles:?}{}",
                    self.context()
                );
            }
            if start.elapsed() > TIMEOUT {
                panic!(
                    "the screen did not show {needles:?} within {TIMEOUT:?}{}",
                    self.context()
                );
            }
            self.pump();
        }
    }

    /// Wait until the screen shows `needle` after what earlier `expect`s matched.
    #[track_caller]
    pub fn expect(&mut self, needle: &str) {
        self.expect_one_of(&[needle]);
    }

    /// Wait until the terminal's settings satisfy `cond` (the program has set them up to read
    /// its answer), reading its output meanwhile.
    #[track_caller]
    fn wait_for_settings(&mut self, what: &str, cond: impl Fn(&Termios) -> bool) {
        let start = Instant::now();
        loop {
            let settings = tcgetattr(&self.master).expect("read the terminal's settings");
            if cond(&settings) {
                return;
            }
            if self.eof || start.elapsed() > TIMEOUT {
                panic!("the terminal never got {what}{}", self.context());
            }
            self.pump();
        }
    }

    /// Wait until the program has turned echo off (a hidden prompt is reading). Typing
    /// earlier would be lost: the prompt flushes pending input when it turns echo off.
    #[track_caller]
    pub fn wait_echo_off(&mut self) {
        self.wait_for_settings("echo off", |t| !t.local_flags.contains(LocalFlags::ECHO));
    }

    /// Wait until the program reads single keys (the terminal is not line-buffered).
    #[track_caller]
    pub fn wait_raw(&mut self) {
        self.wait_for_settings("single-key input (no ICANON)", |t| {
            !t.local_flags.contains(LocalFlags::ICANON)
        });
    }

    /// Wait until a prompt is reading: the terminal reads single keys or hides what is typed;
    /// or, for a line read as a person types it (echo and line editing on, as at a shell or
    /// under `--code-stdin`), until the program has written nothing for `quiet`.
    #[track_caller]
    pub fn wait_reading(&mut self, quiet: Duration) {
        let start = Instant::now();
        let (mut len, mut since) = (self.raw.len(), Instant::now());
        loop {
            let t = tcgetattr(&self.master).expect("read the terminal's settings");
            if !t.local_flags.contains(LocalFlags::ECHO)
                || !t.local_flags.contains(LocalFlags::ICANON)
            {
                return;
            }
            if self.raw.len() != len {
                (len, since) = (self.raw.len(), Instant::now());
            } else if since.elapsed() >= quiet {
                return;
            }
            if self.eof || start.elapsed() > TIMEOUT {
                panic!("no prompt was reading{}", self.context());
            }
            self.pump();
        }
    }

    /// Type `text` as keys.
    pub fn send(&mut self, text: &str) {
        self.session
            .write_all(text.as_bytes())
            .and_then(|()| self.session.flush())
            .unwrap_or_else(|e| panic!("typing into the pty failed: {e}"));
    }

    /// Type `text` and press Enter (a terminal sends a carriage return).
    pub fn type_line(&mut self, text: &str) {
        self.send(&format!("{text}\r"));
    }

    /// Press Ctrl-C.
    pub fn ctrl_c(&mut self) {
        self.send("\x03");
    }

    /// Sit at the screen for `d` (reading the output meanwhile, so the program never blocks
    /// on a full terminal).
    pub fn pause(&mut self, d: Duration) {
        let until = Instant::now() + d;
        while Instant::now() < until {
            if !self.pump() {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// Wait for the end of output and the exit of the program; its exit code (128 + the
    /// signal when killed by one) and the whole screen.
    #[track_caller]
    pub fn finish(mut self) -> Ended {
        let start = Instant::now();
        while self.pump() {
            if start.elapsed() > TIMEOUT {
                panic!(
                    "the program did not finish within {TIMEOUT:?}{}",
                    self.context()
                );
            }
        }
        let code = loop {
            match self.session.get_process().status() {
                Ok(WaitStatus::Exited(_, code)) => break code,
                Ok(WaitStatus::Signaled(_, sig, _)) => break 128 + sig as i32,
                Ok(_) if start.elapsed() < TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                other => panic!("the program did not exit: {other:?}{}", self.context()),
            }
        };
        Ended {
            code,
            screen: self.screen(),
            raw: self.raw,
        }
    }
}

impl Ended {
    #[track_caller]
    pub fn code(&self, code: i32) -> &Ended {
        assert_eq!(
            self.code, code,
            "unexpected exit status\n--- screen ---\n{}",
            self.screen
        );
        self
    }
}

/// The bytes of `raw` that a person sees (escape sequences and carriage returns dropped)
/// and, for each, its index in `raw`. An escape sequence cut off at the end is dropped.
fn visible(raw: &[u8]) -> (Vec<u8>, Vec<usize>) {
    let (mut out, mut at) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            0x1b => i = skip_escape(raw, i),
            b'\r' => i += 1,
            b => {
                out.push(b);
                at.push(i);
                i += 1;
            }
        }
    }
    (out, at)
}

/// The index after the escape sequence that starts at `raw[i]` (CSI, OSC or two bytes).
fn skip_escape(raw: &[u8], i: usize) -> usize {
    match raw.get(i + 1) {
        Some(b'[') => raw[i + 2..]
            .iter()
            .position(|b| (0x40..=0x7e).contains(b))
            .map_or(raw.len(), |p| i + 2 + p + 1),
        Some(b']') => {
            let mut j = i + 2;
            while j < raw.len() {
                if raw[j] == 0x07 {
                    return j + 1;
                }
                if raw[j] == 0x1b && raw.get(j + 1) == Some(&b'\\') {
                    return j + 2;
                }
                j += 1;
            }
            raw.len()
        }
        Some(_) => i + 2,
        None => raw.len(),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

// ---- Fixtures --------------------------------------------------------------------------------

/// A sandbox of the standard users, whose password is [`PASSWORD`], mailing through the file
/// transport into `mails/`, plus `extra` TOML.
fn sandbox_with_file_mail(extra: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.conn()
        .execute("UPDATE users SET password_hash = ?1", [password_hash()])
        .unwrap();
    sb.write_config(&format!(
        "[mail]\ntransport = \"file\"\nfile_dir = \"mails\"\n\
         from = \"Fixture App <no-reply@example.com>\"\n\n{extra}\n"
    ));
    sb
}

/// The messages written to `mails/`, in name order.
fn mails(sb: &Sandbox) -> Vec<Received> {
    let Ok(dir) = std::fs::read_dir(sb.path("mails")) else {
        return Vec::new();
    };
    let mut files: Vec<_> = dir.map(|e| e.unwrap().path()).collect();
    files.sort();
    files
        .into_iter()
        .map(|f| Received {
            mail_from: String::new(),
            rcpt_to: Vec::new(),
            data: std::fs::read(&f).unwrap(),
            tls: false,
            auth_user: None,
        })
        .collect()
}

/// A user's `status` in `list-users --format json`.
#[track_caller]
fn status_of(sb: &Sandbox, user: &str) -> String {
    let run = sb.run(["list-users", "--format", "json"]);
    run.ok();
    run.json_lines()
        .into_iter()
        .find(|v| v["username"] == user)
        .unwrap_or_else(|| panic!("list-users does not list {user}"))["status"]
        .as_str()
        .expect("status is a string")
        .to_owned()
}

/// The `secret` parameter of the `URI: otpauth://...` line on the screen, and the URI.
#[track_caller]
fn key_on(screen: &str) -> (String, String) {
    let uri = screen
        .lines()
        .find_map(|l| l.trim().strip_prefix("URI: "))
        .unwrap_or_else(|| panic!("no `URI:` line on the screen:\n{screen}"))
        .trim()
        .to_owned();
    let key = uri
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("secret="))
        .unwrap_or_else(|| panic!("no secret in {uri}"))
        .to_owned();
    (key, uri)
}

/// Decode the QR code drawn on the screen with half blocks (`▀` top module dark, `▄` bottom,
/// `█` both, space neither): the longest run of lines of only those, all of one width.
#[track_caller]
fn qr_on(screen: &str) -> String {
    let is_qr_line =
        |l: &str| l.chars().count() >= 21 && l.chars().all(|c| matches!(c, ' ' | '▀' | '▄' | '█'));
    let lines: Vec<&str> = screen.lines().collect();
    let mut best: &[&str] = &[];
    let mut i = 0;
    while i < lines.len() {
        let width = lines[i].chars().count();
        let run = lines[i..]
            .iter()
            .take_while(|l| is_qr_line(l) && l.chars().count() == width)
            .count();
        if run > best.len() {
            best = &lines[i..i + run];
        }
        i += run.max(1);
    }
    assert!(
        best.len() >= 10,
        "no QR code of half-block characters on the screen:\n{screen}"
    );
    let grid: Vec<Vec<char>> = best.iter().map(|l| l.chars().collect()).collect();
    let (width, height) = (grid[0].len(), grid.len() * 2);
    const PX: usize = 4;
    let dark = |x: usize, y: usize| match grid[y / 2][x] {
        '█' => true,
        '▀' => y.is_multiple_of(2),
        '▄' => !y.is_multiple_of(2),
        _ => false,
    };
    decode(width * PX, height * PX, |x, y| {
        if dark(x / PX, y / PX) { 0 } else { 255 }
    })
    .text
}

/// The words of `stty -a` (settings such as `echo` or `-echo`) printed after `marker`.
#[track_caller]
fn stty_settings(screen: &str, marker: &str) -> Vec<String> {
    let (_, after) = screen
        .split_once(marker)
        .unwrap_or_else(|| panic!("no {marker:?} on the screen:\n{screen}"));
    after
        .split(|c: char| c.is_whitespace() || c == ';')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

// ---- request-reset's hidden password prompt ---------------------------------------------------

#[test]
fn the_password_prompt_never_echoes_and_a_right_password_sends_a_code() {
    let sb = sandbox_with_file_mail("");
    let mut pty = Pty::run(&sb, &["request-reset", "alice"]);
    pty.expect("Password of alice");
    pty.wait_echo_off();
    pty.type_line(PASSWORD);
    pty.expect("A verification code was sent to");
    let end = pty.finish();
    end.code(0);
    for secret in [PASSWORD, "correct", "horse", "staple"] {
        assert!(
            !end.screen.contains(secret),
            "the terminal showed {secret:?} of the password:\n{}",
            end.screen
        );
    }
    let sent = mails(&sb);
    assert_eq!(sent.len(), 1, "one message with the code");
    let code = code_in(&sent[0]);
    assert!(
        !end.screen.contains(&code),
        "the code appeared on the terminal:\n{}",
        end.screen
    );
    assert_eq!(
        crate::self_service::request_states(&sb, "alice"),
        ["open"],
        "one open reset request"
    );
}

#[test]
fn ctrl_c_at_the_password_prompt_exits_130_restores_echo_and_changes_nothing() {
    let sb = sandbox_with_file_mail("");
    let before = sb.hash();
    const MARKER: &str = "--- after twofactl ---";
    // The shell survives the Ctrl-C (trap) and reports the terminal's settings afterwards, as
    // the person's shell would find them.
    let script = format!(
        "stty echo || exit 125; trap : INT; \"$0\" \"$@\"; rc=$?; echo '{MARKER}'; stty -a; exit $rc"
    );
    let db = sb.db.to_str().unwrap().to_owned();
    let mut pty = Pty::shell(&sb, &script, &["--db", &db, "request-reset", "alice"]);
    pty.expect("Password of alice");
    pty.wait_echo_off();
    // Half a password typed, then Ctrl-C.
    pty.send("correct horse");
    pty.ctrl_c();
    pty.expect(MARKER);
    let end = pty.finish();
    end.code(130);

    let screen = &end.screen;
    let (prompt_on, _) = screen.rsplit_once(MARKER).unwrap();
    let after_prompt = prompt_on
        .rsplit_once("Password of alice")
        .map(|(_, rest)| rest)
        .unwrap();
    assert!(
        !screen.contains("horse"),
        "the typed password was echoed:\n{screen}"
    );
    let settings = stty_settings(screen, MARKER);
    assert!(
        settings.iter().any(|w| w == "echo") && !settings.iter().any(|w| w == "-echo"),
        "echo is still off after twofactl: {settings:?}"
    );
    assert!(
        settings.iter().any(|w| w == "icanon"),
        "line editing is still off after twofactl: {settings:?}"
    );
    sb.assert_unchanged(&before);
    assert!(mails(&sb).is_empty(), "no message was sent");
    assert!(
        after_prompt.contains('\n'),
        "no newline ended the prompt line before the shell went on: {after_prompt:?}"
    );
}

// ---- admin-reset's confirmation ----------------------------------------------------------------

const RESET_ALICE: &[&str] = &[
    "admin-reset",
    "alice",
    "--reason",
    "lost phone",
    "--no-notify",
];

#[test]
fn answering_n_to_the_reset_confirmation_changes_nothing() {
    let sb = Sandbox::new();
    let before = sb.hash();
    let mut pty = Pty::run(&sb, RESET_ALICE);
    pty.expect("Reset the 2FA of alice");
    pty.wait_raw();
    pty.send("n");
    let end = pty.finish();
    end.code(2);
    assert!(
        end.screen.contains("nothing changed"),
        "the run should say nothing changed:\n{}",
        end.screen
    );
    sb.assert_unchanged(&before);
}

#[test]
fn answering_y_to_the_reset_confirmation_resets() {
    let sb = Sandbox::new();
    let mut pty = Pty::run(&sb, RESET_ALICE);
    pty.expect("Reset the 2FA of alice");
    pty.wait_raw();
    pty.send("y");
    pty.finish().code(0);
    sb.assert_cleared("alice");
    assert_eq!(sb.sessions("alice"), 0, "alice's sessions are revoked");
    let bob = STANDARD.iter().find(|u| u.name == "bob").unwrap();
    sb.assert_untouched(bob);
}

// ---- enroll in a terminal ---------------------------------------------------------------------

const CODE_PROMPT: &str = "Code shown by the authenticator app";

/// Start `enroll dave --show-secret` (plus `extra`) and wait at the code prompt; returns the
/// terminal and the key shown.
#[track_caller]
fn enroll_to_the_prompt(sb: &Sandbox, extra: &[&str]) -> (Pty, String) {
    let mut args = vec!["enroll", "dave", "--show-secret"];
    args.extend_from_slice(extra);
    let mut pty = Pty::run(sb, &args);
    pty.expect(CODE_PROMPT);
    pty.wait_raw();
    let (key, _) = key_on(&pty.screen());
    (pty, key)
}

#[test]
fn enroll_draws_the_qr_code_and_a_typed_code_confirms_the_key() {
    let sb = sandbox_with_file_mail("");
    let mut pty = Pty::run(&sb, &["enroll", "dave", "--show-secret"]);
    pty.expect(CODE_PROMPT);
    pty.wait_raw();
    let screen = pty.screen();
    let (key, uri) = key_on(&screen);
    assert!(
        screen.contains('▀') || screen.contains('▄'),
        "no half-block characters on the screen:\n{screen}"
    );
    assert_eq!(qr_on(&screen), uri, "the QR code drawn holds the URI shown");
    assert_eq!(
        status_of(&sb, "dave"),
        "pending",
        "the key waits for a code"
    );

    settle();
    pty.type_line(&totp_at(&key, now()));
    pty.expect("Code accepted");
    pty.finish().code(0);
    assert_eq!(status_of(&sb, "dave"), "enabled");
    assert_eq!(
        sb.totp("dave"),
        (Some(key), 1),
        "the application's users.totp_secret holds the key shown, enabled"
    );
}

#[test]
fn ctrl_c_at_the_enroll_code_prompt_exits_130_and_says_the_key_is_pending() {
    let sb = sandbox_with_file_mail("");
    let (mut pty, _) = enroll_to_the_prompt(&sb, &[]);
    pty.ctrl_c();
    let end = pty.finish();
    end.code(130);
    let after = end
        .screen
        .rsplit_once(CODE_PROMPT)
        .map(|(_, rest)| rest.to_owned())
        .unwrap();
    assert_eq!(status_of(&sb, "dave"), "pending");
    assert_eq!(sb.totp("dave").1, 0, "the application's 2FA is not enabled");
    assert!(
        after.contains("pending"),
        "after Ctrl-C the run should say the key stays pending and how to confirm it:\n{after:?}"
    );
}

// ---- The clock is read when a decision is made, not at start-up -------------------------------

#[test]
fn a_code_that_expires_while_verify_waits_at_its_prompt_is_refused() {
    let sb = sandbox_with_file_mail("[reset]\ncode_ttl = \"3s\"\n");
    let run = request(&sb, "alice", PASSWORD, &["--format", "json"]);
    run.ok();
    let expires = unix_of(
        run.json_lines()[0]["expires"]
            .as_str()
            .expect("request-reset's JSON has `expires`"),
    );
    let sent = mails(&sb);
    assert_eq!(sent.len(), 1, "one message with the code");
    let code = code_in(&sent[0]);
    let before = sb.totp("alice");

    let mut pty = Pty::run(&sb, &["verify", "alice"]);
    pty.expect("Verification code e-mailed to");
    pty.wait_raw();
    assert!(
        now() < expires,
        "the machine is too slow for this test: verify prompted after the code expired"
    );
    // Sit at the prompt until the code has expired (5 s after it was sent), then type it.
    while now() < expires + 2 {
        pty.pause(Duration::from_millis(200));
    }
    pty.type_line(&code);
    let end = pty.finish();
    end.code(3);
    assert_eq!(sb.totp("alice"), before, "alice's 2FA is unchanged");
    assert_eq!(sb.sessions("alice"), 2, "alice's sessions are kept");
}

#[test]
fn a_code_typed_two_steps_after_enroll_started_is_accepted() {
    let sb = sandbox_with_file_mail("");
    let started = now();
    let (mut pty, key) = enroll_to_the_prompt(&sb, &["--qr-terminal"]);
    // Sit at the prompt for more than two 30-second steps, then type the code of that moment.
    while now() < started + 65 {
        pty.pause(Duration::from_millis(500));
    }
    settle();
    pty.type_line(&totp_at(&key, now()));
    let which = pty.expect_one_of(&["Code accepted", "try again"]);
    assert_eq!(
        which,
        0,
        "the code current when typed was rejected\n--- screen ---\n{}",
        pty.screen()
    );
    pty.finish().code(0);
    assert_eq!(status_of(&sb, "dave"), "enabled");
    assert_eq!(sb.totp("dave"), (Some(key), 1));
}
