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

/// How much the console says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Verbosity {
    /// Failed tests (with their reasons and logs) and the summary.
    Quiet,
    /// A line per test, the reason under each failure or skip, the last
    /// lines of a failed test's plugin log.
    #[default]
    Normal,
    /// Also what each test used, and a failed test's whole plugin log.
    Verbose,
}

pub struct ConsoleReporter<W: Write> {
    out: W,
    color: bool,
    verbosity: Verbosity,
    /// The progress line, put out of the way while writing.
    live: Option<std::sync::Arc<super::live::Live>>,
}

impl<W: Write> ConsoleReporter<W> {
    pub fn new(out: W) -> Self {
        ConsoleReporter {
            out,
            color: false,
            verbosity: Verbosity::Normal,
            live: None,
        }
    }

    /// Colours the status words and the summary (ANSI).
    pub fn color(mut self, on: bool) -> Self {
        self.color = on;
        self
    }

    pub fn verbosity(mut self, verbosity: Verbosity) -> Self {
        self.verbosity = verbosity;
        self
    }

    /// Writes with `live`'s progress line out of the way.
    pub fn live(mut self, live: std::sync::Arc<super::live::Live>) -> Self {
        self.live = Some(live);
        self
    }

    /// `text` in `style` when colouring.
    fn paint(&self, style: anstyle::Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }
}

const GREEN: anstyle::Style = anstyle::AnsiColor::Green.on_default();
const RED: anstyle::Style = anstyle::AnsiColor::Red.on_default().bold();
const YELLOW: anstyle::Style = anstyle::AnsiColor::Yellow.on_default();
const DIM: anstyle::Style = anstyle::Style::new().dimmed();

impl<W: Write> Reporter for ConsoleReporter<W> {
    fn event(&mut self, event: &Event) -> Result<(), String> {
        let text = match event {
            Event::TestFinished { result, .. } => self.test_finished(result),
            Event::RunFinished { summary, .. } => self.run_finished(summary),
            Event::RunStarted { .. } | Event::TestStarted { .. } | Event::Connector { .. } => {
                return Ok(());
            }
        };
        if text.is_empty() {
            return Ok(());
        }
        let out = &mut self.out;
        let mut write = || {
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        };
        match &self.live {
            Some(live) => live.clear_then(write),
            None => write(),
        }
        Ok(())
    }
}

impl<W: Write> ConsoleReporter<W> {
    /// What the console says of a finished test.
    fn test_finished(&self, r: &TestResult) -> String {
        use std::fmt::Write as _;
        let mut text = String::new();
        if self.verbosity == Verbosity::Quiet && r.status != Status::Failed {
            return text;
        }
        let word = match r.status {
            Status::Passed => self.paint(GREEN, "PASS"),
            Status::Failed => self.paint(RED, "FAIL"),
            Status::Skipped => self.paint(YELLOW, "SKIP"),
        };
        let _ = writeln!(
            text,
            "{word} {} {}",
            escape(&r.id()),
            self.paint(DIM, &format!("({} ms)", r.duration.as_millis()))
        );
        if let Some(message) = &r.message {
            for line in message.lines() {
                let _ = writeln!(text, "     {}", escape(line));
            }
        }
        if self.verbosity == Verbosity::Verbose && !r.resources.is_zero() {
            let u = &r.resources;
            let _ = writeln!(
                text,
                "     {}",
                self.paint(
                    DIM,
                    &format!(
                        "used: {} ms CPU in the plugin, {} ms checking, {:.1} MiB peak memory, {} instance(s), {} HTTP request(s) ({} from cassettes), {} bytes of output",
                        u.cpu_ms,
                        u.checks_cpu_ms,
                        u.peak_memory_bytes as f64 / (1 << 20) as f64,
                        u.instances,
                        u.http_requests,
                        u.cassette_hits,
                        u.output_bytes
                    )
                )
            );
        }
        if r.status == Status::Failed && !r.logs.is_empty() {
            let shown = match self.verbosity {
                Verbosity::Verbose => r.logs.len(),
                _ => r.logs.len().min(10),
            };
            let _ = writeln!(
                text,
                "     plugin log (last {shown} of {} lines):",
                r.logs.len()
            );
            for l in &r.logs[r.logs.len() - shown..] {
                let _ = writeln!(text, "       [{}] {}", l.level, escape(&l.message));
            }
        }
        text
    }

