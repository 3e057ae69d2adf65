//! Step 1 of the self-service reset: the user proves the password; an 8-digit code goes to
//! the address on file. Nothing about the user's 2FA changes.
//!
//! Order of work, so that the application's write lock is never held during Argon2 or SMTP:
//! 1. a short write transaction settles requests whose sender is gone and checks the
//!    lock-out and the hourly allowance;
//! 2. the password is checked against the stored hash, with no lock held;
//! 3. a write transaction records a wrong password (locking at the limit), or voids the open
//!    request and stores the new code's hash as `sending` (unusable), with its sender;
//! 4. the code is e-mailed directly (not through the outbox);
//! 5. a write transaction makes the request `open`, or `undelivered` (unusable, and not
//!    counted against the allowance) when the e-mail failed.

use std::time::Duration;

use crate::db::sql::Sql;
use anyhow::Result;

use super::{Env, Event, enroll, tries};
use crate::app::{Scheme, StoredColumns};
use crate::db::reset::{self, LockKind, NewRequest, RequestState};
use crate::db::users::{Status, User};
use crate::db::{self, Db, migrate};
use crate::error::{Exit, fail};
use crate::mail::{MailConfig, Mailer, Notice, SendError, Transport, compose, mask};
use crate::output::{rfc3339, safe};
use crate::process;
use crate::secret::{self, ClientKdf, PasswordCheck, StoredPassword};
use rusqlite::types::Value;

pub const ACTION: &str = "request-reset";

/// A code on its way to the user.
#[derive(Debug)]
pub struct Requested {
    pub email_masked: String,
    pub expires: i64,
}

/// Refuse (exit 2) a user with nothing to reset: no authenticator, active or pending.
/// Checked before the password is asked for.
pub fn check_something_to_reset(db: &Db, user: &User) -> Result<()> {
    if user.status != Status::Disabled || enroll::pending_secret(db, user)?.is_some() {
        return Ok(());
    }
    Err(fail(
        Exit::Usage,
        format!(
            "{} has no authenticator: there is nothing to reset",
            safe(&user.username)
        ),
    )
    .hint(format!(
        "to set one up: twofactl enroll {}",
        super::shell_word(&user.username)
    ))
    .into())
}

/// Before the password is asked for, so that nobody types it in vain: exit 5 when phase 1
/// would. Only reads, unless it refuses; then phase 1 itself decides (it settles requests
/// left by a run that is gone first, which may free the allowance) and audits.
pub fn precheck(env: &Env, db: &mut Db, user: &User) -> Result<()> {
    if migrate::check(&db.conn)? < migrate::VERSION || check_limits(env, &db.conn, user).is_ok() {
        return Ok(());
    }
    check_allowed(env, db, user)
}

/// Phase 1: exit 5 (with an audit row) while `user` is locked out by wrong passwords or has
/// used the hourly allowance; requests left by a run that is gone are settled first.
fn check_allowed(env: &Env, db: &mut Db, user: &User) -> Result<()> {
    let tx = db::write(&db.conn)?;
    settle_abandoned(env, &tx, user)?;
    if let Err(e) = check_limits(env, &tx, user) {
        env.audit(
            &tx,
            user,
            &Event::new(ACTION, "refused").detail(&format!("{e:#}")),
        )?;
        tx.commit()?;
        return Err(e);
    }
    tx.commit()?;
    Ok(())
}

/// Check `password` and e-mail `user` a code (see the module comment).
pub fn request(
    env: &Env,
    db: &mut Db,
    user: &User,
    password: &str,
    mail: &MailConfig,
) -> Result<Requested> {
    // 1. Limits, before spending time on the password.
    check_allowed(env, db, user)?;
    // 2. The password, with no lock held.
    let stored = db.app.password(&db.conn, &user.id)?;
    let check = match stored.as_ref().map(stored_password).transpose() {
        Ok(Some(s)) => secret::check_password(
            password.as_bytes(),
            &s,
            stored.as_ref().map(|c| c.format).unwrap_or_default(),
        ),
        Ok(None) => PasswordCheck::Unreadable("the application keeps no password here".to_owned()),
        Err(why) => PasswordCheck::Unreadable(why),
    };
    // 3. Record the outcome; for a right password, the new code (hashed) as `sending`.
    let code = secret::new_code()?;
    let (request_id, expires) = record(env, db, user, check, &code, mail)?;
    // 4. The code goes out directly; Ctrl-C meanwhile waits for the send to end.
    let sent = {
        let message = compose(
            mail,
            &user.username,
            &user.email,
            &Notice::Code {
                code: &code,
                expires,
            },
            env.now(),
        )?;
        let mut mailer = Mailer::new(mail);
        let sent = mailer.send(&message);
        mailer.finish();
        sent
    };
    drop(code);
    // 5. Make the code usable, or leave it unusable and uncounted.
    settle_sent(env, db, user, request_id, expires, sent)?;
    Ok(Requested {
        email_masked: mask(&user.email),
        expires,
    })
}

