//! The mail settings, resolved once per run: `TWOFACTL_SMTP_PASSWORD` and the config file's
//! `[mail]` and `[smtp]` over the application's `smtp.*`, `app.name` and `app.url` settings,
//! with secure defaults (STARTTLS, or TLS on port 465; AUTH never in cleartext unless allowed).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use lettre::message::Mailbox;

use crate::config::{AppSettings, Config, Security, TransportKind};
use crate::error::{Exit, Failure, fail};

/// Everything needed to compose and send mail, resolved once per run from the environment,
/// the config file and the application's settings (see [`resolve`]).
#[derive(Clone, Debug)]
pub struct MailConfig {
    pub transport: Transport,
    pub from: Mailbox,
    /// The application's name, for subjects and bodies.
    pub app_name: String,
    /// The application's base URL, for links.
    pub app_url: Option<String>,
}

/// How messages leave, with the settings of that way.
#[derive(Clone, Debug)]
pub enum Transport {
    Smtp(SmtpConfig),
    /// A sendmail-compatible command, killed when one message takes longer than `timeout`.
    Sendmail {
        command: PathBuf,
        timeout: Duration,
    },
    /// One `.eml` file (mode 0600) per message in `dir`.
    File {
        dir: PathBuf,
    },
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

pub const DEFAULT_SMTP_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_SENDMAIL: &str = "/usr/sbin/sendmail";
pub const DEFAULT_SENDMAIL_TIMEOUT: Duration = Duration::from_secs(30);

/// The mail settings: the config file (and `TWOFACTL_SMTP_PASSWORD`) over the application's
/// `smtp.*`, `app.name` and `app.url` settings. Fails with exit 8 when mail cannot be sent.
pub fn resolve(config: &Config, app: &AppSettings) -> Result<MailConfig> {
    let host = config
        .smtp
        .host
        .clone()
        .or_else(|| app.get("smtp.host").map(str::to_owned));
    let kind = match (config.mail.transport, &host) {
        (Some(t), _) => t,
        (None, Some(_)) => TransportKind::Smtp,
        (None, None) => {
            return Err(fail(Exit::Config, "no way to send e-mail: no SMTP server is configured")
                .hint("set [smtp] host (or the application's smtp.host setting), or [mail] transport = \"file\" or \"sendmail\"; or pass --no-notify")
                .into());
        }
    };
    let from = sender(config, app)?;
    let transport = match kind {
        TransportKind::Smtp => {
            let Some(host) = host else {
                return Err(fail(
                    Exit::Config,
                    "mail.transport is \"smtp\" but no SMTP server is configured",
                )
                .hint("set [smtp] host, or the application's smtp.host setting")
                .into());
            };
            Transport::Smtp(smtp(config, app, host)?)
        }
        TransportKind::Sendmail => Transport::Sendmail {
            command: config
                .mail
                .sendmail_command
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_SENDMAIL)),
            timeout: config
                .mail
                .sendmail_timeout
                .map_or(DEFAULT_SENDMAIL_TIMEOUT, |t| t.0),
        },
        TransportKind::File => Transport::File {
            dir: config
                .mail
                .file_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("outbox")),
        },
    };
    Ok(MailConfig {
        transport,
        from,
        app_name: app
            .app_name()
            .map(str::to_owned)
            .or_else(|| config.totp.issuer.as_ref().map(|i| i.0.clone()))
            .unwrap_or_else(|| "twofactl".to_owned()),
        app_url: app.get("app.url").map(str::to_owned),
    })
}

/// The application's setting `key` holds `value`, which is not `want`.
fn bad_setting(key: &str, value: &str, want: &str) -> Failure {
    fail(
        Exit::Config,
        format!(
            "the application's setting {key} = {:?} is not {want}",
            crate::output::safe(value)
        ),
    )
    .hint(format!(
        "fix it in the application, or override it in the config file's [{}] section",
        key.split('.').next().unwrap_or("smtp")
    ))
}

