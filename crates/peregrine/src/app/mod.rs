//! The Falco-compatible application, as a flat list of named steps over
//! one state value. Each step either lets the next one run, or ends the
//! program with an exit code. Teardown steps always run.

mod describe;
// Drop handling, stats/metrics and the web server (issue 4).
mod drops;
mod stats;
mod webserver;
// Logging, signals and reload (issue 4, configuration and operations).
mod live;
pub mod logging;
mod privileges;
mod process;
mod reload;
mod rules;
mod signals;
mod version;

use crate::cli::FalcoArgs;
use crate::config::Config;
use logging::Level;
use peregrine_engine::{AlertFormat, Engine};
use std::process::ExitCode;

/// What a step decides.
pub enum Flow {
    /// Run the next step.
    Next,
    /// Stop with this exit code (after teardown).
    Exit(u8),
}

/// Everything the steps share.
pub struct App<'a> {
    /// Command-line options.
    pub args: &'a FalcoArgs,
    /// Configuration, once loaded.
    pub config: Option<Config>,
    /// The engine, once rules are loaded.
    pub engine: Option<Engine>,
    /// How alerts are written.
    pub alert_format: AlertFormat,
    /// Requests from signals and the file watcher.
    pub control: signals::Control,
    /// The configuration and rules file watcher, when on.
    pub watcher: Option<reload::Watcher>,
    /// The event source, once opened.
    pub source: Option<process::Source>,
}

impl<'a> App<'a> {
    /// The state before the first step.
    pub fn new(args: &'a FalcoArgs) -> App<'a> {
        App {
            args,
            config: None,
            engine: None,
            alert_format: AlertFormat::default(),
            control: signals::Control::default(),
            watcher: None,
            source: None,
        }
    }
}

/// A step's function.
type StepFn = fn(&mut App) -> Result<Flow, String>;

type Step = (&'static str, StepFn);

/// The steps, in order.
const STEPS: &[Step] = &[
    ("print version", version::print_version),
    ("load config", load_config),
    ("check syscall_event_drops", drops::check_config),
    ("check metrics", stats::check_config),
    ("list fields", describe::list_fields),
    ("validate rules files", rules::validate_rules_files),
    ("load rules files", rules::load_rules_files),
    ("select rules", rules::select_rules),
    ("describe rules", describe::describe_rules),
    ("log rules files", log_rules_files),
    ("write pidfile", write_pidfile),
    ("install signal handlers", install_signal_handlers),
    ("open event source", process::open_source),
    ("watch config files", reload::watch_config_files),
    ("start webserver", webserver::start_webserver),
    ("process events", process::process_events),
];

/// Runs the application.
pub fn run(args: &FalcoArgs) -> ExitCode {
    let mut app = App::new(args);
    let mut code = 0;
    for (name, step) in STEPS {
        match step(&mut app) {
            Ok(Flow::Next) => {}
            Ok(Flow::Exit(c)) => {
                code = c;
                break;
            }
            Err(message) => {
                eprintln!("Error: {message}");
                tracing_free_debug(name);
                code = 1;
                break;
            }
        }
    }
    if app.engine.is_some() {
        logging::log(Level::Info, &format!("Stopping (exit code {code})"));
    }
    remove_pidfile(&app);
    // The engine (every rule's compiled program) goes back to the system
    // with the process instead of being freed piece by piece, which took
    // milliseconds after the last event.
    std::mem::forget(app.engine.take());
    ExitCode::from(code)
}

fn tracing_free_debug(step: &str) {
    if std::env::var_os("PEREGRINE_DEBUG_STEPS").is_some() {
        eprintln!("(failed in step '{step}')");
    }
}

fn load_config(app: &mut App) -> Result<Flow, String> {
    let config = Config::load(app.args.config.as_deref(), &app.args.options).map_err(|e| e.0)?;
    for w in &config.warnings {
        eprintln!("{w}");
    }
    app.alert_format = AlertFormat {
        json: config.json_output,
        include_output: config.json_include_output_property,
        include_tags: config.json_include_tags_property,
        include_message: config.json_include_message_property,
        include_output_fields: config.json_include_output_fields_property,
        time_iso_8601: config.time_format_iso_8601,
        hostname: hostname(),
    };
    logging::configure(logging::Settings {
        // The schema check admits only known level names.
        level: Level::parse(&config.log_level).unwrap_or(Level::Info),
        stderr: config.log_stderr,
        syslog: config.log_syslog,
        iso_8601: config.time_format_iso_8601,
        syslog_path: logging::DEV_LOG.into(),
    });
    logging::log(
        Level::Info,
        &format!(
            "peregrine version: {} (Falco engine {})",
            env!("CARGO_PKG_VERSION"),
            version::ENGINE_VERSION
        ),
    );
    let files: Vec<String> = config
        .sources
        .files
        .iter()
        .map(|f| format!("   {}", f.display()))
        .collect();
    if !files.is_empty() {
        logging::log(
            Level::Info,
            &format!("Loaded configuration files:\n{}", files.join("\n")),
        );
    }
    app.config = Some(config);
    Ok(Flow::Next)
}

/// A lifecycle message already filtered by its caller: written to the
/// configured sinks whatever `log_level` says. New code should call
/// [`logging::log`] with a level.
pub fn log(_config: &Config, message: &str) {
    logging::log_unfiltered(message);
}

fn log_rules_files(app: &mut App) -> Result<Flow, String> {
    let config = app.config.as_ref().expect("config loaded");
    let paths = if app.args.rules.is_empty() {
        &config.rules_files
    } else {
        &app.args.rules
    };
    let names: Vec<String> = paths
        .iter()
        .map(|p| format!("   {}", p.display()))
        .collect();
    logging::log(
        Level::Info,
        &format!("Loaded rules from:\n{}", names.join("\n")),
    );
    Ok(Flow::Next)
}

fn install_signal_handlers(app: &mut App) -> Result<Flow, String> {
    app.control
        .install()
        .map_err(|e| format!("could not install signal handlers: {e}"))?;
    Ok(Flow::Next)
}

fn write_pidfile(app: &mut App) -> Result<Flow, String> {
    if let Some(path) = &app.args.pidfile {
        std::fs::write(path, format!("{}\n", std::process::id()))
            .map_err(|e| format!("could not write pidfile {}: {e}", path.display()))?;
    }
    Ok(Flow::Next)
}

fn remove_pidfile(app: &App) {
    if let Some(path) = &app.args.pidfile {
        let _ = std::fs::remove_file(path);
    }
}

/// `FALCO_HOSTNAME`, or the machine's host name.
pub fn hostname() -> String {
    std::env::var("FALCO_HOSTNAME").ok().unwrap_or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    })
}
