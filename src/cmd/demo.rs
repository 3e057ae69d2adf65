//! `demo [DIR]`: a sandbox to try twofactl on with no server and no configuration: an
//! application database made from the application's schema, a dozen sample users in every
//! 2FA state (real argon2id hashes, sessions, settings), and a config file pointing at it
//! that delivers mail into DIR/outbox.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use argon2::{Argon2, PasswordHasher};

use super::new_key::{self, Before, KeyJson};
use super::{Ctx, find_user, listing};
use crate::cli::{DemoArgs, QrArgs};
use crate::config::{AppSettings, Config};
use crate::db::sandbox::{self, SampleUser};
use crate::db::{Db, Mode, audit, users};
use crate::error::{Exit, fail};
use crate::mail::MailConfig;
use crate::output::{self, rfc3339};
use crate::service::enroll::{self, Options};
use crate::service::{request, verify};
use crate::{secret, totp};

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

/// Where the sandbox lives.
struct Paths {
    dir: PathBuf,
    db: PathBuf,
    config: PathBuf,
    outbox: PathBuf,
}

pub fn run(ctx: &Ctx, args: &DemoArgs) -> Result<()> {
    let dir = absolute(&args.dir)?;
    let paths = Paths {
        db: dir.join("app.db"),
        config: dir.join("config.toml"),
        outbox: dir.join("outbox"),
        dir,
    };
    make_sandbox(&paths)?;
    let mut out = output::stdout();
    writeln!(out, "Sandbox ready in {}", paths.dir.display())?;
    writeln!(
        out,
        "  database  {}  ({} sample users; every password is {PASSWORD:?})",
        paths.db.display(),
        USERS.len()
    )?;
    writeln!(out, "  config    {}", paths.config.display())?;
    writeln!(
        out,
        "  outbox    {}  (e-mail lands here as .eml files)\n",
        paths.outbox.display()
    )?;
    out.flush()?;
    let sandbox = ctx.with_config(Config::from_file(paths.config.clone())?);
    listing::users(
        &sandbox,
        &sandbox.open_db(Mode::ReadOnly)?,
        &users::Filter::default(),
    )?;
    walk(&sandbox, &mut out, &paths)?;
    by_hand(&mut out, &paths)
}

/// The application's database with the sample users, and a config that mails into files.
fn make_sandbox(paths: &Paths) -> Result<()> {
    if paths.db.exists() || paths.config.exists() {
        return Err(fail(
            Exit::Usage,
            format!("{} already holds a sandbox", paths.dir.display()),
        )
        .hint("remove it, or name another directory: twofactl demo DIR")
        .into());
    }
    std::fs::create_dir_all(&paths.outbox)
        .with_context(|| format!("could not create {}", paths.outbox.display()))?;
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
        &paths.db,
        crate::APP_SCHEMA,
        &users,
        &[
            ("app.name", "CYMETRICX Demo"),
            ("app.url", "https://cymetricx.example"),
            ("smtp.from", "CYMETRICX Demo <no-reply@cymetricx.example>"),
        ],
    )?;
    std::fs::write(&paths.config, config_text(&paths.db, &paths.outbox))
        .with_context(|| format!("could not write {}", paths.config.display()))
}

/// The commands to do it again by hand, runnable as printed: with this binary's own path
/// when `twofactl` on the PATH is not this binary (as after `cargo run`).
fn by_hand(out: &mut dyn Write, paths: &Paths) -> Result<()> {
    let bin = this_binary();
    let lines = [
        format!("export TWOFACTL_CONFIG={}", shell_quote(&paths.config)),
        format!("{bin} request-reset frank                 # type the password"),
        format!("{}   # the newest code", code_command(&paths.outbox)),
        format!("{bin} verify frank CODE --enroll --qr-png frank.png"),
        format!("{bin} admin-reset judy --reason \"lost phone, ticket 4711\" --yes"),
        format!("{bin} list-users --status enabled"),
        format!("{bin} audit"),
    ];
    writeln!(
        out,
        "\nDo it again by hand (any sample user; password {PASSWORD:?}):"
    )?;
    for l in lines {
        writeln!(out, "  {l}")?;
    }
    out.flush()?;
    Ok(())
}

/// `twofactl` when the PATH finds this very binary, else its absolute path.
fn this_binary() -> String {
    let Ok(me) = std::env::current_exe() else {
        return "twofactl".to_owned();
    };
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("twofactl"))
            .find(|c| c.is_file())
    });
    let same = on_path
        .and_then(|p| p.canonicalize().ok())
        .zip(me.canonicalize().ok())
        .is_some_and(|(a, b)| a == b);
    if same {
        "twofactl".to_owned()
    } else {
        shell_quote(&me)
    }
}

