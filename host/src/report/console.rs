//! One line per test as it finishes, the reason under each failure or skip, and
//! the summary line last.

use std::io::Write;

use super::{Reporter, Status, Summary, TestResult};

pub struct ConsoleReporter<W: Write> {
    out: W,
}

impl<W: Write> ConsoleReporter<W> {
    pub fn new(out: W) -> Self {
        ConsoleReporter { out }
    }
}

impl<W: Write> Reporter for ConsoleReporter<W> {
    fn test_finished(&mut self, r: &TestResult) {
        let word = match r.status {
            Status::Passed => "PASS",
            Status::Failed => "FAIL",
            Status::Skipped => "SKIP",
        };
        let _ = writeln!(
            self.out,
            "{word} {} ({} ms)",
            r.id(),
            r.duration.as_millis()
        );
        if let Some(message) = &r.message {
            for line in message.lines() {
                let _ = writeln!(self.out, "     {line}");
            }
        }
        if r.status == Status::Failed && !r.logs.is_empty() {
            let shown = r.logs.len().min(10);
            let _ = writeln!(
                self.out,
                "     plugin log (last {shown} of {} lines):",
                r.logs.len()
            );
            for l in &r.logs[r.logs.len() - shown..] {
                let _ = writeln!(self.out, "       [{}] {}", l.level, l.message);
            }
        }
        let _ = self.out.flush();
    }

    fn run_finished(&mut self, s: &Summary) {
        let _ = writeln!(
            self.out,
            "{} passed, {} failed, {} skipped",
            s.passed, s.failed, s.skipped
        );
        let _ = self.out.flush();
    }
}
