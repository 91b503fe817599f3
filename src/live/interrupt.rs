//! Stopping a live run part-way: SIGINT/SIGTERM, or a credential that can no longer give a
//! token, halt new writes at once while the ones in flight finish; a second signal exits at once.
//!
//! The ARM client checks [`Stop`] before every write (and, after a credential failure, before
//! every request), so "no write after the signal" holds wherever a write comes from.

use std::sync::{
    Arc, OnceLock,
    atomic::{AtomicBool, Ordering},
};

use super::journal::Journal;

/// Why the run stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// `SIGINT` or `SIGTERM`.
    Signal(&'static str),
    /// The credential failed (an expired `AZURE_ACCESS_TOKEN`, a 401 that a new token cannot fix).
    Credential(String),
    /// The journal could not be written: no write may go out unrecorded.
    Journal(String),
}

impl Reason {
    pub fn describe(&self) -> String {
        match self {
            Reason::Signal(s) => format!("interrupted ({s})"),
            Reason::Credential(m) => format!("stopped: authentication failed: {m}"),
            Reason::Journal(m) => format!("stopped: {m}"),
        }
    }
}

/// The run's brake. Shared by the client, the executor and the signal watcher.
#[derive(Debug, Default)]
pub struct Stop {
    halted: AtomicBool,
    reason: OnceLock<Reason>,
    /// Set when writes may start: before that, a signal simply ends the process.
    writing: AtomicBool,
    journal: OnceLock<Arc<Journal>>,
}

impl Stop {
    /// Halts the run; the first reason wins. Returns whether this call halted it.
    pub fn halt(&self, reason: Reason) -> bool {
        let first = self.reason.set(reason).is_ok();
        self.halted.store(true, Ordering::SeqCst);
        first
    }

    pub fn is_halted(&self) -> bool {
        self.halted.load(Ordering::SeqCst)
    }

    pub fn reason(&self) -> Option<&Reason> {
        self.reason.get()
    }

    /// Writes may start from now on: a signal now waits for the writes in flight.
    pub fn begin_writes(&self) {
        self.writing.store(true, Ordering::SeqCst);
    }

    /// The journal to keep whole when a second signal ends the process.
    pub fn attach_journal(&self, journal: Arc<Journal>) {
        let _ = self.journal.set(journal);
    }

    #[cfg_attr(not(unix), allow(dead_code))]
    fn exit_now(&self, message: &str) -> ! {
        crate::note!("imds-migrate: {message}");
        match self.journal.get() {
            Some(j) => j.exit_now(EXIT_INTERRUPTED),
            None => std::process::exit(EXIT_INTERRUPTED),
        }
    }
}

/// Exit status of an interrupted run (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: i32 = 130;

/// Watches SIGINT and SIGTERM on a thread of its own: the first halts `stop` (or, before any
/// write could start, ends the process), the second ends the process at once.
#[cfg(unix)]
pub fn watch_signals(stop: Arc<Stop>) -> Result<(), String> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
        .map_err(|e| format!("cannot watch for SIGINT/SIGTERM: {e}"))?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                let name = if sig == SIGTERM { "SIGTERM" } else { "SIGINT" };
                on_signal(&stop, name);
            }
        })
        .map_err(|e| format!("cannot start the signal watcher: {e}"))?;
    Ok(())
}

/// Elsewhere Ctrl-C ends the process as usual; the journal reader tolerates a torn last line.
#[cfg(not(unix))]
pub fn watch_signals(stop: Arc<Stop>) -> Result<(), String> {
    let _ = stop;
    Ok(())
}

#[cfg_attr(not(unix), allow(dead_code))]
fn on_signal(stop: &Stop, name: &'static str) {
    if !stop.writing.load(Ordering::SeqCst) {
        if let Some(j) = stop.journal.get() {
            let _ = j.finish(true, serde_json::json!({"changes": 0}));
        }
        stop.exit_now(&format!("interrupted ({name}) before any change was made"));
    }
    if stop.is_halted() && matches!(stop.reason(), Some(Reason::Signal(_))) {
        let in_flight = stop.journal.get().map_or(0, |j| j.in_flight());
        let whereto = stop
            .journal
            .get()
            .map(|j| format!(" in {}", j.path().display()))
            .unwrap_or_default();
        stop.exit_now(&format!(
            "interrupted again ({name}): exiting now; {in_flight} write(s) in flight are recorded as sent but not confirmed{whereto}"
        ));
    }
    stop.halt(Reason::Signal(name));
    crate::note!(
        "imds-migrate: {name}: no new change will be started; waiting for the ones in flight (press Ctrl-C again to exit at once)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_reason_wins() {
        let s = Stop::default();
        assert!(!s.is_halted());
        assert!(s.halt(Reason::Signal("SIGINT")));
        assert!(!s.halt(Reason::Credential("x".into())));
        assert!(s.is_halted());
        assert_eq!(s.reason(), Some(&Reason::Signal("SIGINT")));
    }
}
