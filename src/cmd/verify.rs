//! `verify USER [CODE]`: step 2 of the self-service reset. In one `BEGIN IMMEDIATE`
//! transaction the code is checked against the open request (Argon2id, constant-time) and, if
//! right, the request is spent, the user's TOTP key cleared, their sessions deleted, an audit
//! row written and a notification queued; the notification is sent after the commit. Two
//! runs racing with the right code serialise on the write lock: exactly one succeeds.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::outbox::{Delivery, deliver};
use super::{Ctx, find_user, plural, refresh_user, shell_word, tries};
use crate::cli::VerifyArgs;
use crate::db::outbox::{self, Scope};
use crate::db::users::Resetter;
use crate::db::{self, Mode, reset};
use crate::error::{Exit, fail};
use crate::mail::{Notice, compose};
use crate::output::{self, rfc3339, safe};
use crate::secret;

pub const ACTION: &str = "verify";

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
    let mail = ctx.config.mail(&db.app_settings()?)?;
    let policy = ctx.config.reset_policy();
    let typed = match &args.code {
        Some(c) => c.clone(),
        None => ctx.prompt.text(
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
    if args.enroll {
        super::enroll::check_outputs(&args.qr)?;
    }
    // The one JSON object of a run, whatever its outcome.
    let json_out = |outcome: &str,
                    attempts_left: Option<u32>,
                    sessions_revoked: u64,
                    notified: bool|
     -> Result<()> {
        let mut out = output::stdout();
        output::json_line(
            &mut out,
            &JsonOut {
                username: &user.username,
                outcome,
                attempts_left,
                sessions_revoked,
                notified,
            },
        )?;
        out.flush()?;
        Ok(())
    };
    let json_fail = |outcome: &str, left: Option<u32>| -> Result<()> {
        if ctx.json() {
            json_out(outcome, left, 0, false)?;
        }
        Ok(())
    };

    let tx = db::write(&mut db.conn)?;
    let log = |outcome: &str, detail: Option<&str>, changed: bool| {
        ctx.audit(&tx, ACTION, &user, outcome, detail, changed)
    };
    let again = format!("twofactl request-reset {}", shell_word(&user.username));
    let Some(req) = reset::latest(&tx, user.id)? else {
        drop(tx);
        json_fail("no_request", None)?;
        return Err(fail(
            Exit::Rejected,
            format!("{} has no open reset request", safe(&user.username)),
        )
        .hint(again)
        .into());
    };
    match req.state.as_str() {
        "open" if req.expires <= ctx.now => {
            reset::set_state(&tx, req.id, "expired", ctx.now)?;
            log("expired", None, false)?;
            tx.commit()?;
            json_fail("expired", None)?;
            return Err(fail(
                Exit::Rejected,
                format!("the code expired at {}", rfc3339(req.expires)),
            )
            .hint(format!("request a new one: {again}"))
            .into());
        }
        "open" => {}
        state => {
            drop(tx);
            let why = match state {
                "spent" => "the code was already used",
                "expired" => "the code expired",
                _ => {
                    "the request was voided (too many wrong codes, or replaced by a newer request)"
                }
            };
            json_fail(state, None)?;
            return Err(fail(Exit::Rejected, why)
                .hint(format!("request a new code: {again}"))
                .into());
        }
    }
    if !secret::code_matches(&code, &req.code_hash) {
        let attempts = reset::add_attempt(&tx, req.id)?;
        let left = policy.max_attempts.saturating_sub(attempts);
        if left == 0 {
            reset::set_state(&tx, req.id, "void", ctx.now)?;
            log("too_many_attempts", None, false)?;
            tx.commit()?;
            json_fail("too_many_attempts", Some(0))?;
            return Err(fail(
                Exit::Limited,
                format!("wrong code, {attempts} times: the request is void"),
            )
            .hint(format!("request a new code: {again}"))
            .into());
        }
        log("wrong_code", None, false)?;
        tx.commit()?;
        json_fail("wrong_code", Some(left))?;
        return Err(fail(Exit::Rejected, format!("wrong code; {} left", tries(left))).into());
    }

    // The right code: spend it and clear the 2FA, all in this transaction.
    reset::set_state(&tx, req.id, "spent", ctx.now)?;
    let sessions = Resetter::new(&tx, &db.names)?.reset(user.id)?;
    log("reset", Some("notification queued"), true)?;
    let msg = compose(
        &mail,
        &user.username,
        &user.email,
        &Notice::SelfReset,
        ctx.now,
    )?;
    let outbox_id = outbox::Queue::new(&tx)?.push(
        ctx.now,
        user.id,
        &user.username,
        Notice::SelfReset.kind(),
        &msg,
    )?;
    tx.commit()?;
    let delivery: Delivery = deliver(
        &mut db.conn,
        &mail,
        Scope::Range(outbox_id, outbox_id),
        ctx.now,
    )?;
    let notified = delivery.failed.is_empty();
    if ctx.json() && args.enroll {
        // One JSON object for the run: enrolment prints it, with these fields added.
    } else if ctx.json() {
        json_out("reset", None, sessions, notified)?;
    } else {
        let mut out = output::stdout();
        writeln!(
            out,
            "Code accepted: the 2FA of {} was reset ({} revoked){}.",
            safe(&user.username),
            plural(sessions, "session"),
            if notified {
                "; the user was notified by e-mail"
            } else {
                ""
            }
        )?;
        out.flush()?;
    }
    if args.enroll {
        // Enrolment first: a notification that failed is reported at the end.
        let fresh = refresh_user(&db.conn, &db.names, &user)?;
        let mut extra = super::enroll::JsonExtra::new();
        extra.insert("outcome".into(), "reset".into());
        extra.insert("sessions_revoked".into(), sessions.into());
        extra.insert("notified".into(), notified.into());
        super::enroll::begin(ctx, &mut db, &fresh, &args.qr, extra)?;
    }
    delivery.into_result("notification")
}
