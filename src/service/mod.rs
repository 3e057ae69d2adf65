//! The flows: self-service reset (`request`, `verify`), enrolment (`enroll`), administrative
//! reset (`admin_reset`) and notification delivery (`notify`). Each is a library function
//! over the open database that returns a typed outcome; none prints, prompts or knows clap.
//! Commands call them and render their outcomes. The clock is read where a decision is made.

pub mod admin_reset;
pub mod enroll;
pub mod notify;
pub mod request;
pub mod verify;

use crate::db::sql::Sql;
use anyhow::Result;

use crate::app::App;
use crate::config::ResetPolicy;
use crate::db::audit::{Record, Writer};
use crate::db::users::{Lookup, Resolver, User};
use crate::db::{self, Db};
use crate::error::{Exit, Failure, fail};
use crate::interrupt::Interrupt;
use crate::output::safe;

/// What every flow needs besides the database: who runs it (for audit rows), the limits,
/// and the run's Ctrl-C handle.
#[derive(Clone)]
pub struct Env {
    pub os_user: String,
    pub policy: ResetPolicy,
    pub interrupt: Interrupt,
}

/// One audit row about a user, written inside the caller's transaction.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub action: &'a str,
    pub outcome: &'a str,
    pub detail: Option<&'a str>,
    /// Whether this is a change of the user's 2FA.
    pub changed: bool,
    pub actor: Option<&'a str>,
    pub reason: Option<&'a str>,
}

impl<'a> Event<'a> {
    /// A self-service or enrolment event: no actor, no reason.
    pub fn new(action: &'a str, outcome: &'a str) -> Event<'a> {
        Event {
            action,
            outcome,
            detail: None,
            changed: false,
            actor: None,
            reason: None,
        }
    }

    pub fn detail(self, detail: &'a str) -> Event<'a> {
        Event {
            detail: Some(detail),
            ..self
        }
    }
}

impl Env {
    /// Now, as unix seconds: read at each check and each audit row, never once per run.
    pub fn now(&self) -> i64 {
        crate::output::now()
    }

    /// Write one audit row about `user`, timed now.
    pub fn audit(&self, conn: &dyn Sql, user: &User, e: &Event<'_>) -> Result<()> {
        Writer::new(conn)?.write(&Record {
            time: self.now(),
            os_user: &self.os_user,
            actor: e.actor,
            action: e.action,
            user_id: Some(&user.id),
            username: &user.username,
            reason: e.reason,
            outcome: e.outcome,
            detail: e.detail,
            changed: e.changed,
        })
    }

    /// Seconds in `d`, for arithmetic on unix times (durations are bounded by the config).
    pub fn secs(d: std::time::Duration) -> i64 {
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 4)
    }
}

/// Resolve one user named by username or e-mail: exit 4 when there is none.
pub fn find_user(db: &Db, name: &str) -> Result<User> {
    match Resolver::new(&db.conn, &db.app)?.lookup(name)? {
        Lookup::Found(u) => Ok(u),
        Lookup::Missing => Err(
            fail(Exit::NotFound, format!("no such user: {}", safe(name)))
                .hint(format!("twofactl list-users --match {}", shell_word(name)))
                .into(),
        ),
        Lookup::Ambiguous => Err(ambiguous_email(name).into()),
    }
}

/// An e-mail address that names several users cannot pick one (exit 2).
pub fn ambiguous_email(name: &str) -> Failure {
    fail(
        Exit::Usage,
        format!("{} is the e-mail address of several users", safe(name)),
    )
    .hint("name the user by username")
}

/// Read `user` again inside a write transaction, to act on its current state (on
/// PostgreSQL, the row locked until the commit): exit 4 if it was deleted meanwhile.
pub fn refresh_user(conn: &dyn Sql, app: &App, user: &User) -> Result<User> {
    db::users::lock(conn, app, &user.id)?.ok_or_else(|| {
        fail(
            Exit::NotFound,
            format!("{} was deleted", safe(&user.username)),
        )
        .into()
    })
}

/// Quote a word for a shell command shown in a hint.
pub fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@._-+".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", safe(s).replace('\'', r"'\''"))
    }
}

/// "1 try", "3 tries".
pub fn tries(n: u32) -> String {
    if n == 1 {
        "1 try".to_owned()
    } else {
        format!("{n} tries")
    }
}

/// The longest line taken as a user name.
pub const MAX_NAME_BYTES: usize = 1024;
/// The longest reason kept in the audit log.
pub const MAX_REASON_CHARS: usize = 1000;

/// A name an operator typed: no control characters (NUL, newline, escapes), bounded length.
pub fn check_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("empty user name".to_owned());
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(format!(
            "longer than {MAX_NAME_BYTES} bytes; not a user name"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "{} contains a control character; not a user name",
            safe(name)
        ));
    }
    Ok(name.to_owned())
}

/// `--actor` must be an administrator of the application.
pub fn check_actor(conn: &dyn Sql, app: &App, actor: &str) -> Result<String> {
    let actor = check_name(actor).map_err(|why| fail(Exit::Usage, format!("--actor: {why}")))?;
    match Resolver::new(conn, app)?.lookup(&actor)? {
        Lookup::Found(u) if u.is_admin => Ok(u.username),
        Lookup::Found(u) => Err(fail(
            Exit::Usage,
            format!(
                "--actor {} is not an administrator of the application",
                safe(&u.username)
            ),
        )
        .hint("name an application user with is_admin = 1")
        .into()),
        Lookup::Missing | Lookup::Ambiguous => Err(fail(
            Exit::NotFound,
            format!("no such user: {} (--actor)", safe(&actor)),
        )
        .hint("twofactl list-users --admins")
        .into()),
    }
}

/// Check a `--reason` (of `admin-reset`, `enroll`, ...) before it goes into audit rows and
/// e-mails: trimmed, not empty, at most [`MAX_REASON_CHARS`] characters, and without control
/// characters (a newline could forge a line of the audit log or the e-mail, an escape
/// sequence could drive the terminal that shows it). Usage error (exit 2) otherwise.
pub fn check_reason(reason: &str) -> Result<String> {
    if let Some(c) = reason.chars().find(|c| c.is_control()) {
        return Err(fail(
            Exit::Usage,
            format!(
                "the reason contains a control character (U+{:04X})",
                u32::from(c)
            ),
        )
        .hint("write the reason on one line, without tabs or escape sequences")
        .into());
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(fail(Exit::Usage, "the reason is empty")
            .hint("say why, e.g. --reason \"lost phone, ticket 4711\"")
            .into());
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(fail(
            Exit::Usage,
            format!("the reason is longer than {MAX_REASON_CHARS} characters"),
        )
        .into());
    }
    Ok(reason.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_one_clean_line() {
        assert_eq!(
            check_reason("  lost phone, ticket 4711 ").unwrap(),
            "lost phone, ticket 4711"
        );
        assert_eq!(
            check_reason("Grund: Gerät verloren").unwrap(),
            "Grund: Gerät verloren"
        );
        for bad in [
            "a\nb",
            "a\r",
            "\nleading",
            "trailing\n",
            "nul\0",
            "esc\u{1b}[2J",
            "tab\t",
            "del\u{7f}",
            "csi\u{9b}",
            "nel\u{85}",
        ] {
            let e = check_reason(bad).unwrap_err().to_string();
            assert!(e.contains("control character"), "{bad:?}: {e}");
        }
        assert!(check_reason("   ").is_err());
        assert!(check_reason(&"x".repeat(MAX_REASON_CHARS)).is_ok());
        assert!(check_reason(&"x".repeat(MAX_REASON_CHARS + 1)).is_err());
    }
}
