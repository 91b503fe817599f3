//! imds-migrate: find, fix and remove uses of the retired Azure Managed Identity VM extension
//! and move to the Instance Metadata Service (IMDS).

pub mod analyzers;
pub mod app;
pub mod civil;
pub mod cli;
pub mod config;
pub mod crossfile;
pub mod error;
pub mod exit;
pub mod finding;
pub mod fix;
pub mod generate;
pub mod kind;
pub mod live;
pub mod options;
pub mod output;
pub mod par;
pub mod prefilter;
pub mod readbuf;
pub mod report;
pub mod rules;
pub mod scan;
pub mod snippet;
pub mod source;
pub mod stdio;
pub mod suppress;
pub mod verbose;
