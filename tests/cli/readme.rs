//! The README's examples, run: every ```console block of README.md is executed in a fresh
//! sandbox and what it prints is compared with what the block shows, so the runbooks cannot
//! drift from the tool again. A block that differs fails the test with the block, the
//! expected and the actual text.
//!
//! How a block is written (what a README writer must follow):
//!
//! - `$ ` starts a command; a line ending in `\` continues it on the next line. Every other
//!   line, up to the next `$ `, is what the command prints: stdout and stderr together, as a
//!   terminal shows them.
//! - In expected text, `[..]` stands for any text within one line (times, codes, paths), and
//!   a line of just `...` for any number of lines (QR art). Trailing spaces are ignored.
//! - Each block runs on its own, from the start, in a fresh `twofactl demo` sandbox (so it
//!   makes the state it shows: nothing carries over from the block before): bash, in the
//!   sandbox's directory, `TWOFACTL_CONFIG` set to its config, `twofactl` the build under
//!   test, a clean environment. The commands of a block share one shell, so `code=$(...)` in
//!   one is `"$code"` in the next. Mail lands in `outbox/` as .eml files.
//! - A command must exit 0, unless it ends with the comment `# exit N` (then it must exit
//!   N), or the next command is `echo $?` (which shows the status).
//! - A block where someone types runs in a pseudo-terminal, and the final screen is compared
//!   (as a person would copy it from the terminal: prompts as dialoguer leaves them,
//!   colours dropped). The line that shows an answer ends with an input comment, two spaces
//!   or more before it: `# [who] types: TEXT` (TEXT, then Enter) or `# [who] presses: KEY`
//!   (`y`, `n`, `Enter` or `Ctrl-C`); `type:` and `press:` work too. Before typing, the
//!   harness waits for the command's `$ ` line, then, on a prompt's line (`✔ Question ·
//!   answer`, `? Question ›`), for `? Question` on the screen, then until the program reads
//!   (single keys or hidden input; for a plain line, as under `--code-stdin`, until the
//!   output has paused). Two TEXTs are looked up, not typed as written: `the e-mailed code`
//!   (the newest 8-digit code in `outbox/`) and `the app's code` (what an authenticator app
//!   shows now for the pending key of the user named after `enroll` or `verify`). A prompt
//!   without an input comment waits until the test times out.
//! - A block with no input comment runs with stdin from /dev/null, as a script would,
//!   unless its fence is ```` ```console terminal ```` (rendered as a console block all the
//!   same): then it runs in a terminal too, e.g. to show that nothing is asked.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::enroll::totp_at;
use crate::pty::Pty;
use crate::self_service::now;
use crate::support::bin;

/// The pseudo-terminal's size: tall enough that no block scrolls off its top.
const COLS: u16 = 120;
const ROWS: u16 = 500;

/// How long a line read as typed (no prompt of dialoguer's) waits for the output to stop.
const QUIET: Duration = Duration::from_millis(1000);

/// No block should take this long.
const BLOCK_TIMEOUT: Duration = Duration::from_secs(120);

// ---- The README, parsed -----------------------------------------------------------------------

/// One ```console block.
#[derive(Debug)]
struct Block {
    /// Line of README.md (1-based) of the opening fence.
    line: usize,
    /// The block as written, for failure messages.
    source: String,
    commands: Vec<Cmd>,
    /// ```` ```console terminal ````: run in a terminal even though nobody types.
    terminal: bool,
}

#[derive(Debug)]
struct Cmd {
    /// The command as written, one entry per line (without the `$ ` of the first).
    lines: Vec<String>,
    /// `# exit N` on the command: the status it must exit with.
    exit: Option<i32>,
    expected: Vec<Expected>,
}

