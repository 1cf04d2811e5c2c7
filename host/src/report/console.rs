//! One line per test as it finishes, the reason under each failure or skip, and
//! the summary line last.

use std::io::Write;

use super::{Event, Reporter, Status, Summary, TestResult};

/// `text` safe for a terminal: control characters (ESC, CR, backspace, ...),
/// bidirectional overrides and invisible format characters become visible
/// `\u{..}` escapes, so what a plugin returns cannot move the cursor, recolour,
/// erase a FAIL line or reorder what is shown. Message lines are printed
/// indented, so a plugin's text never starts a line (CI commands such as
/// `::error` need column 0).
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c,
            '\u{200b}'..='\u{200f}' // zero-width characters, LRM, RLM
            | '\u{2028}'..='\u{202e}' // line and paragraph separators, embeddings, overrides
            | '\u{2060}'..='\u{2069}' // word joiner, isolates
            | '\u{061c}' // Arabic letter mark
            | '\u{feff}') // byte order mark
}

pub struct ConsoleReporter<W: Write> {
    out: W,
}

impl<W: Write> ConsoleReporter<W> {
    pub fn new(out: W) -> Self {
        ConsoleReporter { out }
    }
}

impl<W: Write> Reporter for ConsoleReporter<W> {
    fn event(&mut self, event: &Event) -> Result<(), String> {
        match event {
            Event::TestFinished { result, .. } => self.test_finished(result),
            Event::RunFinished { summary, .. } => self.run_finished(summary),
            Event::RunStarted { .. } | Event::TestStarted { .. } | Event::Connector { .. } => {}
        }
        Ok(())
    }
}

impl<W: Write> ConsoleReporter<W> {
    fn test_finished(&mut self, r: &TestResult) {
        let word = match r.status {
            Status::Passed => "PASS",
            Status::Failed => "FAIL",
            Status::Skipped => "SKIP",
        };
        let _ = writeln!(
            self.out,
            "{word} {} ({} ms)",
            escape(&r.id()),
            r.duration.as_millis()
        );
        if let Some(message) = &r.message {
            for line in message.lines() {
                let _ = writeln!(self.out, "     {}", escape(line));
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
                let _ = writeln!(self.out, "       [{}] {}", l.level, escape(&l.message));
            }
        }
        let _ = self.out.flush();
    }

    fn run_finished(&mut self, s: &Summary) {
        let _ = write!(
            self.out,
            "{} passed, {} failed, {} skipped",
            s.passed, s.failed, s.skipped
        );
        if s.not_run > 0 {
            let _ = write!(
                self.out,
                ", {} not run (--fail-fast stopped at the first failure)",
                s.not_run
            );
        }
        let _ = writeln!(self.out);
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_and_bidi_overrides_are_made_visible() {
        assert_eq!(escape("plain text"), "plain text");
        let hostile = "ok\x1b[2K\rPASS fake\u{202e}txt.exe\u{7}";
        let shown = escape(hostile);
        assert_eq!(shown, "ok\\u{1b}[2K\\u{d}PASS fake\\u{202e}txt.exe\\u{7}");
        assert!(!shown.chars().any(needs_escape));
    }
}