fn text(v: Option<&Value>) -> &str {
    match v {
        Some(Value::Text(t)) => t.as_str(),
        Some(Value::Blob(b)) => std::str::from_utf8(b).unwrap_or(""),
        _ => "",
    }
}

fn bytes(v: Option<&Value>) -> &[u8] {
    match v {
        Some(Value::Blob(b)) => b,
        Some(Value::Text(t)) => t.as_bytes(),
        _ => &[],
    }
}

fn int(v: Option<&Value>) -> Option<i64> {
    match v {
        Some(Value::Integer(i)) => Some(*i),
        Some(Value::Text(t)) => t.trim().parse().ok(),
        _ => None,
    }
}

/// The password as its format reads it, from the columns the application keeps.
fn stored_password(c: &StoredColumns) -> Result<StoredPassword<'_>, String> {
    Ok(match c.scheme {
        Scheme::Encoded => StoredPassword::Encoded(text(Some(&c.hash))),
        Scheme::Gitea => StoredPassword::Gitea {
            passwd: text(Some(&c.hash)),
            salt: text(c.get("salt")),
            algo: text(c.get("passwd_hash_algo")),
        },
        Scheme::Wallabag => StoredPassword::Wallabag {
            password: text(Some(&c.hash)),
            salt: text(c.get("salt")),
        },
        Scheme::Vaultwarden => StoredPassword::Vaultwarden {
            password_hash: bytes(Some(&c.hash)),
            salt: bytes(c.get("salt")),
            password_iterations: int(c.get("password_iterations")).unwrap_or(0),
            email: text(c.get("email")),
            kdf: ClientKdf::from_columns(
                int(c.get("client_kdf_type")).unwrap_or(0),
                int(c.get("client_kdf_iter")).unwrap_or(0),
                int(c.get("client_kdf_memory")),
                int(c.get("client_kdf_parallelism")),
            )?,
        },
    })
}

/// Phase 3: a wrong password is counted; a right one gets a new request being sent.
fn record(
    env: &Env,
    db: &mut Db,
    user: &User,
    check: PasswordCheck,
    code: &str,
    mail: &MailConfig,
) -> Result<(i64, i64)> {
    // Only a right password gets a code: a wrong one costs no Argon2 hash of a code.
    let code_hash = if matches!(check, PasswordCheck::Match) {
        secret::hash_code(code)?
    } else {
        String::new()
    };
    // Ctrl-C during the password check stops here, before a request is made.
    env.interrupt.check()?;
    let tx = db::write(&db.conn)?;
    check_limits(env, &tx, user)?;
    let now = env.now();
    match check {
        PasswordCheck::Unreadable(why) => Err(fail(
            Exit::Config,
            format!(
                "the stored password hash of {} cannot be read: {why}",
                safe(&user.username)
            ),
        )
        .hint(
            "twofactl reads Argon2, bcrypt, Django, passlib and Nextcloud hashes; check [schema] password_hash",
        )
        .into()),
        PasswordCheck::Mismatch => {
            let e = wrong_password(env, &tx, user, now)?;
            tx.commit()?;
            Err(e)
        }
        PasswordCheck::Match => {
            reset::clear_failures(&tx, &user.id, LockKind::Password)?;
            reset::void_open(&tx, &user.id, now)?;
            let expires = now + Env::secs(env.policy.code_ttl);
            let id = reset::create(
                &tx,
                &NewRequest {
                    user_id: &user.id,
                    now,
                    expires,
                    code_hash: &code_hash,
                    sender: &process::this_process(),
                    lease: now + Env::secs(send_budget(mail)),
                },
            )?;
            tx.commit()?;
            Ok((id, expires))
        }
    }
}

/// Count a wrong password, locking request-reset for the user at the limit.
fn wrong_password(env: &Env, conn: &dyn Sql, user: &User, now: i64) -> Result<anyhow::Error> {
    let lockout = Env::secs(env.policy.lockout);
    reset::record_failure(conn, &user.id, LockKind::Password, now)?;
    env.audit(conn, user, &Event::new(ACTION, "wrong_password"))?;
    let failures = reset::failures(conn, &user.id, LockKind::Password, now - lockout)?;
    let left = env.policy.max_password_failures.saturating_sub(failures);
    let msg = if left == 0 {
        reset::lock(conn, &user.id, LockKind::Password, now, now + lockout)?;
        format!(
            "wrong password for {}; request-reset is now locked for this user until {}",
            safe(&user.username),
            rfc3339(now + lockout)
        )
    } else {
        format!(
            "wrong password for {} ({} left before a lock-out)",
            safe(&user.username),
            tries(left)
        )
    };
    Ok(fail(Exit::Rejected, msg).into())
}