/// A shell command printing the newest code in the outbox (the files have CRLF line ends
/// and names that sort by time).
fn code_command(outbox: &Path) -> String {
    format!(
        "grep -h -o -E '^[0-9]{{8}}' {}/*.eml | tail -n 1",
        shell_quote(outbox)
    )
}

/// The whole self-service flow on the sample user carol, shown step by step, through the
/// same services the commands use.
fn walk(ctx: &Ctx, out: &mut dyn Write, paths: &Paths) -> Result<()> {
    const USER: &str = "carol";
    let mut db = ctx.open_db(Mode::ReadWrite)?;
    let carol = find_user(&db, USER)?;
    let settings = db.app_settings()?;
    let mail = crate::mail::resolve(&ctx.config, &settings)?;
    step(
        out,
        1,
        "carol lost her phone and asks for a reset; she proves her password",
        "twofactl request-reset carol --password-stdin <<< demo-password",
    )?;
    let sent = request::request(&ctx.env, &mut db, &carol, PASSWORD, &mail)?;
    writeln!(
        out,
        "A verification code was sent to {}; it expires at {}.",
        sent.email_masked,
        rfc3339(sent.expires)
    )?;
    let code = newest_code(&paths.outbox)?;
    step(
        out,
        2,
        "the code arrives by e-mail (here: the newest .eml in the outbox)",
        &code_command(&paths.outbox),
    )?;
    writeln!(out, "{code}")?;
    step(
        out,
        3,
        "she gives the code back: her old authenticator is cleared, her sessions ended",
        &format!("twofactl verify carol {code}"),
    )?;
    let done = verify::verify(&ctx.env, &mut db, &carol, &code, &mail)?.map_err(|r| r.error)?;
    writeln!(
        out,
        "Code accepted: the 2FA of carol was reset ({} revoked).",
        super::plural(done.sessions_revoked, "session")
    )?;
    done.delivery.into_result("notification")?;
    enrol(ctx, out, &mut db, paths, &settings, &mail)
}

/// Steps 4 to 6: carol's new authenticator, confirmed; the audit log.
fn enrol(
    ctx: &Ctx,
    out: &mut dyn Write,
    db: &mut Db,
    paths: &Paths,
    settings: &AppSettings,
    mail: &MailConfig,
) -> Result<()> {
    const USER: &str = "carol";
    let carol = find_user(db, USER)?;
    let png = paths.dir.join("carol-qr.png");
    step(
        out,
        4,
        "a new key, shown as a QR code to scan (and saved as a PNG, mode 0600)",
        &format!(
            "twofactl enroll carol --qr-terminal --qr-png {}",
            shell_quote(&png)
        ),
    )?;
    let qr = QrArgs {
        qr_png: Some(png),
        qr_terminal: true,
        qr_size: crate::qr::DEFAULT_MODULE_PX,
        ..QrArgs::default()
    };
    let outputs = new_key::check_outputs(&qr)?;
    let issuer = ctx.config.issuer(settings)?;
    let before = Before {
        json: KeyJson::default(),
        committed: false,
    };
    let opts = Options::default();
    new_key::begin(ctx, db, &carol, &issuer, mail, &qr, &outputs, &opts, before)?;
    let key = enroll::pending_secret(db, &carol)?.unwrap_or_default();
    let app_code = totp::code_at(&key, u64::try_from(ctx.now()).unwrap_or(0))?;
    step(
        out,
        5,
        "her app shows a code (the sandbox computes it from the new key); it activates the key",
        &format!("twofactl enroll carol --code {app_code}"),
    )?;
    new_key::confirm(ctx, db, &carol, &app_code, mail)?;
    step(
        out,
        6,
        "every step is in the audit log, and carol got three e-mails",
        "twofactl audit --user carol",
    )?;
    let filter = audit::Filter {
        username: Some(USER),
        ..audit::Filter::default()
    };
    listing::audit(ctx, db, &filter)
}

/// A step of the walk-through: what happens, and the command that does it.
fn step(out: &mut dyn Write, n: u32, what: &str, cmd: &str) -> Result<()> {
    writeln!(out, "\n== {n}. {what}\n   $ {cmd}")?;
    out.flush()?;
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
         # Every key is optional; see `man twofactl.toml` for the full list.\n\n\
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
