//! `verify USER [CODE]`: step 2 of the self-service reset (see `service::verify`), and with
//! `--enroll`, straight on to a new key. Everything enrolment needs (issuer, output paths,
//! mail settings) is checked before the reset commits.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::new_key::{self, Before, KeyJson};
use super::{Ctx, find_user, plural};
use crate::cli::VerifyArgs;
use crate::db::{Db, Mode};
use crate::error::{Exit, fail};
use crate::output::{self, safe};
use crate::prompt::read_stdin_line;
use crate::secret;
use crate::service::enroll::Options;
use crate::service::verify::{self, Refused};

#[derive(Serialize)]
struct JsonOut<'a> {
    username: &'a str,
    outcome: &'a str,
    attempts_left: Option<u32>,
    sessions_revoked: u64,
    notified: bool,
}

pub fn run(ctx: &Ctx, args: &VerifyArgs) -> Result<()> {
    let mut db = ctx.open_db(Mode::ReadWrite)?;
    let user = find_user(&db, &args.user)?;
    let settings = db.app_settings()?;
    let mail = crate::mail::resolve(&ctx.config, &settings)?;
    let enrolment = if args.enroll {
        db.app.check_enrol()?;
        Some((
            new_key::check_outputs(&args.qr)?,
            ctx.config.issuer(&settings)?,
        ))
    } else {
        None
    };
    // Nothing to verify: say so before asking for a code.
    if let Some(refused) = verify::precheck(&ctx.env, &mut db, &user)? {
        return refuse(ctx, &user.username, refused);
    }
    let typed = match (&args.code, args.code_stdin) {
        (Some(c), _) => c.clone(),
        (None, true) => read_stdin_line("code")?,
        (None, false) => ctx.prompt.text(
            &format!(
                "Verification code e-mailed to {}",
                crate::mail::mask(&user.email)
            ),
            "CODE",
        )?,
    };
    let Some(code) = secret::normalise_code(&typed) else {
        return Err(fail(Exit::Usage, "a verification code is 8 digits")
            .hint("copy the code from the e-mail; spaces and dashes are ignored")
            .into());
    };
    let hold = ctx.env.interrupt.hold();
    let done = match verify::verify(&ctx.env, &mut db, &user, &code, &mail)? {
        Ok(done) => done,
        Err(refused) => return refuse(ctx, &user.username, refused),
    };
    let notified = done.delivery.delivered(done.outbox_id);
    if let Some((outputs, issuer)) = enrolment {
        // The reset is reported now in text; under JSON, in the one object enrolment prints.
        if !ctx.json() {
            print_reset(ctx, &db, &user.username, done.sessions_revoked, notified)?;
        }
        drop(hold);
        let fresh = crate::service::refresh_user(&db.conn, &db.app, &user)?;
        let before = Before {
            json: KeyJson {
                outcome: Some("reset"),
                sessions_revoked: Some(done.sessions_revoked),
                notified: Some(notified),
                ..KeyJson::default()
            },
            committed: true,
        };
        let enrolled = new_key::begin(
            ctx,
            &mut db,
            &fresh,
            &issuer,
            &mail,
            &args.qr,
            &outputs,
            &Options::default(),
            before,
        );
        // A notification that failed is reported after the enrolment.
        return enrolled.and(done.delivery.into_result("notification"));
    }
    if ctx.json() {
        json_out(
            &user.username,
            "reset",
            None,
            done.sessions_revoked,
            notified,
        )?;
    } else {
        print_reset(ctx, &db, &user.username, done.sessions_revoked, notified)?;
    }
    done.delivery.into_result("notification")
}

fn refuse(ctx: &Ctx, username: &str, refused: Refused) -> Result<()> {
    if ctx.json() {
        json_out(username, refused.outcome, refused.attempts_left, 0, false)?;
    }
    Err(refused.error.into())
}

fn json_out(
    username: &str,
    outcome: &str,
    attempts_left: Option<u32>,
    sessions_revoked: u64,
    notified: bool,
) -> Result<()> {
    let mut out = output::stdout();
    output::json_line(
        &mut out,
        &JsonOut {
            username,
            outcome,
            attempts_left,
            sessions_revoked,
            notified,
        },
    )?;
    out.flush()?;
    Ok(())
}

fn print_reset(ctx: &Ctx, db: &Db, username: &str, sessions: u64, notified: bool) -> Result<()> {
    let mut out = output::stdout();
    writeln!(
        out,
        "Code accepted: the 2FA of {} was reset ({} revoked){}.",
        safe(username),
        plural(sessions, "session"),
        if notified {
            "; the user was notified by e-mail"
        } else {
            ""
        }
    )?;
    out.flush()?;
    // Said where it applies: the logins this application keeps out of twofactl's reach.
    if let Some(caveat) = db.app.map.sessions_caveat {
        ctx.info(format_args!("note: {caveat}"));
    }
    Ok(())
}
