//! Loading Falco rules files.
//!
//! A [`Loader`] takes rules contents one after the other, as Falco does
//! with several `-r`/`-V` files: each content is read (YAML → items with
//! positions, validated), merged into the items read before (later
//! definitions replace earlier ones in place, `append` and `override`
//! update them), then everything is compiled again (lists and macros
//! expanded, exceptions added, fields, event types and outputs checked).
//! Conditions are parsed and expanded by the shared front end,
//! [`peregrine_filter::condition`].
//! Each content gives one [`LoadResult`] with Falco's error and warning
//! codes; [`results_json`] prints them as `falco -V` does.
//!
//! ```
//! use peregrine_rules::{Config, Loader};
//! let mut loader = Loader::new(Config::permissive());
//! let res = loader.load("r.yaml", "- rule: r\n  desc: d\n  condition: evt.type=open\n  output: o\n  priority: INFO\n");
//! assert!(res.successful);
//! assert_eq!(loader.rules()[0].name, "r");
//! ```

pub mod collector;
pub mod compiler;
pub mod reader;
pub mod result;
pub mod yaml;

pub use collector::Collector;
pub use peregrine_filter::condition::EventTypes;
pub use result::{
    Context, ErrorCode, ItemType, LoadError, LoadResult, LoadWarning, Location, WarningCode,
    results_json,
};

use std::collections::{BTreeSet, HashMap};

/// The engine version rules are checked against (`required_engine_version`).
pub const ENGINE_VERSION: (u64, u64, u64) = (0, 62, 0);

/// Rule priorities, most severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Emergency.
    Emergency,
    /// Alert.
    Alert,
    /// Critical.
    Critical,
    /// Error.
    Error,
    /// Warning.
    Warning,
    /// Notice.
    Notice,
    /// Informational (`info` too).
    Informational,
    /// Debug.
    Debug,
}

impl Priority {
    /// All priorities, most severe first.
    pub const ALL: [Priority; 8] = [
        Priority::Emergency,
        Priority::Alert,
        Priority::Critical,
        Priority::Error,
        Priority::Warning,
        Priority::Notice,
        Priority::Informational,
        Priority::Debug,
    ];

    /// The name Falco prints (`Informational`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Priority::Emergency => "Emergency",
            Priority::Alert => "Alert",
            Priority::Critical => "Critical",
            Priority::Error => "Error",
            Priority::Warning => "Warning",
            Priority::Notice => "Notice",
            Priority::Informational => "Informational",
            Priority::Debug => "Debug",
        }
    }

    /// Parses a name, case-insensitively; `info` means `informational`.
    pub fn parse(s: &str) -> Option<Priority> {
        reader::parse_priority(s)
    }
}

/// A predicate telling whether a field reference (`proc.name`,
/// `proc.aname[2]`, `evt.arg.fd`) exists.
pub type FieldPredicate = Box<dyn Fn(&str) -> bool + Send + Sync>;

/// An event source rules can be written for.
pub struct Source {
    /// Its name (`syscall`, `k8s_audit`, ...).
    pub name: String,
    /// Which fields its conditions and outputs may use.
    pub known_field: FieldPredicate,
}

/// What the loader checks against.
pub struct Config {
    /// Known sources; rules of other sources get `LOAD_UNKNOWN_SOURCE` and
    /// are skipped, as Falco does without the matching plugin.
    pub sources: Vec<Source>,
    /// Every `evt.type` name conditions may use (the universe for
    /// event-type inference).
    pub event_types: BTreeSet<String>,
    /// The engine version.
    pub engine_version: (u64, u64, u64),
}

