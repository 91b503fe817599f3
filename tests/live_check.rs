//! `live check` and `remove --check-guest`: the Linux script run for real with bash against a
//! planted listener, client and config file; the whole command against the ARM emulator's Run
//! Command (202 + polling, Linux and Windows result shapes, per-machine outcomes, 4 KB tail).

#[path = "support/arm_emulator.rs"]
mod arm_emulator;
#[path = "support/live_cli.rs"]
mod live_cli;

use std::{
    io::Read,
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use arm_emulator::{Config, Emulator, Guest, MI_LINUX, MI_PUBLISHER, MI_WINDOWS, ext, mi};
use imds_migrate::live::check::{
    parse,
    script::LINUX,
    verdict::{GuestCheck, Verdict},
};
use serde_json::{Value, json};

const SUB: &str = "11111111-2222-3333-4444-555555555555";

// ---------------------------------------------------------------------------------------------
// The Linux script, for real.

/// A loopback listener standing in for the extension's token service; keeps what it accepts.
struct Listener {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Listener {
    fn start() -> Listener {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().unwrap().port();
        l.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            while !stop2.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((s, _)) => held.push(s),
                    Err(_) => thread::sleep(Duration::from_millis(20)),
                }
                held.retain_mut(|s| {
                    s.set_nonblocking(true).ok();
                    let mut b = [0u8; 64];
                    !matches!(s.read(&mut b), Ok(0))
                });
            }
        });
        Listener { port, stop }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// A client process named `tokenclient` (bash under another name) that keeps connecting to the
/// port, holding each connection a moment.
struct Client(Child);

