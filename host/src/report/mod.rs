//! Test results and the reporters that show them: the console as tests finish,
//! and a JSON file and a JUnit XML file at the end.

mod console;
mod json;
mod junit;

use std::time::Duration;

pub use console::ConsoleReporter;
pub use json::JsonReport;
pub use junit::JunitReport;

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

/// The outcome of one named test. Messages and logs are already redacted.
#[derive(Debug, Clone)]
pub struct TestResult {
    pub suite: &'static str,
    pub name: String,
    pub status: Status,
    pub message: Option<String>,
    pub duration: Duration,
    /// What the plugin logged during the test (kept for failed tests).
    pub logs: Vec<LogLine>,
}

impl TestResult {
    pub fn id(&self) -> String {
        format!("{}/{}", self.suite, self.name)
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
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

/// Receives each result as its test finishes.
pub trait Reporter {
    fn test_finished(&mut self, result: &TestResult);
    fn run_finished(&mut self, summary: &Summary);
}
