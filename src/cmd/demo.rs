//! `demo [DIR]`: a sandbox to try twofactl on with no server and no configuration: an
//! application database made from the application's schema, a dozen sample users in every
//! 2FA state (real argon2id hashes, sessions, settings), and a config file pointing at it
//! that delivers mail into DIR/outbox.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use argon2::{Argon2, PasswordHasher};

use super::{Ctx, list_users};
use crate::cli::{DemoArgs, ListUsersArgs};
use crate::config::Config;
use crate::db::sandbox::{self, SampleUser};
use crate::error::{Exit, fail};

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

    println!("Sandbox ready in {}", dir.display());
    println!(
        "  database  {}  ({} sample users; every password is {PASSWORD:?})",
        db_path.display(),
        USERS.len()
    );
    println!("  config    {}", config_path.display());
    println!(
        "  outbox    {}  (e-mail lands here as .eml files)",
        outbox.display()
    );
    println!();
    let sandbox_ctx = ctx.with_config(Config::for_db(db_path.clone()));
    list_users::run(
        &sandbox_ctx,
        &ListUsersArgs {
            status: None,
            admins: false,
            pattern: None,
            limit: None,
        },
    )?;
    let cfg = shell_quote(&config_path);
    println!();
    println!("Try next:");
    println!("  export TWOFACTL_CONFIG={cfg}");
    println!("  twofactl list-users --status enabled");
    println!("  twofactl admin-reset bob --reason \"lost phone, ticket 4711\" --dry-run");
    println!("  twofactl admin-reset bob --reason \"lost phone, ticket 4711\" --yes");
    println!("  twofactl audit");
    Ok(())
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
