//! Checks a fixed text before it may be written: a fix must never turn a file that parsed into
//! one that does not.

use crate::{
    analyzers::{arm, bicep, terraform},
    kind::FileKind,
};

/// Both gates before a write: [`check`] and [`super::order::verify`]. An ARM template's graph
/// is built exactly when it parses, so one parse of each text serves both there (the parses were
/// a tenth of a `fix` run's time).
pub fn check_all(kind: FileKind, before: &str, after: &str) -> Result<(), String> {
    if matches!(kind, FileKind::Arm | FileKind::Json) {
        return match (arm::graph::build(before), arm::graph::build(after)) {
            (Some(_), None) => Err(no_longer_parses(kind)),
            (Some(g0), Some(g1)) => super::order::verify_graphs(&g0, &g1),
            (None, _) => Ok(()),
        };
    }
    check(kind, before, after)?;
    super::order::verify(kind, before, after)
}

fn no_longer_parses(kind: FileKind) -> String {
    format!(
        "not rewritten: the file would no longer parse as {} after its fixes",
        kind.name()
    )
}

/// `Err` explains why `after` must not be written.
pub fn check(kind: FileKind, before: &str, after: &str) -> Result<(), String> {
    let parses: fn(&str) -> bool = match kind {
        FileKind::Arm | FileKind::ArmParameters | FileKind::Json => arm::parses,
        FileKind::Terraform => terraform::parses,
        FileKind::Bicep => bicep::parses,
        _ => return Ok(()),
    };
    if parses(before) && !parses(after) {
        return Err(no_longer_parses(kind));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_json_edit_that_breaks_parsing() {
        assert!(check(FileKind::Arm, "{\"a\": [1, 2]}", "{\"a\": [1, 2}").is_err());
        assert!(check(FileKind::Arm, "{\"a\": [1, 2]}", "{\"a\": [1]}").is_ok());
        // A file that was already broken is no reason to refuse.
        assert!(check(FileKind::Arm, "{\"a\": [1, 2}", "{\"a\": [1}").is_ok());
        assert!(check(FileKind::Terraform, "a {\n b = 1\n}\n", "a {\n b = 1\n").is_err());
        assert!(check(FileKind::Bicep, "x = {\n}\n", "x = {\n").is_err());
    }

    #[test]
    fn both_gates_agree_with_each_alone() {
        let vm = r#"{"resources": [{"type": "Microsoft.Network/nics", "name": "nic"}"#;
        let msi = r#"{"type": "Microsoft.Network/lbs", "name": "lb", "dependsOn": ["nic"]}"#;
        let cse = r#"{"type": "Microsoft.Network/ips", "name": "ip", "dependsOn": ["lb"]}"#;
        let before = format!("{vm}, {msi}, {cse}]}}");
        let lost = format!("{vm}, {cse}]}}");
        let broken = format!("{vm}, {cse}]");
        let kept = before.replace("\"Microsoft.Network/ips\"", "\"Microsoft.Network/ip\"");
        for kind in [FileKind::Arm, FileKind::Json] {
            for after in [&lost, &broken, &kept, &before] {
                let alone = check(kind, &before, after)
                    .and_then(|()| super::super::order::verify(kind, &before, after));
                assert_eq!(check_all(kind, &before, after), alone, "{after}");
            }
            assert!(
                check_all(kind, &before, &broken)
                    .unwrap_err()
                    .contains("parse")
            );
            assert!(
                check_all(kind, &before, &lost)
                    .unwrap_err()
                    .contains("deployment order")
            );
            assert!(check_all(kind, &before, &kept).is_ok());
            assert!(check_all(kind, &broken, &before).is_ok());
        }
        let params = r#"{"parameters": {}}"#;
        assert!(check_all(FileKind::ArmParameters, params, "{").is_err());
    }
}
