//! Decides what language a code block without a usable tag holds, from its structure alone:
//! an ARM/JSON object with a `"publisher"` member, a PowerShell cmdlet of the Az/AzureRM modules,
//! an `az` command, HCL or Bicep blocks. Prose, output and logs have none of these shapes.

use std::sync::LazyLock;

use regex::Regex;

use crate::kind::FileKind;

/// The kind a block holding `body` is analyzed as, when its structure says so.
pub fn structured_kind(body: &str) -> Option<FileKind> {
    static CMDLET: LazyLock<Regex> = LazyLock::new(|| {
        // A prompt may precede it (`PS C:\> `); `$x = Set-AzVMExtension ...` too.
        crate::analyzers::pattern::compile(
            r"(?im)^[ \t>]*(?:PS[^>\n]{0,80}>\s*)?(?:\$[\w:]+\s*=\s*)?(?:Set|Add|New|Update|Remove|Get|Invoke|Connect)-Az(?:ureRm)?[A-Za-z]+\b",
        )
        .expect("valid regex")
    });
    static AZ: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(r"(?m)^[ \t>]*(?:\$\s+|sudo\s+)?az\s+(?:vm|vmss|login|account|group|identity|extension|resource|deployment)\b")
            .expect("valid regex")
    });
    static HCL: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(
            r#"(?m)^[ \t]*(?:resource|module|data)\s+"[\w-]+"(?:\s+"[\w-]+")?\s*\{"#,
        )
        .expect("valid regex")
    });
    static BICEP: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(r"(?m)^[ \t]*(?:resource|module)\s+\w+\s+'[^'\n]+'\s*=")
            .expect("valid regex")
    });
    static JSON_MEMBER: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(r#"(?i)"(?:publisher|type|extensionprofile)"\s*:"#)
            .expect("valid regex")
    });
    // A block cut out of a resource (`extension { ... publisher = "..." }`): HCL's `key = value`
    // inside a bare block. Tried last, so a command anywhere in the block decides first.
    static HCL_BODY: LazyLock<Regex> = LazyLock::new(|| {
        crate::analyzers::pattern::compile(
            r#"(?m)^[ \t]*[a-z_]+(?:[ \t]+"[\w-]+")*[ \t]*\{[ \t]*\r?$(?:\r?\n[ \t]*(?:#.*|\w+[ \t]*=.*)?)*?\r?\n[ \t]*publisher[ \t]*=[ \t]*""#,
        )
        .expect("valid regex")
    });
    let start = body.trim_start();
    if (start.starts_with('{') || start.starts_with('[') || start.starts_with('"'))
        && JSON_MEMBER.is_match(body)
    {
        return Some(FileKind::Arm);
    }
    if BICEP.is_match(body) {
        return Some(FileKind::Bicep);
    }
    if HCL.is_match(body) {
        return Some(FileKind::Terraform);
    }
    if CMDLET.is_match(body) {
        return Some(FileKind::PowerShell);
    }
    if AZ.is_match(body) {
        return Some(FileKind::Shell);
    }
    if HCL_BODY.is_match(body) {
        return Some(FileKind::Terraform);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structures_give_the_kind() {
        for (body, kind) in [
            (
                "{\n  \"type\": \"Microsoft.Compute/virtualMachines/extensions\",\n  \"properties\": {\"publisher\": \"x\"}\n}",
                FileKind::Arm,
            ),
            (
                "\"extensionProfile\": {\n  \"extensions\": []\n}",
                FileKind::Arm,
            ),
            (
                "resource \"azurerm_virtual_machine_extension\" \"x\" {\n}",
                FileKind::Terraform,
            ),
            (
                "resource ext 'Microsoft.Compute/virtualMachines/extensions@2019-07-01' = {\n}",
                FileKind::Bicep,
            ),
            (
                "PS C:\\> Set-AzVMExtension -ResourceGroupName rg",
                FileKind::PowerShell,
            ),
            ("$e = Set-AzureRmVMExtension -Name x", FileKind::PowerShell),
            ("$ az vm extension set -n x", FileKind::Shell),
            ("az login -u sub@50342", FileKind::Shell),
            (
                "extension {\n  name      = \"msi\"\n  publisher = \"Microsoft.ManagedIdentity\"\n}",
                FileKind::Terraform,
            ),
        ] {
            assert_eq!(structured_kind(body), Some(kind), "{body}");
        }
    }

    #[test]
    fn prose_and_output_have_no_kind() {
        for body in [
            "The ManagedIdentityExtensionForWindows extension is retired; use IMDS.",
            "Set the publisher to Microsoft.ManagedIdentity in the portal.",
            "name                              publisher\n----                              ---------\nManagedIdentityExtensionForLinux  Microsoft.ManagedIdentity",
            "azure vm extension list",
            "resource group rg1 was created",
            "server {\n  listen 80;\n  publisher = off;\n}",
            "Publisher = \"Microsoft.ManagedIdentity\"",
        ] {
            assert_eq!(structured_kind(body), None, "{body}");
        }
    }
}
