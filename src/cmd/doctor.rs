//! `doctor`: check the configuration, the database and its schema mapping, twofactl's own
//! tables and outbox, and the mail transport (for SMTP: connect, EHLO, STARTTLS or TLS, AUTH)
//! without sending mail, unless `--send-test ADDRESS` asks for one message.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::Ctx;
use crate::cli::DoctorArgs;
use crate::config::Database;
use crate::config::{AppSettings, Security};
use crate::db::pg::sql::Pg;
use crate::db::pg::{Target, read};
use crate::db::{Db, Engine, Mode, migrate, outbox, users};
use crate::error::{Exit, Failure, fail};
use crate::mail::{MailConfig, Mailer, SmtpSession, Transport, compose_test};
use crate::output;

#[derive(Serialize)]
struct Check {
    check: String,
    ok: bool,
    detail: String,
}

struct Report {
    checks: Vec<Check>,
    /// The exit code of the first failure.
    first_failure: Option<Exit>,
}

impl Report {
    fn add(&mut self, check: &str, result: Result<String, (Exit, String)>) {
        let (ok, detail) = match result {
            Ok(d) => (true, d),
            Err((code, d)) => {
                self.first_failure.get_or_insert(code);
                (false, d)
            }
        };
        self.checks.push(Check {
            check: check.to_owned(),
            ok,
            detail,
        });
    }
}

/// The message and exit code of an error, for a report line.
fn describe(e: &anyhow::Error) -> (Exit, String) {
    let code = e
        .chain()
        .find_map(|c| c.downcast_ref::<Failure>().map(|f| f.code))
        .unwrap_or(Exit::Failure);
    (code, format!("{e:#}").replace('\n', " "))
}

