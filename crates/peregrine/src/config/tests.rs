//! Configuration loading: includes, `-o` overrides, unknown keys and
//! wrong types, with temporary files.

use super::*;

/// A temporary folder removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    /// A fresh directory; the counter keeps tests that run in parallel
    /// apart even when they pass the same name.
    fn new(name: &str) -> TempDir {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "peregrine-config-{}-{n}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn load(path: &Path, opts: &[&str]) -> Result<Config, ConfigError> {
    let opts: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
    Config::load(Some(path), &opts)
}

#[test]
fn options_override_nested_keys_and_lists() {
    let c = load(
        Path::new("/dev/null"),
        &[
            "json_output=true",
            "engine.replay.capture_file=/tmp/x.scap",
            "rules_files[0]=/a.yaml",
            "rules_files[1]=/b.yaml",
            "rules_files[]=/c.yaml",
        ],
    )
    .unwrap();
    assert!(c.json_output);
    assert_eq!(c.replay_capture_file, Some(PathBuf::from("/tmp/x.scap")));
    assert_eq!(
        c.rules_files,
        [
            PathBuf::from("/a.yaml"),
            PathBuf::from("/b.yaml"),
            PathBuf::from("/c.yaml")
        ]
    );
}

#[test]
fn option_values_stay_strings_unless_braced() {
    let c = load(
        Path::new("/dev/null"),
        &[
            "program_output.program=jq '{text: .output}'",
            "append_output={match: {source: syscall}}",
        ],
    )
    .unwrap();
    assert_eq!(
        c.lookup("program_output.program").as_deref(),
        Some("jq '{text: .output}'")
    );
    assert_eq!(
        c.lookup("append_output.match.source").as_deref(),
        Some("syscall")
    );
}

#[test]
fn list_items_and_appends_on_file_lists() {
    let t = TempDir::new("lists");
    let main = t.write("falco.yaml", "rules_files:\n  - /r1.yaml\n  - /r2.yaml\n");
    let c = load(&main, &["rules_files[1]=/x.yaml", "rules_files[]=/y.yaml"]).unwrap();
    assert_eq!(
        c.rules_files,
        [
            PathBuf::from("/r1.yaml"),
            PathBuf::from("/x.yaml"),
            PathBuf::from("/y.yaml")
        ]
    );
    assert!(load(&main, &["rules_files[5]=/z.yaml"]).is_err());
}

#[test]
fn config_files_merge_in_order_with_strategies() {
    let t = TempDir::new("includes");
    let d = t.0.display();
    let main = t.write(
        "falco.yaml",
        &format!(
            "rules_files: [/main.yaml]\njson_output: false\npriority: debug\nconfig_files:\n  \
             - {d}/one.yaml\n  - path: {d}/conf.d\n    strategy: override\n  \
             - path: {d}/late.yaml\n    strategy: add-only\n  - {d}/missing.yaml\n"
        ),
    );
    t.write("one.yaml", "rules_files: [/one.yaml]\njson_output: true\n");
    // A folder: files in name order, the later one winning.
    t.write("conf.d/b.yaml", "priority: error\n");
    t.write("conf.d/a.yaml", "priority: warning\nlog_level: notice\n");
    t.write(
        "late.yaml",
        "priority: critical\ntime_format_iso_8601: true\n",
    );
    let c = load(&main, &[]).unwrap();
    // append: lists grow, scalars are replaced.
    assert_eq!(
        c.rules_files,
        [PathBuf::from("/main.yaml"), PathBuf::from("/one.yaml")]
    );
    assert!(c.json_output);
    assert_eq!(c.priority, "error");
    assert_eq!(c.log_level, "notice");
    // add-only: existing keys kept, new ones added.
    assert!(c.time_format_iso_8601);
    assert_eq!(c.sources.files.len(), 5, "{:?}", c.sources.files);
    // -o applies after the includes.
    let c = load(&main, &["priority=notice"]).unwrap();
    assert_eq!(c.priority, "notice");
}

#[test]
fn config_files_from_an_option_and_include_errors() {
    let t = TempDir::new("include-errors");
    let main = t.write("falco.yaml", "json_output: false\n");
    let extra = t.write("extra.yaml", "json_output: true\n");
    let opt = format!("config_files[]={}", extra.display());
    assert!(load(&main, &[&opt]).unwrap().json_output);

    let nested = t.write("nested.yaml", "config_files: [/x.yaml]\n");
    let opt = format!("config_files={}", nested.display());
    let err = load(&main, &[&opt]).unwrap_err();
    assert!(err.0.contains("included config file"), "{err}");

    let opt = format!("config_files={}", main.display());
    let err = load(&main, &[&opt]).unwrap_err();
    assert!(err.0.contains("recursively include"), "{err}");

    let err = load(
        &main,
        &["config_files[0].path=/x", "config_files[0].strategy=merge"],
    )
    .unwrap_err();
    assert!(err.0.contains("config_files[0].strategy"), "{err}");
}

