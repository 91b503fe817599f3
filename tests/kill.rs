//! `fix` killed with SIGKILL at random moments: every file is its old content or its new, never
//! a mix or a truncation, and the next run cleans up and finishes the job.
#![cfg(unix)]

use std::{
    fs,
    path::Path,
    process::{Command, Stdio},
    thread,
    time::Duration,
};

const FILES: usize = 3000;

fn original(i: usize) -> String {
    let nl = if i.is_multiple_of(3) { "\r\n" } else { "\n" };
    format!(
        "import requests{nl}{nl}def token_{i}():{nl}    return requests.get(\"http://localhost:50342/oauth2/token?resource=https://vault.azure.net/{i}\", headers={{\"Metadata\": \"true\"}}){nl}"
    )
}

fn fixed(i: usize) -> String {
    original(i).replace(
        "http://localhost:50342/oauth2/token?resource=",
        "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=",
    )
}

fn path(dir: &Path, i: usize) -> std::path::PathBuf {
    dir.join(format!("d{}/f{i}.py", i % 30))
}

fn check_tree(dir: &Path) -> (usize, usize) {
    let (mut old, mut new) = (0, 0);
    for i in 0..FILES {
        let p = path(dir, i);
        let text = fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        if text == original(i) {
            old += 1;
        } else if text == fixed(i) {
            new += 1;
        } else {
            panic!("{} is neither original nor fixed:\n{text}", p.display());
        }
    }
    (old, new)
}

fn temps(dir: &Path) -> usize {
    let mut n = 0;
    for d in fs::read_dir(dir).unwrap() {
        let d = d.unwrap().path();
        if d.is_dir() {
            n += fs::read_dir(&d)
                .unwrap()
                .filter(|e| {
                    imds_migrate::fix::writer::is_temp_name(&e.as_ref().unwrap().file_name())
                })
                .count();
        }
    }
    n
}

#[test]
fn sigkill_never_leaves_a_half_written_file() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..FILES {
        let p = path(dir.path(), i);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, original(i)).unwrap();
    }
    // `fix` writes files in path order: the first still-original one tells when writing began.
    let mut order: Vec<usize> = (0..FILES).collect();
    order.sort_by_key(|i| format!("d{}/f{i}.py", i % 30));
    let mut rng = fastrand::Rng::with_seed(7);
    let mut interrupted_mid_write = 0;
    for _ in 0..6 {
        let Some(&next) = order
            .iter()
            .find(|&&i| fs::read_to_string(path(dir.path(), i)).unwrap() == original(i))
        else {
            break;
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_imds-migrate"))
            .arg("fix")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..20_000 {
            if fs::read_to_string(path(dir.path(), next)).unwrap() != original(next)
                || child.try_wait().unwrap().is_some()
            {
                break;
            }
            thread::sleep(Duration::from_millis(1));
        }
        thread::sleep(Duration::from_millis(rng.u64(0..60)));
        // SIGKILL: no chance to clean up.
        let _ = child.kill();
        let _ = child.wait();
        let (old, new) = check_tree(dir.path());
        eprintln!("killed: {old} original, {new} fixed");
        if old > 0 && new > 0 {
            interrupted_mid_write += 1;
        }
    }
    assert!(
        interrupted_mid_write > 0,
        "no kill landed while files were being written"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_imds-migrate"))
        .arg("fix")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(check_tree(dir.path()), (0, FILES));
    assert_eq!(temps(dir.path()), 0, "stale temporary files are cleaned up");
}
