//! Enrolment: a new TOTP key (20 bytes from the OS CSPRNG) kept pending in twofactl's own
//! table until a code from it is confirmed; only then does the application's key change, in
//! one transaction with the audit row and the notification. Replacing an active
//! authenticator is a 2FA change like an administrative reset: it needs a reason (and
//! `allow_admin` for administrators), and its confirmation ends the user's sessions.
//!
//! The flow has three phases so that the command can stage the QR files in between:
//! [`plan`] checks and makes the key (nothing stored), [`store`] records it pending (the
//! checks again, under the write lock), [`confirm`] activates it with a code.

use crate::db::sql::Sql;
use anyhow::Result;

use super::notify::{self, Delivery};
use super::{Env, Event, refresh_user, shell_word, tries};
use crate::app::App;
use crate::db::outbox::{self, Scope};
use crate::db::pending::{self, PendingKey};
use crate::db::reset::{self, LockKind};
use crate::db::users::{Resetter, Status, User};
use crate::db::{self, Db, migrate};
use crate::error::{Exit, fail};
use crate::mail::{MailConfig, Notice, compose};
use crate::output::{rfc3339, safe};
use crate::{secret, totp};

pub const ACTION: &str = "enroll";

/// What the operator allowed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options<'a> {
    /// Replace a pending key, or an active authenticator.
    pub force: bool,
    /// Replace the authenticator of an application administrator.
    pub allow_admin: bool,
    /// Why an active authenticator is replaced (required for that).
    pub reason: Option<&'a str>,
    /// The application administrator acting (already checked to be one).
    pub actor: Option<&'a str>,
}

/// A new key, made and checked, not yet stored.
#[derive(Debug)]
pub struct Plan {
    pub user: User,
    pub key: String,
    pub uri: String,
    pub replaces_active: bool,
    force: bool,
    allow_admin: bool,
    reason: Option<String>,
    actor: Option<String>,
}

impl Plan {
    fn options(&self) -> Options<'_> {
        Options {
            force: self.force,
            allow_admin: self.allow_admin,
            reason: self.reason.as_deref(),
            actor: self.actor.as_deref(),
        }
    }
}

/// Check that `user` may get a new key with `opts`, and make it (nothing is stored).
pub fn plan(db: &Db, user: &User, issuer: &str, opts: &Options<'_>) -> Result<Plan> {
    // The user as they are now (a reset may just have cleared their 2FA).
    let user = &refresh_user(&db.conn, &db.app, user)?;
    let pending = if migrate::check(&db.conn)? >= 5 {
        pending::get(&db.conn, &user.id)?
    } else {
        None
    };
    check(user, pending.as_ref(), opts)?;
    let key = secret::new_totp_key()?;
    // The app shows the account as the e-mail address, or the username where there is none.
    let account = if user.email.trim().is_empty() {
        &user.username
    } else {
        &user.email
    };
    let uri = totp::otpauth_uri(issuer, account, &key);
    Ok(Plan {
        user: user.clone(),
        key,
        uri,
        replaces_active: user.status == Status::Enabled,
        force: opts.force,
        allow_admin: opts.allow_admin,
        reason: opts.reason.map(str::to_owned),
        actor: opts.actor.map(str::to_owned),
    })
}

/// The rules for a new key, checked before anything is made and again under the lock.
fn check(user: &User, pending: Option<&PendingKey>, opts: &Options<'_>) -> Result<()> {
    let name = safe(&user.username);
    let word = shell_word(&user.username);
    if let Some(p) = pending
        && !opts.force
    {
        return Err(fail(
            Exit::Usage,
            format!("a new key for {name} has been pending since {}", rfc3339(p.created)),
        )
        .hint(format!(
            "confirm it with a code from the app (twofactl enroll {word} --code-stdin), or make another with --force"
        ))
        .into());
    }
    if user.status != Status::Enabled {
        return Ok(());
    }
    if !opts.force {
        return Err(fail(
            Exit::Usage,
            format!("{name} already has an active authenticator"),
        )
        .hint(format!(
            "reset it first (twofactl admin-reset {word} --reason ...), or replace it with --force --reason ..."
        ))
        .into());
    }
    if opts.reason.is_none() {
        return Err(fail(
            Exit::Usage,
            format!("replacing the active authenticator of {name} needs a reason"),
        )
        .hint("pass --reason TEXT (recorded in the audit log)")
        .into());
    }
    if user.is_admin && !opts.allow_admin {
        return Err(fail(
            Exit::Usage,
            format!("{name} is an administrator of the application; nothing changed"),
        )
        .hint("pass --allow-admin to replace an administrator's authenticator")
        .into());
    }
    Ok(())
}

