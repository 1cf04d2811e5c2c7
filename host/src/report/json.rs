//! The machine-readable report (`--report-json FILE`).

use serde::Serialize;

use super::{Event, Reporter, Summary, TestResult};

#[derive(Serialize)]
struct TestEntry {
    suite: &'static str,
    name: String,
    status: &'static str,
    message: Option<String>,
    duration_ms: u64,
    /// Left out for a test that made no instance (its verdict came from
    /// another test's work).
    #[serde(skip_serializing_if = "crate::usage::Resources::is_zero")]
    resources: crate::usage::Resources,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    logs: Vec<LogEntry>,
}

#[derive(Serialize)]
struct LogEntry {
    level: String,
    message: String,
}

#[derive(Serialize)]
struct Connector {
    name: String,
    version: String,
}

#[derive(Serialize)]
struct SummaryEntry {
    passed: usize,
    failed: usize,
    skipped: usize,
    #[serde(skip_serializing_if = "is_zero")]
    not_run: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct Report<'a> {
    ctest_version: &'static str,
    plugin: &'a str,
    /// Who the connector says it is (its spec), when its spec came.
    #[serde(skip_serializing_if = "Option::is_none")]
    connector: Option<&'a Connector>,
    tests: &'a [TestEntry],
    summary: SummaryEntry,
}

/// Collects results, and writes them to its file when the run finishes
/// ([`JsonReport::to_json`]).
pub struct JsonReport {
    path: std::path::PathBuf,
    plugin: String,
    connector: Option<Connector>,
    tests: Vec<TestEntry>,
    summary: Summary,
}

impl JsonReport {
    /// A report of `plugin`'s run, to be written to `path`.
    pub fn new(path: impl Into<std::path::PathBuf>, plugin: impl Into<String>) -> Self {
        JsonReport {
            path: path.into(),
            plugin: plugin.into(),
            connector: None,
            tests: Vec::new(),
            summary: Summary::default(),
        }
    }

    pub fn to_json(&self) -> String {
        let report = Report {
            ctest_version: env!("CARGO_PKG_VERSION"),
            plugin: &self.plugin,
            connector: self.connector.as_ref(),
            tests: &self.tests,
            summary: SummaryEntry {
                passed: self.summary.passed,
                failed: self.summary.failed,
                skipped: self.summary.skipped,
                not_run: self.summary.not_run,
            },
        };
        serde_json::to_string_pretty(&report).expect("the report is plain data")
    }
}

impl Reporter for JsonReport {
    fn event(&mut self, event: &Event) -> Result<(), String> {
        match event {
            Event::TestFinished { result, .. } => self.test_finished(result),
            Event::RunFinished { summary, .. } => {
                self.summary = *summary;
                std::fs::write(&self.path, self.to_json()).map_err(|e| {
                    format!(
                        "{}: cannot write the JSON report: {e}\n  fix: choose a writable path for --report-json",
                        self.path.display()
                    )
                })?;
            }
            Event::Connector { name, version, .. } => {
                self.connector = Some(Connector {
                    name: name.clone(),
                    version: version.clone(),
                })
            }
            Event::RunStarted { .. } | Event::TestStarted { .. } => {}
        }
        Ok(())
    }
}

impl JsonReport {
    fn test_finished(&mut self, r: &TestResult) {
        self.tests.push(TestEntry {
            suite: r.suite,
            name: r.name.clone(),
            status: r.status.as_str(),
            message: r.message.clone(),
            duration_ms: r.duration.as_millis() as u64,
            resources: r.resources,
            logs: r
                .logs
                .iter()
                .map(|l| LogEntry {
                    level: l.level.clone(),
                    message: l.message.clone(),
                })
                .collect(),
        });
    }
}