    fn run_finished(&self, s: &Summary) -> String {
        let mut text = format!(
            "{} passed, {} failed, {} skipped",
            s.passed, s.failed, s.skipped
        );
        if s.not_run > 0 {
            text.push_str(&format!(
                ", {} not run (--fail-fast stopped at the first failure)",
                s.not_run
            ));
        }
        let style = if s.failed > 0 { RED } else { GREEN };
        format!("{}\n", self.paint(style, &text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(status: Status, message: Option<&str>) -> TestResult {
        TestResult {
            suite: "basic_read",
            name: "read".into(),
            status,
            message: message.map(str::to_string),
            failure: None,
            duration: std::time::Duration::from_millis(12),
            started_at: std::time::SystemTime::now(),
            logs: (0..15)
                .map(|i| crate::sandbox::LogLine {
                    level: "info".into(),
                    message: format!("line {i}"),
                })
                .collect(),
            resources: crate::usage::Resources {
                cpu_ms: 7,
                instances: 1,
                ..Default::default()
            },
        }
    }

    fn said(reporter: ConsoleReporter<Vec<u8>>, results: &[TestResult]) -> String {
        let mut reporter = reporter;
        for r in results {
            let _ = reporter.event(&Event::TestFinished {
                run: "r".into(),
                result: Box::new(r.clone()),
            });
        }
        let summary = Summary {
            passed: 1,
            failed: 1,
            ..Summary::default()
        };
        let _ = reporter.event(&Event::RunFinished {
            run: "r".into(),
            summary,
        });
        String::from_utf8(reporter.out).unwrap()
    }

    #[test]
    fn colour_quiet_and_verbose_say_what_they_promise() {
        let results = [
            result(Status::Passed, None),
            result(Status::Failed, Some("expected this:\n  got that")),
        ];
        let plain = said(ConsoleReporter::new(Vec::new()), &results);
        assert!(
            plain.starts_with("PASS basic_read/read (12 ms)\nFAIL basic_read/read"),
            "{plain}"
        );
        assert!(!plain.contains('\x1b'), "{plain}");
        assert!(
            plain.contains("plugin log (last 10 of 15 lines)"),
            "{plain}"
        );
        assert!(!plain.contains("used:"), "{plain}");

        let coloured = said(ConsoleReporter::new(Vec::new()).color(true), &results);
        assert!(coloured.contains("\x1b[32mPASS\x1b[0m"), "{coloured:?}");
        assert!(
            coloured.contains("\x1b[1m\x1b[31mFAIL\x1b[0m")
                || coloured.contains("\x1b[31;1mFAIL")
                || coloured.contains("FAIL\x1b[0m"),
            "{coloured:?}"
        );
        // The words and names are the same once the colours are taken out.
        let stripped = regex::Regex::new("\x1b\\[[0-9;]*m")
            .unwrap()
            .replace_all(&coloured, "");
        assert_eq!(stripped, plain);

        let quiet = said(
            ConsoleReporter::new(Vec::new()).verbosity(Verbosity::Quiet),
            &results,
        );
        assert!(!quiet.contains("PASS"), "{quiet}");
        assert!(
            quiet.contains("FAIL basic_read/read") && quiet.contains("  got that"),
            "{quiet}"
        );
        assert!(
            quiet.ends_with("1 passed, 1 failed, 0 skipped\n"),
            "{quiet}"
        );

        let verbose = said(
            ConsoleReporter::new(Vec::new()).verbosity(Verbosity::Verbose),
            &results,
        );
        assert!(
            verbose.contains("used: 7 ms CPU in the plugin, 0 ms checking"),
            "{verbose}"
        );
        assert!(
            verbose.contains("plugin log (last 15 of 15 lines)"),
            "{verbose}"
        );
    }

    #[test]
    fn terminal_controls_and_bidi_overrides_are_made_visible() {
        assert_eq!(escape("plain text"), "plain text");
        let hostile = "ok\x1b[2K\rPASS fake\u{202e}txt.exe\u{7}";
        let shown = escape(hostile);
        assert_eq!(shown, "ok\\u{1b}[2K\\u{d}PASS fake\\u{202e}txt.exe\\u{7}");
        assert!(!shown.chars().any(needs_escape));
    }
}
