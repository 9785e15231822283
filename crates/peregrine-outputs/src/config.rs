//! Output configuration: Falco's `falco.yaml` keys as plain data.
//!
//! [`OutputsConfig::default`] holds Falco's defaults;
//! [`OutputsConfig::from_lookup`] fills it from any key lookup that
//! answers dotted `falco.yaml` paths (`file_output.filename`) with the
//! scalar's text.

use std::path::PathBuf;
use std::time::Duration;

use crate::OutputError;

/// Default capacity of each channel's queue.
pub const DEFAULT_QUEUE_CAPACITY: usize = 16_384;

/// Everything the output channels read from `falco.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputsConfig {
    /// `json_output`: channels write [`AlertMessage::json`](crate::AlertMessage::json)
    /// instead of the text line (and http sends `application/json`).
    pub json_output: bool,
    /// `buffered_outputs` (`-U` forces `false`): when false, every alert is
    /// flushed as soon as it is written; when true, stdout, file and program
    /// flush when their queue runs empty.
    pub buffered_outputs: bool,
    /// `output_timeout` (ms): a channel busy longer than this with one
    /// alert is reported; also the http request timeout.
    pub output_timeout: Duration,
    /// `outputs.rate`: tokens gained per second; 0 disables throttling.
    pub rate: f64,
    /// `outputs.max_burst`: most tokens outstanding (also the initial count).
    pub max_burst: f64,
    /// `outputs_queue.capacity`: alerts each channel's queue holds before
    /// new ones are dropped (and counted). Falco's 0 means unbounded; here
    /// 0 means [`DEFAULT_QUEUE_CAPACITY`], since the queue is always bounded.
    pub queue_capacity: usize,
    /// First wait before a retry; doubled per attempt, capped at 1 s.
    /// Not a Falco key.
    pub retry_backoff: Duration,
    /// `stdout_output`.
    pub stdout: StdoutConfig,
    /// `file_output`.
    pub file: FileConfig,
    /// `syslog_output`.
    pub syslog: SyslogConfig,
    /// `program_output`.
    pub program: ProgramConfig,
    /// `http_output`.
    pub http: HttpConfig,
}

/// `stdout_output`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StdoutConfig {
    /// `stdout_output.enabled` (default true).
    pub enabled: bool,
}

/// `file_output`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileConfig {
    /// `file_output.enabled` (default false).
    pub enabled: bool,
    /// `file_output.filename` (default `./events.txt`).
    pub filename: PathBuf,
    /// `file_output.keep_alive`: keep the file open (true) or open, append
    /// and close it for every alert (false, the default).
    pub keep_alive: bool,
}

/// `syslog_output`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogConfig {
    /// `syslog_output.enabled` (default true).
    pub enabled: bool,
    /// The local syslog socket (unix datagram). Not a Falco key; `/dev/log`.
    pub socket_path: PathBuf,
    /// The RFC 3164 tag. Not a Falco key; `falco`, as glibc's `syslog()`
    /// writes for the `falco` binary.
    pub tag: String,
}

/// `program_output`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramConfig {
    /// `program_output.enabled` (default false).
    pub enabled: bool,
    /// `program_output.program`: run with `/bin/sh -c`; the alert goes to
    /// its standard input, one line per alert.
    pub program: String,
    /// `program_output.keep_alive`: one long-lived process (true) or one
    /// process per alert (false, the default).
    pub keep_alive: bool,
}

/// `http_output`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// `http_output.enabled` (default false).
    pub enabled: bool,
    /// `http_output.url`.
    pub url: String,
    /// `http_output.user_agent` (default `falcosecurity/falco`).
    pub user_agent: String,
    /// `http_output.insecure`: do not verify the server's certificate.
    pub insecure: bool,
    /// `http_output.ca_cert`: a PEM file of trusted CA certificates.
    pub ca_cert: String,
    /// `http_output.ca_bundle`: a PEM bundle of trusted CA certificates.
    pub ca_bundle: String,
    /// `http_output.ca_path`: a folder of PEM CA certificates
    /// (default `/etc/ssl/certs`).
    pub ca_path: String,
    /// `http_output.mtls`: present a client certificate.
    pub mtls: bool,
    /// `http_output.client_cert` (PEM, default `/etc/ssl/certs/client.crt`).
    pub client_cert: String,
    /// `http_output.client_key` (PEM, default `/etc/ssl/certs/client.key`).
    pub client_key: String,
    /// `http_output.echo`: print the response body on stdout.
    pub echo: bool,
    /// `http_output.compress_uploads`: gzip the request body
    /// (`Content-Encoding: gzip`).
    pub compress_uploads: bool,
    /// `http_output.keep_alive`: reuse the connection between alerts
    /// (false: one connection per alert).
    pub keep_alive: bool,
    /// `http_output.max_consecutive_timeouts`: retries of one alert after a
    /// timeout, connection failure or 5xx/429/408 answer (default 5).
    pub max_consecutive_timeouts: u32,
}

