//! `syslog_output`: RFC 3164 datagrams to the local syslog socket.
//!
//! Falco calls glibc's `syslog(priority, "%s", msg)` without `openlog`,
//! so the facility is `LOG_USER` (1), the severity is the priority's number
//! and the tag the program name; glibc sends
//! `<PRI>Mmm dd hh:mm:ss TAG: MSG` (local time, day padded with a space, no
//! pid, no trailing newline) to `/dev/log` as a unix datagram.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::worker::{Channel, Ctx, DeliveryError, RetryPolicy};
use crate::{AlertMessage, OutputsConfig, Priority};

/// `LOG_USER`.
const FACILITY_USER: u8 = 1;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Appends the datagram glibc's `syslog()` would send for `msg` at
/// `priority` with facility user, stamped `unix_secs` in local time:
/// `<PRI>Mmm dd hh:mm:ss TAG: MSG`, where PRI = 8 + severity.
pub fn format_syslog_line(
    out: &mut Vec<u8>,
    priority: Priority,
    tag: &str,
    msg: &str,
    unix_secs: i64,
) {
    use std::io::Write;
    let pri = u32::from(FACILITY_USER) * 8 + u32::from(crate::priority::syslog_severity(priority));
    let t = local_time(unix_secs);
    let month = MONTHS.get(t.mon).copied().unwrap_or("Jan");
    let _ = write!(
        out,
        "<{pri}>{month} {:>2} {:02}:{:02}:{:02} {tag}: ",
        t.mday, t.hour, t.min, t.sec
    );
    out.extend_from_slice(msg.as_bytes());
}

struct Tm {
    mon: usize,
    mday: u32,
    hour: u32,
    min: u32,
    sec: u32,
}

fn local_time(secs: i64) -> Tm {
    let t: libc::time_t = secs as libc::time_t;
    // SAFETY: `tm` is plain old data, so all-zero is a valid value;
    // localtime_r only writes into it and reads `t`.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the duration of the call.
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if !ok {
        return utc_time(secs);
    }
    Tm {
        mon: tm.tm_mon.clamp(0, 11) as usize,
        mday: tm.tm_mday.clamp(1, 31) as u32,
        hour: tm.tm_hour.clamp(0, 23) as u32,
        min: tm.tm_min.clamp(0, 59) as u32,
        sec: tm.tm_sec.clamp(0, 60) as u32,
    }
}

/// Fallback when the C library cannot convert.
fn utc_time(secs: i64) -> Tm {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400) as u32;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let _ = era;
    Tm {
        mon: (m - 1) as usize,
        mday: d as u32,
        hour: rem / 3600,
        min: rem / 60 % 60,
        sec: rem % 60,
    }
}

pub(crate) struct SyslogChannel {
    path: PathBuf,
    tag: String,
    json: bool,
    sock: Option<UnixDatagram>,
    buf: Vec<u8>,
    had_socket: bool,
    /// When connecting last failed: a missing socket is tried again at most
    /// once a second, so that alerts fail fast instead of each waiting.
    failed_at: Option<std::time::Instant>,
}

impl SyslogChannel {
    pub(crate) fn new(c: &OutputsConfig) -> SyslogChannel {
        SyslogChannel {
            path: c.syslog.socket_path.clone(),
            tag: c.syslog.tag.clone(),
            json: c.json_output,
            sock: None,
            buf: Vec::new(),
            had_socket: false,
            failed_at: None,
        }
    }

    fn connect(&mut self, ctx: &Ctx<'_>) -> Result<(), DeliveryError> {
        if self.sock.is_none() {
            if self
                .failed_at
                .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
            {
                return Err(DeliveryError::fatal(format!(
                    "{} unavailable",
                    self.path.display()
                )));
            }
            let s = UnixDatagram::unbound()
                .and_then(|s| s.connect(&self.path).map(|()| s))
                .map_err(|e| {
                    self.failed_at = Some(std::time::Instant::now());
                    DeliveryError::retry(format!("cannot connect to {}: {e}", self.path.display()))
                })?;
            self.failed_at = None;
            // Never wait long on a stalled syslog daemon.
            let _ = s.set_write_timeout(Some(Duration::from_secs(1)));
            if self.had_socket {
                ctx.count_restart();
            }
            self.had_socket = true;
            self.sock = Some(s);
        }
        Ok(())
    }
}

impl Channel for SyslogChannel {
    fn deliver(&mut self, msg: &AlertMessage, ctx: &Ctx<'_>) -> Result<(), DeliveryError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        format_syslog_line(&mut buf, msg.priority, &self.tag, msg.line(self.json), now);
        let r = self.connect(ctx).and_then(|()| match self.sock.as_ref() {
            Some(s) => s.send(&buf).map(|_| ()).map_err(|e| DeliveryError {
                retryable: e.raw_os_error() != Some(libc::EMSGSIZE),
                message: format!("send to {}: {e}", self.path.display()),
            }),
            None => Err(DeliveryError::retry("not connected")),
        });
        self.buf = buf;
        r
    }

    fn recover(&mut self, _: &Ctx<'_>) {
        self.sock = None;
    }

    fn reopen(&mut self, _: &Ctx<'_>) -> Result<(), DeliveryError> {
        self.sock = None;
        Ok(())
    }

    fn close(&mut self, _: &Ctx<'_>) {
        self.sock = None;
    }

    fn retry_policy(&self) -> RetryPolicy {
        // Reconnect once (syslogd restarted); then give up on this alert.
        RetryPolicy {
            max_retries: 1,
            backoff: Duration::from_millis(10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_fallback_dates() {
        let t = utc_time(0);
        assert_eq!((t.mon, t.mday, t.hour, t.min, t.sec), (0, 1, 0, 0, 0));
        // 2024-02-29 13:53:31 UTC
        let t = utc_time(1_709_214_811);
        assert_eq!((t.mon, t.mday, t.hour, t.min, t.sec), (1, 29, 13, 53, 31));
    }
}
