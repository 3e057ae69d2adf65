//! E-mail: message builders (pure functions of their inputs) and the transports that deliver
//! them (SMTP over rustls, sendmail with a deadline (see `sendmail`), or one `.eml` file per
//! message).
//!
//! SMTP is driven command by command over lettre's `SmtpConnection`, one connection reused
//! for a whole run. The message body and its terminating `<CRLF>.<CRLF>` go out in a single
//! write: lettre's `SmtpConnection::message` writes them separately on a socket without
//! `TCP_NODELAY`, so Nagle's algorithm holds the terminator until the server's delayed ACK,
//! which costs ~40 ms per message on a reused connection (measured by `bench/mail.sh`).

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lettre::message::{Mailbox, MultiPart, header::ContentType};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, Message};

use crate::config::{Security, Transport};
use crate::output::rfc3339;

mod sendmail;

/// Everything needed to compose and send mail, resolved from flags, environment, config
/// file and the application's settings (see `config::Config::mail`).
#[derive(Clone)]
pub struct MailConfig {
    pub transport: Transport,
    pub from: Mailbox,
    pub file_dir: PathBuf,
    pub sendmail_command: PathBuf,
    /// How long the sendmail command may take for one message before it is killed.
    pub sendmail_timeout: Duration,
    pub smtp: Option<SmtpConfig>,
    /// The application's name, for subjects and bodies.
    pub app_name: String,
    /// The application's base URL, for links.
    pub app_url: Option<String>,
}

#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    /// AUTH is allowed without TLS (`[smtp] allow_insecure_auth`).
    pub allow_insecure_auth: bool,
}

impl fmt::Debug for SmtpConfig {
    // Never print the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("ca_file", &self.ca_file)
            .field("timeout", &self.timeout)
            .field("allow_insecure_auth", &self.allow_insecure_auth)
            .finish()
    }
}

impl SmtpConfig {
    /// `host:port`, for messages.
    pub fn server(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// What a message tells the user.
#[derive(Debug, Clone, Copy)]
pub enum Notice<'a> {
    /// An administrator cleared the user's 2FA; the reason only when the operator chose to show it.
    AdminReset { reason: Option<&'a str> },
    /// The user reset their own 2FA with password and e-mailed code.
    SelfReset,
    /// A new authenticator was confirmed; `replaced`: it took the place of an active one
    /// (whose sessions were ended).
    Enrolled { replaced: bool },
    /// The verification code for a self-service reset, and when it expires (unix seconds).
    Code { code: &'a str, expires: i64 },
}

impl Notice<'_> {
    /// A stable name for the outbox and the audit log.
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::AdminReset { .. } => "admin-reset",
            Notice::SelfReset => "self-reset",
            Notice::Enrolled { .. } => "enrolled",
            Notice::Code { .. } => "verification-code",
        }
    }
}

/// A composed message: envelope addresses and the RFC 5322 bytes.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub from: Address,
    pub to: Address,
    pub bytes: Vec<u8>,
}

/// A recipient address that cannot be mailed.
#[derive(Debug)]
pub struct BadAddress(pub String);

impl fmt::Display for BadAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is not a valid e-mail address",
            crate::output::safe(&self.0)
        )
    }
}

impl std::error::Error for BadAddress {}

/// Parse a recipient address.
pub fn address(email: &str) -> Result<Address, BadAddress> {
    email
        .trim()
        .parse()
        .map_err(|_| BadAddress(email.to_owned()))
}

