//! `request-reset USER`: step 1 of the self-service reset (see `service::request`): the
//! password from a hidden prompt or `--password-stdin`, then a code e-mailed to the user.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::{Ctx, find_user, shell_word};
use crate::cli::RequestResetArgs;
use crate::db::Mode;
use crate::error::{Exit, fail};
use crate::mail::address;
use crate::output::{self, rfc3339, safe};
use crate::prompt::read_stdin_line;
use crate::service::request;

#[derive(Serialize)]
struct JsonOut<'a> {
    username: &'a str,
    outcome: &'a str,
    email_masked: &'a str,
    expires: String,
}

pub fn run(ctx: &Ctx, args: &RequestResetArgs) -> Result<()> {
    let mut db = ctx.open_db(Mode::ReadWrite)?;
    let user = find_user(&db, &args.user)?;
    request::check_something_to_reset(&db, &user)?;
    let mail = crate::mail::resolve(&ctx.config, &db.app_settings()?)?;
    // The recipient must be mailable before anything is counted.
    address(&user.email).map_err(|e| {
        fail(
            Exit::Mail,
            format!("cannot e-mail {}: {e}", safe(&user.username)),
        )
        .hint("fix the user's e-mail address in the application, or use twofactl admin-reset")
    })?;
    // A locked user, or one out of requests, is told so before typing a password.
    request::precheck(&ctx.env, &mut db, &user)?;
    let password = if args.password_stdin {
        read_stdin_line("password")?
    } else {
        ctx.prompt.secret(
            &format!("Password of {}", safe(&user.username)),
            "--password-stdin",
        )?
    };
    let done = {
        let _hold = ctx.env.interrupt.hold();
        request::request(&ctx.env, &mut db, &user, &password, &mail)?
    };
    drop(password);
    if ctx.json() {
        let mut out = output::stdout();
        output::json_line(
            &mut out,
            &JsonOut {
                username: &user.username,
                outcome: "code_sent",
                email_masked: &done.email_masked,
                expires: rfc3339(done.expires),
            },
        )?;
        out.flush()?;
    } else {
        let mut out = output::stdout();
        writeln!(
            out,
            "A verification code was sent to {}; it expires at {}.",
            done.email_masked,
            rfc3339(done.expires)
        )?;
        out.flush()?;
        ctx.info(format_args!(
            "next: twofactl verify {} CODE",
            shell_word(&user.username)
        ));
    }
    Ok(())
}
