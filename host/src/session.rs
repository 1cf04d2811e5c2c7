//! The session: between whatever asks for a run (the CLI, a batch runner, a
//! test) and the suites.
//!
//! - A [`RunRequest`] is plain data: what the user asked for, unchecked.
//! - [`plan`] resolves it into a [`RunPlan`]: which config source wins and
//!   its JSON, the test configuration's paths confined to its directory, the
//!   network options, whether writes are allowed, the cassette directory, the
//!   limits. What cannot be resolved is a [`PlanError`], which says what is
//!   wrong, where, and the fix.
//! - [`run`] runs a plan on a [`Host`], reporting to a [`Reporter`]; many
//!   plans may run on one Host, on as many threads.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::batch::NoTests;
use crate::network::{Mode, Network, NetworkOptions};
use crate::report::{Reporter, Summary};
use crate::sandbox::{CpuBudget, Host, InstanceSlots, Limits, LoadError, OutputBudget, Role};
use crate::suites::{self, RunOptions, Selection, Timeouts};
use crate::test_config::{self, Strictness, TestConfig};

/// Where the connector's config comes from.
#[derive(Debug, Clone, Default)]
pub enum ConfigSource {
    /// A JSON file (`--config`).
    File(PathBuf),
    /// An environment variable holding the JSON (`--config-env`), so that a
    /// CI runner never writes secrets to disk.
    Env(String),
    /// The test configuration's `config_path`, if it has one.
    #[default]
    TestConfig,
}

/// What a run is asked to do: plain data, not yet checked.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The connector component.
    pub plugin: PathBuf,
    pub config: ConfigSource,
    /// The test configuration (YAML).
    pub test_config: Option<PathBuf>,
    /// The previous version, for backward_compatibility.
    pub previous: Option<PathBuf>,
    /// The test-utils component, for write_back.
    pub test_utils: Option<PathBuf>,
    pub http: Mode,
    pub cassette_dir: Option<PathBuf>,
    /// Entries the operator adds to the spec's allowed hosts.
    pub allow_hosts: Vec<String>,
    /// Directories outside the test configuration's own that it may name.
    pub allow_paths: Vec<PathBuf>,
    pub max_response_bytes: usize,
    pub max_request_bytes: usize,
    /// The most HTTP requests the run may make (operator's quota).
    pub max_http_requests: Option<u64>,
    /// The most HTTP response body bytes the run may receive (operator's
    /// quota).
    pub max_http_response_bytes: Option<u64>,
    /// Whether write_back may change the source (live or record).
    pub allow_writes: bool,
    /// Which tests run (`--run`, `--skip`, `--exact`).
    pub selection: Selection,
    /// Stop at the first failed test.
    pub fail_fast: bool,
    /// What a `--run` filter that selects no test means.
    pub no_tests: NoTests,
    /// Every test's time limit, in seconds (default: per suite).
    pub timeout: Option<f64>,
    /// The whole run's wall-time quota, in seconds (operator's).
    pub max_run_seconds: Option<f64>,
    /// The CPU time the run's plugin calls may take, in seconds (operator's).
    pub max_run_cpu_seconds: Option<f64>,
    /// The bytes the run's plugin may send the host in all (operator's).
    pub max_run_output_bytes: Option<u64>,
    /// The instance slots of the run's tenant (`ctest batch`), shared with
    /// its other jobs.
    pub instance_slots: Option<InstanceSlots>,
    pub memory_limit_mib: usize,
    pub max_message_bytes: usize,
    pub max_messages: u64,
    /// The most instances used at once (`--threads`); `None`: the cores.
    pub threads: Option<std::num::NonZeroUsize>,
    /// The scenarios' variables given on the command line (`--var`).
    pub vars: Vec<(String, Value)>,
    /// `ctest snapshot`: basic_read writes each input set's expected records
    /// file from its read instead of comparing with it.
    pub snapshot: bool,
}

