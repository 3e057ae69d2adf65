//! `admin-reset`: clear the 2FA of one user or of thousands (see `service::admin_reset`).
//! This adapter checks the names given as arguments, streams `--from-file` line by line
//! into the service (so a list of any length takes no more memory than one line), asks for
//! the reason and the confirmation, and renders the results as text or JSON Lines once the
//! change has committed.

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::path::Path;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::Ctx;
use crate::cli::AdminResetArgs;
use crate::db::{Db, Mode};
use crate::error::{Exit, Failure, fail};
use crate::output::{self, safe};
use crate::service::admin_reset::{
    self, Change, Checks, Outcome, Preview, Progress, Staged, Summary, UserResult, describe,
};
use crate::service::notify::Delivery;
use crate::service::{MAX_NAME_BYTES, check_actor, check_name, check_reason};

/// Runs at least this large get a progress bar (on a terminal).
const PROGRESS_MIN: u64 = 1000;

/// One JSON line per user; the keys are part of the interface.
#[derive(Serialize)]
struct Line<'a> {
    username: &'a str,
    outcome: &'static str,
    sessions_revoked: u64,
    notified: bool,
}

#[derive(Serialize)]
struct SummaryJson {
    reset: u64,
    missing: u64,
    already_clear: u64,
    dry_run: bool,
}

#[derive(Serialize)]
struct SummaryLine {
    summary: SummaryJson,
}

pub fn run(ctx: &Ctx, args: &AdminResetArgs) -> Result<()> {
    let users = check_arguments(args)?;
    let list = args.from_file.as_deref().map(List::open).transpose()?;
    let mut db = ctx.open_db(if args.dry_run {
        Mode::ReadOnly
    } else {
        Mode::ReadWrite
    })?;
    let Some(staged) = stage(&db, args, &users, list)? else {
        // A list that names nobody (a query that matched no one) is not an error for a
        // script: nothing to do, said on stderr, and a zero summary.
        ctx.info(format_args!(
            "warning: {} names no users; nothing to reset",
            display_path(args.from_file.as_deref().unwrap_or(Path::new("-")))
        ));
        return print(ctx, &db, args.dry_run, &Delivery::default());
    };
    let reason = reason(ctx, args)?;
    let actor = match &args.actor {
        Some(a) => Some(check_actor(&db.conn, &db.app, a)?),
        None => None,
    };
    // Mail settings are checked before anything changes.
    let mail = if args.dry_run || args.no_notify {
        None
    } else {
        Some(crate::mail::resolve(&ctx.config, &db.app_settings()?)?)
    };
    let checks = Checks {
        allow_admin: args.allow_admin,
        skip_missing: args.skip_missing,
    };
    if args.dry_run || !ctx.yes {
        let preview = admin_reset::preview(&db, staged, checks)?;
        if args.dry_run {
            return print(ctx, &db, true, &Delivery::default());
        }
        confirm(ctx, &preview)?;
    }
    let change = Change {
        reason: reason.as_deref(),
        show_reason: args.show_reason,
        actor: actor.as_deref(),
        mail: mail.as_ref(),
    };
    // From here Ctrl-C only raises a flag: before the commit the run stops with nothing
    // changed; after it, every result is printed and delivery stops (exit 6).
    let _hold = ctx.env.interrupt.hold();
    let mut bar = Bar::new(ctx);
    let applied = admin_reset::apply(&ctx.env, &mut db, staged, checks, &change, &mut bar)?;
    bar.finish();
    if applied.restarts > 0 {
        ctx.detail(format_args!(
            "the application changed users being reset; the reset was started again on its new state ({} {})",
            applied.restarts,
            if applied.restarts == 1 { "time" } else { "times" }
        ));
    }
    let delivery = admin_reset::notify(&ctx.env, &mut db, mail.as_ref(), applied);
    print(ctx, &db, false, &delivery)?;
    delivery.into_result("notification")
}

/// The users named as arguments, checked, in order.
fn check_arguments(args: &AdminResetArgs) -> Result<Vec<String>> {
    if args.users.is_empty() && args.from_file.is_none() {
        return Err(fail(Exit::Usage, "no users given")
            .hint("name users as arguments, or pass --from-file FILE (- for stdin)")
            .into());
    }
    let mut names = Vec::with_capacity(args.users.len());
    for (i, a) in args.users.iter().enumerate() {
        names.push(
            check_name(a)
                .map_err(|why| fail(Exit::Usage, format!("user argument {}: {why}", i + 1)))?,
        );
    }
    Ok(names)
}

