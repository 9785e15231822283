//! What `falco.yaml` may hold: the top-level keys Falco's schema knows
//! (unknown ones are warned about), and the type of every key peregrine
//! reads (a wrong type is an error naming the key's path).

use super::ConfigError;
use peregrine_rules::yaml::{self, Node};

/// Top-level keys of Falco 0.44's configuration schema, plus keys of
/// earlier Falco versions that configuration files still carry.
pub const TOP_LEVEL: &[&str] = &[
    "append_output",
    "base_syscalls",
    "buffered_outputs",
    "capture",
    "config_files",
    "engine",
    "falco_libs",
    "file_output",
    "http_output",
    "json_include_message_property",
    "json_include_output_fields_property",
    "json_include_output_property",
    "json_include_tags_property",
    "json_output",
    "libs_logger",
    "load_plugins",
    "log_level",
    "log_stderr",
    "log_syslog",
    "metrics",
    "output_timeout",
    "outputs_queue",
    "plugins",
    "plugins_hostinfo",
    "priority",
    "program_output",
    "rule_files",
    "rule_matching",
    "rules",
    "rules_files",
    "static_fields",
    "stdout_output",
    "syscall_event_drops",
    "syscall_event_timeouts",
    "syslog_output",
    "time_format_iso_8601",
    "buffer_format_base64",
    "watch_config_files",
    "webserver",
    // Earlier versions.
    "outputs",
    "rules_file",
    "grpc",
    "grpc_output",
    "modern_bpf",
    "metadata_download",
    "syscall_drop_failed_exit",
    "syscall_buf_size_preset",
    "container_engines",
];

/// The type a key's value must have.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// `true`/`false` (and YAML 1.1's other spellings).
    Bool,
    /// A non-negative integer.
    UInt,
    /// Any number.
    Number,
    /// A scalar, read as text.
    Str,
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// A path or a list of paths.
    Paths,
}

/// Log levels, as `log_level` spells them.
pub const LOG_LEVELS: &[&str] = &[
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "info",
    "debug",
];

/// Every key peregrine reads, with its type.
pub const TYPED: &[(&str, Kind)] = &[
    ("rules_files", Kind::Paths),
    ("rules_file", Kind::Paths),
    ("json_output", Kind::Bool),
    ("json_include_output_property", Kind::Bool),
    ("json_include_tags_property", Kind::Bool),
    ("json_include_message_property", Kind::Bool),
    ("json_include_output_fields_property", Kind::Bool),
    ("time_format_iso_8601", Kind::Bool),
    ("priority", Kind::Str),
    ("log_stderr", Kind::Bool),
    ("log_syslog", Kind::Bool),
    ("log_level", Kind::OneOf(LOG_LEVELS)),
    ("watch_config_files", Kind::Bool),
    ("engine.kind", Kind::Str),
    ("engine.replay.capture_file", Kind::Str),
    ("buffered_outputs", Kind::Bool),
    ("output_timeout", Kind::UInt),
    ("outputs.rate", Kind::Number),
    ("outputs.max_burst", Kind::Number),
    ("outputs_queue.capacity", Kind::UInt),
    ("stdout_output.enabled", Kind::Bool),
    ("file_output.enabled", Kind::Bool),
    ("file_output.filename", Kind::Str),
    ("file_output.keep_alive", Kind::Bool),
    ("syslog_output.enabled", Kind::Bool),
    ("program_output.enabled", Kind::Bool),
    ("program_output.program", Kind::Str),
    ("program_output.keep_alive", Kind::Bool),
    ("http_output.enabled", Kind::Bool),
    ("http_output.url", Kind::Str),
    ("http_output.user_agent", Kind::Str),
    ("http_output.insecure", Kind::Bool),
    ("http_output.ca_cert", Kind::Str),
    ("http_output.ca_bundle", Kind::Str),
    ("http_output.ca_path", Kind::Str),
    ("http_output.mtls", Kind::Bool),
    ("http_output.client_cert", Kind::Str),
    ("http_output.client_key", Kind::Str),
    ("http_output.echo", Kind::Bool),
    ("http_output.compress_uploads", Kind::Bool),
    ("http_output.keep_alive", Kind::Bool),
    ("http_output.max_consecutive_timeouts", Kind::UInt),
];

fn wrong(path: &str, expected: &str) -> ConfigError {
    ConfigError(format!("config key '{path}': expected {expected}"))
}

/// Checks the type of every key in [`TYPED`] that the document holds.
pub fn check(tree: &Node) -> Result<(), ConfigError> {
    for (path, kind) in TYPED {
        let mut node = tree;
        let mut walked = String::new();
        let mut found = true;
        for key in path.split('.') {
            if node.is_null() {
                found = false;
                break;
            }
            if !node.is_map() {
                return Err(wrong(&walked, "a map"));
            }
            match node.get(key) {
                Some(n) => node = n,
                None => {
                    found = false;
                    break;
                }
            }
            if !walked.is_empty() {
                walked.push('.');
            }
            walked.push_str(key);
        }
        if found && !node.is_null() {
            check_value(path, node, *kind)?;
        }
    }
    Ok(())
}

fn check_value(path: &str, node: &Node, kind: Kind) -> Result<(), ConfigError> {
    let text = node.scalar();
    let ok = match kind {
        Kind::Bool => text.and_then(yaml::decode_bool).is_some(),
        Kind::UInt => text.is_some_and(|t| t.trim().parse::<u64>().is_ok()),
        Kind::Number => text.is_some_and(|t| t.trim().parse::<f64>().is_ok_and(f64::is_finite)),
        Kind::Str => text.is_some(),
        Kind::OneOf(words) => text.is_some_and(|t| words.contains(&t)),
        Kind::Paths => {
            text.is_some() || (node.is_seq() && node.items().iter().all(|i| i.scalar().is_some()))
        }
    };
    if ok {
        return Ok(());
    }
    Err(match kind {
        Kind::Bool => wrong(path, "true or false"),
        Kind::UInt => wrong(path, "a non-negative integer"),
        Kind::Number => wrong(path, "a number"),
        Kind::Str => wrong(path, "a string"),
        Kind::OneOf(words) => wrong(path, &format!("one of {}", words.join(", "))),
        Kind::Paths => wrong(path, "a path or a list of paths"),
    })
}

/// Top-level keys of the document that Falco does not know.
pub fn unknown_keys(tree: &Node) -> Vec<String> {
    tree.entries()
        .iter()
        .filter_map(|(k, _)| k.scalar())
        .filter(|k| !TOP_LEVEL.contains(k))
        .map(str::to_string)
        .collect()
}