impl RunRequest {
    /// A request with the defaults for everything but the plugin and config.
    pub fn new(plugin: PathBuf, config: ConfigSource) -> RunRequest {
        let network = NetworkOptions::default();
        let limits = Limits::default();
        RunRequest {
            plugin,
            config,
            test_config: None,
            previous: None,
            test_utils: None,
            http: Mode::Auto,
            cassette_dir: None,
            allow_hosts: Vec::new(),
            allow_paths: Vec::new(),
            max_response_bytes: network.max_response_bytes,
            max_request_bytes: network.max_request_bytes,
            max_http_requests: None,
            max_http_response_bytes: None,
            allow_writes: false,
            selection: Selection::default(),
            fail_fast: false,
            no_tests: NoTests::Fail,
            timeout: None,
            max_run_seconds: None,
            max_run_cpu_seconds: None,
            max_run_output_bytes: None,
            instance_slots: None,
            memory_limit_mib: limits.memory_bytes >> 20,
            max_message_bytes: limits.max_message_bytes,
            max_messages: limits.max_messages,
            threads: None,
            vars: Vec::new(),
            snapshot: false,
        }
    }
}

/// A resolved run: the components to load and the options the suites run
/// with.
pub struct RunPlan {
    pub plugin: PathBuf,
    /// What the test configuration's reader accepted and does not use, or
    /// read differently (Airbyte's keys), one line each, for the run to say
    /// before it starts.
    pub notes: Vec<String>,
    pub previous: Option<PathBuf>,
    pub test_utils: Option<PathBuf>,
    /// The tests the run will report, named as it prints them, in order.
    pub tests: Vec<String>,
    pub options: RunOptions,
}

/// Why a request cannot become a plan. Its `Display` is the whole message:
/// what is wrong, where, and the fix.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanError {
    /// A `--run` filter that matches no test.
    /// (`filters` empty: `--skip` leaves nothing.)
    NoSuchTest {
        filters: String,
        exact: bool,
        /// The tests there are, named as printed.
        tests: Vec<String>,
    },
    /// The test configuration file cannot be used (its own messages, all of
    /// them, each with its place and fix).
    TestConfig(String),
    /// An `--allow-host` entry outside the grammar.
    AllowHost { entry: String, why: String },
    /// The config file cannot be read.
    ConfigUnreadable { path: PathBuf, error: String },
    /// The config's environment variable is not set.
    ConfigEnvUnset { var: String },
    /// No config anywhere.
    NoConfig,
    /// The config is not JSON.
    ConfigNotJson {
        name: String,
        line: usize,
        column: usize,
        error: String,
    },
    /// The config is JSON but not an object.
    ConfigNotObject { name: String, kind: &'static str },
    /// A time limit that is not a positive number of seconds.
    Timeout(f64),
    /// A run-time quota that is not a positive number of seconds.
    RunTime(f64),
    /// A CPU budget that is not a positive number of seconds.
    RunCpu(f64),
    /// A memory limit of zero.
    MemoryLimit,
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::NoSuchTest {
                filters,
                exact,
                tests,
            } => {
                if filters.is_empty() {
                    f.write_str("the selection (--run, --skip) leaves no test to run\n  fix: loosen --skip, or pass --no-tests pass to let an empty selection pass")?;
                } else {
                    let how = match exact {
                        true => "a test's whole name (--exact)",
                        false => "part of a test's name, a glob (`*`, `?`) or a regular expression matching it",
                    };
                    write!(
                        f,
                        "--run `{filters}` selects no test\n  fix: use {how}; `ctest run --list` prints the names. The tests of this run:"
                    )?;
                }
                for (i, id) in tests.iter().enumerate() {
                    if i == 200 {
                        write!(f, "\n    ... and {} more", tests.len() - i)?;
                        break;
                    }
                    write!(f, "\n    {id}")?;
                }
                Ok(())
            }
            PlanError::TestConfig(message) => f.write_str(message),
            PlanError::AllowHost { entry, why } => write!(
                f,
                "--allow-host {entry:?}: {why}\n  fix: for example `--allow-host https://api.vendor.com` or `--allow-host tcp://127.0.0.1:5432`"
            ),
            PlanError::ConfigUnreadable { path, error } => write!(
                f,
                "{}: cannot read the config: {error}\n  fix: pass the path of the connector's JSON config with --config",
                path.display()
            ),
            PlanError::ConfigEnvUnset { var } => write!(
                f,
                "${var}: the environment variable is not set (or not UTF-8)\n  fix: set {var} to the connector's config as JSON, or pass --config FILE"
            ),
            PlanError::NoConfig => f.write_str(
                "no config given\n  fix: pass --config FILE, or --config-env VAR, or set `config_path` in the --test-config file",
            ),
            PlanError::ConfigNotJson {
                name,
                line,
                column,
                error,
            } => write!(
                f,
                "{name}:{line}:{column}: the config is not valid JSON: {error}\n  fix: correct the JSON at that line and column"
            ),
            PlanError::ConfigNotObject { name, kind } => write!(
                f,
                "{name}: the config is {kind}, not a JSON object\n  fix: write the config as an object, for example {{\"count\": 100}}"
            ),
            PlanError::Timeout(s) => write!(
                f,
                "--timeout {s}: expected a positive number of seconds, for example `--timeout 30`"
            ),
            PlanError::RunTime(s) => write!(
                f,
                "--max-run-seconds {s}: expected a positive number of seconds, for example `--max-run-seconds 600`"
            ),
            PlanError::RunCpu(s) => write!(
                f,
                "--max-run-cpu-seconds {s}: expected a positive number of seconds, for example `--max-run-cpu-seconds 60`"
            ),
            PlanError::MemoryLimit => f.write_str(
                "--memory-limit 0: expected a positive number of MiB, for example `--memory-limit 512`",
            ),
        }
    }
}