/// A line the command is expected to print, and what is typed there.
#[derive(Debug)]
struct Expected {
    text: String,
    input: Option<Input>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Input {
    /// Text and Enter.
    Type(Typed),
    /// One key.
    Press(Key),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Typed {
    Text(String),
    EmailedCode,
    AppCode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Char(char),
    Enter,
    CtrlC,
}

impl Block {
    fn in_terminal(&self) -> bool {
        self.terminal
            || self
                .commands
                .iter()
                .any(|c| c.expected.iter().any(|e| e.input.is_some()))
    }

    /// The transcript the block shows: `$ ` lines and output, annotations removed.
    fn expected(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.commands {
            out.extend(c.shown());
            out.extend(c.expected.iter().map(|e| e.text.clone()));
        }
        out
    }

    /// The bash script that runs the block: each command is shown as `$ ...` (as written),
    /// run, and its status written to fd 3 (`status`), with `$?` kept for the next command.
    fn script(&self, status: &Path) -> String {
        let mut s = format!(
            "exec 3>{}\ntrap : INT\n",
            shell_quote(&status.to_string_lossy())
        );
        if self.in_terminal() {
            // expectrl starts its terminal with echo off; a person's has it on.
            s.push_str("stty echo || exit 125\n");
        } else {
            s.push_str("exec 2>&1\n");
        }
        for (i, c) in self.commands.iter().enumerate() {
            s.push_str("printf '%s\\n'");
            for l in c.shown() {
                s.push(' ');
                s.push_str(&shell_quote(&l));
            }
            s.push('\n');
            if i > 0 {
                s.push_str("(exit $__readme_rc)\n");
            }
            s.push_str(&c.lines.join("\n"));
            s.push_str("\n__readme_rc=$?; echo \"$__readme_rc\" >&3\n");
        }
        s
    }
}

impl Cmd {
    /// The command's lines as the transcript shows them.
    fn shown(&self) -> Vec<String> {
        self.lines
            .iter()
            .enumerate()
            .map(|(i, l)| if i == 0 { format!("$ {l}") } else { l.clone() })
            .collect()
    }

    fn is_echo_status(&self) -> bool {
        self.lines.len() == 1 && self.lines[0].trim() == "echo $?"
    }

    /// The user a command is about: the word after `enroll` or `verify`.
    fn user(&self) -> Option<String> {
        let joined = self.lines.join(" ");
        let words: Vec<&str> = joined.split_whitespace().collect();
        let at = words
            .iter()
            .position(|w| *w == "enroll" || *w == "verify")?;
        words[at + 1..]
            .iter()
            .find(|w| !w.starts_with('-'))
            .map(|w| w.trim_matches(['"', '\'']).to_owned())
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Every ```console block of `readme`.
fn parse(readme: &str) -> Result<Vec<Block>, String> {
    let mut blocks = Vec::new();
    let mut lines = readme.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let fence = line.trim_end();
        if !fence.starts_with("```console") {
            continue;
        }
        let mut body = Vec::new();
        loop {
            match lines.next() {
                Some((_, l)) if l.trim_end() == "```" => break,
                Some((_, l)) => body.push(l),
                None => return Err(format!("README.md:{}: unclosed console block", n + 1)),
            }
        }
        let mut block = parse_block(n + 1, &body)?;
        block.terminal = fence.split_whitespace().nth(1) == Some("terminal");
        blocks.push(block);
    }
    Ok(blocks)
}

fn parse_block(line: usize, body: &[&str]) -> Result<Block, String> {
    let mut commands: Vec<Cmd> = Vec::new();
    let mut continued = false;
    for (i, l) in body.iter().enumerate() {
        let at = line + 1 + i;
        if continued {
            let cmd = commands.last_mut().expect("a command is being continued");
            cmd.lines.push((*l).to_owned());
        } else if let Some(c) = l.strip_prefix("$ ") {
            commands.push(Cmd {
                lines: vec![c.to_owned()],
                exit: None,
                expected: Vec::new(),
            });
        } else {
            let Some(cmd) = commands.last_mut() else {
                return Err(format!(
                    "README.md:{at}: a console block starts with a `$ ` command, not {l:?}"
                ));
            };
            let (text, input) = parse_input(l).map_err(|e| format!("README.md:{at}: {e}"))?;
            cmd.expected.push(Expected { text, input });
            continue;
        }
        let cmd = commands.last_mut().expect("a command was just read");
        continued = l.ends_with('\\');
        if !continued {
            cmd.exit = exit_comment(l).map_err(|e| format!("README.md:{at}: {e}"))?;
        }
    }
    if commands.is_empty() {
        return Err(format!(
            "README.md:{line}: a console block without a command"
        ));
    }
    if continued {
        return Err(format!(
            "README.md:{line}: the block ends inside a command continued with `\\`"
        ));
    }
    let source = body.join("\n");
    Ok(Block {
        line,
        source,
        commands,
        terminal: false,
    })
}

/// `# exit N` at the end of a command line.
fn exit_comment(line: &str) -> Result<Option<i32>, String> {
    let Some(at) = line.rfind("# exit ") else {
        return Ok(None);
    };
    if at > 0 && !line[..at].ends_with(char::is_whitespace) {
        return Ok(None);
    }
    let rest = &line[at + "# exit ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits
        .parse()
        .map(Some)
        .map_err(|_| format!("`# exit` needs a status: {line:?}"))
}

/// An expected line and its input comment, if it has one.
fn parse_input(line: &str) -> Result<(String, Option<Input>), String> {
    let Some(at) = line.rfind("  #") else {
        return Ok((line.to_owned(), None));
    };
    let comment = line[at + 3..].trim();
    let Some((head, what)) = comment.split_once(": ") else {
        return Ok((line.to_owned(), None));
    };
    let verb = head.rsplit(' ').next().unwrap_or(head);
    let what = what.trim();
    let input = match verb {
        "type" | "types" => Input::Type(match what {
            "the e-mailed code" => Typed::EmailedCode,
            "the app's code" => Typed::AppCode,
            _ => Typed::Text(what.to_owned()),
        }),
        "press" | "presses" => Input::Press(match what {
            "Ctrl-C" => Key::CtrlC,
            "Enter" => Key::Enter,
            _ => {
                let mut chars = what.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Key::Char(c),
                    _ => {
                        return Err(format!(
                            "cannot press {what:?}: one character, Enter or Ctrl-C"
                        ));
                    }
                }
            }
        }),
        _ => return Ok((line.to_owned(), None)),
    };
    Ok((line[..at].trim_end().to_owned(), Some(input)))
}

/// The question a dialoguer prompt line shows (`✔ Question · answer`, `? Question ›`).
fn question(text: &str) -> Option<&str> {
    let rest = ["✔ ", "✘ ", "? "]
        .iter()
        .find_map(|p| text.strip_prefix(p))?;
    let end = [" · ", " ›"]
        .iter()
        .filter_map(|m| rest.find(m))
        .min()
        .unwrap_or(rest.len());
    let q = rest[..end].trim_end();
    (!q.is_empty()).then_some(q)
}

// ---- Matching -----------------------------------------------------------------------------------

/// Whether `actual` is one of the lines `pattern` stands for (`[..]` is any text).
fn line_matches(pattern: &str, actual: &str) -> bool {
    let parts: Vec<&str> = pattern.split("[..]").collect();
    if parts.len() == 1 {
        return pattern == actual;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !actual.starts_with(first) || actual.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &actual[first.len()..];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(p) => rest = &rest[p + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// Whether `actual` matches `expected` line by line (a line `...` is any number of lines).
fn lines_match(expected: &[String], actual: &[String]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((e, rest)) if e == "..." => {
            (0..=actual.len()).any(|skip| lines_match(rest, &actual[skip..]))
        }
        Some((e, rest)) => {
            !actual.is_empty() && line_matches(e, &actual[0]) && lines_match(rest, &actual[1..])
        }
    }
}

/// Lines without trailing spaces, without trailing empty lines.
fn normalise(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(|l| l.trim_end().to_owned()).collect();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

fn normalise_all(lines: &[String]) -> Vec<String> {
    normalise(&lines.join("\n"))
}

/// The 1-based line of `actual` where it first stops matching `expected`, as far as a walk
/// without `...` can tell.
fn first_difference(expected: &[String], actual: &[String]) -> usize {
    expected
        .iter()
        .zip(actual)
        .take_while(|(e, a)| *e != "..." && line_matches(e, a))
        .count()
        + 1
}

// ---- Running -----------------------------------------------------------------------------------

/// A fresh sandbox made by `twofactl demo`.
struct DemoSandbox {
    tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl DemoSandbox {
    fn new() -> DemoSandbox {
        let tmp = tempfile::Builder::new()
            .prefix("twofactl-readme-")
            .tempdir()
            .unwrap();
        let dir = tmp.path().join("sandbox");
        let mut demo = Command::new(bin());
        demo.arg("demo").arg(&dir).stdin(Stdio::null());
        let sb = DemoSandbox { tmp, dir };
        sb.clean_env(&mut demo);
        demo.current_dir(sb.tmp.path())
            .env_remove("TWOFACTL_CONFIG");
        let out = demo.output().expect("run twofactl demo");
        assert!(
            out.status.success(),
            "twofactl demo failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        sb
    }

    /// Nothing inherited but `PATH`, with the binary under test first.
    fn clean_env(&self, cmd: &mut Command) {
        let bin_dir = bin().parent().expect("the binary's directory").to_owned();
        let inherited = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
        let path =
            std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(&inherited)))
                .unwrap();
        cmd.env_clear()
            .env("PATH", path)
            .env("HOME", &self.dir)
            .env("XDG_CONFIG_HOME", &self.dir)
            .env("TWOFACTL_CONFIG", self.dir.join("config.toml"))
            .current_dir(&self.dir);
    }

    fn status_file(&self) -> PathBuf {
        self.tmp.path().join("status")
    }

    /// The newest verification code in the outbox.
    fn emailed_code(&self) -> String {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.join("outbox"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .flat_map(|f| {
                let text = std::fs::read_to_string(f).unwrap();
                text.lines()
                    .map(str::trim)
                    .filter(|l| l.len() == 8 && l.bytes().all(|b| b.is_ascii_digit()))
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .next_back()
            .expect("a verification code in the outbox")
    }

    /// The code an authenticator app shows now for `user`'s pending key.
    fn app_code(&self, user: &str) -> String {
        let conn = rusqlite::Connection::open(self.dir.join("app.db")).unwrap();
        let key: String = conn
            .query_row(
                "SELECT p.secret FROM twofactl_pending_keys p JOIN users u ON u.id = p.user_id
                 WHERE u.username = ?1",
                [user],
                |r| r.get(0),
            )
            .unwrap_or_else(|e| panic!("no pending key for {user}: {e}"));
        totp_at(&key, now())
    }
}

/// What a block printed and how each command exited.
struct Outcome {
    transcript: String,
    statuses: Vec<i32>,
}

fn run_in_a_pipe(block: &Block, sb: &DemoSandbox) -> Outcome {
    let mut cmd = Command::new("bash");
    sb.clean_env(&mut cmd);
    cmd.arg("-c").arg(block.script(&sb.status_file()));
    let out = assert_cmd::Command::from_std(cmd)
        .timeout(BLOCK_TIMEOUT)
        .write_stdin(Vec::new())
        .output()
        .expect("run bash");
    Outcome {
        transcript: String::from_utf8_lossy(&out.stdout).into_owned(),
        statuses: statuses(sb),
    }
}

fn run_in_a_terminal(block: &Block, sb: &DemoSandbox) -> Outcome {
    let mut cmd = Command::new("bash");
    sb.clean_env(&mut cmd);
    cmd.env("TERM", "xterm")
        .arg("-c")
        .arg(block.script(&sb.status_file()));
    let mut pty = Pty::spawn(cmd);
    pty.set_size(COLS, ROWS);
    // Commands whose `$ ` line the screen has shown: typing waits for its command's line, so
    // that no key goes to the command before it.
    let mut reached = 0;
    for (i, c) in block.commands.iter().enumerate() {
        for e in &c.expected {
            let Some(input) = &e.input else { continue };
            for earlier in &block.commands[reached..=i] {
                pty.expect(&earlier.shown()[0]);
            }
            reached = i + 1;
            if let Some(q) = question(&e.text) {
                pty.expect(&format!("? {q}"));
            }
            pty.wait_reading(QUIET);
            match input {
                Input::Type(Typed::Text(t)) => pty.type_line(t),
                Input::Type(Typed::EmailedCode) => pty.type_line(&sb.emailed_code()),
                Input::Type(Typed::AppCode) => {
                    let user = c.user().unwrap_or_else(|| {
                        panic!("`the app's code` in a command that names no user: {c:?}")
                    });
                    pty.type_line(&sb.app_code(&user));
                }
                Input::Press(Key::Char(k)) => pty.send(&k.to_string()),
                Input::Press(Key::Enter) => pty.send("\r"),
                Input::Press(Key::CtrlC) => pty.ctrl_c(),
            }
        }
    }
    let end = pty.finish();
    let mut screen = vt100::Parser::new(ROWS.try_into().unwrap(), COLS.try_into().unwrap(), 0);
    screen.process(&end.raw);
    let transcript = screen.screen().contents();
    assert!(
        transcript.lines().count() < usize::from(ROWS) - 1,
        "README.md:{}: the block's transcript is too long for the test's terminal",
        block.line
    );
    Outcome {
        transcript,
        statuses: statuses(sb),
    }
}

fn statuses(sb: &DemoSandbox) -> Vec<i32> {
    std::fs::read_to_string(sb.status_file())
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().parse().expect("a status"))
        .collect()
}

/// Run a block; what is wrong with it, if anything.
fn check(block: &Block) -> Option<String> {
    let sb = DemoSandbox::new();
    let outcome = if block.in_terminal() {
        run_in_a_terminal(block, &sb)
    } else {
        run_in_a_pipe(block, &sb)
    };
    let expected = normalise_all(&block.expected());
    let actual = normalise(&outcome.transcript);
    let mut problems = Vec::new();
    if !lines_match(&expected, &actual) {
        problems.push(format!(
            "the output differs from the block (first at transcript line {})",
            first_difference(&expected, &actual)
        ));
    }
    for (i, c) in block.commands.iter().enumerate() {
        let shown = c.shown().join("\n");
        let Some(&status) = outcome.statuses.get(i) else {
            problems.push(format!("`{shown}` did not finish (the block stopped)"));
            break;
        };
        let next_shows_it = block.commands.get(i + 1).is_some_and(Cmd::is_echo_status);
        match c.exit {
            Some(want) if status != want => problems.push(format!(
                "`{shown}` exited {status}, but the block says `# exit {want}`"
            )),
            None if status != 0 && !next_shows_it => problems.push(format!(
                "`{shown}` exited {status}: end it with `# exit {status}` if it should"
            )),
            _ => {}
        }
    }
    if problems.is_empty() {
        return None;
    }
    Some(format!(
        "README.md:{line}: the console block ({mode}) is not what the tool does:\n  - {problems}\n\
         --- block as written ---\n{source}\n\
         --- expected (input comments removed) ---\n{expected}\n\
         --- actual ---\n{actual}\n--- end ---",
        line = block.line,
        mode = if block.in_terminal() {
            "in a terminal"
        } else {
            "in a pipe"
        },
        problems = problems.join("\n  - "),
        source = block.source,
        expected = expected.join("\n"),
        actual = actual.join("\n"),
    ))
}

fn readme_blocks() -> Vec<Block> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let text = std::fs::read_to_string(path).expect("read README.md");
    parse(&text).unwrap_or_else(|e| panic!("{e}"))
}

/// Run the README's blocks that run in a terminal (or not); fail with every difference.
fn run_blocks(in_terminal: bool) {
    let blocks: Vec<Block> = readme_blocks()
        .into_iter()
        .filter(|b| b.in_terminal() == in_terminal)
        .collect();
    assert!(!blocks.is_empty(), "no such console block in README.md");
    let failures: Vec<String> = blocks
        .iter()
        .filter_map(|b| {
            std::panic::catch_unwind(|| check(b)).unwrap_or_else(|panic| {
                let why = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("a panic");
                Some(format!(
                    "README.md:{}: the console block could not be run: {why}\n\
                     --- block as written ---\n{}\n--- end ---",
                    b.line, b.source
                ))
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} console blocks of README.md differ from the tool:\n\n{}",
        failures.len(),
        blocks.len(),
        failures.join("\n\n")
    );
}

#[test]
fn readme_console_blocks_run_as_scripts_print_what_they_show() {
    run_blocks(false);
}

#[test]
fn readme_console_blocks_with_a_person_typing_show_what_the_terminal_shows() {
    run_blocks(true);
}

// ---- The harness itself -------------------------------------------------------------------------

#[test]
fn readme_harness_wildcards() {
    assert!(line_matches(
        "expires at [..].",
        "expires at 2026-11-30T10:31:45Z."
    ));
    assert!(line_matches("[..]", ""));
    assert!(line_matches("a[..]b[..]c", "a-b-b-c"));
    assert!(!line_matches("a[..]b", "a-c"));
    assert!(!line_matches("ab[..]ba", "aba"));
    let lines = |s: &str| s.lines().map(str::to_owned).collect::<Vec<_>>();
    assert!(lines_match(&lines("a\n...\nd"), &lines("a\nb\nc\nd")));
    assert!(lines_match(&lines("a\n...\nd"), &lines("a\nd")));
    assert!(!lines_match(&lines("a\n...\nd"), &lines("a\nb")));
    assert!(!lines_match(&lines("a\nb"), &lines("a\nb\nc")));
}

#[test]
fn readme_harness_parses_commands_exits_and_inputs() {
    let blocks = parse(
        "text\n```console\n$ twofactl enroll dave \\\n    --qr-png d.png   # exit 130\n\
         ? Code shown by the authenticator app ›   # press: Ctrl-C\n\
         $ twofactl request-reset frank\n\
         ✔ Password of frank · ********      # frank types: demo-password\n\
         a line  # with a comment: kept\n```\n",
    )
    .unwrap();
    assert_eq!(blocks.len(), 1);
    let b = &blocks[0];
    assert_eq!(b.line, 2);
    assert!(b.in_terminal());
    assert_eq!(b.commands.len(), 2);
    assert_eq!(b.commands[0].exit, Some(130));
    assert_eq!(b.commands[0].user().as_deref(), Some("dave"));
    assert_eq!(b.commands[1].exit, None);
    assert_eq!(
        b.commands[0].expected[0].input,
        Some(Input::Press(Key::CtrlC))
    );
    assert_eq!(
        b.commands[1].expected[0].input,
        Some(Input::Type(Typed::Text("demo-password".into())))
    );
    assert_eq!(b.commands[1].expected[1].input, None);
    assert_eq!(
        b.expected(),
        [
            "$ twofactl enroll dave \\",
            "    --qr-png d.png   # exit 130",
            "? Code shown by the authenticator app ›",
            "$ twofactl request-reset frank",
            "✔ Password of frank · ********",
            "a line  # with a comment: kept",
        ]
    );
    assert_eq!(
        question("✔ Password of frank · ********"),
        Some("Password of frank")
    );
    assert_eq!(
        question("✔ Reset the 2FA of bob and revoke their sessions? · yes"),
        Some("Reset the 2FA of bob and revoke their sessions?")
    );
    assert_eq!(question("[..]"), None);
    assert!(parse("```console\nno command\n```\n").is_err());
}
