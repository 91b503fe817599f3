//! Discovery progress on a terminal: subscriptions, VMs and scale sets examined, extensions found
//! (a spinner on stderr; nothing at all when stderr is not a terminal).

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

#[derive(Debug, Default)]
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    subscriptions: AtomicUsize,
    vms: AtomicUsize,
    scale_sets: AtomicUsize,
    found: AtomicUsize,
}

impl Progress {
    /// A spinner when `terminal`, else a counter that shows nothing.
    pub fn new(terminal: bool) -> Self {
        let bar = terminal.then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] discovering: {msg}",
            ) {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let p = Progress {
            bar,
            ..Progress::default()
        };
        p.refresh();
        p
    }

    pub fn subscriptions(&self, n: usize) {
        self.subscriptions.fetch_add(n, Ordering::Relaxed);
        self.refresh();
    }

    pub fn vm(&self) {
        self.vms.fetch_add(1, Ordering::Relaxed);
        self.refresh();
    }

    pub fn scale_set(&self) {
        self.scale_sets.fetch_add(1, Ordering::Relaxed);
        self.refresh();
    }

    pub fn found(&self, n: usize) {
        if n > 0 {
            self.found.fetch_add(n, Ordering::Relaxed);
            self.refresh();
        }
    }

    /// `2 subscription(s), 40 VM(s), 3 scale set(s) examined; 5 extension(s) found`.
    pub fn message(&self) -> String {
        format!(
            "{} subscription(s), {} VM(s), {} scale set(s) examined; {} extension(s) found",
            self.subscriptions.load(Ordering::Relaxed),
            self.vms.load(Ordering::Relaxed),
            self.scale_sets.load(Ordering::Relaxed),
            self.found.load(Ordering::Relaxed)
        )
    }

    fn refresh(&self) {
        if let Some(bar) = &self.bar {
            bar.set_message(self.message());
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        let p = Progress::new(false);
        p.subscriptions(2);
        p.vm();
        p.scale_set();
        p.found(3);
        p.found(0);
        assert_eq!(
            p.message(),
            "2 subscription(s), 1 VM(s), 1 scale set(s) examined; 3 extension(s) found"
        );
    }
}