/// Stage the names (arguments first, then the list) in the service, streaming the list;
/// `None` when the list names nobody and there are no arguments.
fn stage(
    db: &Db,
    args: &AdminResetArgs,
    users: &[String],
    list: Option<List<'_>>,
) -> Result<Option<Staged>> {
    let mut listed = 0;
    let staged = admin_reset::stage(db, |add| {
        for name in users {
            add(name)?;
        }
        if let Some(list) = list {
            listed = list.read(add)?;
        }
        Ok(())
    })?;
    if args.from_file.is_some() && listed == 0 && users.is_empty() {
        return Ok(None);
    }
    Ok(Some(staged))
}

fn display_path(path: &Path) -> String {
    if path == Path::new("-") {
        "stdin".to_owned()
    } else {
        path.display().to_string()
    }
}

/// A `--from-file` list of users, open: one per line; blank lines and `#` comments skipped.
struct List<'p> {
    path: &'p Path,
    reader: Box<dyn BufRead + 'p>,
}

impl<'p> List<'p> {
    /// Open the list (`-`: stdin); a file that cannot be opened is a usage error.
    fn open(path: &'p Path) -> Result<List<'p>> {
        let reader: Box<dyn BufRead + 'p> = if path == Path::new("-") {
            Box::new(io::stdin().lock())
        } else {
            let file = File::open(path).map_err(|e| unreadable(path, &e))?;
            Box::new(BufReader::with_capacity(64 * 1024, file))
        };
        Ok(List { path, reader })
    }

    /// Give each name to `add`, in order, checked; returns how many there were. Stops at the
    /// first bad line, naming it.
    fn read(mut self, add: &mut dyn FnMut(&str) -> Result<()>) -> Result<u64> {
        // A longer line is refused without being read whole (room for a byte-order mark and
        // a CR LF around the longest name).
        const LIMIT: u64 = MAX_NAME_BYTES as u64 + 5;
        let mut line = Vec::with_capacity(256);
        let (mut number, mut names) = (0_u64, 0_u64);
        loop {
            line.clear();
            let n = (&mut self.reader)
                .take(LIMIT)
                .read_until(b'\n', &mut line)
                .map_err(|e| self.read_error(e))?;
            if n == 0 {
                return Ok(names);
            }
            number += 1;
            let mut raw = line.strip_suffix(b"\n").unwrap_or(&line);
            raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if number == 1 {
                // A byte-order mark, as Windows editors write, is not part of the first name.
                raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
            }
            let bad = |why: String| self.bad_line(number, why);
            if raw.len() > MAX_NAME_BYTES {
                return Err(bad(format!(
                    "longer than {MAX_NAME_BYTES} bytes; not a user name"
                ))
                .into());
            }
            let text = std::str::from_utf8(raw).map_err(|_| bad("not valid UTF-8".to_owned()))?;
            let text = text.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            add(&check_name(text).map_err(bad)?)?;
            names += 1;
        }
    }

    fn bad_line(&self, number: u64, why: String) -> Failure {
        fail(
            Exit::Usage,
            format!("{} line {number}: {why}", display_path(self.path)),
        )
        .hint("give one username or e-mail address per line")
    }

    fn read_error(&self, e: io::Error) -> anyhow::Error {
        if self.path == Path::new("-") {
            anyhow::Error::new(e).context("could not read the user list from stdin")
        } else {
            unreadable(self.path, &e).into()
        }
    }
}

