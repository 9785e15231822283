//! `file_output`: append one line per alert to `filename`.
//!
//! With `keep_alive` the file stays open (and is reopened on SIGUSR1, for
//! log rotation); without it, it is opened, appended to and closed for every
//! alert, as Falco does.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Duration;

use crate::worker::{Channel, Ctx, DeliveryError, RetryPolicy};
use crate::{AlertMessage, OutputsConfig};

pub(crate) struct FileChannel {
    path: PathBuf,
    keep_alive: bool,
    buffered: bool,
    json: bool,
    file: Option<BufWriter<File>>,
    line: Vec<u8>,
}

impl FileChannel {
    pub(crate) fn new(c: &OutputsConfig) -> FileChannel {
        FileChannel {
            path: c.file.filename.clone(),
            keep_alive: c.file.keep_alive,
            buffered: c.buffered_outputs,
            json: c.json_output,
            file: None,
            line: Vec::new(),
        }
    }

    fn open(&mut self) -> Result<(), DeliveryError> {
        if self.file.is_none() {
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(|e| {
                    DeliveryError::retry(format!("cannot open {}: {e}", self.path.display()))
                })?;
            // Unbuffered: every line goes out in one write(2).
            let cap = if self.buffered && self.keep_alive {
                64 * 1024
            } else {
                0
            };
            self.file = Some(BufWriter::with_capacity(cap, f));
        }
        Ok(())
    }
}

fn write_err(path: &std::path::Path, e: std::io::Error) -> DeliveryError {
    DeliveryError::retry(format!("cannot write {}: {e}", path.display()))
}

impl Channel for FileChannel {
    fn deliver(&mut self, msg: &AlertMessage, _: &Ctx<'_>) -> Result<(), DeliveryError> {
        self.line.clear();
        self.line.extend_from_slice(msg.line(self.json).as_bytes());
        self.line.push(b'\n');
        self.open()?;
        let Some(f) = self.file.as_mut() else {
            return Err(DeliveryError::retry("file not open"));
        };
        f.write_all(&self.line)
            .map_err(|e| write_err(&self.path, e))?;
        if !self.keep_alive
            && let Some(mut f) = self.file.take()
        {
            f.flush().map_err(|e| write_err(&self.path, e))?;
        }
        Ok(())
    }

    fn flush(&mut self, _: &Ctx<'_>) -> Result<(), DeliveryError> {
        if let Some(f) = self.file.as_mut() {
            f.flush().map_err(|e| write_err(&self.path, e))?;
        }
        Ok(())
    }

    fn recover(&mut self, _: &Ctx<'_>) {
        // A broken handle is reopened on the next attempt; what it still
        // buffered is lost (the flush that failed was counted).
        if let Some(f) = self.file.take() {
            let (_f, _lost) = f.into_parts();
        }
    }

    fn reopen(&mut self, ctx: &Ctx<'_>) -> Result<(), DeliveryError> {
        let r = self.flush(ctx);
        self.file = None;
        if self.keep_alive {
            self.open()?;
        }
        r
    }

    fn close(&mut self, ctx: &Ctx<'_>) {
        let _ = self.flush(ctx);
        self.file = None;
    }

    fn buffered(&self) -> bool {
        self.buffered && self.keep_alive
    }

    fn retry_policy(&self) -> RetryPolicy {
        // One immediate retry with a fresh handle (the file may have been
        // removed or the disk filled): more would hold up the queue.
        RetryPolicy {
            max_retries: 1,
            backoff: Duration::ZERO,
        }
    }
}
