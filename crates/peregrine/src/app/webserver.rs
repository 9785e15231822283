//! The `webserver` section: `GET /healthz` (or `k8s_healthz_endpoint`)
//! answers `{"status": "ok"}`, and with `prometheus_metrics_enabled`
//! `GET /metrics` answers the latest [`Snapshot`](super::stats::Snapshot)
//! in Prometheus text format.
//!
//! A `std::net::TcpListener` on its own thread, one request per
//! connection (HTTP/1.1 with `Connection: close`). It only reads the
//! snapshot the event loop publishes, so it never blocks event processing;
//! a slow client holds at most this thread, for at most the socket timeout.

use super::{App, Flow};
use crate::config::Config;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// How long a client may take to send its request or read the answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);

/// The `webserver` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebConfig {
    /// Address and port to listen on.
    pub addr: SocketAddr,
    /// Path of the health endpoint.
    pub healthz: String,
    /// Serve `/metrics`.
    pub prometheus: bool,
}

impl WebConfig {
    /// Reads `webserver.*`; `None` when disabled.
    ///
    /// `listen_address` defaults to 127.0.0.1, unlike Falco's 0.0.0.0:
    /// nothing listens beyond loopback unless the operator asks for it.
    pub fn from_config(config: &Config) -> Result<Option<WebConfig>, String> {
        let flag = |key: &str, default: bool| -> Result<bool, String> {
            match config.lookup(key) {
                None => Ok(default),
                Some(v) => peregrine_rules::yaml::decode_bool(&v)
                    .ok_or_else(|| format!("config key '{key}': expected true or false")),
            }
        };
        if !flag("webserver.enabled", false)? {
            return Ok(None);
        }
        if flag("webserver.ssl_enabled", false)? {
            return Err("webserver.ssl_enabled is not supported yet".into());
        }
        let address = config
            .lookup("webserver.listen_address")
            .unwrap_or_else(|| "127.0.0.1".into());
        let ip: IpAddr = address.trim().parse().map_err(|_| {
            format!("webserver listen address \"{address}\" is not a valid IP address")
        })?;
        let port = match config.lookup("webserver.listen_port") {
            None => 8765,
            Some(p) => p.trim().parse::<u16>().map_err(|_| {
                format!("config key 'webserver.listen_port': expected a port number, got '{p}'")
            })?,
        };
        let healthz = config
            .lookup("webserver.k8s_healthz_endpoint")
            .unwrap_or_else(|| "/healthz".into());
        Ok(Some(WebConfig {
            addr: SocketAddr::new(ip, port),
            healthz,
            prometheus: flag("webserver.prometheus_metrics_enabled", false)?,
        }))
    }
}

/// Step: starts the web server when `webserver.enabled` (after the rules
/// are loaded, before events are processed, as Falco does).
pub fn start_webserver(app: &mut App) -> Result<Flow, String> {
    if app.args.dry_run {
        return Ok(Flow::Next);
    }
    let config = app.config.as_ref().ok_or("configuration not loaded")?;
    let Some(web) = WebConfig::from_config(config)? else {
        return Ok(Flow::Next);
    };
    let listener = start(&web)?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    super::drops::log_at(
        config,
        6,
        &format!("Starting health webserver with threadiness 1, listening on {local}"),
    );
    Ok(Flow::Next)
}

/// Binds and serves on a detached thread; returns a clone of the listener
/// (for its address).
pub fn start(web: &WebConfig) -> Result<TcpListener, String> {
    let listener = TcpListener::bind(web.addr)
        .map_err(|e| format!("webserver: could not listen on {}: {e}", web.addr))?;
    let handle = listener.try_clone().map_err(|e| e.to_string())?;
    let web = web.clone();
    std::thread::Builder::new()
        .name("webserver".into())
        .spawn(move || {
            for stream in listener.incoming() {
                match stream {
                    Ok(s) => {
                        if let Err(e) = serve(s, &web) {
                            let _ = e; // a client that hangs up or times out
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        })
        .map_err(|e| format!("webserver: could not start its thread: {e}"))?;
    Ok(handle)
}

/// Answers one request.
fn serve(stream: TcpStream, web: &WebConfig) -> std::io::Result<()> {
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // Skip the headers (bounded).
    for _ in 0..100 {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
    }
    let mut parts = request.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("");
    let path = target.split('?').next().unwrap_or("");
    let (status, kind, body) = if method != "GET" && method != "HEAD" {
        (
            "405 Method Not Allowed",
            "text/plain",
            "method not allowed\n".to_string(),
        )
    } else if path == web.healthz {
        (
            "200 OK",
            "application/json",
            "{\"status\": \"ok\"}".to_string(),
        )
    } else if web.prometheus && path == "/metrics" {
        let snap = super::stats::shared().lock().ok().and_then(|s| s.clone());
        let body = match snap {
            Some(s) => s.prometheus(),
            None => String::new(),
        };
        ("200 OK", "text/plain; version=0.0.4", body)
    } else {
        ("404 Not Found", "text/plain", "not found\n".to_string())
    };
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if method != "HEAD" {
        out.write_all(body.as_bytes())?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn config(opts: &[&str]) -> Config {
        let opts: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
        Config::load(Some(std::path::Path::new("/dev/null")), &opts).unwrap()
    }

    #[test]
    fn loopback_by_default_and_bad_settings_rejected() {
        assert_eq!(WebConfig::from_config(&config(&[])), Ok(None));
        let w = WebConfig::from_config(&config(&["webserver.enabled=true"]))
            .unwrap()
            .unwrap();
        assert_eq!(w.addr, "127.0.0.1:8765".parse().unwrap());
        assert!(
            WebConfig::from_config(&config(&[
                "webserver.enabled=true",
                "webserver.listen_address=nope"
            ]))
            .is_err()
        );
        assert!(
            WebConfig::from_config(&config(&[
                "webserver.enabled=true",
                "webserver.listen_port=99999"
            ]))
            .is_err()
        );
    }

    #[test]
    fn healthz_and_unknown_paths() {
        let web = WebConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            healthz: "/healthz".into(),
            prometheus: true,
        };
        let addr = start(&web).unwrap().local_addr().unwrap();
        let get = |path: &str| {
            let mut s = TcpStream::connect(addr).unwrap();
            write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out
        };
        let r = get("/healthz");
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(r.ends_with("\r\n\r\n{\"status\": \"ok\"}"), "{r}");
        assert!(get("/nope").starts_with("HTTP/1.1 404"));
        assert!(get("/metrics").starts_with("HTTP/1.1 200"));
    }
}
