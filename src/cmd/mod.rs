//! The commands. `Ctx` carries what every command needs (output format, interactivity, the
//! configuration, the clock read once, the OS user for audit rows); `run` is the one
//! exhaustive match from subcommand to its module. Command modules orchestrate: validate,
//! open a transaction, call `db`, write output. They hold no SQL.

mod admin_reset;
pub mod audit;
mod demo;
mod doctor;
pub mod enroll;
pub mod list_users;
pub mod outbox;
pub mod request_reset;
pub mod verify;

use anyhow::Result;

use crate::cli::{Cli, Command, Format, Global};
use crate::config::Config;
use crate::db::users::{Lookup, Resolver, User};
use crate::db::{self, Db, Mode};
use crate::error::{Exit, fail};
use crate::output::safe;
use crate::prompt::Prompter;

/// What every command needs.
pub struct Ctx {
    pub format: Format,
    pub yes: bool,
    pub quiet: bool,
    pub verbose: bool,
    pub prompt: Prompter,
    pub config: Config,
    /// Unix seconds, read once per run.
    pub now: i64,
    /// The OS user, for audit rows.
    pub os_user: String,
}

impl Ctx {
    pub fn new(global: &Global, config: Config) -> Ctx {
        Ctx {
            format: global.format,
            yes: global.yes,
            quiet: global.quiet,
            verbose: global.verbose,
            prompt: Prompter::new(global.no_input),
            config,
            now: crate::output::now(),
            os_user: os_user(),
        }
    }

    /// The same settings with another configuration and no prompts (the sandbox).
    pub fn with_config(&self, config: Config) -> Ctx {
        Ctx {
            format: self.format,
            yes: self.yes,
            quiet: self.quiet,
            verbose: self.verbose,
            prompt: Prompter::new(true),
            config,
            now: self.now,
            os_user: self.os_user.clone(),
        }
    }

    /// One audit row about `user` (self-service and enrolment events: no actor, no reason).
    pub fn audit(
        &self,
        conn: &rusqlite::Connection,
        action: &str,
        user: &User,
        outcome: &str,
        detail: Option<&str>,
        changed: bool,
    ) -> Result<()> {
        crate::db::audit::Writer::new(conn)?.write(&crate::db::audit::Record {
            time: self.now,
            os_user: &self.os_user,
            actor: None,
            action,
            user_id: Some(user.id),
            username: &user.username,
            reason: None,
            outcome,
            detail,
            changed,
        })
    }

    /// A message for people, on stderr (silenced by `--quiet`).
    pub fn info(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }

    /// A detail for `--verbose`, on stderr.
    pub fn detail(&self, msg: impl std::fmt::Display) {
        if self.verbose {
            eprintln!("{msg}");
        }
    }

    pub fn json(&self) -> bool {
        self.format == Format::Json
    }

    /// Open the configured database.
    pub fn open_db(&self, mode: Mode) -> Result<Db> {
        let path = self.config.require_db_path()?;
        let db = db::open(path, mode, self.config.busy_timeout, &self.config.schema)?;
        self.detail(format_args!("database: {}", path.display()));
        Ok(db)
    }
}

/// The OS user for audit rows: the login name, and who ran sudo when it was sudo.
fn os_user() -> String {
    let user = whoami::username().unwrap_or_else(|_| "unknown".to_owned());
    match std::env::var("SUDO_USER") {
        Ok(s) if !s.is_empty() && s != user => format!("{user} (sudo by {s})"),
        _ => user,
    }
}

/// Resolve one user named by username or e-mail: exit 4 when there is none.
pub fn find_user(db: &Db, name: &str) -> Result<User> {
    match Resolver::new(&db.conn, &db.names)?.lookup(name)? {
        Lookup::Found(u) => Ok(u),
        Lookup::Missing => Err(
            fail(Exit::NotFound, format!("no such user: {}", safe(name)))
                .hint(format!("twofactl list-users --match {}", shell_word(name)))
                .into(),
        ),
        Lookup::Ambiguous => Err(ambiguous_email(name)),
    }
}

/// An e-mail address that names several users cannot pick one (exit 2).
pub fn ambiguous_email(name: &str) -> anyhow::Error {
    fail(
        Exit::Usage,
        format!("{} is the e-mail address of several users", safe(name)),
    )
    .hint("name the user by username")
    .into()
}

/// Read `user` again (inside a transaction, to act on its current state): exit 4 if it
/// was deleted meanwhile.
pub fn refresh_user(conn: &rusqlite::Connection, names: &db::Names, user: &User) -> Result<User> {
    db::users::by_id(conn, names, user.id)?.ok_or_else(|| {
        fail(
            Exit::NotFound,
            format!("{} was deleted", safe(&user.username)),
        )
        .into()
    })
}

/// The longest reason kept in the audit log, in characters.
pub const MAX_REASON_CHARS: usize = 1000;

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

/// "1 try", "3 tries".
pub fn tries(n: u32) -> String {
    if n == 1 {
        "1 try".to_owned()
    } else {
        format!("{n} tries")
    }
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

/// "1 user", "2 users".
pub fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Run one parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    if cli.global.format == Format::Csv && !matches!(cli.command, Command::ListUsers(_)) {
        return Err(fail(Exit::Usage, "--format csv is only for list-users")
            .hint("use --format json")
            .into());
    }
    let config = Config::load(&cli.global)?;
    let ctx = Ctx::new(&cli.global, config);
    for f in &ctx.config.files {
        ctx.detail(format_args!("config: {}", f.display()));
    }
    match cli.command {
        Command::RequestReset(args) => request_reset::run(&ctx, &args, None),
        Command::Verify(args) => verify::run(&ctx, &args),
        Command::Enroll(args) => enroll::run(&ctx, &args),
        Command::ListUsers(args) => list_users::run(&ctx, &args),
        Command::AdminReset(args) => admin_reset::run(&ctx, &args),
        Command::Audit(args) => audit::run(&ctx, &args),
        Command::Outbox(args) => outbox::run(&ctx, &args),
        Command::Doctor(args) => doctor::run(&ctx, &args),
        Command::Demo(args) => demo::run(&ctx, &args),
    }
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
