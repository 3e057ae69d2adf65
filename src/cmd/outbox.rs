//! `outbox list` / `outbox send`: show the notifications not yet delivered, and deliver
//! them (see `service::notify`).

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::Ctx;
use crate::cli::{OutboxAction, OutboxArgs};
use crate::db::outbox::{self, Scope};
use crate::db::{Mode, migrate};
use crate::output::{self, Table, rfc3339, safe};
use crate::service::notify;

/// `--retry-interrupted` leaves alone deliveries younger than this (they may still be running).
const INTERRUPTED_AFTER_SECS: i64 = 600;

#[derive(Serialize)]
struct JsonUnsent<'a> {
    id: i64,
    created: String,
    username: &'a str,
    recipient: &'a str,
    kind: &'a str,
    state: &'a str,
    attempts: i64,
    last_attempt: Option<String>,
    last_error: Option<&'a str>,
}

pub fn run(ctx: &Ctx, args: &OutboxArgs) -> Result<()> {
    match &args.action {
        OutboxAction::List => list(ctx),
        OutboxAction::Send(a) => send(ctx, a.retry_interrupted),
    }
}

fn list(ctx: &Ctx) -> Result<()> {
    let db = ctx.open_db(Mode::ReadOnly)?;
    if migrate::check(&db.conn)? < 2 {
        ctx.info("the outbox is empty");
        return Ok(());
    }
    let mut out = output::stdout();
    if ctx.json() {
        outbox::for_each_unsent(&db.conn, |u| {
            output::json_line(
                &mut out,
                &JsonUnsent {
                    id: u.id,
                    created: rfc3339(u.created),
                    username: &u.username,
                    recipient: &u.recipient,
                    kind: &u.kind,
                    state: u.state,
                    attempts: u.attempts,
                    last_attempt: u.last_attempt.map(rfc3339),
                    last_error: u.last_error.as_deref(),
                },
            )?;
            Ok(())
        })?;
        out.flush()?;
    } else {
        let mut t = Table::new(
            out,
            &[
                "ID",
                "QUEUED",
                "USER",
                "TO",
                "KIND",
                "STATE",
                "TRIES",
                "LAST ERROR",
            ],
        );
        let mut n = 0;
        outbox::for_each_unsent(&db.conn, |u| {
            n += 1;
            t.row(vec![
                u.id.to_string(),
                rfc3339(u.created),
                safe(&u.username).into_owned(),
                safe(&u.recipient).into_owned(),
                u.kind.clone(),
                u.state.to_owned(),
                u.attempts.to_string(),
                u.last_error
                    .as_deref()
                    .map_or("-".into(), |e| safe(e).into_owned()),
            ])?;
            Ok(())
        })?;
        if n == 0 {
            ctx.info("the outbox is empty");
            return Ok(());
        }
        t.finish()?;
    }
    Ok(())
}

fn send(ctx: &Ctx, retry_interrupted: bool) -> Result<()> {
    let db = ctx.open_db(Mode::ReadWrite)?;
    if migrate::check(&db.conn)? < 2 {
        ctx.info("the outbox is empty: nothing to send");
        return Ok(());
    }
    let mail = crate::mail::resolve(&ctx.config, &db.app_settings()?)?;
    let scope = Scope::All {
        interrupted_before: retry_interrupted.then(|| ctx.now() - INTERRUPTED_AFTER_SECS),
    };
    let _hold = ctx.env.interrupt.hold();
    let delivery = notify::deliver(&ctx.env, &db.conn, &mail, scope);
    let (_, interrupted) = outbox::counts(&db.conn)?;
    if ctx.json() {
        let mut out = output::stdout();
        output::json_line(
            &mut out,
            &serde_json::json!({
                "sent": delivery.sent,
                "failed": delivery.failed,
                "interrupted": interrupted,
            }),
        )?;
        out.flush()?;
    }
    ctx.info(format_args!(
        "sent {} message{}; {} failed",
        delivery.sent,
        if delivery.sent == 1 { "" } else { "s" },
        delivery.failed
    ));
    if interrupted > 0 && !retry_interrupted {
        ctx.info(format_args!(
            "{interrupted} message{} interrupted mid-delivery (see outbox list); resend with --retry-interrupted",
            if interrupted == 1 { " was" } else { "s were" }
        ));
    }
    delivery.into_result("message")
}
