//! `http_output`: one POST per alert.
//!
//! As in Falco, the body is the alert's line: JSON with
//! `Content-Type: application/json` when `json_output` is on, the text
//! line with `text/plain` otherwise. Each request is bounded by
//! `output_timeout`; timeouts, connection failures and 5xx/429/408
//! answers are retried up to `max_consecutive_timeouts` times with
//! exponential backoff, other answers fail at once.
//!
//! With `keep_alive` one connection carries every POST (kept in the
//! agent's pool between alerts); without it (the default) each POST opens
//! its own connection, sends `Connection: close` and closes it after the
//! answer.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::write::GzEncoder;
use ureq::Agent;
use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};

use crate::worker::{Channel, Ctx, DeliveryError, RetryPolicy};
use crate::{AlertMessage, OutputError, OutputsConfig};

pub(crate) struct HttpChannel {
    agent: Agent,
    url: String,
    json: bool,
    compress: bool,
    echo: bool,
    keep_alive: bool,
    retry: RetryPolicy,
    body: Vec<u8>,
}

fn setup_err(message: String) -> OutputError {
    OutputError::Channel {
        channel: "http",
        message,
    }
}

fn read_pem(path: &str, what: &str) -> Result<Vec<u8>, OutputError> {
    std::fs::read(path).map_err(|e| setup_err(format!("cannot read {what} {path}: {e}")))
}

fn certs_from_pem(pem: &[u8], into: &mut Vec<Certificate<'static>>) {
    for item in ureq::tls::parse_pem(pem).flatten() {
        if let PemItem::Certificate(c) = item {
            into.push(c);
        }
    }
}

impl HttpChannel {
    pub(crate) fn new(c: &OutputsConfig) -> Result<HttpChannel, OutputError> {
        let h = &c.http;
        let url = h.url.trim().to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(setup_err(format!("url '{url}' is not http:// or https://")));
        }
        let mut tls = TlsConfig::builder().disable_verification(h.insecure);
        // Trusted roots: ca_cert and ca_bundle files and the PEM files of
        // ca_path, as curl reads CAINFO and CAPATH; Mozilla's roots when
        // none of them gives a certificate.
        let mut roots = Vec::new();
        for (key, path) in [("ca_cert", &h.ca_cert), ("ca_bundle", &h.ca_bundle)] {
            if !path.is_empty() {
                let pem = read_pem(path, key)?;
                let before = roots.len();
                certs_from_pem(&pem, &mut roots);
                if roots.len() == before {
                    return Err(setup_err(format!("{key} {path}: no PEM certificate")));
                }
            }
        }
        if !h.ca_path.is_empty()
            && let Ok(dir) = std::fs::read_dir(&h.ca_path)
        {
            for entry in dir.flatten() {
                let p = entry.path();
                if p.is_file()
                    && let Ok(pem) = std::fs::read(&p)
                {
                    certs_from_pem(&pem, &mut roots);
                }
            }
        }
        if !roots.is_empty() {
            tls = tls.root_certs(RootCerts::new_with_certs(&roots));
        }
        if h.mtls {
            let pem = read_pem(&h.client_cert, "client_cert")?;
            let mut chain = Vec::new();
            certs_from_pem(&pem, &mut chain);
            if chain.is_empty() {
                return Err(setup_err(format!(
                    "client_cert {}: no PEM certificate",
                    h.client_cert
                )));
            }
            let pem = read_pem(&h.client_key, "client_key")?;
            let key = PrivateKey::from_pem(&pem).map_err(|e| {
                setup_err(format!(
                    "client_key {}: no PEM private key: {e}",
                    h.client_key
                ))
            })?;
            tls = tls.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
        }
        let timeout = if c.output_timeout.is_zero() {
            None
        } else {
            Some(c.output_timeout)
        };
        let config = Agent::config_builder()
            .tls_config(tls.build())
            .http_status_as_error(false)
            .user_agent(h.user_agent.as_str())
            .timeout_global(timeout)
            .max_redirects(0)
            // No pool without keep_alive: the connection is dropped
            // (closed) once the answer is read.
            .max_idle_connections(if h.keep_alive { 4 } else { 0 })
            .max_idle_connections_per_host(if h.keep_alive { 4 } else { 0 })
            .build();
        Ok(HttpChannel {
            agent: Agent::new_with_config(config),
            url,
            json: c.json_output,
            compress: h.compress_uploads,
            echo: h.echo,
            keep_alive: h.keep_alive,
            retry: RetryPolicy {
                max_retries: h.max_consecutive_timeouts,
                backoff: c.retry_backoff,
            },
            body: Vec::new(),
        })
    }
}

fn classify(e: ureq::Error) -> DeliveryError {
    let retryable = match &e {
        // rustls reports handshake and certificate failures as
        // InvalidData: trying again cannot help.
        ureq::Error::Io(io) => io.kind() != std::io::ErrorKind::InvalidData,
        ureq::Error::Timeout(_)
        | ureq::Error::ConnectionFailed
        | ureq::Error::HostNotFound
        | ureq::Error::Protocol(_) => true,
        _ => false,
    };
    DeliveryError {
        retryable,
        message: format!("POST failed: {e}"),
    }
}

impl Channel for HttpChannel {
    fn deliver(&mut self, msg: &AlertMessage, _: &Ctx<'_>) -> Result<(), DeliveryError> {
        let line = msg.line(self.json);
        let content_type = if self.json {
            "application/json"
        } else {
            "text/plain"
        };
        let mut req = self
            .agent
            .post(&self.url)
            .header("Content-Type", content_type);
        if !self.keep_alive {
            req = req.header("Connection", "close");
        }
        let body: &[u8] = if self.compress {
            self.body.clear();
            let mut gz = GzEncoder::new(std::mem::take(&mut self.body), Compression::fast());
            gz.write_all(line.as_bytes())
                .map_err(|e| DeliveryError::fatal(format!("gzip: {e}")))?;
            self.body = gz
                .finish()
                .map_err(|e| DeliveryError::fatal(format!("gzip: {e}")))?;
            req = req.header("Content-Encoding", "gzip");
            &self.body
        } else {
            line.as_bytes()
        };
        let mut resp = req.send(body).map_err(classify)?;
        let status = resp.status().as_u16();
        // Read the answer (so that the connection can be reused).
        let mut answer = Vec::new();
        let read = resp
            .body_mut()
            .as_reader()
            .take(1 << 20)
            .read_to_end(&mut answer);
        if (200..300).contains(&status) {
            if self.echo && read.is_ok() {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(&answer);
                let _ = out.write_all(b"\n");
            }
            return Ok(());
        }
        let retryable = status >= 500 || status == 429 || status == 408;
        Err(DeliveryError {
            retryable,
            message: format!("POST {}: HTTP status {status}", self.url),
        })
    }

    fn reopen(&mut self, _: &Ctx<'_>) -> Result<(), DeliveryError> {
        Ok(())
    }

    fn close(&mut self, _: &Ctx<'_>) {}

    fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }
}