/// An address as shown to an operator: `a***e@example.com`.
pub fn mask(email: &str) -> String {
    let (local, domain) = email.rsplit_once('@').unwrap_or((email, ""));
    let chars: Vec<char> = local.chars().collect();
    let masked = match chars.as_slice() {
        [] => String::new(),
        [one] => format!("{one}***"),
        [first, .., last] => format!("{first}***{last}"),
    };
    if domain.is_empty() {
        masked
    } else {
        format!("{masked}@{domain}")
    }
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Subject and paragraphs of a notice (plain text; the HTML part escapes them).
fn content(
    cfg: &MailConfig,
    username: &str,
    notice: &Notice<'_>,
    now: i64,
) -> (String, Vec<String>) {
    let app = &cfg.app_name;
    let when = human_time(now);
    let not_you = "If this was not you, contact your administrator immediately.".to_owned();
    let sign_in = match &cfg.app_url {
        Some(url) => format!("The next time you sign in at {url}, you will be asked to set up two-factor authentication again."),
        None => "The next time you sign in, you will be asked to set up two-factor authentication again.".to_owned(),
    };
    match notice {
        Notice::AdminReset { reason } => {
            let mut p = vec![
                format!("Hello {username},"),
                format!("An administrator reset the two-factor authentication (2FA) of your {app} account on {when}."),
            ];
            if let Some(r) = reason {
                p.push(format!("Reason given: {r}"));
            }
            p.push(format!("Your authenticator app no longer works for this account, and you have been signed out everywhere. {sign_in}"));
            p.push(not_you);
            (format!("{app}: your two-factor authentication was reset"), p)
        }
        Notice::SelfReset => (
            format!("{app}: your two-factor authentication was reset"),
            vec![
                format!("Hello {username},"),
                format!("The two-factor authentication (2FA) of your {app} account was reset on {when}, confirmed with your password and a code sent to this address."),
                format!("Your old authenticator app no longer works for this account, and you have been signed out everywhere. {sign_in}"),
                not_you,
            ],
        ),
        Notice::Enrolled { replaced } => {
            let mut p = vec![
                format!("Hello {username},"),
                format!("A new authenticator app was set up for the two-factor authentication (2FA) of your {app} account on {when}. From now on, signing in asks for a code from it."),
            ];
            if *replaced {
                p.push("It replaces your previous authenticator, which no longer works for this account, and you have been signed out everywhere.".to_owned());
            }
            p.push(not_you);
            (format!("{app}: a new authenticator was added to your account"), p)
        }
        Notice::Code { code, expires } => (
            format!("{app}: your verification code"),
            vec![
                format!("Hello {username},"),
                format!("Your verification code to reset the two-factor authentication of your {app} account is:"),
                (*code).to_owned(),
                format!("It expires at {} and works once.", human_time(*expires)),
                "If you did not ask to reset your two-factor authentication, someone knows your password: do not share this code, change your password, and contact your administrator immediately.".to_owned(),
            ],
        ),
    }
}

/// `2026-11-27 22:23 UTC`
fn human_time(unix: i64) -> String {
    let t = rfc3339(unix);
    format!("{} {} UTC", &t[..10], &t[11..16])
}

/// Compose a notice to `email` as a multipart/alternative message.
pub fn compose(
    cfg: &MailConfig,
    username: &str,
    email: &str,
    notice: &Notice<'_>,
    now: i64,
) -> Result<Outgoing, BadAddress> {
    let to = address(email)?;
    let (subject, paragraphs) = content(cfg, username, notice, now);
    let signature = format!("-- \n{}", cfg.app_name);
    let text = format!("{}\n\n{signature}\n", paragraphs.join("\n\n"));
    let html = html_body(cfg, &paragraphs, notice);
    let date = UNIX_EPOCH + Duration::from_secs(u64::try_from(now).unwrap_or(0));
    let message = Message::builder()
        .from(cfg.from.clone())
        .to(Mailbox::new(None, to.clone()))
        .subject(subject)
        .date(date)
        .message_id(None)
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|_| BadAddress(email.to_owned()))?;
    Ok(Outgoing {
        from: cfg.from.email.clone(),
        to,
        bytes: message.formatted(),
    })
}

/// The HTML part: the same paragraphs, escaped; a code stands out.
fn html_body(cfg: &MailConfig, paragraphs: &[String], notice: &Notice<'_>) -> String {
    let mut html = String::from("<!DOCTYPE html>\n<html><body>\n");
    for p in paragraphs {
        if let Notice::Code { code, .. } = notice
            && p == code
        {
            html.push_str(&format!(
                "<p style=\"font-size:1.6em;letter-spacing:0.2em\"><strong>{}</strong></p>\n",
                html_escape(p)
            ));
        } else {
            html.push_str(&format!("<p>{}</p>\n", html_escape(p)));
        }
    }
    html.push_str(&format!(
        "<p>&mdash;<br>{}</p>\n</body></html>\n",
        html_escape(&cfg.app_name)
    ));
    html
}

/// A one-line test message for `doctor --send-test`.
pub fn compose_test(cfg: &MailConfig, email: &str, now: i64) -> Result<Outgoing, BadAddress> {
    let to = address(email)?;
    let message = Message::builder()
        .from(cfg.from.clone())
        .to(Mailbox::new(None, to.clone()))
        .subject(format!("{}: twofactl test message", cfg.app_name))
        .date(UNIX_EPOCH + Duration::from_secs(u64::try_from(now).unwrap_or(0)))
        .message_id(None)
        .header(ContentType::TEXT_PLAIN)
        .body(format!(
            "This is a test message from twofactl doctor, sent on {}.\nMail from twofactl reaches this address.\n",
            human_time(now)
        ))
        .map_err(|_| BadAddress(email.to_owned()))?;
    Ok(Outgoing {
        from: cfg.from.email.clone(),
        to,
        bytes: message.formatted(),
    })
}

