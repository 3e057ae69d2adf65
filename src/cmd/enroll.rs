//! `enroll USER`: make a new TOTP key, keep it pending, show it as a QR code (PNG, SVG,
//! terminal) and, in a terminal, confirm it with a first code; or, with `--code` /
//! `--code-stdin`, confirm the pending key. Replacing an active authenticator takes
//! `--force --reason` (and `--allow-admin` for administrators). See `service::enroll`.

use anyhow::Result;

use super::new_key::{self, Before, KeyJson};
use super::{Ctx, find_user};
use crate::cli::EnrollArgs;
use crate::db::Mode;
use crate::db::users::Status;
use crate::prompt::read_stdin_line;
use crate::service::enroll::Options;
use crate::service::{check_actor, check_reason};

pub fn run(ctx: &Ctx, args: &EnrollArgs) -> Result<()> {
    let mut db = ctx.open_db(Mode::ReadWrite)?;
    // An application that encrypts its keys gets none from twofactl: say so before a key is
    // made and shown.
    db.app.check_enrol()?;
    let user = find_user(&db, &args.user)?;
    // The application's settings are read once, and everything is checked before a change.
    let settings = db.app_settings()?;
    let code = match (&args.code, args.code_stdin) {
        (Some(c), _) => Some(c.clone()),
        (None, true) => Some(read_stdin_line("code")?),
        (None, false) => None,
    };
    if let Some(code) = code {
        let mail = crate::mail::resolve(&ctx.config, &settings)?;
        return new_key::confirm(ctx, &mut db, &user, code.trim(), &mail);
    }
    let outputs = new_key::check_outputs(&args.qr)?;
    let actor = args
        .actor
        .as_deref()
        .map(|a| check_actor(&db.conn, &db.app, a))
        .transpose()?;
    let reason = match &args.reason {
        Some(r) => Some(check_reason(r)?),
        // Prompted only where it is needed: to replace an active authenticator.
        None if user.status == Status::Enabled && args.qr.force && ctx.prompt.interactive() => {
            Some(check_reason(&ctx.prompt.text(
                "Reason for replacing the active authenticator (recorded in the audit log)",
                "--reason",
            )?)?)
        }
        None => None,
    };
    let issuer = ctx.config.issuer(&settings)?;
    let mail = crate::mail::resolve(&ctx.config, &settings)?;
    let opts = Options {
        force: args.qr.force,
        allow_admin: args.allow_admin,
        reason: reason.as_deref(),
        actor: actor.as_deref(),
    };
    new_key::begin(
        ctx,
        &mut db,
        &user,
        &issuer,
        &mail,
        &args.qr,
        &outputs,
        &opts,
        Before {
            json: KeyJson::default(),
            committed: false,
        },
    )
}
