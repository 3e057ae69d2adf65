//! Helper for `bench/mail.sh`: an SMTP sink on 127.0.0.1 and three SMTP clients that send N
//! notices like the ones `twofactl admin-reset` sends (composed by `twofactl::mail::compose`,
//! so the bytes are the same kind and size).
//!
//! ```text
//! bench_smtp sink                       serve on 127.0.0.1; print the port, then answer
//!                                       "count" on stdin with "MESSAGES CONNECTIONS";
//!                                       exit at end of stdin
//! bench_smtp per-message PORT N         lettre SmtpTransport (no pool): one new connection,
//!                                       EHLO, MAIL, RCPT, DATA, QUIT per message
//! bench_smtp lettre-reuse PORT N        lettre SmtpConnection::send over one connection
//!                                       (body and "\r\n.\r\n" in two writes)
//! bench_smtp twofactl-session PORT N    twofactl::mail::SmtpSession over one connection
//!                                       (what admin-reset uses, without the database)
//! ```
//!
//! The sink is the SMTP server of the integration tests (`tests/cli/smtp.rs`): a real
//! RFC 5321 server with one thread per connection, TCP_NODELAY and one write per reply.
//! A client prints one line to stdout: `sent N in SECONDS s (RATE msg/s)`, timing only the
//! sending loop (messages are composed beforehand).

#[allow(dead_code)]
#[path = "../tests/cli/smtp.rs"]
mod smtp;

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::client::SmtpConnection;
use lettre::transport::smtp::extension::ClientId;
use lettre::{SmtpTransport, Transport as _};
use twofactl::config::Security;
use twofactl::mail::{MailConfig, Notice, Outgoing, SmtpConfig, SmtpSession, Transport, compose};

const TIMEOUT: Duration = Duration::from_secs(30);

fn usage() -> ExitCode {
    eprintln!(
        "usage: bench_smtp sink | bench_smtp (per-message|lettre-reuse|twofactl-session) PORT N"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [mode] if mode == "sink" => sink(),
        [mode, port, n] => {
            let (Ok(port), Ok(n)) = (port.parse::<u16>(), n.parse::<usize>()) else {
                return usage();
            };
            match client(mode, port, n) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("bench_smtp: {mode}: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => usage(),
    }
}

fn sink() -> ExitCode {
    let server = smtp::Server::start(smtp::Options::default());
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{}", server.port)
        .and_then(|()| out.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        match line.trim() {
            "count" => {
                let n = server.messages().len();
                let c = server.connections();
                if writeln!(out, "{n} {c}").and_then(|()| out.flush()).is_err() {
                    break;
                }
            }
            "" => {}
            other => eprintln!("bench_smtp sink: unknown command {other:?}"),
        }
    }
    ExitCode::SUCCESS
}

fn mail_config(port: u16) -> MailConfig {
    MailConfig {
        transport: Transport::Smtp(SmtpConfig {
            host: "127.0.0.1".to_owned(),
            port,
            security: Security::None,
            username: None,
            password: None,
            ca_file: None,
            timeout: TIMEOUT,
            allow_insecure_auth: false,
        }),
        from: "Bench <no-reply@example.com>".parse().expect("a mailbox"),
        app_name: "Bench".to_owned(),
        app_url: None,
    }
}

/// N admin-reset notices to user0000001@example.com, ...
fn messages(cfg: &MailConfig, n: usize) -> Vec<Outgoing> {
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
    .unwrap_or(0);
    (1..=n)
        .map(|i| {
            let user = format!("user{i:07}");
            compose(
                cfg,
                &user,
                &format!("{user}@example.com"),
                &Notice::AdminReset {
                    reason: None,
                    signed_out: true,
                },
                now,
            )
            .expect("a valid address")
        })
        .collect()
}

fn client(mode: &str, port: u16, n: usize) -> Result<(), String> {
    let cfg = mail_config(port);
    let msgs = messages(&cfg, n);
    let envelope = |m: &Outgoing| {
        Envelope::new(Some(m.from.clone()), vec![m.to.clone()]).map_err(|e| e.to_string())
    };
    let start = Instant::now();
    match mode {
        "per-message" => {
            let transport = SmtpTransport::builder_dangerous("127.0.0.1")
                .port(port)
                .timeout(Some(TIMEOUT))
                .build();
            for m in &msgs {
                transport
                    .send_raw(&envelope(m)?, &m.bytes)
                    .map_err(|e| e.to_string())?;
            }
        }
        "lettre-reuse" => {
            let mut conn = SmtpConnection::connect(
                ("127.0.0.1", port),
                Some(TIMEOUT),
                &ClientId::default(),
                None,
                None,
            )
            .map_err(|e| e.to_string())?;
            for m in &msgs {
                conn.send(&envelope(m)?, &m.bytes)
                    .map_err(|e| e.to_string())?;
            }
            conn.quit().map_err(|e| e.to_string())?;
        }
        "twofactl-session" => {
            let Transport::Smtp(smtp) = &cfg.transport else {
                return Err("not an SMTP configuration".to_owned());
            };
            let mut session = SmtpSession::open(smtp, &mut |_, _| {}).map_err(|e| e.to_string())?;
            for m in &msgs {
                session.send(m).map_err(|e| e.to_string())?;
            }
            session.quit();
        }
        _ => return Err("unknown mode".to_owned()),
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "sent {n} in {secs:.3} s ({:.1} msg/s)",
        n as f64 / secs.max(1e-9)
    );
    Ok(())
}
