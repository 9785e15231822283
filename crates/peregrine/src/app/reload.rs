//! Reloading configuration and rules while events flow (SIGHUP, or a
//! watched file changing with `watch_config_files`): a new engine is built
//! from the files as they are now and swapped in between two events. When
//! the new files do not load, the running engine stays and the error is
//! logged. Also acts on stop and reopen requests.

use super::live;
use super::logging::{self, Level};
use super::signals::Control;
use super::{App, Flow, rules};
use crate::cli::FalcoArgs;
use crate::config::Config;
use peregrine_engine::{AlertFormat, Engine};
use peregrine_outputs::{Outputs, OutputsConfig};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

/// How often watched files are checked.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// What a rebuild produces.
pub struct Rebuilt {
    /// The configuration read again.
    pub config: Config,
    /// The engine built from the rules files as they are now.
    pub engine: Engine,
    /// The alert format of the new configuration.
    pub alert_format: AlertFormat,
}

/// Loads configuration and rules again, with the same command line, by
/// running the same steps as at start.
pub fn rebuild(args: &FalcoArgs) -> Result<Rebuilt, String> {
    let mut app = App::new(args);
    let steps: [super::StepFn; 3] = [
        super::load_config,
        rules::load_rules_files,
        rules::select_rules,
    ];
    for step in steps {
        if let Flow::Exit(code) = step(&mut app)? {
            return Err(format!("reload stopped with exit code {code}"));
        }
    }
    match (app.config, app.engine) {
        (Some(config), Some(engine)) => Ok(Rebuilt {
            config,
            engine,
            alert_format: app.alert_format,
        }),
        _ => Err("reload did not produce an engine".into()),
    }
}

/// The files whose change triggers a reload: configuration files (and
/// included folders) and rules files (and folders).
pub fn watched_paths(config: &Config, args: &FalcoArgs) -> Vec<PathBuf> {
    let mut paths = config.sources.files.clone();
    paths.extend(config.sources.folders.iter().cloned());
    if args.rules.is_empty() {
        paths.extend(config.rules_files.iter().cloned());
    } else {
        paths.extend(args.rules.iter().cloned());
    }
    paths
}

/// Size and modification time of each path (and of the files in a folder).
fn fingerprint(paths: &[PathBuf]) -> Vec<(PathBuf, Option<(SystemTime, u64)>)> {
    let stamp = |p: &PathBuf| {
        std::fs::metadata(p)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())))
    };
    let mut out = Vec::new();
    for p in paths {
        out.push((p.clone(), stamp(p)));
        if p.is_dir()
            && let Ok(rd) = std::fs::read_dir(p)
        {
            let mut inner: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
            inner.sort();
            out.extend(inner.into_iter().map(|f| {
                let s = stamp(&f);
                (f, s)
            }));
        }
    }
    out
}

/// Polls the watched files every [`POLL_INTERVAL`] and asks for a reload
/// when one changes. The thread ends when the watcher is dropped.
pub struct Watcher {
    paths: Arc<Mutex<Vec<PathBuf>>>,
}

impl Watcher {
    /// Starts watching `paths`.
    pub fn start(paths: Vec<PathBuf>, control: Control) -> std::io::Result<Watcher> {
        let shared = Arc::new(Mutex::new(paths));
        let weak: Weak<Mutex<Vec<PathBuf>>> = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name("config-watch".into())
            .spawn(move || {
                let mut watched: Option<(Vec<PathBuf>, _)> = None;
                loop {
                    let Some(paths) = weak.upgrade() else { return };
                    let now: Vec<PathBuf> = paths.lock().map(|p| p.clone()).unwrap_or_default();
                    drop(paths);
                    let fp = fingerprint(&now);
                    match &watched {
                        Some((p, old)) if *p == now && *old != fp => control.request_reload(),
                        _ => {}
                    }
                    watched = Some((now, fp));
                    std::thread::sleep(POLL_INTERVAL);
                }
            })?;
        Ok(Watcher { paths: shared })
    }

    /// Watches these paths from now on (after a reload).
    pub fn set_paths(&self, paths: Vec<PathBuf>) {
        if let Ok(mut p) = self.paths.lock() {
            *p = paths;
        }
    }
}

/// Step: starts the watcher when `watch_config_files` is on.
pub fn watch_config_files(app: &mut App) -> Result<Flow, String> {
    let config = app.config.as_ref().expect("config loaded");
    if config.watch_config_files && !app.args.dry_run {
        let paths = watched_paths(config, app.args);
        app.watcher = Some(
            Watcher::start(paths, app.control.clone())
                .map_err(|e| format!("could not start the config file watcher: {e}"))?,
        );
    }
    Ok(Flow::Next)
}