fn unreadable(path: &Path, e: &io::Error) -> Failure {
    fail(
        Exit::Usage,
        format!("could not read user list {}: {e}", path.display()),
    )
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

fn confirm(ctx: &Ctx, preview: &Preview) -> Result<()> {
    if preview.to_reset == 0 {
        ctx.info("nothing to reset: every named user's 2FA is already clear");
        return Ok(());
    }
    ctx.prompt.confirm(
        &format!(
            "Reset the 2FA of {} and revoke their sessions?",
            describe(&preview.first, preview.to_reset)
        ),
        false,
    )
}

/// The progress bar on stderr: on a terminal, for large runs, unless `--quiet`.
struct Bar {
    bar: ProgressBar,
    shown: bool,
}

impl Bar {
    fn new(ctx: &Ctx) -> Bar {
        Bar {
            bar: ProgressBar::hidden(),
            shown: !ctx.quiet && io::stderr().is_terminal(),
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for Bar {
    fn begin(&mut self, targets: u64) {
        if !self.shown || targets < PROGRESS_MIN {
            return;
        }
        self.bar = ProgressBar::with_draw_target(Some(targets), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} users  {elapsed}") {
            self.bar.set_style(style);
        }
    }

    fn advance(&mut self, targets: u64) {
        self.bar.inc(targets);
    }
}

fn print(ctx: &Ctx, db: &Db, dry_run: bool, delivery: &Delivery) -> Result<()> {
    let mut out = output::stdout();
    let summary = admin_reset::report(db, dry_run, delivery, |r| print_one(ctx, &mut out, r))?;
    if ctx.json() {
        let Summary {
            reset,
            missing,
            already_clear,
            dry_run,
        } = summary;
        output::json_line(
            &mut out,
            &SummaryLine {
                summary: SummaryJson {
                    reset,
                    missing,
                    already_clear,
                    dry_run,
                },
            },
        )?;
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
    // Said where it applies: the logins this application keeps out of twofactl's reach.
    if let Some(caveat) = db.app.map.sessions_caveat
        && summary.reset > 0
    {
        ctx.info(format_args!("note: {caveat}"));
    }
    Ok(())
}

fn print_one(ctx: &Ctx, out: &mut impl Write, r: &UserResult<'_>) -> Result<()> {
    if ctx.json() {
        output::json_line(
            out,
            &Line {
                username: r.username,
                outcome: r.outcome.as_str(),
                sessions_revoked: r.sessions_revoked,
                notified: r.notified,
            },
        )?;
        return Ok(());
    }
    let what = match r.outcome {
        Outcome::Reset => "reset",
        Outcome::WouldReset => "would reset",
        Outcome::Missing => "missing",
        Outcome::AlreadyClear => "already clear",
    };
    write!(out, "{what:<14}{}", safe(r.username))?;
    if r.sessions_revoked > 0 {
        let s = if r.sessions_revoked == 1 { "" } else { "s" };
        write!(out, " ({} session{s} revoked)", r.sessions_revoked)?;
    }
    writeln!(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names `List::read` gives for `bytes`, or its error.
    fn read(bytes: &[u8]) -> Result<Vec<String>, String> {
        let list = List {
            path: Path::new("list.txt"),
            reader: Box::new(io::Cursor::new(bytes.to_vec())),
        };
        let mut names = Vec::new();
        list.read(&mut |n| {
            names.push(n.to_owned());
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        Ok(names)
    }

    #[test]
    fn hostile_names_are_refused() {
        assert!(check_name("alice").is_ok());
        assert!(check_name("o'brien; DROP TABLE users; --%_").is_ok());
        assert!(check_name("a\nb").is_err());
        assert!(check_name("a\0b").is_err());
        assert!(check_name(&"x".repeat(MAX_NAME_BYTES + 1)).is_err());
    }

    #[test]
    fn a_list_is_read_line_by_line() {
        assert_eq!(
            read(b"\xEF\xBB\xBFalice\r\n\n  bob  \n# carol\n\tdave\nerin").unwrap(),
            ["alice", "bob", "dave", "erin"]
        );
        assert_eq!(read(b"").unwrap(), Vec::<String>::new());
        let e = read(b"alice\n\xff\n").unwrap_err();
        assert!(e.contains("list.txt line 2: not valid UTF-8"), "{e}");
        let e = read(b"alice\nbob\rcarol\n").unwrap_err();
        assert!(
            e.contains("line 2") && e.contains("control character"),
            "{e}"
        );
    }

    #[test]
    fn a_long_line_is_refused_without_reading_it_whole() {
        let longest = "x".repeat(MAX_NAME_BYTES);
        assert_eq!(
            read(format!("\u{feff}{longest}\r\n").as_bytes()).unwrap(),
            [longest.as_str()]
        );
        let mut list = b"alice\n".to_vec();
        list.extend(std::iter::repeat_n(b'a', MAX_NAME_BYTES + 1));
        let e = read(&list).unwrap_err();
        assert!(e.contains("line 2: longer than"), "{e}");
        // A line without end is not read to its end: the reader stops after the limit.
        let mut reader = io::Cursor::new(vec![b'a'; 1 << 20]);
        let list = List {
            path: Path::new("-"),
            reader: Box::new(&mut reader),
        };
        assert!(list.read(&mut |_| Ok(())).is_err());
        assert!(reader.position() < 2 * MAX_NAME_BYTES as u64);
    }
}