impl std::error::Error for PlanError {}

/// Resolves a request: reads and checks the test configuration and the
/// config, and decides the network, the write permission and the limits.
pub fn plan(request: &RunRequest) -> Result<RunPlan, PlanError> {
    let (test_config, prepared, base, scenarios) = match &request.test_config {
        None => {
            if let Some((name, _)) = request.vars.first() {
                return Err(PlanError::TestConfig(format!(
                    "--var {name}: there are no scenarios to give it to\n  fix: pass --test-config FILE, next to its `*.scenarios.yaml` files"
                )));
            }
            (
                TestConfig::default(),
                Default::default(),
                PathBuf::new(),
                Default::default(),
            )
        }
        Some(path) => {
            let (config, base) = test_config::load(path).map_err(PlanError::TestConfig)?;
            let prepared =
                test_config::prepare(&config, path, &request.allow_paths, request.snapshot)
                    .map_err(PlanError::TestConfig)?;
            let scenarios = crate::scenarios::prepare(
                path,
                config.scenarios.as_deref(),
                &config.vars,
                &request.vars,
                &request.allow_paths,
            )
            .map_err(PlanError::TestConfig)?;
            let confine = |key: &str, p: Option<PathBuf>| {
                p.map(|p| test_config::confine(&base, key, &p, &request.allow_paths))
                    .transpose()
                    .map_err(|e| PlanError::TestConfig(format!("{}: {e}", path.display())))
            };
            let config = TestConfig {
                config_path: confine("config_path", config.config_path.clone())?,
                cassette_dir: confine("cassette_dir", config.cassette_dir.clone())?,
                ..config
            };
            (config, prepared, base, scenarios)
        }
    };
    // Every test some components would report: a filter of an opt-in test
    // selects something even when this run's components leave it out.
    let all_tests = suites::test_ids(
        &prepared,
        &test_config.strictness,
        &scenarios,
        test_config.test_strictness_level == Strictness::High,
        None,
    );
    let tests: Vec<String> = all_tests
        .iter()
        .filter(|id| request.selection.selects(id))
        .cloned()
        .collect();
    let unmatched = request.selection.unmatched(&all_tests);
    let mut notes = test_config.notes.clone();
    let nothing = if !unmatched.is_empty() {
        Some(unmatched.join("`, `"))
    } else if tests.is_empty() {
        Some(String::new())
    } else {
        None
    };
    match (nothing, request.no_tests) {
        (None, _) | (Some(_), NoTests::Pass) => {}
        (Some(filters), NoTests::Fail) => {
            return Err(PlanError::NoSuchTest {
                filters,
                exact: request.selection.exact,
                tests: all_tests,
            });
        }
        (Some(filters), NoTests::Warn) if filters.is_empty() => notes
            .push("the selection (--run, --skip) leaves no test to run (--no-tests warn)".into()),
        (Some(filters), NoTests::Warn) => notes.push(format!(
            "--run `{filters}` selects no test (--no-tests warn)"
        )),
    }
    for entry in &request.allow_hosts {
        crate::network::policy::Entry::parse(entry, entry).map_err(|why| PlanError::AllowHost {
            entry: entry.clone(),
            why: why.to_string(),
        })?;
    }
    let cassette_dir = request
        .cassette_dir
        .clone()
        .or(test_config.cassette_dir.clone())
        .unwrap_or_else(|| base.join("cassettes"));
    let writes_refused = writes_refused(request.http, request.allow_writes, &cassette_dir);
    let network = Network::new(NetworkOptions {
        mode: request.http,
        cassette_dir,
        ignored_query_parameters: test_config.ignored_query_parameters.clone(),
        widen: request.allow_hosts.clone(),
        narrow: test_config.allowed_hosts.clone(),
        max_response_bytes: request.max_response_bytes,
        max_request_bytes: request.max_request_bytes,
        max_requests_per_run: request.max_http_requests,
        max_response_bytes_per_run: request.max_http_response_bytes,
        ..Default::default()
    });
    let (config_text, config_name) = config_text(&request.config, &test_config)?;
    let config = parse_config(&config_text, &config_name)?;
    let timeouts = match request.timeout {
        None => Timeouts::default(),
        Some(s) if s.is_finite() && s > 0.0 => Timeouts::all(Duration::from_secs_f64(s)),
        Some(s) => return Err(PlanError::Timeout(s)),
    };
    let max_run_time = match request.max_run_seconds {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(s) => return Err(PlanError::RunTime(s)),
    };
    let cpu_budget = match request.max_run_cpu_seconds {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 => Some(CpuBudget::new(Duration::from_secs_f64(s))),
        Some(s) => return Err(PlanError::RunCpu(s)),
    };
    if request.memory_limit_mib == 0 {
        return Err(PlanError::MemoryLimit);
    }
    let limits = Limits {
        environment: test_config
            .custom_environment_variables
            .clone()
            .into_iter()
            .collect(),
        memory_bytes: request.memory_limit_mib.saturating_mul(1 << 20),
        max_message_bytes: request.max_message_bytes,
        max_messages: request.max_messages,
        cpu_budget,
        output_budget: request.max_run_output_bytes.map(OutputBudget::new),
        instance_slots: request.instance_slots.clone(),
        threads: request.threads,
        ..Limits::default()
    };
    Ok(RunPlan {
        plugin: request.plugin.clone(),
        notes,
        previous: request.previous.clone(),
        test_utils: request.test_utils.clone(),
        tests,
        options: RunOptions {
            config,
            config_source: format!("`{config_name}`"),
            limits,
            timeouts,
            selection: request.selection.clone(),
            fail_fast: request.fail_fast,
            suites: prepared,
            strict: test_config.test_strictness_level == Strictness::High,
            network: Arc::new(network),
            writes_refused,
            max_run_time,
            scenarios: Arc::new(scenarios),
            strictness: test_config.strictness.clone(),
            snapshot: request
                .snapshot
                .then(|| Arc::new(std::sync::Mutex::new(Vec::new()))),
            progress: None,
        },
    })
}