/// The values of the output keys, to tell whether outputs must restart.
fn output_settings(config: &Config) -> Vec<Option<String>> {
    OutputsConfig::KEYS
        .iter()
        .map(|k| config.lookup(k))
        .collect()
}

/// What the event loop needs to act on requests between events.
pub struct Ops<'a> {
    args: &'a FalcoArgs,
    control: Control,
    watcher: Option<&'a Watcher>,
    outputs_settings: Vec<Option<String>>,
    start_outputs: fn(&Config, &FalcoArgs) -> Result<Outputs, String>,
    /// Live: the syscalls the probe attached at start.
    attached: Option<Vec<String>>,
}

impl<'a> Ops<'a> {
    /// Takes the application's parts it needs (`app.args`, `app.control`,
    /// `app.watcher`, `app.config`); `start_outputs` builds the outputs of
    /// a configuration, as at start.
    pub fn new(
        args: &'a FalcoArgs,
        control: &Control,
        watcher: Option<&'a Watcher>,
        config: &Config,
        start_outputs: fn(&Config, &FalcoArgs) -> Result<Outputs, String>,
    ) -> Ops<'a> {
        Ops {
            args,
            control: control.clone(),
            watcher,
            outputs_settings: output_settings(config),
            start_outputs,
            attached: None,
        }
    }

    /// Live: the syscalls the probe attached, to tell on a reload which
    /// ones the new rules would need in addition.
    pub fn with_attached(mut self, attached: Option<Vec<String>>) -> Self {
        self.attached = attached;
        self
    }

    /// True when a request waits (cheap: call it before every event).
    pub fn pending(&self) -> bool {
        self.control.pending()
    }

    /// Acts on pending requests: `Break` to stop the event loop.
    pub fn between_events(
        &mut self,
        engine: &mut Engine,
        format: &mut AlertFormat,
        outputs: &mut Outputs,
    ) -> ControlFlow<()> {
        if self.control.stop_requested() {
            logging::log(Level::Info, "Signal received, stopping the event loop");
            return ControlFlow::Break(());
        }
        if self.control.take_reopen() {
            logging::log(Level::Info, "SIGUSR1 received, reopening outputs");
            outputs.reopen();
        }
        if self.control.take_reload() {
            self.reload(engine, format, outputs);
        }
        ControlFlow::Continue(())
    }

    fn reload(&mut self, engine: &mut Engine, format: &mut AlertFormat, outputs: &mut Outputs) {
        logging::log(Level::Info, "Reloading configuration and rules files");
        let new = match rebuild(self.args) {
            Ok(new) => new,
            Err(e) => {
                logging::log(
                    Level::Error,
                    &format!("Reload failed, the current rules keep running: {e}"),
                );
                return;
            }
        };
        let settings = output_settings(&new.config);
        if settings != self.outputs_settings {
            match (self.start_outputs)(&new.config, self.args) {
                Ok(fresh) => {
                    let old = std::mem::replace(outputs, fresh);
                    let report = old.shutdown(Duration::from_secs(5));
                    if report.lost() > 0 {
                        logging::log(
                            Level::Warning,
                            &format!("{} alerts lost when outputs restarted", report.lost()),
                        );
                    }
                    self.outputs_settings = settings;
                }
                Err(e) => {
                    logging::log(
                        Level::Error,
                        &format!("Reload failed, the current rules keep running: {e}"),
                    );
                    return;
                }
            }
        }
        if let Some(w) = self.watcher {
            w.set_paths(watched_paths(&new.config, self.args));
        }
        self.warn_not_attached(&new);
        *engine = new.engine;
        *format = new.alert_format;
        logging::log(Level::Info, "Configuration and rules reloaded");
    }

    /// The probe stays attached to the syscalls chosen at start (the
    /// privileges to attach more were dropped): says which ones the new
    /// rules and settings would add.
    fn warn_not_attached(&self, new: &Rebuilt) {
        let Some(attached) = &self.attached else {
            return;
        };
        let base = match live::BaseSyscalls::from_config(&new.config) {
            Ok(b) => b,
            Err(e) => {
                logging::log(Level::Warning, &e);
                return;
            }
        };
        let selected = live::selected_syscalls(&new.engine, self.args.all_events, &base);
        let missing = live::not_attached(&selected, attached);
        if !missing.is_empty() {
            logging::log(
                Level::Warning,
                &format!(
                    "the reloaded rules need syscalls the probe did not attach at start ({}): \
                     events of those are not seen until peregrine restarts",
                    missing.join(", ")
                ),
            );
        }
    }
}
