//! Showing a new key and confirming it with the first code: shared by `enroll` and
//! `verify --enroll` (not a command itself). Every output path is checked before anything
//! changes; QR files are staged under temporary names (mode 0600), the key is stored pending,
//! and only then are the files named. In a terminal, the person is asked for the first code.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use super::Ctx;
use crate::cli::QrArgs;
use crate::db::Db;
use crate::db::users::User;
use crate::error::{Exit, Failure, fail};
use crate::interrupt::{Note, interrupted};
use crate::mail::MailConfig;
use crate::output::{self, Staged, safe};
use crate::service::enroll::{self, Confirmed, Options};
use crate::service::shell_word;
use crate::{qr, totp};

/// Prompted codes a person may get wrong before the run stops (the key stays pending).
const PROMPT_TRIES: usize = 3;

/// The one JSON object of an enrolment run (with the reset's fields under `verify --enroll`).
#[derive(Debug, Default, Serialize)]
pub struct KeyJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sessions_revoked: Option<u64>,
    pub username: String,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_files: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otpauth_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notified: Option<bool>,
}

impl KeyJson {
    fn line(&self) -> Result<String> {
        let mut buf = Vec::new();
        output::json_line(&mut buf, self)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    pub fn print(&self) -> Result<()> {
        let mut out = output::stdout();
        output::json_line(&mut out, self)?;
        out.flush()?;
        Ok(())
    }
}

/// Where the new key will be shown, checked before anything changes.
#[derive(Debug)]
pub struct Outputs {
    to_terminal: bool,
    files: Vec<(PathBuf, FileKind)>,
}

#[derive(Debug, Clone, Copy)]
enum FileKind {
    Png,
    Svg,
}

/// Check the outputs asked for can show a new key: something shows it; each file path is a
/// regular file or absent (never a symlink, device, FIFO or directory, even with --force),
/// exists only with --force, is in an existing directory, and no two paths are one file.
pub fn check_outputs(qr: &QrArgs) -> Result<Outputs> {
    let to_terminal = qr.qr_terminal
        || (std::io::stdout().is_terminal() && qr.qr_png.is_none() && qr.qr_svg.is_none());
    if !to_terminal && qr.qr_png.is_none() && qr.qr_svg.is_none() && !qr.show_secret {
        return Err(
            fail(Exit::Usage, "nothing would show the new key to the user")
                .hint("pass --qr-png FILE, --qr-svg FILE, --qr-terminal or --show-secret")
                .into(),
        );
    }
    let mut files = Vec::new();
    let mut seen = Vec::new();
    for (path, kind) in [(&qr.qr_png, FileKind::Png), (&qr.qr_svg, FileKind::Svg)] {
        let Some(path) = path else { continue };
        let place = check_path(path, qr.force)?;
        if seen.contains(&place) {
            return Err(fail(
                Exit::Usage,
                format!(
                    "--qr-png and --qr-svg name the same file: {}",
                    path.display()
                ),
            )
            .hint("give each QR file its own name")
            .into());
        }
        seen.push(place);
        files.push((path.clone(), kind));
    }
    Ok(Outputs { to_terminal, files })
}

/// Check one QR file path; returns it resolved (directory canonical, then the file name).
fn check_path(path: &Path, force: bool) -> Result<PathBuf> {
    let bad = |why: &str| -> anyhow::Error {
        fail(Exit::Usage, format!("{} {why}", path.display()))
            .hint("name a new file in an existing directory (or an existing regular file with --force)")
            .into()
    };
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(bad(
                "is a symbolic link; QR files are written only as regular files",
            ));
        }
        Ok(m) if !m.is_file() => return Err(bad("is not a regular file")),
        Ok(_) if !force => return Err(already_exists(path).into()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(bad(&format!("cannot be checked: {e}"))),
    }
    let name = path.file_name().ok_or_else(|| bad("is not a file name"))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = dir
        .canonicalize()
        .ok()
        .filter(|d| d.is_dir())
        .ok_or_else(|| bad("is not in an existing directory"))?;
    Ok(dir.join(name))
}

fn already_exists(path: &Path) -> Failure {
    fail(Exit::Usage, format!("{} already exists", path.display()))
        .hint("choose another file, or pass --force to overwrite it")
}

/// What the run has done before the key (the reset of `verify --enroll`).
pub struct Before {
    pub json: KeyJson,
    /// A change committed before enrolment: Ctrl-C at the code prompt then exits 6, not 130.
    pub committed: bool,
}

/// Make, store and show a new pending key; in a terminal, prompt for the first code.
#[allow(clippy::too_many_arguments)]
pub fn begin(
    ctx: &Ctx,
    db: &mut Db,
    user: &User,
    issuer: &str,
    mail: &MailConfig,
    qr: &QrArgs,
    outputs: &Outputs,
    opts: &Options<'_>,
    before: Before,
) -> Result<()> {
    let plan = enroll::plan(db, user, issuer, opts)?;
    let files = stage_and_store(ctx, db, &plan, qr, outputs)?;
    show(ctx, &plan, qr, outputs)?;
    for f in &files {
        ctx.info(format_args!(
            "QR code written to {f} (mode 0600; delete it once scanned)"
        ));
    }
    let mut json = before.json;
    json.username = plan.user.username.clone();
    json.qr_files = Some(files);
    if qr.show_secret {
        json.secret = Some(plan.key.clone());
        json.otpauth_uri = Some(plan.uri.clone());
    }
    let later = format!(
        "once the app shows a code, confirm the key with: twofactl enroll {} --code-stdin",
        shell_word(&user.username)
    );
    if !ctx.prompt.interactive() {
        json.status = "pending";
        if ctx.json() {
            json.print()?;
        }
        ctx.info(format_args!(
            "The new key for {} is pending; {later}",
            safe(&user.username)
        ));
        return Ok(());
    }
    prompt_for_code(ctx, db, &plan.user, mail, json, before.committed, &later)
}

