//! Delivering the notifications a change queued in the outbox, after its commit: claim a
//! batch, send it over one connection, settle it. Delivery never fails the run by itself:
//! whatever stops it (a refused message, the database busy while settling, Ctrl-C) is
//! reported in the [`Delivery`], the rest stays in the outbox for `outbox send`, and the
//! command prints every committed result before it exits 6.

use std::collections::{HashMap, HashSet};

use anyhow::Result;
use rusqlite::Connection;

use super::Env;
use crate::db::outbox::{self, Item, Scope};
use crate::error::{Exit, fail};
use crate::mail::{MailConfig, Mailer, Outgoing};

/// Messages claimed and settled per transaction.
const BATCH: usize = 100;

/// What a delivery run did.
#[derive(Debug, Default)]
pub struct Delivery {
    pub sent: u64,
    /// The ids of the messages that went out.
    pub delivered: HashSet<i64>,
    /// The error of each message that failed (it stays in the outbox).
    pub failed: HashMap<i64, String>,
    /// Ctrl-C stopped the run before every message was sent.
    pub interrupted: bool,
    /// Something other than a message stopped the run (e.g. the database was busy while
    /// claiming or settling a batch); what was not sent stays in the outbox.
    pub stopped: Option<String>,
}

impl Delivery {
    /// Whether every message in scope went out.
    pub fn complete(&self) -> bool {
        self.failed.is_empty() && !self.interrupted && self.stopped.is_none()
    }

    /// Whether the message `id` went out (it was neither refused nor left behind).
    pub fn delivered(&self, id: i64) -> bool {
        self.delivered.contains(&id)
    }

    /// Exit 6 when anything was not delivered, naming why.
    pub fn into_result(self, what: &str) -> Result<()> {
        let outbox = "they stay in the outbox: twofactl outbox send delivers them (check the mail settings first with twofactl doctor)";
        if self.interrupted {
            return Err(fail(
                Exit::Mail,
                format!("interrupted while sending {what}s; the change is committed"),
            )
            .hint(outbox)
            .into());
        }
        if let Some(why) = self.stopped {
            return Err(fail(
                Exit::Mail,
                format!("{what}s could not all be sent ({why}); the change is committed"),
            )
            .hint(outbox)
            .into());
        }
        let Some(first) = self.failed.values().min_by_key(|e| e.len()).cloned() else {
            return Ok(());
        };
        let n = self.failed.len();
        Err(fail(
            Exit::Mail,
            format!(
                "{n} {what}{} could not be sent: {first}",
                if n == 1 { "" } else { "s" }
            ),
        )
        .hint(outbox)
        .into())
    }
}

/// Deliver the queued messages in `scope`, one connection for the whole run.
pub fn deliver(env: &Env, conn: &mut Connection, mail: &MailConfig, scope: Scope) -> Delivery {
    let mut mailer = Mailer::new(mail);
    let mut report = Delivery::default();
    let mut after = i64::MIN;
    loop {
        if env.interrupt.requested() {
            report.interrupted = true;
            break;
        }
        let batch = match outbox::claim(conn, scope, after, BATCH, env.now()) {
            Ok(b) => b,
            Err(e) => {
                report.stopped = Some(format!("{e:#}"));
                break;
            }
        };
        let Some(last) = batch.last() else { break };
        after = last.id;
        let outcomes = send_batch(env, &mut mailer, &batch, &mut report);
        if let Err(e) = outbox::settle(conn, &outcomes, env.now()) {
            report.stopped = Some(format!("{e:#}"));
            break;
        }
    }
    mailer.finish();
    report
}

/// Send a claimed batch; stop at Ctrl-C, returning the unsent rest to the outbox as it was.
fn send_batch(
    env: &Env,
    mailer: &mut Mailer<'_>,
    batch: &[Item],
    report: &mut Delivery,
) -> Vec<(i64, outbox::Outcome)> {
    let mut outcomes = Vec::with_capacity(batch.len());
    for item in batch {
        if env.interrupt.requested() {
            report.interrupted = true;
            outcomes.push((item.id, outbox::Outcome::Unsent));
            continue;
        }
        let msg = match (item.sender.parse(), item.recipient.parse()) {
            (Ok(from), Ok(to)) => Outgoing {
                from,
                to,
                bytes: item.message.clone(),
            },
            _ => {
                let e = "invalid address in the outbox".to_owned();
                report.failed.insert(item.id, e.clone());
                outcomes.push((item.id, outbox::Outcome::Failed(e)));
                continue;
            }
        };
        match mailer.send(&msg) {
            Ok(()) => {
                report.sent += 1;
                report.delivered.insert(item.id);
                outcomes.push((item.id, outbox::Outcome::Sent));
            }
            Err(e) => {
                report.failed.insert(item.id, e.message.clone());
                outcomes.push((item.id, outbox::Outcome::Failed(e.message)));
            }
        }
    }
    outcomes
}
