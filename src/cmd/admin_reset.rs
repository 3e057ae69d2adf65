//! `admin-reset`: clear the 2FA of one user or of thousands, with a reason and an audit row
//! each. Every named user is resolved and checked before anything changes; the whole run is
//! one `BEGIN IMMEDIATE` transaction; output is printed only once it has committed.

use std::collections::HashSet;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rusqlite::Connection;
use serde::Serialize;

use super::{Ctx, ambiguous_email, shell_word};
use crate::cli::AdminResetArgs;
use crate::db::audit::{self, Record};
use crate::db::outbox::{self, Scope};
use crate::db::users::{Lookup, Resetter, Resolver, User};
use crate::db::{self, Mode, Names};
use crate::error::{Exit, fail};
use crate::mail::{Notice, compose};
use crate::output::{self, safe};
use crate::service::notify::{self, Delivery};
use crate::service::{MAX_NAME_BYTES, check_actor, check_name, check_reason};

/// Runs at least this large get a progress bar (on a terminal).
const PROGRESS_MIN: usize = 1000;

pub const ACTION: &str = "admin-reset";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Reset,
    WouldReset,
    Missing,
    AlreadyClear,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Reset => "reset",
            Outcome::WouldReset => "would_reset",
            Outcome::Missing => "missing",
            Outcome::AlreadyClear => "already_clear",
        }
    }
}

/// One JSON line per user; the keys are part of the interface.
#[derive(Serialize)]
struct Line<'a> {
    username: &'a str,
    outcome: Outcome,
    sessions_revoked: u64,
    notified: bool,
}

#[derive(Serialize, Default)]
struct Summary {
    reset: u64,
    missing: u64,
    already_clear: u64,
    dry_run: bool,
}

#[derive(Serialize)]
struct SummaryLine<'a> {
    summary: &'a Summary,
}

/// A name as given, and what it resolved to.
struct Target {
    given: String,
    user: Option<User>,
}

struct Done {
    name: String,
    outcome: Outcome,
    sessions: u64,
    outbox_id: Option<i64>,
}

pub fn run(ctx: &Ctx, args: &AdminResetArgs) -> Result<()> {
    let names = collect_names(args)?;
    let reason = reason(ctx, args)?;
    let mut db = ctx.open_db(if args.dry_run {
        Mode::ReadOnly
    } else {
        Mode::ReadWrite
    })?;
    let actor = match &args.actor {
        Some(a) => Some(check_actor(&db.conn, &db.names, a)?),
        None => None,
    };
    // Mail settings are checked before anything changes.
    let mail = if args.dry_run || args.no_notify {
        None
    } else {
        Some(crate::mail::resolve(&ctx.config, &db.app_settings()?)?)
    };

    if args.dry_run || !ctx.yes {
        // One read transaction for all the lookups: a consistent snapshot, and one shared lock
        // instead of a lock and journal check per user.
        let snapshot = db.conn.unchecked_transaction()?;
        let targets = resolve(&snapshot, &db.names, &names)?;
        snapshot.finish()?;
        check(&targets, args)?;
        if args.dry_run {
            let done = targets
                .into_iter()
                .map(|t| Done {
                    outcome: match &t.user {
                        None => Outcome::Missing,
                        Some(u) if u.clear => Outcome::AlreadyClear,
                        Some(_) => Outcome::WouldReset,
                    },
                    name: t.user.map_or(t.given, |u| u.username),
                    sessions: 0,
                    outbox_id: None,
                })
                .collect::<Vec<_>>();
            return print(ctx, &done, true, &Delivery::default());
        }
        let to_reset: Vec<&str> = targets
            .iter()
            .filter_map(|t| t.user.as_ref().filter(|u| !u.clear))
            .map(|u| u.username.as_str())
            .collect();
        if to_reset.is_empty() {
            ctx.info("nothing to reset: every named user's 2FA is already clear");
        } else {
            ctx.prompt.confirm(
                &format!(
                    "Reset the 2FA of {} and revoke their sessions?",
                    describe(&to_reset)
                ),
                false,
            )?;
        }
    }

    // The change itself: resolve again under the write lock, so that what is checked is
    // what is changed, then apply everything in one transaction.
    // From here Ctrl-C only raises a flag: before the commit the run stops with nothing
    // changed; after it, every result is printed and delivery stops (exit 6).
    let _hold = ctx.env.interrupt.hold();
    let now = ctx.now();
    let tx = db::write(&mut db.conn)?;
    let targets = resolve(&tx, &db.names, &names)?;
    check(&targets, args)?;
    let progress = progress(ctx, targets.len());
    let mut done = Vec::with_capacity(targets.len());
    let detail = if mail.is_some() {
        "notification queued"
    } else {
        "user not notified (--no-notify)"
    };
    let shown_reason = if args.show_reason {
        reason.as_deref()
    } else {
        None
    };
    {
        let mut resetter = Resetter::new(&tx, &db.names)?;
        let mut log = audit::Writer::new(&tx)?;
        let mut queue = outbox::Queue::new(&tx)?;
        for t in targets {
            progress.inc(1);
            ctx.env.interrupt.check()?;
            let Some(u) = t.user else {
                done.push(Done {
                    name: t.given,
                    outcome: Outcome::Missing,
                    sessions: 0,
                    outbox_id: None,
                });
                continue;
            };
            let (outcome, sessions) = if u.clear {
                (Outcome::AlreadyClear, 0)
            } else {
                (Outcome::Reset, resetter.reset(u.id)?)
            };
            let outbox_id = match &mail {
                Some(m) if outcome == Outcome::Reset => {
                    let notice = Notice::AdminReset {
                        reason: shown_reason,
                    };
                    let msg = compose(m, &u.username, &u.email, &notice, now).map_err(|e| {
                        fail(
                            Exit::Mail,
                            format!("cannot notify {}: {e}; nothing changed", safe(&u.username)),
                        )
                        .hint(
                            "fix the user's e-mail address in the application, or pass --no-notify",
                        )
                    })?;
                    Some(queue.push(now, u.id, &u.username, notice.kind(), &msg)?)
                }
                _ => None,
            };
            log.write(&Record {
                time: now,
                os_user: &ctx.env.os_user,
                actor: actor.as_deref(),
                action: ACTION,
                user_id: Some(u.id),
                username: &u.username,
                reason: reason.as_deref(),
                outcome: outcome.as_str(),
                detail: (outcome == Outcome::Reset).then_some(detail),
                changed: outcome == Outcome::Reset,
            })?;
            done.push(Done {
                name: u.username,
                outcome,
                sessions,
                outbox_id,
            });
        }
    }
    ctx.env.interrupt.check()?;
    tx.commit().context("could not commit the reset")?;
    progress.finish_and_clear();

    // Notify after the commit, over one connection; failures stay in the outbox.
    let ids = done.iter().filter_map(|d| d.outbox_id);
    let delivery = match (&mail, ids.clone().min(), ids.max()) {
        (Some(m), Some(lo), Some(hi)) => {
            notify::deliver(&ctx.env, &mut db.conn, m, Scope::Range(lo, hi))
        }
        _ => Delivery::default(),
    };
    print(ctx, &done, false, &delivery)?;
    delivery.into_result("notification")
}

