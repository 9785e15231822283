//! Lifecycle messages (start, configuration and rules loaded, outputs,
//! reloads, stop), never alerts: to standard error and/or syslog, filtered
//! by `log_level`, stamped as Falco stamps them.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::Mutex;

/// The local syslog socket.
pub const DEV_LOG: &str = "/dev/log";

/// Syslog severities, most severe first (`log_level` names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `emergency`
    Emergency = 0,
    /// `alert`
    Alert,
    /// `critical`
    Critical,
    /// `error`
    Error,
    /// `warning`
    Warning,
    /// `notice`
    Notice,
    /// `info`
    Info,
    /// `debug`
    Debug,
}

impl Level {
    /// The level named as in `log_level`.
    pub fn parse(name: &str) -> Option<Level> {
        Some(match name {
            "emergency" => Level::Emergency,
            "alert" => Level::Alert,
            "critical" => Level::Critical,
            "error" => Level::Error,
            "warning" => Level::Warning,
            "notice" => Level::Notice,
            "info" => Level::Info,
            "debug" => Level::Debug,
            _ => return None,
        })
    }
}

/// Where messages go and which ones.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Messages less severe than this are dropped.
    pub level: Level,
    /// Write to standard error.
    pub stderr: bool,
    /// Send to syslog.
    pub syslog: bool,
    /// Stamp standard-error lines as ISO 8601 (UTC) instead of `ctime` style.
    pub iso_8601: bool,
    /// The syslog socket (a unix datagram socket).
    pub syslog_path: PathBuf,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            level: Level::Info,
            stderr: true,
            syslog: false,
            iso_8601: false,
            syslog_path: PathBuf::from(DEV_LOG),
        }
    }
}

/// A configured logger.
pub struct Logger {
    settings: Settings,
    socket: Option<UnixDatagram>,
}

impl Logger {
    /// A logger with these settings.
    pub fn new(settings: Settings) -> Logger {
        Logger {
            settings,
            socket: None,
        }
    }

    /// Logs one message (trailing newlines are trimmed). Syslog errors
    /// (no socket there) are ignored, as Falco's `syslog(3)` does.
    pub fn log(&mut self, level: Level, message: &str) {
        if level > self.settings.level {
            return;
        }
        let message = message.trim_end_matches('\n');
        if self.settings.syslog {
            let datagram = syslog_datagram(level, message, chrono::Local::now());
            if self.socket.is_none() {
                self.socket = UnixDatagram::unbound().ok();
            }
            if let Some(s) = &self.socket {
                let _ = s.send_to(datagram.as_bytes(), &self.settings.syslog_path);
            }
        }
        if self.settings.stderr {
            eprintln!("{}", stderr_line(self.settings.iso_8601, message));
        }
    }
}

/// A standard-error line: `2024-01-01T10:00:00+0000: message` (UTC) with
/// `time_format_iso_8601`, else `Mon Jan 01 10:00:00 2024: message` (local).
pub fn stderr_line(iso_8601: bool, message: &str) -> String {
    let stamp = if iso_8601 {
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%z").to_string()
    } else {
        chrono::Local::now()
            .format("%a %b %d %H:%M:%S %Y")
            .to_string()
    };
    format!("{stamp}: {message}")
}

/// The datagram `syslog(3)` sends: `<PRI>Mmm dd hh:mm:ss ident[pid]: msg`
/// with facility `user`.
pub fn syslog_datagram<Tz: chrono::TimeZone>(
    level: Level,
    message: &str,
    now: chrono::DateTime<Tz>,
) -> String
where
    Tz::Offset: std::fmt::Display,
{
    const LOG_USER: u8 = 1 << 3;
    format!(
        "<{}>{} peregrine[{}]: {message}",
        LOG_USER | level as u8,
        now.format("%b %e %H:%M:%S"),
        std::process::id()
    )
}

static LOGGER: Mutex<Option<Logger>> = Mutex::new(None);

/// Sets where messages go from now on.
pub fn configure(settings: Settings) {
    let mut guard = LOGGER.lock().unwrap_or_else(|e| e.into_inner());
    *guard = Some(Logger::new(settings));
}

/// Logs a lifecycle message (before [`configure`]: `info` and more severe,
/// to standard error).
pub fn log(level: Level, message: &str) {
    let mut guard = LOGGER.lock().unwrap_or_else(|e| e.into_inner());
    guard
        .get_or_insert_with(|| Logger::new(Settings::default()))
        .log(level, message);
}

/// Logs a message that its caller has already filtered by level (sent to
/// syslog as `info`).
pub fn log_unfiltered(message: &str) {
    let mut guard = LOGGER.lock().unwrap_or_else(|e| e.into_inner());
    let logger = guard.get_or_insert_with(|| Logger::new(Settings::default()));
    let level = logger.settings.level;
    logger.settings.level = Level::Debug;
    logger.log(Level::Info, message);
    logger.settings.level = level;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn levels_parse_and_order() {
        assert_eq!(Level::parse("warning"), Some(Level::Warning));
        assert_eq!(Level::parse("informational"), None);
        assert!(Level::Error < Level::Info);
    }

    #[test]
    fn stamps_as_falco() {
        let iso = stderr_line(true, "hello");
        assert!(iso.ends_with("+0000: hello"), "{iso}");
        assert_eq!(iso.as_bytes()[10], b'T');
        let plain = stderr_line(false, "hello");
        assert!(plain.ends_with(": hello"), "{plain}");
    }

    #[test]
    fn syslog_wire_format_on_a_socket() {
        let dir = std::env::temp_dir().join(format!("peregrine-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.sock");
        let _ = std::fs::remove_file(&path);
        let server = UnixDatagram::bind(&path).unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut logger = Logger::new(Settings {
            level: Level::Notice,
            stderr: false,
            syslog: true,
            iso_8601: false,
            syslog_path: path.clone(),
        });
        logger.log(Level::Info, "filtered out");
        logger.log(Level::Error, "Rules reload failed\n");
        let mut buf = [0u8; 512];
        let n = server.recv(&mut buf).unwrap();
        let got = std::str::from_utf8(&buf[..n]).unwrap();
        // facility user (1) * 8 + severity error (3)
        assert!(got.starts_with("<11>"), "{got}");
        let pid = format!(" peregrine[{}]: Rules reload failed", std::process::id());
        assert!(got.ends_with(&pid), "{got}");
        // "Mmm dd hh:mm:ss": the stamp is 15 characters.
        assert_eq!(got[4..].find(" peregrine["), Some(15), "{got}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
