//! Who is running: a name for this process that another run can check for liveness later
//! (the sender of a reset code records it), and the OS user for audit rows.

/// This process as `BOOT_ID:PID:START`, where START is its start time in clock ticks since
/// boot (`/proc/self/stat`), so that a reused pid is not mistaken for it. On systems without
/// `/proc`, only `-:PID:-`.
pub fn this_process() -> String {
    let boot = boot_id().unwrap_or_else(|| "-".to_owned());
    let pid = std::process::id();
    let start = start_time(pid).map_or_else(|| "-".to_owned(), |t| t.to_string());
    format!("{boot}:{pid}:{start}")
}

/// Whether the process named by [`this_process`] has ended: `Some(true)` when it certainly
/// has (same boot, and its pid is gone or now names another process), `Some(false)` when it
/// still runs, `None` when this cannot be told from here (another machine or boot, no `/proc`).
pub fn has_ended(sender: &str) -> Option<bool> {
    let mut parts = sender.splitn(3, ':');
    let (boot, pid, start) = (parts.next()?, parts.next()?, parts.next()?);
    if boot == "-" || start == "-" || Some(boot) != boot_id().as_deref() {
        return None;
    }
    let pid: u32 = pid.parse().ok()?;
    let start: u64 = start.parse().ok()?;
    Some(start_time(pid) != Some(start))
}

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty() && !s.contains(':'))
}

/// Field 22 of `/proc/PID/stat` (after the command name, which may hold spaces and parens).
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.split_whitespace().nth(19)?.parse().ok()
}

/// The OS user for audit rows: the login name, and who ran sudo when it was sudo.
pub fn os_user() -> String {
    let user = whoami::username().unwrap_or_else(|_| "unknown".to_owned());
    match std::env::var("SUDO_USER") {
        Ok(s) if !s.is_empty() && s != user => format!("{user} (sudo by {s})"),
        _ => user,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_dead_one_is_not() {
        let me = this_process();
        if me.starts_with('-') {
            return; // no /proc here: liveness cannot be told, and has_ended says so
        }
        assert_eq!(has_ended(&me), Some(false));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let start = me.rsplit(':').next().unwrap();
        let boot = me.split(':').next().unwrap();
        assert_eq!(has_ended(&format!("{boot}:{pid}:{start}")), Some(true));
        assert_eq!(has_ended(&format!("other-boot:{pid}:{start}")), None);
    }
}
