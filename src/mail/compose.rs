//! Composing messages: pure functions of their inputs (the sender and the application's name
//! and URL from the resolved mail settings, the user, the notice, the time). Every message is
//! multipart/alternative, UTF-8 MIME-encoded, and never holds a key or a password.

use std::time::{Duration, UNIX_EPOCH};

use lettre::message::{Mailbox, MultiPart, header::ContentType};
use lettre::{Address, Message};

use super::MailConfig;
use crate::output::rfc3339;

/// What a message tells the user.
#[derive(Debug, Clone, Copy)]
pub enum Notice<'a> {
    /// An administrator cleared the user's 2FA; the reason only when the operator chose to show
    /// it. `signed_out`: every login of the user was ended (not so where the application keeps
    /// sessions twofactl cannot end).
    AdminReset {
        reason: Option<&'a str>,
        signed_out: bool,
    },
    /// The user reset their own 2FA with password and e-mailed code.
    SelfReset { signed_out: bool },
    /// A new authenticator was confirmed; `replaced`: it took the place of an active one
    /// (whose sessions were ended, all of them when `signed_out`).
    Enrolled { replaced: bool, signed_out: bool },
    /// The verification code for a self-service reset, and when it expires (unix seconds).
    Code { code: &'a str, expires: i64 },
}

impl Notice<'_> {
    /// A stable name for the outbox and the audit log.
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::AdminReset { .. } => "admin-reset",
            Notice::SelfReset { .. } => "self-reset",
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

/// A recipient address that cannot be mailed (empty when the application keeps none).
#[derive(Debug, thiserror::Error)]
pub struct BadAddress(pub String);

impl std::fmt::Display for BadAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.trim().is_empty() {
            f.write_str("no e-mail address")
        } else {
            write!(
                f,
                "{} is not a valid e-mail address",
                crate::output::safe(&self.0)
            )
        }
    }
}

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
    // Only what is true: some applications keep logins that twofactl cannot end.
    let signed_out = |all: bool| {
        if all {
            ", and you have been signed out everywhere."
        } else {
            ". Browsers and devices that were already signed in may stay signed in: sign out of any you do not recognise."
        }
    };
    match notice {
        Notice::AdminReset { reason, signed_out: all } => {
            let mut p = vec![
                format!("Hello {username},"),
                format!("An administrator reset the two-factor authentication (2FA) of your {app} account on {when}."),
            ];
            if let Some(r) = reason {
                p.push(format!("Reason given: {r}"));
            }
            p.push(format!(
                "Your authenticator app no longer works for this account{} {sign_in}",
                signed_out(*all)
            ));
            p.push(not_you);
            (format!("{app}: your two-factor authentication was reset"), p)
        }
        Notice::SelfReset { signed_out: all } => (
            format!("{app}: your two-factor authentication was reset"),
            vec![
                format!("Hello {username},"),
                format!("The two-factor authentication (2FA) of your {app} account was reset on {when}, confirmed with your password and a code sent to this address."),
                format!(
                    "Your old authenticator app no longer works for this account{} {sign_in}",
                    signed_out(*all)
                ),
                not_you,
            ],
        ),
        Notice::Enrolled {
            replaced,
            signed_out: all,
        } => {
            let mut p = vec![
                format!("Hello {username},"),
                format!("A new authenticator app was set up for the two-factor authentication (2FA) of your {app} account on {when}. From now on, signing in asks for a code from it."),
            ];
            if *replaced {
                p.push(format!(
                    "It replaces your previous authenticator, which no longer works for this account{}",
                    signed_out(*all)
                ));
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::mail::Transport;

    fn cfg() -> MailConfig {
        MailConfig {
            transport: Transport::File {
                dir: PathBuf::from("/nonexistent"),
            },
            from: "CYMETRICX Sécurité <no-reply@example.com>".parse().unwrap(),
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
            &Notice::AdminReset {
                reason: None,
                signed_out: true,
            },
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
                signed_out: true,
            },
            0,
        )
        .unwrap();
        let without = compose(
            &cfg(),
            "a",
            "a@example.com",
            &Notice::AdminReset {
                reason: None,
                signed_out: true,
            },
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
            &Notice::Enrolled {
                replaced: false,
                signed_out: true,
            },
            0,
        );
        let html = html_body(
            &cfg(),
            &paragraphs,
            &Notice::Enrolled {
                replaced: false,
                signed_out: true,
            },
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"), "{html}");
    }

    #[test]
    fn bad_addresses_are_refused() {
        assert!(
            compose(
                &cfg(),
                "a",
                "not an address",
                &Notice::SelfReset { signed_out: true },
                0
            )
            .is_err()
        );
        assert!(
            compose(
                &cfg(),
                "a",
                "a@example.com\r\nBcc: x@evil",
                &Notice::SelfReset { signed_out: true },
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
}
