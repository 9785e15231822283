//! `--list` (fields) and `-L` / `-l RULE` (rules).

use super::{App, Flow};
use peregrine_filter::FIELDS;

/// Prints the supported fields and exits, when asked.
pub fn list_fields(app: &mut App) -> Result<Flow, String> {
    let Some(source) = &app.args.list else {
        return Ok(Flow::Next);
    };
    if !source.is_empty() && source != "syscall" {
        return Err(format!("Unknown event source {source}"));
    }
    for f in FIELDS {
        if app.args.names_only {
            println!("{}", f.name);
        } else {
            println!("{:<40} {:<8} {}", f.name, f.ftype.name(), f.desc);
        }
    }
    Ok(Flow::Exit(0))
}

/// Prints rule names and descriptions and exits, when asked.
pub fn describe_rules(app: &mut App) -> Result<Flow, String> {
    if !app.args.describe_all && app.args.describe_rule.is_none() {
        return Ok(Flow::Next);
    }
    let engine = app.engine.as_ref().expect("rules loaded");
    let wanted = app.args.describe_rule.as_deref();
    let rules: Vec<_> = engine
        .rules()
        .iter()
        .filter(|r| wanted.is_none_or(|w| r.name == w))
        .collect();
    if let Some(name) = wanted
        && rules.is_empty()
    {
        return Err(format!("Rule {name} not found"));
    }
    if app.config.as_ref().is_some_and(|c| c.json_output) {
        let list: Vec<_> = rules
            .iter()
            .map(|r| {
                serde_json::json!({
                    "info": {
                        "name": r.name,
                        "description": r.description,
                        "condition": r.condition_text,
                        "output": r.output_text,
                        "priority": r.priority.name(),
                        "source": r.source,
                        "tags": r.tags,
                        "enabled": r.enabled,
                    }
                })
            })
            .collect();
        println!("{}", serde_json::json!({ "rules": list }));
    } else {
        println!("{:<50} Description", "Rule");
        println!("{:<50} -----------", "----");
        for r in rules {
            println!("{:<50} {}", r.name, r.description.trim());
        }
    }
    Ok(Flow::Exit(0))
}
