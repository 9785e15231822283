//! Helpers shared by the integration tests.
#![allow(dead_code)]

use peregrine_rules::Config;

/// The shared folder beside the repository.
pub const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

/// Falco fields used by the shared rules that peregrine's registry does
/// not list yet (base names, without arguments).
pub const EXTRA_FIELDS: &[&str] = &[
    "container.mount.dest",
    "container.mounts",
    "container.start_ts",
    "fd.cip.name",
    "fd.lip.name",
    "fd.rip.name",
    "fd.sip.name",
    "k8s.ns.name",
    "k8s.pod.name",
];

/// A config whose known fields are the registry's plus [`EXTRA_FIELDS`].
pub fn config() -> Config {
    Config::with_fields(Box::new(|f| {
        let base = f.split('[').next().unwrap_or(f);
        peregrine_filter::Field::parse(f).is_ok() || EXTRA_FIELDS.contains(&base)
    }))
}
