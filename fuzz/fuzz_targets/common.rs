use imds_migrate::{
    analyzers::{self, Context, DEFAULT_API_VERSION},
    finding::Fix,
    fix::apply::apply_fixes,
    kind::FileKind,
};

/// Analyzes `data` as `kind`, checks every range, and applies the fixes once.
pub fn check(data: &[u8], kind: FileKind) {
    let text = String::from_utf8_lossy(data);
    let ctx = Context {
        kind,
        path: "fuzz",
        api_version: DEFAULT_API_VERSION,
        extra_ports: &[],
    };
    let analysis = analyzers::analyze(&text, &ctx);
    for d in &analysis.diagnostics {
        assert!(d.range.start <= d.range.end && d.range.end <= text.len());
        assert!(text.is_char_boundary(d.range.start) && text.is_char_boundary(d.range.end));
    }
    let fixes: Vec<&Fix> = analysis.diagnostics.iter().filter_map(|d| d.fix.as_ref()).collect();
    let _ = apply_fixes(&text, &fixes, true);
}
