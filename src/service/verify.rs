//! Step 2 of the self-service reset. In one `BEGIN IMMEDIATE` transaction the code is checked
//! against the open request (Argon2id, constant time) and, if right, the request is spent,
//! the user's 2FA cleared (with any key pending for them), their sessions deleted, an audit
//! row written and a notification queued; the notification is sent after the commit. Two
//! runs racing with the right code serialise on the write lock: exactly one succeeds.

use crate::db::sql::Sql;
use anyhow::Result;

use super::notify::{self, Delivery};
use super::{Env, Event, request, shell_word, tries};
use crate::db::outbox::{self, Scope};
use crate::db::reset::{self, RequestState};
use crate::db::users::{Resetter, User};
use crate::db::{self, Db, migrate};
use crate::error::{Exit, Failure, fail};
use crate::mail::{MailConfig, Notice, compose};
use crate::output::{rfc3339, safe};
use crate::secret;

pub const ACTION: &str = "verify";

/// A reset made with the right code.
#[derive(Debug)]
pub struct Verified {
    pub sessions_revoked: u64,
    pub delivery: Delivery,
    pub outbox_id: i64,
}

/// Why a code did not reset, for the command's output (`outcome`) and its error.
#[derive(Debug)]
pub struct Refused {
    /// `no_request`, `expired`, `spent`, `void`, `wrong_code`, `too_many_attempts`.
    pub outcome: &'static str,
    pub attempts_left: Option<u32>,
    pub error: Failure,
}

/// Before asking for a code: why none would work (no request, or the latest is over).
/// `None`: a request is open. A request found expired is recorded as such, as `verify`
/// itself would.
pub fn precheck(env: &Env, db: &mut Db, user: &User) -> Result<Option<Refused>> {
    if migrate::check(&db.conn)? < 3 {
        return Ok(Some(no_request(user)));
    }
    let again = again_hint(env, &db.conn, user)?;
    Ok(match reset::latest(&db.conn, &user.id)? {
        None => Some(no_request(user)),
        Some(req) if req.state == RequestState::Open && req.expires > env.now() => None,
        Some(req) if req.state == RequestState::Open => {
            let tx = db::write(&db.conn)?;
            reset::set_state(&tx, req.id, RequestState::Expired, env.now())?;
            env.audit(&tx, user, &Event::new(ACTION, "expired"))?;
            tx.commit()?;
            Some(Refused {
                outcome: "expired",
                attempts_left: None,
                error: fail(
                    Exit::Rejected,
                    format!("the code expired at {}", rfc3339(req.expires)),
                )
                .hint(again),
            })
        }
        Some(req) => Some(closed(&req, env.policy.max_attempts, user, again)),
    })
}

fn no_request(user: &User) -> Refused {
    Refused {
        outcome: "no_request",
        attempts_left: None,
        error: fail(
            Exit::Rejected,
            format!("{} has no open reset request", safe(&user.username)),
        )
        .hint(format!(
            "the user asks for a code first: twofactl request-reset {}",
            shell_word(&user.username)
        )),
    }
}