/// Why a message was not delivered: one line naming the server and the reason, never a
/// credential.
#[derive(Debug, Clone)]
pub struct SendError {
    pub message: String,
    /// The connection is unusable (or could not be made): later messages of the run would fail too.
    pub connection: bool,
    /// The server took the message data but no final reply came: it may have been delivered.
    pub outcome_unknown: bool,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SendError {}

/// The full chain of an error, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = c.source();
    }
    s.replace(['\n', '\r'], " ")
}

/// What went wrong under a lettre error: lettre 0.11 reports read timeouts and certificate
/// failures as plain network errors (`is_timeout()` and `is_tls()` are false for them), so
/// the source chain is searched for the `io::Error` kind and the `rustls::Error`.
enum Cause {
    Timeout,
    Tls(String),
    Other,
}

fn cause(e: &lettre::transport::smtp::Error) -> Cause {
    if e.is_timeout() {
        return Cause::Timeout;
    }
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(t) = s.downcast_ref::<rustls::Error>() {
            return Cause::Tls(t.to_string());
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) {
                return Cause::Timeout;
            }
            if let Some(t) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                return Cause::Tls(t.to_string());
            }
        }
        src = s.source();
    }
    if e.is_tls() {
        return Cause::Tls(chain(e).trim_start_matches("tls error: ").to_owned());
    }
    Cause::Other
}

/// Describe an SMTP failure at `step` on `server`.
fn smtp_error(
    server: &str,
    step: &str,
    e: &lettre::transport::smtp::Error,
    timeout: Duration,
) -> SendError {
    let (reason, connection) = match (cause(e), e.status()) {
        (Cause::Timeout, _) => (
            format!(
                "no answer within {} (timed out)",
                humantime::format_duration(timeout)
            ),
            true,
        ),
        (Cause::Tls(why), _) => (format!("TLS failed: {why}"), true),
        (Cause::Other, Some(code)) => {
            let text = chain(e);
            let detail = text.split_once("): ").map_or(text.as_str(), |(_, d)| d);
            (format!("server replied {code} {}", detail.trim()), false)
        }
        (Cause::Other, None) => (chain(e), true),
    };
    SendError {
        message: format!("{server}: {step}: {reason}"),
        connection,
        outcome_unknown: false,
    }
}

/// One SMTP session, connected and authenticated.
pub struct SmtpSession {
    conn: SmtpConnection,
    server: String,
    timeout: Duration,
}

/// A step of connecting, reported by `doctor`.
pub type StepReport<'a> = &'a mut dyn FnMut(&str, Result<String, String>);

