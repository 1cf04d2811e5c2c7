//! The JUnit XML report (`--report-junit FILE`), the format CI systems show as
//! test results (GitHub Actions, GitLab, Jenkins, Buildkite): a `<testsuite>`
//! per ctest suite, a `<testcase>` per test, with a failed test's message (in
//! one line as the `message` attribute, the whole as the text) and the
//! plugin's log lines as its `<system-out>`. Suites and `classname`s carry the
//! connector's name and version (`source-faker@1.2.0/basic_read`), so two
//! connectors' reports in one CI job do not collide; every element has its
//! start time. Written by quick-junit, nextest's
//! own JUnit writer, which escapes the text and drops characters XML cannot
//! hold. Messages and logs come already redacted.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{Event, Reporter, Status, TestResult};

/// Collects results, and writes them to its file when the run finishes
/// ([`JunitReport::to_xml`]).
pub struct JunitReport {
    path: std::path::PathBuf,
    plugin: String,
    /// `name@version` from the connector's spec, else the plugin's file name.
    connector: Option<String>,
    started_at: std::time::SystemTime,
    results: Vec<TestResult>,
}

impl JunitReport {
    /// A report of `plugin`'s run, to be written to `path`.
    pub fn new(path: impl Into<std::path::PathBuf>, plugin: impl Into<String>) -> Self {
        JunitReport {
            path: path.into(),
            plugin: plugin.into(),
            connector: None,
            started_at: std::time::SystemTime::now(),
            results: Vec::new(),
        }
    }

    /// Who the suites belong to: `name@version`, else the plugin's file
    /// stem.
    fn connector(&self) -> String {
        self.connector.clone().unwrap_or_else(|| {
            std::path::Path::new(&self.plugin)
                .file_stem()
                .map_or_else(|| self.plugin.clone(), |s| s.to_string_lossy().into_owned())
        })
    }

    pub fn to_xml(&self) -> Result<String, String> {
        let connector = self.connector();
        let mut report = Report::new(format!("ctest {}", self.plugin));
        report.set_timestamp(chrono::DateTime::<chrono::Utc>::from(self.started_at));
        for (name, results) in super::by_suite(&self.results) {
            let classname = format!("{connector}/{name}");
            let mut suite = TestSuite::new(classname.as_str());
            suite.set_time(results.iter().map(|r| r.duration).sum());
            if let Some(first) = results.first() {
                suite.set_timestamp(chrono::DateTime::<chrono::Utc>::from(first.started_at));
            }
            suite.add_test_cases(results.into_iter().map(|r| test_case(r, &classname)));
            report.add_test_suite(suite);
        }
        report.set_time(self.results.iter().map(|r| r.duration).sum());
        report
            .to_string()
            .map_err(|e| format!("cannot render the JUnit report: {e}"))
    }
}

/// A message in one line, for the `message` attribute CI systems show as the
/// failure's title: its lines joined (a first line that ends in `:` is not
/// the whole story), at most [`TITLE_CHARS`] characters.
pub fn one_line(message: &str) -> String {
    let joined = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if joined.chars().count() <= TITLE_CHARS {
        return joined;
    }
    let mut clipped: String = joined.chars().take(TITLE_CHARS - 1).collect();
    clipped.push('…');
    clipped
}

const TITLE_CHARS: usize = 500;

fn test_case(result: &TestResult, classname: &str) -> TestCase {
    let status = match result.status {
        Status::Passed => TestCaseStatus::success(),
        Status::Failed => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            if let Some(message) = &result.message {
                status
                    .set_message(one_line(message))
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
    case.set_classname(classname)
        .set_time(result.duration)
        .set_timestamp(chrono::DateTime::<chrono::Utc>::from(result.started_at));
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
            Event::TestFinished { result, .. } => self.results.push(result.as_ref().clone()),
            Event::RunFinished { .. } => {
                let xml = self.to_xml()?;
                std::fs::write(&self.path, xml).map_err(|e| {
                    format!(
                        "{}: cannot write the JUnit report: {e}\n  fix: choose a writable path for --report-junit",
                        self.path.display()
                    )
                })?;
            }
            Event::Connector { name, version, .. } => {
                self.connector = Some(format!("{name}@{version}"));
            }
            Event::RunStarted { .. } | Event::TestStarted { .. } => {}
        }
        Ok(())
    }
}
