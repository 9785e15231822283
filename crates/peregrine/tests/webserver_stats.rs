//! The web server, `-s` stats samples and metrics snapshots, against the
//! real binary: a long synthetic capture keeps peregrine busy while
//! /healthz and /metrics are fetched over 127.0.0.1.

mod common;

use common::{peregrine, shared, tempdir};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn webserver_stats_file_and_metrics_while_processing() {
    let dir = tempdir("web");
    let capture = dir.path().join("long.scap");
    let trace = shared().join("falco-regression/trace_files/cat_write.scap");
    let ok = peregrine()
        .args(["synth", "-o"])
        .arg(&capture)
        .args(["--events", "4000000"])
        .arg(&trace)
        .status()
        .unwrap();
    assert!(ok.success());
    let stats = dir.path().join("stats.json");
    let metrics_file = dir.path().join("metrics.json");
    let mut child = peregrine()
        .env("FALCO_STATS_EXTRA_variant", "test")
        .arg("-r")
        .arg(shared().join("falco-regression/rules/single_rule.yaml"))
        .args(["-D", "open_from_cat"]) // only metrics alerts on stdout
        .args(["-c", "/dev/null", "-o", "json_output=true"])
        .args(["-o", "syslog_output.enabled=false"])
        .args([
            "-o",
            "webserver.enabled=true",
            "-o",
            "webserver.listen_port=0",
        ])
        .args(["-o", "webserver.prometheus_metrics_enabled=true"])
        .args(["-o", "metrics.enabled=true", "-o", "metrics.interval=200ms"])
        .args(["-o", "metrics.output_rule=true"])
        .arg("-o")
        .arg(format!("metrics.output_file={}", metrics_file.display()))
        .arg("-s")
        .arg(&stats)
        .args(["--stats-interval", "100"])
        .arg("-e")
        .arg(&capture)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The port from the "listening on 127.0.0.1:PORT" log line.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut port = None;
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        if let Some(rest) = line.trim().rsplit_once("listening on 127.0.0.1:") {
            port = rest.1.parse::<u16>().ok();
            break;
        }
        line.clear();
    }
    let port = port.expect("webserver log line with the port");
    let health = get(port, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200 OK\r\n"), "{health}");
    assert!(health.ends_with("{\"status\": \"ok\"}"), "{health}");
    // Wait for the event loop's first published snapshot.
    let deadline = Instant::now() + Duration::from_secs(20);
    let metrics = loop {
        let m = get(port, "/metrics");
        if m.contains("falcosecurity_falco_events_processed_total") || Instant::now() > deadline {
            break m;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(metrics.starts_with("HTTP/1.1 200 OK\r\n"), "{metrics}");
    assert!(metrics.contains("# TYPE falcosecurity_falco_events_processed_total counter"));
    let processed: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("falcosecurity_falco_events_processed_total "))
        .and_then(|v| v.parse().ok())
        .expect("events processed");
    assert!(processed > 0);
    assert!(metrics.contains("falcosecurity_falco_memory_rss_bytes "));
    assert!(get(port, "/other").starts_with("HTTP/1.1 404"));
    // Keep standard error drained; read standard output as it comes.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for l in stdout.lines().map_while(Result::ok) {
            let _ = lines_tx.send(l);
        }
    });
    // Wait for a -s sample, a metrics line and the metrics alert: the
    // alert goes through the stdout channel's own thread, so it can come
    // after the file line.
    let has_line = |p: &std::path::Path| std::fs::read_to_string(p).is_ok_and(|t| t.contains('\n'));
    let mut out = String::new();
    let snapshot = |out: &str| out.contains("Falco internal: metrics snapshot");
    while !(has_line(&stats) && has_line(&metrics_file) && snapshot(&out))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
        for l in lines.try_iter() {
            out.push_str(&l);
            out.push('\n');
        }
    }
    let _ = child.kill();
    let _ = child.wait();

    // -s: one JSON line per sample, numbered, with the extra key.
    let text = std::fs::read_to_string(&stats).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["sample"], 0);
    assert_eq!(first["variant"], "test");
    assert!(first["cur"]["events"].as_u64().unwrap() > 0);
    assert_eq!(first["cur"]["drops"], 0);
    assert_eq!(first["delta"]["drop_pct"], 0.0);
    // Metrics snapshots: alerts on stdout and lines in the file.
    let alert = out
        .lines()
        .find(|l| l.contains("Falco internal: metrics snapshot"))
        .expect("metrics snapshot alert on stdout");
    let alert: serde_json::Value = serde_json::from_str(alert).unwrap();
    assert_eq!(alert["source"], "internal");
    assert_eq!(alert["priority"], "Informational");
    assert!(alert["output_fields"]["falco.events_processed"].is_string());
    let snap = std::fs::read_to_string(&metrics_file).unwrap();
    assert!(snap.contains("Falco internal: metrics snapshot"), "{snap}");
}

#[test]
fn bad_metrics_and_webserver_settings_stop_with_an_error() {
    let run = |opts: &[&str]| {
        let mut cmd = peregrine();
        cmd.arg("-r")
            .arg(shared().join("falco-regression/rules/single_rule.yaml"))
            .args(["-c", "/dev/null"]);
        for o in opts {
            cmd.args(["-o", o]);
        }
        cmd.arg("-e")
            .arg(shared().join("falco-regression/trace_files/cat_write.scap"));
        cmd.output().unwrap()
    };
    let o = run(&["metrics.enabled=true", "metrics.interval=1s"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no output configured"));
    let o = run(&["webserver.enabled=true", "webserver.listen_address=x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not a valid IP address"));
}
