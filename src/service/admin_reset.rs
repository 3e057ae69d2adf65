//! The administrative reset: clear the 2FA of one user or of a million, each with an audit
//! row and a notification. The names are staged in TEMP tables (`db::bulk`), so memory stays
//! flat however many there are. Phases:
//!
//! 1. [`stage`] the names, in order, without repeats;
//! 2. [`preview`] (for a dry run or a confirmation): resolve and check them on one snapshot;
//! 3. [`apply`]: in one `BEGIN IMMEDIATE` transaction, resolve and check them again under
//!    the write lock (what is checked is what is changed), then, a step of [`STEP`] names at
//!    a time, queue the users' notifications and reset them (a few statements per step, not
//!    per user), and last write every audit row in one statement. Ctrl-C before the commit
//!    stops with nothing changed;
//! 4. [`notify`] after the commit, over one connection;
//! 5. [`report`] every result, in the order the users were named.

use std::borrow::Cow;

use crate::db::sql::Sql;
use anyhow::{Context, Result};

use super::notify::{self, Delivery};
use super::{Env, ambiguous_email, shell_word};
use crate::app::App;
use crate::db::bulk::{self, Counts, Kind, NameWriter, Recorder, Target};
use crate::db::outbox::{self, Scope};
use crate::db::sql::{Begin, Tx};
use crate::db::{self, Db};
use crate::error::{Exit, fail, is_conflict};
use crate::mail::{MailConfig, Notice, compose};
use crate::output::safe;

pub const ACTION: &str = "admin-reset";

/// Names shown in a message before "and N more".
const SHOWN: usize = 3;

/// Places (names as given) reset per step: large enough that starting statements costs
/// little, small enough that Ctrl-C and the progress bar answer at once.
const STEP: i64 = 1024;

/// [`STEP`] on PostgreSQL, where a step's statements are round trips to the server and its
/// planner joins a large step by hashing: 32,768 names took about 250 ms there (against
/// 1,024 names a step, 100,000 users reset in 2.0 s instead of 2.9 s), so Ctrl-C and the
/// progress bar still answer within a second.
const PG_STEP: i64 = 32768;

/// What became of one named user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Reset,
    /// A dry run would reset the user.
    WouldReset,
    /// The name is no user (with `skip_missing`).
    Missing,
    /// The user's 2FA was already clear: nothing to reset.
    AlreadyClear,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Reset => "reset",
            Outcome::WouldReset => "would_reset",
            Outcome::Missing => "missing",
            Outcome::AlreadyClear => "already_clear",
        }
    }
}

/// One user's result, borrowed while it is rendered.
#[derive(Debug)]
pub struct UserResult<'a> {
    /// The username; for a missing user, the name as given.
    pub username: &'a str,
    pub outcome: Outcome,
    pub sessions_revoked: u64,
    /// Whether the notification went out.
    pub notified: bool,
}

/// The counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Users reset (or, in a dry run, that would be).
    pub reset: u64,
    pub missing: u64,
    pub already_clear: u64,
    pub dry_run: bool,
}

/// What stops a run before any change, besides an ambiguous e-mail address.
#[derive(Debug, Clone, Copy, Default)]
pub struct Checks {
    /// Reset administrators of the application too.
    pub allow_admin: bool,
    /// Report names that are no user as missing instead of stopping.
    pub skip_missing: bool,
}

/// What the change records and sends.
#[derive(Clone, Copy)]
pub struct Change<'a> {
    /// Recorded in each audit row (a dry run has none).
    pub reason: Option<&'a str>,
    /// Put the reason in the e-mails too.
    pub show_reason: bool,
    /// The application administrator acting, checked by the caller.
    pub actor: Option<&'a str>,
    /// `None`: the users are not notified, and their audit rows say so.
    pub mail: Option<&'a MailConfig>,
}

/// The staged names of a run (in the database connection's TEMP tables).
#[derive(Debug, Clone, Copy)]
pub struct Staged {
    any_email: bool,
}