/// The names from the arguments and `--from-file`, checked, in order, without repeats.
fn collect_names(args: &AdminResetArgs) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for (i, a) in args.users.iter().enumerate() {
        names.push(
            check_name(a)
                .map_err(|why| fail(Exit::Usage, format!("user argument {}: {why}", i + 1)))?,
        );
    }
    if let Some(path) = &args.from_file {
        let from_file = read_list(path)?;
        if from_file.is_empty() && names.is_empty() {
            return Err(fail(
                Exit::Usage,
                format!("{} names no users", display_path(path)),
            )
            .hint("one username or e-mail address per line; blank lines and # comments are skipped")
            .into());
        }
        names.extend(from_file);
    }
    if names.is_empty() {
        return Err(fail(Exit::Usage, "no users given")
            .hint("name users as arguments, or pass --from-file FILE (- for stdin)")
            .into());
    }
    let mut seen = HashSet::with_capacity(names.len());
    names.retain(|n| seen.insert(n.clone()));
    Ok(names)
}

fn display_path(path: &Path) -> String {
    if path == Path::new("-") {
        "stdin".to_owned()
    } else {
        path.display().to_string()
    }
}

/// Read a list of users: one per line; blank lines and `#` comments skipped.
fn read_list(path: &Path) -> Result<Vec<String>> {
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .context("could not read the user list from stdin")?;
    } else {
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| {
                fail(
                    Exit::Usage,
                    format!("could not read user list {}: {e}", path.display()),
                )
            })?;
    }
    let mut names = Vec::new();
    // A byte-order mark, as Windows editors write, is not part of the first name.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let bad = |why: String| {
            fail(
                Exit::Usage,
                format!("{} line {}: {why}", display_path(path), i + 1),
            )
            .hint("give one username or e-mail address per line")
        };
        if line.len() > MAX_NAME_BYTES {
            return Err(bad(format!(
                "longer than {MAX_NAME_BYTES} bytes; not a user name"
            ))
            .into());
        }
        let text = std::str::from_utf8(line).map_err(|_| bad("not valid UTF-8".to_owned()))?;
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        names.push(check_name(text).map_err(bad)?);
    }
    Ok(names)
}

fn reason(ctx: &Ctx, args: &AdminResetArgs) -> Result<Option<String>> {
    let reason = match &args.reason {
        Some(r) => r.clone(),
        // Nothing is recorded by a dry run, so it needs no reason.
        None if args.dry_run => return Ok(None),
        None => ctx.prompt.text(
            "Reason for the reset (recorded in the audit log)",
            "--reason",
        )?,
    };
    Ok(Some(check_reason(&reason)?))
}

