//! The configuration: Falco's `falco.yaml` keys, the files it includes
//! (`config_files`), and `-o key=value` overrides, read into typed
//! settings. Unknown top-level keys are warned about; a value of the wrong
//! type is an error naming its key.

mod append;
mod include;
mod path;
mod schema;

use path::{Segment, empty_map, scalar, set_path, split_key};
use peregrine_engine::AppendOutput;
use peregrine_rules::yaml::{self, Node};
use std::path::{Path, PathBuf};

/// Where Falco looks for its configuration when `-c` is not given.
pub const DEFAULT_CONFIG: &str = "/etc/falco/falco.yaml";

/// Where the settings came from: the files read, and which file (or
/// option) last set each top-level key.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// Configuration files read, the main one first.
    pub files: Vec<PathBuf>,
    /// Folders named in `config_files`.
    pub folders: Vec<PathBuf>,
    /// (top-level key, file or option that set it), in order.
    origin: Vec<(String, String)>,
}

impl Sources {
    /// The file or option that last set a top-level key.
    fn origin_of(&self, key: &str) -> &str {
        self.origin
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map_or("the configuration", |(_, o)| o.as_str())
    }
}

/// Typed settings read from the configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Rules files and folders (`rules_files`, formerly `rules_file`).
    pub rules_files: Vec<PathBuf>,
    /// Alerts as JSON lines.
    pub json_output: bool,
    /// Include `output` in JSON alerts.
    pub json_include_output_property: bool,
    /// Include `tags` in JSON alerts.
    pub json_include_tags_property: bool,
    /// Include `message` (the output without time and priority) in JSON alerts.
    pub json_include_message_property: bool,
    /// Include `output_fields` in JSON alerts.
    pub json_include_output_fields_property: bool,
    /// Times as ISO 8601 in text alerts.
    pub time_format_iso_8601: bool,
    /// Minimum rule priority that is loaded.
    pub priority: String,
    /// Lifecycle messages on standard error.
    pub log_stderr: bool,
    /// Lifecycle messages to syslog.
    pub log_syslog: bool,
    /// Least important lifecycle message logged (`log_level`).
    pub log_level: String,
    /// Reload when a configuration or rules file changes.
    pub watch_config_files: bool,
    /// The files (and folders) read.
    pub sources: Sources,
    /// Warnings about the configuration (unknown keys), one line each.
    pub warnings: Vec<String>,
    /// `engine.kind` (`modern_ebpf`, `replay`, ...).
    pub engine_kind: String,
    /// `engine.replay.capture_file`.
    pub replay_capture_file: Option<PathBuf>,
    /// `append_output` entries, in order.
    pub append_output: Vec<AppendOutput>,
    /// The whole document, for the keys other parts read.
    tree: Node,
}

/// A configuration error: the file, the key path and what was wrong.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses the value of `-o key=value`: a YAML map or list when written
/// in braces or brackets (as Falco does for braces), a plain string
/// otherwise.
fn parse_value(text: &str) -> Node {
    let t = text.trim();
    let structured =
        (t.starts_with('{') && t.ends_with('}')) || (t.starts_with('[') && t.ends_with(']'));
    if structured
        && let Ok(mut docs) = yaml::load_all(t)
        && docs.len() == 1
    {
        return docs.remove(0);
    }
    scalar(text)
}

/// Applies one `-o key=value` option.
fn apply_option(tree: &mut Node, opt: &str, sources: &mut Sources) -> Result<(), ConfigError> {
    let (key, value) = opt
        .split_once('=')
        .ok_or_else(|| ConfigError(format!("option '{opt}': expected <opt>=<val>")))?;
    let segments = split_key(key).map_err(|e| ConfigError(format!("option '{opt}': {e}")))?;
    set_path(tree, &segments, parse_value(value))
        .map_err(|e| ConfigError(format!("option '{opt}': {e}")))?;
    if let Some(Segment::Key(top)) = segments.first() {
        sources
            .origin
            .push((top.clone(), format!("option -o {opt}")));
    }
    Ok(())
}