/// Store the planned key as pending, checking the rules again under the write lock, so that
/// of several runs for one user exactly one succeeds.
pub fn store(env: &Env, db: &mut Db, plan: &Plan) -> Result<()> {
    let tx = db::write(&db.conn)?;
    let user = refresh_user(&tx, &db.app, &plan.user)?;
    let existing = pending::get(&tx, &user.id)?;
    // What was checked before must still hold: the state may have changed meanwhile.
    check(&user, existing.as_ref(), &plan.options())?;
    let replaces_active = user.status == Status::Enabled;
    pending::put(
        &tx,
        &user.id,
        &PendingKey {
            secret: plan.key.clone(),
            created: env.now(),
            replaces_active,
            reason: plan.reason.clone(),
            actor: plan.actor.clone(),
        },
    )?;
    reset::clear_failures(&tx, &user.id, LockKind::Totp)?;
    let detail = match (&existing, replaces_active) {
        (_, true) => "new key pending confirmation; it will replace the active authenticator",
        (Some(_), false) => "new key pending confirmation; it replaced a pending key",
        (None, false) => "new key pending confirmation",
    };
    env.audit(
        &tx,
        &user,
        &Event {
            actor: plan.actor.as_deref(),
            reason: plan.reason.as_deref(),
            ..Event::new(ACTION, "key_created").detail(detail)
        },
    )?;
    tx.commit()?;
    Ok(())
}

/// A confirmed key.
#[derive(Debug)]
pub struct Confirmed {
    /// It replaced an active authenticator (whose sessions were ended).
    pub replaced: bool,
    pub sessions_revoked: u64,
    /// Why, having replaced an active authenticator, not every login could be ended.
    pub sessions_caveat: Option<&'static str>,
    /// The user's notification.
    pub delivery: Delivery,
    /// `None` when the user has no valid e-mail address to notify.
    pub outbox_id: Option<i64>,
}

/// The key a code confirms: twofactl's pending key, or else one the application itself
/// holds pending (its key set, not enabled).
enum Waiting {
    Ours(PendingKey),
    Application(String),
}

/// Confirm the user's pending key with `code` from the app: activate it, end the sessions
/// when it replaces an active authenticator, audit, queue and send the notification.
pub fn confirm(
    env: &Env,
    db: &mut Db,
    user: &User,
    code: &str,
    mail: &MailConfig,
) -> Result<Confirmed> {
    let tx = db::write(&db.conn)?;
    let user = refresh_user(&tx, &db.app, user)?;
    let waiting = waiting_key(&tx, &db.app, &user)?;
    check_lock(env, &tx, &user)?;
    let key = match &waiting {
        Waiting::Ours(p) => p.secret.clone(),
        Waiting::Application(k) => k.clone(),
    };
    let now = env.now();
    if totp::check(&key, code, u64::try_from(now).unwrap_or(0))?.is_none() {
        let err = wrong_code(env, &tx, &user)?;
        tx.commit()?;
        return Err(err);
    }
    let (replaced, reason, actor) = match &waiting {
        Waiting::Ours(p) => (p.replaces_active, p.reason.clone(), p.actor.clone()),
        Waiting::Application(_) => (false, None, None),
    };
    let bytes = data_encoding::BASE32_NOPAD
        .decode(key.as_bytes())
        .map_err(|_| fail(Exit::Failure, "the pending key is not base32"))?;
    db.app.activate(&tx, &user.id, &bytes, env.now())?;
    let mut resetter = Resetter::new(&tx, &db.app)?;
    resetter.discard_pending(&user.id)?;
    let sessions_revoked = if replaced {
        resetter.revoke(&user.id)?
    } else {
        0
    };
    reset::clear_failures(&tx, &user.id, LockKind::Totp)?;
    let outbox_id = queue_notice(env, &tx, &db.app, mail, &user, replaced)?;
    let notified = if outbox_id.is_some() {
        "notification queued"
    } else {
        "user not notified (no valid e-mail address)"
    };
    let detail = match (replaced, db.app.map.sessions_caveat) {
        (true, None) => format!("replaced the active authenticator; sessions ended; {notified}"),
        (true, Some(c)) => format!("replaced the active authenticator; {c}; {notified}"),
        (false, _) => notified.to_owned(),
    };
    env.audit(
        &tx,
        &user,
        &Event {
            changed: true,
            actor: actor.as_deref(),
            reason: reason.as_deref(),
            ..Event::new(ACTION, "confirmed").detail(&detail)
        },
    )?;
    tx.commit()?;
    let delivery = match outbox_id {
        Some(id) => notify::deliver(env, &db.conn, mail, Scope::Range(id, id)),
        None => Delivery::default(),
    };
    Ok(Confirmed {
        replaced,
        sessions_revoked,
        sessions_caveat: db.app.map.sessions_caveat.filter(|_| replaced),
        delivery,
        outbox_id,
    })
}