fn resolve(conn: &Connection, names: &Names, given: &[String]) -> Result<Vec<Target>> {
    let mut resolver = Resolver::new(conn, names)?;
    let mut ids = HashSet::with_capacity(given.len());
    let mut targets = Vec::with_capacity(given.len());
    for name in given {
        match resolver.lookup(name)? {
            Lookup::Found(u) => {
                // alice and alice@example.com are one user, reset once.
                if ids.insert(u.id) {
                    targets.push(Target {
                        given: name.clone(),
                        user: Some(u),
                    });
                }
            }
            Lookup::Missing => targets.push(Target {
                given: name.clone(),
                user: None,
            }),
            Lookup::Ambiguous => return Err(ambiguous_email(name).into()),
        }
    }
    Ok(targets)
}

/// Stop before any change when a user is missing or an administrator is not allowed.
fn check(targets: &[Target], args: &AdminResetArgs) -> Result<()> {
    if !args.skip_missing {
        let missing: Vec<&str> = targets
            .iter()
            .filter(|t| t.user.is_none())
            .map(|t| t.given.as_str())
            .collect();
        if let Some(first) = missing.first() {
            return Err(fail(
                Exit::NotFound,
                format!("no such user: {}; nothing changed", describe(&missing)),
            )
            .hint(format!(
                "twofactl list-users --match {}, or pass --skip-missing",
                shell_word(first)
            ))
            .into());
        }
    }
    if !args.allow_admin {
        let admins: Vec<&str> = targets
            .iter()
            .filter_map(|t| t.user.as_ref())
            .filter(|u| u.is_admin)
            .map(|u| u.username.as_str())
            .collect();
        if !admins.is_empty() {
            return Err(fail(
                Exit::Usage,
                format!(
                    "{} {} an administrator of the application; nothing changed",
                    describe(&admins),
                    if admins.len() == 1 { "is" } else { "are" }
                ),
            )
            .hint("pass --allow-admin to reset administrators too")
            .into());
        }
    }
    Ok(())
}

/// "alice", "alice and bob", "alice, bob, carol and 997 more" (terminal-safe).
fn describe(names: &[&str]) -> String {
    const SHOWN: usize = 3;
    let safe_names: Vec<String> = names
        .iter()
        .take(SHOWN)
        .map(|n| safe(n).into_owned())
        .collect();
    match names.len() {
        0 => String::new(),
        1 => safe_names[0].clone(),
        n if n <= SHOWN => format!(
            "{} and {}",
            safe_names[..n - 1].join(", "),
            safe_names[n - 1]
        ),
        n => format!("{} and {} more", safe_names.join(", "), n - SHOWN),
    }
}

fn progress(ctx: &Ctx, len: usize) -> ProgressBar {
    if ctx.quiet || len < PROGRESS_MIN || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} users  {elapsed}") {
        bar.set_style(style);
    }
    bar
}

fn print(ctx: &Ctx, done: &[Done], dry_run: bool, delivery: &Delivery) -> Result<()> {
    let mut summary = Summary {
        dry_run,
        ..Summary::default()
    };
    let mut out = output::stdout();
    for d in done {
        match d.outcome {
            Outcome::Reset | Outcome::WouldReset => summary.reset += 1,
            Outcome::Missing => summary.missing += 1,
            Outcome::AlreadyClear => summary.already_clear += 1,
        }
        if ctx.json() {
            output::json_line(
                &mut out,
                &Line {
                    username: &d.name,
                    outcome: d.outcome,
                    sessions_revoked: d.sessions,
                    notified: d.outbox_id.is_some_and(|id| delivery.delivered(id)),
                },
            )?;
        } else {
            let what = match d.outcome {
                Outcome::Reset => "reset",
                Outcome::WouldReset => "would reset",
                Outcome::Missing => "missing",
                Outcome::AlreadyClear => "already clear",
            };
            write!(out, "{what:<14}{}", safe(&d.name))?;
            if d.sessions > 0 {
                let s = if d.sessions == 1 { "" } else { "s" };
                write!(out, " ({} session{s} revoked)", d.sessions)?;
            }
            writeln!(out)?;
        }
    }
    if ctx.json() {
        output::json_line(&mut out, &SummaryLine { summary: &summary })?;
    }
    out.flush()?;
    let verb = if dry_run { "would reset" } else { "reset" };
    ctx.info(format_args!(
        "{verb} {} user{}; {} already clear; {} missing{}",
        summary.reset,
        if summary.reset == 1 { "" } else { "s" },
        summary.already_clear,
        summary.missing,
        if dry_run {
            " (dry run: nothing changed)"
        } else {
            ""
        }
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_described_briefly() {
        assert_eq!(describe(&["a"]), "a");
        assert_eq!(describe(&["a", "b"]), "a and b");
        assert_eq!(describe(&["a", "b", "c"]), "a, b and c");
        assert_eq!(describe(&["a", "b", "c", "d", "e"]), "a, b, c and 2 more");
    }

    #[test]
    fn hostile_names_are_refused() {
        assert!(check_name("alice").is_ok());
        assert!(check_name("o'brien; DROP TABLE users; --%_").is_ok());
        assert!(check_name("a\nb").is_err());
        assert!(check_name("a\0b").is_err());
        assert!(check_name(&"x".repeat(MAX_NAME_BYTES + 1)).is_err());
    }
}
