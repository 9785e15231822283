//! `append_output`: a list of entries, each a map with an optional `match`
//! (`source`, `tags`, `rule`), `extra_output`, `extra_fields` (items are a
//! field name, or a one-key map from a key to a format) and
//! `suggested_output` (plugins' suggested fields: read and ignored, as
//! peregrine has no plugins). A single map is taken as a one-entry list.
//! Wrong types and fields that do not parse are errors naming the entry;
//! unknown keys are warnings.

use super::ConfigError;
use peregrine_engine::{AppendMatch, AppendOutput, ExtraField};
use peregrine_rules::yaml::{self, Node};

const KEY: &str = "append_output";

fn wrong(path: &str, expected: &str) -> ConfigError {
    ConfigError(format!("config key '{path}': expected {expected}"))
}

/// Reads `append_output` from the document; unknown keys in its entries
/// are added to `warnings`.
pub fn parse(tree: &Node, warnings: &mut Vec<String>) -> Result<Vec<AppendOutput>, ConfigError> {
    let Some(node) = tree.get(KEY).filter(|n| !n.is_null()) else {
        return Ok(Vec::new());
    };
    let items: Vec<&Node> = if node.is_seq() {
        node.items().iter().collect()
    } else if node.is_map() {
        vec![node]
    } else {
        return Err(wrong(KEY, "a list of maps"));
    };
    let mut entries = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let path = format!("{KEY}[{i}]");
        let entry = parse_entry(item, &path, warnings)?;
        entry
            .check()
            .map_err(|e| ConfigError(format!("config key '{path}': {e}")))?;
        warn_rule_and_tags(&entry.matches, &path, warnings);
        entries.push(entry);
    }
    Ok(entries)
}

fn parse_entry(
    node: &Node,
    path: &str,
    warnings: &mut Vec<String>,
) -> Result<AppendOutput, ConfigError> {
    let mut entry = AppendOutput::default();
    each_key(node, path, |key, v, at| {
        match key {
            "match" => entry.matches = parse_match(v, at, warnings)?,
            "extra_output" => entry.extra_output = Some(string(v, at)?),
            "extra_fields" => entry.extra_fields = parse_fields(v, at)?,
            "suggested_output" => {
                v.scalar()
                    .and_then(yaml::decode_bool)
                    .ok_or_else(|| wrong(at, "true or false"))?;
            }
            _ => warnings.push(unknown(at)),
        }
        Ok(())
    })?;
    Ok(entry)
}

fn parse_match(
    node: &Node,
    path: &str,
    warnings: &mut Vec<String>,
) -> Result<AppendMatch, ConfigError> {
    let mut m = AppendMatch::default();
    each_key(node, path, |key, v, at| {
        match key {
            "source" => m.source = Some(string(v, at)?),
            "rule" => m.rule = Some(string(v, at)?),
            "tags" => {
                if !v.is_seq() {
                    return Err(wrong(at, "a list of tags"));
                }
                for tag in v.items() {
                    m.tags.insert(string(tag, at)?);
                }
            }
            _ => warnings.push(unknown(at)),
        }
        Ok(())
    })?;
    Ok(m)
}

/// Calls `f` with each key of the map `node` whose value is not null, the
/// value and the key's path; an error when `node` is not a map.
fn each_key(
    node: &Node,
    path: &str,
    mut f: impl FnMut(&str, &Node, &str) -> Result<(), ConfigError>,
) -> Result<(), ConfigError> {
    if !node.is_map() {
        return Err(wrong(path, "a map"));
    }
    for (k, v) in node.entries() {
        if v.is_null() {
            continue;
        }
        let key = k.scalar().unwrap_or_default();
        f(key, v, &format!("{path}.{key}"))?;
    }
    Ok(())
}

fn parse_fields(node: &Node, path: &str) -> Result<Vec<ExtraField>, ConfigError> {
    if !node.is_seq() {
        return Err(wrong(path, "a list"));
    }
    let mut fields = Vec::new();
    for (j, item) in node.items().iter().enumerate() {
        let at = format!("{path}[{j}]");
        let expected = "a field name or a map of one key to a format";
        let field = if let Some(name) = item.scalar() {
            ExtraField::Raw(name.trim().to_string())
        } else if let [(k, v)] = item.entries() {
            let key = k.scalar().ok_or_else(|| wrong(&at, expected))?;
            ExtraField::Formatted {
                key: key.to_string(),
                format: string(v, &at)?,
            }
        } else {
            return Err(wrong(&at, expected));
        };
        fields.push(field);
    }
    Ok(fields)
}

fn string(node: &Node, path: &str) -> Result<String, ConfigError> {
    node.as_string().ok_or_else(|| wrong(path, "a string"))
}

fn unknown(path: &str) -> String {
    format!("Warning: unknown configuration key '{path}', ignored")
}

/// Falco's warning for an entry naming both a rule and tags: it applies to
/// that rule only if the rule has all the tags.
fn warn_rule_and_tags(m: &AppendMatch, path: &str, warnings: &mut Vec<String>) {
    let Some(rule) = m.rule.as_deref().filter(|r| !r.is_empty()) else {
        return;
    };
    if m.tags.is_empty() {
        return;
    }
    let tags: Vec<&str> = m.tags.iter().map(String::as_str).collect();
    warnings.push(format!(
        "Warning: {path} names both a rule ({rule}) and tags ({}): output is appended \
         to {rule} only if it has all of these tags",
        tags.join(", ")
    ));
}
