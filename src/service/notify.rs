//! Delivering the notifications a change queued in the outbox, after its commit: claim a
//! batch, send it over one connection, settle it. Delivery never fails the run by itself:
//! whatever stops it (a refused message, the database busy while settling, Ctrl-C) is
//! reported in the [`Delivery`], the rest stays in the outbox for `outbox send`, and the
//! command prints every committed result before it exits 6.

use crate::db::sql::Sql;
use anyhow::Result;

use super::Env;
use crate::db::outbox::{self, Item, Scope};
use crate::error::{Exit, fail};
use crate::mail::{MailConfig, Mailer, Outgoing};

/// Messages claimed and settled per transaction.
const BATCH: usize = 100;

/// What a delivery run did. Its size does not grow with the number of messages sent: a run
/// takes them in id order, so the ids that went out are kept as ranges, and a failure as a
/// count (and the shortest error, for the message).
#[derive(Debug, Default)]
pub struct Delivery {
    pub sent: u64,
    /// The ids of the messages that went out, as ranges of consecutive ids, ascending.
    delivered: Vec<(i64, i64)>,
    /// How many messages failed (they stay in the outbox).
    pub failed: u64,
    /// The shortest error among the failed messages.
    failure: Option<String>,
    /// Ctrl-C stopped the run before every message was sent.
    pub interrupted: bool,
    /// Something other than a message stopped the run (e.g. the database was busy while
    /// claiming or settling a batch); what was not sent stays in the outbox.
    pub stopped: Option<String>,
}

impl Delivery {
    /// Whether every message in scope went out.
    pub fn complete(&self) -> bool {
        self.failed == 0 && !self.interrupted && self.stopped.is_none()
    }

    /// Whether the message `id` went out (it was neither refused nor left behind), also when
    /// the database was too busy to record it as sent.
    pub fn delivered(&self, id: i64) -> bool {
        let i = self.delivered.partition_point(|&(_, hi)| hi < id);
        self.delivered.get(i).is_some_and(|&(lo, _)| lo <= id)
    }

    fn went_out(&mut self, id: i64) {
        self.sent += 1;
        match self.delivered.last_mut() {
            Some((_, hi)) if id.checked_sub(1) == Some(*hi) => *hi = id,
            _ => self.delivered.push((id, id)),
        }
    }

    fn refused(&mut self, error: &str) {
        self.failed += 1;
        if self.failure.as_ref().is_none_or(|f| error.len() < f.len()) {
            self.failure = Some(error.to_owned());
        }
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
        let Some(first) = self.failure else {
            return Ok(());
        };
        let n = self.failed;
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
pub fn deliver(env: &Env, conn: &dyn Sql, mail: &MailConfig, scope: Scope) -> Delivery {
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
                let e = "invalid address in the outbox";
                report.refused(e);
                outcomes.push((item.id, outbox::Outcome::Failed(e.to_owned())));
                continue;
            }
        };
        match mailer.send(&msg) {
            Ok(()) => {
                report.went_out(item.id);
                outcomes.push((item.id, outbox::Outcome::Sent));
            }
            Err(e) => {
                report.refused(&e.message);
                outcomes.push((item.id, outbox::Outcome::Failed(e.message)));
            }
        }
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivered_ids_are_kept_as_ranges() {
        let mut d = Delivery::default();
        for id in [3, 4, 5, 7, 8, 11] {
            d.went_out(id);
        }
        d.refused("550 no such user: c@example.com");
        d.refused("451 try later");
        d.refused("554 refused: a much longer reason");
        assert_eq!(d.delivered, [(3, 5), (7, 8), (11, 11)]);
        let went: Vec<i64> = (0..14).filter(|&id| d.delivered(id)).collect();
        assert_eq!(went, [3, 4, 5, 7, 8, 11]);
        assert_eq!((d.sent, d.failed), (6, 3));
        assert!(!d.complete());
        let e = d.into_result("notification").unwrap_err().to_string();
        assert_eq!(e, "3 notifications could not be sent: 451 try later");
        assert!(Delivery::default().into_result("message").is_ok());
    }
}
