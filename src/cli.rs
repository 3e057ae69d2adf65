//! The command line: clap derive types only. This is the single source of the help text,
//! and (later) of the shell completions and man pages, so every item carries its doc.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum, ValueHint};

/// Reset and re-enrol TOTP two-factor authentication on a web application's SQLite database
#[derive(Debug, Parser)]
#[command(
    name = "twofactl",
    version,
    propagate_version = true,
    disable_help_subcommand = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    #[command(subcommand)]
    pub command: Command,
}

/// Options that every subcommand takes.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// The application's SQLite database, or its PostgreSQL database as a postgres:// URL
    #[arg(long, global = true, value_name = "PATH|URL", env = "TWOFACTL_DB", value_hint = ValueHint::FilePath)]
    pub db: Option<PathBuf>,

    /// Config file [default: /etc/twofactl/config.toml, then $XDG_CONFIG_HOME/twofactl/config.toml]
    #[arg(long, global = true, value_name = "PATH", env = "TWOFACTL_CONFIG", value_hint = ValueHint::FilePath)]
    pub config: Option<PathBuf>,

    /// The application's profile (default, kanboard, wallabag, django-otp, vaultwarden, gitea,
    /// forgejo, nextcloud); overrides [schema] profile
    #[arg(long, global = true, value_name = "NAME", env = "TWOFACTL_PROFILE")]
    pub profile: Option<String>,

    /// Output format; `json` prints machine-readable output on stdout (`csv`: list-users only)
    #[arg(long, global = true, value_enum, value_name = "FORMAT", default_value_t = Format::Text)]
    pub format: Format,

    /// Answer yes to confirmations
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,

    /// Never prompt; a needed answer that no flag gave is a usage error (implied when stdin is not a terminal)
    #[arg(long, global = true)]
    pub no_input: bool,

    /// Print less on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print more on stderr
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned text for people
    Text,
    /// JSON (JSON Lines for list-users, admin-reset and audit)
    Json,
    /// Comma-separated values with a header row (list-users only)
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Step 1 of a self-service reset: check the user's password and e-mail a one-time code
    RequestReset(RequestResetArgs),
    /// Step 2 of a self-service reset: check the e-mailed code and clear the user's 2FA
    Verify(VerifyArgs),
    /// Make a new TOTP key for a user, show it as a QR code, and confirm it with a first code
    Enroll(EnrollArgs),
    /// List users and their 2FA state (never their secrets)
    ListUsers(ListUsersArgs),
    /// Clear the 2FA of one user or many, with a reason and an audit record
    AdminReset(AdminResetArgs),
    /// Read twofactl's audit log
    Audit(AuditArgs),
    /// Show or deliver notification e-mails that could not be sent
    Outbox(OutboxArgs),
    /// Check the database, the schema mapping and the mail server, without sending mail
    Doctor(DoctorArgs),
    /// Make a sandbox (a sample application database and a config) to try twofactl on
    Demo(DemoArgs),
    /// Print the completion script for a shell (bash, zsh, fish, powershell, elvish)
    Completions(CompletionsArgs),
    /// Write the man pages (twofactl(1), one per command, twofactl.toml(5)) under DIR
    Man(ManArgs),
}

/// 2FA states as list-users reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Status {
    /// An authenticator is active: the application asks for a code at login
    Enabled,
    /// A new key awaits confirmation with a first code
    Pending,
    /// No authenticator
    Disabled,
}

#[derive(Debug, Args)]
pub struct RequestResetArgs {
    /// The user, by username or e-mail address
    #[arg(value_name = "USER")]
    pub user: String,

    /// Read the user's password from the first line of stdin (at most 4 KiB) instead of prompting
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The user, by username or e-mail address
    #[arg(value_name = "USER")]
    pub user: String,

    /// The 8-digit code from the e-mail (prompted when absent; --code-stdin keeps it out of
    /// the process list)
    #[arg(value_name = "CODE", conflicts_with = "code_stdin")]
    pub code: Option<String>,

    /// Read the code from the first line of stdin
    #[arg(long)]
    pub code_stdin: bool,

    /// Go straight on to enrolling a new authenticator (takes enroll's QR options)
    #[arg(long)]
    pub enroll: bool,

    #[command(flatten)]
    pub qr: QrArgs,
}

#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// The user, by username or e-mail address
    #[arg(value_name = "USER")]
    pub user: String,

    /// Confirm the pending key with a code from the authenticator app (no new key is made)
    #[arg(long, value_name = "CODE", conflicts_with = "code_stdin")]
    pub code: Option<String>,

    /// Confirm the pending key with a code read from the first line of stdin
    #[arg(long)]
    pub code_stdin: bool,

    /// Why an active authenticator is replaced (needed with --force on a user whose 2FA is
    /// active; recorded in the audit log; prompted in a terminal)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,

    /// Allow replacing the active authenticator of an administrator of the application
    #[arg(long)]
    pub allow_admin: bool,

    /// The application administrator on whose behalf an active authenticator is replaced
    #[arg(long, value_name = "NAME", env = "TWOFACTL_ACTOR")]
    pub actor: Option<String>,

    #[command(flatten)]
    pub qr: QrArgs,
}

