//! The `peregrine` command: a thin layer over the library crates.

mod cli;
mod dump;
mod synth;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match &cli.command {
        cli::Command::Dump(args) => dump::run(args),
        cli::Command::Synth(args) => synth::run(args),
    }
}
