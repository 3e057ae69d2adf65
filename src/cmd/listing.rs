//! Listings shared by commands and the sandbox walk-through (not a command itself): users
//! and their 2FA state (streamed as an aligned table, JSON Lines or CSV; never a secret: the
//! TOTP key and password hash are not even selected), and twofactl's audit log.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};

use anyhow::Result;
use rusqlite::types::Value;
use serde::Serialize;

use super::Ctx;
use crate::cli::Format;
use crate::db::users::{self, ListRow, Status};
use crate::db::{Db, Engine, audit, migrate, pg};
use crate::output::{self, Table, rfc3339, safe};

/// One JSON line; the keys are part of the interface.
#[derive(Serialize)]
struct UserJson<'a> {
    id: IdJson<'a>,
    username: &'a str,
    email: &'a str,
    is_admin: bool,
    status: &'static str,
    reset_open_until: Option<String>,
    last_2fa_change: Option<String>,
}

/// A user id in JSON: a number, or the text an application uses (a uuid, a uid).
#[derive(Debug)]
struct IdJson<'a>(&'a Value);

impl Serialize for IdJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Integer(n) => s.serialize_i64(*n),
            Value::Real(f) => s.serialize_f64(*f),
            other => s.serialize_str(&id_text(other)),
        }
    }
}

/// A user id as text.
fn id_text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::Integer(n) => Cow::Owned(n.to_string()),
        Value::Real(f) => Cow::Owned(f.to_string()),
        Value::Text(t) => Cow::Borrowed(t),
        Value::Blob(b) => String::from_utf8_lossy(b),
        Value::Null => Cow::Borrowed(""),
    }
}

fn status_name(s: Status) -> &'static str {
    s.as_str()
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

/// Stream the users matching `filter` in the run's format.
pub fn users(ctx: &Ctx, db: &Db, filter: &users::Filter<'_>) -> Result<()> {
    let mut src = Rows {
        db,
        filter,
        now: ctx.now(),
        own: migrate::check(&db.conn)?,
    };
    let out = output::stdout();
    match ctx.format {
        Format::Json => users_json(&mut src, out),
        Format::Csv => users_csv(&mut src, out),
        Format::Text => users_text(ctx, &mut src, out),
    }
}

/// The users matching a filter, from either engine.
struct Rows<'a, 'f> {
    db: &'a Db,
    filter: &'f users::Filter<'f>,
    now: i64,
    /// The version of twofactl's tables.
    own: usize,
}

impl Rows<'_, '_> {
    /// Stream the rows to `each`.
    fn each(&mut self, each: &mut dyn FnMut(&ListRow<'_>) -> Result<()>) -> Result<()> {
        let app = &self.db.app;
        match &self.db.conn {
            Engine::Sqlite(c) => users::for_each(c, app, self.own, self.now, self.filter, each),
            Engine::Postgres(pg) => pg::read::for_each_user(
                &mut *pg.client()?,
                app,
                (self.own, self.now),
                self.filter,
                each,
            ),
        }
    }
}

type Out = std::io::BufWriter<std::io::StdoutLock<'static>>;

fn opt_time(t: Option<i64>) -> Option<String> {
    t.map(rfc3339)
}

fn users_json(src: &mut Rows<'_, '_>, mut out: Out) -> Result<()> {
    src.each(&mut |r| {
        let row = UserJson {
            id: IdJson(&r.id),
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
    Ok(())
}

fn users_csv(src: &mut Rows<'_, '_>, mut out: Out) -> Result<()> {
    // Written by hand: a few bytes checked per field, no state machine (this is the
    // hot loop of `list-users --format csv` over a million users). RFC 4180 quoting.
    // On a terminal, control characters are escaped as in the table; through a pipe
    // the values are as stored.
    let escape = std::io::stdout().is_terminal();
    out.write_all(HEADER.join(",").as_bytes())?;
    out.write_all(b"\n")?;
    let mut id = itoa::Buffer::new();
    src.each(&mut |r| {
        match &r.id {
            Value::Integer(n) => out.write_all(id.format(*n).as_bytes())?,
            other => csv_field(&mut out, cell(&id_text(other), escape).as_bytes())?,
        }
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
    Ok(())
}

fn users_text(ctx: &Ctx, src: &mut Rows<'_, '_>, out: Out) -> Result<()> {
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
    src.each(&mut |r| {
        n += 1;
        let dash = || "-".to_owned();
        t.row(vec![
            safe(&id_text(&r.id)).into_owned(),
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
    Ok(())
}

/// One JSON line; the keys are part of the interface.
#[derive(Serialize)]
struct AuditJson<'a> {
    time: String,
    os_user: &'a str,
    actor: Option<&'a str>,
    action: &'a str,
    username: &'a str,
    reason: Option<&'a str>,
    outcome: &'a str,
    detail: Option<&'a str>,
}

/// The audit records matching `filter`, oldest first, in the run's format.
pub fn audit(ctx: &Ctx, db: &Db, filter: &audit::Filter<'_>) -> Result<()> {
    let mut out = output::stdout();
    if ctx.json() {
        audit::for_each(&db.conn, filter, |r| {
            output::json_line(
                &mut out,
                &AuditJson {
                    time: rfc3339(r.time),
                    os_user: &r.os_user,
                    actor: r.actor.as_deref(),
                    action: &r.action,
                    username: &r.username,
                    reason: r.reason.as_deref(),
                    outcome: &r.outcome,
                    detail: r.detail.as_deref(),
                },
            )?;
            Ok(())
        })?;
        out.flush()?;
    } else {
        let mut t = Table::new(
            out,
            &[
                "TIME", "OS USER", "ACTOR", "ACTION", "USER", "OUTCOME", "REASON", "DETAIL",
            ],
        );
        audit::for_each(&db.conn, filter, |r| {
            t.row(vec![
                rfc3339(r.time),
                safe(&r.os_user).into_owned(),
                opt(r.actor.as_deref()),
                safe(&r.action).into_owned(),
                safe(&r.username).into_owned(),
                safe(&r.outcome).into_owned(),
                opt(r.reason.as_deref()),
                opt(r.detail.as_deref()),
            ])?;
            Ok(())
        })?;
        t.finish()?;
    }
    Ok(())
}

/// An optional text cell: escaped, or "-".
fn opt(s: Option<&str>) -> String {
    s.map_or_else(|| "-".to_owned(), |s| safe(s).into_owned())
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
