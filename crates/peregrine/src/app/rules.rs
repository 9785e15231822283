//! Steps that read rules files: `-V` validation, loading `-r` files (or
//! the configuration's `rules_files`), and rule selection (`-D`, `-t`, `-T`).

use super::{App, Flow};
use peregrine_engine::{AppendOutput, Engine, EngineOptions, NamePattern};
use peregrine_rules::{Loader, Priority, results_json};
use std::path::{Path, PathBuf};

/// A path given as a rules file: a file, or a folder whose `.yaml` and
/// `.yml` files are read in name order.
fn expand(path: &Path) -> Result<Vec<PathBuf>, String> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| format!("Could not read rules folder {}: {e}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

fn loader() -> Loader {
    Loader::new(peregrine_rules::Config::new())
}

/// `-V FILE...`: loads the files one after the other, prints the results
/// (JSON with `json_output`, text otherwise) and exits, non-zero on errors.
pub fn validate_rules_files(app: &mut App) -> Result<Flow, String> {
    if app.args.validate.is_empty() {
        return Ok(Flow::Next);
    }
    let json = app.config.as_ref().is_some_and(|c| c.json_output);
    let mut loader = loader();
    let mut results = Vec::new();
    for path in &app.args.validate {
        results.push(loader.load_file(&path.to_string_lossy()));
    }
    let ok = results.iter().all(|r| r.successful);
    if json {
        println!("{}", results_json(&results, loader.contents()));
    } else {
        let summary: Vec<String> = results
            .iter()
            .map(|r| {
                if r.successful && !r.warnings.is_empty() {
                    eprintln!("{}", r.as_verbose_text(loader.contents()));
                    format!("{}: Ok, with warnings", r.name)
                } else {
                    r.as_verbose_text(loader.contents())
                }
            })
            .collect();
        println!("{}", summary.join("\n"));
    }
    if ok {
        Ok(Flow::Exit(0))
    } else {
        Err("rules validation failed".into())
    }
}

/// Loads the rules files and builds the engine.
pub fn load_rules_files(app: &mut App) -> Result<Flow, String> {
    let config = app.config.as_ref().expect("config loaded");
    let paths = if app.args.rules.is_empty() {
        &config.rules_files
    } else {
        &app.args.rules
    };
    if paths.is_empty() {
        return Err(
            "You must specify at least one rules file/directory via -r or a rules_file \
                    entry in falco.yaml"
                .into(),
        );
    }
    let mut files = Vec::new();
    for p in paths {
        files.extend(expand(p)?);
    }
    let mut loader = loader();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.to_string_lossy().into_owned())
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    for res in loader.load_files(&names) {
        if !res.successful {
            return Err(res.as_verbose_text(loader.contents()));
        }
        if !res.warnings.is_empty() {
            eprintln!("{}", res.as_verbose_text(loader.contents()));
        }
    }
    let min_priority = Priority::parse(&config.priority)
        .ok_or_else(|| format!("Unknown priority \"{}\"", config.priority))?;
    let mut append_output = config.append_output.clone();
    append_output.extend(print_entry(app.args.print.as_deref())?);
    let options = EngineOptions {
        min_priority,
        append_output,
    };
    let (engine, errors) = Engine::new(loader.rules(), &options);
    if let Some(e) = errors.first() {
        return Err(format!(
            "Could not compile rule '{}': {}",
            e.rule, e.message
        ));
    }
    if app.args.verbose {
        for rule in engine.rules().iter().filter(|r| r.enabled) {
            let types = match rule.event_type_names() {
                Some(names) => names.into_iter().collect::<Vec<_>>().join(","),
                None => "all".to_string(),
            };
            eprintln!("Event types for rule {}: {types}", rule.name);
        }
    }
    app.engine = Some(engine);
    drop_aside(loader);
    Ok(Flow::Next)
}

/// Drops `value` on a short-lived thread. The loader holds every rule's
/// syntax tree, much of it allocated by its compile threads: freeing it
/// takes the main thread about 2 ms that the event loop is waiting on.
fn drop_aside<T: Send + 'static>(value: T) {
    let spawned = std::thread::Builder::new()
        .name("drop-rules".into())
        .spawn(move || drop(value));
    // Without a thread (none could be made), the value was dropped with
    // the error: nothing to do.
    let _ = spawned;
}

/// `-p`, `-pc`, `-pk`: an `append_output` entry choosing every rule,
/// after the configuration's entries.
fn print_entry(print: Option<&str>) -> Result<Option<AppendOutput>, String> {
    let text = match print {
        None => return Ok(None),
        Some("c" | "container") => "container=%container.name (id=%container.id)",
        Some("k" | "kubernetes") => {
            "k8s.ns=%k8s.ns.name k8s.pod=%k8s.pod.name container=%container.id"
        }
        Some(text) => text,
    };
    peregrine_filter::OutputFormat::parse(text).map_err(|e| format!("-p/--print '{text}': {e}"))?;
    Ok(Some(AppendOutput::everywhere(text)))
}

/// `-D`, `-t`, `-T`.
pub fn select_rules(app: &mut App) -> Result<Flow, String> {
    let args = app.args;
    if (!args.disable_rules.is_empty() || !args.disable_tags.is_empty())
        && !args.run_tags.is_empty()
    {
        return Err("You can not specify both disabled (-D/-T) and enabled (-t) rules".into());
    }
    let engine = app.engine.as_mut().expect("rules loaded");
    for pattern in &args.disable_rules {
        engine.disable_matching(&NamePattern::new(pattern));
    }
    if !args.disable_tags.is_empty() {
        engine.disable_tags(&args.disable_tags);
    }
    if !args.run_tags.is_empty() {
        engine.run_only_tags(&args.run_tags);
    }
    Ok(Flow::Next)
}