/// The config's JSON text and its name for messages (the file, or `$VAR`):
/// `--config`, else `--config-env`, else the test configuration's
/// `config_path`.
fn config_text(
    source: &ConfigSource,
    test_config: &TestConfig,
) -> Result<(String, String), PlanError> {
    let file = match source {
        ConfigSource::File(path) => Some(path.clone()),
        ConfigSource::Env(_) => None,
        ConfigSource::TestConfig => test_config.config_path.clone(),
    };
    match (file, source) {
        (Some(path), _) => Ok((
            std::fs::read_to_string(&path).map_err(|e| PlanError::ConfigUnreadable {
                path: path.clone(),
                error: e.to_string(),
            })?,
            path.display().to_string(),
        )),
        (None, ConfigSource::Env(var)) => Ok((
            std::env::var(var).map_err(|_| PlanError::ConfigEnvUnset { var: var.clone() })?,
            format!("${var}"),
        )),
        (None, _) => Err(PlanError::NoConfig),
    }
}

/// The config from its text; `name` is the file or `$VAR` it came from.
fn parse_config(text: &str, name: &str) -> Result<Value, PlanError> {
    let value: Value = serde_json::from_str(text).map_err(|e| PlanError::ConfigNotJson {
        name: name.to_string(),
        line: e.line(),
        column: e.column(),
        error: e.to_string(),
    })?;
    if !value.is_object() {
        return Err(PlanError::ConfigNotObject {
            name: name.to_string(),
            kind: crate::schema::kind_of(&value),
        });
    }
    Ok(value)
}

