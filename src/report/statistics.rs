//! `scan --statistics`: findings per rule, most frequent first, as text or JSON.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{FixCounts, text::summary_line};
use crate::{finding::Finding, rules::catalogue, scan::ScanResult};

#[derive(Serialize)]
struct Row<'a> {
    rule_id: &'a str,
    name: &'a str,
    count: usize,
    #[serde(flatten)]
    fixes: FixCounts,
}

fn rows(result: &ScanResult) -> Vec<Row<'_>> {
    let mut by_rule: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &result.findings {
        by_rule.entry(&f.rule_id).or_default().push(f);
    }
    let mut rows: Vec<Row<'_>> = by_rule
        .into_iter()
        .map(|(id, findings)| Row {
            rule_id: id,
            name: catalogue().get(id).map_or("", |r| r.name.as_str()),
            count: findings.len(),
            fixes: FixCounts::of(findings.iter().copied()),
        })
        .collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.rule_id.cmp(b.rule_id)));
    rows
}

/// `     4  IMDS030  token-endpoint-url   [3 fixable, 1 more with --unsafe-fixes]`.
pub fn text(result: &ScanResult) -> String {
    let mut out = String::new();
    for row in rows(result) {
        let f = row.fixes;
        let fix = match (f.fixable, f.unsafe_fixable) {
            (0, 0) => String::new(),
            (n, 0) => format!("[{n} fixable]"),
            (0, m) => format!("[{m} with --unsafe-fixes]"),
            (n, m) => format!("[{n} fixable, {m} more with --unsafe-fixes]"),
        };
        out.push_str(
            format!("{:>6}  {}  {:<30} {fix}", row.count, row.rule_id, row.name).trim_end(),
        );
        out.push('\n');
    }
    out.push_str(&summary_line(result));
    out.push('\n');
    out
}

#[derive(Serialize)]
struct Document<'a> {
    version: &'static str,
    rules: Vec<Row<'a>>,
    summary: super::json::SummaryView<'a>,
}

/// The same numbers as [`text`], with the summary the JSON report carries.
pub fn json(result: &ScanResult) -> String {
    let doc = Document {
        version: env!("CARGO_PKG_VERSION"),
        rules: rows(result),
        summary: super::json::SummaryView::new(result),
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("statistics serialize");
    s.push('\n');
    s
}
