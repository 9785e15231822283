//! OutputsConfig from a key lookup.
use std::collections::HashMap;
use std::time::Duration;

use peregrine_outputs::{OutputError, Outputs, OutputsConfig};

fn from(pairs: &[(&str, &str)]) -> Result<OutputsConfig, OutputError> {
    let m: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    OutputsConfig::from_lookup(|k| m.get(k).cloned())
}

#[test]
fn falco_defaults() {
    let c = from(&[]).unwrap();
    assert_eq!(c, OutputsConfig::default());
    assert!(!c.json_output && !c.buffered_outputs);
    assert_eq!(c.output_timeout, Duration::from_millis(2000));
    assert_eq!((c.rate, c.max_burst), (0.0, 1000.0));
    assert!(c.stdout.enabled && c.syslog.enabled);
    assert!(!c.file.enabled && !c.file.keep_alive);
    assert_eq!(c.file.filename.to_str(), Some("./events.txt"));
    assert!(!c.program.enabled && !c.http.enabled);
    assert_eq!(c.http.user_agent, "falcosecurity/falco");
    assert_eq!(c.http.ca_path, "/etc/ssl/certs");
    assert_eq!(c.http.max_consecutive_timeouts, 5);
}

#[test]
fn keys_are_read() {
    let c = from(&[
        ("json_output", "true"),
        ("buffered_outputs", "true"),
        ("output_timeout", "500"),
        ("outputs.rate", ".5"),
        ("outputs.max_burst", "10"),
        ("outputs_queue.capacity", "128"),
        ("file_output.enabled", "true"),
        ("file_output.filename", "/tmp/falco_outputs/file_output.txt"),
        ("file_output.keep_alive", "true"),
        ("program_output.enabled", "true"),
        ("program_output.program", "cat >> /tmp/x.txt"),
        ("http_output.enabled", "true"),
        ("http_output.url", "'http://127.0.0.1:2801/'"),
        ("http_output.compress_uploads", "true"),
        ("http_output.mtls", "false"),
        ("http_output.max_consecutive_timeouts", "2"),
        ("syslog_output.enabled", "false"),
    ])
    .unwrap();
    assert!(c.json_output && c.buffered_outputs);
    assert_eq!(c.output_timeout, Duration::from_millis(500));
    assert_eq!((c.rate, c.max_burst, c.queue_capacity), (0.5, 10.0, 128));
    assert!(c.file.enabled && c.file.keep_alive);
    assert_eq!(c.program.program, "cat >> /tmp/x.txt");
    assert_eq!(c.http.url, "http://127.0.0.1:2801/");
    assert!(c.http.compress_uploads);
    assert_eq!(c.http.max_consecutive_timeouts, 2);
    assert!(!c.syslog.enabled);
    // Every key read is listed.
    assert!(OutputsConfig::KEYS.contains(&"http_output.compress_uploads"));
}

#[test]
fn wrong_types_name_the_key() {
    let e = from(&[("file_output.keep_alive", "maybe")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "file_output.keep_alive: 'maybe' is not a boolean"
    );
    let e = from(&[("output_timeout", "-1")]).unwrap_err();
    assert!(e.to_string().starts_with("output_timeout:"), "{e}");
    let e = from(&[("outputs.rate", "fast")]).unwrap_err();
    assert!(e.to_string().starts_with("outputs.rate:"), "{e}");
    let e = from(&[("program_output.enabled", "true")]).unwrap_err();
    assert!(e.to_string().starts_with("program_output.program:"), "{e}");
}

#[test]
fn bad_config_is_an_error_not_a_panic() {
    let c = OutputsConfig {
        rate: -1.0,
        ..Default::default()
    };
    assert!(Outputs::new(c).is_err());
    let mut c = OutputsConfig::default();
    c.stdout.enabled = false;
    c.syslog.enabled = false;
    c.queue_capacity = 0;
    // Zero capacity is taken as one: still bounded, still works.
    let o = Outputs::new(c).unwrap();
    o.send(common_alert());
    o.shutdown(Duration::from_secs(1));
}

fn common_alert() -> peregrine_outputs::AlertMessage {
    peregrine_outputs::AlertMessage {
        ts: 0,
        priority: peregrine_outputs::Priority::Debug,
        rule: String::new(),
        source: "syscall".into(),
        text: String::new(),
        json: String::new(),
    }
}
