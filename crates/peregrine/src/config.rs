//! The configuration: Falco's `falco.yaml` keys, with `-o key=value`
//! overrides applied on top, read into typed settings.

use peregrine_rules::yaml::{self, Mark, Node, NodeKind};
use std::path::{Path, PathBuf};

/// Where Falco looks for its configuration when `-c` is not given.
pub const DEFAULT_CONFIG: &str = "/etc/falco/falco.yaml";

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
    /// Times as ISO 8601 in text alerts.
    pub time_format_iso_8601: bool,
    /// Minimum rule priority that is loaded.
    pub priority: String,
    /// Lifecycle messages on standard error.
    pub log_stderr: bool,
    /// `engine.kind` (`modern_ebpf`, `replay`, ...).
    pub engine_kind: String,
    /// `engine.replay.capture_file`.
    pub replay_capture_file: Option<PathBuf>,
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

fn empty_map() -> Node {
    Node {
        mark: Mark::default(),
        kind: NodeKind::Map(Vec::new()),
    }
}

fn scalar(value: &str) -> Node {
    Node {
        mark: Mark::default(),
        kind: NodeKind::Scalar {
            value: value.to_string(),
            quoted: false,
        },
    }
}

/// Splits `a.b\.c[2].d` into path segments: keys and list indexes.
fn split_key(key: &str) -> Result<Vec<Segment>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = key.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) => cur.push(e),
                None => return Err("trailing backslash".into()),
            },
            '.' => {
                if !cur.is_empty() {
                    out.push(Segment::Key(std::mem::take(&mut cur)));
                }
            }
            '[' => {
                if !cur.is_empty() {
                    out.push(Segment::Key(std::mem::take(&mut cur)));
                }
                let mut idx = String::new();
                loop {
                    match chars.next() {
                        Some(']') => break,
                        Some(d) => idx.push(d),
                        None => return Err("missing ']'".into()),
                    }
                }
                let i = idx
                    .trim()
                    .parse()
                    .map_err(|_| format!("bad list index '{idx}'"))?;
                out.push(Segment::Index(i));
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(Segment::Key(cur));
    }
    if out.is_empty() {
        return Err("empty key".into());
    }
    Ok(out)
}

enum Segment {
    Key(String),
    Index(usize),
}

/// Sets `path` to `value` in `node`, creating maps and growing lists.
fn set_path(node: &mut Node, path: &[Segment], value: Node) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        *node = value;
        return Ok(());
    };
    match first {
        Segment::Key(k) => {
            if !node.is_map() {
                *node = empty_map();
            }
            let NodeKind::Map(entries) = &mut node.kind else {
                unreachable!()
            };
            let pos = entries
                .iter()
                .position(|(key, _)| key.scalar() == Some(k.as_str()));
            let slot = match pos {
                Some(i) => &mut entries[i].1,
                None => {
                    entries.push((scalar(k), empty_map()));
                    &mut entries.last_mut().expect("just pushed").1
                }
            };
            set_path(slot, rest, value)
        }
        Segment::Index(i) => {
            if !node.is_seq() {
                *node = Node {
                    mark: Mark::default(),
                    kind: NodeKind::Seq(Vec::new()),
                };
            }
            let NodeKind::Seq(items) = &mut node.kind else {
                unreachable!()
            };
            if *i > items.len() {
                return Err(format!(
                    "list index {i} past the end ({} items)",
                    items.len()
                ));
            }
            if *i == items.len() {
                items.push(empty_map());
            }
            set_path(&mut items[*i], rest, value)
        }
    }
}

/// Parses the value of `-o key=value` as YAML (so lists and maps work),
/// falling back to a plain string.
fn parse_value(text: &str) -> Node {
    match yaml::load_all(text) {
        Ok(mut docs) if docs.len() == 1 => docs.remove(0),
        _ => scalar(text),
    }
}

impl Config {
    /// Loads `path` (or the default file), then applies `-o` options.
    /// A missing default file yields the defaults; a missing `-c` file is an error.
    pub fn load(path: Option<&Path>, options: &[String]) -> Result<Config, ConfigError> {
        let mut tree = match path {
            Some(p) => read_tree(p)?,
            None if Path::new(DEFAULT_CONFIG).exists() => read_tree(Path::new(DEFAULT_CONFIG))?,
            None => empty_map(),
        };
        for opt in options {
            let (key, value) = opt
                .split_once('=')
                .ok_or_else(|| ConfigError(format!("option '{opt}': expected <opt>=<val>")))?;
            let segments =
                split_key(key).map_err(|e| ConfigError(format!("option '{opt}': {e}")))?;
            set_path(&mut tree, &segments, parse_value(value))
                .map_err(|e| ConfigError(format!("option '{opt}': {e}")))?;
        }
        Config::from_tree(tree)
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
        Ok(Config {
            rules_files,
            json_output: boolean("json_output", false)?,
            json_include_output_property: boolean("json_include_output_property", true)?,
            json_include_tags_property: boolean("json_include_tags_property", true)?,
            time_format_iso_8601: boolean("time_format_iso_8601", false)?,
            priority: string("priority")?.unwrap_or_else(|| "debug".into()),
            log_stderr: boolean("log_stderr", true)?,
            engine_kind: string("engine.kind")?.unwrap_or_else(|| "modern_ebpf".into()),
            replay_capture_file: string("engine.replay.capture_file")?.map(PathBuf::from),
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
mod tests {
    use super::*;

    #[test]
    fn options_override_nested_keys_and_lists() {
        let opts = [
            "json_output=true".to_string(),
            "engine.replay.capture_file=/tmp/x.scap".to_string(),
            "rules_files[0]=/a.yaml".to_string(),
            "rules_files[1]=/b.yaml".to_string(),
        ];
        let c = Config::load(Some(Path::new("/dev/null")), &opts).unwrap();
        assert!(c.json_output);
        assert_eq!(c.replay_capture_file, Some(PathBuf::from("/tmp/x.scap")));
        assert_eq!(
            c.rules_files,
            [PathBuf::from("/a.yaml"), PathBuf::from("/b.yaml")]
        );
    }

    #[test]
    fn wrong_types_and_bad_options_name_the_key() {
        let err =
            Config::load(Some(Path::new("/dev/null")), &["json_output=maybe".into()]).unwrap_err();
        assert!(err.0.contains("json_output"), "{err}");
        assert!(Config::load(Some(Path::new("/dev/null")), &["novalue".into()]).is_err());
        assert!(Config::load(Some(Path::new("/dev/null")), &["a[x]=1".into()]).is_err());
        assert!(Config::load(Some(Path::new("/dev/null")), &["a[5]=1".into()]).is_err());
        assert!(Config::load(Some(Path::new("/nonexistent.yaml")), &[]).is_err());
    }

    #[test]
    fn escaped_dots_stay_in_keys() {
        let segs = split_key(r"a.b\.c[1].d").unwrap();
        let shown: Vec<String> = segs
            .iter()
            .map(|s| match s {
                Segment::Key(k) => k.clone(),
                Segment::Index(i) => format!("#{i}"),
            })
            .collect();
        assert_eq!(shown, ["a", "b.c", "#1", "d"]);
    }
}