/// Queue the user's notification of the new key; `None` when the application keeps no valid
/// e-mail address for them (some keep none, or let it be empty): the key is theirs all the same.
fn queue_notice(
    env: &Env,
    conn: &dyn Sql,
    app: &App,
    mail: &MailConfig,
    user: &User,
    replaced: bool,
) -> Result<Option<i64>> {
    let notice = Notice::Enrolled {
        replaced,
        signed_out: app.map.sessions_caveat.is_none(),
    };
    let Ok(msg) = compose(mail, &user.username, &user.email, &notice, env.now()) else {
        return Ok(None);
    };
    let id =
        outbox::Queue::new(conn)?.push(env.now(), &user.id, &user.username, notice.kind(), &msg)?;
    Ok(Some(id))
}

fn waiting_key(conn: &dyn Sql, app: &App, user: &User) -> Result<Waiting> {
    let again = format!("twofactl enroll {}", shell_word(&user.username));
    if let Some(p) = pending::get(conn, &user.id)? {
        if user.status == Status::Enabled && !p.replaces_active {
            return Err(fail(
                Exit::Usage,
                format!(
                    "{} activated another authenticator after this key was made",
                    safe(&user.username)
                ),
            )
            .hint(format!(
                "to replace it, make a new key: {again} --force --reason ..."
            ))
            .into());
        }
        return Ok(Waiting::Ours(p));
    }
    match user.status {
        Status::Pending => match app.inactive_key(conn, &user.id)? {
            Some(key) => Ok(Waiting::Application(data_encoding::BASE32_NOPAD.encode(&key))),
            None => Err(fail(
                Exit::Usage,
                format!("{} has no key waiting for confirmation", safe(&user.username)),
            )
            .into()),
        },
        Status::Enabled => Err(fail(
            Exit::Usage,
            format!("the authenticator of {} is already active", safe(&user.username)),
        )
        .hint("a code confirms a key only once; to replace it, use --force --reason ... without --code")
        .into()),
        Status::Disabled => Err(fail(
            Exit::Usage,
            format!("{} has no key waiting for confirmation", safe(&user.username)),
        )
        .hint(format!("make one first: {again}"))
        .into()),
    }
}

/// Exit 5 while the user is locked out of confirming by wrong codes.
fn check_lock(env: &Env, conn: &dyn Sql, user: &User) -> Result<()> {
    if let Some(until) = reset::locked_until(conn, &user.id, LockKind::Totp, env.now())? {
        return Err(fail(
            Exit::Limited,
            format!(
                "too many wrong codes for {}; confirming is locked until {}",
                safe(&user.username),
                rfc3339(until)
            ),
        )
        .hint(format!(
            "wait, or make a new key: twofactl enroll {} --force",
            shell_word(&user.username)
        ))
        .into());
    }
    Ok(())
}

/// Record a wrong code (and lock when it is one too many); the error to report.
fn wrong_code(env: &Env, conn: &dyn Sql, user: &User) -> Result<anyhow::Error> {
    let now = env.now();
    let lockout = Env::secs(env.policy.lockout);
    reset::record_failure(conn, &user.id, LockKind::Totp, now)?;
    let failures = reset::failures(conn, &user.id, LockKind::Totp, now - lockout)?;
    let left = env.policy.max_attempts.saturating_sub(failures);
    env.audit(conn, user, &Event::new(ACTION, "wrong_code"))?;
    if left == 0 {
        reset::lock(conn, &user.id, LockKind::Totp, now, now + lockout)?;
        return Ok(fail(
            Exit::Rejected,
            format!(
                "wrong code; the new key stays pending, and confirming is locked until {}",
                rfc3339(now + lockout)
            ),
        )
        .hint(format!(
            "wait until then, or make a new key: twofactl enroll {} --force",
            shell_word(&user.username)
        ))
        .into());
    }
    Ok(fail(
        Exit::Rejected,
        format!(
            "wrong code; the new key stays pending ({} left)",
            tries(left)
        ),
    )
    .hint("enter the code the app shows now; check the phone's clock if codes keep failing")
    .into())
}

/// The key waiting for the user's confirmation in twofactl's table (the sandbox computes a
/// code from it; nothing else reads it back).
pub fn pending_secret(db: &Db, user: &User) -> Result<Option<String>> {
    if migrate::check(&db.conn)? < 5 {
        return Ok(None);
    }
    Ok(pending::get(&db.conn, &user.id)?.map(|p| p.secret))
}