#[test]
fn unknown_top_level_keys_are_warned_with_their_file() {
    let t = TempDir::new("unknown");
    let main = t.write("falco.yaml", "json_output: true\nfrobnicate: 3\n");
    let c = load(&main, &["also_unknown.x=1"]).unwrap();
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    assert!(c.warnings[0].contains("'frobnicate'"));
    assert!(c.warnings[0].contains("falco.yaml"));
    assert!(c.warnings[1].contains("'also_unknown'"));
    assert!(c.warnings[1].contains("-o also_unknown.x=1"));
}

#[test]
fn wrong_types_are_rejected_with_the_key_path() {
    let t = TempDir::new("types");
    let cases = [
        (
            "outputs:\n  rate: fast\n",
            "config key 'outputs.rate': expected a number",
        ),
        ("outputs: 3\n", "config key 'outputs': expected a map"),
        (
            "json_output: maybe\n",
            "config key 'json_output': expected true or false",
        ),
        (
            "output_timeout: -1\n",
            "config key 'output_timeout': expected a non-negative integer",
        ),
        (
            "log_level: loud\n",
            "config key 'log_level': expected one of emergency",
        ),
        (
            "file_output:\n  filename: [a, b]\n",
            "config key 'file_output.filename': expected a string",
        ),
        (
            "rules_files:\n  - {a: 1}\n",
            "config key 'rules_files': expected a path or a list",
        ),
        (
            "watch_config_files: often\n",
            "config key 'watch_config_files'",
        ),
    ];
    for (text, expected) in cases {
        let p = t.write("falco.yaml", text);
        let err = load(&p, &[]).unwrap_err();
        assert!(err.0.contains(expected), "{text}: {err}");
    }
    let err = load(Path::new("/dev/null"), &["http_output.insecure=perhaps"]).unwrap_err();
    assert!(err.0.contains("'http_output.insecure'"), "{err}");
}

#[test]
fn bad_options_and_files() {
    let null = Path::new("/dev/null");
    assert!(load(null, &["novalue"]).is_err());
    assert!(load(null, &["a[x]=1"]).is_err());
    assert!(load(null, &["a[5]=1"]).is_err());
    assert!(load(Path::new("/nonexistent.yaml"), &[]).is_err());
    let t = TempDir::new("syntax");
    let p = t.write("falco.yaml", "a: [1, 2\n");
    let err = load(&p, &[]).unwrap_err();
    assert!(err.0.contains("falco.yaml:"), "{err}");
}

#[test]
fn logging_keys_default_as_falco() {
    let c = load(Path::new("/dev/null"), &[]).unwrap();
    assert_eq!(c.log_level, "info");
    assert!(c.log_syslog);
    assert!(c.watch_config_files);
}

#[test]
fn lists_read_back_as_lists() {
    let dir = TempDir::new("list-lookups");
    let file = dir.write(
        "falco.yaml",
        "syscall_event_drops:\n  actions: [log, alert]\nbase_syscalls:\n  custom_set: read\n",
    );
    let c = load(&file, &["base_syscalls.all=true"]).unwrap();
    assert_eq!(
        c.lookup_list("syscall_event_drops.actions"),
        Some(vec!["log".to_string(), "alert".to_string()])
    );
    assert_eq!(
        c.lookup_list("base_syscalls.custom_set"),
        Some(vec!["read".to_string()])
    );
    assert_eq!(c.lookup_list("base_syscalls.missing"), None);
    assert_eq!(c.lookup("base_syscalls.all").as_deref(), Some("true"));
}

