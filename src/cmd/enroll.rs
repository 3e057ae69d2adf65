//! `enroll USER`: make a new TOTP key (20 bytes from the OS CSPRNG), store it pending, show it
//! as a QR code (PNG, SVG, terminal) and, in a terminal, confirm it with a first code; or,
//! with `--code`, confirm the pending key. Confirmation activates the key, writes an audit row
//! and notifies the user. The key is shown only through the outputs asked for.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use super::outbox::deliver;
use super::{Ctx, find_user, os_user, shell_word};
use crate::cli::{EnrollArgs, QrArgs, Status};
use crate::db::audit::{self, Record};
use crate::db::outbox::{self, Scope};
use crate::db::users::{self, User};
use crate::db::{self, Db, Mode, reset};
use crate::error::{Exit, fail};
use crate::mail::{Notice, compose, write_private_file};
use crate::output::{self, safe};
use crate::{qr, secret, totp};

pub const ACTION: &str = "enroll";
/// Prompted codes a person may get wrong before the run stops (the key stays pending).
const PROMPT_TRIES: usize = 3;

#[derive(Serialize)]
struct JsonOut<'a> {
    username: &'a str,
    status: &'a str,
    qr_files: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    otpauth_uri: Option<&'a str>,
}

pub fn run(ctx: &Ctx, args: &EnrollArgs) -> Result<()> {
    let mut db = ctx.open_db(Mode::ReadWrite)?;
    let user = find_user(&db, &args.user)?;
    match &args.code {
        Some(code) => confirm(ctx, &mut db, &user, code),
        None => begin(ctx, &mut db, &user, &args.qr),
    }
}

/// Make, store and show a new pending key; in a terminal, prompt for the first code.
pub fn begin(ctx: &Ctx, db: &mut Db, user: &User, qr_args: &QrArgs) -> Result<()> {
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
    // Render before storing anything: a rendering failure changes nothing.
    let png = qr_args
        .qr_png
        .as_ref()
        .map(|_| qr::png(&uri, qr_args.qr_size))
        .transpose()?;
    let svg = qr_args
        .qr_svg
        .as_ref()
        .map(|_| qr::svg(&uri, qr_args.qr_size))
        .transpose()?;
    let term = to_terminal.then(|| qr::terminal(&uri)).transpose()?;

    let replaced = user.status == Status::Enabled;
    {
        let tx = db::write(&mut db.conn)?;
        users::set_pending_key(&tx, &db.names, user.id, &key)?;
        reset::clear_totp_failures(&tx, user.id)?;
        audit::Writer::new(&tx)?.write(&Record {
            time: ctx.now,
            os_user: &os_user(),
            actor: None,
            action: ACTION,
            user_id: Some(user.id),
            username: &user.username,
            reason: None,
            outcome: "key_created",
            detail: Some(if replaced {
                "new key pending confirmation; replaced an active authenticator (--force)"
            } else {
                "new key pending confirmation"
            }),
            changed: true,
        })?;
        tx.commit()?;
    }

    let mut files = Vec::new();
    if let (Some(path), Some(bytes)) = (&qr_args.qr_png, &png) {
        write_qr(path, bytes, qr_args.force)?;
        files.push(path.display().to_string());
    }
    if let (Some(path), Some(text)) = (&qr_args.qr_svg, &svg) {
        write_qr(path, text.as_bytes(), qr_args.force)?;
        files.push(path.display().to_string());
    }

    let confirm_cmd = format!("twofactl enroll {} --code CODE", shell_word(&user.username));
    if ctx.json() {
        if let Some(t) = &term {
            eprint!("{t}");
        }
        let mut out = output::stdout();
        serde_json::to_writer(
            &mut out,
            &JsonOut {
                username: &user.username,
                status: "pending",
                qr_files: files.clone(),
                secret: qr_args.show_secret.then_some(key.as_str()),
                otpauth_uri: qr_args.show_secret.then_some(uri.as_str()),
            },
        )?;
        out.write_all(b"\n")?;
        out.flush()?;
    } else {
        let mut out = output::stdout();
        if let Some(t) = &term {
            writeln!(
                out,
                "Scan this with Google Authenticator or Microsoft Authenticator:"
            )?;
            write!(out, "{t}")?;
        }
        if qr_args.show_secret {
            writeln!(out, "Key (for manual entry): {}", totp::grouped(&key))?;
            writeln!(out, "URI: {uri}")?;
        }
        out.flush()?;
        for f in &files {
            ctx.info(format_args!(
                "QR code written to {f} (mode 0600; delete it once scanned)"
            ));
        }
    }

    if !ctx.prompt.interactive() {
        ctx.info(format_args!(
            "The new key for {} is pending. Once the app shows a code, confirm it with:\n  {confirm_cmd}",
            safe(&user.username)
        ));
        return Ok(());
    }
    for attempt in 1..=PROMPT_TRIES {
        let code = ctx
            .prompt
            .text("Code shown by the authenticator app", "--code")?;
        let fresh = users::by_id(&db.conn, &db.names, user.id)?.ok_or_else(|| {
            fail(
                Exit::NotFound,
                format!("{} was deleted", safe(&user.username)),
            )
        })?;
        match confirm(ctx, db, &fresh, &code) {
            Err(e)
                if attempt < PROMPT_TRIES
                    && e.chain().any(|c| {
                        c.downcast_ref::<crate::error::Failure>()
                            .is_some_and(|f| f.code == Exit::Rejected)
                    }) =>
            {
                eprintln!("twofactl: {e:#}; try again with the next code");
            }
            other => return other,
        }
    }
    Ok(())
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
            return Err(
                fail(Exit::Usage, format!("{} already exists", path.display()))
                    .hint("choose another file, or pass --force to overwrite it")
                    .into(),
            );
        }
    }
    Ok(to_terminal)
}

fn write_qr(path: &Path, bytes: &[u8], force: bool) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?
        .to_string_lossy()
        .into_owned();
    if force && path.exists() {
        std::fs::remove_file(path)
            .with_context(|| format!("could not replace {}", path.display()))?;
    }
    write_private_file(&dir, &name, bytes).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            fail(Exit::Usage, format!("{} already exists", path.display()))
                .hint("pass --force to overwrite it")
                .into()
        } else {
            anyhow::Error::new(e).context(format!("could not write {}", path.display()))
        }
    })
}

/// Confirm the user's pending key with a code from the app.
pub fn confirm(ctx: &Ctx, db: &mut Db, user: &User, code: &str) -> Result<()> {
    let again = format!("twofactl enroll {}", shell_word(&user.username));
    let mail = ctx.config.mail(&db.app_settings()?)?;
    let policy = ctx.config.reset_policy();
    let os_user = os_user();
    let tx = db::write(&mut db.conn)?;
    let current = users::by_id(&tx, &db.names, user.id)?.ok_or_else(|| {
        fail(
            Exit::NotFound,
            format!("{} was deleted", safe(&user.username)),
        )
    })?;
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
        audit::Writer::new(&tx)?.write(&Record {
            time: ctx.now,
            os_user: &os_user,
            actor: None,
            action: ACTION,
            user_id: Some(user.id),
            username: &user.username,
            reason: None,
            outcome,
            detail,
            changed,
        })
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
    let notified = delivery.failed.is_empty();
    let mut out = output::stdout();
    if ctx.json() {
        serde_json::to_writer(
            &mut out,
            &serde_json::json!({
                "username": user.username,
                "status": "enabled",
                "notified": notified,
            }),
        )?;
        out.write_all(b"\n")?;
    } else {
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
    }
    out.flush()?;
    delivery.into_result("notification")
}
