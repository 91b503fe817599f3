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
    if let Some(v) = &common.api_version {
        config::check_api_version(v, "--api-version")?;
    }
    for &port in &common.ports {
        config::check_port(port, "--port")?;
    }
    let explicit = match &common.config {
        Some(path) => Some((Config::load(path)?, path.clone())),
        None => None,
    };
    let threads = threads(common.threads);
    let mut all = Vec::with_capacity(roots.len());
    for root in roots {
        // The walker reads `-` as standard input; a file of that name is meant.
        let root = if root.as_os_str() == "-" {
            PathBuf::from("./-")
        } else {
            root
        };
        if std::fs::symlink_metadata(&root).is_err() {
            return Err(Error::new(format!(
                "{}: no such file or directory",
                root.display()
            )));
        }
        let (config, config_file) = match (&explicit, common.no_config) {
            (Some((c, path)), _) => (c.clone(), Some(path.clone())),
            (None, true) => (Config::default(), None),
            (None, false) => match config::discover(&root) {
                Some(path) => (Config::load(&path)?, Some(path)),
                None => (Config::default(), None),
            },
        };
        let origin = config_file.as_ref().map_or_else(
            || "--exclude".to_owned(),
            |p| format!("{}: exclude", p.display()),
        );
        check_globs(&config.exclude, &origin)?;
        let mut opts = merge(common, &config, root)?;
        opts.config_file = config_file;
        opts.threads = threads;
        all.push(opts);
    }
    check_globs(&common.exclude, "--exclude")?;
    Ok(all)
}

/// The thread count to use: `-j 0` means one per core; more than [`MAX_THREADS_PER_CORE`] per
/// core only adds contention (and a huge value would exhaust memory), so it is capped with a note.
fn threads(requested: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let cap = cores * MAX_THREADS_PER_CORE;
    if requested > cap {
        crate::stdio::note(&format!(
            "-j {requested}: capped at {cap} threads ({MAX_THREADS_PER_CORE} per core, {cores} cores)"
        ));
        cap
    } else {
        requested
    }
}

/// See [`threads`]: scanning is I/O and CPU bound, so a few threads per core are plenty.
pub const MAX_THREADS_PER_CORE: usize = 8;

/// An empty exclude pattern or an invalid glob is a usage error: dropping it silently would scan
/// what the user meant to skip, and an empty one used to exclude everything.
fn check_globs(globs: &[String], origin: &str) -> Result<()> {
    for glob in globs {
        if glob.trim().is_empty() {
            return Err(Error::new(format!(
                "{origin}: empty pattern {glob:?} (give a gitignore-style glob such as `vendor/**`)"
            )));
        }
        let mut ov = ignore::overrides::OverrideBuilder::new(".");
        if let Err(e) = ov
            .add(&format!("!{glob}"))
            .and_then(|b| b.build().map(drop))
        {
            return Err(Error::new(format!("{origin}: invalid glob {glob:?}: {e}")));
        }
    }
    Ok(())
}

/// With `-v`: which configuration file each root uses.
pub fn log_config(all: &[ScanOptions], verbose: bool) {
    if !verbose {
        return;
    }
    for opts in all {
        let root = opts
            .roots
            .first()
            .map_or_else(String::new, |r| r.display().to_string());
        crate::stdio::note(&match &opts.config_file {
            // Prefixed as `scan -v`'s other lines are (see `verbose`).
            Some(file) => format!(
                "imds-migrate: root {root}: configuration from {}",
                file.display()
            ),
            None => format!("imds-migrate: root {root}: no configuration file"),
        });
    }
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
        config_file: None,
    })
}
