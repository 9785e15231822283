//! `config_files`: more configuration files (or folders of them, read in
//! name order) merged after the main one, as Falco 0.44 merges them: per
//! top-level key, with the entry's strategy (`append`, `override`,
//! `add-only`). Included files may not include others; missing entries
//! are skipped.

use super::path::empty_map;
use super::{ConfigError, Sources, read_tree};
use peregrine_rules::yaml::{Node, NodeKind};
use std::path::{Path, PathBuf};

/// The key that lists included files.
pub const CONFIG_FILES: &str = "config_files";

/// How an included file's keys merge into what is loaded so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Lists are appended to; other keys are replaced or added.
    Append,
    /// Keys are replaced or added.
    Override,
    /// Only keys not yet present are added.
    AddOnly,
}

/// The entries of `config_files`: a path (strategy `append`) or a map with
/// `path` and `strategy`.
fn entries(tree: &Node) -> Result<Vec<(PathBuf, Strategy)>, ConfigError> {
    let Some(node) = tree.get(CONFIG_FILES).filter(|n| !n.is_null()) else {
        return Ok(Vec::new());
    };
    let items: Vec<&Node> = if node.is_seq() {
        node.items().iter().collect()
    } else {
        vec![node]
    };
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let at = format!("{CONFIG_FILES}[{i}]");
        if let Some(p) = item.scalar() {
            out.push((PathBuf::from(p), Strategy::Append));
            continue;
        }
        let path = item.get("path").and_then(Node::scalar).ok_or_else(|| {
            ConfigError(format!(
                "config key '{at}': expected a path or a map with 'path' and 'strategy'"
            ))
        })?;
        let strategy = match item.get("strategy").and_then(Node::scalar) {
            None => Strategy::Append,
            Some("append") => Strategy::Append,
            Some("override") => Strategy::Override,
            Some("add-only") => Strategy::AddOnly,
            Some(_) => {
                return Err(ConfigError(format!(
                    "config key '{at}.strategy': expected one of append, override, add-only"
                )));
            }
        };
        out.push((PathBuf::from(path), strategy));
    }
    Ok(out)
}

/// Merges every file that `config_files` names into `tree`, recording
/// each file read in `sources`.
pub fn merge(
    tree: &mut Node,
    main: Option<&Path>,
    sources: &mut Sources,
) -> Result<(), ConfigError> {
    for (path, strategy) in entries(tree)? {
        if main.is_some_and(|m| m == path) {
            return Err(ConfigError(format!(
                "Config error: '{CONFIG_FILES}' directive tried to recursively include main \
                 config file: {}.",
                path.display()
            )));
        }
        if path.is_file() {
            include(tree, &path, strategy, sources)?;
        } else if path.is_dir() {
            sources.folders.push(path.clone());
            let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
                .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            for f in files {
                include(tree, &f, strategy, sources)?;
            }
        }
    }
    Ok(())
}

fn include(
    tree: &mut Node,
    path: &Path,
    strategy: Strategy,
    sources: &mut Sources,
) -> Result<(), ConfigError> {
    let doc = read_tree(path)?;
    let name = path.display().to_string();
    if !doc.is_map() && !doc.is_null() {
        return Err(ConfigError(format!(
            "{name}: a configuration file must be a map of keys"
        )));
    }
    sources.files.push(path.to_path_buf());
    if !tree.is_map() {
        *tree = empty_map();
    }
    let NodeKind::Map(root) = &mut tree.kind else {
        return Ok(());
    };
    for (key, value) in doc.entries() {
        let Some(k) = key.scalar() else { continue };
        if k == CONFIG_FILES {
            return Err(ConfigError(format!(
                "Config error: '{CONFIG_FILES}' directive in included config file {name}."
            )));
        }
        let existing = root.iter_mut().find(|(rk, _)| rk.scalar() == Some(k));
        match (existing, strategy) {
            (None, _) => {
                root.push((key.clone(), value.clone()));
                sources.origin.push((k.to_string(), name.clone()));
            }
            (Some(_), Strategy::AddOnly) => {}
            (Some((_, old)), Strategy::Append) if value.is_seq() && old.is_seq() => {
                if let NodeKind::Seq(items) = &mut old.kind {
                    items.extend(value.items().iter().cloned());
                }
            }
            (Some((_, old)), _) => {
                *old = value.clone();
                sources.origin.push((k.to_string(), name.clone()));
            }
        }
    }
    Ok(())
}