impl Config {
    /// The source called `name`.
    pub fn source(&self, name: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.name == name)
    }

    /// Every event name in peregrine's event table, and every syscall name.
    pub fn default_event_types() -> BTreeSet<String> {
        let mut s = BTreeSet::new();
        for code in 0..peregrine_event::EVENT_COUNT {
            if let Some(info) = peregrine_event::event_info(code as u16) {
                s.insert(info.name.to_string());
            }
        }
        for n in peregrine_event::syscalls::SYSCALL_NAMES {
            if !n.is_empty() {
                s.insert(n.to_string());
            }
        }
        s
    }

    /// The `syscall` source with fields known to peregrine's registry.
    pub fn new() -> Config {
        Config::with_fields(Box::new(|f| peregrine_filter::Field::parse(f).is_ok()))
    }

    /// The `syscall` source with the given field predicate.
    pub fn with_fields(known_field: FieldPredicate) -> Config {
        Config {
            sources: vec![Source {
                name: "syscall".to_string(),
                known_field,
            }],
            event_types: Config::default_event_types(),
            engine_version: ENGINE_VERSION,
        }
    }

    /// The `syscall` source accepting every field name.
    pub fn permissive() -> Config {
        Config::with_fields(Box::new(|_| true))
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

/// A compiled rule.
#[derive(Clone, Debug)]
pub struct LoadedRule {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Condition text after exceptions (appended as `and not (...)`) and
    /// list expansion: the rule's own text when it names no list, else the
    /// expanded condition printed canonically. Spans of `condition` nodes
    /// that come from the rule point into this text (nodes from macros
    /// point into the macro's own condition).
    pub condition_text: String,
    /// The condition with lists and macros expanded, ready to compile.
    pub condition: peregrine_filter::condition::Expr,
    /// Output format.
    pub output: String,
    /// Priority.
    pub priority: Priority,
    /// Tags.
    pub tags: BTreeSet<String>,
    /// Event source.
    pub source: String,
    /// Enabled.
    pub enabled: bool,
    /// Event types the condition can match.
    pub event_types: EventTypes,
    /// Fields the exceptions use.
    pub exception_fields: BTreeSet<String>,
    /// Capture flag.
    pub capture: bool,
    /// Capture duration.
    pub capture_duration: u32,
}

/// Stack size of the thread that reads and compiles one content.
pub const LOAD_STACK_SIZE: usize = 256 << 20;

/// One file of [`Loader::load_files`]: its result, or the compile that
/// will give it.
enum LoadStep<'scope, 'p> {
    /// The last file, read and compiled.
    Last(LoadResult),
    /// A file that could not be read: loading stops there.
    Stopped(LoadResult),
    /// A file read, compiling on another thread ([`Compiled`]).
    Compiling(&'p str, std::thread::ScopedJoinHandle<'scope, Compiled>),
}

/// What a background compile gives back: its result, the collector it
/// compiled when it failed, and the rules.
type Compiled = (LoadResult, Option<Collector>, Vec<LoadedRule>);

/// The results of [`Loader::load_files`] up to the first that failed, in
/// order; when the load stopped before the last file, the collector as
/// the failing compile saw it and the rules of the last compile.
fn finish(
    steps: Vec<LoadStep<'_, '_>>,
) -> (Vec<LoadResult>, Option<Collector>, Option<Vec<LoadedRule>>) {
    let mut results = Vec::new();
    let mut last_rules = None;
    for step in steps {
        let (res, snapshot) = match step {
            // Its compile wrote the rules.
            LoadStep::Last(res) => {
                results.push(res);
                return (results, None, None);
            }
            LoadStep::Stopped(res) => {
                results.push(res);
                return (results, None, last_rules);
            }
            LoadStep::Compiling(path, h) => match h.join() {
                Ok((res, snapshot, out)) => {
                    last_rules = Some(out);
                    (res, snapshot)
                }
                Err(_) => (internal_error(path), None),
            },
        };
        let ok = res.successful;
        results.push(res);
        if !ok {
            return (results, snapshot, last_rules);
        }
    }
    (results, None, None)
}

/// Spawns `f` on a thread with the loader's stack size.
fn spawn_big<'scope, T: Send + 'scope>(
    s: &'scope std::thread::Scope<'scope, '_>,
    f: impl FnOnce() -> T + Send + 'scope,
) -> std::io::Result<std::thread::ScopedJoinHandle<'scope, T>> {
    std::thread::Builder::new()
        .stack_size(LOAD_STACK_SIZE)
        .spawn_scoped(s, f)
}

/// The result of a load that failed inside the loader itself.
fn internal_error(name: &str) -> LoadResult {
    let mut res = LoadResult::new(name);
    res.add_error(
        ErrorCode::Validate,
        "internal error while loading rules",
        Context::root(name),
    );
    res
}

/// The text of a rules file, or the `LOAD_ERR_FILE_READ` result.
fn read_text(path: &str) -> Result<String, LoadResult> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) => {
            let mut res = LoadResult::new(path);
            res.add_error(
                ErrorCode::FileRead,
                format!("Could not open file {path} for reading: {e}"),
                Context::root(path),
            );
            Err(res)
        }
    }
}

/// Loads rules contents one after the other, keeping what was read.
pub struct Loader {
    config: Config,
    collector: Collector,
    rules: Vec<LoadedRule>,
    contents: HashMap<String, String>,
}

impl Loader {
    /// A loader with nothing read yet.
    pub fn new(config: Config) -> Loader {
        Loader {
            config,
            collector: Collector::default(),
            rules: Vec::new(),
            contents: HashMap::new(),
        }
    }

