//! Headless Chromium for the HTML report tests: found (or required, with
//! `IMDS_REQUIRE_CHROMIUM=1`), run with a timeout, its output drained.
#![allow(dead_code)]

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(90);

/// The browser, or `None` (with a message) when it is missing and not required.
pub fn chromium() -> Option<PathBuf> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var("IMDS_REQUIRE_CHROMIUM").as_deref() != Ok("1"),
            "IMDS_REQUIRE_CHROMIUM=1 but /usr/bin/chromium is missing (apt-get install -y chromium)"
        );
        eprintln!(
            "SKIPPED: headless Chromium test: /usr/bin/chromium not found \
             (apt-get install -y chromium; set IMDS_REQUIRE_CHROMIUM=1 to make this fatal)"
        );
    }
    found
}

/// Runs Chromium headless on `page` with `extra` arguments; returns its standard output.
pub fn run_chromium(bin: &Path, profile: &Path, page: &str, extra: &[String]) -> String {
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(page)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    // Drained on threads: a full pipe would stall Chromium until the timeout.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + CHROMIUM_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish within {CHROMIUM_TIMEOUT:?}; stderr:\n{}",
                err.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    assert!(
        status.success(),
        "chromium failed ({status}); stderr:\n{stderr}"
    );
    stdout
}