/// The sender: `[mail] from`, else the application's `smtp.from`.
fn sender(config: &Config, app: &AppSettings) -> Result<Mailbox> {
    let text = config
        .mail
        .from
        .clone()
        .or_else(|| app.get("smtp.from").map(str::to_owned))
        .ok_or_else(|| {
            fail(Exit::Config, "no sender address for e-mail")
                .hint("set [mail] from = \"Name <no-reply@example.com>\" (or the application's smtp.from setting)")
        })?;
    text.parse().map_err(|_| {
        if config.mail.from.is_some() {
            fail(
                Exit::Config,
                format!(
                    "config mail.from: {:?} is not a mailbox",
                    crate::output::safe(&text)
                ),
            )
            .hint("write e.g. from = \"CYMETRICX <no-reply@example.com>\"")
            .into()
        } else {
            bad_setting(
                "smtp.from",
                &text,
                "a mailbox such as \"Name <no-reply@example.com>\"",
            )
            .into()
        }
    })
}

/// The SMTP server's settings for `host`.
fn smtp(config: &Config, app: &AppSettings, host: String) -> Result<SmtpConfig> {
    let (security, port) = security_and_port(config, app)?;
    let (username, username_key) = match &config.smtp.username {
        Some(u) => (Some(u.clone()), "[smtp] username"),
        None => (
            app.get("smtp.username").map(str::to_owned),
            "the application's smtp.username setting",
        ),
    };
    let username = username.filter(|u| !u.is_empty());
    let allow_insecure_auth = config.smtp.allow_insecure_auth.unwrap_or(false);
    if security == Security::None && username.is_some() && !allow_insecure_auth {
        return Err(cleartext_auth_refused(username_key).into());
    }
    Ok(SmtpConfig {
        host,
        port,
        security,
        username,
        password: password(config, app)?,
        ca_file: config.smtp.ca_file.clone(),
        timeout: config.smtp.timeout.map_or(DEFAULT_SMTP_TIMEOUT, |t| t.0),
        allow_insecure_auth,
    })
}

/// Security and port: configured, else the application's, else secure defaults (implicit
/// TLS on 465, STARTTLS required elsewhere).
fn security_and_port(config: &Config, app: &AppSettings) -> Result<(Security, u16)> {
    let security = match (config.smtp.security, app.get("smtp.security")) {
        (Some(s), _) => Some(s),
        (None, Some(v)) => Some(match v.trim().to_ascii_lowercase().as_str() {
            "none" | "" => Security::None,
            "starttls" => Security::Starttls,
            "tls" | "ssl" => Security::Tls,
            _ => return Err(bad_setting("smtp.security", v, "none, starttls or tls").into()),
        }),
        (None, None) => None,
    };
    let port = match (config.smtp.port, app.get("smtp.port")) {
        (Some(p), _) => Some(p.0),
        (None, Some(v)) => Some(
            v.trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| bad_setting("smtp.port", v, "a port (1 to 65535)"))?,
        ),
        (None, None) => None,
    };
    let security = security.unwrap_or(if port == Some(465) {
        Security::Tls
    } else {
        Security::Starttls
    });
    let port = port.unwrap_or(match security {
        Security::None => 25,
        Security::Starttls => 587,
        Security::Tls => 465,
    });
    Ok((security, port))
}

/// The SMTP password: `TWOFACTL_SMTP_PASSWORD`, else `[smtp] password_file`, else the
/// application's `smtp.password` setting.
fn password(config: &Config, app: &AppSettings) -> Result<Option<String>> {
    if let Ok(p) = std::env::var("TWOFACTL_SMTP_PASSWORD")
        && !p.is_empty()
    {
        return Ok(Some(p));
    }
    let Some(f) = &config.smtp.password_file else {
        return Ok(app.get("smtp.password").map(str::to_owned));
    };
    let text = std::fs::read_to_string(f).map_err(|e| {
        fail(
            Exit::Config,
            format!("could not read smtp.password_file {}: {e}", f.display()),
        )
    })?;
    Ok(Some(text.trim_end_matches(['\r', '\n']).to_owned()))
}

/// AUTH over a connection without TLS would send the password in cleartext: refused unless
/// `[smtp] allow_insecure_auth = true`. `username_key` says where the username came from.
fn cleartext_auth_refused(username_key: &str) -> Failure {
    fail(
        Exit::Config,
        format!(
            "smtp AUTH refused over an unencrypted connection: security is \"none\" and a username is set ({username_key}), so the password would be sent in cleartext"
        ),
    )
    .hint("set [smtp] security = \"starttls\" or \"tls\"; or, for a server on this host or a trusted network, [smtp] allow_insecure_auth = true")
}

#[cfg(test)]
mod tests {
    use super::*;

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
