//! Ctrl-C, handled so that a committed change is always reported. While nothing is at stake
//! (start-up, a prompt before any change), Ctrl-C restores the terminal and exits 130 at
//! once: every write is one SQLite transaction, so the journal undoes a half-made one. While
//! a run holds the interrupt (staging files that hold a key, a transaction about to commit,
//! delivering what a commit queued), Ctrl-C only raises a flag: the run stops at its next
//! safe point, removes what it staged, prints what committed, and exits 130 (nothing
//! committed) or 6 (committed, delivery incomplete).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Exit, Failure, fail};

/// What to print, and how to exit, when Ctrl-C ends the run at a prompt.
#[derive(Debug, Clone)]
pub struct Note {
    /// Printed on stdout first (e.g. the one JSON object of a run that committed something).
    pub stdout: Option<String>,
    /// Printed on stderr (e.g. "the key stays pending; confirm it later with ...").
    pub stderr: String,
    pub exit: Exit,
}

struct Inner {
    requested: AtomicBool,
    holds: AtomicUsize,
    note: Mutex<Option<Note>>,
    restore: Mutex<Box<dyn Fn() + Send>>,
}

/// The run's view of Ctrl-C; cheap to clone.
#[derive(Clone)]
pub struct Interrupt {
    inner: Arc<Inner>,
}

impl Interrupt {
    /// A handle whose `restore` puts the terminal back before an immediate exit. Not yet
    /// connected to the signal: see [`Interrupt::on_signal`].
    pub fn new(restore: impl Fn() + Send + 'static) -> Interrupt {
        Interrupt {
            inner: Arc::new(Inner {
                requested: AtomicBool::new(false),
                holds: AtomicUsize::new(0),
                note: Mutex::new(None),
                restore: Mutex::new(Box::new(restore)),
            }),
        }
    }

    /// What the signal handler runs. Returns the exit code when the process is to end now
    /// (nothing is held), after restoring the terminal and printing the note.
    pub fn on_signal(&self) -> Option<Exit> {
        self.inner.requested.store(true, Ordering::SeqCst);
        if self.inner.holds.load(Ordering::SeqCst) > 0 {
            return None;
        }
        if let Ok(restore) = self.inner.restore.lock() {
            restore();
        }
        let note = self.inner.note.lock().ok().and_then(|n| n.clone());
        // A prompt leaves the cursor on its line: end it.
        eprintln!();
        match note {
            Some(n) => {
                if let Some(out) = &n.stdout {
                    use std::io::Write;
                    let mut stdout = std::io::stdout().lock();
                    let _ = stdout.write_all(out.as_bytes());
                    let _ = stdout.flush();
                }
                eprintln!("{}", n.stderr);
                Some(n.exit)
            }
            None => {
                eprintln!("twofactl: interrupted; nothing changed");
                Some(Exit::Interrupted)
            }
        }
    }

    /// Whether Ctrl-C was pressed.
    pub fn requested(&self) -> bool {
        self.inner.requested.load(Ordering::SeqCst)
    }

    /// Stop here when Ctrl-C was pressed (nothing committed yet: exit 130).
    pub fn check(&self) -> Result<(), Failure> {
        if self.requested() {
            Err(interrupted())
        } else {
            Ok(())
        }
    }

    /// Until the guard drops, Ctrl-C only raises the flag.
    pub fn hold(&self) -> Hold {
        self.inner.holds.fetch_add(1, Ordering::SeqCst);
        Hold {
            inner: self.inner.clone(),
        }
    }

    /// Until the guard drops, an immediate exit prints `note` and exits with its code.
    pub fn note(&self, note: Note) -> NoteGuard {
        if let Ok(mut n) = self.inner.note.lock() {
            *n = Some(note);
        }
        NoteGuard {
            inner: self.inner.clone(),
        }
    }
}

/// The failure for a run stopped by Ctrl-C before anything committed.
pub fn interrupted() -> Failure {
    fail(Exit::Interrupted, "interrupted; nothing changed")
}

/// See [`Interrupt::hold`].
pub struct Hold {
    inner: Arc<Inner>,
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.inner.holds.fetch_sub(1, Ordering::SeqCst);
    }
}

/// See [`Interrupt::note`].
pub struct NoteGuard {
    inner: Arc<Inner>,
}

impl Drop for NoteGuard {
    fn drop(&mut self) {
        if let Ok(mut n) = self.inner.note.lock() {
            *n = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_interrupt_only_raises_the_flag() {
        let i = Interrupt::new(|| {});
        let hold = i.hold();
        assert_eq!(i.on_signal(), None);
        assert!(i.requested());
        assert!(i.check().is_err());
        drop(hold);
        assert_eq!(i.on_signal(), Some(Exit::Interrupted));
    }

    #[test]
    fn a_note_sets_the_exit_code() {
        let i = Interrupt::new(|| {});
        let _n = i.note(Note {
            stdout: None,
            stderr: "pending".into(),
            exit: Exit::Mail,
        });
        assert_eq!(i.on_signal(), Some(Exit::Mail));
    }
}