impl Config {
    /// Loads `path` (or the default file), the files its `config_files`
    /// names, then applies `-o` options (`-o config_files=...` ones before
    /// the includes are merged, as Falco does). A missing default file
    /// yields the defaults; a missing `-c` file is an error.
    pub fn load(path: Option<&Path>, options: &[String]) -> Result<Config, ConfigError> {
        let main = match path {
            Some(p) => Some(p.to_path_buf()),
            None if Path::new(DEFAULT_CONFIG).exists() => Some(PathBuf::from(DEFAULT_CONFIG)),
            None => None,
        };
        let mut sources = Sources::default();
        let mut tree = match &main {
            Some(p) => {
                let t = read_tree(p)?;
                sources.files.push(p.clone());
                let name = p.display().to_string();
                for (k, _) in t.entries() {
                    if let Some(k) = k.scalar() {
                        sources.origin.push((k.to_string(), name.clone()));
                    }
                }
                t
            }
            None => empty_map(),
        };
        for opt in options
            .iter()
            .filter(|o| o.starts_with(include::CONFIG_FILES))
        {
            apply_option(&mut tree, opt, &mut sources)?;
        }
        include::merge(&mut tree, main.as_deref(), &mut sources)?;
        for opt in options {
            apply_option(&mut tree, opt, &mut sources)?;
        }
        schema::check(&tree)?;
        let mut warnings: Vec<String> = schema::unknown_keys(&tree)
            .into_iter()
            .map(|k| {
                format!(
                    "Warning: unknown configuration key '{k}' in {}, ignored",
                    sources.origin_of(&k)
                )
            })
            .collect();
        let mut config = Config::from_tree(tree)?;
        config.sources = sources;
        warnings.append(&mut config.warnings);
        config.warnings = warnings;
        Ok(config)
    }

    fn from_tree(tree: Node) -> Result<Config, ConfigError> {
        let get = |path: &str| -> Option<&Node> {
            path.split('.')
                .try_fold(&tree, |n, k| n.get(k))
                .filter(|n| !n.is_null())
        };
        let boolean = |path: &str, default: bool| -> Result<bool, ConfigError> {
            match get(path) {
                None => Ok(default),
                Some(n) => n.scalar().and_then(yaml::decode_bool).ok_or_else(|| {
                    ConfigError(format!("config key '{path}': expected true or false"))
                }),
            }
        };
        let string = |path: &str| -> Result<Option<String>, ConfigError> {
            match get(path) {
                None => Ok(None),
                Some(n) => n
                    .as_string()
                    .map(Some)
                    .ok_or_else(|| ConfigError(format!("config key '{path}': expected a string"))),
            }
        };
        let mut rules_files = Vec::new();
        for key in ["rules_files", "rules_file"] {
            if let Some(n) = get(key) {
                let items: Vec<&Node> = if n.is_seq() {
                    n.items().iter().collect()
                } else {
                    vec![n]
                };
                for item in items {
                    let s = item.as_string().ok_or_else(|| {
                        ConfigError(format!("config key '{key}': expected a list of paths"))
                    })?;
                    rules_files.push(PathBuf::from(s));
                }
                break;
            }
        }
        let mut warnings = Vec::new();
        let append_output = append::parse(&tree, &mut warnings)?;
        Ok(Config {
            rules_files,
            json_output: boolean("json_output", false)?,
            json_include_output_property: boolean("json_include_output_property", true)?,
            json_include_tags_property: boolean("json_include_tags_property", true)?,
            json_include_message_property: boolean("json_include_message_property", false)?,
            json_include_output_fields_property: boolean(
                "json_include_output_fields_property",
                true,
            )?,
            time_format_iso_8601: boolean("time_format_iso_8601", false)?,
            priority: string("priority")?.unwrap_or_else(|| "debug".into()),
            log_stderr: boolean("log_stderr", true)?,
            log_syslog: boolean("log_syslog", true)?,
            log_level: string("log_level")?.unwrap_or_else(|| "info".into()),
            watch_config_files: boolean("watch_config_files", true)?,
            sources: Sources::default(),
            warnings,
            engine_kind: string("engine.kind")?.unwrap_or_else(|| "modern_ebpf".into()),
            replay_capture_file: string("engine.replay.capture_file")?.map(PathBuf::from),
            append_output,
            tree,
        })
    }
}

impl Config {
    /// The scalar at a dotted key path, as text (`None` when absent,
    /// null, or not a scalar).
    pub fn lookup(&self, path: &str) -> Option<String> {
        let node = path.split('.').try_fold(&self.tree, |n, k| n.get(k))?;
        node.scalar().map(str::to_string)
    }

    /// The list of scalars at a dotted key path (a scalar counts as a
    /// one-item list; `None` when absent or null).
    pub fn lookup_list(&self, path: &str) -> Option<Vec<String>> {
        let node = path.split('.').try_fold(&self.tree, |n, k| n.get(k))?;
        if node.is_null() {
            return None;
        }
        if node.is_seq() {
            return Some(node.items().iter().filter_map(|i| i.as_string()).collect());
        }
        node.as_string().map(|s| vec![s])
    }
}

fn read_tree(path: &Path) -> Result<Node, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError(format!(
            "Could not find configuration file at {}: {e}",
            path.display()
        ))
    })?;
    let mut docs = yaml::load_all(&text).map_err(|e| {
        ConfigError(format!(
            "{}:{}:{}: {}",
            path.display(),
            e.mark.line + 1,
            e.mark.column + 1,
            e.message
        ))
    })?;
    Ok(if docs.is_empty() {
        empty_map()
    } else {
        docs.remove(0)
    })
}

#[cfg(test)]
mod tests;
