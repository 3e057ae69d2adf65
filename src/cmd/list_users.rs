//! `list-users`: users and their 2FA state, streamed as an aligned table, JSON Lines or CSV.
//! Never a secret: the TOTP key and password hash are not even selected.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};

use anyhow::Result;
use serde::Serialize;

use super::Ctx;
use crate::cli::{self, Format, ListUsersArgs};
use crate::db::users::Status;
use crate::db::users::{self, ListRow};
use crate::db::{Mode, migrate};
use crate::output::{self, Table, rfc3339, safe};

/// One JSON line; the keys are part of the interface.
#[derive(Serialize)]
struct JsonRow<'a> {
    id: i64,
    username: &'a str,
    email: &'a str,
    is_admin: bool,
    status: &'static str,
    reset_open_until: Option<String>,
    last_2fa_change: Option<String>,
}

pub fn status_name(s: Status) -> &'static str {
    s.as_str()
}

/// The state asked for on the command line, as the database layer knows it.
fn status(s: cli::Status) -> Status {
    match s {
        cli::Status::Enabled => Status::Enabled,
        cli::Status::Pending => Status::Pending,
        cli::Status::Disabled => Status::Disabled,
    }
}

const HEADER: [&str; 7] = [
    "id",
    "username",
    "email",
    "is_admin",
    "status",
    "reset_open_until",
    "last_2fa_change",
];

/// One CSV field: quoted (with `"` doubled) only when it holds `,`, `"`, CR or LF.
fn csv_field<W: Write>(out: &mut W, field: &[u8]) -> std::io::Result<()> {
    if !field
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        return out.write_all(field);
    }
    out.write_all(b"\"")?;
    for (i, part) in field.split(|&b| b == b'"').enumerate() {
        if i > 0 {
            out.write_all(b"\"\"")?;
        }
        out.write_all(part)?;
    }
    out.write_all(b"\"")
}

/// A CSV value: escaped for a terminal (`escape`), else as stored.
fn cell(s: &str, escape: bool) -> Cow<'_, str> {
    if escape { safe(s) } else { Cow::Borrowed(s) }
}

pub fn run(ctx: &Ctx, args: &ListUsersArgs) -> Result<()> {
    let db = ctx.open_db(Mode::ReadOnly)?;
    let own = migrate::check(&db.conn)?;
    let filter = users::Filter {
        status: args.status.map(status),
        admins: args.admins,
        pattern: args.pattern.as_deref(),
        limit: args.limit,
    };
    let mut out = output::stdout();
    let opt_time = |t: Option<i64>| t.map(rfc3339);
    match ctx.format {
        Format::Json => {
            users::for_each(&db.conn, &db.names, own, ctx.now(), &filter, |r| {
                let row = JsonRow {
                    id: r.id,
                    username: &ListRow::text(&r.username),
                    email: &ListRow::text(&r.email),
                    is_admin: r.is_admin,
                    status: status_name(r.status),
                    reset_open_until: opt_time(r.reset_open_until),
                    last_2fa_change: opt_time(r.last_2fa_change),
                };
                output::json_line(&mut out, &row)?;
                Ok(())
            })?;
            out.flush()?;
        }
        Format::Csv => {
            // Written by hand: a few bytes checked per field, no state machine (this is the
            // hot loop of `list-users --format csv` over a million users). RFC 4180 quoting.
            // On a terminal, control characters are escaped as in the table; through a pipe
            // the values are as stored.
            let escape = std::io::stdout().is_terminal();
            out.write_all(HEADER.join(",").as_bytes())?;
            out.write_all(b"\n")?;
            let mut id = itoa::Buffer::new();
            users::for_each(&db.conn, &db.names, own, ctx.now(), &filter, |r| {
                out.write_all(id.format(r.id).as_bytes())?;
                out.write_all(b",")?;
                // Valid UTF-8 out, as for text and JSON (borrowed, no copy, when it already is).
                csv_field(
                    &mut out,
                    cell(&ListRow::text(&r.username), escape).as_bytes(),
                )?;
                out.write_all(b",")?;
                csv_field(&mut out, cell(&ListRow::text(&r.email), escape).as_bytes())?;
                out.write_all(if r.is_admin { b",true," } else { b",false," })?;
                out.write_all(status_name(r.status).as_bytes())?;
                out.write_all(b",")?;
                if let Some(t) = r.reset_open_until {
                    out.write_all(rfc3339(t).as_bytes())?;
                }
                out.write_all(b",")?;
                if let Some(t) = r.last_2fa_change {
                    out.write_all(rfc3339(t).as_bytes())?;
                }
                out.write_all(b"\n")?;
                Ok(())
            })?;
            out.flush()?;
        }
        Format::Text => {
            let mut t = Table::new(
                out,
                &[
                    "ID",
                    "USERNAME",
                    "EMAIL",
                    "ADMIN",
                    "STATUS",
                    "RESET OPEN UNTIL",
                    "LAST 2FA CHANGE",
                ],
            );
            let mut n = 0u64;
            users::for_each(&db.conn, &db.names, own, ctx.now(), &filter, |r| {
                n += 1;
                let dash = || "-".to_owned();
                t.row(vec![
                    r.id.to_string(),
                    safe(&ListRow::text(&r.username)).into_owned(),
                    safe(&ListRow::text(&r.email)).into_owned(),
                    if r.is_admin { "yes" } else { "no" }.to_owned(),
                    status_name(r.status).to_owned(),
                    opt_time(r.reset_open_until).unwrap_or_else(dash),
                    opt_time(r.last_2fa_change).unwrap_or_else(dash),
                ])?;
                Ok(())
            })?;
            t.finish()?;
            ctx.detail(format_args!("{n} users"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(s: &str) -> String {
        let mut out = Vec::new();
        csv_field(&mut out, s.as_bytes()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(field("alice"), "alice");
        assert_eq!(field("o'neil, jr"), "\"o'neil, jr\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("a\nb"), "\"a\nb\"");
        assert_eq!(field(""), "");
    }
}