impl Client {
    fn start(dir: &Path, port: u16) -> Client {
        let exe = dir.join("tokenclient");
        std::os::unix::fs::symlink(which("bash").expect("bash"), &exe).unwrap();
        let child = Command::new(&exe)
            .arg("-c")
            .arg(format!(
                "while :; do exec 3<>/dev/tcp/127.0.0.1/{port} || exit 1; read -t 1.5 -u 3; exec 3>&-; done"
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start client");
        Client(child)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(tool))
        .find(|p| p.is_file())
}

/// Runs the embedded script with bash as Run Command would (`script PORT SAMPLE DIRS`) and
/// reads it the way the tool reads Azure's Linux result.
fn run_script(port: u16, dirs: &Path, path_env: Option<&Path>) -> (String, GuestCheck) {
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("script.sh");
    std::fs::write(&script, LINUX).unwrap();
    let mut cmd = Command::new(which("bash").expect("bash"));
    cmd.arg(&script)
        .arg(port.to_string())
        .arg("2")
        .arg(dirs)
        .env_remove("PORT")
        .env_remove("SEARCH_DIRS");
    if let Some(p) = path_env {
        cmd.env("PATH", p);
    }
    let start = Instant::now();
    let out = cmd.output().expect("run bash");
    assert!(
        start.elapsed() < Duration::from_secs(40),
        "the script is bounded"
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stdout.len() < 4096, "fits Azure's 4 KB tail:\n{stdout}");
    let result = json!({"value": [{"code": "ProvisioningState/succeeded", "message": format!("Enable succeeded: \n[stdout]\n{stdout}\n[stderr]\n{}", String::from_utf8_lossy(&out.stderr))}]});
    (stdout.clone(), parse::result(&result, port))
}

fn planted(dir: &Path, port: u16) -> PathBuf {
    let app = dir.join("app");
    std::fs::create_dir_all(&app).unwrap();
    let conf = app.join("appsettings.json");
    std::fs::write(
        &conf,
        format!(
            "{{\"Identity\": {{\"TokenEndpoint\": \"http://localhost:{port}/oauth2/token\", \"Secret\": \"do-not-print-me\"}}}}\n"
        ),
    )
    .unwrap();
    // Look-alikes: the IMDS endpoint, another port, a binary file naming the endpoint.
    std::fs::write(
        app.join("new.json"),
        "{\"url\": \"http://169.254.169.254/metadata/identity/oauth2/token\"}\n",
    )
    .unwrap();
    std::fs::write(app.join("other.cfg"), format!("localhost:{port}1\n")).unwrap();
    let mut bin = vec![0u8, 1, 2, 0];
    bin.extend_from_slice(format!("localhost:{port}").as_bytes());
    std::fs::write(app.join("blob.bin"), bin).unwrap();
    conf
}

fn assert_names_client(check: &GuestCheck, stdout: &str, client: &Client, conf: &Path) {
    assert_eq!(check.verdict, Verdict::InUse, "{stdout}");
    let p = check
        .evidence
        .processes
        .iter()
        .find(|p| p.name == "tokenclient")
        .unwrap_or_else(|| panic!("client not named:\n{stdout}"));
    assert_eq!(p.pid, Some(client.0.id()), "{stdout}");
    assert!(p.connections >= 1);
    assert!(!p.user.is_empty() && p.user != "?", "{stdout}");
    assert_eq!(
        check.evidence.files,
        [conf.display().to_string()],
        "{stdout}"
    );
    assert_eq!(check.evidence.files_matched, 1);
    assert_eq!(check.evidence.listening, Some(true));
    // The listener is this test process.
    let listener = check.evidence.listener.as_ref().expect("listener named");
    assert_eq!(listener.pid, Some(std::process::id()), "{stdout}");
    assert!(!stdout.contains("do-not-print-me"), "file contents printed");
}

#[test]
fn linux_script_names_the_client_process_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let listener = Listener::start();
    let conf = planted(dir.path(), listener.port);
    let client = Client::start(dir.path(), listener.port);
    thread::sleep(Duration::from_millis(300));
    let (stdout, check) = run_script(listener.port, dir.path(), None);
    assert_names_client(&check, &stdout, &client, &conf);
}

#[test]
fn linux_script_without_ss_falls_back_to_proc() {
    // A PATH with what the script uses, but no `ss`.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for tool in [
        "bash", "sort", "head", "ls", "getent", "timeout", "grep", "find", "sleep",
    ] {
        if let Some(p) = which(tool) {
            std::os::unix::fs::symlink(p, bin.join(tool)).unwrap();
        }
    }
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let listener = Listener::start();
    let conf = planted(&data, listener.port);
    let client = Client::start(dir.path(), listener.port);
    thread::sleep(Duration::from_millis(300));
    let (stdout, check) = run_script(listener.port, &data, Some(&bin));
    assert!(stdout.contains("via=proc"), "{stdout}");
    assert_names_client(&check, &stdout, &client, &conf);
}

#[test]
fn linux_script_counts_connections_too_short_to_attribute() {
    let dir = tempfile::tempdir().unwrap();
    let listener = Listener::start();
    let mut flash = Command::new(which("bash").unwrap())
        .arg("-c")
        .arg(format!(
            "for i in $(seq 1 200); do exec 3<>/dev/tcp/127.0.0.1/{} || exit 1; exec 3>&-; sleep 0.01; done",
            listener.port
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (stdout, check) = run_script(listener.port, dir.path(), None);
    let _ = flash.kill();
    let _ = flash.wait();
    assert_eq!(check.verdict, Verdict::InUse, "{stdout}");
    assert!(check.evidence.connections >= 10, "{stdout}");
}

#[test]
fn linux_script_finds_nothing_on_a_quiet_machine() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("app.conf"),
        "endpoint = http://169.254.169.254/\n",
    )
    .unwrap();
    let listener = Listener::start();
    let (stdout, check) = run_script(listener.port, dir.path(), None);
    assert_eq!(check.verdict, Verdict::Clean, "{stdout}");
    assert_eq!(check.evidence.files_scanned, 1, "{stdout}");
    assert_eq!(check.evidence.listening, Some(true));
    // An out-of-range port stops the script before it looks at anything.
    let (stdout, check) = run_script_raw("70000");
    assert_eq!(check.verdict, Verdict::Unknown, "{stdout}");
    assert!(stdout.starts_with("error bad-port"), "{stdout}");
}

