//! Helpers shared by the integration tests.
#![allow(dead_code)]

use peregrine_rules::Config;

/// The shared folder beside the repository.
pub const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

/// The loader's configuration: the `syscall` source with the fields of
/// peregrine's registry.
pub fn config() -> Config {
    Config::new()
}