impl SmtpSession {
    /// Connect, greet, secure and log in; `report` hears about each step.
    pub fn open(cfg: &SmtpConfig, report: StepReport<'_>) -> Result<SmtpSession, SendError> {
        let server = cfg.server();
        let cleartext_auth = cfg.security == Security::None && cfg.username.is_some();
        if cleartext_auth && !cfg.allow_insecure_auth {
            // `Config::mail` refuses this already (exit 8); never send a password in clear.
            let m = format!("{server}: AUTH refused over an unencrypted connection");
            report("AUTH", Err(m.clone()));
            return Err(SendError {
                message: m,
                connection: true,
                outcome_unknown: false,
            });
        }
        let tls = match cfg.security {
            Security::None => None,
            Security::Starttls | Security::Tls => Some(tls_parameters(cfg).map_err(|m| {
                report("TLS", Err(m.clone()));
                SendError {
                    message: format!("{server}: {m}"),
                    connection: true,
                    outcome_unknown: false,
                }
            })?),
        };
        let implicit = if cfg.security == Security::Tls {
            tls.as_ref()
        } else {
            None
        };
        let hello = ClientId::default();
        let mut conn = SmtpConnection::connect(
            (cfg.host.as_str(), cfg.port),
            Some(cfg.timeout),
            &hello,
            implicit,
            None,
        )
        .map_err(|e| {
            let step = if matches!(cause(&e), Cause::Tls(_)) {
                "TLS"
            } else {
                "connect"
            };
            let err = smtp_error(&server, step, &e, cfg.timeout);
            report(step, Err(err.message.clone()));
            err
        })?;
        report("connect", Ok(format!("connected to {server}")));
        report("EHLO", Ok(format!("server {}", conn.server_info().name())));
        if cfg.security == Security::Tls {
            report("TLS", Ok("implicit TLS, certificate verified".to_owned()));
        }
        if cfg.security == Security::Starttls {
            let params = tls.as_ref().expect("built above");
            if !conn.can_starttls() {
                let m = format!("{server}: STARTTLS: the server does not offer STARTTLS");
                report("STARTTLS", Err(m.clone()));
                return Err(SendError {
                    message: m,
                    connection: true,
                    outcome_unknown: false,
                });
            }
            conn.starttls(params, &hello).map_err(|e| {
                let err = smtp_error(&server, "STARTTLS", &e, cfg.timeout);
                report("STARTTLS", Err(err.message.clone()));
                err
            })?;
            report("STARTTLS", Ok("encrypted, certificate verified".to_owned()));
        }
        if let Some(user) = &cfg.username {
            let creds = Credentials::new(user.clone(), cfg.password.clone().unwrap_or_default());
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &creds)
                .map_err(|e| {
                    let mut err = smtp_error(&server, "authentication failed", &e, cfg.timeout);
                    err.connection = true;
                    report("AUTH", Err(err.message.clone()));
                    err
                })?;
            report(
                "AUTH",
                Ok(if cleartext_auth {
                    format!(
                        "logged in as {user} in cleartext (no TLS), allowed by allow_insecure_auth"
                    )
                } else {
                    format!("logged in as {user}")
                }),
            );
        }
        Ok(SmtpSession {
            conn,
            server,
            timeout: cfg.timeout,
        })
    }

    /// Send one message. A refused message leaves the session usable (after RSET).
    pub fn send(&mut self, msg: &Outgoing) -> Result<(), SendError> {
        let result = self.transaction(msg);
        if let Err(e) = &result
            && !e.connection
            && self.conn.command(Rset).is_err()
        {
            return Err(SendError {
                connection: true,
                ..e.clone()
            });
        }
        result
    }

    fn transaction(&mut self, msg: &Outgoing) -> Result<(), SendError> {
        let fail = |step: &str, e: lettre::transport::smtp::Error| {
            smtp_error(&self.server, step, &e, self.timeout)
        };
        self.conn
            .command(Mail::new(Some(msg.from.clone()), vec![]))
            .map_err(|e| fail("MAIL FROM", e))?;
        self.conn
            .command(Rcpt::new(msg.to.clone(), vec![]))
            .map_err(|e| fail(&format!("recipient {}", msg.to), e))?;
        self.conn.command(Data).map_err(|e| fail("DATA", e))?;
        self.conn
            .command(DataBody(&dot_stuff(&msg.bytes)))
            .map_err(|e| SendError {
                // The data went out; without a reply, nobody knows whether it was delivered.
                outcome_unknown: e.status().is_none(),
                ..fail("message", e)
            })?;
        Ok(())
    }

    /// End the session politely.
    pub fn quit(mut self) {
        let _ = self.conn.quit();
    }
}

/// The message data with dot-stuffing, CRLF line ends and the final `.` line, sent as one
/// command so that it leaves in one write (see the module comment).
struct DataBody<'a>(&'a str);

impl fmt::Display for DataBody<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// RFC 5321 section 4.5.2: lines starting with `.` get another; the data ends `CRLF.CRLF`.
fn dot_stuff(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        let body = body.strip_suffix('\r').unwrap_or(body);
        if body.starts_with('.') {
            out.push('.');
        }
        out.push_str(body);
        out.push_str("\r\n");
    }
    out.push_str(".\r\n");
    out
}