/// Told how far the change has got (for a progress bar).
pub trait Progress {
    /// The change begins, over `targets` users and missing names.
    fn begin(&mut self, targets: u64);
    /// `targets` more targets done.
    fn advance(&mut self, targets: u64);
}

/// Stage the names that `fill` gives to the function it is handed, in order (a name given
/// twice, like a user named twice, becomes one target). Changes nothing in the application's
/// database, and does not lock it.
pub fn stage<F>(db: &Db, fill: F) -> Result<Staged>
where
    F: FnOnce(&mut dyn FnMut(&str) -> Result<()>) -> Result<()>,
{
    bulk::create(&db.conn, &db.app)?;
    // One transaction on the TEMP tables alone: quick, and no lock on the application's
    // database while a long list is read.
    let tx = Tx::begin(&db.conn, Begin::Snapshot)?;
    let any_email = {
        let mut names = NameWriter::new(&tx)?;
        fill(&mut |name| names.push(name))?;
        names.finish()?
    };
    tx.commit()?;
    Ok(Staged { any_email })
}

/// What a reset would do, for a confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// Users whose 2FA would be reset.
    pub to_reset: u64,
    /// The first few of them.
    pub first: Vec<String>,
}

/// Resolve and check the staged names, changing nothing (for a dry run, then [`report`],
/// or a confirmation).
pub fn preview(db: &Db, staged: Staged, checks: Checks) -> Result<Preview> {
    // One read transaction for all the lookups: a consistent snapshot, and one shared lock
    // instead of a lock and journal check per user.
    let snapshot = Tx::begin(&db.conn, Begin::Snapshot)?;
    let counts = resolve(&snapshot, &db.app, staged, checks, false)?;
    let first = if counts.to_reset > 0 {
        bulk::first(&snapshot, Kind::ToReset, SHOWN)?
    } else {
        Vec::new()
    };
    // Commits only the TEMP tables: the application's database was only read.
    snapshot.commit()?;
    Ok(Preview {
        to_reset: counts.to_reset,
        first,
    })
}

/// Resolve the staged names, and stop before any change when one is the e-mail address of
/// several users (exit 2), is no user (exit 4, unless `skip_missing`), or is an
/// administrator (exit 2, unless `allow_admin`). With `sessions`, each user's logins are
/// counted, as a change will end them.
fn resolve(
    conn: &dyn Sql,
    app: &App,
    staged: Staged,
    checks: Checks,
    sessions: bool,
) -> Result<Counts> {
    if let Some(name) = bulk::resolve(conn, app, staged.any_email, sessions)? {
        return Err(ambiguous_email(&name).into());
    }
    let counts = bulk::counts(conn)?;
    if !checks.skip_missing && counts.missing > 0 {
        let first = bulk::first(conn, Kind::Missing, SHOWN)?;
        let hint = first.first().map_or_else(String::new, |n| shell_word(n));
        return Err(fail(
            Exit::NotFound,
            format!(
                "no such user: {}; nothing changed",
                describe(&first, counts.missing)
            ),
        )
        .hint(format!(
            "twofactl list-users --match {hint}, or pass --skip-missing"
        ))
        .into());
    }
    if !checks.allow_admin && counts.admins > 0 {
        let first = bulk::first(conn, Kind::Admin, SHOWN)?;
        return Err(fail(
            Exit::Usage,
            format!(
                "{} {} of the application; nothing changed",
                describe(&first, counts.admins),
                if counts.admins == 1 {
                    "is an administrator"
                } else {
                    "are administrators"
                }
            ),
        )
        .hint("pass --allow-admin to reset administrators too")
        .into());
    }
    Ok(counts)
}

/// What the change left to do after its commit.
#[derive(Debug, Clone, Copy, Default)]
pub struct Applied {
    /// The notifications it queued: the first and last outbox id.
    queued: Option<(i64, i64)>,
    /// How many times the change was started again because the application changed one of
    /// its users meanwhile (PostgreSQL).
    pub restarts: u32,
}

