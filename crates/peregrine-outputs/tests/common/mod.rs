//! Shared test helpers: alerts, waiting, a loopback HTTP(S) server and
//! test certificates.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use peregrine_outputs::{AlertMessage, OutputsConfig, Priority};

/// Alert number `i`: text `text <i>`, json `{"n":<i>}`.
pub fn alert(i: u64, priority: Priority) -> AlertMessage {
    AlertMessage {
        ts: 1_700_000_000_000_000_000 + i,
        priority,
        rule: "Test rule".into(),
        source: "syscall".into(),
        text: format!("12:00:00.000000000: {} text {i}", priority.name()),
        json: format!("{{\"n\":{i},\"priority\":\"{}\"}}", priority.name()),
    }
}

/// A config with every channel off.
pub fn quiet_config() -> OutputsConfig {
    let mut c = OutputsConfig::default();
    c.stdout.enabled = false;
    c.syslog.enabled = false;
    c.output_timeout = Duration::from_millis(2000);
    c
}

/// Polls `f` until it is true or `timeout` passes; returns its last value.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn read_lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Index of the connection it came on.
    pub conn: usize,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body, gunzipped when `Content-Encoding: gzip`.
    pub fn text(&self) -> String {
        if self.header("content-encoding") == Some("gzip") {
            let mut s = String::new();
            flate2::read::GzDecoder::new(&self.body[..])
                .read_to_string(&mut s)
                .expect("gzip body");
            s
        } else {
            String::from_utf8(self.body.clone()).expect("utf-8 body")
        }
    }
}

/// How the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// 200 at once.
    Ok,
    /// 200 after a pause.
    Delay(Duration),
    /// This status at once.
    Status(u16),
}

/// A loopback HTTP/1.1 server (TLS optional) recording requests.
pub struct Server {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Request>>>,
    pub behavior: Arc<Mutex<Behavior>>,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start(port: u16, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind loopback");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let behavior = Arc::new(Mutex::new(Behavior::Ok));
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (r, b, s, a) = (
            requests.clone(),
            behavior.clone(),
            stop.clone(),
            accepted.clone(),
        );
        let handle = std::thread::spawn(move || {
            let mut conn = 0usize;
            while !s.load(Ordering::Acquire) {
                match listener.accept() {
                    Ok((tcp, _)) => {
                        conn += 1;
                        a.fetch_add(1, Ordering::AcqRel);
                        let (r, b, s, tls) = (r.clone(), b.clone(), s.clone(), tls.clone());
                        std::thread::spawn(move || serve(tcp, conn, tls, r, b, s));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(1)),
                }
            }
        });
        Server {
            addr,
            requests,
            behavior,
            accepted,
            stop,
            handle: Some(handle),
        }
    }

    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}/alerts", self.addr.port())
    }

    pub fn set(&self, b: Behavior) {
        *self.behavior.lock().unwrap() = b;
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::Acquire)
    }

    /// Stops accepting (the port is closed: connections are refused).
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            h.join().unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn serve(
    tcp: TcpStream,
    conn: usize,
    tls: Option<Arc<rustls::ServerConfig>>,
    requests: Arc<Mutex<Vec<Request>>>,
    behavior: Arc<Mutex<Behavior>>,
    stop: Arc<AtomicBool>,
) {
    let _ = tcp.set_nonblocking(false);
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
    match tls {
        Some(cfg) => {
            let Ok(sc) = rustls::ServerConnection::new(cfg) else {
                return;
            };
            let stream = rustls::StreamOwned::new(sc, tcp);
            http_loop(stream, conn, &requests, &behavior, &stop);
        }
        None => http_loop(tcp, conn, &requests, &behavior, &stop),
    }
}

fn http_loop<S: Read + Write>(
    stream: S,
    conn: usize,
    requests: &Mutex<Vec<Request>>,
    behavior: &Mutex<Behavior>,
    stop: &AtomicBool,
) {
    let mut rd = BufReader::new(stream);
    while !stop.load(Ordering::Acquire) {
        let mut line = String::new();
        match rd.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if rd.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if rd.read_exact(&mut body).is_err() {
            return;
        }
        let close = headers
            .iter()
            .any(|(n, v)| n == "connection" && v.eq_ignore_ascii_case("close"));
        let b = *behavior.lock().unwrap();
        let status = match b {
            Behavior::Ok => 200,
            Behavior::Delay(d) => {
                std::thread::sleep(d);
                200
            }
            Behavior::Status(s) => s,
        };
        // Recorded once answered, so that a client that timed out first
        // and retried shows up twice only if the server really saw it twice.
        requests.lock().unwrap().push(Request {
            method,
            path,
            headers,
            body,
            conn,
        });
        let resp = format!("HTTP/1.1 {status} X\r\nContent-Length: 2\r\n\r\nok");
        let w = rd.get_mut();
        if w.write_all(resp.as_bytes())
            .and_then(|()| w.flush())
            .is_err()
            || close
        {
            return;
        }
    }
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, as
/// PEM files in `dir`.
pub struct Pki {
    pub ca_pem: String,
    pub server_chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    pub server_key: rustls::pki_types::PrivateKeyDer<'static>,
    pub ca_der: rustls::pki_types::CertificateDer<'static>,
    pub ca_file: std::path::PathBuf,
    pub client_cert_file: std::path::PathBuf,
    pub client_key_file: std::path::PathBuf,
}

pub fn pki(dir: &Path) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "peregrine test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let srv_key = KeyPair::generate().unwrap();
    let srv_params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let srv_cert = srv_params.signed_by(&srv_key, &issuer).unwrap();

    let cli_key = KeyPair::generate().unwrap();
    let mut cli_params = CertificateParams::new(vec!["client".to_string()]).unwrap();
    cli_params
        .distinguished_name
        .push(DnType::CommonName, "peregrine client");
    let cli_cert = cli_params.signed_by(&cli_key, &issuer).unwrap();

    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca_cert.pem()).unwrap();
    let client_cert_file = dir.join("client.crt");
    std::fs::write(&client_cert_file, cli_cert.pem()).unwrap();
    let client_key_file = dir.join("client.key");
    std::fs::write(&client_key_file, cli_key.serialize_pem()).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        server_chain: vec![srv_cert.der().clone()],
        server_key: rustls::pki_types::PrivateKeyDer::Pkcs8(srv_key.serialize_der().into()),
        ca_der: ca_cert.der().clone(),
        ca_file,
        client_cert_file,
        client_key_file,
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Server TLS config; with `require_client` the client must present a
/// certificate signed by the test CA.
pub fn server_tls(p: &Pki, require_client: bool) -> Arc<rustls::ServerConfig> {
    let b = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap();
    let b = if require_client {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(p.ca_der.clone()).unwrap();
        let v = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider(),
        )
        .build()
        .unwrap();
        b.with_client_cert_verifier(v)
    } else {
        b.with_no_client_auth()
    };
    Arc::new(
        b.with_single_cert(p.server_chain.clone(), p.server_key.clone_key())
            .unwrap(),
    )
}