pub fn run(ctx: &Ctx, args: &DoctorArgs) -> Result<()> {
    let mut r = Report {
        checks: Vec::new(),
        first_failure: None,
    };
    let files = &ctx.config.files;
    r.add(
        "config",
        Ok(if files.is_empty() {
            "no config file; defaults and the application's settings apply".to_owned()
        } else {
            files
                .iter()
                .map(|f| absolute(f).display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }),
    );
    let settings = check_database(ctx, &mut r);
    match crate::mail::resolve(&ctx.config, &settings.unwrap_or_default()) {
        Err(e) => r.add("mail", Err(describe(&e))),
        Ok(mail) => {
            check_mail(&mail, &mut r);
            if let Some(to) = &args.send_test
                && r.first_failure.is_none()
            {
                let result = compose_test(&mail, to, ctx.now())
                    .map_err(|e| (Exit::Usage, e.to_string()))
                    .and_then(|msg| {
                        let mut mailer = Mailer::new(&mail);
                        let sent = mailer.send(&msg).map_err(|e| (Exit::Mail, e.message));
                        mailer.finish();
                        sent.map(|()| format!("test message accepted for {to}"))
                    });
                r.add("send test", result);
            }
        }
    }
    print(ctx, &r)?;
    match r.first_failure {
        None => Ok(()),
        Some(code) => {
            let n = r.checks.iter().filter(|c| !c.ok).count();
            Err(fail(
                code,
                format!("{n} check{} failed", if n == 1 { "" } else { "s" }),
            )
            .into())
        }
    }
}

/// The database, its schema mapping and twofactl's tables; the application's settings.
fn check_database(ctx: &Ctx, r: &mut Report) -> Option<AppSettings> {
    let db = match ctx.open_db(Mode::ReadOnly) {
        Err(e) => {
            r.add("database", Err(describe(&e)));
            return None;
        }
        Ok(db) => db,
    };
    if let Engine::Postgres(pg) = &db.conn {
        return check_postgres(ctx, &db, pg, r);
    }
    r.add(
        "application",
        Ok(format!(
            "profile {} (its tables and columns are there)",
            db.app.profile
        )),
    );
    let users = users::count(&db.conn, &db.app);
    r.add(
        "database",
        users
            .map(|n| {
                format!(
                    "{}: schema mapping ok, {n} users",
                    absolute(&db.path).display()
                )
            })
            .map_err(|e| describe(&e)),
    );
    match migrate::check(&db.conn) {
        Ok(0) => r.add(
            "twofactl tables",
            Ok("not created yet (made on the first change)".to_owned()),
        ),
        Ok(v) => {
            let counts = if v >= 2 {
                outbox::counts(&db.conn).ok()
            } else {
                Some((0, 0))
            };
            let detail = match counts {
                Some((0, 0)) => format!("version {v}; outbox empty"),
                Some((p, i)) => format!(
                    "version {v}; outbox: {p} pending, {i} interrupted (twofactl outbox list)"
                ),
                None => format!("version {v}"),
            };
            r.add("twofactl tables", Ok(detail));
        }
        Err(e) => r.add("twofactl tables", Err(describe(&e))),
    }
    match db.app_settings() {
        Ok(s) => Some(s),
        Err(e) => {
            r.add("application settings", Err(describe(&e)));
            None
        }
    }
}

/// A PostgreSQL database: the server and TLS, the profile, the role's rights, the users,
/// twofactl's tables.
fn check_postgres(ctx: &Ctx, db: &Db, pg: &Pg, r: &mut Report) -> Option<AppSettings> {
    // The URL parsed when the database was opened, so it parses again.
    let sslmode = match ctx.config.require_database() {
        Ok(Database::Url(url)) => Target::parse(url).ok().map(|t| t.sslmode.as_str()),
        _ => None,
    }
    .unwrap_or("?");
    let tls = match read::session(&mut *pg.client().ok()?) {
        Ok((version, Some(tls))) => Ok(format!(
            "PostgreSQL {version} at {}; TLS: {tls} (sslmode {sslmode})",
            db.path.display()
        )),
        Ok((version, None)) => Ok(format!(
            "PostgreSQL {version} at {}; TLS: not encrypted (sslmode {sslmode})",
            db.path.display()
        )),
        Err(e) => Err(describe(&e)),
    };
    r.add("database", tls);
    r.add(
        "application",
        Ok(format!(
            "profile {} (its tables and columns are there)",
            db.app.profile
        )),
    );
    r.add(
        "rights",
        match read::unreadable(&mut *pg.client().ok()?, &db.app) {
            Ok(missing) if missing.is_empty() => {
                Ok("the role may read every table the profile maps".to_owned())
            }
            Ok(missing) => Err((
                Exit::Config,
                format!(
                    "the role may not read {} (GRANT SELECT ON them)",
                    missing.join(", ")
                ),
            )),
            Err(e) => Err(describe(&e)),
        },
    );
    r.add(
        "users",
        users::count(&db.conn, &db.app)
            .map(|n| format!("{n} users"))
            .map_err(|e| describe(&e)),
    );
    r.add(
        "rights to change",
        match read::unwritable(&mut *pg.client().ok()?, &db.app) {
            Ok(missing) if missing.is_empty() => Ok(
                "the role may change what a reset and an enrolment change, and keep twofactl's tables"
                    .to_owned(),
            ),
            Ok(missing) => Err((
                Exit::Config,
                format!(
                    "the role may not change what twofactl changes: GRANT {}",
                    missing.join(", ")
                ),
            )),
            Err(e) => Err(describe(&e)),
        },
    );
    r.add(
        "twofactl tables",
        match migrate::check(&db.conn) {
            Ok(0) => Ok("none yet: the first change creates them".to_owned()),
            Ok(v) => Ok(format!("version {v}")),
            Err(e) => Err(describe(&e)),
        },
    );
    match db.app_settings() {
        Ok(s) => Some(s),
        Err(e) => {
            r.add("application settings", Err(describe(&e)));
            None
        }
    }
}

/// The mail transport: for SMTP, every step of a session short of sending.
fn check_mail(mail: &MailConfig, r: &mut Report) {
    let from = mail.from.to_string();
    match &mail.transport {
        Transport::Smtp(smtp) => {
            let security = match smtp.security {
                Security::None => "no TLS",
                Security::Starttls => "STARTTLS",
                Security::Tls => "TLS",
            };
            let login = smtp
                .username
                .as_deref()
                .map_or("no login".to_owned(), |u| format!("login {u}"));
            r.add(
                "mail",
                Ok(format!(
                    "SMTP via {} ({security}, {login}), from {from}",
                    smtp.server()
                )),
            );
            let mut steps = Vec::new();
            let session =
                SmtpSession::open(smtp, &mut |step, res| steps.push((step.to_owned(), res)));
            for (step, res) in steps {
                r.add(&format!("smtp {step}"), res.map_err(|e| (Exit::Mail, e)));
            }
            if let Ok(s) = session {
                s.quit();
            }
        }
        Transport::Sendmail { command, .. } => r.add(
            "mail",
            if command.is_file() {
                Ok(format!("sendmail via {}, from {from}", command.display()))
            } else {
                Err((
                    Exit::Config,
                    format!("sendmail command {} not found", command.display()),
                ))
            },
        ),
        Transport::File { dir } => r.add(
            "mail",
            Ok(format!(
                "file: one .eml per message in {}, from {from}",
                absolute(dir).display()
            )),
        ),
    }
}

/// A path as the operator should see it: absolute (relative to where twofactl runs).
fn absolute(p: &std::path::Path) -> std::path::PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_owned())
}

fn print(ctx: &Ctx, r: &Report) -> Result<()> {
    let mut out = output::stdout();
    if ctx.json() {
        let ok = r.first_failure.is_none();
        output::json_line(
            &mut out,
            &serde_json::json!({ "ok": ok, "checks": r.checks }),
        )?;
    } else {
        let width = r.checks.iter().map(|c| c.check.len()).max().unwrap_or(0);
        for c in &r.checks {
            writeln!(
                out,
                "{:<4}  {:<width$}  {}",
                if c.ok { "ok" } else { "FAIL" },
                c.check,
                output::safe(&c.detail)
            )?;
        }
    }
    out.flush()?;
    Ok(())
}
