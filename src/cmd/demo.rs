//! `demo [DIR]`: a sandbox to try twofactl on with no server and no configuration: an
//! application database made from the application's schema, a dozen sample users in every
//! 2FA state (real argon2id hashes, sessions, settings), and a config file pointing at it
//! that delivers mail into DIR/outbox.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use argon2::{Argon2, PasswordHasher};

use super::{Ctx, audit, enroll, list_users, request_reset, verify};
use crate::cli::{AuditArgs, DemoArgs, ListUsersArgs, QrArgs, RequestResetArgs, VerifyArgs};
use crate::config::Config;
use crate::db::sandbox::{self, SampleUser};
use crate::db::{Mode, users};
use crate::error::{Exit, fail};
use crate::{output, secret, totp};

/// Every sample user's password.
pub const PASSWORD: &str = "demo-password";

/// (username, e-mail, admin, 2FA state, sessions); state: 'e'nabled, 'p'ending, 'd'isabled.
const USERS: &[(&str, &str, bool, char, u32)] = &[
    ("alice", "alice@example.com", true, 'e', 1),
    ("bob", "bob@example.com", false, 'e', 2),
    ("carol", "carol@example.com", false, 'e', 1),
    ("dave", "dave@example.com", false, 'p', 0),
    ("erin", "erin@example.com", false, 'd', 1),
    ("frank", "frank@example.com", false, 'e', 3),
    ("grace", "grace@example.com", true, 'e', 1),
    ("heidi", "heidi@example.com", false, 'p', 1),
    ("ivan", "ivan@example.com", false, 'd', 0),
    ("judy", "judy@example.com", false, 'e', 1),
    ("mallory", "mallory@example.com", false, 'e', 0),
    ("o'brien", "sean.obrien@example.com", false, 'e', 1),
];

