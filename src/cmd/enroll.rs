//! `enroll USER`: make a new TOTP key (20 bytes from the OS CSPRNG), store it pending, show it
//! as a QR code (PNG, SVG, terminal) and, in a terminal, confirm it with a first code; or,
//! with `--code`, confirm the pending key. Confirmation activates the key, writes an audit row
//! and notifies the user. The key is shown only through the outputs asked for.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result};

use super::outbox::{Delivery, deliver};
use super::{Ctx, find_user, refresh_user, shell_word};
use crate::cli::{EnrollArgs, QrArgs, Status};
use crate::db::outbox::{self, Scope};
use crate::db::users::{self, User};
use crate::db::{self, Db, Mode, reset};
use crate::error::{Exit, fail};
use crate::mail::{Notice, compose};
use crate::output::{self, Staged, safe};
use crate::{qr, secret, totp};

pub const ACTION: &str = "enroll";
/// Prompted codes a person may get wrong before the run stops (the key stays pending).
const PROMPT_TRIES: usize = 3;

/// Fields that `verify --enroll` adds to the one JSON object it prints.
pub type JsonExtra = serde_json::Map<String, serde_json::Value>;

pub fn run(ctx: &Ctx, args: &EnrollArgs) -> Result<()> {
    let mut db = ctx.open_db(Mode::ReadWrite)?;
    let user = find_user(&db, &args.user)?;
    match &args.code {
        Some(code) => confirm(ctx, &mut db, &user, code),
        None => begin(ctx, &mut db, &user, &args.qr, JsonExtra::new()),
    }
}

/// Check the outputs asked for can show a new key (before anything changes); returns
/// whether the QR code goes to the terminal.
pub fn check_outputs(qr_args: &QrArgs) -> Result<bool> {
    let to_terminal = qr_args.qr_terminal
        || (std::io::stdout().is_terminal()
            && qr_args.qr_png.is_none()
            && qr_args.qr_svg.is_none());
    if !to_terminal && qr_args.qr_png.is_none() && qr_args.qr_svg.is_none() && !qr_args.show_secret
    {
        return Err(
            fail(Exit::Usage, "nothing would show the new key to the user")
                .hint("pass --qr-png FILE, --qr-svg FILE, --qr-terminal or --show-secret")
                .into(),
        );
    }
    for path in [&qr_args.qr_png, &qr_args.qr_svg].into_iter().flatten() {
        if path.exists() && !qr_args.force {
            return Err(already_exists(path));
        }
    }
    Ok(to_terminal)
}

fn already_exists(path: &Path) -> anyhow::Error {
    fail(Exit::Usage, format!("{} already exists", path.display()))
        .hint("choose another file, or pass --force to overwrite it")
        .into()
}

/// Write a QR file in full under a temporary name (mode 0600); nothing changes if this fails.
fn stage(path: &Path, bytes: &[u8]) -> Result<Staged> {
    // Not flushed to disk: the rename makes it appear whole, and after a power cut the user
    // would simply run enroll again (the key is pending until confirmed).
    Staged::new(path, bytes, false).with_context(|| format!("could not write {}", path.display()))
}