impl Default for OutputsConfig {
    fn default() -> Self {
        OutputsConfig {
            json_output: false,
            buffered_outputs: false,
            output_timeout: Duration::from_millis(2000),
            rate: 0.0,
            max_burst: 1000.0,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            retry_backoff: Duration::from_millis(100),
            stdout: StdoutConfig { enabled: true },
            file: FileConfig {
                enabled: false,
                filename: PathBuf::from("./events.txt"),
                keep_alive: false,
            },
            syslog: SyslogConfig {
                enabled: true,
                socket_path: PathBuf::from("/dev/log"),
                tag: "falco".to_string(),
            },
            program: ProgramConfig {
                enabled: false,
                program: String::new(),
                keep_alive: false,
            },
            http: HttpConfig {
                enabled: false,
                url: String::new(),
                user_agent: "falcosecurity/falco".to_string(),
                insecure: false,
                ca_cert: String::new(),
                ca_bundle: String::new(),
                ca_path: "/etc/ssl/certs".to_string(),
                mtls: false,
                client_cert: "/etc/ssl/certs/client.crt".to_string(),
                client_key: "/etc/ssl/certs/client.key".to_string(),
                echo: false,
                compress_uploads: false,
                keep_alive: false,
                max_consecutive_timeouts: 5,
            },
        }
    }
}

