//! E-mail: composing messages (`compose`, pure), the settings they are sent with
//! (`settings`, resolved once per run), and the transports that deliver them: SMTP over
//! rustls (`smtp`), a sendmail command with a deadline (`sendmail`), or one `.eml` file per
//! message. [`Mailer`] sends a run's messages, over one SMTP connection for all of them.

mod compose;
mod sendmail;
pub mod settings;
mod smtp;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use compose::{BadAddress, Notice, Outgoing, address, compose, compose_test, mask};
pub use settings::{MailConfig, SmtpConfig, Transport, resolve};
pub use smtp::{SmtpSession, StepReport};

/// Why a message was not delivered: one line naming the server and the reason, never a
/// credential.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub message: String,
    /// The connection is unusable (or could not be made): later messages of the run would fail too.
    pub connection: bool,
    /// The server took the message data but no final reply came: it may have been delivered.
    pub outcome_unknown: bool,
}

/// Delivers messages through the configured transport, one SMTP connection for a whole run.
pub struct Mailer<'a> {
    cfg: &'a MailConfig,
    session: Option<SmtpSession>,
    /// A connection failure, or a sendmail command that hung: later messages of the run fail
    /// at once with it (and wait in the outbox).
    broken: Option<SendError>,
    files: u64,
}

impl<'a> Mailer<'a> {
    pub fn new(cfg: &'a MailConfig) -> Mailer<'a> {
        Mailer {
            cfg,
            session: None,
            broken: None,
            files: 0,
        }
    }

    /// Send one message; on success the server (or sendmail, or the file system) has it.
    pub fn send(&mut self, msg: &Outgoing) -> Result<(), SendError> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        match &self.cfg.transport {
            Transport::Smtp(smtp) => self.send_smtp(smtp, msg),
            Transport::Sendmail { command, timeout } => self.send_sendmail(command, *timeout, msg),
            Transport::File { dir } => self.send_file(dir, msg),
        }
    }

    fn send_smtp(&mut self, smtp: &SmtpConfig, msg: &Outgoing) -> Result<(), SendError> {
        let session = match &mut self.session {
            Some(s) => s,
            None => match SmtpSession::open(smtp, &mut |_, _| {}) {
                Ok(s) => self.session.insert(s),
                Err(e) => {
                    self.broken = Some(e.clone());
                    return Err(e);
                }
            },
        };
        match session.send(msg) {
            Ok(()) => Ok(()),
            Err(e) if e.connection => {
                // The connection is gone; the next message may reconnect once.
                self.session = None;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    fn send_sendmail(
        &mut self,
        command: &Path,
        timeout: Duration,
        msg: &Outgoing,
    ) -> Result<(), SendError> {
        sendmail::send(command, msg, timeout).map_err(|failure| {
            let (why, hung) = match failure {
                sendmail::Failure::TimedOut => (
                    format!(
                        "no answer within {} (timed out); stopped it",
                        humantime::format_duration(timeout)
                    ),
                    true,
                ),
                sendmail::Failure::Failed(why) => (why, false),
            };
            let e = SendError {
                message: format!("{}: {why}", command.display()),
                connection: hung,
                outcome_unknown: false,
            };
            if hung {
                // A command that hangs once would hang for every message: do not wait again.
                self.broken = Some(e.clone());
            }
            e
        })
    }

    fn send_file(&mut self, dir: &Path, msg: &Outgoing) -> Result<(), SendError> {
        self.files += 1;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!("{nanos}-{}-{}.eml", std::process::id(), self.files);
        crate::output::write_private_file(dir, &name, &msg.bytes).map_err(|e| SendError {
            message: format!("{}: {e}", dir.display()),
            connection: false,
            outcome_unknown: false,
        })
    }

    /// Close the SMTP connection, if one is open.
    pub fn finish(mut self) {
        if let Some(s) = self.session.take() {
            s.quit();
        }
    }
}
