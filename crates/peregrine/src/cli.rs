//! Command-line arguments: Falco's flags at the top level, plus
//! peregrine's own subcommands (`dump`, `synth`).

use clap::{ArgAction, Args, Parser, Subcommand};
use std::path::PathBuf;

/// peregrine: runtime security for Linux, compatible with Falco.
#[derive(Debug, Parser)]
#[command(
    name = "peregrine",
    about,
    disable_version_flag = true,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// A peregrine tool instead of the Falco-compatible engine.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Falco's options.
    #[command(flatten)]
    pub falco: FalcoArgs,
}

/// Falco's command-line options.
#[derive(Debug, Args, Default)]
pub struct FalcoArgs {
    /// Configuration file (default: /etc/falco/falco.yaml).
    #[arg(short = 'c', value_name = "path")]
    pub config: Option<PathBuf>,

    /// Rules file or directory; repeatable. Defaults to the configuration's rules_files.
    #[arg(short = 'r', value_name = "rules_file", action = ArgAction::Append)]
    pub rules: Vec<PathBuf>,

    /// Set a configuration option: key=value, dotted keys, list items as key[N].
    #[arg(short = 'o', long = "option", value_name = "opt>=<val", action = ArgAction::Append)]
    pub options: Vec<String>,

    /// Read events from a capture file instead of the live system.
    #[arg(short = 'e', value_name = "events_file")]
    pub capture: Option<PathBuf>,

    /// Disable rules whose names match this substring or regular expression; repeatable.
    #[arg(short = 'D', value_name = "substring", action = ArgAction::Append)]
    pub disable_rules: Vec<String>,

    /// Only run rules with this tag; repeatable.
    #[arg(short = 't', value_name = "tag", action = ArgAction::Append)]
    pub run_tags: Vec<String>,

    /// Disable rules with this tag; repeatable.
    #[arg(short = 'T', value_name = "tag", action = ArgAction::Append)]
    pub disable_tags: Vec<String>,

    /// Monitor all events, including those ignored by default for performance.
    #[arg(short = 'A')]
    pub all_events: bool,

    /// Validate these rules files and exit; repeatable.
    #[arg(short = 'V', long = "validate", value_name = "rules_file", action = ArgAction::Append)]
    pub validate: Vec<PathBuf>,

    /// Show the name and description of all rules and exit.
    #[arg(short = 'L')]
    pub describe_all: bool,

    /// Show the name and description of one rule and exit.
    #[arg(short = 'l', value_name = "rule")]
    pub describe_rule: Option<String>,

    /// Verbose output (event types per rule, counts at exit).
    #[arg(short = 'v')]
    pub verbose: bool,

    /// Stop after this many seconds.
    #[arg(short = 'M', value_name = "num_seconds", default_value_t = 0)]
    pub duration: u64,

    /// Write the process id to this file.
    #[arg(short = 'P', long = "pidfile", value_name = "pid_file")]
    pub pidfile: Option<PathBuf>,

    /// Text appended to every rule's output (-pc / -pk for container details).
    #[arg(short = 'p', long = "print", value_name = "output_format")]
    pub print: Option<String>,

    /// Also write every event seen (live or replayed) to this capture file.
    #[arg(short = 'w', long = "write", value_name = "capture_file")]
    pub write: Option<PathBuf>,

    /// Flush every output line.
    #[arg(short = 'U', long = "unbuffered")]
    pub unbuffered: bool,

    /// List the supported fields (of one source) and exit.
    #[arg(long = "list", value_name = "source", num_args = 0..=1, default_missing_value = "")]
    pub list: Option<String>,

    /// With --list, print field names only.
    #[arg(short = 'N')]
    pub names_only: bool,

    /// Print version information and exit.
    #[arg(long = "version")]
    pub version: bool,

    /// Write periodic capture statistics (JSON lines) to this file.
    #[arg(short = 's', value_name = "stats_file")]
    pub stats_file: Option<PathBuf>,

    /// Milliseconds between two samples of -s.
    #[arg(long = "stats-interval", value_name = "msec", default_value_t = 5000)]
    pub stats_interval: u64,

    /// Load configuration and rules, report errors, process no event.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
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
