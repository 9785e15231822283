//! http_output against a loopback HTTP(S) server.
mod common;

use std::time::{Duration, Instant};

use common::*;
use peregrine_outputs::{Outputs, OutputsConfig, Priority};

const T: Duration = Duration::from_secs(20);

fn http_config(url: String) -> OutputsConfig {
    let mut c = quiet_config();
    c.http.enabled = true;
    c.http.url = url;
    c.http.ca_path = String::new();
    c.retry_backoff = Duration::from_millis(20);
    c
}

#[test]
fn posts_json_with_headers() {
    let server = Server::start(0, None);
    let mut c = http_config(server.url("http"));
    c.json_output = true;
    c.http.user_agent = "peregrine-test/1".into();
    c.http.keep_alive = true;
    let o = Outputs::new(c).unwrap();
    for i in 0..5 {
        o.send(alert(i, Priority::Critical));
    }
    let r = o.shutdown(T);
    let h = r.stats.channel("http").unwrap();
    assert_eq!((h.sent, h.delivered, h.failed), (5, 5, 0));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 5);
    for (i, q) in reqs.iter().enumerate() {
        assert_eq!(q.method, "POST");
        assert_eq!(q.path, "/alerts");
        assert_eq!(q.header("content-type"), Some("application/json"));
        assert_eq!(q.header("user-agent"), Some("peregrine-test/1"));
        assert_eq!(q.header("content-encoding"), None);
        assert_eq!(q.text(), format!(r#"{{"n":{i},"priority":"Critical"}}"#));
    }
    // keep_alive: one connection for all.
    assert!(reqs.iter().all(|q| q.conn == reqs[0].conn));
}

#[test]
fn text_mode_gzip_and_one_connection_per_alert() {
    let server = Server::start(0, None);
    let mut c = http_config(server.url("http"));
    c.http.compress_uploads = true;
    c.http.keep_alive = false;
    let o = Outputs::new(c).unwrap();
    for i in 0..3 {
        o.send(alert(i, Priority::Notice));
    }
    o.shutdown(T);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    for (i, q) in reqs.iter().enumerate() {
        assert_eq!(q.header("content-type"), Some("text/plain"));
        assert_eq!(q.header("content-encoding"), Some("gzip"));
        assert_eq!(q.header("user-agent"), Some("falcosecurity/falco"));
        assert_eq!(q.text(), format!("12:00:00.000000000: Notice text {i}"));
    }
    let mut conns: Vec<usize> = reqs.iter().map(|q| q.conn).collect();
    conns.dedup();
    assert_eq!(conns.len(), 3);
}

/// Sends `n` alerts with `keep_alive` and returns the TCP connections the
/// server accepted and the requests it got.
fn post_alerts(n: u64, keep_alive: bool) -> (usize, Vec<Request>) {
    let server = Server::start(0, None);
    let mut c = http_config(server.url("http"));
    c.http.keep_alive = keep_alive;
    let o = Outputs::new(c).unwrap();
    for i in 0..n {
        o.send(alert(i, Priority::Warning));
    }
    let h = o.shutdown(T).stats.channel("http").unwrap().clone();
    assert_eq!((h.delivered, h.failed), (n, 0), "{h}");
    (server.connections(), server.requests())
}

#[test]
fn keep_alive_reuses_one_connection_otherwise_one_per_alert() {
    let (conns, reqs) = post_alerts(6, true);
    assert_eq!(conns, 1);
    assert_eq!(reqs.len(), 6);
    assert!(reqs.iter().all(|q| q.header("connection").is_none()));

    let (conns, reqs) = post_alerts(6, false);
    assert_eq!(conns, 6);
    assert_eq!(reqs.len(), 6);
    // The client asks the server to close too.
    assert!(reqs.iter().all(|q| q.header("connection") == Some("close")));
}

#[test]
fn client_error_fails_at_once_server_error_is_retried() {
    let server = Server::start(0, None);
    let mut c = http_config(server.url("http"));
    c.http.max_consecutive_timeouts = 2;
    let o = Outputs::new(c).unwrap();
    server.set(Behavior::Status(400));
    o.send(alert(1, Priority::Warning));
    assert!(wait_until(T, || o.stats().channel("http").unwrap().failed == 1));
    assert_eq!(server.count(), 1);
    server.set(Behavior::Status(503));
    o.send(alert(2, Priority::Warning));
    assert!(wait_until(T, || o.stats().channel("http").unwrap().failed == 2));
    assert_eq!(server.count(), 1 + 3);
    let r = o.shutdown(T);
    let h = r.stats.channel("http").unwrap();
    assert_eq!((h.delivered, h.failed, h.retries), (0, 2, 2));
}

#[test]
fn server_down_then_slow_then_back() {
    let server = Server::start(0, None);
    let port = server.addr.port();
    let url = server.url("http");
    server.stop();
    // Down: connections refused.
    let mut c = http_config(url);
    c.output_timeout = Duration::from_millis(300);
    c.http.max_consecutive_timeouts = 3;
    c.retry_backoff = Duration::from_millis(50);
    let o = Outputs::new(c).unwrap();
    o.send(alert(1, Priority::Error));
    assert!(wait_until(T, || o.stats().channel("http").unwrap().failed == 1));
    assert_eq!(o.stats().channel("http").unwrap().retries, 3);

    // Back, but slow: the first attempts time out (300 ms) and are retried.
    let server = Server::start(port, None);
    server.set(Behavior::Delay(Duration::from_millis(500)));
    let t0 = Instant::now();
    o.send(alert(2, Priority::Error));
    std::thread::sleep(Duration::from_millis(450));
    // Recovered while alert 2 is still being retried.
    server.set(Behavior::Ok);
    assert!(wait_until(T, || o
        .stats()
        .channel("http")
        .unwrap()
        .delivered
        == 1));
    assert!(t0.elapsed() >= Duration::from_millis(300));
    let s = o.stats();
    let h = s.channel("http").unwrap();
    assert!(h.retries >= 4, "{h}");
    assert!(h.timeouts >= 1, "slow delivery reported: {h}");

    // Back to normal.
    for i in 3..13 {
        o.send(alert(i, Priority::Error));
    }
    let r = o.shutdown(T);
    let h = r.stats.channel("http").unwrap();
    assert_eq!(
        (h.sent, h.delivered, h.failed, h.dropped, h.lost),
        (12, 11, 1, 0, 0),
        "{h}"
    );
    let texts: Vec<String> = server.requests().iter().map(|q| q.text()).collect();
    for i in 3..13 {
        assert!(texts.contains(&format!("12:00:00.000000000: Error text {i}")));
    }
    assert!(texts.iter().any(|t| t.ends_with("text 2")));
}

#[test]
fn slow_endpoint_does_not_hold_up_other_channels() {
    let server = Server::start(0, None);
    server.set(Behavior::Delay(Duration::from_millis(200)));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.txt");
    let mut c = http_config(server.url("http"));
    c.queue_capacity = 4;
    c.file.enabled = true;
    c.file.filename = path.clone();
    let o = Outputs::new(c).unwrap();
    let mut slowest = Duration::ZERO;
    for i in 0..200 {
        let t0 = Instant::now();
        o.send(alert(i, Priority::Debug));
        slowest = slowest.max(t0.elapsed());
        // Paced so that the file channel keeps up with its small queue.
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(
        slowest < Duration::from_millis(50),
        "send blocked {slowest:?}"
    );
    assert!(wait_until(T, || read_lines(&path).len() == 200));
    let r = o.shutdown(Duration::from_millis(100));
    let h = r.stats.channel("http").unwrap();
    assert!(h.dropped > 150, "{h}");
    assert_eq!(h.accounted(), 200, "{h}");
    assert_eq!(r.stats.channel("file").unwrap().delivered, 200);
}

#[test]
fn https_with_ca_cert_and_insecure() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let server = Server::start(0, Some(server_tls(&pki, false)));

    // Trusted through ca_cert.
    let mut c = http_config(server.url("https"));
    c.http.ca_cert = pki.ca_file.display().to_string();
    let o = Outputs::new(c).unwrap();
    o.send(alert(1, Priority::Alert));
    let h = o.shutdown(T).stats.channel("http").unwrap().clone();
    assert_eq!((h.delivered, h.failed), (1, 0), "{h}");

    // Same through ca_bundle.
    let mut c = http_config(server.url("https"));
    c.http.ca_bundle = pki.ca_file.display().to_string();
    let o = Outputs::new(c).unwrap();
    o.send(alert(2, Priority::Alert));
    assert_eq!(o.shutdown(T).stats.channel("http").unwrap().delivered, 1);

    // Same through ca_path (a folder of PEM files).
    let cadir = dir.path().join("cas");
    std::fs::create_dir(&cadir).unwrap();
    std::fs::write(cadir.join("test.pem"), &pki.ca_pem).unwrap();
    let mut c = http_config(server.url("https"));
    c.http.ca_path = cadir.display().to_string();
    let o = Outputs::new(c).unwrap();
    o.send(alert(3, Priority::Alert));
    assert_eq!(o.shutdown(T).stats.channel("http").unwrap().delivered, 1);

    // Untrusted: not delivered, not retried (a certificate error is final).
    let c = http_config(server.url("https"));
    let o = Outputs::new(c).unwrap();
    o.send(alert(4, Priority::Alert));
    let h = o.shutdown(T).stats.channel("http").unwrap().clone();
    assert_eq!((h.delivered, h.failed, h.retries), (0, 1, 0), "{h}");

    // insecure: accepted without verification.
    let mut c = http_config(server.url("https"));
    c.http.insecure = true;
    let o = Outputs::new(c).unwrap();
    o.send(alert(5, Priority::Alert));
    assert_eq!(o.shutdown(T).stats.channel("http").unwrap().delivered, 1);

    let texts: Vec<String> = server.requests().iter().map(|q| q.text()).collect();
    assert_eq!(texts.len(), 4);
    assert!(!texts.iter().any(|t| t.ends_with("text 4")));
}

#[test]
fn mutual_tls() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let server = Server::start(0, Some(server_tls(&pki, true)));

    let mut c = http_config(server.url("https"));
    c.http.ca_cert = pki.ca_file.display().to_string();
    c.http.mtls = true;
    c.http.client_cert = pki.client_cert_file.display().to_string();
    c.http.client_key = pki.client_key_file.display().to_string();
    let o = Outputs::new(c).unwrap();
    o.send(alert(1, Priority::Alert));
    let h = o.shutdown(T).stats.channel("http").unwrap().clone();
    assert_eq!((h.delivered, h.failed), (1, 0), "{h}");
    assert_eq!(server.count(), 1);

    // Without the client certificate the server refuses.
    let mut c = http_config(server.url("https"));
    c.http.ca_cert = pki.ca_file.display().to_string();
    c.http.max_consecutive_timeouts = 0;
    let o = Outputs::new(c).unwrap();
    o.send(alert(2, Priority::Alert));
    let h = o.shutdown(T).stats.channel("http").unwrap().clone();
    assert_eq!((h.delivered, h.failed), (0, 1), "{h}");
    assert_eq!(server.count(), 1);
}

#[test]
fn bad_tls_files_are_config_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = http_config("https://127.0.0.1:1/".into());
    c.http.ca_cert = dir.path().join("missing.pem").display().to_string();
    let e = Outputs::new(c).err().expect("error");
    assert!(e.to_string().contains("ca_cert"), "{e}");

    let mut c = http_config("https://127.0.0.1:1/".into());
    c.http.mtls = true;
    c.http.client_cert = dir.path().join("none.crt").display().to_string();
    let e = Outputs::new(c).err().expect("error");
    assert!(e.to_string().contains("client_cert"), "{e}");

    let c = http_config("ftp://x/".into());
    assert!(Outputs::new(c).is_err());
}
