//! Signals, as Falco handles them: SIGINT and SIGTERM stop the event
//! loop cleanly (a second one ends the process at once), SIGUSR1 reopens
//! the outputs, SIGHUP reloads configuration and rules. Handlers only set
//! flags; the event loop acts on them between events.

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use signal_hook::flag;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Requests made by signals (and by the file watcher), taken by the event
/// loop.
#[derive(Clone, Default)]
pub struct Control {
    stop: Arc<AtomicBool>,
    reopen: Arc<AtomicBool>,
    reload: Arc<AtomicBool>,
}

impl Control {
    /// Installs the handlers that set the flags.
    pub fn install(&self) -> std::io::Result<()> {
        for sig in [SIGINT, SIGTERM] {
            // A second signal, with the first still pending, exits at once.
            flag::register_conditional_shutdown(sig, 1, Arc::clone(&self.stop))?;
            flag::register(sig, Arc::clone(&self.stop))?;
        }
        flag::register(SIGUSR1, Arc::clone(&self.reopen))?;
        flag::register(SIGHUP, Arc::clone(&self.reload))?;
        Ok(())
    }

    /// True if any request is pending (one relaxed load per flag).
    pub fn pending(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
            || self.reopen.load(Ordering::Relaxed)
            || self.reload.load(Ordering::Relaxed)
    }

    /// A stop was asked for (the flag stays set).
    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Takes a pending reopen request.
    pub fn take_reopen(&self) -> bool {
        self.reopen.swap(false, Ordering::Relaxed)
    }

    /// Takes a pending reload request.
    pub fn take_reload(&self) -> bool {
        self.reload.swap(false, Ordering::Relaxed)
    }

    /// Asks for a reload (the file watcher's way of sending SIGHUP).
    pub fn request_reload(&self) {
        self.reload.store(true, Ordering::Relaxed);
    }
}
