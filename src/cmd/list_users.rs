//! `list-users`: users and their 2FA state, streamed as an aligned table, JSON Lines or CSV.
//! Never a secret: the TOTP key and password hash are not even selected.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::Ctx;
use crate::cli::{Format, ListUsersArgs, Status};
use crate::db::{Mode, migrate, users};
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
    match s {
        Status::Enabled => "enabled",
        Status::Pending => "pending",
        Status::Disabled => "disabled",
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

pub fn run(ctx: &Ctx, args: &ListUsersArgs) -> Result<()> {
    let db = ctx.open_db(Mode::ReadOnly)?;
    let own = migrate::check(&db.conn)?;
    let filter = users::Filter {
        status: args.status,
        admins: args.admins,
        pattern: args.pattern.as_deref(),
        limit: args.limit,
    };
    let mut out = output::stdout();
    let opt_time = |t: Option<i64>| t.map(rfc3339);
    match ctx.format {
        Format::Json => {
            users::for_each(&db.conn, &db.names, own, ctx.now, &filter, |r| {
                let row = JsonRow {
                    id: r.id,
                    username: &r.username,
                    email: &r.email,
                    is_admin: r.is_admin,
                    status: status_name(r.status),
                    reset_open_until: opt_time(r.reset_open_until),
                    last_2fa_change: opt_time(r.last_2fa_change),
                };
                serde_json::to_writer(&mut out, &row)?;
                out.write_all(b"\n")?;
                Ok(())
            })?;
            out.flush()?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(HEADER)?;
            let mut id = itoa::Buffer::new();
            users::for_each(&db.conn, &db.names, own, ctx.now, &filter, |r| {
                let open = opt_time(r.reset_open_until).unwrap_or_default();
                let last = opt_time(r.last_2fa_change).unwrap_or_default();
                w.write_record([
                    id.format(r.id),
                    &r.username,
                    &r.email,
                    if r.is_admin { "true" } else { "false" },
                    status_name(r.status),
                    &open,
                    &last,
                ])?;
                Ok(())
            })?;
            w.flush()?;
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
            users::for_each(&db.conn, &db.names, own, ctx.now, &filter, |r| {
                n += 1;
                let dash = || "-".to_owned();
                t.row(vec![
                    r.id.to_string(),
                    safe(&r.username).into_owned(),
                    safe(&r.email).into_owned(),
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
