//! `stdout_output`: one line per alert on standard output.

use std::io::{BufWriter, Write};

use crate::OutputsConfig;
use crate::worker::{Channel, Ctx, DeliveryError, RetryPolicy};

/// Writes each alert's line; flushes per alert unless `buffered_outputs`.
pub(crate) struct StdoutChannel {
    out: BufWriter<Box<dyn Write + Send>>,
    json: bool,
    buffered: bool,
}

impl StdoutChannel {
    pub(crate) fn new(c: &OutputsConfig, w: Box<dyn Write + Send>) -> StdoutChannel {
        StdoutChannel {
            out: BufWriter::with_capacity(64 * 1024, w),
            json: c.json_output,
            buffered: c.buffered_outputs,
        }
    }
}

impl Channel for StdoutChannel {
    fn deliver(&mut self, msg: &crate::AlertMessage, _: &Ctx<'_>) -> Result<(), DeliveryError> {
        let line = msg.line(self.json);
        let r = self
            .out
            .write_all(line.as_bytes())
            .and_then(|()| self.out.write_all(b"\n"));
        let r = if self.buffered {
            r
        } else {
            r.and_then(|()| self.out.flush())
        };
        r.map_err(|e| DeliveryError::fatal(format!("write to stdout: {e}")))
    }

    fn flush(&mut self, _: &Ctx<'_>) -> Result<(), DeliveryError> {
        self.out
            .flush()
            .map_err(|e| DeliveryError::fatal(format!("flush stdout: {e}")))
    }

    fn reopen(&mut self, ctx: &Ctx<'_>) -> Result<(), DeliveryError> {
        self.flush(ctx)
    }

    fn close(&mut self, ctx: &Ctx<'_>) {
        let _ = self.flush(ctx);
    }

    fn buffered(&self) -> bool {
        self.buffered
    }

    fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_retries: 0,
            backoff: std::time::Duration::ZERO,
        }
    }
}