/// Check `code` for `user` and, if right, reset (see the module comment).
pub fn verify(
    env: &Env,
    db: &mut Db,
    user: &User,
    code: &str,
    mail: &MailConfig,
) -> Result<Result<Verified, Refused>> {
    let tx = db::write(&db.conn)?;
    request::settle_abandoned(env, &tx, user)?;
    let again = again_hint(env, &tx, user)?;
    let log = |outcome: &str| env.audit(&tx, user, &Event::new(ACTION, outcome));
    let refused = |outcome, attempts_left, error: Failure| Refused {
        outcome,
        attempts_left,
        error,
    };
    let Some(req) = reset::latest(&tx, &user.id)? else {
        tx.commit()?;
        return Ok(Err(no_request(user)));
    };
    // The clock is read now, after any prompt and once the write lock is held.
    let now = env.now();
    if req.state == RequestState::Open && req.expires <= now {
        reset::set_state(&tx, req.id, RequestState::Expired, now)?;
        log("expired")?;
        tx.commit()?;
        let e = fail(
            Exit::Rejected,
            format!("the code expired at {}", rfc3339(req.expires)),
        )
        .hint(again);
        return Ok(Err(refused("expired", None, e)));
    }
    if req.state != RequestState::Open {
        tx.commit()?;
        return Ok(Err(closed(&req, env.policy.max_attempts, user, again)));
    }
    if !secret::code_matches(code, &req.code_hash) {
        let refused = wrong_code(env, &tx, user, &req, &again)?;
        tx.commit()?;
        return Ok(Err(refused));
    }

    // The right code: spend it and clear the 2FA, all in this transaction.
    reset::set_state(&tx, req.id, RequestState::Spent, env.now())?;
    let sessions_revoked = Resetter::new(&tx, &db.app)?.reset(&user.id)?;
    let detail = match db.app.map.sessions_caveat {
        Some(caveat) => format!("notification queued; {caveat}"),
        None => "notification queued".to_owned(),
    };
    env.audit(
        &tx,
        user,
        &Event {
            changed: true,
            ..Event::new(ACTION, "reset").detail(&detail)
        },
    )?;
    let notice = Notice::SelfReset {
        signed_out: db.app.map.sessions_caveat.is_none(),
    };
    let msg = compose(mail, &user.username, &user.email, &notice, env.now())?;
    let outbox_id =
        outbox::Queue::new(&tx)?.push(env.now(), &user.id, &user.username, notice.kind(), &msg)?;
    tx.commit()?;
    let delivery = notify::deliver(env, &db.conn, mail, Scope::Range(outbox_id, outbox_id));
    Ok(Ok(Verified {
        sessions_revoked,
        delivery,
        outbox_id,
    }))
}

/// Count a wrong code; the last allowed one voids the request.
fn wrong_code(
    env: &Env,
    conn: &dyn Sql,
    user: &User,
    req: &reset::Request,
    again: &str,
) -> Result<Refused> {
    let attempts = reset::add_attempt(conn, req.id)?;
    let left = env.policy.max_attempts.saturating_sub(attempts);
    if left == 0 {
        reset::set_state(conn, req.id, RequestState::Void, env.now())?;
        env.audit(conn, user, &Event::new(ACTION, "too_many_attempts"))?;
        return Ok(Refused {
            outcome: "too_many_attempts",
            attempts_left: Some(0),
            error: fail(
                Exit::Limited,
                format!("wrong code, {attempts} times: the request is void"),
            )
            .hint(again),
        });
    }
    env.audit(conn, user, &Event::new(ACTION, "wrong_code"))?;
    Ok(Refused {
        outcome: "wrong_code",
        attempts_left: Some(left),
        error: fail(Exit::Rejected, format!("wrong code; {} left", tries(left))),
    })
}

/// A request that is over: spent, expired or voided.
fn closed(req: &reset::Request, max_attempts: u32, user: &User, again: String) -> Refused {
    let when = req.closed.map(rfc3339).unwrap_or_default();
    let (outcome, why) = match req.state {
        RequestState::Spent => ("spent", format!("the code was already used ({when})")),
        RequestState::Expired => (
            "expired",
            format!("the code expired at {}", rfc3339(req.expires)),
        ),
        _ if req.attempts >= max_attempts => (
            "void",
            format!(
                "the code was voided at {when} after {} wrong codes",
                req.attempts
            ),
        ),
        _ => (
            "void",
            format!("the code was voided at {when}: a newer request replaced it"),
        ),
    };
    // A code already used did its work: the 2FA is reset, and a new one is set up by
    // enrolling, not by another request.
    let hint = if req.state == RequestState::Spent {
        format!(
            "the reset is done; to set up a new authenticator: twofactl enroll {}",
            shell_word(&user.username)
        )
    } else {
        again
    };
    Refused {
        outcome,
        attempts_left: None,
        error: fail(Exit::Rejected, why).hint(hint),
    }
}

/// How to get a new code: now, or at the time the hourly allowance lets one be requested.
fn again_hint(env: &Env, conn: &dyn Sql, user: &User) -> Result<String> {
    let again = format!("twofactl request-reset {}", shell_word(&user.username));
    let now = env.now();
    let (requests, oldest) = reset::requests_since(conn, &user.id, now - 3600)?;
    Ok(if requests >= env.policy.max_requests_per_hour {
        format!(
            "a new code may be requested from {}: {again}",
            rfc3339(oldest.unwrap_or(now) + 3600)
        )
    } else {
        format!("request a new code now: {again}")
    })
}