fn tls_parameters(cfg: &SmtpConfig) -> Result<TlsParameters, String> {
    let mut builder = TlsParameters::builder(cfg.host.clone());
    if let Some(ca) = &cfg.ca_file {
        let pem = std::fs::read(ca)
            .map_err(|e| format!("could not read smtp.ca_file {}: {e}", ca.display()))?;
        let cert = Certificate::from_pem(&pem)
            .map_err(|_| format!("smtp.ca_file {} holds no PEM certificate", ca.display()))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build_rustls()
        .map_err(|e| format!("TLS set-up failed: {}", chain(&e)))
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
        match self.cfg.transport {
            Transport::Smtp => self.send_smtp(msg),
            Transport::Sendmail => self.send_sendmail(msg),
            Transport::File => self.send_file(msg),
        }
    }

    fn send_smtp(&mut self, msg: &Outgoing) -> Result<(), SendError> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        let smtp = self
            .cfg
            .smtp
            .as_ref()
            .expect("smtp transport has smtp settings");
        if self.session.is_none() {
            match SmtpSession::open(smtp, &mut |_, _| {}) {
                Ok(s) => self.session = Some(s),
                Err(e) => {
                    self.broken = Some(e.clone());
                    return Err(e);
                }
            }
        }
        let session = self.session.as_mut().expect("connected above");
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

    fn send_sendmail(&mut self, msg: &Outgoing) -> Result<(), SendError> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        let command = &self.cfg.sendmail_command;
        let timeout = self.cfg.sendmail_timeout;
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

    fn send_file(&mut self, msg: &Outgoing) -> Result<(), SendError> {
        self.files += 1;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!("{nanos}-{}-{}.eml", std::process::id(), self.files);
        crate::output::write_private_file(&self.cfg.file_dir, &name, &msg.bytes).map_err(|e| {
            SendError {
                message: format!("{}: {e}", self.cfg.file_dir.display()),
                connection: false,
                outcome_unknown: false,
            }
        })
    }

    /// Close the SMTP connection, if one is open.
    pub fn finish(mut self) {
        if let Some(s) = self.session.take() {
            s.quit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> MailConfig {
        MailConfig {
            transport: Transport::File,
            from: "CYMETRICX Sécurité <no-reply@example.com>".parse().unwrap(),
            file_dir: PathBuf::from("/nonexistent"),
            sendmail_command: PathBuf::from("/usr/sbin/sendmail"),
            sendmail_timeout: Duration::from_secs(30),
            smtp: None,
            app_name: "CYMETRICX Sécurité".to_owned(),
            app_url: Some("https://10.0.0.5".to_owned()),
        }
    }

    fn text(o: &Outgoing) -> String {
        String::from_utf8(o.bytes.clone()).unwrap()
    }

    #[test]
    fn admin_reset_notice_has_headers_and_both_parts() {
        let o = compose(
            &cfg(),
            "alice",
            "alice@example.com",
            &Notice::AdminReset { reason: None },
            1_795_000_000,
        )
        .unwrap();
        let t = text(&o);
        for h in [
            "From: ",
            "To: alice@example.com",
            "Subject: ",
            "Date: ",
            "Message-ID: ",
            "multipart/alternative",
            "text/plain",
            "text/html",
        ] {
            assert!(t.contains(h), "missing {h} in\n{t}");
        }
        // UTF-8 in the sender's name and subject is MIME-encoded, never raw.
        assert!(t.is_ascii(), "{t}");
        assert!(t.contains("=?utf-8?"), "{t}");
        assert_eq!(o.to.to_string(), "alice@example.com");
    }

    #[test]
    fn reason_only_when_asked() {
        let with = compose(
            &cfg(),
            "a",
            "a@example.com",
            &Notice::AdminReset {
                reason: Some("ticket 4711"),
            },
            0,
        )
        .unwrap();
        let without = compose(
            &cfg(),
            "a",
            "a@example.com",
            &Notice::AdminReset { reason: None },
            0,
        )
        .unwrap();
        assert!(text(&with).contains("ticket 4711"));
        assert!(!text(&without).contains("Reason"));
    }

    #[test]
    fn html_is_escaped() {
        let (_, paragraphs) = content(
            &cfg(),
            "<script>x</script>",
            &Notice::Enrolled { replaced: false },
            0,
        );
        let html = html_body(&cfg(), &paragraphs, &Notice::Enrolled { replaced: false });
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"), "{html}");
    }

    #[test]
    fn bad_addresses_are_refused() {
        assert!(compose(&cfg(), "a", "not an address", &Notice::SelfReset, 0).is_err());
        assert!(
            compose(
                &cfg(),
                "a",
                "a@example.com\r\nBcc: x@evil",
                &Notice::SelfReset,
                0
            )
            .is_err()
        );
    }

    #[test]
    fn addresses_are_masked() {
        assert_eq!(mask("alice@example.com"), "a***e@example.com");
        assert_eq!(mask("al@example.com"), "a***l@example.com");
        assert_eq!(mask("a@example.com"), "a***@example.com");
    }

    #[test]
    fn dot_stuffing_and_terminator() {
        assert_eq!(
            dot_stuff(b"a\r\n.b\r\n..c\r\n"),
            "a\r\n..b\r\n...c\r\n.\r\n"
        );
        assert_eq!(dot_stuff(b"a\nb"), "a\r\nb\r\n.\r\n");
    }

    #[test]
    fn password_is_never_in_debug_output() {
        let s = SmtpConfig {
            host: "h".into(),
            port: 25,
            security: Security::None,
            username: Some("u".into()),
            password: Some("hunter2".into()),
            ca_file: None,
            timeout: Duration::from_secs(1),
            allow_insecure_auth: false,
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
