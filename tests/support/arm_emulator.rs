//! A stateful Azure Resource Manager emulator for live-mode tests and the benchmark: std only,
//! HTTP/1.1 with keep-alive, one thread per connection, on `127.0.0.1:0`.
//!
//! Faithful to the REST shapes the tool relies on: absolute `nextLink` paging, `{"error":{...}}`
//! bodies, 202 + `Azure-AsyncOperation` (or `Location`) polling with `Retry-After`, 409 for
//! extensions of VMs that are not running, token-bucket throttling with
//! `x-ms-ratelimit-remaining-*` headers and 429 + `Retry-After`, Resource Graph queries paged with
//! `$skipToken`, the AAD client-credentials and IMDS token endpoints, and a log of every request.
#![allow(
    dead_code,
    clippy::too_many_arguments,
    clippy::type_complexity,
    clippy::assigning_clones,
    clippy::doc_markdown,
    clippy::map_unwrap_or
)]

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    fmt::Write as _,
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use serde_json::{Value, json};

pub const MI_PUBLISHER: &str = "Microsoft.ManagedIdentity";
pub const MI_LINUX: &str = "ManagedIdentityExtensionForLinux";
pub const MI_WINDOWS: &str = "ManagedIdentityExtensionForWindows";

/// How DELETE of an extension answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteStyle {
    /// 202 + Azure-AsyncOperation (and Location), like Microsoft.Compute.
    AsyncOperation,
    /// 202 + Location only.
    Location,
    /// 200 at once.
    Sync,
}

#[derive(Clone, Debug)]
pub struct Bucket {
    pub capacity: f64,
    pub refill_per_sec: f64,
}

#[derive(Clone, Debug)]
pub struct Config {
    /// The only bearer token accepted.
    pub token: String,
    /// Items per page in lists.
    pub page_size: usize,
    /// Rows per Resource Graph page.
    pub graph_page_size: usize,
    /// Added to every response.
    pub latency: Duration,
    pub delete_style: DeleteStyle,
    /// Polls answered "InProgress" before an operation completes.
    pub polls_before_done: u32,
    /// `Retry-After` on 202s and in-progress polls (seconds).
    pub poll_retry_after: u64,
    /// Token buckets: None = unlimited.
    pub reads: Option<Bucket>,
    pub deletes: Option<Bucket>,
    pub writes: Option<Bucket>,
    /// A nextLink that points at this origin instead (trap: the token must not follow).
    pub foreign_next_link: Option<String>,
    /// Polling URLs that point at this origin instead (same trap).
    pub foreign_poll_url: Option<String>,
    /// AAD: the accepted client secret.
    pub client_secret: String,
    /// How long a Run Command takes on the machine (the operation stays InProgress until then).
    pub run_command_latency: Duration,
    /// AAD: `expires_in` of the tokens it issues.
    pub token_lifetime: u64,
    /// AAD, workload identity: the federated tokens accepted as `client_assertion`.
    pub federated_tokens: Vec<String>,
    /// AAD, certificate sign-in: the certificate's public key (PKCS#1 `RSAPublicKey` DER) and
    /// its `x5t`; assertions must be RS256 JWTs signed with it, for `certificate_client_id`.
    pub certificate_public_key: Option<Vec<u8>>,
    pub certificate_x5t: String,
    pub certificate_client_id: String,
    /// App Service managed identity: the `X-IDENTITY-HEADER` value `/msi/token` accepts.
    pub identity_header: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            token: "test-token-SENTINEL-3f9a1c".to_owned(),
            page_size: 2,
            graph_page_size: 2,
            latency: Duration::ZERO,
            delete_style: DeleteStyle::AsyncOperation,
            polls_before_done: 1,
            poll_retry_after: 1,
            reads: None,
            deletes: None,
            writes: None,
            foreign_next_link: None,
            foreign_poll_url: None,
            client_secret: "sp-secret-SENTINEL-77aa".to_owned(),
            run_command_latency: Duration::ZERO,
            token_lifetime: 3599,
            federated_tokens: Vec::new(),
            certificate_public_key: None,
            certificate_x5t: String::new(),
            certificate_client_id: String::new(),
            identity_header: "identity-header-SENTINEL-5b2c".to_owned(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Ext {
    pub name: String,
    pub publisher: String,
    pub ty: String,
    pub state: String,
    pub settings: Value,
    /// Returned by GET like a careless server would (ARM does not): must never be journaled.
    pub protected_settings: Option<Value>,
}

pub fn ext(name: &str, publisher: &str, ty: &str) -> Ext {
    Ext {
        name: name.to_owned(),
        publisher: publisher.to_owned(),
        ty: ty.to_owned(),
        state: "Succeeded".to_owned(),
        settings: json!({"port": 50342}),
        protected_settings: None,
    }
}

pub fn mi(name: &str) -> Ext {
    ext(name, MI_PUBLISHER, MI_LINUX)
}

#[derive(Clone, Debug)]
pub struct Vm {
    pub id: String,
    pub power: String,
    pub provisioning: String,
    pub identity: Option<String>,
    pub scale_set: Option<String>,
    pub exts: Vec<Ext>,
    /// Answer 404 to instance-view requests (the DELETE is then the first to learn the power state).
    pub hide_instance_view: bool,
}

#[derive(Clone, Debug)]
pub struct Instance {
    pub id: String,
    pub latest: bool,
    /// The extensions the instance runs (the model's as of its last upgrade).
    pub exts: Vec<Ext>,
    /// The instance's model as of its last upgrade (`storageProfile`, `osProfile`, ...).
    pub model: Value,
    pub sku: String,
    /// `protectionPolicy.protectFromScaleSetActions`.
    pub protected: bool,
    pub provisioning: String,
    /// `HealthState/<this>` in the instance view (`None`: no application health reported).
    pub health: Option<String>,
    /// Extensions added to this instance alone (`virtualMachines/{id}/extensions`): upgrades
    /// leave them in place.
    pub own_exts: Vec<Ext>,
}

#[derive(Clone, Debug)]
pub struct Vmss {
    pub id: String,
    pub upgrade_mode: String,
    pub orchestration: String,
    pub provisioning: String,
    pub identity: Option<String>,
    pub exts: Vec<Ext>,
    pub instances: Vec<Instance>,
    /// The rest of `virtualMachineProfile` (`storageProfile`, `osProfile`, `networkProfile`).
    pub model: Value,
    pub sku: String,
    /// Application health: a load-balancer probe in the model, reported by the instances.
    pub health_probe: bool,
    /// What an upgraded instance reports: provisioning state and health.
    pub upgraded_provisioning: String,
    pub upgraded_health: Option<String>,
    /// Rolling policy: the latest rolling upgrade, and how the next one ends.
    pub rolling: Option<Rolling>,
    pub rolling_outcome: String,
}

/// A rolling upgrade's status (`rollingUpgrades/latest`).
#[derive(Clone, Debug)]
pub struct Rolling {
    pub start_time: String,
    pub code: String,
    /// Status reads answered `RollingForward` before it ends with `outcome`.
    pub polls_left: u32,
    pub outcome: String,
}

#[derive(Clone, Debug)]
enum OpAction {
    RemoveVmExt(String, String),
    RemoveVmssExt(String, String),
    Upgrade(String, Vec<String>),
    /// (scale set, instance id, extension name)
    RemoveInstanceExt(String, String, String),
}

#[derive(Clone, Debug)]
struct Op {
    polls_left: u32,
    action: Option<OpAction>,
    done: bool,
}

/// One request as the emulator saw it.
#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorized: bool,
    pub has_authorization: bool,
    pub status: u16,
    pub body: String,
}

#[derive(Debug, Default)]
struct State {
    vms: BTreeMap<String, Vm>,
    vmss: BTreeMap<String, Vmss>,
    subscriptions: Vec<String>,
    ops: HashMap<String, Op>,
    log: Vec<Logged>,
    /// One-shot answers: (method, path fragment) -> queue of (status, retry-after).
    injected: Vec<(String, String, VecDeque<(u16, Option<u64>)>)>,
    /// Resource Graph rows that ARM no longer has (Resource Graph lags).
    stale_graph_rows: Vec<Value>,
    buckets: HashMap<&'static str, (f64, Instant)>,
    next_op: u64,
    polls_before_done: Option<u32>,
    /// Writes to paths containing the fragment answer 409 "another operation in progress" until then.
    busy: Vec<(String, Instant)>,
    /// One-shot answers whose `Retry-After` is an HTTP date this many seconds ahead.
    injected_dated: Vec<(String, String, VecDeque<(u16, u64)>)>,
    /// Resource Graph: per-user quota (queries per window) and its use.
    graph_quota: Option<GraphQuota>,
    /// Resource Graph answers `resultTruncated: true`.
    graph_truncated: bool,
    rolling_counter: u64,
    /// Run Command: what each machine (lower-case VM or instance id) answers, the default, the
    /// operations, and the machines running one now.
    guests: HashMap<String, Guest>,
    default_guest: Option<Guest>,
    run_ops: HashMap<String, RunOp>,
    running: HashMap<String, String>,
    run_command_conflicts: u64,
    /// Statuses the token endpoints answer before they issue a token.
    token_failures: VecDeque<u16>,
    /// A client's journal file: at each DELETE, whether it already names the target.
    journal_probe: Option<(std::path::PathBuf, Vec<(String, bool)>)>,
    /// The bearer token stops being accepted after this many more ARM requests (it expired).
    token_uses_left: Option<u64>,
}

#[derive(Debug)]
struct GraphQuota {
    limit: u64,
    window: Duration,
    used: u64,
    since: Instant,
}

/// The model every scale set starts with (and its instances with it).
pub fn default_vmss_model() -> Value {
    json!({
        "storageProfile": {
            "imageReference": {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"},
            "osDisk": {"createOption": "FromImage", "caching": "ReadWrite", "managedDisk": {"storageAccountType": "Premium_LRS"}}
        },
        "osProfile": {"adminUsername": "azureuser", "customData": "I2Nsb3VkLWNvbmZpZw==", "linuxConfiguration": {"disablePasswordAuthentication": true}},
        "networkProfile": {"networkInterfaceConfigurations": [{"name": "nic", "properties": {"primary": true, "ipConfigurations": [{"name": "ipconfig", "properties": {"subnet": {"id": "/subscriptions/s/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/default"}}}]}}]}
    })
}

/// Sets `pointer` (a JSON pointer, created as needed) in `v`.
fn set_pointer(v: &mut Value, pointer: &str, value: Value) {
    let mut cur = v;
    let parts: Vec<&str> = pointer.split('/').filter(|p| !p.is_empty()).collect();
    for (n, p) in parts.iter().enumerate() {
        if !cur.is_object() {
            *cur = json!({});
        }
        let obj = cur.as_object_mut().expect("object");
        if n + 1 == parts.len() {
            obj.insert((*p).to_owned(), value);
            return;
        }
        cur = obj.entry((*p).to_owned()).or_insert_with(|| json!({}));
    }
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) for seconds since the epoch.
pub fn http_date(epoch: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let days = i64::try_from(epoch / 86_400).unwrap_or(0);
    let secs = epoch % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[usize::try_from(days.rem_euclid(7)).unwrap_or(0)],
        MONTHS[usize::try_from(month - 1).unwrap_or(0)],
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// How a machine answers Run Command.
#[derive(Clone, Debug)]
pub enum Guest {
    /// The script's streams, wrapped as Azure does for the command's OS (Linux: one
    /// `ProvisioningState/succeeded` status with `[stdout]`/`[stderr]` in its message; Windows:
    /// `ComponentStatus/StdOut|StdErr/succeeded`), each cut to its last 4 KB.
    Output { stdout: String, stderr: String },
    /// The VM agent does not answer: the operation fails.
    AgentNotReady,
    /// The script never finishes: the operation stays InProgress.
    Hang,
    /// The machine is stopped: 409 at once.
    NotRunning,
}

#[derive(Clone, Debug)]
struct RunOp {
    machine: String,
    ready_at: Instant,
    polls_left: u32,
    guest: Guest,
    windows: bool,
    done: bool,
}

pub struct Emulator {
    pub url: String,
    pub config: Config,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    port: u16,
    pub requests: Arc<AtomicU64>,
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

pub fn vm_id(sub: &str, rg: &str, name: &str) -> String {
    format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}"
    )
}

pub fn vmss_id(sub: &str, rg: &str, name: &str) -> String {
    format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}"
    )
}