impl OutputsConfig {
    /// Every `falco.yaml` key that [`OutputsConfig::from_lookup`] reads.
    pub const KEYS: &'static [&'static str] = &[
        "json_output",
        "buffered_outputs",
        "output_timeout",
        "outputs.rate",
        "outputs.max_burst",
        "outputs_queue.capacity",
        "stdout_output.enabled",
        "file_output.enabled",
        "file_output.filename",
        "file_output.keep_alive",
        "syslog_output.enabled",
        "program_output.enabled",
        "program_output.program",
        "program_output.keep_alive",
        "http_output.enabled",
        "http_output.url",
        "http_output.user_agent",
        "http_output.insecure",
        "http_output.ca_cert",
        "http_output.ca_bundle",
        "http_output.ca_path",
        "http_output.mtls",
        "http_output.client_cert",
        "http_output.client_key",
        "http_output.echo",
        "http_output.compress_uploads",
        "http_output.keep_alive",
        "http_output.max_consecutive_timeouts",
    ];

    /// Builds the configuration from a key lookup: `lookup("file_output.filename")`
    /// returns the scalar's text, or `None` when the key is absent (then
    /// Falco's default applies). A value of the wrong type is an
    /// [`OutputError::Config`] naming the key.
    pub fn from_lookup<F>(mut lookup: F) -> Result<OutputsConfig, OutputError>
    where
        F: FnMut(&str) -> Option<String>,
    {
        let mut c = OutputsConfig::default();
        let mut l = Lookup(&mut lookup);
        l.bool("json_output", &mut c.json_output)?;
        l.bool("buffered_outputs", &mut c.buffered_outputs)?;
        let mut ms = c.output_timeout.as_millis() as u64;
        l.uint("output_timeout", &mut ms)?;
        c.output_timeout = Duration::from_millis(ms);
        l.float("outputs.rate", &mut c.rate)?;
        l.float("outputs.max_burst", &mut c.max_burst)?;
        let mut cap = 0u64;
        l.uint("outputs_queue.capacity", &mut cap)?;
        if cap > 0 {
            c.queue_capacity = usize::try_from(cap).unwrap_or(usize::MAX);
        }
        l.bool("stdout_output.enabled", &mut c.stdout.enabled)?;
        l.bool("file_output.enabled", &mut c.file.enabled)?;
        let mut filename = String::new();
        if l.string("file_output.filename", &mut filename) {
            c.file.filename = PathBuf::from(filename);
        }
        l.bool("file_output.keep_alive", &mut c.file.keep_alive)?;
        l.bool("syslog_output.enabled", &mut c.syslog.enabled)?;
        l.bool("program_output.enabled", &mut c.program.enabled)?;
        l.string("program_output.program", &mut c.program.program);
        l.bool("program_output.keep_alive", &mut c.program.keep_alive)?;
        let h = &mut c.http;
        l.bool("http_output.enabled", &mut h.enabled)?;
        if l.string("http_output.url", &mut h.url) {
            h.url = unquote(h.url.trim()).to_string();
        }
        l.string("http_output.user_agent", &mut h.user_agent);
        l.bool("http_output.insecure", &mut h.insecure)?;
        l.string("http_output.ca_cert", &mut h.ca_cert);
        l.string("http_output.ca_bundle", &mut h.ca_bundle);
        l.string("http_output.ca_path", &mut h.ca_path);
        l.bool("http_output.mtls", &mut h.mtls)?;
        l.string("http_output.client_cert", &mut h.client_cert);
        l.string("http_output.client_key", &mut h.client_key);
        l.bool("http_output.echo", &mut h.echo)?;
        l.bool("http_output.compress_uploads", &mut h.compress_uploads)?;
        l.bool("http_output.keep_alive", &mut h.keep_alive)?;
        let mut n = u64::from(h.max_consecutive_timeouts);
        l.uint("http_output.max_consecutive_timeouts", &mut n)?;
        h.max_consecutive_timeouts = u32::try_from(n).unwrap_or(u32::MAX);
        c.validate()?;
        Ok(c)
    }

    /// Checks values that no type check catches (negative rates, an
    /// enabled channel without its target).
    pub fn validate(&self) -> Result<(), OutputError> {
        if !self.rate.is_finite() || self.rate < 0.0 {
            return Err(bad("outputs.rate", &self.rate.to_string(), "a rate >= 0"));
        }
        if !self.max_burst.is_finite() || self.max_burst < 0.0 {
            return Err(bad(
                "outputs.max_burst",
                &self.max_burst.to_string(),
                "a number >= 0",
            ));
        }
        if self.file.enabled && self.file.filename.as_os_str().is_empty() {
            return Err(bad("file_output.filename", "", "a file name"));
        }
        if self.program.enabled && self.program.program.trim().is_empty() {
            return Err(bad("program_output.program", "", "a command"));
        }
        if self.http.enabled && self.http.url.trim().is_empty() {
            return Err(bad("http_output.url", "", "a URL"));
        }
        Ok(())
    }
}

fn bad(key: &str, value: &str, expected: &'static str) -> OutputError {
    OutputError::Config {
        key: key.to_string(),
        value: value.to_string(),
        expected,
    }
}

struct Lookup<'a, F>(&'a mut F);

impl<F: FnMut(&str) -> Option<String>> Lookup<'_, F> {
    fn get(&mut self, key: &str) -> Option<String> {
        (self.0)(key)
    }

    fn bool(&mut self, key: &str, out: &mut bool) -> Result<(), OutputError> {
        if let Some(v) = self.get(key) {
            let v = v.trim();
            *out = match v.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" => true,
                "false" | "no" | "off" => false,
                _ => return Err(bad(key, v, "a boolean")),
            };
        }
        Ok(())
    }

    fn uint(&mut self, key: &str, out: &mut u64) -> Result<(), OutputError> {
        if let Some(v) = self.get(key) {
            *out = v
                .trim()
                .parse::<u64>()
                .map_err(|_| bad(key, &v, "a non-negative integer"))?;
        }
        Ok(())
    }

    fn float(&mut self, key: &str, out: &mut f64) -> Result<(), OutputError> {
        if let Some(v) = self.get(key) {
            let f = v
                .trim()
                .parse::<f64>()
                .map_err(|_| bad(key, &v, "a number"))?;
            if !f.is_finite() || f < 0.0 {
                return Err(bad(key, &v, "a number >= 0"));
            }
            *out = f;
        }
        Ok(())
    }

    fn string(&mut self, key: &str, out: &mut String) -> bool {
        match self.get(key) {
            Some(v) => {
                *out = v;
                true
            }
            None => false,
        }
    }
}

/// Falco strips one pair of surrounding quotes from the http url
/// (`url: "'http://...'"`).
fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}
