//! Builds each root's scan options from the command-line flags and that root's configuration file.

use std::path::PathBuf;

use crate::{
    analyzers::DEFAULT_API_VERSION,
    cli::CommonArgs,
    config::{self, Config, PerFileIgnores},
    error::{Error, Result},
    rules::{Selection, catalogue},
    scan::{self, ScanOptions},
};

/// Builds scan options, one per root, from the flags shared by `scan` and `fix` and the
/// configuration file of each root (flags win; `--exclude` and `--port` add to the file's).
pub fn scan_options(common: &CommonArgs) -> Result<Vec<ScanOptions>> {
    let roots = if common.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        common.paths.clone()
    };
    let explicit = match &common.config {
        Some(path) => Some(Config::load(path)?),
        None => None,
    };
    let mut all = Vec::with_capacity(roots.len());
    for root in roots {
        if !root.exists() {
            return Err(Error::new(format!(
                "{}: no such file or directory",
                root.display()
            )));
        }
        let config = match (&explicit, common.no_config) {
            (Some(c), _) => c.clone(),
            (None, true) => Config::default(),
            (None, false) => match config::discover(&root) {
                Some(path) => Config::load(&path)?,
                None => Config::default(),
            },
        };
        all.push(merge(common, &config, root)?);
    }
    Ok(all)
}

fn merge(common: &CommonArgs, config: &Config, root: PathBuf) -> Result<ScanOptions> {
    let pick = |flag: &Vec<String>, file: &Vec<String>| {
        if flag.is_empty() {
            file.clone()
        } else {
            flag.clone()
        }
    };
    let selection = Selection {
        select: pick(&common.select, &config.select),
        ignore: pick(&common.ignore, &config.ignore),
    };
    selection
        .validate(catalogue())
        .map_err(|e| Error::new(e.to_string()))?;
    for rules in config.per_file_ignores.values() {
        Selection {
            select: Vec::new(),
            ignore: rules.clone(),
        }
        .validate(catalogue())
        .map_err(|e| Error::new(format!("per-file-ignores: {e}")))?;
    }
    let mut extra_ports = config.extra_ports.clone();
    extra_ports.extend(&common.ports);
    extra_ports.sort_unstable();
    extra_ports.dedup();
    Ok(ScanOptions {
        roots: vec![root],
        selection,
        api_version: common
            .api_version
            .clone()
            .or_else(|| config.api_version.clone())
            .unwrap_or_else(|| DEFAULT_API_VERSION.to_owned()),
        extra_ports,
        max_filesize: common
            .max_filesize
            .or(config.max_filesize)
            .unwrap_or(scan::DEFAULT_MAX_FILESIZE),
        threads: common.threads,
        exclude: config
            .exclude
            .iter()
            .chain(&common.exclude)
            .cloned()
            .collect(),
        respect_ignore_files: !common.no_ignore,
        per_file_ignores: PerFileIgnores::new(&config.per_file_ignores)?,
    })
}
