//! The sendmail transport: the configured command (the interface of `/usr/sbin/sendmail` that
//! Postfix, Exim, OpenSMTPD and msmtp all provide) run as `COMMAND -i -f FROM -- TO`, as
//! lettre's `SendmailTransport` ran it, with the message on its stdin, but with a deadline:
//! lettre waits for ever on a command that hangs. At the deadline the command's whole process
//! group (a wrapper script and what it started) is killed and the command reaped.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::Outgoing;
use crate::output::safe;

/// The longest wait between two looks at whether the command has ended.
const MAX_POLL: Duration = Duration::from_millis(50);
/// How much of the command's stderr a failure message quotes.
const MAX_STDERR: usize = 300;

/// Why the command did not take the message.
#[derive(Debug)]
pub enum Failure {
    /// It did not end before the deadline; it was killed.
    TimedOut,
    /// It could not be run, or it failed: why, in a few words.
    Failed(String),
}

/// Give `msg` to `command`; `Ok` when it took the message (exit status 0) within `timeout`.
pub fn send(command: &Path, msg: &Outgoing, timeout: Duration) -> Result<(), Failure> {
    let deadline = Instant::now() + timeout;
    let failed = |what: &str, e: io::Error| Failure::Failed(format!("{what}: {e}"));
    // Its stderr goes to a file rather than a pipe: a command that fills a pipe nobody reads
    // would block, and a file needs no reader thread.
    let mut stderr =
        tempfile::tempfile().map_err(|e| failed("could not make a file for its errors", e))?;
    let mut child = Command::new(command)
        .arg("-i")
        .arg("-f")
        .arg(&msg.from)
        .arg("--")
        .arg(&msg.to)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(
            stderr
                .try_clone()
                .map_err(|e| failed("could not make a file for its errors", e))?,
        )
        .process_group(0)
        .spawn()
        .map_err(|e| failed("could not run it", e))?;
    let written = feed(&mut child, msg.bytes.clone());
    let status = match wait(&mut child, deadline) {
        Ok(Some(status)) => status,
        Ok(None) => {
            stop(&mut child);
            return Err(Failure::TimedOut);
        }
        Err(e) => {
            stop(&mut child);
            return Err(failed("could not wait for it", e));
        }
    };
    if !status.success() {
        return Err(Failure::Failed(match first_line(&mut stderr) {
            Some(line) => format!("{}: {line}", describe(status)),
            None => describe(status),
        }));
    }
    // It ended well; it normally read all of its stdin first, so this does not wait.
    match written.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(failed("could not write the message to it", e)),
        Err(_) => {
            // Something it started still holds stdin without reading it.
            stop(&mut child);
            Err(Failure::TimedOut)
        }
    }
}

/// Write the message to the command's stdin on a thread of its own (a command that does not
/// read must not stop the clock), then close it; the result arrives on the channel.
fn feed(child: &mut Child, bytes: Vec<u8>) -> mpsc::Receiver<io::Result<()>> {
    let (tx, rx) = mpsc::channel();
    match child.stdin.take() {
        Some(mut stdin) => {
            std::thread::spawn(move || {
                let _ = tx.send(stdin.write_all(&bytes));
            });
        }
        None => {
            let _ = tx.send(Err(io::Error::other("no stdin")));
        }
    }
    rx
}

/// Wait for the command to end, until `deadline`; `None` when it is still running then.
fn wait(child: &mut Child, deadline: Instant) -> io::Result<Option<ExitStatus>> {
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// Kill the command and everything in its process group, and reap the command.
fn stop(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => format!("failed ({status})"),
    }
}

/// The first non-empty line the command wrote to stderr, escaped and shortened.
fn first_line(stderr: &mut File) -> Option<String> {
    let mut text = Vec::new();
    stderr.rewind().ok()?;
    stderr
        .take(u64::try_from(MAX_STDERR * 4).unwrap_or(u64::MAX))
        .read_to_end(&mut text)
        .ok()?;
    let text = String::from_utf8_lossy(&text);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let short: String = line.chars().take(MAX_STDERR).collect();
    Some(safe(&short).into_owned())
}