/// Why the write_back suite may not change the source: it may with
/// `--allow-writes` (live or record); in replay it runs from its own
/// cassettes, if ever recorded (a run without `--allow-writes` records none).
fn writes_refused(
    mode: Mode,
    allow_writes: bool,
    cassette_dir: &std::path::Path,
) -> Option<String> {
    let cassettes = cassette_dir.join("write_back");
    let recorded = || {
        std::fs::read_dir(&cassettes).is_ok_and(|d| {
            d.flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "json"))
        })
    };
    match (mode, allow_writes) {
        (Mode::Replay, _) if !recorded() => Some(format!(
            "no write_back cassette in `{}` to replay: record the suite once with --http record --allow-writes",
            cassettes.display()
        )),
        (Mode::Replay, _) | (_, true) => None,
        _ => Some(
            "the write_back suite changes the source: pass --allow-writes (live, or --http record to record its cassettes), or replay recorded cassettes with --http replay"
                .to_string(),
        ),
    }
}

/// Why a plan could not run: a component that could not be loaded.
#[derive(Debug)]
pub struct SessionError {
    /// Which of the run's components (`None`: the plugin itself).
    pub which: Option<&'static str>,
    pub error: LoadError,
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error)?;
        if let Some(which) = self.which {
            write!(f, "\n  (this is the {which})")?;
        }
        Ok(())
    }
}

impl std::error::Error for SessionError {}

/// Loads the plan's components into `host` and runs every suite, reporting
/// to `reporter`. The summary counts the tests; a reporter's own failures
/// (a file it could not write) are the reporter's to keep.
pub fn run(
    host: &Host,
    plan: &RunPlan,
    reporter: &mut dyn Reporter,
) -> Result<Summary, SessionError> {
    let load = |path: &PathBuf, role: Role, which: Option<&'static str>| {
        host.load_as(path, role)
            .map_err(|error| SessionError { which, error })
    };
    let plugin = load(&plan.plugin, Role::Connector, None)?;
    let previous = match &plan.previous {
        None => None,
        Some(path) => Some((
            load(path, Role::Connector, Some("--previous version"))?,
            format!("`{}`", path.display()),
        )),
    };
    let test_utils = match &plan.test_utils {
        None => None,
        Some(path) => Some(load(path, Role::TestUtils, Some("--test-utils component"))?),
    };
    Ok(suites::run_all(
        &plugin,
        previous.as_ref().map(|(c, name)| (c, name.as_str())),
        test_utils.as_ref(),
        &plan.options,
        &plan.plugin.display().to_string(),
        reporter,
    ))
}

