//! What a plugin writes to stdout, stderr and the `host.log` import, captured
//! into bounded buffers: a chatty plugin loses the excess, never traps, and never
//! makes the host grow without bound.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// A byte buffer that keeps the first `capacity` bytes written and counts the rest.
#[derive(Clone)]
pub struct CapturedOutput {
    inner: Arc<Mutex<Captured>>,
}

#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    capacity: usize,
    dropped: u64,
}

impl CapturedOutput {
    pub fn new(capacity: usize) -> Self {
        CapturedOutput {
            inner: Arc::new(Mutex::new(Captured {
                capacity,
                ..Captured::default()
            })),
        }
    }

    fn append(&self, data: &[u8]) {
        let mut c = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let room = c.capacity.saturating_sub(c.bytes.len());
        let kept = room.min(data.len());
        c.bytes.extend_from_slice(&data[..kept]);
        c.dropped += (data.len() - kept) as u64;
    }

    /// Every byte written, kept or dropped.
    pub fn written(&self) -> u64 {
        let c = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        c.bytes.len() as u64 + c.dropped
    }

    /// The captured text (lossy UTF-8) and how many bytes were dropped past the cap.
    pub fn text(&self) -> (String, u64) {
        let c = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (String::from_utf8_lossy(&c.bytes).into_owned(), c.dropped)
    }
}

impl IsTerminal for CapturedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturedOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for CapturedOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        // Always accept: what is past the cap is counted and dropped.
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for CapturedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// One line the plugin logged through the `host.log` import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub level: String,
    pub message: String,
}

/// The log lines of one instance, bounded by count and total size.
#[derive(Debug, Default)]
pub struct LogBuffer {
    pub lines: Vec<LogLine>,
    bytes: usize,
    pub dropped: u64,
    /// The bytes of every message logged, kept or dropped.
    pub written: u64,
}

impl LogBuffer {
    pub const MAX_BYTES: usize = 1 << 20;
    pub const MAX_LINE: usize = 16 * 1024;

    pub fn push(&mut self, level: &str, message: &str) {
        self.written += message.len() as u64;
        let message = clip_line(message);
        if self.bytes + message.len() > Self::MAX_BYTES {
            self.dropped += 1;
            return;
        }
        self.bytes += message.len();
        self.lines.push(LogLine {
            level: level.to_string(),
            message,
        });
    }
}

/// A log line cut to [`LogBuffer::MAX_LINE`] bytes, marked when cut.
pub fn clip_line(line: &str) -> String {
    clip_to(line, LogBuffer::MAX_LINE)
}

/// `text` cut to at most `max` bytes (on a character boundary), marked when cut.
pub fn clip_to(line: &str, max: usize) -> String {
    if line.len() <= max {
        return line.to_string();
    }
    let mut end = max;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{} [{} more bytes cut]", &line[..end], line.len() - end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_capped_and_counts_what_it_drops() {
        let mut log = LogBuffer::default();
        let line = "x".repeat(LogBuffer::MAX_LINE * 2);
        for _ in 0..100 {
            log.push("info", &line);
        }
        // Each line is clipped to MAX_LINE (plus its marker); the total stays under MAX_BYTES.
        assert!(
            log.lines[0]
                .message
                .ends_with(&format!("[{} more bytes cut]", LogBuffer::MAX_LINE))
        );
        let kept = log.lines.len() as u64;
        assert!(
            kept * (LogBuffer::MAX_LINE as u64)
                <= LogBuffer::MAX_BYTES as u64 + LogBuffer::MAX_LINE as u64
        );
        assert_eq!(kept + log.dropped, 100);
        assert!(log.dropped > 0);
    }

    #[test]
    fn captured_output_keeps_the_first_bytes_and_counts_the_rest() {
        let out = CapturedOutput::new(10);
        out.append(b"0123456789abc");
        assert_eq!(out.text(), ("0123456789".to_string(), 3));
    }
}
