//! Checks a fixed text before it may be written: a fix must never turn a file that parsed into
//! one that does not.

use crate::{
    analyzers::{arm, bicep, terraform},
    kind::FileKind,
};

/// `Err` explains why `after` must not be written.
pub fn check(kind: FileKind, before: &str, after: &str) -> Result<(), String> {
    let parses: fn(&str) -> bool = match kind {
        FileKind::Arm | FileKind::ArmParameters | FileKind::Json => arm::parses,
        FileKind::Terraform => terraform::parses,
        FileKind::Bicep => bicep::parses,
        _ => return Ok(()),
    };
    if parses(before) && !parses(after) {
        return Err(format!(
            "not rewritten: the file would no longer parse as {} after its fixes",
            kind.name()
        ));
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
}
