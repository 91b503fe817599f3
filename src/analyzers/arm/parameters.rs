//! IMDS004: parameter values, defaults and allowed values carrying the extension's type or port.

use super::{Analysis, Found, IMDS_HINT, Tree, is_extension_type, jsonc::Value};
use crate::{finding::Diagnostic, kind::FileKind};

/// Why IMDS004 findings have no fix.
const PARAMETER_REASON: &str = "a parameter may be set by deployments and pipelines outside this file, so a person removes it once nothing passes it";

impl Tree<'_> {
    /// IMDS004: parameter values (parameter files) and defaults/allowed values (templates).
    pub(super) fn parameters(&self, found: &[Found], out: &mut Analysis) {
        let root = self.doc.root;
        // An Azure Policy that audits or denies the extension names its type on purpose.
        let is_policy = self.doc.get(root, "policyRule").is_some()
            || self
                .doc
                .get(root, "properties")
                .is_some_and(|p| self.doc.get(p, "policyRule").is_some());
        if is_policy {
            return;
        }
        let Some(params) = self
            .doc
            .get(root, "parameters")
            .filter(|&p| self.doc.is_object(p))
        else {
            return;
        };
        let is_param_file = self.ctx.kind == FileKind::ArmParameters
            || (self.doc.get(root, "resources").is_none()
                && self
                    .doc
                    .members(params)
                    .iter()
                    .any(|m| self.doc.get(m.value, "value").is_some()));
        let used = self.used_params.borrow().clone();
        let inside_found = |i: usize| found.iter().any(|f| self.inside(i, f.object));
        for m in self.doc.members(params) {
            let lower = m.key.to_ascii_lowercase();
            if !is_param_file && used.contains(&lower) {
                continue;
            }
            // One finding per parameter: its value, else its default, else the first allowed
            // value that is an extension type.
            let mut values: Vec<usize> = Vec::new();
            if is_param_file {
                let value = self.doc.get(m.value, "value");
                // A list of types (`["ManagedIdentityExtensionForLinux", ...]`): its first one.
                let listed = value.and_then(|v| {
                    self.doc
                        .elements(v)
                        .iter()
                        .map(|e| e.value)
                        .find(|&e| self.doc.str(e).is_some_and(is_extension_type))
                });
                values.extend(listed.or(value));
            } else {
                let default = self.doc.get(m.value, "defaultValue");
                let allowed = self.doc.get(m.value, "allowedValues").and_then(|a| {
                    self.doc
                        .elements(a)
                        .iter()
                        .map(|e| e.value)
                        .find(|&v| self.doc.str(v).is_some_and(is_extension_type))
                });
                let default_is_type =
                    default.is_some_and(|d| self.doc.str(d).is_some_and(is_extension_type));
                values.extend(if default_is_type {
                    default
                } else {
                    allowed.or(default)
                });
            }
            let port_param = (lower.contains("msi") || lower.contains("managedidentity"))
                && lower.contains("port");
            for v in values {
                if inside_found(v) {
                    continue;
                }
                let span = self.doc.node(v).span.clone();
                if let Some(s) = self.doc.str(v)
                    && is_extension_type(s)
                {
                    out.push(Diagnostic::new(
                        "IMDS004",
                        span,
                        format!(
                            "Parameter `{}` carries the retired Managed Identity extension type `{s}`: remove it once no template deploys the extension; {IMDS_HINT}",
                            m.key
                        ),
                    ).with_fix_or_reason(Err(PARAMETER_REASON.to_owned())));
                } else if port_param
                    && matches!(self.doc.node(v).value, Value::Scalar | Value::Str(_))
                    && let Ok(port) = self.resolve(v, 0).unwrap_or_default().trim().parse::<u16>()
                    && port != 0
                {
                    out.declared_ports.push(port);
                    out.push(Diagnostic::new(
                        "IMDS004",
                        span,
                        format!(
                            "Parameter `{}` carries the retired Managed Identity extension's port {port}: remove it once no template deploys the extension; {IMDS_HINT}",
                            m.key
                        ),
                    ).with_fix_or_reason(Err(PARAMETER_REASON.to_owned())));
                }
            }
        }
    }
}
