//! Dropping capabilities once the probe is attached.
//!
//! Loading the probe needs `CAP_BPF`, `CAP_PERFMON` and friends; after
//! that the engine only reads rules and configuration files and writes its
//! outputs. Before any other thread starts, the main thread narrows its
//! capability sets (bounding set included, so that no child regains more)
//! to [`KEEP`]; every thread started later inherits them.
//!
//! With `program_output` enabled nothing is dropped: under Falco the
//! program runs with root's full privileges, and response scripts (e.g.
//! a firewall rule) may rely on them.

use caps::{CapSet, Capability, CapsHashSet};

/// What the engine keeps: reading and writing any file, as root does
/// without capabilities, and binding the web server's port.
pub const KEEP: &[Capability] = &[
    Capability::CAP_DAC_OVERRIDE,
    Capability::CAP_DAC_READ_SEARCH,
    Capability::CAP_FOWNER,
    Capability::CAP_NET_BIND_SERVICE,
];

/// The outcome, for the log.
#[derive(Debug, PartialEq, Eq)]
pub enum Dropped {
    /// The sets now hold [`KEEP`] (what of it the process had).
    ToKeep,
    /// `program_output` is enabled: kept as they are.
    KeptForProgramOutput,
    /// The process had no capability to drop (not root).
    NothingHeld,
}

/// Drops every capability but [`KEEP`] from the calling thread (call it
/// before other threads start), unless `program_output` is enabled.
pub fn drop_after_attach(program_output: bool) -> Result<Dropped, String> {
    if program_output {
        return Ok(Dropped::KeptForProgramOutput);
    }
    let permitted = caps::read(None, CapSet::Permitted).map_err(|e| e.to_string())?;
    if permitted.is_empty() {
        return Ok(Dropped::NothingHeld);
    }
    let keep: CapsHashSet = KEEP
        .iter()
        .copied()
        .filter(|c| permitted.contains(c))
        .collect();
    // The bounding set first: dropping from it needs CAP_SETPCAP, which
    // goes with the rest below.
    let bounding = caps::read(None, CapSet::Bounding).map_err(|e| e.to_string())?;
    for cap in bounding.difference(&keep) {
        caps::drop(None, CapSet::Bounding, *cap).map_err(|e| format!("bounding {cap}: {e}"))?;
    }
    caps::clear(None, CapSet::Ambient).map_err(|e| format!("ambient: {e}"))?;
    caps::clear(None, CapSet::Inheritable).map_err(|e| format!("inheritable: {e}"))?;
    caps::set(None, CapSet::Effective, &keep).map_err(|e| format!("effective: {e}"))?;
    caps::set(None, CapSet::Permitted, &keep).map_err(|e| format!("permitted: {e}"))?;
    Ok(Dropped::ToKeep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_output_keeps_everything() {
        assert_eq!(
            drop_after_attach(true).unwrap(),
            Dropped::KeptForProgramOutput
        );
        // Nothing was touched.
        let permitted = caps::read(None, CapSet::Permitted).unwrap();
        let effective = caps::read(None, CapSet::Effective).unwrap();
        assert!(effective.is_subset(&permitted));
    }

    #[test]
    fn a_thread_keeps_only_what_it_needs() {
        // Capabilities are per thread: drop them in a thread of its own so
        // that the other tests keep theirs.
        let after = std::thread::spawn(|| {
            let before = caps::read(None, CapSet::Permitted).unwrap();
            let outcome = drop_after_attach(false).unwrap();
            let permitted = caps::read(None, CapSet::Permitted).unwrap();
            let effective = caps::read(None, CapSet::Effective).unwrap();
            let bounding = caps::read(None, CapSet::Bounding).unwrap();
            (before, outcome, permitted, effective, bounding)
        })
        .join()
        .unwrap();
        let (before, outcome, permitted, effective, bounding) = after;
        let keep: CapsHashSet = KEEP
            .iter()
            .copied()
            .filter(|c| before.contains(c))
            .collect();
        if before.is_empty() {
            assert_eq!(outcome, Dropped::NothingHeld);
            return;
        }
        assert_eq!(outcome, Dropped::ToKeep);
        assert_eq!(permitted, keep);
        assert_eq!(effective, keep);
        assert!(bounding.is_subset(&KEEP.iter().copied().collect()));
        assert!(!permitted.contains(&Capability::CAP_SYS_ADMIN));
        assert!(!bounding.contains(&Capability::CAP_BPF));
    }
}