#[test]
fn linux_script_started_by_another_sh_reruns_itself_under_bash() {
    let Some(sh) = which("dash").or_else(|| which("sh")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("script.sh");
    std::fs::write(&script, LINUX).unwrap();
    let out = Command::new(sh)
        .arg(&script)
        .args(["50342", "0"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let check = parse::report(&stdout, 50342);
    assert_ne!(
        check.verdict,
        Verdict::Unknown,
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(check.evidence.files_scanned, 1, "{stdout}");
}

fn run_script_raw(port: &str) -> (String, GuestCheck) {
    let out = Command::new(which("bash").unwrap())
        .arg("-c")
        .arg(LINUX)
        .arg("imds-check")
        .arg(port)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (stdout.clone(), parse::report(&stdout, 50342))
}

// ---------------------------------------------------------------------------------------------
// The command against the emulator.

/// The report the script prints.
fn report(
    os: &str,
    port: u16,
    conns: &[(u32, &str, &str, &str)],
    files: &[&str],
    units: &[&str],
) -> String {
    let mut s = format!("imds-check 1 os={os} port={port} sample=30 via=ss\nlisten 1\n");
    for (n, pid, user, name) in conns {
        s.push_str(&format!("conn {n} {pid} {user} {name}\n"));
    }
    for f in files {
        s.push_str(&format!("file {f}\n"));
    }
    s.push_str(&format!(
        "scan files=812 matched={} capped=0\n",
        files.len()
    ));
    for u in units {
        s.push_str(&format!("unit {u}\n"));
    }
    let total: u32 = conns.iter().map(|c| c.0).sum();
    s.push_str(&format!(
        "summary listen=1 connections={total} processes={} files={} units={}\nend\n",
        conns.len(),
        files.len(),
        units.len()
    ));
    s
}

fn out(stdout: String) -> Guest {
    Guest::Output {
        stdout,
        stderr: String::new(),
    }
}

struct Run(live_cli::Output);

impl std::ops::Deref for Run {
    type Target = live_cli::Output;
    fn deref(&self) -> &live_cli::Output {
        &self.0
    }
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", self.stdout, self.stderr))
    }
}

/// `imds-migrate live <args>` against the emulator, in a scratch directory (where a
/// `remove --yes` journal lands unless `--journal` says otherwise).
fn live(emu: &Emulator, args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = live_cli::live_command(
        dir.path(),
        args,
        &[("AZURE_ACCESS_TOKEN", &emu.config.token)],
    );
    cmd.args([
        "--subscription",
        SUB,
        "--arm-endpoint",
        &emu.url,
        "--time-scale",
        "0.001",
    ]);
    Run(live_cli::run(cmd))
}

/// A `remove` report's record of the extension on `resource`.
fn extension<'a>(doc: &'a Value, resource: &str) -> &'a Value {
    doc["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource_name"] == resource)
        .unwrap_or_else(|| panic!("no extension on {resource} in {doc:#}"))
}

fn machine<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["machines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no machine {name} in {doc:#}"))
}