/// Make, store and show a new pending key; in a terminal, prompt for the first code.
pub fn begin(
    ctx: &Ctx,
    db: &mut Db,
    user: &User,
    qr_args: &QrArgs,
    extra: JsonExtra,
) -> Result<()> {
    if user.status == Status::Enabled && !qr_args.force {
        return Err(fail(
            Exit::Usage,
            format!(
                "{} already has an active authenticator",
                safe(&user.username)
            ),
        )
        .hint(format!(
            "reset it first (twofactl admin-reset {} --reason ...), or replace it with --force",
            shell_word(&user.username)
        ))
        .into());
    }
    let to_terminal = check_outputs(qr_args)?;
    let issuer = ctx.config.issuer(&db.app_settings()?)?;
    let key = secret::new_totp_key()?;
    let uri = totp::otpauth_uri(&issuer, &user.email, &key);
    // Render and write the files under temporary names first: a failure changes nothing.
    let mut staged = Vec::new();
    if let Some(path) = &qr_args.qr_png {
        staged.push(stage(path, &qr::png(&uri, qr_args.qr_size)?)?);
    }
    if let Some(path) = &qr_args.qr_svg {
        staged.push(stage(path, qr::svg(&uri, qr_args.qr_size)?.as_bytes())?);
    }
    let term = to_terminal.then(|| qr::terminal(&uri)).transpose()?;

    let replaced = user.status == Status::Enabled;
    {
        let tx = db::write(&mut db.conn)?;
        users::set_pending_key(&tx, &db.names, user.id, &key)?;
        reset::clear_totp_failures(&tx, user.id)?;
        ctx.audit(
            &tx,
            ACTION,
            user,
            "key_created",
            Some(if replaced {
                "new key pending confirmation; replaced an active authenticator (--force)"
            } else {
                "new key pending confirmation"
            }),
            true,
        )?;
        tx.commit()?;
    }
    let mut files = Vec::new();
    for (file, path) in staged
        .into_iter()
        .zip([&qr_args.qr_png, &qr_args.qr_svg].into_iter().flatten())
    {
        file.persist(qr_args.force).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                already_exists(path)
            } else {
                anyhow::Error::new(e).context(format!("could not write {}", path.display()))
            }
        })?;
        files.push(path.display().to_string());
    }

    // The QR code and secrets: to stdout in text mode, to stderr beside JSON.
    let mut human: Box<dyn Write> = if ctx.json() {
        Box::new(std::io::stderr())
    } else {
        Box::new(output::stdout())
    };
    if let Some(t) = &term {
        writeln!(
            human,
            "Scan this with Google Authenticator or Microsoft Authenticator:"
        )?;
        write!(human, "{t}")?;
    }
    if qr_args.show_secret && !ctx.json() {
        writeln!(human, "Key (for manual entry): {}", totp::grouped(&key))?;
        writeln!(human, "URI: {uri}")?;
    }
    human.flush()?;
    drop(human);
    for f in &files {
        ctx.info(format_args!(
            "QR code written to {f} (mode 0600; delete it once scanned)"
        ));
    }

    let mut object = extra;
    object.insert("username".into(), user.username.clone().into());
    object.insert("qr_files".into(), files.clone().into());
    if qr_args.show_secret {
        object.insert("secret".into(), key.clone().into());
        object.insert("otpauth_uri".into(), uri.clone().into());
    }
    if !ctx.prompt.interactive() {
        if ctx.json() {
            object.insert("status".into(), "pending".into());
            print_json(&object)?;
        }
        ctx.info(format_args!(
            "The new key for {} is pending. Once the app shows a code, confirm it with:\n  twofactl enroll {} --code CODE",
            safe(&user.username),
            shell_word(&user.username)
        ));
        return Ok(());
    }
    for attempt in 1..=PROMPT_TRIES {
        let code = ctx
            .prompt
            .text("Code shown by the authenticator app", "--code")?;
        match confirm_code(ctx, db, user, &code) {
            Ok(done) => {
                print_confirmed(ctx, user, &done, object)?;
                return done.delivery.into_result("notification");
            }
            Err(e) if attempt < PROMPT_TRIES && is_rejected(&e) => {
                eprintln!("twofactl: {e:#}; try again with the next code");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Confirm the pending key with `code`, report it, and exit 6 if the notification failed.
pub fn confirm(ctx: &Ctx, db: &mut Db, user: &User, code: &str) -> Result<()> {
    let done = confirm_code(ctx, db, user, code)?;
    print_confirmed(ctx, user, &done, JsonExtra::new())?;
    done.delivery.into_result("notification")
}

fn is_rejected(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<crate::error::Failure>()
            .is_some_and(|f| f.code == Exit::Rejected)
    })
}

fn print_json(object: &JsonExtra) -> Result<()> {
    let mut out = output::stdout();
    output::json_line(&mut out, object)?;
    out.flush()?;
    Ok(())
}

/// A confirmed key: whether the user's notification went out.
pub struct Confirmed {
    pub delivery: Delivery,
}

fn print_confirmed(ctx: &Ctx, user: &User, done: &Confirmed, mut object: JsonExtra) -> Result<()> {
    let notified = done.delivery.failed.is_empty()
        && object
            .get("notified")
            .is_none_or(|n| n.as_bool() == Some(true));
    if ctx.json() {
        object.insert("username".into(), user.username.clone().into());
        object.insert("status".into(), "enabled".into());
        object.insert("notified".into(), notified.into());
        print_json(&object)
    } else {
        let mut out = output::stdout();
        writeln!(
            out,
            "Code accepted: the new authenticator of {} is active{}.",
            safe(&user.username),
            if notified {
                "; the user was notified by e-mail"
            } else {
                ""
            }
        )?;
        out.flush()?;
        Ok(())
    }
}

/// Confirm the user's pending key with a code from the app.
pub fn confirm_code(ctx: &Ctx, db: &mut Db, user: &User, code: &str) -> Result<Confirmed> {
    let again = format!("twofactl enroll {}", shell_word(&user.username));
    let mail = ctx.config.mail(&db.app_settings()?)?;
    let policy = ctx.config.reset_policy();
    let tx = db::write(&mut db.conn)?;
    let current = refresh_user(&tx, &db.names, user)?;
    match current.status {
        Status::Pending => {}
        Status::Enabled => {
            return Err(fail(
                Exit::Usage,
                format!(
                    "the authenticator of {} is already active",
                    safe(&user.username)
                ),
            )
            .hint("a code confirms a key only once; to replace it, use --force without --code")
            .into());
        }
        Status::Disabled => {
            return Err(fail(
                Exit::Usage,
                format!(
                    "{} has no key waiting for confirmation",
                    safe(&user.username)
                ),
            )
            .hint(format!("make one first: {again}"))
            .into());
        }
    }
    let since = ctx.now - i64::try_from(policy.lockout.as_secs()).unwrap_or(i64::MAX / 2);
    if reset::totp_failures(&tx, user.id, since)? >= policy.max_attempts {
        return Err(fail(
            Exit::Limited,
            format!(
                "too many wrong codes for {}; try again later",
                safe(&user.username)
            ),
        )
        .hint(format!("or make a new key: {again} --force"))
        .into());
    }
    let key = users::totp_key(&tx, &db.names, user.id)?.unwrap_or_default();
    let now = u64::try_from(ctx.now).unwrap_or(0);
    let log = |outcome: &str, detail: Option<&str>, changed: bool| {
        ctx.audit(&tx, ACTION, user, outcome, detail, changed)
    };
    if totp::check(&key, code, now)?.is_none() {
        reset::record_totp_failure(&tx, user.id, ctx.now)?;
        log("wrong_code", None, false)?;
        tx.commit()?;
        return Err(fail(Exit::Rejected, "wrong code; the new key stays pending")
            .hint("enter the code the app shows now; check the phone's clock if codes keep failing")
            .into());
    }
    users::enable_key(&tx, &db.names, user.id)?;
    reset::clear_totp_failures(&tx, user.id)?;
    log("confirmed", Some("notification queued"), true)?;
    let msg = compose(
        &mail,
        &user.username,
        &user.email,
        &Notice::Enrolled,
        ctx.now,
    )?;
    let id = outbox::Queue::new(&tx)?.push(
        ctx.now,
        user.id,
        &user.username,
        Notice::Enrolled.kind(),
        &msg,
    )?;
    tx.commit()?;
    let delivery = deliver(&mut db.conn, &mail, Scope::Range(id, id), ctx.now)?;
    Ok(Confirmed { delivery })
}