pub fn run(ctx: &Ctx, args: &DemoArgs) -> Result<()> {
    let dir = absolute(&args.dir)?;
    let db_path = dir.join("app.db");
    let config_path = dir.join("config.toml");
    let outbox = dir.join("outbox");
    if db_path.exists() || config_path.exists() {
        return Err(fail(
            Exit::Usage,
            format!("{} already holds a sandbox", dir.display()),
        )
        .hint("remove it, or name another directory: twofactl demo DIR")
        .into());
    }
    std::fs::create_dir_all(&outbox)
        .with_context(|| format!("could not create {}", outbox.display()))?;

    let argon2 = Argon2::default();
    let users = USERS
        .iter()
        .map(|&(username, email, is_admin, state, sessions)| {
            let password_hash = argon2
                .hash_password(PASSWORD.as_bytes())
                .map_err(|e| anyhow::anyhow!("could not hash the sample password: {e}"))?
                .to_string();
            Ok(SampleUser {
                username,
                email,
                password_hash,
                is_admin,
                totp_secret: (state != 'd')
                    .then(crate::secret::new_totp_key)
                    .transpose()?,
                totp_enabled: state == 'e',
                sessions,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    sandbox::create(
        &db_path,
        crate::APP_SCHEMA,
        &users,
        &[
            ("app.name", "CYMETRICX Demo"),
            ("app.url", "https://cymetricx.example"),
            ("smtp.from", "CYMETRICX Demo <no-reply@cymetricx.example>"),
        ],
    )?;
    std::fs::write(&config_path, config_text(&db_path, &outbox))
        .with_context(|| format!("could not write {}", config_path.display()))?;

    // Through the buffered writer, flushed before each command it runs prints, so that a
    // closed pipe (`twofactl demo | head -1`) is an error to return, not a panic.
    let mut out = output::stdout();
    writeln!(out, "Sandbox ready in {}", dir.display())?;
    writeln!(
        out,
        "  database  {}  ({} sample users; every password is {PASSWORD:?})",
        db_path.display(),
        USERS.len()
    )?;
    writeln!(out, "  config    {}", config_path.display())?;
    writeln!(
        out,
        "  outbox    {}  (e-mail lands here as .eml files)",
        outbox.display()
    )?;
    writeln!(out)?;
    out.flush()?;
    let sandbox = ctx.with_config(Config::from_file(config_path.clone())?);
    list_users::run(&sandbox, &ListUsersArgs::default())?;
    walk(&sandbox, &mut out, &dir, &outbox)?;

    let cfg = shell_quote(&config_path);
    writeln!(out)?;
    writeln!(
        out,
        "Do it again by hand (any sample user; password {PASSWORD:?}):"
    )?;
    writeln!(out, "  export TWOFACTL_CONFIG={cfg}")?;
    writeln!(
        out,
        "  twofactl request-reset frank                 # type the password"
    )?;
    writeln!(
        out,
        "  ls {}                                # the code is in the newest .eml",
        shell_quote(&outbox)
    )?;
    writeln!(
        out,
        "  twofactl verify frank CODE --enroll --qr-png frank.png"
    )?;
    writeln!(out, "  twofactl enroll frank --code CODE-FROM-THE-APP")?;
    writeln!(
        out,
        "  twofactl admin-reset judy --reason \"lost phone, ticket 4711\" --yes"
    )?;
    writeln!(out, "  twofactl list-users --status enabled")?;
    writeln!(out, "  twofactl audit")?;
    out.flush()?;
    Ok(())
}

/// One step of the walk-through: its title and command, flushed before the command runs.
fn step(out: &mut impl Write, n: u32, what: &str, cmd: &str) -> Result<()> {
    writeln!(out)?;
    writeln!(out, "== {n}. {what}")?;
    writeln!(out, "   $ {cmd}")?;
    out.flush()?;
    Ok(())
}

/// The whole self-service flow on the sample user carol, shown step by step.
fn walk(ctx: &Ctx, out: &mut impl Write, dir: &Path, outbox: &Path) -> Result<()> {
    const USER: &str = "carol";
    step(
        out,
        1,
        "carol lost her phone and asks for a reset; she proves her password",
        "twofactl request-reset carol --password-stdin <<< demo-password",
    )?;
    request_reset::run(
        ctx,
        &RequestResetArgs {
            user: USER.to_owned(),
            password_stdin: true,
        },
        Some(PASSWORD.to_owned()),
    )?;
    let code = newest_code(outbox)?;
    step(
        out,
        2,
        "the code arrives by e-mail (here: the newest .eml in the outbox)",
        &format!("grep -h -x '[0-9]\\{{8\\}}' {}/*.eml", shell_quote(outbox)),
    )?;
    writeln!(out, "{code}")?;
    step(
        out,
        3,
        "she gives the code back: her old authenticator is cleared, her sessions ended",
        &format!("twofactl verify carol {code}"),
    )?;
    verify::run(
        ctx,
        &VerifyArgs {
            user: USER.to_owned(),
            code: Some(code),
            enroll: false,
            qr: QrArgs::default(),
        },
    )?;
    let png = dir.join("carol-qr.png");
    step(
        out,
        4,
        "a new key, shown as a QR code to scan (and saved as a PNG, mode 0600)",
        &format!(
            "twofactl enroll carol --qr-terminal --qr-png {}",
            shell_quote(&png)
        ),
    )?;
    let mut db = ctx.open_db(Mode::ReadWrite)?;
    let carol = super::find_user(&db, USER)?;
    enroll::begin(
        ctx,
        &mut db,
        &carol,
        &QrArgs {
            qr_png: Some(png),
            qr_terminal: true,
            qr_size: crate::qr::DEFAULT_MODULE_PX,
            ..QrArgs::default()
        },
        enroll::JsonExtra::new(),
    )?;
    let key = users::totp_key(&db.conn, &db.names, carol.id)?.unwrap_or_default();
    let app_code = totp::code_at(&key, u64::try_from(ctx.now).unwrap_or(0))?;
    step(
        out,
        5,
        "her app shows a code (the sandbox computes it from the new key); it activates the key",
        &format!("twofactl enroll carol --code {app_code}"),
    )?;
    enroll::confirm(ctx, &mut db, &carol, &app_code)?;
    step(
        out,
        6,
        "every step is in the audit log, and carol got three e-mails",
        "twofactl audit --user carol",
    )?;
    audit::run(
        ctx,
        &AuditArgs {
            user: Some(USER.to_owned()),
            ..AuditArgs::default()
        },
    )?;
    Ok(())
}

/// The verification code in the newest message of the file outbox.
fn newest_code(outbox: &Path) -> Result<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(outbox)
        .with_context(|| format!("could not read {}", outbox.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    let newest = files.last().context("no message in the sandbox outbox")?;
    let text = std::fs::read_to_string(newest)?;
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .find(|l| l.len() == secret::CODE_DIGITS && l.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned)
        .with_context(|| format!("no code in {}", newest.display()))
}

fn config_text(db: &Path, outbox: &Path) -> String {
    let q = |p: &Path| toml_string(&p.to_string_lossy());
    format!(
        "# twofactl sandbox configuration, made by `twofactl demo`.\n\
         # Every key is optional; see DESIGN.md or `man twofactl` for the full list.\n\n\
         [database]\npath = {}\n\n\
         [mail]\n# No SMTP server needed: each message is written as an .eml file.\n\
         transport = \"file\"\nfile_dir = {}\n",
        q(db),
        q(outbox)
    )
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn absolute(dir: &Path) -> Result<PathBuf> {
    Ok(if dir.is_absolute() {
        dir.to_owned()
    } else {
        std::env::current_dir()
            .context("could not read the current directory")?
            .join(dir)
    })
}

fn shell_quote(p: &Path) -> String {
    let s = p.to_string_lossy();
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
