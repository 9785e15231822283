//! `--version`.

use super::{App, Flow};

/// The Falco engine version whose rule features peregrine implements.
pub const ENGINE_VERSION: &str = "0.62.0";

/// Prints version information and exits, when asked.
pub fn print_version(app: &mut App) -> Result<Flow, String> {
    if !app.args.version {
        return Ok(Flow::Next);
    }
    println!("peregrine version: {}", env!("CARGO_PKG_VERSION"));
    println!("Engine version: {ENGINE_VERSION}");
    println!("Event schema version: {}", peregrine_event::SCHEMA_VERSION);
    println!(
        "Probe: modern eBPF (CO-RE) {}, writes schema {}",
        peregrine_bpf::probe_version(),
        peregrine_bpf::schema_version()
    );
    println!("Plugins: container fields provided natively (container >= 0.4.0 satisfied)");
    Ok(Flow::Exit(0))
}
