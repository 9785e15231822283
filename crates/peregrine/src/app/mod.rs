//! The Falco-compatible application, as a flat list of named steps over
//! one state value. Each step either lets the next one run, or ends the
//! program with an exit code. Teardown steps always run.

mod describe;
mod process;
mod rules;
mod version;

use crate::cli::FalcoArgs;
use crate::config::Config;
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
}

type Step = (&'static str, fn(&mut App) -> Result<Flow, String>);

/// The steps, in order.
const STEPS: &[Step] = &[
    ("print version", version::print_version),
    ("load config", load_config),
    ("list fields", describe::list_fields),
    ("validate rules files", rules::validate_rules_files),
    ("load rules files", rules::load_rules_files),
    ("select rules", rules::select_rules),
    ("describe rules", describe::describe_rules),
    ("write pidfile", write_pidfile),
    ("process events", process::process_events),
];

/// Runs the application.
pub fn run(args: &FalcoArgs) -> ExitCode {
    let mut app = App {
        args,
        config: None,
        engine: None,
        alert_format: AlertFormat::default(),
    };
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
    remove_pidfile(&app);
    ExitCode::from(code)
}

fn tracing_free_debug(step: &str) {
    if std::env::var_os("PEREGRINE_DEBUG_STEPS").is_some() {
        eprintln!("(failed in step '{step}')");
    }
}

fn load_config(app: &mut App) -> Result<Flow, String> {
    let config = Config::load(app.args.config.as_deref(), &app.args.options).map_err(|e| e.0)?;
    app.alert_format = AlertFormat {
        json: config.json_output,
        include_output: config.json_include_output_property,
        include_tags: config.json_include_tags_property,
        time_iso_8601: config.time_format_iso_8601,
        hostname: hostname(),
    };
    if config.log_stderr {
        log(
            &config,
            &format!(
                "peregrine version: {} (Falco engine {})",
                env!("CARGO_PKG_VERSION"),
                version::ENGINE_VERSION
            ),
        );
    }
    app.config = Some(config);
    Ok(Flow::Next)
}

/// A lifecycle message on standard error, stamped as Falco stamps its log
/// lines (ISO 8601 with `time_format_iso_8601`, else `ctime` style).
pub fn log(config: &Config, message: &str) {
    let now = chrono::Local::now();
    let stamp = if config.time_format_iso_8601 {
        now.format("%Y-%m-%dT%H:%M:%S%z").to_string()
    } else {
        now.format("%a %b %e %H:%M:%S %Y").to_string()
    };
    eprintln!("{stamp}: {message}");
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
