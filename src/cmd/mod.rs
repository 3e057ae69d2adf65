//! The commands. `Ctx` carries what every command needs (output format, interactivity, the
//! configuration, and the services' `Env`); `run` is the one exhaustive match from
//! subcommand to its module. Command modules parse their arguments, call a service, and
//! render its outcome; they hold no SQL and never call one another.

mod admin_reset;
pub mod audit;
mod completions;
mod demo;
mod doctor;
pub mod enroll;
pub mod list_users;
mod listing;
mod man;
mod new_key;
pub mod outbox;
pub mod request_reset;
pub mod verify;

use std::cell::RefCell;
use std::path::PathBuf;

use anyhow::Result;

use crate::cli::{Cli, Command, Format, Global};
use crate::config::{Config, Database, Sources};
use crate::db::{self, Db, Mode, pg};
use crate::error::{Exit, fail};
use crate::interrupt::Interrupt;
use crate::prompt::Prompter;
use crate::service::Env;

pub use crate::service::{ambiguous_email, find_user, shell_word, tries};

/// What every command needs.
pub struct Ctx {
    pub format: Format,
    pub yes: bool,
    pub quiet: bool,
    pub verbose: bool,
    pub prompt: Prompter,
    pub config: Config,
    /// What the services need: the OS user, the limits, Ctrl-C.
    pub env: Env,
    /// The database this run opened, for error messages.
    opened: RefCell<Option<PathBuf>>,
}

impl Ctx {
    pub fn new(global: &Global, config: Config, interrupt: Interrupt) -> Ctx {
        Ctx {
            format: global.format,
            yes: global.yes,
            quiet: global.quiet,
            verbose: global.verbose,
            prompt: Prompter::new(global.no_input),
            env: Env {
                os_user: crate::process::os_user(),
                policy: config.reset_policy(),
                interrupt,
            },
            config,
            opened: RefCell::new(None),
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
            env: Env {
                policy: config.reset_policy(),
                ..self.env.clone()
            },
            config,
            opened: RefCell::new(None),
        }
    }

    /// Now, as unix seconds (read at each use).
    pub fn now(&self) -> i64 {
        self.env.now()
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

    /// Open the configured database: the SQLite file, or the PostgreSQL database of a URL.
    pub fn open_db(&self, mode: Mode) -> Result<Db> {
        let db = match self.config.require_database()? {
            Database::File(path) => {
                self.opened.replace(Some(path.to_owned()));
                let db = db::open(path, mode, self.config.busy_timeout, &self.config.schema)?;
                self.detail(format_args!("database: {}", path.display()));
                db
            }
            Database::Url(url) => {
                let target = pg::Target::parse(url)?;
                let db = pg::open_db(
                    &target,
                    &self.pg_settings(),
                    &self.config.schema,
                    mode == Mode::ReadOnly,
                )?;
                self.opened.replace(Some(db.path.clone()));
                self.detail(format_args!("database: PostgreSQL {}", target.describe()));
                db
            }
        };
        Ok(db)
    }

    fn pg_settings(&self) -> pg::Settings {
        pg::Settings {
            password_file: self.config.db_password_file.clone(),
            ca_file: self.config.db_ca_file.clone(),
            lock_timeout: self.config.busy_timeout,
        }
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
pub fn run(cli: Cli, interrupt: Interrupt) -> Result<()> {
    if cli.global.format == Format::Csv && !matches!(cli.command, Command::ListUsers(_)) {
        return Err(fail(Exit::Usage, "--format csv is only for list-users")
            .hint("use --format json")
            .into());
    }
    // The manual and completions need no configuration (a broken one must not hide them).
    match &cli.command {
        Command::Completions(args) => return completions::run(args),
        Command::Man(args) => return man::run(args, cli.global.quiet),
        _ => {}
    }
    let config = Config::load(&Sources {
        db: cli.global.db.clone(),
        config: cli.global.config.clone(),
        profile: cli.global.profile.clone(),
    })?;
    let ctx = Ctx::new(&cli.global, config, interrupt);
    for f in &ctx.config.files {
        ctx.detail(format_args!("config: {}", f.display()));
    }
    let result = match cli.command {
        Command::RequestReset(args) => request_reset::run(&ctx, &args),
        Command::Verify(args) => verify::run(&ctx, &args),
        Command::Enroll(args) => enroll::run(&ctx, &args),
        Command::ListUsers(args) => list_users::run(&ctx, &args),
        Command::AdminReset(args) => admin_reset::run(&ctx, &args),
        Command::Audit(args) => audit::run(&ctx, &args),
        Command::Outbox(args) => outbox::run(&ctx, &args),
        Command::Doctor(args) => doctor::run(&ctx, &args),
        Command::Demo(args) => demo::run(&ctx, &args),
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => man::run(&args, ctx.quiet),
    };
    let opened = ctx.opened.take();
    result.map_err(|e| match opened {
        Some(path) => anyhow::Error::new(crate::error::Database { path, source: e }),
        None => e,
    })
}
