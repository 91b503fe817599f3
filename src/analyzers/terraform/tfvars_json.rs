//! `.tfvars.json` variables files: a top-level value that is one of the extension's types is
//! reported where it stands, like the same value in a `.tfvars` file (IMDS020, no fix).

use super::RULE;
use crate::{
    analyzers::{Analysis, arm::jsonc, is_extension_type},
    finding::Diagnostic,
};

pub(crate) fn is_tfvars_json(path: &str) -> bool {
    path.to_ascii_lowercase().ends_with(".tfvars.json")
}

pub(crate) fn analyze(text: &str, out: &mut Analysis) {
    let Ok(doc) = jsonc::parse(text, false) else {
        return;
    };
    for m in doc.members(0) {
        let Some(value) = doc.str(m.value).filter(|v| is_extension_type(v)) else {
            continue;
        };
        let message = format!(
            "`{}` selects the retired Managed Identity VM extension ({value}); remove the extension it feeds and use IMDS",
            m.key
        );
        out.push(
            Diagnostic::new(RULE, doc.node(m.value).span.clone(), message)
                .with_fix_or_reason(Err(super::VALUE_REASON.to_owned())),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_type_values_are_reported_where_they_stand() {
        let text = "{\n  \"vm_id\": \"x\",\n  \"extension_type\": \"ManagedIdentityExtensionForWindows\",\n  \"other\": \"CustomScript\",\n  \"nested\": {\"t\": \"ManagedIdentityExtensionForLinux\"}\n}\n";
        let mut out = Analysis::default();
        analyze(text, &mut out);
        let found: Vec<&str> = out
            .diagnostics
            .iter()
            .map(|d| &text[d.range.clone()])
            .collect();
        assert_eq!(found, ["\"ManagedIdentityExtensionForWindows\""]);
        assert!(out.diagnostics[0].fix.is_none());
        assert!(is_tfvars_json("env/Prod.auto.tfvars.json"));
        assert!(!is_tfvars_json("tfvars.json.bak"));
    }
}
