//! `audit`: read twofactl's audit log, oldest first, as a table or JSON Lines (see `listing`).

use std::time::UNIX_EPOCH;

use anyhow::Result;

use super::{Ctx, find_user, listing};
use crate::cli::{AuditAction, AuditArgs};
use crate::db::{Mode, audit, migrate};
use crate::error::{Exit, fail};
use crate::output::safe;

pub fn run(ctx: &Ctx, args: &AuditArgs) -> Result<()> {
    let since = args
        .since
        .as_deref()
        .map(|s| parse_since(s, ctx.now()))
        .transpose()?;
    let db = ctx.open_db(Mode::ReadOnly)?;
    if !migrate::present(&db.conn)? {
        ctx.info("the audit log is empty: twofactl has changed nothing in this database yet");
        return Ok(());
    }
    // An e-mail address names the user it belongs to, as in every other command; a
    // username is taken as given (the user may since have been deleted).
    let username = match args.user.as_deref() {
        Some(u) if u.contains('@') => Some(find_user(&db, u)?.username),
        Some(u) => Some(u.to_owned()),
        None => None,
    };
    let filter = audit::Filter {
        username: username.as_deref(),
        action: args.action.map(AuditAction::as_str),
        since,
        limit: args.limit,
    };
    listing::audit(ctx, &db, &filter)
}

/// `--since`: an RFC 3339 time, a date (midnight UTC), or an age such as `7d` or `12h`.
fn parse_since(s: &str, now: i64) -> Result<i64> {
    let s = s.trim();
    // humantime reads only UTC times; a `+02:00` style offset is applied here.
    let (base, offset) = match s.len().checked_sub(6).map(|i| s.split_at(i)) {
        Some((base, off))
            if base.contains('T')
                && matches!(off.as_bytes(), [b'+' | b'-', h1, h2, b':', m1, m2]
                    if [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit())) =>
        {
            let sign = if off.starts_with('-') { -1 } else { 1 };
            let h: i64 = off[1..3].parse().unwrap_or(0);
            let m: i64 = off[4..6].parse().unwrap_or(0);
            (format!("{base}Z"), sign * (h * 3600 + m * 60))
        }
        _ => (s.to_owned(), 0),
    };
    let time = if base.len() == 10 && base.as_bytes().get(4) == Some(&b'-') {
        humantime::parse_rfc3339(&format!("{base}T00:00:00Z")).ok()
    } else {
        humantime::parse_rfc3339_weak(&base).ok()
    };
    if let Some(t) = time {
        let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        return Ok(i64::try_from(secs).unwrap_or(i64::MAX) - offset);
    }
    if let Ok(d) = humantime::parse_duration(s) {
        return Ok(now.saturating_sub(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)));
    }
    Err(fail(
        Exit::Usage,
        format!("--since {}: not a time, date or age", safe(s)),
    )
    .hint("e.g. --since 2026-11-01, --since 2026-11-01T08:00:00Z or --since 7d")
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_times_dates_and_ages() {
        assert_eq!(parse_since("1970-01-02", 0).unwrap(), 86400);
        assert_eq!(parse_since("1970-01-01T00:01:00Z", 0).unwrap(), 60);
        assert_eq!(parse_since("1h", 7200).unwrap(), 3600);
        assert_eq!(parse_since("1970-01-01T02:00:00+02:00", 0).unwrap(), 0);
        assert_eq!(parse_since("1970-01-01T00:00:00-01:30", 0).unwrap(), 5400);
        assert!(parse_since("last tuesday", 0).is_err());
    }
}
