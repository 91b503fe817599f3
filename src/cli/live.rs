//! Flags of `imds-migrate live`.

use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Args)]
pub struct LiveArgs {
    #[command(subcommand)]
    pub command: LiveCommand,
}

#[derive(Debug, Subcommand)]
pub enum LiveCommand {
    /// List deployed Managed Identity extensions on VMs and scale sets.
    List(ListArgs),
    /// Remove them (prints the plan only, unless --yes).
    Remove(RemoveArgs),
    /// Ask each machine that has the extension, through Run Command and a fixed read-only
    /// script, whether anything on it still calls the extension's token endpoint.
    Check(CheckArgs),
    /// Show what a `remove --yes` journal records: removed, failed, in doubt.
    Journal(JournalArgs),
}

#[derive(Debug, Args)]
pub struct JournalArgs {
    /// The journal file (`imds-migrate-live-<timestamp>.jsonl`).
    #[arg(value_name = "FILE")]
    pub file: std::path::PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LiveFormat::Table, help_heading = "Output")]
    pub format: LiveFormat,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub common: LiveCommon,
    #[command(flatten)]
    pub guest: GuestArgs,
    /// Print the script sent to Linux or Windows machines, and exit.
    #[arg(long, value_enum, value_name = "OS", exclusive = true)]
    pub show_script: Option<ScriptOs>,
}

/// How the guest check runs (`check`, and `remove --check-guest`).
#[derive(Debug, Args, Clone)]
pub struct GuestArgs {
    /// Watch for connections to the extension's port for this many seconds on each machine.
    #[arg(long, default_value_t = 30, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(0..=40))]
    pub sample_seconds: u32,
    /// Directories searched on Linux machines for files naming the endpoint (`:`-separated)
    /// [default: `/etc:/opt:/srv:/home:/root:/usr/local:/var/www:/var/spool/cron`].
    #[arg(long, value_name = "DIRS")]
    pub search_dirs: Option<String>,
    /// The same for Windows machines (a drive's colon stays) [default:
    /// `C:\ProgramData:C:\inetpub:C:\Program Files:C:\Program Files (x86):C:\Users`].
    #[arg(long, value_name = "DIRS")]
    pub windows_search_dirs: Option<String>,
    /// How many machines are checked at the same time (never two Run Commands on one machine);
    /// requests are paced by ARM's rate-limit headers like every other.
    #[arg(long, default_value_t = 16, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub check_concurrency: u32,
    /// Check only this many instances of each scale set (said in the output) [default: all].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub check_sample: Option<u32>,
    /// Give up on one machine's Run Command after this many seconds.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub check_timeout: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScriptOs {
    Linux,
    Windows,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub common: LiveCommon,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Removal")]
pub struct RemoveArgs {
    #[command(flatten)]
    pub common: LiveCommon,
    /// Really delete. Without it, `remove` prints the plan and sends no write.
    #[arg(long)]
    pub yes: bool,
    /// Scale sets with a Manual upgrade policy: run `manualupgrade` on the instances that still
    /// run the extension, when it is the only difference from the scale set's model and the
    /// instance is not protected from scale-set actions.
    #[arg(long)]
    pub upgrade_instances: bool,
    /// Upgrade a scale set's instances in batches of this share of its instances (percent); each
    /// batch must be healthy before the next starts, and a failed batch stops that scale set.
    #[arg(long, default_value_t = 20, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(1..=100))]
    pub upgrade_batch_percent: u8,
    /// Give up waiting for one long-running operation after this many seconds.
    #[arg(long, default_value_t = 1800, value_name = "SECONDS")]
    pub operation_timeout: u64,
    /// Record every write here (JSON lines, synced to disk before each request is sent) [default:
    /// imds-migrate-live-<UTC timestamp>.jsonl in the current directory]. Only with --yes.
    #[arg(long, value_name = "FILE", requires = "yes")]
    pub journal: Option<std::path::PathBuf>,
    /// Check each machine first (as `live check` does) and delete only where nothing uses the
    /// extension; machines in use or that cannot be checked are skipped with the reason.
    #[arg(long)]
    pub check_guest: bool,
    #[command(flatten)]
    pub guest: GuestArgs,
}

/// Flags shared by `list`, `remove` and `check`.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Azure")]
pub struct LiveCommon {
    /// Subscription to search (repeatable).
    #[arg(long = "subscription", value_name = "ID", required_unless_present_any = ["all_subscriptions", "management_group"])]
    pub subscriptions: Vec<String>,
    /// Search every subscription the identity can see.
    #[arg(long, conflicts_with = "subscriptions")]
    pub all_subscriptions: bool,
    /// Only this resource group.
    #[arg(long, value_name = "RG")]
    pub resource_group: Option<String>,
    /// Discover with one Azure Resource Graph query (then confirm each hit with ARM).
    #[arg(long)]
    pub resource_graph: bool,
    /// Management group to search (implies --resource-graph; repeatable).
    #[arg(long = "management-group", value_name = "ID")]
    pub management_group: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LiveFormat::Table)]
    pub format: LiveFormat,
    /// Microsoft.Compute api-version.
    #[arg(long, default_value = "2024-11-01", value_name = "VERSION")]
    pub api_version: String,
    /// Credential to use [default: the first that works, in the documented order].
    #[arg(long, value_enum)]
    pub auth: Option<AuthMethod>,
    /// Azure cloud: picks the ARM and login endpoints.
    #[arg(long, value_enum, default_value_t = Cloud::Public)]
    pub cloud: Cloud,
    /// ARM endpoint (Azure Stack, tests). Plain http:// only for loopback addresses.
    #[arg(long, value_name = "URL")]
    pub arm_endpoint: Option<String>,
    /// Token audience for ARM [default: the cloud's].
    #[arg(long, value_name = "URL")]
    pub arm_audience: Option<String>,
    /// How many requests (discovery) or removals run at the same time; requests are also paced
    /// by ARM's `x-ms-ratelimit-remaining-*` headers.
    #[arg(long, default_value_t = 16, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: u32,
    /// Multiply every wait (Retry-After, backoff, polling) by this factor. For tests.
    #[arg(long, default_value_t = 1.0, hide = true)]
    pub time_scale: f64,
    /// Give up on a request after this many attempts (429, 5xx, network errors).
    #[arg(long, default_value_t = 8, hide = true)]
    pub max_attempts: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LiveFormat {
    Table,
    Json,
    Csv,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AuthMethod {
    /// A bearer token in `AZURE_ACCESS_TOKEN`.
    Env,
    /// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, and `AZURE_CLIENT_SECRET` or
    /// `AZURE_CLIENT_CERTIFICATE_PATH` (client credentials).
    ServicePrincipal,
    /// `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID`, `AZURE_TENANT_ID` (GitHub Actions OIDC, AKS).
    WorkloadIdentity,
    /// `az account get-access-token`.
    AzureCli,
    /// The managed identity of the machine we run on, through IMDS.
    ManagedIdentity,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Cloud {
    Public,
    China,
    Usgov,
}
