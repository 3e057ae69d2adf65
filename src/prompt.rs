//! Every question twofactl asks. Prompts go to stderr through dialoguer, and only when a
//! person is there to answer: with `--no-input`, or when stdin is not a terminal, a needed
//! answer that no flag gave is a usage error (exit 2) naming the flag that gives it.

use std::io::IsTerminal;

use anyhow::Result;
use console::Term;
use dialoguer::theme::ColorfulTheme;
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
        let answer: String = Input::with_theme(&ColorfulTheme::default())
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
        Ok(Password::with_theme(&ColorfulTheme::default())
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
        let ok = Confirm::with_theme(&ColorfulTheme::default())
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

/// One line of stdin (`--password-stdin`), without its line ending; never echoed or logged.
pub fn read_stdin_line(what: &str) -> Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(|e| {
        fail(
            Exit::Usage,
            format!("could not read the {what} from stdin: {e}"),
        )
    })?;
    let line = line.strip_suffix('\n').unwrap_or(&line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.is_empty() {
        return Err(fail(Exit::Usage, format!("no {what} on stdin"))
            .hint(format!(
                "pipe the {what} as one line, e.g. from a password manager"
            ))
            .into());
    }
    Ok(line.to_owned())
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
