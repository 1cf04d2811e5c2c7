//! The test configuration file (`--test-config ctest.yaml`), in the spirit of
//! Airbyte's acceptance-test-config.yml: per suite, the input sets to run it
//! with, and the reasons for what is bypassed.
//!
//! ```yaml
//! config_path: secrets/config.json        # used when --config is not given
//! custom_environment_variables:           # handed to the plugin, nothing else is
//!   REGION: eu
//! acceptance_tests:
//!   connection:
//!     tests:
//!       - config_path: secrets/config.json
//!         status: succeed
//!       - config_path: integration_tests/invalid_config.json
//!         status: failed
//!   basic_read:
//!     tests:
//!       - configured_catalog_path: integration_tests/catalog.json
//!         empty_streams:
//!           - name: refunds
//!             bypass_reason: "no refunds in the sandbox account"
//!         fail_on_extra_columns: false
//!         timeout_seconds: 300
//!   full_refresh:
//!     tests:
//!       - ignored_fields:
//!           users:
//!             - name: last_seen_at
//!               bypass_reason: "changes on every read"
//!   incremental:
//!     bypass_reason: "the API has no cursor"
//! ```
//!
//! Paths are relative to the file. An unknown key or a value of the wrong type
//! is reported with the file, line and column, and the keys that are allowed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestConfig {
    /// The connector's config, when `--config` is not given.
    pub config_path: Option<PathBuf>,
    /// Environment variables handed to the plugin (its only environment).
    #[serde(default)]
    pub custom_environment_variables: BTreeMap<String, String>,
    #[serde(default)]
    pub acceptance_tests: AcceptanceTests,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptanceTests {
    pub spec: Option<SuiteConfig>,
    pub connection: Option<SuiteConfig>,
    pub discovery: Option<SuiteConfig>,
    pub basic_read: Option<SuiteConfig>,
    pub full_refresh: Option<SuiteConfig>,
    pub incremental: Option<SuiteConfig>,
    pub backward_compatibility: Option<SuiteConfig>,
}

impl AcceptanceTests {
    pub fn suite(&self, name: &str) -> Option<&SuiteConfig> {
        match name {
            "spec" => self.spec.as_ref(),
            "connection" => self.connection.as_ref(),
            "discovery" => self.discovery.as_ref(),
            "basic_read" => self.basic_read.as_ref(),
            "full_refresh" => self.full_refresh.as_ref(),
            "incremental" => self.incremental.as_ref(),
            "backward_compatibility" => self.backward_compatibility.as_ref(),
            _ => None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteConfig {
    /// Skip the whole suite, for this reason.
    pub bypass_reason: Option<String>,
    /// Skip single tests of the suite: test name -> reason.
    #[serde(default)]
    pub bypass: BTreeMap<String, String>,
    /// The input sets: the suite runs once with each.
    #[serde(default)]
    pub tests: Vec<InputSet>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSet {
    /// The connector's config for this set (default: the run's config).
    pub config_path: Option<PathBuf>,
    /// connection: what `check` must answer with this config.
    pub status: Option<ExpectedStatus>,
    /// Reads: the streams to read, as a configured catalog (JSON).
    pub configured_catalog_path: Option<PathBuf>,
    /// The time limit of each test of the suite.
    pub timeout_seconds: Option<f64>,
    /// basic_read: streams that may yield no records, with why.
    #[serde(default)]
    pub empty_streams: Vec<Bypassed>,
    /// full_refresh: fields left out when comparing records, per stream.
    #[serde(default)]
    pub ignored_fields: BTreeMap<String, Vec<Bypassed>>,
    /// basic_read: fail on fields the schema does not declare (default true).
    pub fail_on_extra_columns: Option<bool>,
    /// incremental: the state to read from in the far-future test (JSON: a
    /// list of `{"stream": ..., "data": {...}}`, or an object stream -> state).
    pub future_state_path: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpectedStatus {
    Succeed,
    Failed,
    Exception,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bypassed {
    pub name: String,
    pub bypass_reason: String,
}

impl InputSet {
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout_seconds
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(Duration::from_secs_f64)
    }
}

/// Reads and checks the file. The error names the file, the line and column,
/// and what was expected.
pub fn load(path: &Path) -> Result<(TestConfig, PathBuf), String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "{}: cannot read the test configuration: {e}\n  fix: pass the path of a YAML file with --test-config",
            path.display()
        )
    })?;
    let config: TestConfig = serde_yaml_ng::from_str(&text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(":{}:{}", l.line(), l.column()))
            .unwrap_or_default();
        format!(
            "{}{at}: {e}\n  fix: correct that key or value; the allowed keys are documented in ctest's README (\"The test configuration file\")",
            path.display()
        )
    })?;
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    check(&config, path)?;
    Ok((config, base))
}