/// Machines planted the way the judge plants them: in use by a process, by a file only, clean,
/// not running, agent failure, truncated output, a Windows machine, one that never finishes.
fn planted_estate(emu: &Emulator) {
    let vm = |name: &str, exts| emu.add_vm(SUB, "rg", name, exts);
    let proc1 = vm("proc1", vec![mi("msi")]);
    emu.set_guest(
        &proc1,
        Guest::Output {
            stdout: report("linux", 50342, &[(14, "4242", "app", "curl")], &[], &[]),
            stderr: "grep: /root/.secret: Permission denied TOKEN=eyJhbGciOi-SENTINEL".into(),
        },
    );
    let file1 = vm("file1", vec![mi("ManagedIdentityExtensionForLinux")]);
    emu.set_guest(
        &file1,
        out(report(
            "linux",
            50342,
            &[],
            &["/opt/app/appsettings.json"],
            &[],
        )),
    );
    let clean1 = vm("clean1", vec![mi("msi")]);
    emu.set_guest(&clean1, out(report("linux", 50342, &[], &[], &[])));
    emu.add_vm_with(
        SUB,
        "rg",
        "stopped1",
        "deallocated",
        "Succeeded",
        vec![mi("msi")],
    );
    let agent1 = vm("agent1", vec![mi("msi")]);
    emu.set_guest(&agent1, Guest::AgentNotReady);
    let trunc1 = vm("trunc1", vec![mi("msi")]);
    // A report far over 4 KB: Azure keeps the tail, the header is lost.
    let long =
        report("linux", 50342, &[], &[], &[]).replace("listen 1\n", &"listen 1\n".repeat(600));
    emu.set_guest(&trunc1, out(long));
    let win1 = vm("win1", vec![ext("MIWin", MI_PUBLISHER, MI_WINDOWS)]);
    emu.set_guest(
        &win1,
        out(report(
            "windows",
            50342,
            &[(3, "880", "NT_AUTHORITY\\SYSTEM", "legacyagent")],
            &[r"C:\ProgramData\app\app.config"],
            &["task:\\Refresh"],
        )
        .replace('\n', "\r\n")),
    );
    let hang1 = vm("hang1", vec![mi("msi")]);
    emu.set_guest(&hang1, Guest::Hang);
    // Not the Managed Identity extension: never asked.
    vm(
        "other1",
        vec![ext(
            "ManagedIdentityExtensionForLinux",
            "Contoso.Tools",
            MI_LINUX,
        )],
    );
}

