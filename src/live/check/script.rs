//! The fixed guest scripts, embedded in the binary: what Run Command runs on each machine.

use serde::Serialize;

use crate::cli::live::ScriptOs;

/// The guest's operating system, from the extension's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    Linux,
    Windows,
}

/// bash; read-only; parameters arrive as `$1`..`$3`.
pub const LINUX: &str = include_str!("linux.sh");
/// Windows PowerShell 4+; read-only; parameters arrive as named script parameters.
pub const WINDOWS: &str = include_str!("windows.ps1");

/// Directories searched for files naming the endpoint when `--search-dirs` is not given: where
/// applications, their configuration, scheduled jobs and home directories live. The scripts
/// carry the same defaults.
pub const LINUX_DIRS: &str = "/etc:/opt:/srv:/home:/root:/usr/local:/var/www:/var/spool/cron";
pub const WINDOWS_DIRS: &str =
    r"C:\ProgramData:C:\inetpub:C:\Program Files:C:\Program Files (x86):C:\Users";

impl Os {
    /// From the extension type (`ManagedIdentityExtensionForLinux` / `...ForWindows`).
    pub fn of_extension_type(ty: &str) -> Os {
        if ty.to_ascii_lowercase().ends_with("forwindows") {
            Os::Windows
        } else {
            Os::Linux
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Os::Linux => "linux",
            Os::Windows => "windows",
        }
    }

    pub fn script(self) -> &'static str {
        match self {
            Os::Linux => LINUX,
            Os::Windows => WINDOWS,
        }
    }

    /// The Run Command built-in that runs a custom script on this OS.
    pub fn command_id(self) -> &'static str {
        match self {
            Os::Linux => "RunShellScript",
            Os::Windows => "RunPowerShellScript",
        }
    }

    pub fn default_dirs(self) -> &'static str {
        match self {
            Os::Linux => LINUX_DIRS,
            Os::Windows => WINDOWS_DIRS,
        }
    }
}

/// `live check --show-script linux|windows`.
pub fn for_cli(os: ScriptOs) -> &'static str {
    match os {
        ScriptOs::Linux => LINUX,
        ScriptOs::Windows => WINDOWS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_carry_the_documented_defaults() {
        assert!(LINUX.contains(&format!("SEARCH_DIRS:-{LINUX_DIRS}")));
        assert!(WINDOWS.contains(&format!("$SEARCH_DIRS = '{WINDOWS_DIRS}'")));
        for s in [LINUX, WINDOWS] {
            assert!(s.contains("50342"));
            assert!(s.len() < 16_000, "keep the scripts short");
        }
    }

    #[test]
    fn os_from_extension_type() {
        assert_eq!(
            Os::of_extension_type("ManagedIdentityExtensionForWindows"),
            Os::Windows
        );
        assert_eq!(
            Os::of_extension_type("managedidentityextensionforlinux"),
            Os::Linux
        );
    }
}
