//! Every question twofactl asks. Prompts go to stderr through dialoguer, and only when a
//! person is there to answer: with `--no-input`, or when stdin is not a terminal, a needed
//! answer that no flag gave is a usage error (exit 2) naming the flag that gives it.

use std::io::{BufRead, IsTerminal};

use anyhow::Result;
use console::Term;
use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use dialoguer::{Confirm, Input, Password};

use crate::error::{Exit, fail};

/// Asks questions when it may.
#[derive(Debug, Clone, Copy)]
pub struct Prompter {
    interactive: bool,
}

impl Prompter {
    /// Interactive unless `--no-input` was given or stdin is not a terminal.
    pub fn new(no_input: bool) -> Prompter {
        Prompter {
            interactive: !no_input
                && std::io::stdin().is_terminal()
                && std::io::stderr().is_terminal(),
        }
    }

    pub fn interactive(&self) -> bool {
        self.interactive
    }

    /// A line of text the flag `flag` would have given.
    pub fn text(&self, question: &str, flag: &str) -> Result<String> {
        if !self.interactive {
            return Err(fail(Exit::Usage, format!("{flag} is required"))
                .hint(format!(
                    "pass {flag}; twofactl does not prompt without a terminal or with --no-input"
                ))
                .into());
        }
        let answer: String = Input::with_theme(theme().as_ref())
            .with_prompt(question)
            .interact_text_on(&Term::stderr())
            .map_err(settle_interrupt)?;
        Ok(answer)
    }

    /// A secret typed without echo (a password).
    pub fn secret(&self, question: &str, flag: &str) -> Result<String> {
        if !self.interactive {
            return Err(fail(Exit::Usage, format!("{flag} is required"))
                .hint(format!(
                    "pass {flag}; twofactl does not prompt without a terminal or with --no-input"
                ))
                .into());
        }
        Ok(Password::with_theme(theme().as_ref())
            .with_prompt(question)
            .interact_on(&Term::stderr())
            .map_err(settle_interrupt)?)
    }

    /// A yes/no confirmation; `--yes` answers it without asking.
    pub fn confirm(&self, question: &str, yes: bool) -> Result<()> {
        if yes {
            return Ok(());
        }
        if !self.interactive {
            return Err(fail(
                Exit::Usage,
                "confirmation needed but there is no terminal to ask on",
            )
            .hint("pass --yes to confirm")
            .into());
        }
        let ok = Confirm::with_theme(theme().as_ref())
            .with_prompt(question)
            .default(false)
            .interact_on(&Term::stderr())
            .map_err(settle_interrupt)?;
        if ok {
            Ok(())
        } else {
            Err(fail(Exit::Usage, "not confirmed; nothing changed").into())
        }
    }
}

/// Ctrl-C at a prompt that reads single keys: the console crate restores the terminal,
/// raises SIGINT and returns this error at once. The signal handler then ends the process
/// with what the run registered to say at this prompt (see `interrupt::Note`); returning
/// the error now would race it and drop that note, so give the handler a moment first.
fn settle_interrupt(e: dialoguer::Error) -> dialoguer::Error {
    let dialoguer::Error::IO(io) = &e;
    if io.kind() == std::io::ErrorKind::Interrupted {
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
    e
}

/// The longest line [`read_stdin_line`] takes, in bytes without the line ending.
pub const MAX_STDIN_LINE: usize = 4096;

/// Colours in prompts, unless `NO_COLOR` is set (https://no-color.org).
fn theme() -> Box<dyn Theme> {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        Box::new(SimpleTheme)
    } else {
        Box::new(ColorfulTheme::default())
    }
}

/// One line of stdin (`--password-stdin`), without its line ending; never echoed or logged.
/// At most [`MAX_STDIN_LINE`] bytes are taken: a longer line is a usage error, and no more
/// than that (plus the line ending) is read, however much is piped in.
pub fn read_stdin_line(what: &str) -> Result<String> {
    read_line_from(std::io::stdin().lock(), what)
}

fn read_line_from(input: impl BufRead, what: &str) -> Result<String> {
    let mut line = Vec::with_capacity(128);
    let limit = u64::try_from(MAX_STDIN_LINE + 2).unwrap_or(u64::MAX);
    input
        .take(limit)
        .read_until(b'\n', &mut line)
        .map_err(|e| {
            fail(
                Exit::Usage,
                format!("could not read the {what} from stdin: {e}"),
            )
        })?;
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.len() > MAX_STDIN_LINE {
        return Err(fail(
            Exit::Usage,
            format!("the {what} on stdin is longer than 4 KiB ({MAX_STDIN_LINE} bytes)"),
        )
        .hint(format!(
            "pipe the {what} as one line of at most {MAX_STDIN_LINE} bytes"
        ))
        .into());
    }
    if line.is_empty() {
        return Err(fail(Exit::Usage, format!("no {what} on stdin"))
            .hint(format!(
                "pipe the {what} as one line, e.g. from a password manager"
            ))
            .into());
    }
    String::from_utf8(line).map_err(|_| {
        fail(
            Exit::Usage,
            format!("the {what} on stdin is not valid UTF-8"),
        )
        .into()
    })
}

/// What Ctrl-C must undo before the process exits: the terminal's settings as they were at
/// start-up (a hidden password prompt turns echo off and restores it only when the line ends).
/// Returns a function that puts them back; it does nothing when stdin is not a terminal.
pub fn terminal_restorer() -> impl Fn() + Send + 'static {
    let stdin = std::io::stdin();
    let saved = if stdin.is_terminal() {
        nix::sys::termios::tcgetattr(&stdin).ok()
    } else {
        None
    };
    move || {
        if let Some(t) = &saved {
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin(),
                nix::sys::termios::SetArg::TCSANOW,
                t,
            );
        }
        let _ = Term::stderr().show_cursor();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &[u8]) -> Result<String> {
        read_line_from(input, "password")
    }

    #[test]
    fn one_line_without_its_ending() {
        assert_eq!(read(b"secret\nnext line\n").unwrap(), "secret");
        assert_eq!(read(b"secret\r\n").unwrap(), "secret");
        assert_eq!(read(b"secret").unwrap(), "secret");
        assert!(read(b"\n").is_err());
        assert!(read(b"\xff\xfe\n").is_err());
    }

    #[test]
    fn at_most_4_kib() {
        let max = "x".repeat(MAX_STDIN_LINE);
        assert_eq!(read(format!("{max}\r\n").as_bytes()).unwrap(), max);
        assert_eq!(read(max.as_bytes()).unwrap(), max);
        for over in [
            format!("{max}y"),
            format!("{max}y\n"),
            format!("{max}\r\r\n"),
        ] {
            let e = read(over.as_bytes()).unwrap_err().to_string();
            assert!(e.contains("longer than 4 KiB"), "{e}");
        }
    }
}
