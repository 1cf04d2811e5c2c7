//! The JUnit XML report (`--report-junit FILE`), the format CI systems show as
//! test results (GitHub Actions, GitLab, Jenkins, Buildkite): a `<testsuite>`
//! per ctest suite, a `<testcase>` per test, with a failed test's message (its
//! first line as the `message` attribute, the whole as the text) and the
//! plugin's log lines as its `<system-out>`. Written by quick-junit, nextest's
//! own JUnit writer, which escapes the text and drops characters XML cannot
//! hold. Messages and logs come already redacted.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{Event, Reporter, Status, TestResult};

/// Collects results, and writes them to its file when the run finishes
/// ([`JunitReport::to_xml`]).
pub struct JunitReport {
    path: std::path::PathBuf,
    plugin: String,
    results: Vec<TestResult>,
}

impl JunitReport {
    /// A report of `plugin`'s run, to be written to `path`.
    pub fn new(path: impl Into<std::path::PathBuf>, plugin: impl Into<String>) -> Self {
        JunitReport {
            path: path.into(),
            plugin: plugin.into(),
            results: Vec::new(),
        }
    }

    pub fn to_xml(&self) -> Result<String, String> {
        let mut report = Report::new(format!("ctest {}", self.plugin));
        // Suites in the order they ran.
        let mut suites: Vec<(&str, Vec<&TestResult>)> = Vec::new();
        for result in &self.results {
            match suites.iter_mut().find(|(name, _)| *name == result.suite) {
                Some((_, results)) => results.push(result),
                None => suites.push((result.suite, vec![result])),
            }
        }
        for (name, results) in suites {
            let mut suite = TestSuite::new(name);
            suite.set_time(results.iter().map(|r| r.duration).sum());
            suite.add_test_cases(results.into_iter().map(test_case));
            report.add_test_suite(suite);
        }
        report.set_time(self.results.iter().map(|r| r.duration).sum());
        report
            .to_string()
            .map_err(|e| format!("cannot render the JUnit report: {e}"))
    }
}

fn test_case(result: &TestResult) -> TestCase {
    let status = match result.status {
        Status::Passed => TestCaseStatus::success(),
        Status::Failed => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            if let Some(message) = &result.message {
                status
                    .set_message(message.lines().next().unwrap_or_default())
                    .set_description(message.as_str());
            }
            status
        }
        Status::Skipped => {
            let mut status = TestCaseStatus::skipped();
            if let Some(reason) = &result.message {
                status.set_message(reason.as_str());
            }
            status
        }
    };
    let mut case = TestCase::new(result.name.as_str(), status);
    case.set_classname(result.suite).set_time(result.duration);
    if !result.logs.is_empty() {
        let lines: Vec<String> = result
            .logs
            .iter()
            .map(|l| format!("[{}] {}", l.level, l.message))
            .collect();
        case.set_system_out(lines.join("\n"));
    }
    case
}

impl Reporter for JunitReport {
    fn event(&mut self, event: &Event) -> Result<(), String> {
        match event {
            Event::TestFinished { result, .. } => self.results.push(result.clone()),
            Event::RunFinished { .. } => {
                let xml = self.to_xml()?;
                std::fs::write(&self.path, xml).map_err(|e| {
                    format!(
                        "{}: cannot write the JUnit report: {e}\n  fix: choose a writable path for --report-junit",
                        self.path.display()
                    )
                })?;
            }
            Event::RunStarted { .. } | Event::TestStarted { .. } => {}
        }
        Ok(())
    }
}