/// Make the change (see the module comment). Errors leave nothing changed; so does Ctrl-C
/// (exit 130) when the caller holds the interrupt.
pub fn apply(
    env: &Env,
    db: &mut Db,
    staged: Staged,
    checks: Checks,
    change: &Change<'_>,
    progress: &mut dyn Progress,
) -> Result<Applied> {
    let mut restarts = 0;
    loop {
        match apply_once(env, db, staged, checks, change, progress) {
            Err(e) if restarts + 1 < CONFLICT_TRIES && is_conflict(&e) => restarts += 1,
            r => return r.map(|a| Applied { restarts, ..a }),
        }
    }
}

/// Runs of a change on PostgreSQL when the application changed a target meanwhile (each
/// rolled back whole): the change is made on the application's latest state.
const CONFLICT_TRIES: u32 = 3;

fn apply_once(
    env: &Env,
    db: &mut Db,
    staged: Staged,
    checks: Checks,
    change: &Change<'_>,
    progress: &mut dyn Progress,
) -> Result<Applied> {
    let tx = db::write_as(&db.conn, Begin::WriteSnapshot)?;
    // Read once the write lock is held; every row of the run records this time.
    let now = env.now();
    let counts = resolve(&tx, &db.app, staged, checks, true)?;
    bulk::lock_targets(&tx, &db.app)?;
    progress.begin(counts.targets);
    let queued = reset_each(env, &tx, &db.app, change, now, progress)?;
    env.interrupt.check()?;
    tx.commit().context("could not commit the reset")?;
    Ok(Applied {
        queued,
        restarts: 0,
    })
}

/// Reset every resolved target, a step at a time, with its notification queued, then write
/// every audit row; returns the range of outbox ids queued.
fn reset_each(
    env: &Env,
    conn: &dyn Sql,
    app: &App,
    change: &Change<'_>,
    now: i64,
    progress: &mut dyn Progress,
) -> Result<Option<(i64, i64)>> {
    let mut queue = Notifier::new(conn, change, app, now)?;
    let last = bulk::last_place(conn)?;
    let step = match conn.dialect() {
        crate::app::Dialect::Sqlite => STEP,
        crate::app::Dialect::Postgres => PG_STEP,
    };
    let mut from = 1;
    while from <= last {
        let to = from.saturating_add(step - 1);
        // Without notifications, the targets need not be read, only counted.
        let targets = if change.mail.is_some() {
            bulk::for_each_target(conn, from, to, |t| queue.push(t))?
        } else {
            bulk::count_targets(conn, from, to)?
        };
        bulk::reset(conn, app, from, to)?;
        progress.advance(targets);
        env.interrupt.check()?;
        from = to.saturating_add(1);
    }
    let mut detail = if change.mail.is_some() {
        "notification queued".to_owned()
    } else {
        "user not notified (--no-notify)".to_owned()
    };
    if let Some(caveat) = app.map.sessions_caveat {
        detail = format!("{detail}; {caveat}");
    }
    bulk::audit(
        conn,
        &bulk::Audit {
            time: now,
            os_user: &env.os_user,
            actor: change.actor,
            action: ACTION,
            reason: change.reason,
            reset: (Outcome::Reset.as_str(), &detail),
            already_clear: Outcome::AlreadyClear.as_str(),
        },
    )?;
    Ok(queue.queued)
}

/// Queues the notifications of the users a change resets (none with `--no-notify`).
struct Notifier<'c, 'a> {
    mail: Option<&'a MailConfig>,
    notice: Notice<'a>,
    now: i64,
    queue: outbox::Queue<'c>,
    results: Recorder<'c>,
    /// The first and last outbox id queued.
    queued: Option<(i64, i64)>,
}

impl<'c, 'a> Notifier<'c, 'a> {
    fn new(conn: &'c dyn Sql, change: &Change<'a>, app: &App, now: i64) -> Result<Self> {
        Ok(Notifier {
            mail: change.mail,
            notice: Notice::AdminReset {
                reason: change.reason.filter(|_| change.show_reason),
                signed_out: app.map.sessions_caveat.is_none(),
            },
            now,
            queue: outbox::Queue::new(conn)?,
            results: Recorder::new(conn)?,
            queued: None,
        })
    }