/// What serde cannot check: timeouts, and `status` outside connection.
fn check(config: &TestConfig, path: &Path) -> Result<(), String> {
    for suite in crate::suites::SUITES {
        let Some(s) = config.acceptance_tests.suite(suite) else {
            continue;
        };
        for (i, set) in s.tests.iter().enumerate() {
            let place = format!("{}: acceptance_tests.{suite}.tests[{i}]", path.display());
            if let Some(t) = set.timeout_seconds
                && !(t.is_finite() && t > 0.0)
            {
                return Err(format!(
                    "{place}.timeout_seconds: {t} is not a positive number of seconds\n  fix: for example `timeout_seconds: 60`"
                ));
            }
            if set.status.is_some() && *suite != "connection" {
                return Err(format!(
                    "{place}.status: `status` belongs to the connection suite\n  fix: move it under acceptance_tests.connection.tests"
                ));
            }
        }
        for name in s.bypass.keys() {
            let id = format!("{suite}/{name}");
            if !crate::suites::ALL_TESTS.contains(&id.as_str()) {
                return Err(format!(
                    "{}: acceptance_tests.{suite}.bypass: `{name}` is not a test of the {suite} suite\n  fix: use one of: {}",
                    path.display(),
                    crate::suites::ALL_TESTS
                        .iter()
                        .filter_map(|t| t.strip_prefix(&format!("{suite}/")))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// An input set with the files it names read and parsed.
#[derive(Debug, Clone, Default)]
pub struct PreparedSet {
    pub set: InputSet,
    /// The config of this set, and where it came from.
    pub config: Option<(Value, String)>,
    /// The streams the configured catalog names.
    pub streams: Option<std::collections::HashSet<String>>,
    /// The far-future state: (stream, state).
    pub future_state: Option<Vec<(String, Value)>>,
}

/// A suite's part of the test configuration, ready to run.
#[derive(Debug, Clone, Default)]
pub struct PreparedSuite {
    pub bypass_reason: Option<String>,
    pub bypass: BTreeMap<String, String>,
    pub sets: Vec<PreparedSet>,
}

/// Reads every file the test configuration names, so that a missing or broken
/// one stops the run before it starts.
pub fn prepare(
    config: &TestConfig,
    base: &Path,
) -> Result<BTreeMap<&'static str, PreparedSuite>, String> {
    let mut out = BTreeMap::new();
    for suite in crate::suites::SUITES {
        let Some(s) = config.acceptance_tests.suite(suite) else {
            continue;
        };
        let mut sets = Vec::new();
        for set in &s.tests {
            let config = match &set.config_path {
                None => None,
                Some(p) => {
                    let value = read_json(base, p, "config")?;
                    if !value.is_object() {
                        return Err(format!(
                            "{}: the config is not a JSON object",
                            base.join(p).display()
                        ));
                    }
                    Some((value, base.join(p).display().to_string()))
                }
            };
            let streams = match &set.configured_catalog_path {
                None => None,
                Some(p) => Some(catalog_streams(&read_json(base, p, "configured catalog")?).ok_or_else(|| {
                    format!(
                        "{}: the configured catalog has no `streams` list of {{\"stream\": {{\"name\": ...}}}} or {{\"name\": ...}}",
                        base.join(p).display()
                    )
                })?),
            };
            let future_state = match &set.future_state_path {
                None => None,
                Some(p) => Some(states(&read_json(base, p, "future state")?).ok_or_else(|| {
                    format!(
                        "{}: the future state is neither a list of {{\"stream\": ..., \"data\": ...}} nor an object of stream -> state",
                        base.join(p).display()
                    )
                })?),
            };
            sets.push(PreparedSet {
                set: set.clone(),
                config,
                streams,
                future_state,
            });
        }
        out.insert(
            *suite,
            PreparedSuite {
                bypass_reason: s.bypass_reason.clone(),
                bypass: s.bypass.clone(),
                sets,
            },
        );
    }
    Ok(out)
}

/// Stream names of a configured catalog, in Airbyte's form or ctest's.
fn catalog_streams(catalog: &Value) -> Option<std::collections::HashSet<String>> {
    catalog
        .get("streams")?
        .as_array()?
        .iter()
        .map(|s| {
            s.get("stream")
                .and_then(|inner| inner.get("name"))
                .or_else(|| s.get("name"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect()
}

/// States as a list of `{"stream", "data"}` (Airbyte's per-stream form is
/// accepted too: `{"stream": {"stream_descriptor": {"name"}, "stream_state"}}`),
/// or an object stream -> state.
fn states(value: &Value) -> Option<Vec<(String, Value)>> {
    match value {
        Value::Object(map) => Some(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                if let (Some(name), Some(data)) =
                    (item.get("stream").and_then(Value::as_str), item.get("data"))
                {
                    return Some((name.to_string(), data.clone()));
                }
                let stream = item.get("stream")?;
                let name = stream.get("stream_descriptor")?.get("name")?.as_str()?;
                Some((name.to_string(), stream.get("stream_state")?.clone()))
            })
            .collect(),
        _ => None,
    }
}

/// A JSON file named by the test configuration, relative to it.
pub fn read_json(base: &Path, path: &Path, what: &str) -> Result<Value, String> {
    let full = base.join(path);
    let text = std::fs::read_to_string(&full)
        .map_err(|e| format!("{}: cannot read the {what}: {e}", full.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}:{}:{}: the {what} is not valid JSON: {e}",
            full.display(),
            e.line(),
            e.column()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<TestConfig, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctest.yaml");
        std::fs::write(&path, yaml).unwrap();
        load(&path)
            .map(|(c, _)| c)
            .map_err(|e| e.replace(&dir.path().display().to_string(), "DIR"))
    }

    #[test]
    fn a_full_example_parses() {
        let c = parse(
            "config_path: c.json\ncustom_environment_variables:\n  A: b\nacceptance_tests:\n  connection:\n    tests:\n      - config_path: bad.json\n        status: failed\n  basic_read:\n    tests:\n      - empty_streams:\n          - name: x\n            bypass_reason: none yet\n        fail_on_extra_columns: false\n  incremental:\n    bypass_reason: no cursor\n",
        )
        .unwrap();
        assert_eq!(c.config_path, Some(PathBuf::from("c.json")));
        let conn = c.acceptance_tests.connection.unwrap();
        assert_eq!(conn.tests[0].status, Some(ExpectedStatus::Failed));
        assert_eq!(
            c.acceptance_tests
                .incremental
                .unwrap()
                .bypass_reason
                .as_deref(),
            Some("no cursor")
        );
    }

    #[test]
    fn mistakes_name_the_place_and_the_fix() {
        let unknown =
            parse("acceptance_tests:\n  basic_read:\n    tests:\n      - empty_stream: []\n")
                .unwrap_err();
        assert!(unknown.starts_with("DIR/ctest.yaml:4:9: "), "{unknown}");
        assert!(
            unknown.contains("unknown field `empty_stream`") && unknown.contains("empty_streams"),
            "{unknown}"
        );

        let wrong_type =
            parse("acceptance_tests:\n  connection:\n    tests:\n      - timeout_seconds: soon\n")
                .unwrap_err();
        assert!(wrong_type.starts_with("DIR/ctest.yaml:4:"), "{wrong_type}");

        let bad_status =
            parse("acceptance_tests:\n  connection:\n    tests:\n      - status: passed\n")
                .unwrap_err();
        assert!(
            bad_status.contains("unknown variant `passed`") && bad_status.contains("succeed"),
            "{bad_status}"
        );

        let unknown_suite = parse("acceptance_tests:\n  basic_reads: {}\n").unwrap_err();
        assert!(
            unknown_suite.contains("unknown field `basic_reads`"),
            "{unknown_suite}"
        );

        let bad_bypass =
            parse("acceptance_tests:\n  spec:\n    bypass:\n      secrets: later\n").unwrap_err();
        assert!(
            bad_bypass.contains("`secrets` is not a test of the spec suite")
                && bad_bypass.contains("secrets_marked"),
            "{bad_bypass}"
        );

        let negative =
            parse("acceptance_tests:\n  spec:\n    tests:\n      - timeout_seconds: -5\n")
                .unwrap_err();
        assert!(
            negative.contains("acceptance_tests.spec.tests[0].timeout_seconds"),
            "{negative}"
        );

        let misplaced =
            parse("acceptance_tests:\n  spec:\n    tests:\n      - status: failed\n").unwrap_err();
        assert!(
            misplaced.contains("`status` belongs to the connection suite"),
            "{misplaced}"
        );
    }
}