    /// Reads `content` (named `name`, usually its path), merges it with
    /// what was read before and compiles everything. Compiling happens only
    /// when reading succeeded.
    pub fn load(&mut self, name: &str, content: &str) -> LoadResult {
        self.contents.insert(name.to_string(), content.to_string());
        let mut res = LoadResult::new(name);
        let (config, collector, rules) = (&self.config, &mut self.collector, &mut self.rules);
        let mut work = |res: &mut LoadResult| {
            if reader::read(config, collector, res, name, content) {
                compiler::compile(config, collector, res, rules);
            }
        };
        // Nesting limits bound the recursion; a dedicated stack makes them
        // safe whatever the caller's stack size (debug frames are large).
        let done = std::thread::scope(|s| {
            std::thread::Builder::new()
                .stack_size(LOAD_STACK_SIZE)
                .spawn_scoped(s, || {
                    let mut r = LoadResult::new(name);
                    work(&mut r);
                    r
                })
                .ok()
                .map(|h| h.join())
        });
        match done {
            Some(Ok(r)) => res = r,
            Some(Err(_)) => res = internal_error(name),
            None => work(&mut res),
        }
        res
    }

    /// Reads a file and loads it; a read failure gives `LOAD_ERR_FILE_READ`.
    pub fn load_file(&mut self, path: &str) -> LoadResult {
        match read_text(path) {
            Ok(text) => self.load(path, &text),
            Err(res) => res,
        }
    }

    /// Loads files in order and stops after the first that fails, as
    /// Falco does: the results, the rules and the collector are those of
    /// [`Loader::load_file`] called on each in turn until one is not
    /// successful. It is faster on several files: their YAML is parsed on
    /// another thread while the files before are read, and the compile
    /// that follows every file but the last (for its errors and warnings
    /// only: the last one's gives the rules) runs on another thread while
    /// the next file is read.
    pub fn load_files(&mut self, paths: &[&str]) -> Vec<LoadResult> {
        let texts: Vec<Result<String, LoadResult>> = paths.iter().map(|p| read_text(p)).collect();
        for (path, text) in paths.iter().zip(&texts) {
            if let Ok(t) = text {
                self.contents.insert(path.to_string(), t.clone());
            }
        }
        let (config, collector, rules) = (&self.config, &mut self.collector, &mut self.rules);
        let texts = &texts;
        let (results, restore, last_rules) = std::thread::scope(|s| {
            let (parsed_tx, parsed_rx) = std::sync::mpsc::channel();
            // Parses every file but the first, in order, ahead of the reads.
            let parser = spawn_big(s, move || {
                for t in texts.iter().skip(1) {
                    if parsed_tx
                        .send(t.as_ref().ok().map(|t| yaml::load_all(t)))
                        .is_err()
                    {
                        break;
                    }
                }
            });
            let driver = spawn_big(s, move || {
                let mut steps = Vec::new();
                for (i, (&path, text)) in paths.iter().zip(texts).enumerate() {
                    let text = match text {
                        Ok(t) => t,
                        Err(res) => {
                            steps.push(LoadStep::Stopped(res.clone()));
                            break;
                        }
                    };
                    let parsed = match i {
                        0 => None,
                        _ => parsed_rx.recv().ok().flatten(),
                    };
                    let parsed = parsed.unwrap_or_else(|| yaml::load_all(text));
                    let mut res = LoadResult::new(path);
                    if !reader::read_parsed(config, collector, &mut res, path, parsed) {
                        steps.push(LoadStep::Stopped(res));
                        break;
                    }
                    if i + 1 == paths.len() {
                        compiler::compile(config, collector, &mut res, rules);
                        steps.push(LoadStep::Last(res));
                        break;
                    }
                    let snapshot = collector.clone();
                    let compiling = spawn_big(s, move || {
                        let mut out = Vec::new();
                        compiler::compile(config, &snapshot, &mut res, &mut out);
                        // Only a failed compile needs what it saw kept.
                        let kept = (!res.successful).then_some(snapshot);
                        (res, kept, out)
                    });
                    steps.push(match compiling {
                        Ok(h) => LoadStep::Compiling(path, h),
                        Err(_) => LoadStep::Stopped(internal_error(path)),
                    });
                }
                steps
            });
            let steps = match driver.map(|h| h.join()) {
                Ok(Ok(steps)) => steps,
                _ => vec![LoadStep::Stopped(internal_error(
                    paths.first().unwrap_or(&""),
                ))],
            };
            if let Ok(h) = parser {
                let _ = h.join();
            }
            finish(steps)
        });
        // Loading stopped before the last file: back to what the files up
        // to there left, as if the later ones were never read.
        if let Some(snapshot) = restore {
            self.collector = snapshot;
        }
        if let Some(out) = last_rules {
            self.rules = out;
        }
        results
    }

    /// The rules compiled by the last successful load, in definition order.
    pub fn rules(&self) -> &[LoadedRule] {
        &self.rules
    }

    /// Everything read so far.
    pub fn collector(&self) -> &Collector {
        &self.collector
    }

    /// The text of every content loaded, by name (for snippets).
    pub fn contents(&self) -> &HashMap<String, String> {
        &self.contents
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
}