/// The tests a run of the plan reports, named as it prints them, in order
/// (`ctest run --list`). The plugin is loaded only when whether it exports
/// write-back decides what is reported.
pub fn list(host: &Host, plan: &RunPlan) -> Result<Vec<String>, SessionError> {
    let options = &plan.options;
    let writer_matters = !options.strict
        && plan.test_utils.is_none()
        && plan.tests.iter().any(|t| t.starts_with("write_back/"));
    let writer = plan.test_utils.is_some()
        || (writer_matters
            && host
                .load_as(&plan.plugin, Role::Connector)
                .map_err(|error| SessionError { which: None, error })?
                .has_write_back());
    Ok(suites::planned_tests(
        options,
        suites::Components {
            previous: plan.previous.is_some(),
            writer,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(config: ConfigSource) -> RunRequest {
        RunRequest::new(PathBuf::from("plugin.wasm"), config)
    }

    fn error_of(request: &RunRequest) -> PlanError {
        match plan(request) {
            Ok(_) => panic!("{request:?} was planned"),
            Err(e) => e,
        }
    }

    fn config_file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn a_request_that_cannot_run_is_a_typed_error_with_its_fix() {
        assert_eq!(
            error_of(&request(ConfigSource::TestConfig)),
            PlanError::NoConfig
        );
        let var = "CTEST_SESSION_TEST_UNSET_VARIABLE";
        assert_eq!(
            error_of(&request(ConfigSource::Env(var.into()))),
            PlanError::ConfigEnvUnset { var: var.into() }
        );
        let (_dir, path) = config_file("[1, 2]");
        let e = error_of(&request(ConfigSource::File(path.clone())));
        assert_eq!(
            e,
            PlanError::ConfigNotObject {
                name: path.display().to_string(),
                kind: "an array"
            }
        );
        assert!(
            e.to_string().contains("fix: write the config as an object"),
            "{e}"
        );
        let (_dir, path) = config_file("{\"count\": }");
        let e = error_of(&request(ConfigSource::File(path)));
        assert!(
            matches!(
                e,
                PlanError::ConfigNotJson {
                    line: 1,
                    column: 11,
                    ..
                }
            ),
            "{e:?}"
        );
        let (_dir, path) = config_file("{}");
        let good = request(ConfigSource::File(path));
        let e = error_of(&RunRequest {
            selection: Selection::only(vec!["spec/".into(), "no_such_test".into()]),
            ..good.clone()
        });
        let PlanError::NoSuchTest { filters, tests, .. } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(filters, "no_such_test");
        // The message lists the tests of this run: without a test
        // configuration, not the opt-in ones it would ask for.
        assert!(tests.contains(&"basic_read/read".to_string()));
        assert!(!tests.contains(&"basic_read/expected_records".to_string()));
        assert!(e.to_string().contains("\n    basic_read/read\n"), "{e}");
        let warned = plan(&RunRequest {
            selection: Selection::only(vec!["spec/".into(), "no_such_test".into()]),
            no_tests: NoTests::Warn,
            ..good.clone()
        })
        .expect("a warning only");
        assert!(
            warned
                .notes
                .iter()
                .any(|n| n.contains("`no_such_test` selects no test"))
        );
        assert!(warned.tests.iter().all(|t| t.starts_with("spec/")));
        let e = error_of(&RunRequest {
            selection: Selection {
                skip: vec!["/".into()],
                ..Selection::default()
            },
            ..good.clone()
        });
        assert!(
            e.to_string()
                .starts_with("the selection (--run, --skip) leaves no test"),
            "{e}"
        );
        for bad in [0.0, -1.0, f64::NAN] {
            let e = error_of(&RunRequest {
                timeout: Some(bad),
                ..good.clone()
            });
            assert!(matches!(e, PlanError::Timeout(_)), "{e:?}");
            let e = error_of(&RunRequest {
                max_run_seconds: Some(bad),
                ..good.clone()
            });
            assert!(matches!(e, PlanError::RunTime(_)), "{e:?}");
            assert!(e.to_string().contains("--max-run-seconds"), "{e}");
            let e = error_of(&RunRequest {
                max_run_cpu_seconds: Some(bad),
                ..good.clone()
            });
            assert!(matches!(e, PlanError::RunCpu(_)), "{e:?}");
        }
        let e = error_of(&RunRequest {
            allow_hosts: vec!["ftp://x".into()],
            ..good.clone()
        });
        assert!(matches!(e, PlanError::AllowHost { .. }), "{e:?}");
        assert!(e.to_string().contains("fix: for example"), "{e}");
        assert_eq!(
            error_of(&RunRequest {
                memory_limit_mib: 0,
                ..good.clone()
            }),
            PlanError::MemoryLimit
        );
    }

    #[test]
    fn a_plan_decides_the_config_the_limits_and_the_write_permission() {
        let (dir, path) = config_file("{\"count\": 3}");
        let plan = plan(&RunRequest {
            memory_limit_mib: 64,
            timeout: Some(2.5),
            cassette_dir: Some(dir.path().join("cassettes")),
            ..request(ConfigSource::File(path.clone()))
        })
        .unwrap();
        let options = &plan.options;
        assert_eq!(options.config, serde_json::json!({"count": 3}));
        assert_eq!(options.config_source, format!("`{}`", path.display()));
        assert_eq!(options.limits.memory_bytes, 64 << 20);
        assert_eq!(options.timeouts, Timeouts::all(Duration::from_millis(2500)));
        // Without --allow-writes, write_back says why it does not write.
        assert!(
            options
                .writes_refused
                .as_deref()
                .is_some_and(|r| r.contains("--allow-writes")),
            "{:?}",
            options.writes_refused
        );
        // In replay with no recorded write_back cassette, it says that.
        let replay = super::plan(&RunRequest {
            http: Mode::Replay,
            cassette_dir: Some(dir.path().join("cassettes")),
            ..request(ConfigSource::File(path))
        })
        .unwrap();
        assert!(
            replay
                .options
                .writes_refused
                .as_deref()
                .is_some_and(|r| r.contains("no write_back cassette")),
            "{:?}",
            replay.options.writes_refused
        );
    }
}
