//! `request-reset USER`: step 1 of the self-service reset. The user proves the password; an
//! 8-digit code goes to the address on file. Nothing about the user's 2FA changes.
//!
//! Order of work, so that the application's write lock is never held during Argon2 or SMTP:
//! 1. a short write transaction checks the lock-out and the hourly allowance;
//! 2. the password is checked against the stored PHC string, with no lock held;
//! 3. a write transaction records a wrong password, or voids the open request and stores
//!    the new code's hash as `sending` (unusable);
//! 4. the code is e-mailed directly (not through the outbox);
//! 5. a write transaction makes the request `open`, or `undelivered` (unusable, and not
//!    counted against the allowance) when the e-mail failed.

use std::io::Write;

use anyhow::Result;
use rusqlite::Connection;
use serde::Serialize;

use super::{Ctx, find_user, tries};
use crate::cli::RequestResetArgs;
use crate::config::ResetPolicy;
use crate::db::users::{self, User};
use crate::db::{self, Mode, reset};
use crate::error::{Exit, fail};
use crate::mail::{Mailer, Notice, address, compose, mask};
use crate::output::{self, rfc3339, safe};
use crate::prompt::read_stdin_line;
use crate::secret::{self, PasswordCheck};

pub const ACTION: &str = "request-reset";

#[derive(Serialize)]
struct JsonOut<'a> {
    username: &'a str,
    outcome: &'a str,
    email_masked: String,
    expires: String,
}