impl Emulator {
    pub fn start(config: Config) -> Emulator {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let url = format!("http://127.0.0.1:{port}");
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicU64::new(0));
        let shared = Arc::new(Shared {
            config: config.clone(),
            state: Arc::clone(&state),
            base: url.clone(),
            requests: Arc::clone(&requests),
        });
        let stop2 = Arc::clone(&stop);
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let shared = Arc::clone(&shared);
                thread::spawn(move || serve(conn, &shared));
            }
        });
        Emulator {
            url,
            config,
            state,
            stop,
            port,
            requests,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    pub fn add_subscription(&self, sub: &str) {
        self.with(|s| {
            if !s.subscriptions.iter().any(|x| x == sub) {
                s.subscriptions.push(sub.to_owned());
            }
        });
    }

    /// A running VM with a system-assigned identity.
    pub fn add_vm(&self, sub: &str, rg: &str, name: &str, exts: Vec<Ext>) -> String {
        self.add_vm_with(sub, rg, name, "running", "Succeeded", exts)
    }

    pub fn add_vm_with(
        &self,
        sub: &str,
        rg: &str,
        name: &str,
        power: &str,
        provisioning: &str,
        exts: Vec<Ext>,
    ) -> String {
        self.add_subscription(sub);
        let id = vm_id(sub, rg, name);
        self.with(|s| {
            s.vms.insert(
                lower(&id),
                Vm {
                    id: id.clone(),
                    power: power.to_owned(),
                    provisioning: provisioning.to_owned(),
                    identity: Some("SystemAssigned".to_owned()),
                    scale_set: None,
                    exts,
                    hide_instance_view: false,
                },
            );
        });
        id
    }

    /// A Flexible scale-set member.
    pub fn set_vm_scale_set(&self, vm: &str, vmss: &str) {
        self.with(|s| {
            if let Some(v) = s.vms.get_mut(&lower(vm)) {
                v.scale_set = Some(vmss.to_owned());
            }
        });
    }

    pub fn add_vmss(
        &self,
        sub: &str,
        rg: &str,
        name: &str,
        upgrade_mode: &str,
        orchestration: &str,
        instances: usize,
        exts: Vec<Ext>,
    ) -> String {
        self.add_subscription(sub);
        let id = vmss_id(sub, rg, name);
        let instances = if orchestration == "Flexible" {
            Vec::new()
        } else {
            (0..instances)
                .map(|i| Instance {
                    id: i.to_string(),
                    latest: true,
                    exts: exts.clone(),
                    model: default_vmss_model(),
                    sku: "Standard_B1s".to_owned(),
                    protected: false,
                    provisioning: "Succeeded".to_owned(),
                    health: None,
                    own_exts: Vec::new(),
                })
                .collect()
        };
        self.with(|s| {
            s.vmss.insert(
                lower(&id),
                Vmss {
                    id: id.clone(),
                    upgrade_mode: upgrade_mode.to_owned(),
                    orchestration: orchestration.to_owned(),
                    provisioning: "Succeeded".to_owned(),
                    identity: Some("UserAssigned".to_owned()),
                    exts,
                    instances,
                    model: default_vmss_model(),
                    sku: "Standard_B1s".to_owned(),
                    health_probe: false,
                    upgraded_provisioning: "Succeeded".to_owned(),
                    upgraded_health: None,
                    rolling: None,
                    rolling_outcome: "Completed".to_owned(),
                },
            );
        });
        id
    }

    fn with_vmss(&self, vmss: &str, f: impl FnOnce(&mut Vmss)) {
        self.with(|s| {
            if let Some(v) = s.vmss.get_mut(&lower(vmss)) {
                f(v);
            }
        });
    }

    fn with_instance(&self, vmss: &str, id: &str, f: impl FnOnce(&mut Instance)) {
        self.with_vmss(vmss, |v| {
            if let Some(i) = v.instances.iter_mut().find(|i| i.id == id) {
                f(i);
            }
        });
    }

    /// A pending change of the scale set's model at `pointer` (JSON pointer into
    /// `virtualMachineProfile`, or `/sku/name`): every instance is then off the latest model.
    pub fn change_model(&self, vmss: &str, pointer: &str, value: Value) {
        self.with_vmss(vmss, |v| {
            if pointer == "/sku/name" {
                v.sku = value.as_str().unwrap_or_default().to_owned();
            } else {
                set_pointer(&mut v.model, pointer, value);
            }
            for i in &mut v.instances {
                i.latest = false;
            }
        });
    }

    /// The instance's own model differs at `pointer` (as if it missed an earlier change).
    pub fn set_instance_model(&self, vmss: &str, id: &str, pointer: &str, value: Value) {
        self.with_instance(vmss, id, |i| {
            if pointer == "/sku/name" {
                i.sku = value.as_str().unwrap_or_default().to_owned();
            } else {
                set_pointer(&mut i.model, pointer, value);
            }
            i.latest = false;
        });
    }

    /// `protectionPolicy.protectFromScaleSetActions` on one instance.
    pub fn protect_instance(&self, vmss: &str, id: &str) {
        self.with_instance(vmss, id, |i| i.protected = true);
    }

    /// An extension added to one instance alone.
    pub fn add_instance_ext(&self, vmss: &str, id: &str, e: Ext) {
        self.with_instance(vmss, id, |i| i.own_exts.push(e));
    }

    /// Extension names an instance runs (model's and its own).
    pub fn instance_extensions(&self, vmss: &str, id: &str) -> Vec<String> {
        self.with(|s| {
            s.vmss
                .get(&lower(vmss))
                .and_then(|v| v.instances.iter().find(|i| i.id == id))
                .map(|i| {
                    i.exts
                        .iter()
                        .chain(&i.own_exts)
                        .map(|e| e.name.clone())
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// Application health through a load-balancer probe; instances report `health` now and
    /// `after_upgrade` once upgraded.
    pub fn set_health(&self, vmss: &str, health: &str, after_upgrade: &str) {
        self.with_vmss(vmss, |v| {
            v.health_probe = true;
            v.upgraded_health = Some(after_upgrade.to_owned());
            for i in &mut v.instances {
                i.health = Some(health.to_owned());
            }
        });
    }

    /// What an upgraded instance's provisioning state becomes (`Failed` to fail a batch).
    pub fn set_upgraded_provisioning(&self, vmss: &str, state: &str) {
        self.with_vmss(vmss, |v| v.upgraded_provisioning = state.to_owned());
    }

    /// How the next rolling upgrade of `vmss` ends (`Completed`, `Faulted`, `Cancelled`).
    pub fn set_rolling_outcome(&self, vmss: &str, outcome: &str) {
        self.with_vmss(vmss, |v| v.rolling_outcome = outcome.to_owned());
    }

    /// A rolling upgrade that ended before the run (its status must not be taken for ours).
    pub fn set_previous_rolling_upgrade(&self, vmss: &str) {
        self.with_vmss(vmss, |v| {
            v.rolling = Some(Rolling {
                start_time: "2020-01-01T00:00:00Z".to_owned(),
                code: "Completed".to_owned(),
                polls_left: 0,
                outcome: "Completed".to_owned(),
            });
        });
    }

    /// Writes (DELETE, POST) to paths containing `path_part` answer 409 "another operation is in
    /// progress" for the next `secs` seconds.
    pub fn busy_for(&self, path_part: &str, secs: f64) {
        let until = Instant::now() + Duration::from_secs_f64(secs);
        self.with(|s| s.busy.push((lower(path_part), until)));
    }

    /// Like [`Emulator::inject`], with `Retry-After` as an HTTP date `secs` seconds ahead.
    pub fn inject_dated(&self, method: &str, path_part: &str, answers: &[(u16, u64)]) {
        self.with(|s| {
            s.injected_dated.push((
                method.to_owned(),
                lower(path_part),
                answers.iter().copied().collect(),
            ));
        });
    }

    /// Resource Graph allows `limit` queries per `window` per user, with the quota headers.
    pub fn set_graph_quota(&self, limit: u64, window: Duration) {
        self.with(|s| {
            s.graph_quota = Some(GraphQuota {
                limit,
                window,
                used: 0,
                since: Instant::now(),
            });
        });
    }

    /// Resource Graph answers `resultTruncated: true`.
    pub fn set_graph_truncated(&self) {
        self.with(|s| s.graph_truncated = true);
    }

    pub fn hide_instance_view(&self, vm: &str) {
        self.with(|s| {
            if let Some(v) = s.vms.get_mut(&lower(vm)) {
                v.hide_instance_view = true;
            }
        });
    }

    /// Changes `polls_before_done` for operations started from now on.
    pub fn set_polls_before_done(&self, n: u32) {
        self.with(|s| s.polls_before_done = Some(n));
    }

    /// Extension names (in order) on a VM or scale set model.
    pub fn extensions(&self, id: &str) -> Vec<String> {
        self.with(|s| {
            let key = lower(id);
            if let Some(v) = s.vms.get(&key) {
                v.exts.iter().map(|e| e.name.clone()).collect()
            } else if let Some(v) = s.vmss.get(&key) {
                v.exts.iter().map(|e| e.name.clone()).collect()
            } else {
                Vec::new()
            }
        })
    }

    pub fn instances_latest(&self, vmss: &str) -> Vec<bool> {
        self.with(|s| {
            s.vmss
                .get(&lower(vmss))
                .map(|v| v.instances.iter().map(|i| i.latest).collect())
                .unwrap_or_default()
        })
    }

    /// Runs `f` on the extensions named `name` of the VM or scale set `id`.
    fn with_exts(&self, id: &str, name: &str, mut f: impl FnMut(&mut Ext)) {
        self.with(|s| {
            let key = lower(id);
            let exts = if let Some(v) = s.vms.get_mut(&key) {
                &mut v.exts
            } else if let Some(v) = s.vmss.get_mut(&key) {
                &mut v.exts
            } else {
                return;
            };
            exts.iter_mut().filter(|e| e.name == name).for_each(&mut f);
        });
    }

    pub fn set_ext_state(&self, id: &str, name: &str, state: &str) {
        self.with_exts(id, name, |e| e.state = state.to_owned());
    }

    /// The next requests matching `method` and containing `path_part` get these statuses
    /// (with `Retry-After` seconds), one each.
    pub fn inject(&self, method: &str, path_part: &str, answers: &[(u16, Option<u64>)]) {
        self.with(|s| {
            s.injected.push((
                method.to_owned(),
                lower(path_part),
                answers.iter().copied().collect(),
            ));
        });
    }

    /// A Resource Graph row for an extension ARM does not have.
    pub fn add_stale_graph_row(&self, parent: &str, name: &str) {
        let (sub, rg) = sub_rg(parent);
        self.with(|s| {
            s.stale_graph_rows.push(json!({
                "id": format!("{parent}/extensions/{name}"),
                "name": name,
                "kind": "vm",
                "parentId": parent,
                "subscriptionId": sub,
                "resourceGroup": rg,
            }));
        });
    }

    /// From now on, each DELETE checks whether the journal at `path` already records it.
    pub fn watch_journal(&self, path: &std::path::Path) {
        self.with(|s| s.journal_probe = Some((path.to_owned(), Vec::new())));
    }

    /// (DELETE path, whether the journal named it when the request arrived).
    pub fn journal_seen(&self) -> Vec<(String, bool)> {
        self.with(|s| {
            s.journal_probe
                .as_ref()
                .map(|p| p.1.clone())
                .unwrap_or_default()
        })
    }

    /// The bearer token is accepted for `n` more ARM requests, then answered 401 (it expired).
    pub fn expire_token_after(&self, n: u64) {
        self.with(|s| s.token_uses_left = Some(n));
    }

    /// The next token requests (AAD, IMDS, `/msi/token`) get these statuses.
    pub fn fail_token_requests(&self, statuses: &[u16]) {
        self.with(|s| s.token_failures.extend(statuses));
    }

    pub fn log(&self) -> Vec<Logged> {
        self.with(|s| s.log.clone())
    }

    /// Requests that could change something (everything but GET and Resource Graph queries).
    pub fn writes(&self) -> Vec<Logged> {
        self.log()
            .into_iter()
            .filter(|l| {
                l.method != "GET"
                    && !lower(&l.path).starts_with("/providers/microsoft.resourcegraph/")
            })
            .filter(|l| !l.path.contains("/oauth2/"))
            .collect()
    }

    /// Instance ids in the bodies of the `manualupgrade` requests, one list per request.
    pub fn upgrade_batches(&self) -> Vec<Vec<String>> {
        self.writes()
            .iter()
            .filter(|w| w.method == "POST" && w.path.ends_with("/manualupgrade"))
            .map(|w| {
                let body: Value = serde_json::from_str(&w.body).unwrap_or(Value::Null);
                body["instanceIds"]
                    .as_array()
                    .map(|ids| {
                        ids.iter()
                            .filter_map(Value::as_str)
                            .map(ToOwned::to_owned)
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .collect()
    }

    pub fn count(&self, method: &str, status: Option<u16>) -> usize {
        self.log()
            .iter()
            .filter(|l| l.method == method && status.is_none_or(|s| s == l.status))
            .count()
    }

    pub fn throttled(&self) -> usize {
        self.log().iter().filter(|l| l.status == 429).count()
    }

    /// What `machine` (a VM id or `{vmss id}/virtualMachines/{instance}`) answers Run Command.
    pub fn set_guest(&self, machine: &str, guest: Guest) {
        self.with(|s| s.guests.insert(lower(machine), guest));
    }

    /// What machines without their own answer say.
    pub fn set_default_guest(&self, guest: Guest) {
        self.with(|s| s.default_guest = Some(guest));
    }

    pub fn set_ext_port(&self, id: &str, name: &str, port: &Value) {
        self.with_exts(id, name, |e| e.settings["port"] = port.clone());
    }

    /// POSTed Run Command bodies, with the machine they went to.
    pub fn run_commands(&self) -> Vec<(String, Value)> {
        self.log()
            .into_iter()
            .filter(|l| l.method == "POST" && lower(&l.path).ends_with("/runcommand"))
            .map(|l| {
                (
                    l.path.trim_end_matches("/runCommand").to_owned(),
                    serde_json::from_str(&l.body).unwrap_or(Value::Null),
                )
            })
            .collect()
    }

    /// How many Run Commands were refused because one was already running on the machine.
    pub fn run_command_conflicts(&self) -> u64 {
        self.with(|s| s.run_command_conflicts)
    }

    pub fn clear_log(&self) {
        self.with(|s| s.log.clear());
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn sub_rg(id: &str) -> (String, String) {
    let segs: Vec<&str> = id.split('/').collect();
    let get = |k: &str| {
        segs.iter()
            .position(|s| s.eq_ignore_ascii_case(k))
            .and_then(|i| segs.get(i + 1))
            .map(|s| (*s).to_owned())
            .unwrap_or_default()
    };
    (get("subscriptions"), get("resourceGroups"))
}

struct Shared {
    config: Config,
    state: Arc<Mutex<State>>,
    base: String,
    requests: Arc<AtomicU64>,
}

struct Request {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k).eq_ignore_ascii_case(name)).then(|| decode(v))
        })
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                if let Ok(b) = u8::from_str_radix(hex, 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

fn reply(status: u16, body: &Value) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        body: if body.is_null() {
            String::new()
        } else {
            body.to_string()
        },
    }
}

fn error(status: u16, code: &str, message: &str) -> Reply {
    reply(
        status,
        &json!({"error": {"code": code, "message": message}}),
    )
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((n, v)) = h.split_once(':') {
            headers.push((n.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if let Some(len) = get("content-length").and_then(|l| l.parse::<usize>().ok()) {
        body.resize(len, 0);
        reader.read_exact(&mut body).ok()?;
    } else if get("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let n = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    Some(Request {
        method,
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn serve(conn: TcpStream, shared: &Shared) {
    let Ok(write_half) = conn.try_clone() else {
        return;
    };
    let mut writer = write_half;
    let mut reader = BufReader::new(conn);
    while let Some(req) = read_request(&mut reader) {
        shared.requests.fetch_add(1, Ordering::Relaxed);
        if !shared.config.latency.is_zero() {
            thread::sleep(shared.config.latency);
        }
        let close = req
            .header("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"));
        let r = handle(shared, &req);
        let mut out = format!("HTTP/1.1 {} {}\r\n", r.status, reason(r.status));
        for (n, v) in &r.headers {
            let _ = write!(out, "{n}: {v}\r\n");
        }
        if !r.body.is_empty() {
            out.push_str("Content-Type: application/json; charset=utf-8\r\n");
        }
        let _ = write!(out, "Content-Length: {}\r\n\r\n", r.body.len());
        out.push_str(&r.body);
        if writer.write_all(out.as_bytes()).is_err() || close {
            break;
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn handle(shared: &Shared, req: &Request) -> Reply {
    let auth = req.header("authorization");
    let mut authorized = auth == Some(&format!("Bearer {}", shared.config.token));
    let mut st = shared.state.lock().unwrap();
    if authorized && let Some(left) = &mut st.token_uses_left {
        authorized = *left > 0;
        *left = left.saturating_sub(1);
    }
    let mut r = route(shared, &mut st, req, authorized);
    let n = st.log.len();
    r.headers
        .push(("x-ms-request-id".into(), format!("req-{n:08}")));
    r.headers.push((
        "x-ms-correlation-request-id".into(),
        req.header("x-ms-correlation-request-id")
            .map_or_else(|| format!("corr-{n:08}"), ToOwned::to_owned),
    ));
    st.log.push(Logged {
        method: req.method.clone(),
        path: req.path.clone(),
        query: req.query.clone(),
        authorized,
        has_authorization: auth.is_some(),
        status: r.status,
        body: req.body.clone(),
    });
    r
}

fn take_bucket(
    st: &mut State,
    name: &'static str,
    bucket: Option<&Bucket>,
) -> Result<Option<u64>, u64> {
    let Some(b) = bucket else { return Ok(None) };
    let now = Instant::now();
    let entry = st.buckets.entry(name).or_insert((b.capacity, now));
    let elapsed = now.duration_since(entry.1).as_secs_f64();
    entry.0 = (entry.0 + elapsed * b.refill_per_sec).min(b.capacity);
    entry.1 = now;
    if entry.0 >= 1.0 {
        entry.0 -= 1.0;
        Ok(Some(entry.0.floor() as u64))
    } else {
        let wait = ((1.0 - entry.0) / b.refill_per_sec).ceil().max(1.0);
        Err(wait as u64)
    }
}

fn route(shared: &Shared, st: &mut State, req: &Request, authorized: bool) -> Reply {
    let path = lower(&req.path);
    // Token endpoints (no bearer).
    let token_endpoint = (req.method == "POST" && path.ends_with("/oauth2/v2.0/token"))
        || (req.method == "GET"
            && (path == "/metadata/identity/oauth2/token" || path == "/msi/token"));
    if token_endpoint && let Some(status) = st.token_failures.pop_front() {
        let mut r = error(status, "TemporarilyUnavailable", "try again");
        r.headers.push(("Retry-After".into(), "0".into()));
        return r;
    }
    if req.method == "POST" && path.ends_with("/oauth2/v2.0/token") {
        let form: HashMap<String, String> = req
            .body
            .split('&')
            .filter_map(|kv| kv.split_once('=').map(|(k, v)| (decode(k), decode(v))))
            .collect();
        let assertion_ok = form.get("client_assertion_type").map(String::as_str)
            == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            && form.get("client_assertion").is_some_and(|a| {
                shared.config.federated_tokens.contains(a)
                    || certificate_assertion_ok(shared, &req.path, &form, a)
            });
        if form.get("grant_type").map(String::as_str) != Some("client_credentials")
            || !(assertion_ok || form.get("client_secret") == Some(&shared.config.client_secret))
        {
            return reply(
                401,
                &json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x"}),
            );
        }
        return reply(
            200,
            &json!({"token_type": "Bearer", "expires_in": shared.config.token_lifetime, "access_token": shared.config.token}),
        );
    }
    if req.method == "GET" && path == "/msi/token" {
        if req.header("x-identity-header") != Some(shared.config.identity_header.as_str())
            || req.param("api-version").as_deref() != Some("2019-08-01")
        {
            return reply(
                400,
                &json!({"error": "invalid_request", "error_description": "bad X-IDENTITY-HEADER or api-version"}),
            );
        }
        let expires_on = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 3600;
        return reply(
            200,
            &json!({"access_token": shared.config.token, "expires_on": expires_on.to_string(), "resource": req.param("resource"), "token_type": "Bearer"}),
        );
    }
    if req.method == "GET" && path == "/metadata/identity/oauth2/token" {
        if req.header("metadata") != Some("true") {
            return reply(
                400,
                &json!({"error": "invalid_request", "error_description": "Required metadata header not specified"}),
            );
        }
        return reply(
            200,
            &json!({"access_token": shared.config.token, "expires_in": "86399", "token_type": "Bearer"}),
        );
    }
    if !authorized {
        // Echoes what it got, as a careless server might: the client must not repeat it.
        return error(
            401,
            "InvalidAuthenticationToken",
            &format!(
                "The access token is invalid: '{}'.",
                req.header("authorization").unwrap_or_default()
            ),
        );
    }
    // Every write that arrives, whatever it is answered: is it in the journal already?
    if req.method != "GET"
        && !path.starts_with("/providers/microsoft.resourcegraph/")
        && let Some((file, seen)) = &mut st.journal_probe
    {
        let journal = std::fs::read_to_string(file).unwrap_or_default();
        seen.push((
            format!("{} {}", req.method, req.path),
            journal_names(&journal, &req.path, &req.body),
        ));
    }
    // Injected answers.
    for (m, part, queue) in &mut st.injected {
        if *m == req.method
            && path.contains(part.as_str())
            && let Some((status, retry)) = queue.pop_front()
        {
            let mut r = match status {
                429 => error(429, "TooManyRequests", "The request is being throttled."),
                409 => error(
                    409,
                    "Conflict",
                    "Operation 'delete' is not allowed since another operation is in progress.",
                ),
                s => error(s, "InternalServerError", "An internal error occurred."),
            };
            if let Some(ra) = retry {
                r.headers.push(("Retry-After".into(), ra.to_string()));
            }
            return r;
        }
    }
    for (m, part, queue) in &mut st.injected_dated {
        if *m == req.method
            && path.contains(part.as_str())
            && let Some((status, secs)) = queue.pop_front()
        {
            let mut r = error(status, "TooManyRequests", "The request is being throttled.");
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            // Rounded up: the client must wait at least `secs`.
            r.headers
                .push(("Retry-After".into(), http_date(now + secs + 1)));
            return r;
        }
    }
    if req.method != "GET"
        && !path.starts_with("/providers/microsoft.resourcegraph/")
        && st
            .busy
            .iter()
            .any(|(part, until)| path.contains(part.as_str()) && Instant::now() < *until)
    {
        return error(
            409,
            "OperationNotAllowed",
            "Operation 'write' is not allowed since another operation is in progress on the resource. Retry later.",
        );
    }
    // Throttling.
    let is_graph = path.starts_with("/providers/microsoft.resourcegraph/");
    let (bucket_name, bucket, header) = match req.method.as_str() {
        "GET" => (
            "reads",
            shared.config.reads.as_ref(),
            "x-ms-ratelimit-remaining-subscription-reads",
        ),
        "POST" if is_graph => (
            "reads",
            shared.config.reads.as_ref(),
            "x-ms-ratelimit-remaining-subscription-reads",
        ),
        "DELETE" => (
            "deletes",
            shared.config.deletes.as_ref(),
            "x-ms-ratelimit-remaining-subscription-deletes",
        ),
        _ => (
            "writes",
            shared.config.writes.as_ref(),
            "x-ms-ratelimit-remaining-subscription-writes",
        ),
    };
    let remaining = match take_bucket(st, bucket_name, bucket) {
        Ok(r) => r,
        Err(wait) => {
            let mut r = error(
                429,
                "TooManyRequests",
                "Number of requests exceeded the limit. Retry after the time in Retry-After.",
            );
            r.headers.push(("Retry-After".into(), wait.to_string()));
            return r;
        }
    };
    let mut r = dispatch(shared, st, req, &path);
    if let Some(rem) = remaining {
        r.headers.push((header.to_owned(), rem.to_string()));
    }
    r
}

/// Whether `journal` holds an intent for a write to `path` with this `body`: for a
/// `manualupgrade`, one that names the same instances (each batch is a write of its own).
fn journal_names(journal: &str, path: &str, body: &str) -> bool {
    let instances = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|b| b.get("instanceIds").cloned());
    journal
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["kind"] == "intent" && l["target"] == path)
        .any(|l| {
            instances
                .as_ref()
                .is_none_or(|ids| l.pointer("/resource/instanceIds") == Some(ids))
        })
}

fn ext_json(parent: &str, e: &Ext, vmss: bool) -> Value {
    let mut v = json!({
        "id": format!("{parent}/extensions/{}", e.name),
        "name": e.name,
        "type": if vmss { "Microsoft.Compute/virtualMachineScaleSets/extensions" } else { "Microsoft.Compute/virtualMachines/extensions" },
        "location": "westeurope",
        "properties": {
            "publisher": e.publisher,
            "type": e.ty,
            "typeHandlerVersion": "1.0",
            "autoUpgradeMinorVersion": true,
            "settings": e.settings,
            "provisioningState": e.state,
        }
    });
    if let Some(p) = &e.protected_settings {
        v["properties"]["protectedSettings"] = p.clone();
    }
    v
}

fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()
}

/// A certificate client assertion as Microsoft's identity platform checks it: RS256 over
/// `header.claims` with the registered certificate's key, `x5t` naming that certificate,
/// `aud` = this token endpoint, `iss` = `sub` = the client id, `nbf` <= now < `exp`, a `jti`.
fn certificate_assertion_ok(
    shared: &Shared,
    path: &str,
    form: &HashMap<String, String>,
    jwt: &str,
) -> bool {
    let Some(key) = &shared.config.certificate_public_key else {
        return false;
    };
    let parts: Vec<&str> = jwt.split('.').collect();
    let [h, c, sig] = parts[..] else { return false };
    let (Some(hb), Some(cb), Some(sig)) = (b64url_decode(h), b64url_decode(c), b64url_decode(sig))
    else {
        return false;
    };
    let (Ok(header), Ok(claims)) = (
        serde_json::from_slice::<Value>(&hb),
        serde_json::from_slice::<Value>(&cb),
    ) else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let client = &shared.config.certificate_client_id;
    let aud = format!("{}{path}", shared.base);
    let signed =
        ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, key)
            .verify(format!("{h}.{c}").as_bytes(), &sig)
            .is_ok();
    signed
        && header["alg"] == "RS256"
        && header["x5t"] == shared.config.certificate_x5t.as_str()
        && claims["aud"] == aud.as_str()
        && claims["iss"] == client.as_str()
        && claims["sub"] == client.as_str()
        && form.get("client_id") == Some(client)
        && claims["jti"].as_str().is_some_and(|j| !j.is_empty())
        && claims["nbf"].as_u64().is_some_and(|t| t <= now + 60)
        && claims["exp"].as_u64().is_some_and(|t| t > now)
}

fn vm_json(vm: &Vm, instance_view: bool) -> Value {
    let name = vm.id.rsplit('/').next().unwrap_or_default();
    let mut v = json!({
        "id": vm.id,
        "name": name,
        "type": "Microsoft.Compute/virtualMachines",
        "location": "westeurope",
        "properties": {
            "vmId": "00000000-0000-0000-0000-000000000000",
            "provisioningState": vm.provisioning,
            "hardwareProfile": {"vmSize": "Standard_B1s"},
        }
    });
    if let Some(i) = &vm.identity {
        v["identity"] = json!({"type": i, "principalId": "p", "tenantId": "t"});
    }
    if let Some(s) = &vm.scale_set {
        v["properties"]["virtualMachineScaleSet"] = json!({"id": s});
    }
    if instance_view {
        v["properties"]["instanceView"] = instance_view_json(vm);
    }
    v
}

fn instance_view_json(vm: &Vm) -> Value {
    json!({
        "statuses": [
            {"code": format!("ProvisioningState/{}", lower(&vm.provisioning)), "level": "Info"},
            {"code": format!("PowerState/{}", vm.power), "level": "Info"},
        ]
    })
}

/// A Uniform scale-set instance (`VirtualMachineScaleSetVM`): the model it runs, as ARM shows it.
fn instance_json(v: &Vmss, i: &Instance, instance_view: bool) -> Value {
    let id = format!("{}/virtualMachines/{}", v.id, i.id);
    let name = format!("{}_{}", v.id.rsplit('/').next().unwrap_or_default(), i.id);
    let mut storage = i
        .model
        .get("storageProfile")
        .cloned()
        .unwrap_or(Value::Null);
    if let Some(os) = storage.get_mut("osDisk").and_then(Value::as_object_mut) {
        os.insert("osType".into(), json!("Linux"));
        os.insert("name".into(), json!(format!("{name}_OsDisk")));
    }
    if let Some(img) = storage
        .get_mut("imageReference")
        .and_then(Value::as_object_mut)
    {
        img.insert("exactVersion".into(), json!("24.04.202501010"));
    }
    let mut os = i.model.get("osProfile").cloned().unwrap_or(Value::Null);
    if let Some(o) = os.as_object_mut() {
        o.insert("computerName".into(), json!(format!("{name}x")));
    }
    let mut props = json!({
        "latestModelApplied": i.latest,
        "provisioningState": i.provisioning,
        "vmId": "00000000-0000-0000-0000-000000000001",
        "storageProfile": storage,
        "osProfile": os,
        "networkProfile": {"networkInterfaces": [{"id": format!("{id}/networkInterfaces/nic")}]},
        "networkProfileConfiguration": i.model.get("networkProfile").cloned().unwrap_or(Value::Null),
        "protectionPolicy": {"protectFromScaleIn": false, "protectFromScaleSetActions": i.protected},
    });
    if instance_view {
        let mut iv = json!({"statuses": [
            {"code": format!("ProvisioningState/{}", lower(&i.provisioning)), "level": "Info"},
            {"code": "PowerState/running", "level": "Info"},
        ]});
        if let Some(h) = &i.health {
            iv["vmHealth"] =
                json!({"status": {"code": format!("HealthState/{h}"), "level": "Info"}});
        }
        props["instanceView"] = iv;
    }
    json!({
        "id": id,
        "instanceId": i.id,
        "name": name,
        "type": "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
        "location": "westeurope",
        "sku": {"name": i.sku, "tier": "Standard"},
        "properties": props,
        "resources": i.exts.iter().chain(&i.own_exts).map(|e| ext_json(&id, e, false)).collect::<Vec<_>>(),
    })
}

fn vmss_json(s: &Vmss) -> Value {
    let name = s.id.rsplit('/').next().unwrap_or_default();
    let mut v = json!({
        "id": s.id,
        "name": name,
        "type": "Microsoft.Compute/virtualMachineScaleSets",
        "location": "westeurope",
        "sku": {"name": s.sku, "capacity": s.instances.len()},
        "properties": {
            "provisioningState": s.provisioning,
            "orchestrationMode": s.orchestration,
            "virtualMachineProfile": {
                "extensionProfile": {
                    "extensions": s.exts.iter().map(|e| json!({"name": e.name, "properties": {"publisher": e.publisher, "type": e.ty, "typeHandlerVersion": "1.0"}})).collect::<Vec<_>>()
                }
            }
        }
    });
    if let (Some(profile), Some(model)) = (
        v.pointer_mut("/properties/virtualMachineProfile")
            .and_then(Value::as_object_mut),
        s.model.as_object(),
    ) {
        for (k, m) in model {
            profile.insert(k.clone(), m.clone());
        }
    }
    if s.health_probe {
        set_pointer(
            &mut v,
            "/properties/virtualMachineProfile/networkProfile/healthProbe/id",
            json!(format!("{}/../loadBalancers/lb/probes/http", s.id)),
        );
    }
    if s.orchestration != "Flexible" {
        v["properties"]["upgradePolicy"] = json!({"mode": s.upgrade_mode});
    }
    if let Some(i) = &s.identity {
        v["identity"] = json!({"type": i});
    }
    v
}

/// A page of `items` starting at `$skiptoken`, with an absolute nextLink.
fn page(shared: &Shared, req: &Request, items: &[Value]) -> Reply {
    let start: usize = req
        .param("$skiptoken")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let end = (start + shared.config.page_size.max(1)).min(items.len());
    let mut body = json!({"value": items.get(start..end).unwrap_or(&[])});
    if end < items.len() {
        let base = shared
            .config
            .foreign_next_link
            .as_deref()
            .unwrap_or(&shared.base);
        let api = req.param("api-version").unwrap_or_default();
        // Like ARM, the link keeps the request's other parameters (`$expand`).
        let expand = req
            .param("$expand")
            .map(|e| format!("&$expand={e}"))
            .unwrap_or_default();
        body["nextLink"] = json!(format!(
            "{base}{}?api-version={api}{expand}&$skiptoken={end}",
            req.path
        ));
    }
    reply(200, &body)
}

/// A fresh operation id with `prefix`, and how many polls it answers `InProgress` to.
fn next_op(shared: &Shared, st: &mut State, prefix: &str) -> (String, u32) {
    st.next_op += 1;
    let polls = st
        .polls_before_done
        .unwrap_or(shared.config.polls_before_done);
    (format!("{prefix}-{}", st.next_op), polls)
}

/// 202 Accepted for a long-running operation: `Retry-After`, the `Azure-AsyncOperation` status
/// URL when there is one, and the `Location` URL.
fn accepted(shared: &Shared, async_operation: Option<String>, location: String) -> Reply {
    let mut r = reply(202, &Value::Null);
    r.headers.push((
        "Retry-After".into(),
        shared.config.poll_retry_after.to_string(),
    ));
    if let Some(status_url) = async_operation {
        r.headers.push(("Azure-AsyncOperation".into(), status_url));
    }
    r.headers.push(("Location".into(), location));
    r
}

/// A poll of an operation that is still running: `InProgress` on its status URL, or 202 on its
/// `Location` URL (which points back at itself), with `Retry-After`.
fn still_running(shared: &Shared, req: &Request, id: &str, location_poll: bool) -> Reply {
    let mut r = if location_poll {
        reply(202, &Value::Null)
    } else {
        reply(200, &json!({"name": id, "status": "InProgress"}))
    };
    r.headers.push((
        "Retry-After".into(),
        shared.config.poll_retry_after.to_string(),
    ));
    if location_poll {
        r.headers.push((
            "Location".into(),
            format!("{}{}?{}", shared.base, req.path, req.query),
        ));
    }
    r
}

fn new_op(shared: &Shared, st: &mut State, action: OpAction, sub: &str) -> Reply {
    let (id, polls_left) = next_op(shared, st, "op");
    st.ops.insert(
        id.clone(),
        Op {
            polls_left,
            action: Some(action),
            done: false,
        },
    );
    let base = shared
        .config
        .foreign_poll_url
        .as_deref()
        .unwrap_or(&shared.base);
    let loc = format!(
        "{base}/subscriptions/{sub}/providers/Microsoft.Compute/locations/westeurope/operations/{id}?api-version=2024-11-01"
    );
    let results = loc.replace("/operations/", "/operationResults/");
    let status = match shared.config.delete_style {
        DeleteStyle::Location => None,
        _ => Some(loc),
    };
    accepted(shared, status, results)
}

fn complete(st: &mut State, action: &OpAction) {
    match action {
        OpAction::RemoveVmExt(vm, name) => {
            if let Some(v) = st.vms.get_mut(vm) {
                v.exts.retain(|e| !e.name.eq_ignore_ascii_case(name));
            }
        }
        OpAction::RemoveVmssExt(vmss, name) => {
            st.rolling_counter += 1;
            let counter = st.rolling_counter;
            if let Some(v) = st.vmss.get_mut(vmss) {
                v.exts.retain(|e| !e.name.eq_ignore_ascii_case(name));
                let manual = v.upgrade_mode.eq_ignore_ascii_case("Manual");
                let rolling = v.upgrade_mode.eq_ignore_ascii_case("Rolling");
                if rolling && !v.instances.is_empty() {
                    // The change goes out through a rolling upgrade, followed by its status.
                    v.rolling = Some(Rolling {
                        start_time: format!("2026-01-01T00:00:{:02}Z", counter % 60),
                        code: "RollingForward".to_owned(),
                        polls_left: 2,
                        outcome: v.rolling_outcome.clone(),
                    });
                    for i in &mut v.instances {
                        i.latest = false;
                    }
                    return;
                }
                for i in &mut v.instances {
                    // The Automatic policy brings instances along.
                    i.latest = !manual;
                    if !manual {
                        i.exts.clone_from(&v.exts);
                    }
                }
            }
        }
        OpAction::Upgrade(vmss, ids) => {
            if let Some(v) = st.vmss.get_mut(vmss) {
                let (exts, model, sku) = (v.exts.clone(), v.model.clone(), v.sku.clone());
                let (prov, health) = (v.upgraded_provisioning.clone(), v.upgraded_health.clone());
                for i in v.instances.iter_mut().filter(|i| ids.contains(&i.id)) {
                    i.latest = true;
                    i.exts.clone_from(&exts);
                    i.model = model.clone();
                    i.sku.clone_from(&sku);
                    i.provisioning.clone_from(&prov);
                    if health.is_some() {
                        i.health.clone_from(&health);
                    }
                }
            }
        }
        OpAction::RemoveInstanceExt(vmss, id, name) => {
            if let Some(i) = st
                .vmss
                .get_mut(vmss)
                .and_then(|v| v.instances.iter_mut().find(|i| i.id == *id))
            {
                i.own_exts.retain(|e| !e.name.eq_ignore_ascii_case(name));
            }
        }
    }
}

fn dispatch(shared: &Shared, st: &mut State, req: &Request, path: &str) -> Reply {
    let segs: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    let lsegs: Vec<String> = segs.iter().map(|s| lower(s)).collect();
    let m = req.method.as_str();
    if let Some(r) = run_command_route(shared, st, req, &lsegs) {
        return r;
    }
    // Subscriptions.
    if m == "GET" && path == "/subscriptions" {
        let subs: Vec<Value> = st
            .subscriptions
            .iter()
            .map(|s| json!({"id": format!("/subscriptions/{s}"), "subscriptionId": s, "displayName": s, "state": "Enabled"}))
            .collect();
        return page(shared, req, &subs);
    }
    // Resource Graph.
    if m == "POST" && path == "/providers/microsoft.resourcegraph/resources" {
        return graph(shared, st, req);
    }
    // Operations.
    if m == "GET"
        && (lsegs.iter().any(|s| s == "operations")
            || lsegs.iter().any(|s| s == "operationresults"))
    {
        let id = segs.last().copied().unwrap_or_default().to_owned();
        let results = lsegs.iter().any(|s| s == "operationresults");
        let Some(op) = st.ops.get_mut(&id) else {
            return error(404, "NotFound", "operation not found");
        };
        if !op.done && op.polls_left > 0 {
            op.polls_left -= 1;
            return still_running(shared, req, &id, results);
        }
        op.done = true;
        if let Some(action) = op.action.take() {
            complete(st, &action);
        }
        return if results {
            reply(204, &Value::Null)
        } else {
            reply(200, &json!({"name": id, "status": "Succeeded"}))
        };
    }
    // Lists: /subscriptions/{s}[/resourceGroups/{rg}]/providers/Microsoft.Compute/{type}
    if m == "GET"
        && lsegs.len() >= 5
        && lsegs[0] == "subscriptions"
        && lsegs[lsegs.len() - 2] == "microsoft.compute"
    {
        let sub = &lsegs[1];
        if !st.subscriptions.iter().any(|s| lower(s) == *sub) {
            return error(
                404,
                "SubscriptionNotFound",
                &format!("The subscription '{}' could not be found.", segs[1]),
            );
        }
        let rg = (lsegs[2] == "resourcegroups").then(|| lsegs[3].clone());
        let prefix = match &rg {
            Some(rg) => format!("/subscriptions/{sub}/resourcegroups/{rg}/"),
            None => format!("/subscriptions/{sub}/"),
        };
        let items: Vec<Value> = match lsegs[lsegs.len() - 1].as_str() {
            "virtualmachines" => st
                .vms
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .map(|(_, v)| vm_json(v, false))
                .collect(),
            "virtualmachinescalesets" => st
                .vmss
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .map(|(_, v)| vmss_json(v))
                .collect(),
            _ => return error(404, "NotFound", "unknown collection"),
        };
        return page(shared, req, &items);
    }
    // Resources under a VM or scale set.
    let Some(pos) = lsegs
        .iter()
        .position(|s| s == "virtualmachines" || s == "virtualmachinescalesets")
    else {
        return error(404, "NotFound", &format!("No route for {m} {}", req.path));
    };
    if pos + 1 >= segs.len() {
        return error(404, "NotFound", "no such resource");
    }
    let is_vmss = lsegs[pos] == "virtualmachinescalesets";
    let parent_key = format!("/{}", lsegs[..=pos + 1].join("/"));
    let rest: Vec<&str> = segs[pos + 2..].to_vec();
    let parent_display = format!("/{}", segs[..=pos + 1].join("/"));
    let sub = segs.get(1).copied().unwrap_or_default().to_owned();
    let exists = if is_vmss {
        st.vmss.contains_key(&parent_key)
    } else {
        st.vms.contains_key(&parent_key)
    };
    if !exists {
        let code = if rest.is_empty() {
            "ResourceNotFound"
        } else {
            "ParentResourceNotFound"
        };
        return error(
            404,
            code,
            &format!("The Resource '{parent_display}' was not found."),
        );
    }
    match (m, rest.as_slice()) {
        ("GET", []) => {
            if is_vmss {
                reply(200, &vmss_json(&st.vmss[&parent_key]))
            } else {
                let expand = req
                    .param("$expand")
                    .is_some_and(|e| e.eq_ignore_ascii_case("instanceView"));
                reply(200, &vm_json(&st.vms[&parent_key], expand))
            }
        }
        ("GET", [iv]) if iv.eq_ignore_ascii_case("instanceView") && !is_vmss => {
            let vm = &st.vms[&parent_key];
            if vm.hide_instance_view {
                error(404, "NotFound", "instance view unavailable")
            } else {
                reply(200, &instance_view_json(vm))
            }
        }
        ("GET", [e]) if e.eq_ignore_ascii_case("extensions") => {
            let (id, exts) = if is_vmss {
                let v = &st.vmss[&parent_key];
                (v.id.clone(), v.exts.clone())
            } else {
                let v = &st.vms[&parent_key];
                (v.id.clone(), v.exts.clone())
            };
            let items: Vec<Value> = exts.iter().map(|e| ext_json(&id, e, is_vmss)).collect();
            if is_vmss {
                page(shared, req, &items)
            } else {
                // VM extension lists are not paged in ARM.
                reply(200, &json!({"value": items}))
            }
        }
        ("GET", [e, name]) if e.eq_ignore_ascii_case("extensions") => {
            let (id, exts) = if is_vmss {
                let v = &st.vmss[&parent_key];
                (v.id.clone(), &v.exts)
            } else {
                let v = &st.vms[&parent_key];
                (v.id.clone(), &v.exts)
            };
            match exts.iter().find(|x| x.name.eq_ignore_ascii_case(name)) {
                Some(x) => reply(200, &ext_json(&id, x, is_vmss)),
                None => error(
                    404,
                    "NotFound",
                    &format!("The Resource '{id}/extensions/{name}' was not found."),
                ),
            }
        }
        ("DELETE", [e, name]) if e.eq_ignore_ascii_case("extensions") => {
            let name = (*name).to_owned();
            if is_vmss {
                let v = st.vmss.get_mut(&parent_key).expect("exists");
                let Some(x) = v
                    .exts
                    .iter_mut()
                    .find(|x| x.name.eq_ignore_ascii_case(&name))
                else {
                    return reply(204, &Value::Null);
                };
                x.state = "Deleting".to_owned();
                delete_answer(shared, st, OpAction::RemoveVmssExt(parent_key, name), &sub)
            } else {
                let v = st.vms.get_mut(&parent_key).expect("exists");
                if !v.exts.iter().any(|x| x.name.eq_ignore_ascii_case(&name)) {
                    return reply(204, &Value::Null);
                }
                if v.power != "running" {
                    return error(
                        409,
                        "OperationNotAllowed",
                        "Cannot modify extensions in the VM when the VM is not running.",
                    );
                }
                if let Some(x) = v
                    .exts
                    .iter_mut()
                    .find(|x| x.name.eq_ignore_ascii_case(&name))
                {
                    x.state = "Deleting".to_owned();
                }
                delete_answer(shared, st, OpAction::RemoveVmExt(parent_key, name), &sub)
            }
        }
        ("GET", [vms]) if is_vmss && vms.eq_ignore_ascii_case("virtualMachines") => {
            let v = &st.vmss[&parent_key];
            let expand = req
                .param("$expand")
                .is_some_and(|e| e.eq_ignore_ascii_case("instanceView"));
            let items: Vec<Value> = v
                .instances
                .iter()
                .map(|i| instance_json(v, i, expand))
                .collect();
            page(shared, req, &items)
        }
        ("GET", [vms, id]) if is_vmss && vms.eq_ignore_ascii_case("virtualMachines") => {
            let v = &st.vmss[&parent_key];
            match v.instances.iter().find(|i| i.id == *id) {
                Some(i) => reply(200, &instance_json(v, i, false)),
                None => error(404, "NotFound", "instance not found"),
            }
        }
        ("GET", [ru, latest])
            if is_vmss
                && ru.eq_ignore_ascii_case("rollingUpgrades")
                && latest.eq_ignore_ascii_case("latest") =>
        {
            let v = st.vmss.get_mut(&parent_key).expect("exists");
            let Some(r) = v.rolling.as_mut() else {
                return error(
                    404,
                    "NotFound",
                    "The entity was not found in this Azure location.",
                );
            };
            if r.code == "RollingForward" {
                if r.polls_left == 0 {
                    r.code = r.outcome.clone();
                    if r.code == "Completed" {
                        let exts = v.exts.clone();
                        for i in &mut v.instances {
                            i.latest = true;
                            i.exts.clone_from(&exts);
                        }
                    }
                } else {
                    r.polls_left -= 1;
                }
            }
            let r = v.rolling.as_ref().expect("set");
            let n = v.instances.len();
            let done = r.code == "Completed";
            reply(
                200,
                &json!({
                    "location": "westeurope",
                    "properties": {
                        "policy": {"maxBatchInstancePercent": 20, "maxUnhealthyInstancePercent": 20, "pauseTimeBetweenBatches": "PT0S"},
                        "runningStatus": {"code": r.code, "startTime": r.start_time, "lastAction": "Start"},
                        "progress": {
                            "successfulInstanceCount": if done { n } else { 0 },
                            "failedInstanceCount": if r.code == "Faulted" { n } else { 0 },
                            "inProgressInstanceCount": 0,
                            "pendingInstanceCount": if r.code == "RollingForward" { n } else { 0 }
                        },
                        "error": if r.code == "Faulted" { json!({"code": "MaxUnhealthyInstancePercentExceededInRollingUpgrade", "message": "Rolling Upgrade failed: too many unhealthy instances."}) } else { Value::Null }
                    }
                }),
            )
        }
        ("GET", [vms, id, e])
            if is_vmss
                && vms.eq_ignore_ascii_case("virtualMachines")
                && e.eq_ignore_ascii_case("extensions") =>
        {
            let v = &st.vmss[&parent_key];
            let Some(i) = v.instances.iter().find(|i| i.id == *id) else {
                return error(404, "NotFound", "instance not found");
            };
            let iid = format!("{}/virtualMachines/{}", v.id, i.id);
            let items: Vec<Value> = i
                .exts
                .iter()
                .chain(&i.own_exts)
                .map(|e| ext_json(&iid, e, false))
                .collect();
            reply(200, &json!({"value": items}))
        }
        (method @ ("GET" | "DELETE"), [vms, id, exts, name])
            if is_vmss
                && vms.eq_ignore_ascii_case("virtualMachines")
                && exts.eq_ignore_ascii_case("extensions") =>
        {
            let v = st.vmss.get_mut(&parent_key).expect("exists");
            let vid = v.id.clone();
            let Some(i) = v.instances.iter_mut().find(|i| i.id == *id) else {
                return error(404, "NotFound", "instance not found");
            };
            let iid = format!("{vid}/virtualMachines/{}", i.id);
            let found = i
                .exts
                .iter_mut()
                .chain(i.own_exts.iter_mut())
                .find(|x| x.name.eq_ignore_ascii_case(name));
            match (method, found) {
                (_, None) => error(
                    404,
                    "NotFound",
                    &format!("The Resource '{iid}/extensions/{name}' was not found."),
                ),
                ("GET", Some(x)) => reply(200, &ext_json(&iid, x, false)),
                (_, Some(x)) => {
                    x.state = "Deleting".to_owned();
                    let action = OpAction::RemoveInstanceExt(
                        parent_key.clone(),
                        (*id).to_owned(),
                        (*name).to_owned(),
                    );
                    delete_answer(shared, st, action, &sub)
                }
            }
        }
        ("POST", [up]) if is_vmss && up.eq_ignore_ascii_case("manualupgrade") => {
            let body: Value = serde_json::from_str(&req.body).unwrap_or(Value::Null);
            let ids: Vec<String> = body
                .get("instanceIds")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(ToOwned::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            if ids.is_empty() {
                return error(400, "InvalidParameter", "instanceIds is required");
            }
            new_op(shared, st, OpAction::Upgrade(parent_key, ids), &sub)
        }
        _ => error(404, "NotFound", &format!("No route for {m} {}", req.path)),
    }
}

fn delete_answer(shared: &Shared, st: &mut State, action: OpAction, sub: &str) -> Reply {
    if shared.config.delete_style == DeleteStyle::Sync {
        complete(st, &action);
        return reply(200, &Value::Null);
    }
    new_op(shared, st, action, sub)
}

fn graph(shared: &Shared, st: &mut State, req: &Request) -> Reply {
    let mut quota_headers = Vec::new();
    if let Some(q) = st.graph_quota.as_mut() {
        if q.since.elapsed() >= q.window {
            q.used = 0;
            q.since = Instant::now();
        }
        let left = q.window.saturating_sub(q.since.elapsed()).as_secs() + 1;
        let resets = format!(
            "{:02}:{:02}:{:02}",
            left / 3600,
            left % 3600 / 60,
            left % 60
        );
        if q.used >= q.limit {
            let mut r = error(
                429,
                "RateLimiting",
                "Please provide below info when asking for support: ... Too many requests.",
            );
            r.headers
                .push(("x-ms-user-quota-remaining".into(), "0".into()));
            r.headers
                .push(("x-ms-user-quota-resets-after".into(), resets));
            return r;
        }
        q.used += 1;
        quota_headers.push((
            "x-ms-user-quota-remaining".to_owned(),
            (q.limit - q.used).to_string(),
        ));
        quota_headers.push(("x-ms-user-quota-resets-after".to_owned(), resets));
    }
    let mut r = graph_page(shared, st, req);
    r.headers.extend(quota_headers);
    if st.graph_truncated && r.status == 200 {
        let mut v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        v["resultTruncated"] = json!("true");
        r.body = v.to_string();
    }
    r
}

fn graph_page(shared: &Shared, st: &State, req: &Request) -> Reply {
    let body: Value = serde_json::from_str(&req.body).unwrap_or(Value::Null);
    if body
        .get("query")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return error(400, "BadRequest", "query is required");
    }
    let subs: Vec<String> = body
        .get("subscriptions")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(lower).collect())
        .unwrap_or_else(|| st.subscriptions.iter().map(|s| lower(s)).collect());
    let in_scope = |id: &str| {
        let (s, _) = sub_rg(id);
        subs.contains(&lower(&s))
    };
    let is_mi = |e: &Ext| {
        e.publisher.eq_ignore_ascii_case(MI_PUBLISHER)
            && (e.ty.eq_ignore_ascii_case(MI_LINUX) || e.ty.eq_ignore_ascii_case(MI_WINDOWS))
    };
    let mut rows = Vec::new();
    for v in st.vms.values().filter(|v| in_scope(&v.id)) {
        let (s, rg) = sub_rg(&v.id);
        for e in v.exts.iter().filter(|e| is_mi(e)) {
            rows.push(json!({"id": format!("{}/extensions/{}", v.id, e.name), "name": e.name, "kind": "vm", "parentId": v.id, "subscriptionId": s, "resourceGroup": rg}));
        }
    }
    for v in st.vmss.values().filter(|v| in_scope(&v.id)) {
        let (s, rg) = sub_rg(&v.id);
        for e in v.exts.iter().filter(|e| is_mi(e)) {
            rows.push(json!({"id": format!("{}/extensions/{}", v.id, e.name), "name": e.name, "kind": "vmss", "parentId": v.id, "subscriptionId": s, "resourceGroup": rg}));
        }
        // The query's third branch: every Uniform scale set, for its instances.
        if v.orchestration != "Flexible" {
            rows.push(json!({"id": v.id, "name": "", "kind": "vmss", "parentId": v.id, "subscriptionId": s, "resourceGroup": rg}));
        }
    }
    rows.extend(
        st.stale_graph_rows
            .iter()
            .filter(|r| r["parentId"].as_str().is_some_and(in_scope))
            .cloned(),
    );
    let start: usize = body
        .pointer("/options/$skipToken")
        .and_then(Value::as_str)
        .and_then(|t| t.strip_prefix("tok-"))
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let end = (start + shared.config.graph_page_size.max(1)).min(rows.len());
    let mut out = json!({
        "totalRecords": rows.len(),
        "count": end.saturating_sub(start),
        "resultTruncated": "false",
        "data": rows.get(start..end).unwrap_or(&[]),
    });
    if end < rows.len() {
        out["$skipToken"] = json!(format!("tok-{end}"));
    }
    reply(200, &out)
}

/// The last `max` bytes of `s` (at a character boundary): what the Run Command handlers keep.
fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// The `RunCommandResult` a finished Run Command returns.
fn run_result(guest: &Guest, windows: bool) -> Value {
    let (out, err) = match guest {
        Guest::Output { stdout, stderr } => (tail(stdout, 4096), tail(stderr, 4096)),
        _ => ("", ""),
    };
    if windows {
        json!({"value": [
            {"code": "ComponentStatus/StdOut/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "message": out},
            {"code": "ComponentStatus/StdErr/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "message": err},
        ]})
    } else {
        json!({"value": [
            {"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded",
             "message": format!("Enable succeeded: \n[stdout]\n{out}\n[stderr]\n{err}")},
        ]})
    }
}

/// `POST .../virtualMachines/{vm}/runCommand`, `POST .../virtualMachineScaleSets/{ss}/
/// virtualmachines/{i}/runCommand` (202 + Azure-AsyncOperation + Location, like
/// Microsoft.Compute; one at a time per machine, 409 otherwise), and polling its operation.
fn run_command_route(
    shared: &Shared,
    st: &mut State,
    req: &Request,
    lsegs: &[String],
) -> Option<Reply> {
    let m = req.method.as_str();
    if m == "GET"
        && lsegs.iter().any(|s| s == "operations")
        && let Some(id) = lsegs.last().filter(|id| id.starts_with("rc-"))
    {
        let monitor = req.param("monitor").is_some();
        let Some(op) = st.run_ops.get_mut(id.as_str()) else {
            return Some(error(404, "NotFound", "operation not found"));
        };
        let hang = matches!(op.guest, Guest::Hang);
        if !op.done && (hang || op.polls_left > 0 || Instant::now() < op.ready_at) {
            op.polls_left = op.polls_left.saturating_sub(1);
            return Some(still_running(shared, req, id, monitor));
        }
        op.done = true;
        let op = op.clone();
        if st.running.get(&op.machine).map(String::as_str) == Some(id.as_str()) {
            st.running.remove(&op.machine);
        }
        if matches!(op.guest, Guest::AgentNotReady) {
            let e = json!({"code": "VMAgentStatusCommunicationError", "message": "VM has not reported status for VM agent or extensions. Verify that the OS is up and healthy, the VM has a running VM agent, and that it can establish outbound connections to Azure storage."});
            return Some(if monitor {
                reply(409, &json!({"error": e}))
            } else {
                reply(200, &json!({"name": id, "status": "Failed", "error": e}))
            });
        }
        let result = run_result(&op.guest, op.windows);
        return Some(if monitor {
            reply(200, &result)
        } else {
            reply(
                200,
                &json!({"name": id, "status": "Succeeded", "properties": {"output": result}}),
            )
        });
    }
    if m != "POST" || lsegs.last().map(String::as_str) != Some("runcommand") {
        return None;
    }
    let n = lsegs.len();
    let (machine, running) = if n >= 10
        && lsegs[n - 5] == "virtualmachinescalesets"
        && lsegs[n - 3] == "virtualmachines"
    {
        let vmss = format!("/{}", lsegs[..n - 3].join("/"));
        let key = format!("{vmss}/virtualmachines/{}", lsegs[n - 2]);
        let exists = st
            .vmss
            .get(&vmss)
            .is_some_and(|v| v.instances.iter().any(|i| lower(&i.id) == lsegs[n - 2]));
        if !exists {
            return Some(error(404, "NotFound", "The instance was not found."));
        }
        (key, true)
    } else if n >= 8 && lsegs[n - 3] == "virtualmachines" {
        let key = format!("/{}", lsegs[..n - 1].join("/"));
        let Some(vm) = st.vms.get(&key) else {
            return Some(error(404, "ResourceNotFound", "The VM was not found."));
        };
        (key, vm.power == "running")
    } else {
        return None;
    };
    let body: Value = serde_json::from_str(&req.body).unwrap_or(Value::Null);
    let command = body["commandId"].as_str().unwrap_or_default().to_owned();
    if !matches!(command.as_str(), "RunShellScript" | "RunPowerShellScript")
        || !body["script"].is_array()
    {
        return Some(error(
            400,
            "InvalidParameter",
            "commandId and script are required",
        ));
    }
    let guest = st
        .guests
        .get(&machine)
        .or(st.default_guest.as_ref())
        .cloned()
        .unwrap_or(Guest::Output {
            stdout: String::new(),
            stderr: String::new(),
        });
    if !running || matches!(guest, Guest::NotRunning) {
        return Some(error(
            409,
            "OperationNotAllowed",
            "Operation 'runCommand' is not allowed since the VM is deallocated or marked to be deallocated.",
        ));
    }
    if st.running.contains_key(&machine) {
        st.run_command_conflicts += 1;
        return Some(error(
            409,
            "Conflict",
            "Run command extension execution is in progress. Please wait for completion before invoking a run command.",
        ));
    }
    let (id, polls_left) = next_op(shared, st, "rc");
    st.running.insert(machine.clone(), id.clone());
    st.run_ops.insert(
        id.clone(),
        RunOp {
            machine,
            ready_at: Instant::now() + shared.config.run_command_latency,
            polls_left,
            guest,
            windows: command == "RunPowerShellScript",
            done: false,
        },
    );
    let sub = lsegs.get(1).cloned().unwrap_or_default();
    let op = format!(
        "{}/subscriptions/{sub}/providers/Microsoft.Compute/locations/westeurope/operations/{id}",
        shared.base
    );
    Some(accepted(
        shared,
        Some(format!("{op}?api-version=2024-11-01")),
        format!("{op}?monitor=true&api-version=2024-11-01"),
    ))
}
