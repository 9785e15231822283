//! `program_output`: the alert on the standard input of `program`, run with
//! `/bin/sh -c`.
//!
//! The command line is the configured text only; the alert travels on the
//! pipe, never on a command line. Without `keep_alive` one process per alert
//! (Falco's `popen`/`pclose`): it gets the line, its stdin is closed, and
//! the channel waits for it to exit; a non-zero exit status counts as a
//! failed delivery. With `keep_alive` one long-lived process gets every
//! line; when it has exited it is restarted (counted in `restarts`) and the
//! alert written again.

use std::io::{BufWriter, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::worker::{Channel, Ctx, DeliveryError, RetryPolicy};
use crate::{AlertMessage, OutputsConfig};

pub(crate) struct ProgramChannel {
    program: String,
    keep_alive: bool,
    buffered: bool,
    json: bool,
    output_timeout: Duration,
    child: Option<(Child, BufWriter<ChildStdin>)>,
    started_once: bool,
    line: Vec<u8>,
}

impl ProgramChannel {
    pub(crate) fn new(c: &OutputsConfig) -> ProgramChannel {
        ProgramChannel {
            program: c.program.program.clone(),
            keep_alive: c.program.keep_alive,
            buffered: c.buffered_outputs,
            json: c.json_output,
            output_timeout: c.output_timeout,
            child: None,
            started_once: false,
            line: Vec::new(),
        }
    }

    fn spawn(&mut self, ctx: &Ctx<'_>) -> Result<(), DeliveryError> {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(&self.program)
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|e| DeliveryError::retry(format!("cannot run /bin/sh -c: {e}")))?;
        let Some(stdin) = child.stdin.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(DeliveryError::retry("no pipe to the program"));
        };
        if self.keep_alive && self.started_once {
            ctx.count_restart();
        }
        self.started_once = true;
        let cap = if self.buffered && self.keep_alive {
            64 * 1024
        } else {
            0
        };
        self.child = Some((child, BufWriter::with_capacity(cap, stdin)));
        Ok(())
    }

    /// Closes the pipe and waits for the child, up to `output_timeout`
    /// (then kills it); aborted shutdowns kill at once.
    fn finish(&mut self, ctx: &Ctx<'_>) -> Option<ExitStatus> {
        let (mut child, mut stdin) = self.child.take()?;
        let _ = stdin.flush();
        drop(stdin);
        let start = Instant::now();
        let mut nap = Duration::from_micros(200);
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) => {}
                Err(_) => return None,
            }
            // A per-alert process is waited for as pclose does (the monitor
            // reports it when slow); a long-lived one gets output_timeout to
            // exit after its input closed.
            if ctx.aborted() || (self.keep_alive && start.elapsed() > self.output_timeout) {
                let _ = child.kill();
                return child.wait().ok();
            }
            std::thread::sleep(nap);
            nap = (nap * 2).min(Duration::from_millis(20));
        }
    }

    fn write_line(&mut self, ctx: &Ctx<'_>) -> std::io::Result<()> {
        let buffered = self.buffered && self.keep_alive;
        let Some((child, stdin)) = self.child.as_mut() else {
            return Err(std::io::Error::other("program not running"));
        };
        // Published while a write may block, so that an aborted shutdown
        // can kill the child; cleared before the child is ever reaped.
        ctx.set_child_pid(child.id());
        let r = stdin.write_all(&self.line).and_then(
            |()| {
                if buffered { Ok(()) } else { stdin.flush() }
            },
        );
        ctx.set_child_pid(0);
        r
    }
}

impl Channel for ProgramChannel {
    fn deliver(&mut self, msg: &AlertMessage, ctx: &Ctx<'_>) -> Result<(), DeliveryError> {
        self.line.clear();
        self.line.extend_from_slice(msg.line(self.json).as_bytes());
        self.line.push(b'\n');
        if self.keep_alive {
            if let Some((child, _)) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                tracing::warn!("program output: program exited ({status}), restarting it");
                self.child = None;
            }
            if self.child.is_none() {
                self.spawn(ctx)?;
            }
            return self
                .write_line(ctx)
                .map_err(|e| DeliveryError::retry(format!("write to program: {e}")));
        }
        self.spawn(ctx)?;
        // A program that exits without reading its input gets EPIPE here;
        // as with popen, only its exit status tells.
        let _ = self.write_line(ctx);
        match self.finish(ctx) {
            Some(s) if s.success() => Ok(()),
            Some(s) => Err(DeliveryError::fatal(format!("program exited with {s}"))),
            None => Err(DeliveryError::fatal("program did not finish")),
        }
    }

    fn flush(&mut self, ctx: &Ctx<'_>) -> Result<(), DeliveryError> {
        if let Some((child, stdin)) = self.child.as_mut() {
            ctx.set_child_pid(child.id());
            let r = stdin.flush();
            ctx.set_child_pid(0);
            r.map_err(|e| DeliveryError::retry(format!("write to program: {e}")))?;
        }
        Ok(())
    }

    fn recover(&mut self, ctx: &Ctx<'_>) {
        if let Some(status) = self.finish(ctx) {
            tracing::warn!("program output: program exited ({status})");
        }
    }

    fn reopen(&mut self, ctx: &Ctx<'_>) -> Result<(), DeliveryError> {
        self.finish(ctx);
        if self.keep_alive {
            // A reopen is not a crash: do not count it as a restart.
            self.started_once = false;
            self.spawn(ctx)?;
        }
        Ok(())
    }

    fn close(&mut self, ctx: &Ctx<'_>) {
        self.finish(ctx);
    }

    fn buffered(&self) -> bool {
        self.buffered && self.keep_alive
    }

    fn retry_policy(&self) -> RetryPolicy {
        // keep_alive: one retry on a fresh process when the old one died.
        // Otherwise a failing program is not run twice for one alert.
        RetryPolicy {
            max_retries: u32::from(self.keep_alive),
            backoff: Duration::ZERO,
        }
    }
}
