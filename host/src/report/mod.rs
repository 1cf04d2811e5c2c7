//! Test results as events, and the reporters that render them: the console as
//! tests finish, and a JSON file and a JUnit XML file, each written by its
//! reporter when the run finishes.

mod console;
pub(crate) mod html;
mod json;
mod junit;
pub mod live;
pub mod progress;

use std::time::Duration;

pub use console::{ConsoleReporter, Verbosity, escape};
pub use html::HtmlReport;
pub use json::JsonReport;
pub use junit::{JunitReport, one_line};
pub use progress::Progress;

use crate::sandbox::LogLine;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Passed,
    Failed,
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        }
    }
}

/// The most bytes of one message or log line a report carries: a message can
/// quote what the plugin returned, and a plugin can return a lot.
pub const MAX_TEXT_BYTES: usize = 64 << 10;

/// `text` as reports may carry it: secrets masked, at most
/// [`MAX_TEXT_BYTES`]. Only twice that much of the original is looked at, so a
/// 100 MiB message costs no more than a small one.
pub fn clean(redactor: &crate::redact::Redactor, text: &str) -> String {
    let mut head_end = text.len().min(2 * MAX_TEXT_BYTES);
    while !text.is_char_boundary(head_end) {
        head_end -= 1;
    }
    let mut redacted = redactor.redact(&text[..head_end]);
    if redacted.len() <= MAX_TEXT_BYTES && head_end == text.len() {
        return redacted;
    }
    let mut end = redacted.len().min(MAX_TEXT_BYTES);
    while !redacted.is_char_boundary(end) {
        end -= 1;
    }
    redacted.truncate(end);
    redacted.push_str(&format!(
        " [clipped: the whole text was {} bytes; reports keep {} KiB]",
        text.len(),
        MAX_TEXT_BYTES >> 10
    ));
    redacted
}

/// The outcome of one named test. Messages, failures and logs are already
/// redacted and clipped ([`clean`]).
#[derive(Debug, Clone)]
pub struct TestResult {
    pub suite: &'static str,
    pub name: String,
    pub status: Status,
    /// The text a reporter shows: the failure's message, or why the test
    /// was skipped.
    pub message: Option<String>,
    /// A failed test's failure as data: what was expected, the problems,
    /// the fix (each part masked and clipped on its own).
    pub failure: Option<crate::checks::Failure>,
    pub duration: Duration,
    /// When it started (wall clock).
    pub started_at: std::time::SystemTime,
    /// What the plugin logged during the test (kept for failed tests).
    pub logs: Vec<LogLine>,
    /// What the test's plugin instances used.
    pub resources: crate::usage::Resources,
}

impl TestResult {
    pub fn id(&self) -> String {
        format!("{}/{}", self.suite, self.name)
    }
}

/// `results` grouped by suite, the suites in the order they ran.
pub fn by_suite(results: &[TestResult]) -> Vec<(&'static str, Vec<&TestResult>)> {
    let mut suites: Vec<(&'static str, Vec<&TestResult>)> = Vec::new();
    for result in results {
        match suites.iter_mut().find(|(name, _)| *name == result.suite) {
            Some((_, in_suite)) => in_suite.push(result),
            None => suites.push((result.suite, vec![result])),
        }
    }
    suites
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Tests selected that did not run: `--fail-fast` stopped the run first.
    pub not_run: usize,
}

impl Summary {
    pub fn add(&mut self, status: Status) {
        match status {
            Status::Passed => self.passed += 1,
            Status::Failed => self.failed += 1,
            Status::Skipped => self.skipped += 1,
        }
    }
}

/// What a run reports, as it happens, tagged with the run's id. Plain data:
/// events can be sent across threads, to reporters anywhere.
#[derive(Debug, Clone)]
pub enum Event {
    /// The run starts: the plugin, and the tests it plans to report (input
    /// sets may number them `#N`).
    RunStarted {
        run: String,
        plugin: String,
        plan: Vec<String>,
    },
    /// A test whose body runs starts. (A test whose verdict comes from
    /// another's work, such as basic_read's checks of its read, only
    /// finishes.)
    TestStarted {
        run: String,
        id: String,
    },
    /// The connector said who it is (its spec): name and version, as given,
    /// clipped and with secrets masked.
    Connector {
        run: String,
        name: String,
        version: String,
    },
    TestFinished {
        run: String,
        result: Box<TestResult>,
    },
    RunFinished {
        run: String,
        summary: Summary,
    },
}

/// Renders events. `Err` says what the reporter could not do (write its
/// file), with the fix.
pub trait Reporter {
    fn event(&mut self, event: &Event) -> Result<(), String>;
}

/// Hands each event to several reporters, keeping what they could not do.
pub struct FanOut<'a> {
    reporters: Vec<&'a mut dyn Reporter>,
    errors: Vec<String>,
}

impl<'a> FanOut<'a> {
    pub fn new(reporters: Vec<&'a mut dyn Reporter>) -> Self {
        FanOut {
            reporters,
            errors: Vec::new(),
        }
    }

    /// What the reporters could not do, each with its fix.
    pub fn into_errors(self) -> Vec<String> {
        self.errors
    }
}

impl Reporter for FanOut<'_> {
    fn event(&mut self, event: &Event) -> Result<(), String> {
        for r in &mut self.reporters {
            if let Err(e) = r.event(event) {
                self.errors.push(e);
            }
        }
        Ok(())
    }
}
