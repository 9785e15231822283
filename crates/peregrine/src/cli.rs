//! Command-line arguments.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// peregrine: runtime security for Linux, compatible with Falco.
#[derive(Debug, Parser)]
#[command(name = "peregrine", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the events of a capture file, as `sysdig -r` does.
    Dump(DumpArgs),
    /// Build a large capture file for benchmarks by repeating the events of
    /// real captures with new timestamps.
    Synth(SynthArgs),
}

/// Arguments of `peregrine synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Output capture file.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,

    /// Number of events to write (at least).
    #[arg(long, default_value_t = 2_000_000)]
    pub events: u64,

    /// Captures whose events are repeated; the metadata (process, fd and
    /// user lists) of the first one is written at the start.
    #[arg(value_name = "TRACE", required = true)]
    pub traces: Vec<PathBuf>,
}

/// Arguments of `peregrine dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// Capture file to read (plain or gzip-compressed scap).
    #[arg(short = 'e', long = "capture", value_name = "FILE")]
    pub capture: PathBuf,

    /// Output format with %field tokens; a leading '*' prints every event,
    /// with <NA> for missing values.
    #[arg(short = 'p', long = "print", value_name = "FORMAT")]
    pub format: Option<String>,

    /// Write the matching events to this capture file instead of printing.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,

    /// Filter condition, e.g. `evt.type = open and fd.name startswith /etc`.
    #[arg(value_name = "FILTER", trailing_var_arg = true)]
    pub filter: Vec<String>,
}