/// `password`: given by the sandbox walk-through; otherwise read from stdin or a prompt.
pub fn run(ctx: &Ctx, args: &RequestResetArgs, password: Option<String>) -> Result<()> {
    let mut db = ctx.open_db(Mode::ReadWrite)?;
    let user = find_user(&db, &args.user)?;
    let mail = ctx.config.mail(&db.app_settings()?)?;
    let policy = ctx.config.reset_policy();
    // The recipient must be mailable before anything is counted.
    address(&user.email).map_err(|e| {
        fail(
            Exit::Mail,
            format!("cannot e-mail {}: {e}", safe(&user.username)),
        )
        .hint("fix the user's e-mail address in the application, or use twofactl admin-reset")
    })?;
    let password = if let Some(p) = password {
        p
    } else if args.password_stdin {
        read_stdin_line("password")?
    } else {
        ctx.prompt.secret(
            &format!("Password of {}", safe(&user.username)),
            "--password-stdin",
        )?
    };
    let audit = |conn: &Connection, outcome: &str, detail: Option<&str>| {
        ctx.audit(conn, ACTION, &user, outcome, detail, false)
    };

    // 1. Limits, before spending time on the password.
    {
        let tx = db::write(&mut db.conn)?;
        if let Err(e) = check_limits(&tx, &user, &policy, ctx.now) {
            audit(&tx, "refused", Some(&format!("{e:#}")))?;
            tx.commit()?;
            return Err(e);
        }
        tx.commit()?;
    }

    // 2. The password, with no lock held.
    let stored = users::password_hash(&db.conn, &db.names, user.id)?;
    let check = secret::check_password(password.as_bytes(), &stored);
    drop(password);

    // 3. Record the outcome; for a right password, the new code (hashed) as `sending`.
    let code = secret::new_code()?;
    let expires = ctx.now + i64::try_from(policy.code_ttl.as_secs()).unwrap_or(i64::MAX / 2);
    let request_id = {
        let tx = db::write(&mut db.conn)?;
        check_limits(&tx, &user, &policy, ctx.now)?;
        match check {
            PasswordCheck::Unreadable(why) => {
                return Err(fail(
                    Exit::Config,
                    format!(
                        "the stored password hash of {} cannot be read: {why}",
                        safe(&user.username)
                    ),
                )
                .hint("twofactl reads Argon2 PHC strings ($argon2id$v=19$...); check [schema] password_hash")
                .into());
            }
            PasswordCheck::Mismatch => {
                reset::record_password_failure(&tx, user.id, ctx.now)?;
                audit(&tx, "wrong_password", None)?;
                let window = ctx.now - secs(policy.lockout);
                let (failures, _) = reset::password_failures(&tx, user.id, window)?;
                tx.commit()?;
                let left = policy.max_password_failures.saturating_sub(failures);
                let msg = if left == 0 {
                    format!(
                        "wrong password for {}; request-reset is now locked for this user until {}",
                        safe(&user.username),
                        rfc3339(ctx.now + secs(policy.lockout))
                    )
                } else {
                    format!(
                        "wrong password for {} ({} left before a lock-out)",
                        safe(&user.username),
                        tries(left)
                    )
                };
                return Err(fail(Exit::Rejected, msg).into());
            }
            PasswordCheck::Match => {
                reset::clear_password_failures(&tx, user.id)?;
                reset::void_open(&tx, user.id, ctx.now)?;
                let id = reset::create(&tx, user.id, ctx.now, expires, &secret::hash_code(&code)?)?;
                tx.commit()?;
                id
            }
        }
    };

    // 4. The code goes out directly.
    let message = compose(
        &mail,
        &user.username,
        &user.email,
        &Notice::Code {
            code: &code,
            expires,
        },
        ctx.now,
    )?;
    let mut mailer = Mailer::new(&mail);
    let sent = mailer.send(&message);
    mailer.finish();
    drop(message);
    drop(code);

    // 5. Make the code usable, or leave it unusable and uncounted.
    let tx = db::write(&mut db.conn)?;
    match &sent {
        Ok(()) if !reset::open(&tx, request_id)? => {
            audit(
                &tx,
                "replaced",
                Some("a newer request voided this one while its e-mail was sent"),
            )?;
            tx.commit()?;
            return Err(fail(
                Exit::Rejected,
                format!(
                    "a newer request for {} replaced this one while its e-mail was being sent",
                    safe(&user.username)
                ),
            )
            .hint("only the code from the newest e-mail works")
            .into());
        }
        Ok(()) => {
            audit(
                &tx,
                "code_sent",
                Some(&format!(
                    "code e-mailed to {}, expires {}",
                    mask(&user.email),
                    rfc3339(expires)
                )),
            )?;
        }
        Err(e) => {
            // Only a request still being sent becomes undelivered (a newer one may have voided it).
            if reset::request_state(&tx, request_id)?.as_deref() == Some("sending") {
                reset::set_state(&tx, request_id, "undelivered", ctx.now)?;
            }
            audit(&tx, "mail_failed", Some(&e.message))?;
        }
    }
    tx.commit()?;
    if let Err(e) = sent {
        return Err(fail(Exit::Mail, format!("could not e-mail the code: {e}"))
            .hint("no code was issued and the request does not count; check the mail settings with twofactl doctor")
            .into());
    }

    let masked = mask(&user.email);
    if ctx.json() {
        let mut out = output::stdout();
        output::json_line(
            &mut out,
            &JsonOut {
                username: &user.username,
                outcome: "code_sent",
                email_masked: masked.clone(),
                expires: rfc3339(expires),
            },
        )?;
        out.flush()?;
    } else {
        let mut out = output::stdout();
        writeln!(
            out,
            "A verification code was sent to {masked}; it expires at {}.",
            rfc3339(expires)
        )?;
        out.flush()?;
        ctx.info(format_args!(
            "next: twofactl verify {} CODE",
            super::shell_word(&user.username)
        ));
    }
    Ok(())
}

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2)
}

/// Exit 5 when the user is locked out by wrong passwords or has used the hourly allowance.
fn check_limits(conn: &Connection, user: &User, policy: &ResetPolicy, now: i64) -> Result<()> {
    let (failures, latest) = reset::password_failures(conn, user.id, now - secs(policy.lockout))?;
    if failures >= policy.max_password_failures {
        let until = latest.unwrap_or(now) + secs(policy.lockout);
        return Err(fail(
            Exit::Limited,
            format!(
                "request-reset is locked for {} after {failures} wrong passwords, until {}",
                safe(&user.username),
                rfc3339(until)
            ),
        )
        .hint("wait, or have an administrator reset the 2FA: twofactl admin-reset")
        .into());
    }
    let (requests, oldest) = reset::requests_since(conn, user.id, now - 3600)?;
    if requests >= policy.max_requests_per_hour {
        let until = oldest.unwrap_or(now) + 3600;
        return Err(fail(
            Exit::Limited,
            format!(
                "{} already requested {requests} codes in the last hour; the next is allowed at {}",
                safe(&user.username),
                rfc3339(until)
            ),
        )
        .hint("use the code already sent, or wait")
        .into());
    }
    Ok(())
}