#[test]
fn check_classifies_machines_as_planted() {
    let emu = Emulator::start(Config::default());
    planted_estate(&emu);
    let run = live(
        &emu,
        &["check", "--format", "json", "--check-timeout", "3000"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let doc = run.json();
    let verdict = |n: &str| machine(&doc, n)["verdict"].as_str().unwrap().to_owned();
    assert_eq!(verdict("proc1"), "in-use");
    assert_eq!(verdict("file1"), "in-use");
    assert_eq!(verdict("clean1"), "clean");
    assert_eq!(verdict("stopped1"), "unknown");
    assert_eq!(verdict("agent1"), "unknown");
    assert_eq!(verdict("trunc1"), "unknown");
    assert_eq!(verdict("win1"), "in-use");
    assert_eq!(verdict("hang1"), "unknown");
    assert_eq!(doc["machines"].as_array().unwrap().len(), 8);
    let ev = |n: &str| machine(&doc, n)["evidence"].clone();
    assert_eq!(ev("proc1")["processes"][0]["name"], "curl");
    assert_eq!(ev("proc1")["processes"][0]["pid"], 4242);
    assert_eq!(ev("proc1")["connections"], 14);
    assert_eq!(ev("file1")["files"][0], "/opt/app/appsettings.json");
    assert_eq!(ev("file1")["processes"], json!([]));
    assert_eq!(ev("win1")["processes"][0]["name"], "legacyagent");
    assert_eq!(ev("win1")["units"][0], "task:\\Refresh");
    assert_eq!(machine(&doc, "win1")["os"], "windows");
    let reason = |n: &str| ev(n)["reason"].as_str().unwrap_or_default().to_owned();
    assert!(
        reason("stopped1").contains("not running"),
        "{}",
        reason("stopped1")
    );
    assert!(reason("agent1").contains("agent"), "{}", reason("agent1"));
    assert!(
        reason("trunc1").contains("truncated"),
        "{}",
        reason("trunc1")
    );
    assert!(
        reason("hang1").contains("did not finish"),
        "{}",
        reason("hang1")
    );
    assert_eq!(doc["summary"]["clean"], 1);
    assert_eq!(doc["summary"]["in_use"], 3);
    assert_eq!(doc["summary"]["unknown"], 4);
    // Nothing the guest printed beyond the report reaches the output.
    assert!(!run.stdout.contains("SENTINEL") && !run.stderr.contains("SENTINEL"));
    assert!(!run.stdout.contains(&emu.config.token));
    // One Run Command per running machine (none for the stopped one), no DELETE, never two at
    // once on a machine.
    let posts = emu.run_commands();
    assert_eq!(posts.len(), 7, "{posts:#?}");
    assert_eq!(emu.count("DELETE", None), 0);
    assert_eq!(emu.run_command_conflicts(), 0);
    let (_, body) = posts.iter().find(|(m, _)| m.ends_with("/win1")).unwrap();
    assert_eq!(body["commandId"], "RunPowerShellScript");
    let (_, body) = posts.iter().find(|(m, _)| m.ends_with("/clean1")).unwrap();
    assert_eq!(body["commandId"], "RunShellScript");
    assert_eq!(
        body["parameters"],
        json!([
            {"name": "PORT", "value": "50342"},
            {"name": "SAMPLE_SECONDS", "value": "30"},
            {"name": "SEARCH_DIRS", "value": "/etc:/opt:/srv:/home:/root:/usr/local:/var/www:/var/spool/cron"},
        ])
    );
    // The script sent is the one `--show-script` prints.
    let shown = Command::new(env!("CARGO_BIN_EXE_imds-migrate"))
        .args(["live", "check", "--show-script", "linux"])
        .output()
        .unwrap();
    let sent: Vec<&str> = body["script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(
        sent.join("\n"),
        String::from_utf8_lossy(&shown.stdout).trim_end()
    );
}

#[test]
fn table_and_csv_show_verdicts() {
    let emu = Emulator::start(Config::default());
    planted_estate(&emu);
    let run = live(&emu, &["check", "--check-timeout", "3000"]);
    assert!(run.stdout.contains("VERDICT"), "{}", run.stdout);
    let line = run.stdout.lines().find(|l| l.contains("rg/proc1")).unwrap();
    assert!(
        line.contains("in-use") && line.contains("curl (pid 4242, app) x14"),
        "{line}"
    );
    assert!(
        run.stdout.contains("1 clean, 3 in use, 4 unknown"),
        "{}",
        run.stdout
    );
    let run = live(
        &emu,
        &[
            "check",
            "--format",
            "csv",
            "--sample-seconds",
            "5",
            "--check-timeout",
            "3000",
        ],
    );
    let mut lines = run.stdout.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("subscription,resource_group,kind,machine_id")
    );
    let file = run.stdout.lines().find(|l| l.contains("/file1,")).unwrap();
    assert!(
        file.contains(",in-use,") && file.contains("/opt/app/appsettings.json"),
        "{file}"
    );
    let (_, body) = emu.run_commands().pop().unwrap();
    assert_eq!(body["parameters"][1]["value"], "5");
}

#[test]
fn check_reports_snapshot() {
    let emu = Emulator::start(Config::default());
    planted_estate(&emu);
    let run = live(&emu, &["check", "--check-timeout", "3000"]);
    insta::assert_snapshot!("check_table", run.stdout);
    let emu = Emulator::start(Config::default());
    planted_estate(&emu);
    let mut doc = live(
        &emu,
        &["check", "--format", "json", "--check-timeout", "3000"],
    )
    .json();
    // Request counts depend on polling timing.
    doc["summary"]
        .as_object_mut()
        .unwrap()
        .retain(|k, _| !matches!(k.as_str(), "requests" | "writes" | "throttled"));
    insta::assert_json_snapshot!("check_json", doc);
}

#[test]
fn configured_port_travels_and_a_bad_one_is_never_sent() {
    let emu = Emulator::start(Config::default());
    let a = emu.add_vm(SUB, "rg", "custom", vec![mi("msi")]);
    emu.set_ext_port(&a, "msi", &json!("50343"));
    emu.set_guest(&a, out(report("linux", 50343, &[], &[], &[])));
    let b = emu.add_vm(SUB, "rg", "bad", vec![mi("msi")]);
    emu.set_ext_port(&b, "msi", &json!("50342; reboot"));
    let run = live(&emu, &["check", "--format", "json"]);
    let doc = run.json();
    assert_eq!(machine(&doc, "custom")["verdict"], "clean");
    assert_eq!(machine(&doc, "custom")["evidence"]["port"], 50343);
    assert_eq!(machine(&doc, "bad")["verdict"], "unknown");
    let posts = emu.run_commands();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].1["parameters"][0]["value"], "50343");
    assert!(!emu.log().iter().any(|l| l.body.contains("reboot")));
}

