//! The test configuration file (`--test-config ctest.yaml`), in the spirit of
//! Airbyte's acceptance-test-config.yml: per suite, the input sets to run it
//! with, and the reasons for what is bypassed.
//!
//! ```yaml
//! test_strictness_level: high             # every suite declared, records and future state given
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
//!         validate_data_points: true
//!         expect_records:
//!           path: integration_tests/expected_records.jsonl
//!           extra_records: true
//!         timeout_seconds: 300
//!   connector_attributes:
//!     tests:
//!       - streams_without_primary_key:
//!           - name: events
//!             bypass_reason: "the API gives events no id"
//!   full_refresh:
//!     tests:
//!       - ignored_fields:
//!           users:
//!             - name: last_seen_at
//!               bypass_reason: "changes on every read"
//!         bypassed_streams:
//!           - name: exports
//!             bypass_reason: "rebuilt on every read"
//!   incremental:
//!     tests:
//!       - future_state:
//!           future_state_path: integration_tests/abnormal_state.json
//!   backward_compatibility:
//!     bypass_reason: "first release"
//! ```
//!
//! Paths are relative to the file. An unknown key or a value of the wrong type
//! is reported with the file, line and column, and the keys that are allowed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

pub mod reader;
pub mod yaml;

// The option types of single suites are theirs, in their files.
pub use crate::suites::{ExpectRecords, ExpectedStatus, FutureState};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestConfig {
    /// `high`: every suite must be declared or bypassed with a reason, every
    /// basic_read input set must give `expect_records`, and every incremental
    /// one a `future_state` file covering every incremental stream.
    #[serde(default)]
    pub test_strictness_level: Strictness,
    /// The connector's config, when `--config` is not given.
    pub config_path: Option<PathBuf>,
    /// Environment variables handed to the plugin (its only environment).
    #[serde(default)]
    pub custom_environment_variables: BTreeMap<String, String>,
    /// The spec's `allowed-hosts` entries to keep: the test configuration may
    /// narrow the connector's network, never widen it.
    pub allowed_hosts: Option<Vec<String>>,
    /// Where the HTTP cassettes are (default `cassettes` next to this file).
    pub cassette_dir: Option<PathBuf>,
    /// Query parameters left out when matching a request to a cassette (a
    /// timestamp, a nonce).
    #[serde(default)]
    pub ignored_query_parameters: Vec<String>,
    #[serde(default)]
    pub acceptance_tests: AcceptanceTests,
    /// The scenario files (paths or globs, relative to this file); default:
    /// every `*.scenarios.yaml` next to it.
    pub scenarios: Option<Vec<String>>,
    /// Values of the scenarios' variables (`--var` overrides them).
    #[serde(default)]
    pub vars: BTreeMap<String, Value>,
    /// Airbyte's: the directory the file's relative paths are relative to,
    /// itself relative to the file.
    pub base_path: Option<PathBuf>,
    /// What the reader accepted and does not use, or read differently, one
    /// line each (`file:line: ...`), for the run to print.
    #[serde(skip)]
    pub notes: Vec<String>,
    /// With `test_strictness_level: high`, what the file leaves out that the
    /// level demands: (suite, the whole message). As in Airbyte, these are
    /// failed tests of the run (`SUITE/test_strictness_level`), not mistakes
    /// in the file.
    #[serde(skip)]
    pub strictness: Vec<(&'static str, String)>,
}

/// `acceptance_tests`: per suite, its configuration. The suites are the
/// registry's ([`crate::suites::REGISTRY`]): a name it does not hold is an
/// error at its line, listing the suites.
#[derive(Debug, Default)]
pub struct AcceptanceTests(BTreeMap<&'static str, SuiteConfig>);

impl AcceptanceTests {
    pub fn suite(&self, name: &str) -> Option<&SuiteConfig> {
        self.0.get(name)
    }
}

impl<'de> Deserialize<'de> for AcceptanceTests {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Suites;
        impl<'de> serde::de::Visitor<'de> for Suites {
            type Value = AcceptanceTests;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of suite names to their configuration")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                use serde::de::Error;
                let mut out = BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    let Some(entry) = crate::suites::suite(&key) else {
                        return Err(A::Error::unknown_field(
                            &key,
                            crate::suites::SUITES.as_slice(),
                        ));
                    };
                    if out.contains_key(entry.name) {
                        return Err(A::Error::duplicate_field(entry.name));
                    }
                    out.insert(entry.name, map.next_value::<SuiteConfig>()?);
                }
                Ok(AcceptanceTests(out))
            }
        }
        deserializer.deserialize_map(Suites)
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
    /// basic_read: every field the schema declares must hold a non-null value
    /// in at least one record (default false).
    pub validate_data_points: Option<bool>,
    /// basic_read: records the read must produce.
    pub expect_records: Option<ExpectRecords>,
    /// incremental: the state to read from in the far-future test.
    pub future_state: Option<FutureState>,
    /// incremental: where each stream's cursor sits in its state, as field
    /// names from the state's root (Airbyte's key), for connectors whose
    /// state has its own shape. Default: the cursor field's path, or its
    /// last name at the state's top level.
    #[serde(default)]
    pub cursor_paths: BTreeMap<String, Vec<String>>,
    /// The reading suites: streams left out of this set's reads, with why.
    #[serde(default)]
    pub bypassed_streams: Vec<Bypassed>,
    /// connector_attributes: streams that may lack a primary key, with why.
    #[serde(default)]
    pub streams_without_primary_key: Vec<Bypassed>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strictness {
    #[default]
    Low,
    High,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bypassed {
    pub name: String,
    /// Optional, as in Airbyte.
    pub bypass_reason: Option<String>,
}

impl Bypassed {
    /// The reason, or that none was given.
    pub fn reason(&self) -> &str {
        self.bypass_reason.as_deref().unwrap_or("no reason given")
    }
}

impl InputSet {
    /// The fields `ignored_fields` leaves out of `stream`'s records, each as
    /// field names from the root ([`crate::schema::remove_at`] takes `*` for
    /// every field or item). A name with `/` is Airbyte's path (`a/b`, `a/*/c`);
    /// else it is ctest's dot path, and a name with a dot is also taken
    /// whole, for a field whose name holds the dot.
    pub fn ignored_paths(&self, stream: &str) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for field in self.ignored_fields.get(stream).into_iter().flatten() {
            let name = field.name.trim_start_matches('/');
            if name.contains('/') {
                out.push(name.split('/').map(str::to_string).collect());
            } else {
                out.push(name.split('.').map(str::to_string).collect());
                if name.contains('.') {
                    out.push(vec![name.to_string()]);
                }
            }
        }
        out
    }

    pub fn timeout(&self) -> Option<Duration> {
        self.timeout_seconds
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(Duration::from_secs_f64)
    }
}

/// The most problems one message lists (the count says how many there were).
const MAX_PROBLEMS: usize = 50;

/// Reads and checks the file: every problem of it in one message, each at
/// its line and column with a fix. Airbyte's `acceptance-test-config.yml` is
/// read as it is ([`reader`]); what ctest accepts and does not use is in the
/// configuration's `notes`.
pub fn load(path: &Path) -> Result<(TestConfig, PathBuf), String> {
    let file = path.display().to_string();
    let cannot = |e: &dyn std::fmt::Display| {
        format!(
            "{file}: cannot read the test configuration: {e}\n  fix: pass the path of a YAML file with --test-config"
        )
    };
    let size = std::fs::metadata(path).map_err(|e| cannot(&e))?.len();
    if size > yaml::MAX_BYTES as u64 {
        return Err(format!(
            "{file}: the test configuration has {size} bytes, more than ctest reads ({})\n  fix: pass the right file; a test configuration is a few KiB",
            yaml::MAX_BYTES
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| cannot(&e))?;
    let root = yaml::parse(&text).map_err(|e| {
        format!(
            "{file}:{}:{}: {}\n  fix: correct the YAML at that place",
            e.line, e.column, e.message
        )
    })?;
    let read = reader::read(&root);
    let at = |place: &str| {
        let (line, column) = place_of(&read.places, place);
        format!("{file}:{line}:{column}")
    };
    let mut problems: Vec<String> = read
        .problems
        .iter()
        .map(|p| {
            format!(
                "{file}:{}:{}: {}{}\n  fix: {}",
                p.line,
                p.column,
                if p.place.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", p.place)
                },
                p.what,
                p.fix
            )
        })
        .collect();
    let parent = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut config = match serde_json::from_value::<TestConfig>(read.value) {
        Ok(c) => c,
        Err(e) => {
            problems.push(format!(
                "{file}:1:1: {e}\n  fix: correct that value; the keys are documented in ctest's README (\"The test configuration file\")"
            ));
            TestConfig::default()
        }
    };
    config.notes = read
        .notes
        .iter()
        .map(|n| format!("{file}:{}: {}", n.line, n.text))
        .collect();
    let base = match &config.base_path {
        None => parent.clone(),
        Some(p)
            if p.is_absolute() || p.components().any(|c| c == std::path::Component::ParentDir) =>
        {
            problems.push(format!(
                "{}: base_path: `{}` leads outside the directory of the test configuration\n  fix: give a directory under it, or leave `base_path` out",
                at("base_path"),
                p.display()
            ));
            parent.clone()
        }
        Some(p) => parent.join(p),
    };
    problems.extend(check(&config, &at));
    if config.test_strictness_level == Strictness::High {
        config.strictness = strict(&config, &at);
    }
    if !problems.is_empty() {
        return Err(render(&file, problems));
    }
    default_config_path(&mut config, &base, &file);
    Ok((config, base))
}

/// One problem as it is; several under a count.
fn render(file: &str, mut problems: Vec<String>) -> String {
    if problems.len() == 1 {
        return problems.remove(0);
    }
    let count = problems.len();
    problems.truncate(MAX_PROBLEMS);
    let mut out = format!("{file}: {count} problems in the test configuration:");
    for p in &problems {
        out.push('\n');
        out.push_str(p);
    }
    if count > problems.len() {
        out.push_str(&format!("\n… and {} more", count - problems.len()));
    }
    out
}

/// The line and column of `place`, else of the nearest enclosing place.
fn place_of(
    places: &std::collections::HashMap<String, (usize, usize)>,
    place: &str,
) -> (usize, usize) {
    let mut p = place;
    loop {
        if let Some(at) = places.get(p) {
            return *at;
        }
        match p.rfind(['.', '[']) {
            Some(i) => p = &p[..i],
            None => return (1, 1),
        }
    }
}

/// Without a top-level `config_path`, the run's config is Airbyte's default
/// `secrets/config.json` when it exists, else the first input set's config
/// that is meant to work (not a connection set expecting a failure). The
/// choice is said in a note.
fn default_config_path(config: &mut TestConfig, base: &Path, file: &str) {
    if config.config_path.is_some() {
        return;
    }
    let airbyte = Path::new("secrets/config.json");
    if base.join(airbyte).is_file() {
        config.config_path = Some(airbyte.to_path_buf());
        config.notes.push(format!(
            "{file}: no top-level `config_path`: the run's config is `secrets/config.json` (Airbyte's default), unless --config is given"
        ));
        return;
    }
    let first = crate::suites::REGISTRY.iter().find_map(|entry| {
        let suite = config.acceptance_tests.suite(entry.name)?;
        suite.tests.iter().enumerate().find_map(|(i, set)| {
            let meant_to_work = !matches!(
                set.status,
                Some(ExpectedStatus::Failed | ExpectedStatus::Exception)
            );
            set.config_path
                .clone()
                .filter(|_| meant_to_work)
                .map(|p| (p, format!("acceptance_tests.{}.tests[{i}]", entry.name)))
        })
    });
    if let Some((p, place)) = first {
        config.notes.push(format!(
            "{file}: no top-level `config_path`: the run's config is `{}`, the config of {place}, unless --config is given",
            p.display()
        ));
        config.config_path = Some(p);
    }
}

/// What the reader leaves to the suites: timeouts, keys outside the suites
/// they belong to, bypasses of tests that do not exist. `at` gives a place's
/// `file:line:column`.
fn check(config: &TestConfig, at: &dyn Fn(&str) -> String) -> Vec<String> {
    let mut problems = Vec::new();
    for entry in crate::suites::REGISTRY {
        let suite = entry.name;
        let Some(s) = config.acceptance_tests.suite(suite) else {
            continue;
        };
        for (i, set) in s.tests.iter().enumerate() {
            let set_place = format!("acceptance_tests.{suite}.tests[{i}]");
            let place = format!("{}: {set_place}", at(&set_place));
            if let Some(t) = set.timeout_seconds
                && !(t.is_finite() && t > 0.0)
            {
                problems.push(format!(
                    "{place}.timeout_seconds: {t} is not a positive number of seconds\n  fix: for example `timeout_seconds: 60`"
                ));
            }
            for (key, given) in set.keys_given() {
                if given && !entry.input_keys.contains(&key) {
                    let key_place = format!("{set_place}.{key}");
                    problems.push(format!(
                        "{}: {key_place}: `{key}` does not apply to the {suite} suite\n  fix: move it to the input sets of {}",
                        at(&key_place),
                        crate::suites::REGISTRY
                            .iter()
                            .filter(|b| b.input_keys.contains(&key))
                            .map(|b| format!("acceptance_tests.{}", b.name))
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ));
                }
            }
            if let Err(e) = (entry.check_set)(set, &place) {
                problems.push(e);
            }
        }
        for name in s.bypass.keys() {
            let id = format!("{suite}/{name}");
            if !crate::suites::ALL_TESTS.contains(&id.as_str()) {
                let place = format!("acceptance_tests.{suite}.bypass.{name}");
                problems.push(format!(
                    "{}: {place}: `{name}` is not a test of the {suite} suite\n  fix: use one of: {}",
                    at(&place),
                    crate::suites::ALL_TESTS
                        .iter()
                        .filter_map(|t| t.strip_prefix(&format!("{suite}/")))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    problems
}

/// `test_strictness_level: high`, as Airbyte has it: spec, connection,
/// discovery, basic_read, full_refresh and incremental declared or bypassed
/// with a reason; basic_read with expected records, incremental with a future
/// state. What is missing is returned per suite, for the run to report as a
/// failed test. ctest's other suites are not demanded: connector_attributes
/// runs with its defaults, and write_back and backward_compatibility run when
/// they can and are skipped with the reason when they cannot.
fn strict(config: &TestConfig, at: &dyn Fn(&str) -> String) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    let because = "test_strictness_level is high";
    for entry in crate::suites::REGISTRY
        .iter()
        .filter(|s| s.declared_when_strict)
    {
        let suite = entry.name;
        let place = format!("acceptance_tests.{suite}");
        let Some(s) = config.acceptance_tests.suite(suite) else {
            problems.push((entry.name, format!(
                "{}: {place}: missing; {because}, so every suite must be declared or bypassed with a reason\n  fix: add `{suite}: {{tests: [{{}}]}}`, or `{suite}: {{bypass_reason: \"why it does not apply\"}}`",
                at("acceptance_tests")
            )));
            continue;
        };
        if s.bypass_reason.is_some() {
            continue;
        }
        let Some(crate::suites::StrictInput { key, form, given }) = &entry.strict_input else {
            continue;
        };
        if s.tests.is_empty() {
            problems.push((entry.name, format!(
                "{}: {place}.tests: missing; {because}, so {suite} needs input sets, each with `{key}`\n  fix: add `tests: [{{{form}}}]`",
                at(&place)
            )));
        }
        for (i, set) in s.tests.iter().enumerate() {
            if !given(set) {
                let set_place = format!("{place}.tests[{i}]");
                problems.push((entry.name, format!(
                    "{}: {set_place}.{key}: missing; {because}\n  fix: add `{form}`, or a `bypass_reason` in it",
                    at(&set_place)
                )));
            }
        }
    }
    problems
}

impl InputSet {
    /// Each optional key: its name, and whether it is given. Which suites
    /// take it, each suite's registry entry says ([`crate::suites::Suite`]).
    fn keys_given(&self) -> [(&'static str, bool); 11] {
        [
            ("status", self.status.is_some()),
            (
                "configured_catalog_path",
                self.configured_catalog_path.is_some(),
            ),
            ("empty_streams", !self.empty_streams.is_empty()),
            ("ignored_fields", !self.ignored_fields.is_empty()),
            (
                "fail_on_extra_columns",
                self.fail_on_extra_columns.is_some(),
            ),
            ("validate_data_points", self.validate_data_points.is_some()),
            ("expect_records", self.expect_records.is_some()),
            ("future_state", self.future_state.is_some()),
            ("cursor_paths", !self.cursor_paths.is_empty()),
            ("bypassed_streams", !self.bypassed_streams.is_empty()),
            (
                "streams_without_primary_key",
                !self.streams_without_primary_key.is_empty(),
            ),
        ]
    }
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
    /// The records basic_read must produce.
    pub expected_records: Option<ExpectedRecords>,
    /// Where they are (confined to the test configuration's directory), for
    /// `ctest snapshot` to write.
    pub expected_records_path: Option<PathBuf>,
}

impl PreparedSet {
    /// Whether this set's reads include `stream`: it is in the configured
    /// catalog (when one is given) and not bypassed.
    pub fn includes(&self, stream: &str) -> bool {
        self.streams.as_ref().is_none_or(|s| s.contains(stream))
            && !self.set.bypassed_streams.iter().any(|b| b.name == stream)
    }
}

/// The expected records file, read.
#[derive(Debug, Clone)]
pub struct ExpectedRecords {
    /// The file, for messages.
    pub file: String,
    pub records: Vec<ExpectedRecord>,
}

#[derive(Debug, Clone)]
pub struct ExpectedRecord {
    pub stream: String,
    pub data: Value,
    /// Its line in the file (from 1).
    pub line: usize,
}

/// A suite's part of the test configuration, ready to run.
#[derive(Debug, Clone, Default)]
pub struct PreparedSuite {
    pub bypass_reason: Option<String>,
    pub bypass: BTreeMap<String, String>,
    pub sets: Vec<PreparedSet>,
}

/// A path the test configuration gives at `key`, resolved against its
/// directory `base` and confined to it: an absolute path, one whose `..`
/// climbs out, or one reached through a symbolic link that leads out is
/// refused, unless it lies in a directory the operator allowed
/// (`--allow-path`). A test configuration is the tenant's: it must not hand
/// the plugin, or a report, a file of the runner's or another tenant's, nor
/// make record mode write elsewhere.
pub fn confine(
    base: &Path,
    key: &str,
    path: &Path,
    allowed: &[PathBuf],
) -> Result<PathBuf, String> {
    let base = if base.as_os_str().is_empty() {
        Path::new(".")
    } else {
        base
    };
    let joined = base.join(path);
    let refuse = |why: &str| {
        format!(
            "{key}: `{}` {why}; paths in a test configuration stay inside its directory `{}`\n  fix: use a path relative to that directory, or (as the operator) allow the directory with --allow-path DIR",
            path.display(),
            base.display()
        )
    };
    let operator_allows = |p: &Path| {
        real_path(p).is_some_and(|real| {
            allowed
                .iter()
                .filter_map(|dir| dir.canonicalize().ok())
                .any(|dir| real.starts_with(dir))
        })
    };
    if operator_allows(&joined) {
        return Ok(joined);
    }
    if path.is_absolute() || path.has_root() {
        return Err(refuse("is an absolute path"));
    }
    let mut depth = 0usize;
    for part in path.components() {
        match part {
            std::path::Component::ParentDir if depth == 0 => {
                return Err(refuse("climbs out with `..`"));
            }
            std::path::Component::ParentDir => depth -= 1,
            std::path::Component::Normal(_) => depth += 1,
            _ => {}
        }
    }
    let (Some(real), Some(real_base)) = (real_path(&joined), real_path(base)) else {
        return Ok(joined);
    };
    if !real.starts_with(&real_base) {
        return Err(refuse(&format!(
            "leads out through a symbolic link (to `{}`)",
            real.display()
        )));
    }
    Ok(joined)
}

/// The path with every symbolic link resolved: the file's own when it exists,
/// else its nearest existing ancestor's with the rest appended.
fn real_path(path: &Path) -> Option<PathBuf> {
    if let Ok(real) = path.canonicalize() {
        return Some(real);
    }
    let parent = path.parent()?;
    let name = path.file_name()?;
    Some(
        real_path(if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        })?
        .join(name),
    )
}

/// Reads every file the test configuration names, so that a missing or broken
/// one stops the run before it starts. Each path is [`confine`]d.
///
/// With `snapshot` (`ctest snapshot`), an expected records file that does
/// not exist yet, or cannot be read, is no error: the snapshot writes it.
pub fn prepare(
    config: &TestConfig,
    file: &Path,
    allowed: &[PathBuf],
    snapshot: bool,
) -> Result<BTreeMap<&'static str, PreparedSuite>, String> {
    let parent = file.parent().unwrap_or(Path::new("."));
    let joined;
    let base = match &config.base_path {
        Some(p) => {
            joined = parent.join(p);
            joined.as_path()
        }
        None => parent,
    };
    let confined = |key: &str, p: &Path| {
        confine(base, key, p, allowed).map_err(|e| format!("{}: {e}", file.display()))
    };
    // Every file of every set is read, and every problem said at once.
    let mut problems = Vec::new();
    let mut out = BTreeMap::new();
    for suite in crate::suites::REGISTRY.iter().map(|s| s.name) {
        let Some(s) = config.acceptance_tests.suite(suite) else {
            continue;
        };
        let mut sets = Vec::new();
        for (i, set) in s.tests.iter().enumerate() {
            let key = |k: &str| format!("acceptance_tests.{suite}.tests[{i}].{k}");
            // A JSON file the set names at `k`, confined, read, and made
            // into what the set needs by `make`.
            let mut file_of = |k: &str,
                               p: Option<&PathBuf>,
                               what: &str,
                               make: &dyn Fn(&Value, &Path) -> Result<(), String>|
             -> Option<(Value, PathBuf)> {
                let p = p?;
                let found = confined(&key(k), p).and_then(|p| {
                    let v = read_json(Path::new(""), &p, what)?;
                    make(&v, &p)?;
                    Ok((v, p))
                });
                found.map_err(|e| problems.push(e)).ok()
            };
            let config = file_of(
                "config_path",
                set.config_path.as_ref(),
                "config",
                &|v, p| {
                    if v.is_object() {
                        Ok(())
                    } else {
                        Err(format!("{}: the config is not a JSON object", p.display()))
                    }
                },
            )
            .map(|(v, p)| (v, p.display().to_string()));
            let streams = file_of(
                "configured_catalog_path",
                set.configured_catalog_path.as_ref(),
                "configured catalog",
                &|v, p| {
                    catalog_streams(v).map(|_| ()).ok_or_else(|| format!(
                        "{}: the configured catalog has no `streams` list of {{\"stream\": {{\"name\": ...}}}} or {{\"name\": ...}}",
                        p.display()
                    ))
                },
            )
            .and_then(|(v, _)| catalog_streams(&v));
            let future_state = file_of(
                "future_state.future_state_path",
                set.future_state.as_ref().and_then(|f| f.future_state_path.as_ref()),
                "future state",
                &|v, p| {
                    states(v).map(|_| ()).ok_or_else(|| format!(
                        "{}: the future state is neither a list of {{\"stream\": ..., \"data\": ...}} nor an object of stream -> state",
                        p.display()
                    ))
                },
            )
            .and_then(|(v, _)| states(&v));
            let expected_records_path = set
                .expect_records
                .as_ref()
                .and_then(|e| e.path.as_ref())
                .and_then(|p| {
                    confined(&key("expect_records.path"), p)
                        .map_err(|e| problems.push(e))
                        .ok()
                });
            let expected_records = match &expected_records_path {
                None => None,
                Some(p) if snapshot => read_expected_records(p).ok(),
                Some(p) => read_expected_records(p).map_err(|e| problems.push(e)).ok(),
            };
            sets.push(PreparedSet {
                set: set.clone(),
                config,
                streams,
                future_state,
                expected_records,
                expected_records_path,
            });
        }
        out.insert(
            suite,
            PreparedSuite {
                bypass_reason: s.bypass_reason.clone(),
                bypass: s.bypass.clone(),
                sets,
            },
        );
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(render(&file.display().to_string(), problems))
    }
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

/// A JSON Lines file of expected records: each line `{"stream": ..., "data":
/// {...}}` (Airbyte's `{"type": "RECORD", "record": {...}}` too); blank lines
/// are skipped.
fn read_expected_records(path: &Path) -> Result<ExpectedRecords, String> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{file}: cannot read the expected records: {e}"))?;
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line).map_err(|e| {
            format!("{file}:{line_no}:{}: the line is not valid JSON: {e}\n  fix: one JSON object per line: {{\"stream\": \"users\", \"data\": {{...}}}}", e.column())
        })?;
        let record = value
            .get("record")
            .filter(|_| value.get("type").is_some())
            .unwrap_or(&value);
        match (
            record.get("stream").and_then(Value::as_str),
            record.get("data"),
        ) {
            (Some(stream), Some(data)) if data.is_object() => records.push(ExpectedRecord {
                stream: stream.to_string(),
                data: data.clone(),
                line: line_no,
            }),
            _ => {
                return Err(format!(
                    "{file}:{line_no}: expected an object with `stream` (a string) and `data` (an object)\n  fix: write the line as {{\"stream\": \"users\", \"data\": {{\"id\": 1}}}}"
                ));
            }
        }
    }
    if records.is_empty() {
        return Err(format!(
            "{file}: the expected records file has no records, so it would check nothing\n  fix: add the records the read must produce, one per line, or give `bypass_reason` instead of `path`"
        ));
    }
    Ok(ExpectedRecords { file, records })
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
        let conn = c.acceptance_tests.suite("connection").unwrap();
        assert_eq!(conn.tests[0].status, Some(ExpectedStatus::Failed));
        assert_eq!(
            c.acceptance_tests
                .suite("incremental")
                .unwrap()
                .bypass_reason
                .as_deref(),
            Some("no cursor")
        );
    }

    /// The keys an input set can give and the keys the registry's suites
    /// take are the same: a key no suite takes could never be used, and a
    /// suite's key the file cannot give would be a typo.
    #[test]
    fn the_input_set_keys_are_the_suites_keys() {
        let keys: Vec<&str> = InputSet::default()
            .keys_given()
            .iter()
            .map(|(k, _)| *k)
            .collect();
        for key in &keys {
            assert!(
                crate::suites::REGISTRY
                    .iter()
                    .any(|s| s.input_keys.contains(key)),
                "no suite takes `{key}`"
            );
        }
        for suite in crate::suites::REGISTRY {
            for key in suite.input_keys {
                assert!(
                    keys.contains(key),
                    "{}: `{key}` is not an input-set key",
                    suite.name
                );
            }
        }
    }

    /// The example in README's "The test configuration file" is one ctest
    /// accepts, every key of it.
    #[test]
    fn the_readme_example_parses() {
        let readme = include_str!("../../../README.md");
        let section = readme
            .split("## The test configuration file")
            .nth(1)
            .expect("the section");
        let yaml = section
            .split("```yaml\n")
            .nth(1)
            .and_then(|b| b.split("```").next())
            .expect("a yaml block");
        let c = parse(yaml).unwrap();
        let incremental = &c.acceptance_tests.suite("incremental").unwrap().tests[0];
        assert_eq!(
            incremental.cursor_paths["events"],
            ["checkpoint", "position"]
        );
    }

    #[test]
    fn mistakes_name_the_place_and_the_fix() {
        let unknown =
            parse("acceptance_tests:\n  basic_read:\n    tests:\n      - empty_stream: []\n")
                .unwrap_err();
        assert!(unknown.starts_with("DIR/ctest.yaml:4:9: "), "{unknown}");
        assert!(
            unknown.contains("unknown key `empty_stream`")
                && unknown.contains("did you mean `empty_streams`?"),
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
            bad_status.contains("expected one of succeed, failed, exception, found `passed`"),
            "{bad_status}"
        );

        let unknown_suite = parse("acceptance_tests:\n  basic_reads: {}\n").unwrap_err();
        assert!(
            unknown_suite.contains("unknown key `basic_reads`")
                && unknown_suite.contains("did you mean `basic_read`?"),
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
            misplaced.contains("tests[0].status: `status` does not apply to the spec suite")
                && misplaced
                    .contains("fix: move it to the input sets of acceptance_tests.connection"),
            "{misplaced}"
        );

        let misplaced = parse("acceptance_tests:\n  full_refresh:\n    tests:\n      - expect_records: {path: e.jsonl}\n").unwrap_err();
        assert!(
            misplaced.contains("full_refresh.tests[0].expect_records: `expect_records` does not apply to the full_refresh suite"),
            "{misplaced}"
        );

        let both = parse("acceptance_tests:\n  basic_read:\n    tests:\n      - expect_records: {path: e.jsonl, bypass_reason: later}\n").unwrap_err();
        assert!(both.contains("give either `path`"), "{both}");

        let empty_path = parse(
            "acceptance_tests:\n  incremental:\n    tests:\n      - cursor_paths: {users: []}\n",
        )
        .unwrap_err();
        assert!(
            empty_path.contains("incremental.tests[0].cursor_paths.users: [] is not a path"),
            "{empty_path}"
        );
        let misplaced = parse("acceptance_tests:\n  basic_read:\n    tests:\n      - cursor_paths: {users: [updated_at]}\n").unwrap_err();
        assert!(
            misplaced.contains("`cursor_paths` does not apply to the basic_read suite"),
            "{misplaced}"
        );

        let outside = parse(
            "acceptance_tests:\n  full_refresh:\n    tests:\n      - skip_comprehensive_incremental_tests: yes\n",
        )
        .unwrap_err();
        assert!(
            outside.contains("DIR/ctest.yaml:4:47: acceptance_tests.full_refresh.tests[0].skip_comprehensive_incremental_tests: `skip_comprehensive_incremental_tests` applies to the incremental suite"),
            "{outside}"
        );
    }

    /// The six suites Airbyte's high strictness wants declared, but for
    /// basic_read and incremental.
    const ALL_DECLARED: &str = "test_strictness_level: high\nacceptance_tests:\n  spec: {}\n  connection: {}\n  discovery: {}\n  full_refresh: {}\n";

    /// What `test_strictness_level: high` finds missing, per suite: as in
    /// Airbyte, failed tests of the run rather than mistakes of the file.
    fn strictness(yaml: &str) -> Vec<(&'static str, String)> {
        parse(yaml).unwrap().strictness
    }

    #[test]
    fn high_strictness_wants_every_suite_records_and_future_state() {
        let missing = strictness("test_strictness_level: high\nacceptance_tests:\n  spec: {}\n");
        let suites: Vec<&str> = missing.iter().map(|(s, _)| *s).collect();
        // Airbyte's six; ctest's own suites are not demanded.
        assert_eq!(
            suites,
            [
                "connection",
                "discovery",
                "basic_read",
                "full_refresh",
                "incremental"
            ],
            "{missing:#?}"
        );
        assert!(
            missing[0]
                .1
                .contains("acceptance_tests.connection: missing; test_strictness_level is high")
                && missing[0].1.contains("bypass_reason"),
            "{missing:#?}"
        );

        let no_records = strictness(&format!(
            "{ALL_DECLARED}  incremental: {{bypass_reason: no cursor}}\n  basic_read:\n    tests:\n      - empty_streams: []\n"
        ));
        assert_eq!(no_records.len(), 1, "{no_records:#?}");
        assert_eq!(no_records[0].0, "basic_read");
        assert!(
            no_records[0].1.contains("ctest.yaml:10:9: acceptance_tests.basic_read.tests[0].expect_records: missing; test_strictness_level is high"),
            "{no_records:#?}"
        );

        let no_sets = strictness(&format!(
            "{ALL_DECLARED}  basic_read: {{bypass_reason: no data}}\n  incremental: {{}}\n"
        ));
        assert!(
            no_sets[0]
                .1
                .contains("acceptance_tests.incremental.tests: missing"),
            "{no_sets:#?}"
        );

        let no_state = strictness(&format!(
            "{ALL_DECLARED}  basic_read: {{bypass_reason: no data}}\n  incremental:\n    tests:\n      - future_state: {{missing_streams: []}}\n"
        ));
        assert!(
            no_state[0]
                .1
                .contains("incremental.tests[0].future_state: missing"),
            "{no_state:#?}"
        );

        // Bypassed with reasons, it is complete.
        assert_eq!(
            strictness(&format!(
                "{ALL_DECLARED}  basic_read:\n    tests:\n      - expect_records: {{bypass_reason: no fixed data}}\n  incremental:\n    tests:\n      - future_state: {{bypass_reason: generated is fine}}\n"
            )),
            []
        );
        // Low strictness (the default) asks none of this.
        assert_eq!(strictness("acceptance_tests:\n  spec: {}\n"), []);
    }

    /// An Airbyte file as teams have them: its own keys noted once each,
    /// YAML 1.1 booleans, plain-string lists, no bypass reasons, the flat
    /// `future_state_path`, `/` paths and patterns in `ignored_fields`.
    #[test]
    fn an_airbyte_file_is_read_as_it_is() {
        let c = parse(
            "connector_image: airbyte/source-x:dev\nacceptance_tests:\n  spec:\n    tests:\n      - spec_path: source_x/spec.json\n        backward_compatibility_tests_config:\n          previous_connector_version: 1.2.0\n  discovery:\n    tests:\n      - config_path: c.json\n        backward_compatibility_tests_config:\n          disable_for_version: 0.1.0\n  basic_read:\n    tests:\n      - config_path: c.json\n        empty_streams: [a, b, {name: c, bypass_reason: }]\n        expect_records:\n          path: e.jsonl\n          extra_fields: no\n          exact_order: Yes\n        validate_schema: off\n  full_refresh:\n    tests:\n      - ignored_fields:\n          users: [updated_at, steps/*/started_at, props/hs_time_*]\n  incremental:\n    tests:\n      - future_state_path: s.json\n        skip_comprehensive_incremental_tests: yes\n        threshold_days: 30\n  connector_documentation:\n    tests: [{}]\n",
        )
        .unwrap();
        let read = &c.acceptance_tests.suite("basic_read").unwrap().tests[0];
        let names: Vec<&str> = read.empty_streams.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(read.empty_streams[0].reason(), "no reason given");
        let expect = read.expect_records.as_ref().unwrap();
        assert!(!expect.extra_fields && expect.exact_order);
        let full = &c.acceptance_tests.suite("full_refresh").unwrap().tests[0];
        assert_eq!(
            full.ignored_paths("users"),
            [
                vec!["updated_at"],
                vec!["steps", "*", "started_at"],
                vec!["props", "hs_time_*"]
            ]
        );
        let incremental = c.acceptance_tests.suite("incremental").unwrap();
        assert_eq!(
            incremental.tests[0]
                .future_state
                .as_ref()
                .unwrap()
                .future_state_path,
            Some(PathBuf::from("s.json"))
        );
        assert!(
            incremental.bypass["sequential_slices"]
                .contains("skip_comprehensive_incremental_tests")
        );
        // No top-level config: the first input set's that is meant to work.
        assert_eq!(c.config_path, Some(PathBuf::from("c.json")));
        let notes = c.notes.join("\n");
        for said in [
            "ctest.yaml:1: `connector_image` is not used by ctest",
            "ctest.yaml:5: `spec_path` is not used by ctest",
            "ctest.yaml:7: `previous_connector_version: 1.2.0`: ctest's backward_compatibility suite compares with the component you pass: `ctest run NEW.wasm --previous <version 1.2.0's .wasm>`",
            "ctest.yaml:12: `backward_compatibility_tests_config.disable_for_version` is not used by ctest",
            "ctest.yaml:21: `validate_schema` is not used by ctest: ctest always checks every record",
            "ctest.yaml:30: `threshold_days` is not used by ctest",
            "ctest.yaml:32: `connector_documentation` is not used by ctest",
            "the run's config is `c.json`, the config of acceptance_tests.discovery.tests[0]",
        ] {
            assert!(notes.contains(said), "{said:?} not in:\n{notes}");
        }

        // The legacy layout (before Airbyte 0.2.12).
        let legacy = parse("connector_image: x\ntests:\n  connection:\n    - config_path: c.json\n      status: exception\n  basic_read:\n    - empty_streams: [a]\n").unwrap();
        assert_eq!(
            legacy.acceptance_tests.suite("connection").unwrap().tests[0].status,
            Some(ExpectedStatus::Exception)
        );
        assert!(
            legacy
                .notes
                .join("\n")
                .contains("`tests` (Airbyte's layout before 0.2.12) is read as `acceptance_tests`")
        );
        // Only a connection set expecting failure: no config is taken from it.
        assert_eq!(legacy.config_path, None);
    }

    /// Every mistake of a file in one message, each at its line and column.
    #[test]
    fn every_mistake_of_a_file_is_reported_at_once() {
        let e = parse("test_strictness_level: extreme\nacceptance_tests:\n  basic_read:\n    tests:\n      - fail_on_extra_columns: maybe\n        empty_streams: {a: 1}\n        bypassed_streams: [{name: [y]}]\n        expect_records: {path: e.jsonl, extra: true}\n  incremental:\n    tests:\n      - cursor_paths: {users: [a, [b]]}\nconector_image: x\n").unwrap_err();
        for said in [
            "DIR/ctest.yaml: 7 problems in the test configuration:",
            "DIR/ctest.yaml:7:35: acceptance_tests.basic_read.tests[0].bypassed_streams[0].name: expected text, found a list",
            "DIR/ctest.yaml:1:24: test_strictness_level: expected one of low, high, found `extreme`",
            "DIR/ctest.yaml:5:32: acceptance_tests.basic_read.tests[0].fail_on_extra_columns: expected true or false, found `maybe`",
            "DIR/ctest.yaml:6:24: acceptance_tests.basic_read.tests[0].empty_streams: expected a list, found a map",
            "DIR/ctest.yaml:8:41: acceptance_tests.basic_read.tests[0].expect_records.extra: unknown key `extra`",
            "DIR/ctest.yaml:11:35: acceptance_tests.incremental.tests[0].cursor_paths.users[1]: expected text, found a list",
            "DIR/ctest.yaml:12:1: conector_image: unknown key `conector_image`\n  fix: did you mean `connector_image`?",
        ] {
            assert!(e.contains(said), "{said:?} not in:\n{e}");
        }
    }

    /// Documents of every odd shape are mistakes at a place, never a panic.
    #[test]
    fn odd_documents_are_mistakes_at_a_place() {
        for text in [
            "hello",
            "[1, 2]",
            "~",
            "42",
            "? [a, b]\n: c\n",
            "acceptance_tests: [1]\n",
            "acceptance_tests:\n  spec:\n    tests: [[1], 2, ~, {tests: x}]\n",
            "acceptance_tests:\n  basic_read:\n    tests:\n      - ignored_fields: {users: {a: b}}\n        empty_streams: [{}, [x], {name: [y]}]\n",
            "acceptance_tests: &a\n  spec: *a\n",
            "\u{0}\u{1}binary",
            "config_path: !!binary aGVsbG8=\n",
            "vars: [1]\ncustom_environment_variables: {A: [1]}\n",
        ] {
            match parse(text) {
                Ok(_) => {}
                Err(e) => assert!(
                    e.starts_with("DIR/ctest.yaml") && e.contains("fix: "),
                    "{text:?}: {e}"
                ),
            }
        }
        // An empty file, or one of comments, is an empty configuration.
        parse("").unwrap();
        parse("# nothing yet\n").unwrap();
    }

    #[test]
    fn expected_records_files_are_read_with_their_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.jsonl");
        std::fs::write(&path, "{\"stream\": \"users\", \"data\": {\"id\": 1}, \"emitted_at\": 5}\n\n{\"type\": \"RECORD\", \"record\": {\"stream\": \"users\", \"data\": {\"id\": 2}}}\n").unwrap();
        let read = read_expected_records(&path).unwrap();
        assert_eq!(read.records.len(), 2);
        assert_eq!(
            (read.records[1].line, &read.records[1].data),
            (3, &serde_json::json!({"id": 2}))
        );

        for (text, says) in [
            (
                "{\"stream\": \"users\"}\n",
                "e.jsonl:1: expected an object with `stream`",
            ),
            (
                "{\"stream\": \"u\", \"data\": {}}\n{oops\n",
                "e.jsonl:2:2: the line is not valid JSON",
            ),
            ("\n", "has no records"),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = read_expected_records(&path).unwrap_err();
            assert!(e.contains(says), "{text:?}: {e}");
        }
    }
}