    /// Queue the notification of `t` if its 2FA is being reset. A message that cannot be
    /// made (a bad address) stops the run before any change is committed.
    fn push(&mut self, t: &Target<'_>) -> Result<()> {
        let (Some(mail), Some(id), false) = (self.mail, &t.user_id, t.clear) else {
            return Ok(());
        };
        let msg = compose(mail, &t.name, &t.email, &self.notice, self.now).map_err(|e| {
            fail(
                Exit::Mail,
                format!("cannot notify {}: {e}; nothing changed", safe(&t.name)),
            )
            .hint("fix the user's e-mail address in the application, or pass --no-notify")
        })?;
        let oid = self
            .queue
            .push(self.now, id, &t.name, self.notice.kind(), &msg)?;
        self.queued = Some(
            self.queued
                .map_or((oid, oid), |(lo, hi)| (lo.min(oid), hi.max(oid))),
        );
        self.results.notified(t.seq, oid)
    }
}

/// Send the notifications the change queued, over one connection. Never fails: what is
/// not sent stays in the outbox, and the [`Delivery`] says why.
pub fn notify(env: &Env, db: &mut Db, mail: Option<&MailConfig>, applied: Applied) -> Delivery {
    match (mail, applied.queued) {
        (Some(m), Some((lo, hi))) => notify::deliver(env, &db.conn, m, Scope::Range(lo, hi)),
        _ => Delivery::default(),
    }
}

/// Give every result to `each`, in the order the users were named: after [`preview`] for
/// a dry run (`dry_run`), after [`apply`] otherwise. Reads TEMP tables only, so a busy
/// application cannot keep a committed change from being reported.
pub fn report<F>(db: &Db, dry_run: bool, delivery: &Delivery, mut each: F) -> Result<Summary>
where
    F: FnMut(&UserResult<'_>) -> Result<()>,
{
    let mut summary = Summary {
        dry_run,
        ..Summary::default()
    };
    bulk::for_each_done(&db.conn, |d| {
        let outcome = match (d.missing, d.clear, dry_run) {
            (true, _, _) => Outcome::Missing,
            (false, true, _) => Outcome::AlreadyClear,
            (false, false, true) => Outcome::WouldReset,
            (false, false, false) => Outcome::Reset,
        };
        match outcome {
            Outcome::Reset | Outcome::WouldReset => summary.reset += 1,
            Outcome::Missing => summary.missing += 1,
            Outcome::AlreadyClear => summary.already_clear += 1,
        }
        each(&UserResult {
            username: &d.name,
            outcome,
            sessions_revoked: d.sessions,
            notified: d.outbox_id.is_some_and(|id| delivery.delivered(id)),
        })
    })?;
    Ok(summary)
}

/// "alice", "alice and bob", "alice, bob, carol and 997 more" (terminal-safe), from the first
/// few names of `total`.
pub fn describe(first: &[String], total: u64) -> String {
    let shown: Vec<Cow<'_, str>> = first.iter().take(SHOWN).map(|n| safe(n)).collect();
    let n = shown.len();
    let more = total.saturating_sub(n as u64);
    match (n, more) {
        (0, _) => String::new(),
        (1, 0) => shown[0].clone().into_owned(),
        (_, 0) => format!("{} and {}", shown[..n - 1].join(", "), shown[n - 1]),
        (_, more) => format!("{} and {more} more", shown.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn names_are_described_briefly() {
        assert_eq!(describe(&names(&["a"]), 1), "a");
        assert_eq!(describe(&names(&["a", "b"]), 2), "a and b");
        assert_eq!(describe(&names(&["a", "b", "c"]), 3), "a, b and c");
        assert_eq!(describe(&names(&["a", "b", "c"]), 5), "a, b, c and 2 more");
        assert_eq!(
            describe(&names(&["a", "b", "c", "d"]), 4),
            "a, b, c and 1 more"
        );
        assert_eq!(describe(&names(&["a\u{1b}[2J"]), 1), "a\\u{1b}[2J");
    }
}
