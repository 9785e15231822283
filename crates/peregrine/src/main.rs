//! The `peregrine` command: a thin layer over the library crates.

mod app;
mod cli;
mod config;
mod dump;
mod synth;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match &cli.command {
        Some(cli::Command::Dump(args)) => dump::run(args),
        Some(cli::Command::Synth(args)) => synth::run(args),
        None => app::run(&cli.falco),
    }
}