/// How a new key is shown. The key itself appears only in these outputs.
#[derive(Debug, Args, Clone, Default)]
pub struct QrArgs {
    /// Write the QR code as a PNG image to FILE (mode 0600, atomically)
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub qr_png: Option<PathBuf>,

    /// Write the QR code as an SVG image to FILE (mode 0600, atomically)
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub qr_svg: Option<PathBuf>,

    /// Print the QR code in the terminal (the default when stdout is a terminal)
    #[arg(long)]
    pub qr_terminal: bool,

    /// Pixels per QR module in --qr-png and --qr-svg (at least 4: smaller codes do not scan
    /// reliably from a screen or print)
    #[arg(long, value_name = "PX", default_value_t = 8, value_parser = clap::value_parser!(u32).range(4..=64))]
    pub qr_size: u32,

    /// Print the key (in groups of four) and the otpauth URI, for typing into the app by hand
    #[arg(long)]
    pub show_secret: bool,

    /// Replace a pending key or an active authenticator (with --reason), and overwrite
    /// existing QR files (regular files only)
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args, Default)]
pub struct ListUsersArgs {
    /// Only users in this 2FA state
    #[arg(long, value_enum, value_name = "STATUS")]
    pub status: Option<Status>,

    /// Only the application's administrators
    #[arg(long)]
    pub admins: bool,

    /// Only users whose username or e-mail contains PATTERN (case-insensitive, no wildcards)
    #[arg(long = "match", value_name = "PATTERN")]
    pub pattern: Option<String>,

    /// Print at most N users
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
}

#[derive(Debug, Args)]
pub struct AdminResetArgs {
    /// Users to reset, by username or e-mail address
    #[arg(value_name = "USER")]
    pub users: Vec<String>,

    /// Read users from FILE, one per line (`-` for stdin; blank lines and `#` comments skipped)
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub from_file: Option<PathBuf>,

    /// Why the 2FA is reset, on one line (no control characters); recorded in the audit log (prompted in a terminal)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,

    /// Allow resetting users who are administrators of the application
    #[arg(long)]
    pub allow_admin: bool,

    /// Skip users that do not exist instead of stopping with nothing changed
    #[arg(long)]
    pub skip_missing: bool,

    /// Show what would be reset; change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Do not e-mail the reset users (the audit log records that they were not notified)
    #[arg(long)]
    pub no_notify: bool,

    /// Include the reason in the e-mail to each user
    #[arg(long)]
    pub show_reason: bool,

    /// The application administrator on whose behalf the reset is made (must have is_admin = 1)
    #[arg(long, value_name = "NAME", env = "TWOFACTL_ACTOR")]
    pub actor: Option<String>,
}

#[derive(Debug, Args, Default)]
pub struct AuditArgs {
    /// Only records about this user (username or e-mail address)
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,

    /// Only records of this action
    #[arg(long, value_enum, value_name = "ACTION")]
    pub action: Option<AuditAction>,

    /// Only records since TIME: an RFC 3339 time or date (2026-11-01), or an age (7d, 12h)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Print at most N records (the newest)
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
}

/// The actions in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditAction {
    /// A self-service reset request (password check, code e-mailed)
    RequestReset,
    /// A self-service reset with the e-mailed code
    Verify,
    /// A new key made or confirmed
    Enroll,
    /// An administrative reset
    AdminReset,
}

impl AuditAction {
    /// The action as the audit log records it.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::RequestReset => "request-reset",
            AuditAction::Verify => "verify",
            AuditAction::Enroll => "enroll",
            AuditAction::AdminReset => "admin-reset",
        }
    }
}

#[derive(Debug, Args)]
pub struct OutboxArgs {
    #[command(subcommand)]
    pub action: OutboxAction,
}

#[derive(Debug, Subcommand)]
pub enum OutboxAction {
    /// List the messages not yet delivered, with their last error
    List,
    /// Deliver the pending messages (one SMTP connection for all)
    Send(OutboxSendArgs),
}

#[derive(Debug, Args)]
pub struct OutboxSendArgs {
    /// Also resend messages whose delivery was interrupted (a crash or kill mid-send) more than
    /// 10 minutes ago; the server may already have received some of them
    #[arg(long)]
    pub retry_interrupted: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Also send one test message to ADDRESS
    #[arg(long, value_name = "ADDRESS")]
    pub send_test: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory for the sandbox; created if missing, must not already hold one
    #[arg(value_name = "DIR", default_value = "twofactl-demo", value_hint = ValueHint::DirPath)]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// A man directory: pages go to DIR/man1 and DIR/man5 (e.g. ~/.local/share/man); without
    /// it, twofactl(1) is printed on stdout
    #[arg(value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