/// Stage the QR files, store the key pending, then name the files; Ctrl-C meanwhile removes
/// the staged files and, before the commit, stops with nothing changed.
fn stage_and_store(
    ctx: &Ctx,
    db: &mut Db,
    plan: &enroll::Plan,
    qr: &QrArgs,
    outputs: &Outputs,
) -> Result<Vec<String>> {
    let _hold = ctx.env.interrupt.hold();
    let mut staged = Vec::new();
    for (path, kind) in &outputs.files {
        let bytes = match kind {
            FileKind::Png => qr::png(&plan.uri, qr.qr_size)?,
            FileKind::Svg => qr::svg(&plan.uri, qr.qr_size)?.into_bytes(),
        };
        // Not flushed to disk: the rename makes it appear whole, and after a power cut the
        // user would simply run enroll again (the key is pending until confirmed).
        let file = Staged::new(path, &bytes, false)
            .with_context(|| format!("could not write {}", path.display()))?;
        staged.push((file, path));
    }
    ctx.env.interrupt.check()?;
    enroll::store(&ctx.env, db, plan)?;
    let mut files = Vec::new();
    for (file, path) in staged {
        // --force replaces only a regular file: check again just before the rename.
        if qr.force && check_path(path, true).is_err() {
            return Err(fail(
                Exit::Usage,
                format!(
                    "{} changed while the key was made; it was not replaced",
                    path.display()
                ),
            )
            .into());
        }
        file.persist(qr.force).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                already_exists(path).into()
            } else {
                anyhow::Error::new(e).context(format!("could not write {}", path.display()))
            }
        })?;
        files.push(path.display().to_string());
    }
    Ok(files)
}

/// The QR code and secrets: to stdout in text mode, to stderr beside JSON.
fn show(ctx: &Ctx, plan: &enroll::Plan, qr: &QrArgs, outputs: &Outputs) -> Result<()> {
    // Explicit colours only where a person looks at it (not into a file or pipe).
    let colour = if ctx.json() {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    let term = outputs
        .to_terminal
        .then(|| qr::terminal(&plan.uri, colour))
        .transpose()?;
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
    if qr.show_secret && !ctx.json() {
        writeln!(
            human,
            "Key (for manual entry): {}",
            totp::grouped(&plan.key)
        )?;
        writeln!(human, "URI: {}", plan.uri)?;
    }
    human.flush()?;
    Ok(())
}

/// Ask for the first code until one confirms the key (or the tries are used up).
fn prompt_for_code(
    ctx: &Ctx,
    db: &mut Db,
    user: &User,
    mail: &MailConfig,
    mut json: KeyJson,
    committed: bool,
    later: &str,
) -> Result<()> {
    json.status = "pending";
    let _note = ctx.env.interrupt.note(Note {
        stdout: if ctx.json() { json.line().ok() } else { None },
        stderr: format!(
            "twofactl: interrupted; the new key of {} stays pending; {later}",
            safe(&user.username)
        ),
        exit: if committed {
            Exit::Mail
        } else {
            Exit::Interrupted
        },
    });
    for attempt in 1..=PROMPT_TRIES {
        let code = ctx
            .prompt
            .text("Code shown by the authenticator app", "--code")?;
        let result = {
            let _hold = ctx.env.interrupt.hold();
            enroll::confirm(&ctx.env, db, user, &code, mail)
        };
        match result {
            Ok(done) => {
                print_confirmed(ctx, user, &done, json)?;
                return done.delivery.into_result("notification");
            }
            Err(e) if attempt < PROMPT_TRIES && is_rejected(&e) => {
                eprintln!("twofactl: {e:#}; try again with the next code");
            }
            Err(e) => return Err(e),
        }
        if ctx.env.interrupt.requested() {
            return Err(interrupted().into());
        }
    }
    Ok(())
}

fn is_rejected(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<Failure>()
            .is_some_and(|f| f.code == Exit::Rejected)
    })
}

/// Confirm the pending key with `code` (from `--code`), report it, exit 6 if the
/// notification failed.
pub fn confirm(ctx: &Ctx, db: &mut Db, user: &User, code: &str, mail: &MailConfig) -> Result<()> {
    let done = {
        let _hold = ctx.env.interrupt.hold();
        enroll::confirm(&ctx.env, db, user, code, mail)?
    };
    print_confirmed(ctx, user, &done, KeyJson::default())?;
    done.delivery.into_result("notification")
}

fn print_confirmed(ctx: &Ctx, user: &User, done: &Confirmed, mut json: KeyJson) -> Result<()> {
    if let Some(c) = done.sessions_caveat {
        ctx.info(format_args!("note: {c}"));
    }
    let notified = done.outbox_id.is_some_and(|id| done.delivery.delivered(id))
        && json.notified != Some(false);
    if ctx.json() {
        json.username = user.username.clone();
        json.status = "enabled";
        json.notified = Some(notified);
        if done.replaced {
            json.sessions_revoked = Some(done.sessions_revoked);
        }
        return json.print();
    }
    let mut out = output::stdout();
    let replaced = if done.replaced {
        format!(
            " in place of the old one ({} ended)",
            super::plural(done.sessions_revoked, "session")
        )
    } else {
        String::new()
    };
    writeln!(
        out,
        "Code accepted: the new authenticator of {} is active{replaced}{}.",
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
