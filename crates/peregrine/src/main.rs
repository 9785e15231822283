//! The `peregrine` command: a thin layer over the library crates.

mod app;
mod cli;
mod config;
mod dump;
mod synth;

use clap::Parser;
use std::process::ExitCode;

/// Loading rules and tracking processes allocate many small objects:
/// mimalloc serves them in about half the time of the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match &cli.command {
        Some(cli::Command::Dump(args)) => dump::run(args),
        Some(cli::Command::Synth(args)) => synth::run(args),
        None => app::run(&cli.falco),
    }
}