/// Phase 5: the request becomes usable, or stays unusable and uncounted.
fn settle_sent(
    env: &Env,
    db: &mut Db,
    user: &User,
    id: i64,
    expires: i64,
    sent: Result<(), SendError>,
) -> Result<()> {
    let tx = db::write(&db.conn)?;
    let state = reset::request_state(&tx, id)?;
    match &sent {
        Ok(()) if reset::open(&tx, id)? => {
            let detail = format!(
                "code e-mailed to {}, expires {}",
                mask(&user.email),
                rfc3339(expires)
            );
            env.audit(&tx, user, &Event::new(ACTION, "code_sent").detail(&detail))?;
        }
        Ok(()) => {
            let detail = "another run closed this request while its e-mail was sent";
            env.audit(&tx, user, &Event::new(ACTION, "replaced").detail(detail))?;
            tx.commit()?;
            let why = if state == Some(RequestState::Undelivered) {
                "another run gave up this request while its e-mail was being sent"
            } else {
                "a newer request replaced this one while its e-mail was being sent"
            };
            return Err(fail(Exit::Rejected, format!("{why} ({})", safe(&user.username)))
                .hint("only the code from the newest e-mail works; request a new one if none arrives")
                .into());
        }
        Err(e) => {
            // Only a request still being sent becomes undelivered (a newer one may have voided it).
            if state == Some(RequestState::Sending) {
                reset::set_state(&tx, id, RequestState::Undelivered, env.now())?;
            }
            env.audit(
                &tx,
                user,
                &Event::new(ACTION, "mail_failed").detail(&e.message),
            )?;
        }
    }
    tx.commit()?;
    match sent {
        Ok(()) => Ok(()),
        Err(e) if e.outcome_unknown => Err(fail(
            Exit::Mail,
            format!("the mail server took the code's e-mail but did not confirm it: {e}"),
        )
        .hint("the e-mail may still arrive, but its code will not work; request a new code once the mail server is fixed (twofactl doctor)")
        .into()),
        Err(e) => Err(fail(Exit::Mail, format!("could not e-mail the code: {e}"))
            .hint("no code was issued and the request does not count; check the mail settings with twofactl doctor")
            .into()),
    }
}

/// Exit 5 when the user is locked out by wrong passwords or has used the hourly allowance.
fn check_limits(env: &Env, conn: &dyn Sql, user: &User) -> Result<()> {
    let now = env.now();
    if let Some(until) = reset::locked_until(conn, &user.id, LockKind::Password, now)? {
        return Err(fail(
            Exit::Limited,
            format!(
                "request-reset is locked for {} after {} wrong passwords, until {}",
                safe(&user.username),
                env.policy.max_password_failures,
                rfc3339(until)
            ),
        )
        .hint("wait, or have an administrator reset the 2FA: twofactl admin-reset")
        .into());
    }
    let (requests, oldest) = reset::requests_since(conn, &user.id, now - 3600)?;
    if requests >= env.policy.max_requests_per_hour {
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

/// The longest a send may take before its request may be settled by another run that
/// cannot tell whether the sender still runs (another machine): every SMTP step may take
/// the whole timeout.
fn send_budget(mail: &MailConfig) -> Duration {
    const SMTP_STEPS: u32 = 12;
    match &mail.transport {
        Transport::Smtp(s) => s.timeout.saturating_mul(SMTP_STEPS),
        Transport::Sendmail { timeout, .. } => *timeout + Duration::from_secs(5),
        Transport::File { .. } => Duration::from_secs(60),
    }
}

/// Settle the user's requests left `sending` by a run that is gone (killed, crashed, or
/// stopped past its lease): they never become usable, stop counting against the hourly
/// allowance, and each gets an audit row. Inside the caller's write transaction.
pub fn settle_abandoned(env: &Env, conn: &dyn Sql, user: &User) -> Result<()> {
    let now = env.now();
    for r in reset::in_flight(conn, &user.id)? {
        let ended = r.sender.as_deref().and_then(process::has_ended);
        let past_lease = r.lease.is_none_or(|l| l <= now);
        if ended == Some(true) || (ended.is_none() && past_lease) {
            reset::set_state(conn, r.id, RequestState::Undelivered, now)?;
            env.audit(
                conn,
                user,
                &Event::new(ACTION, "abandoned").detail(
                    "the run sending this code ended before its e-mail was confirmed; the code never became usable",
                ),
            )?;
        }
    }
    Ok(())
}