#[test]
fn a_run_command_already_running_is_waited_for() {
    let emu = Emulator::start(Config::default());
    let a = emu.add_vm(SUB, "rg", "busy", vec![mi("msi")]);
    emu.set_guest(&a, out(report("linux", 50342, &[], &[], &[])));
    emu.inject("POST", "/runcommand", &[(409, None), (409, None)]);
    let run = live(&emu, &["check", "--format", "json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(machine(&run.json(), "busy")["verdict"], "clean");
}

#[test]
fn a_machine_still_running_an_earlier_run_command_is_unknown() {
    let emu = Emulator::start(Config::default());
    let a = emu.add_vm(SUB, "rg", "stuck", vec![mi("msi")]);
    emu.set_guest(&a, Guest::Hang);
    let run = live(
        &emu,
        &["check", "--format", "json", "--check-timeout", "1000"],
    );
    assert_eq!(run.code, 1);
    assert_eq!(machine(&run.json(), "stuck")["verdict"], "unknown");
    assert_eq!(emu.run_command_conflicts(), 0);
    // The first script still runs: Azure answers 409 to the next one, retried, then reported.
    let run = live(
        &emu,
        &["check", "--format", "json", "--check-timeout", "1000"],
    );
    let doc = run.json();
    let reason = machine(&doc, "stuck")["evidence"]["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reason.contains("in progress"), "{reason}");
    assert_eq!(emu.run_command_conflicts(), 4);
}

#[test]
fn scale_set_instances_are_checked_one_by_one() {
    let emu = Emulator::start(Config::default());
    let ss = emu.add_vmss(SUB, "rg", "ss1", "Automatic", "Uniform", 3, vec![mi("msi")]);
    for i in 0..3 {
        emu.set_guest(
            &format!("{ss}/virtualMachines/{i}"),
            out(report("linux", 50342, &[], &[], &[])),
        );
    }
    emu.set_guest(
        &format!("{ss}/virtualMachines/2"),
        out(report(
            "linux",
            50342,
            &[],
            &[],
            &["/etc/cron.d/token-refresh"],
        )),
    );
    let run = live(&emu, &["check", "--format", "json"]);
    let doc = run.json();
    assert_eq!(machine(&doc, "ss1_0")["verdict"], "clean");
    assert_eq!(machine(&doc, "ss1_0")["kind"], "vmss-instance");
    assert_eq!(machine(&doc, "ss1_2")["verdict"], "in-use");
    let posts = emu.run_commands();
    assert!(
        posts
            .iter()
            .any(|(m, _)| m.to_ascii_lowercase().ends_with("/ss1/virtualmachines/2"))
    );
    // remove --check-guest: one instance in use, so the scale set keeps its extension.
    let run = live(
        &emu,
        &["remove", "--check-guest", "--yes", "--format", "json"],
    );
    let doc = run.json();
    let item = &doc["extensions"][0];
    assert_eq!(item["verdict"], "in-use", "{doc:#}");
    assert_eq!(item["outcome"], "skipped");
    assert!(
        item["detail"]
            .as_str()
            .unwrap()
            .contains("/etc/cron.d/token-refresh")
    );
    assert_eq!(emu.extensions(&ss), ["msi"]);
    assert_eq!(run.code, 1);
    // A sample of the first instance only: said in the output, and then it is removed.
    let run = live(
        &emu,
        &[
            "remove",
            "--check-guest",
            "--check-sample",
            "1",
            "--yes",
            "--format",
            "json",
        ],
    );
    let doc = run.json();
    let item = &doc["extensions"][0];
    assert_eq!(item["verdict"], "clean", "{doc:#}");
    assert!(
        item["evidence"]["reason"]
            .as_str()
            .unwrap()
            .contains("sample of 1 of 3")
    );
    assert_eq!(item["outcome"], "removed");
    assert!(emu.extensions(&ss).is_empty());
}

#[test]
fn flexible_scale_set_members_are_checked_as_vms() {
    let emu = Emulator::start(Config::default());
    let ss = emu.add_vmss(SUB, "rg", "flex", "Manual", "Flexible", 0, vec![mi("msi")]);
    let member = emu.add_vm(SUB, "rg", "flex_a1", vec![mi("msi")]);
    emu.set_vm_scale_set(&member, &ss);
    emu.set_guest(
        &member,
        out(report(
            "linux",
            50342,
            &[(1, "77", "svc", "java")],
            &[],
            &[],
        )),
    );
    let run = live(
        &emu,
        &["remove", "--check-guest", "--yes", "--format", "json"],
    );
    let doc = run.json();
    let by = |n: &str| extension(&doc, n).clone();
    // The model runs on no machine; the member VM does, and uses the extension.
    assert_eq!(by("flex")["verdict"], "clean", "{doc:#}");
    assert_eq!(by("flex")["outcome"], "removed");
    assert_eq!(by("flex_a1")["verdict"], "in-use");
    assert_eq!(by("flex_a1")["outcome"], "skipped");
    assert_eq!(emu.extensions(&member), ["msi"]);
    assert_eq!(emu.run_commands().len(), 1);
}

#[test]
fn remove_with_check_guest_deletes_exactly_the_clean_machines() {
    let emu = Emulator::start(Config::default());
    planted_estate(&emu);
    // Dry run: the check runs (Run Command only reads), nothing is deleted.
    let run = live(
        &emu,
        &[
            "remove",
            "--check-guest",
            "--format",
            "json",
            "--check-timeout",
            "3000",
        ],
    );
    let doc = run.json();
    assert_eq!(emu.count("DELETE", None), 0);
    let planned: Vec<&str> = doc["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "planned")
        .map(|e| e["resource_name"].as_str().unwrap())
        .collect();
    assert_eq!(planned, ["clean1"]);
    let run = live(
        &emu,
        &[
            "remove",
            "--check-guest",
            "--yes",
            "--format",
            "json",
            "--check-timeout",
            "3000",
        ],
    );
    assert_eq!(run.code, 1);
    let doc = run.json();
    let by = |n: &str| extension(&doc, n).clone();
    assert_eq!(by("clean1")["outcome"], "removed");
    assert_eq!(by("clean1")["verdict"], "clean");
    for n in [
        "proc1", "file1", "stopped1", "agent1", "trunc1", "win1", "hang1",
    ] {
        assert_eq!(by(n)["outcome"], "skipped", "{n}");
        assert!(
            by(n)["detail"]
                .as_str()
                .unwrap()
                .starts_with("guest check:")
                || n == "stopped1",
            "{n}: {}",
            by(n)["detail"]
        );
    }
    assert_eq!(by("proc1")["evidence"]["processes"][0]["name"], "curl");
    assert!(
        by("file1")["detail"]
            .as_str()
            .unwrap()
            .contains("/opt/app/appsettings.json")
    );
    let deleted: Vec<String> = emu
        .log()
        .iter()
        .filter(|l| l.method == "DELETE")
        .map(|l| l.path.clone())
        .collect();
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert!(deleted[0].contains("/clean1/extensions/"));
    assert!(!run.stdout.contains("SENTINEL"));
    let table = live(
        &emu,
        &["remove", "--check-guest", "--check-timeout", "3000"],
    );
    assert!(
        table.stdout.contains("guest check: in-use"),
        "{}",
        table.stdout
    );
}

#[test]
fn verdicts_go_to_the_removal_journal() {
    let emu = Emulator::start(Config::default());
    planted_estate(&emu);
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("run.jsonl");
    let run = live(
        &emu,
        &[
            "remove",
            "--check-guest",
            "--yes",
            "--check-timeout",
            "3000",
            "--journal",
            journal.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let text = std::fs::read_to_string(&journal).unwrap();
    let checks: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["kind"] == "guest-check")
        .collect();
    // One per machine asked or skipped; the stopped VM is not checked (ARM cannot run it).
    assert_eq!(checks.len(), 7, "{text}");
    let of = |name: &str| {
        checks
            .iter()
            .find(|c| {
                c["machine"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("/{name}"))
            })
            .unwrap_or_else(|| panic!("{name} not journaled:\n{text}"))
    };
    assert_eq!(of("clean1")["verdict"], "clean");
    assert_eq!(of("proc1")["verdict"], "in-use");
    assert_eq!(of("proc1")["evidence"]["processes"][0]["name"], "curl");
    assert_eq!(of("agent1")["verdict"], "unknown");
    assert!(!text.contains("SENTINEL"));
    // The verdicts come before the DELETE they allowed.
    let first_check = text.find("\"guest-check\"").unwrap();
    let first_intent = text.find("\"intent\"").unwrap();
    assert!(first_check < first_intent);
}

#[test]
fn bad_check_flags_are_usage_errors() {
    let emu = Emulator::start(Config::default());
    let run = live(&emu, &["check", "--search-dirs", "etc:/opt"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--search-dirs"), "{}", run.stderr);
    let run = live(&emu, &["check", "--sample-seconds", "41"]);
    assert_eq!(run.code, 2);
    assert_eq!(emu.run_commands().len(), 0);
}

#[test]
fn a_stale_instance_is_checked_on_itself_and_not_upgraded_while_in_use() {
    let emu = Emulator::start(Config::default());
    let ss = emu.add_vmss(SUB, "rg", "web", "Manual", "Uniform", 2, vec![mi("msi")]);
    // An earlier run cleaned the model; both instances still run the extension.
    let first = live(&emu, &["remove", "--yes", "--format", "json"]);
    assert!(emu.extensions(&ss).is_empty(), "{}", first.stderr);
    emu.set_guest(
        &format!("{ss}/virtualMachines/0"),
        out(report("linux", 50342, &[], &[], &[])),
    );
    emu.set_guest(
        &format!("{ss}/virtualMachines/1"),
        out(report(
            "linux",
            50342,
            &[(3, "4242", "app", "curl")],
            &[],
            &[],
        )),
    );
    let run = live(
        &emu,
        &[
            "remove",
            "--check-guest",
            "--yes",
            "--upgrade-instances",
            "--upgrade-batch-percent",
            "100",
            "--format",
            "json",
        ],
    );
    let doc = run.json();
    let clean = extension(&doc, "web_0");
    assert_eq!(clean["verdict"], "clean", "{doc:#}");
    assert_eq!(clean["outcome"], "removed", "{doc:#}");
    let used = extension(&doc, "web_1");
    assert_eq!(used["verdict"], "in-use", "{doc:#}");
    assert_eq!(used["outcome"], "skipped", "{doc:#}");
    assert_eq!(run.code, 1);
    // Each instance was asked itself, and only the clean one was upgraded.
    let asked: Vec<String> = emu
        .run_commands()
        .iter()
        .map(|(m, _)| m.to_ascii_lowercase())
        .collect();
    for i in 0..2 {
        let suffix = format!("/web/virtualmachines/{i}");
        assert!(asked.iter().any(|m| m.ends_with(&suffix)), "{asked:?}");
    }
    assert_eq!(emu.upgrade_batches(), [["0"]]);
}