#[test]
fn append_output_entries_read_as_falco_documents_them() {
    let t = TempDir::new("append");
    let main = t.write(
        "falco.yaml",
        r#"
append_output:
  - suggested_output: true
  - match:
      source: syscall
      tags: [b, a]
      rule: Some rule
    extra_output: "on CPU %evt.cpu"
    extra_fields:
      - home_directory: "${HOME}"
      - evt.hostname
  - extra_output: plain
"#,
    );
    let c = load(&main, &[]).unwrap();
    let e = &c.append_output;
    assert_eq!(e.len(), 3, "{e:?}");
    assert_eq!(e[0], AppendOutput::default());
    assert_eq!(e[1].matches.source.as_deref(), Some("syscall"));
    assert_eq!(e[1].matches.rule.as_deref(), Some("Some rule"));
    let tags: Vec<&str> = e[1].matches.tags.iter().map(String::as_str).collect();
    assert_eq!(tags, ["a", "b"]);
    assert_eq!(e[1].extra_output.as_deref(), Some("on CPU %evt.cpu"));
    assert_eq!(
        e[1].extra_fields,
        [
            peregrine_engine::ExtraField::Formatted {
                key: "home_directory".into(),
                format: "${HOME}".into()
            },
            peregrine_engine::ExtraField::Raw("evt.hostname".into()),
        ]
    );
    assert_eq!(e[2], AppendOutput::everywhere("plain"));
    // Rule and tags together: Falco's warning.
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(c.warnings[0].contains("append_output[1]") && c.warnings[0].contains("Some rule"));
}

#[test]
fn append_output_from_options() {
    let c = load(
        Path::new("/dev/null"),
        &[
            "append_output=[{match: {rule: r1}, extra_output: one}]",
            "append_output[].extra_output=two",
            "append_output[1].extra_fields[]=proc.name",
        ],
    )
    .unwrap();
    let e = &c.append_output;
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!(e[0].matches.rule.as_deref(), Some("r1"));
    assert_eq!(e[0].extra_output.as_deref(), Some("one"));
    assert_eq!(e[1].extra_output.as_deref(), Some("two"));
    assert_eq!(
        e[1].extra_fields,
        [peregrine_engine::ExtraField::Raw("proc.name".into())]
    );
    // A lone map is one entry.
    let c = load(Path::new("/dev/null"), &["append_output={extra_output: x}"]).unwrap();
    assert_eq!(c.append_output, [AppendOutput::everywhere("x")]);
    assert!(
        load(Path::new("/dev/null"), &[])
            .unwrap()
            .append_output
            .is_empty()
    );
}

#[test]
fn bad_append_output_entries_are_errors_naming_the_entry() {
    let cases = [
        ("append_output=text", "'append_output'"),
        ("append_output=[42]", "'append_output[0]'"),
        ("append_output=[{match: [a]}]", "'append_output[0].match'"),
        (
            "append_output=[{match: {tags: a}}]",
            "'append_output[0].match.tags'",
        ),
        (
            "append_output=[{match: {tags: [[a]]}}]",
            "'append_output[0].match.tags'",
        ),
        (
            "append_output=[{match: {source: {a: b}}}]",
            "'append_output[0].match.source'",
        ),
        (
            "append_output=[{extra_output: [a]}]",
            "'append_output[0].extra_output'",
        ),
        (
            "append_output=[{extra_fields: proc.name}]",
            "'append_output[0].extra_fields'",
        ),
        (
            "append_output=[{extra_fields: [{a: x, b: y}]}]",
            "'append_output[0].extra_fields[0]'",
        ),
        (
            "append_output=[{extra_fields: [{a: [x]}]}]",
            "'append_output[0].extra_fields[0]'",
        ),
        (
            "append_output=[{suggested_output: maybe}]",
            "'append_output[0].suggested_output'",
        ),
        (
            "append_output=[{}, {extra_fields: [nosuch.field]}]",
            "'append_output[1]': extra field 'nosuch.field': unknown field",
        ),
        (
            "append_output=[{extra_fields: [{k: '%nosuch'}]}]",
            "'append_output[0]': extra field 'k'",
        ),
        (
            "append_output=[{extra_output: 'x %nosuch'}]",
            "'append_output[0]': extra_output",
        ),
        (
            "append_output=[{extra_fields: [{k: a}, {k: b}]}]",
            "defined twice",
        ),
    ];
    for (opt, expected) in cases {
        match load(Path::new("/dev/null"), &[opt]) {
            Ok(c) => panic!("{opt}: accepted as {:?}", c.append_output),
            Err(e) => assert!(e.0.contains(expected), "{opt}: {e}"),
        }
    }
}

#[test]
fn unknown_keys_in_append_output_are_warned() {
    let c = load(
        Path::new("/dev/null"),
        &["append_output=[{extra_ouput: x, match: {rules: y}}]"],
    )
    .unwrap();
    assert_eq!(c.append_output, [AppendOutput::default()]);
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    assert!(c.warnings[0].contains("'append_output[0].extra_ouput'"));
    assert!(c.warnings[1].contains("'append_output[0].match.rules'"));
}
