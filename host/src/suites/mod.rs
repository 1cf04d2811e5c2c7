//! The standard suites. Each check is its own named test with a verdict and a
//! message that says what was expected, what came, where, and how to fix it.
//!
//! Suites run in order and share what earlier ones learned: the spec (for the
//! config's schema and its secrets), then the catalog (for the read). A test that
//! needs what an earlier test could not provide is skipped with that reason.

mod backward_compatibility;
mod basic_read;
mod connection;
mod connector_attributes;
mod discovery;
mod expected_records;
mod full_refresh;
mod incremental;
mod scenario;
mod secrets;
mod selection;
mod snapshot;
mod spec;
mod write_back;

use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use serde_json::Value;

pub use crate::catalog::DiscoveredStream;
use crate::checks::EXAMPLES;
pub use crate::checks::Verdict;
use crate::checks::rules::ReadFacts;
use crate::network::TestNetwork;
pub use crate::ops::TestCtx;
use crate::redact::Redactor;
use crate::report::{Event, Reporter, Status, Summary, TestResult};
use crate::sandbox::bindings::ctest::connector::types as wit;
use crate::sandbox::{Component, Limits, LogLine};
use crate::test_config::{InputSet, PreparedSet, PreparedSuite};
use crate::usage::Resources;
pub use connection::ExpectedStatus;
pub use expected_records::ExpectRecords;
pub use incremental::FutureState;
pub use selection::Selection;

/// A suite, as the registry holds it: its name, its tests, what it takes
/// from an input set, and how it runs. Adding a suite is its own file and
/// one line of [`REGISTRY`].
pub struct Suite {
    pub name: &'static str,
    /// Its tests in the order they run, the opt-in ones included.
    pub tests: &'static [&'static str],
    /// The keys of an input set that apply to it, besides `config_path` and
    /// `timeout_seconds`, which every suite takes.
    pub input_keys: &'static [&'static str],
    /// Which of the run's time limits its tests get.
    pub time_limit: TimeLimit,
    /// Whether `test_strictness_level: high` wants it declared (or bypassed
    /// with a reason) in the test configuration.
    pub declared_when_strict: bool,
    /// Whether it reads records after basic_read (under [`Rules`](crate::checks::rules::Rules)).
    pub reads_records: bool,
    /// Its own checks of one of its input sets, past what serde checks
    /// (`place` names the set in messages): `Err` is the whole message.
    pub check_set: fn(set: &InputSet, place: &str) -> Result<(), String>,
    /// What `test_strictness_level: high` wants each of its input sets to
    /// give.
    pub strict_input: Option<StrictInput>,
    /// Whether it reports its test `name` in a run like `run`: an opt-in
    /// test is reported only when the test configuration or the run asks
    /// for it.
    pub reports: fn(run: &Reporting<'_>, name: &str) -> bool,
    run: fn(&mut Run<'_>, &Peers<'_>),
}

/// What decides whether a suite reports its opt-in tests, for one input set.
pub struct Reporting<'a> {
    pub set: &'a InputSet,
    /// The test configuration bypasses the whole suite.
    pub bypassed: bool,
    /// `test_strictness_level: high`.
    pub strict: bool,
    /// What the loaded components give; `None` before they are loaded (a
    /// test reported with some component counts as reported).
    pub components: Option<Components>,
}

/// What a run's components give the opt-in suites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Components {
    /// A previous version (backward_compatibility).
    pub previous: bool,
    /// A writer: the connector's write-back export or a test-utils
    /// component (write_back).
    pub writer: bool,
}

/// Every test is reported.
fn always_reported(_: &Reporting<'_>, _: &str) -> bool {
    true
}

/// A key `test_strictness_level: high` wants in every input set of a suite.
pub struct StrictInput {
    pub key: &'static str,
    /// The key as the fix shows it, for example `expect_records: {path: x}`.
    pub form: &'static str,
    /// Whether `set` gives it (or a bypass reason in it).
    pub given: fn(set: &InputSet) -> bool,
}

/// No checks of an input set beyond serde's.
fn no_set_checks(_: &InputSet, _: &str) -> Result<(), String> {
    Ok(())
}

/// The time limits a run has, one per kind of call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeLimit {
    Spec,
    Connection,
    Discovery,
    Read,
}

/// The other components a run may be given.
struct Peers<'a> {
    /// The previous version, and its name (backward_compatibility).
    previous: Option<(&'a Component, &'a str)>,
    /// The writer of the write_back suite.
    test_utils: Option<&'a Component>,
}

/// The suites, in the order they run.
pub const REGISTRY: &[Suite] = &[
    spec::ENTRY,
    connection::ENTRY,
    discovery::ENTRY,
    connector_attributes::ENTRY,
    basic_read::ENTRY,
    full_refresh::ENTRY,
    incremental::ENTRY,
    write_back::ENTRY,
    backward_compatibility::ENTRY,
    scenario::ENTRY,
    secrets::ENTRY,
];

/// The suite named `name`.
pub fn suite(name: &str) -> Option<&'static Suite> {
    REGISTRY.iter().find(|s| s.name == name)
}

/// The suites' names, in the order they run.
pub static SUITES: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| REGISTRY.iter().map(|s| s.name).collect());

/// Every test, as `suite/name`, in the order they run, from the registry.
/// (A test in `host/tests/integration/reference_connector.rs` checks a full run against
/// this list.)
pub static ALL_TESTS: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    REGISTRY
        .iter()
        .flat_map(|s| {
            s.tests
                .iter()
                .map(move |t| &*Box::leak(format!("{}/{t}", s.name).into_boxed_str()))
        })
        .collect()
});

/// Every test a run reports, named as it is printed, in the order the tests
/// run: a suite's `test_strictness_level` when the test configuration leaves
/// out what high strictness demands, and its tests once per input set (`#N`
/// when it has several), the opt-in ones when the run asks for them.
/// `components`: what the loaded components give (`None`: not loaded yet,
/// and every test some components would report is counted).
pub fn test_ids(
    suites: &BTreeMap<&'static str, PreparedSuite>,
    strictness: &[(&'static str, String)],
    scenarios: &crate::scenarios::Scenarios,
    strict: bool,
    components: Option<Components>,
) -> Vec<String> {
    let mut ids = Vec::new();
    let default_set = PreparedSet::default();
    for suite in REGISTRY {
        // One failure per gap high strictness finds, under one name.
        for _ in strictness.iter().filter(|(s, _)| *s == suite.name) {
            ids.push(format!("{}/{STRICTNESS}", suite.name));
        }
        let names: Vec<String> = if suite.name == crate::scenarios::SUITE {
            scenarios.names()
        } else {
            suite.tests.iter().map(|t| t.to_string()).collect()
        };
        let prepared = suites.get(suite.name);
        let sets: Vec<&PreparedSet> = match prepared {
            Some(p) if !p.sets.is_empty() => p.sets.iter().collect(),
            _ => vec![&default_set],
        };
        for (i, set) in sets.iter().enumerate() {
            let reporting = Reporting {
                set: &set.set,
                bypassed: prepared.is_some_and(|p| p.bypass_reason.is_some()),
                strict,
                components,
            };
            for name in names.iter().filter(|n| (suite.reports)(&reporting, n)) {
                ids.push(match sets.len() > 1 {
                    true => format!("{}/{name}#{}", suite.name, i + 1),
                    false => format!("{}/{name}", suite.name),
                });
            }
        }
    }
    ids
}

/// The tests a run of `options` with these components reports, selected,
/// named as printed, in order: its start event's plan, and `--list`.
pub fn planned_tests(options: &RunOptions, components: Components) -> Vec<String> {
    test_ids(
        &options.suites,
        &options.strictness,
        &options.scenarios,
        options.strict,
        Some(components),
    )
    .into_iter()
    .filter(|id| options.selection.selects(id))
    .collect()
}

/// Per-suite wall-clock limits for one test.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeouts {
    pub spec: Duration,
    pub connection: Duration,
    pub discovery: Duration,
    pub read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            spec: Duration::from_secs(10),
            connection: Duration::from_secs(30),
            discovery: Duration::from_secs(30),
            read: Duration::from_secs(120),
        }
    }
}

impl Timeouts {
    pub fn all(d: Duration) -> Self {
        Timeouts {
            spec: d,
            connection: d,
            discovery: d,
            read: d,
        }
    }

    fn for_suite(&self, suite: &str) -> Duration {
        match self::suite(suite).map_or(TimeLimit::Read, |s| s.time_limit) {
            TimeLimit::Spec => self.spec,
            TimeLimit::Connection => self.connection,
            TimeLimit::Discovery => self.discovery,
            TimeLimit::Read => self.read,
        }
    }
}

/// What a run is given.
pub struct RunOptions {
    /// The config as the user gave it (JSON text) and parsed.
    pub config: Value,
    /// Where the config came from, for messages.
    pub config_source: String,
    pub limits: Limits,
    pub timeouts: Timeouts,
    /// Which tests run (`--run`, `--skip`, `--exact`).
    pub selection: Selection,
    /// Stop at the first failed test (`--fail-fast`): the tests after it do
    /// not run, and the summary counts them.
    pub fail_fast: bool,
    /// Per suite, from the test configuration file: bypasses and input sets.
    pub suites: BTreeMap<&'static str, PreparedSuite>,
    /// `test_strictness_level: high`: the far-future state must come from the
    /// test configuration for every incremental stream, and the opt-in
    /// suites (backward_compatibility, write_back) say why they did not run.
    pub strict: bool,
    /// The network the plugin may reach, and HTTP record and replay.
    pub network: std::sync::Arc<crate::network::Network>,
    /// Why the write_back suite may not change the source (`None`: it may,
    /// or it replays).
    pub writes_refused: Option<String>,
    /// The most wall time the whole run may take (an operator's quota, per
    /// job in a batch): a test it cuts short, and every test after it,
    /// fails naming it.
    pub max_run_time: Option<Duration>,
    /// The scenario files, read, and their variables' values.
    pub scenarios: std::sync::Arc<crate::scenarios::Scenarios>,
    /// What `test_strictness_level: high` demands and the test configuration
    /// leaves out: (suite, message), each a failed `SUITE/test_strictness_level`.
    pub strictness: Vec<(&'static str, String)>,
    /// `ctest snapshot`: basic_read writes each input set's expected records
    /// file from its read, and says here what changed in it.
    pub snapshot: Option<std::sync::Arc<std::sync::Mutex<Vec<String>>>>,
    /// What the run is doing, for the console's progress line (`None`: no
    /// one watches).
    pub progress: Option<std::sync::Arc<crate::report::Progress>>,
}

/// An ingestion type as the contract spells it.
pub(crate) fn ingestion_name(t: wit::IngestionType) -> &'static str {
    match t {
        wit::IngestionType::Append => "append",
        wit::IngestionType::Cdc => "cdc",
        wit::IngestionType::CdcWithDeletes => "cdc-with-deletes",
        wit::IngestionType::Snapshot => "snapshot",
    }
}

/// A test whose plugin ran into the network policy or the cassette fails for
/// that first: the connector's own error would only be its consequence.
fn with_network_problems(verdict: Verdict, network: &TestNetwork) -> Verdict {
    let mut problems = network.problems();
    if let Err(e) = network.finish() {
        problems.push(e);
    }
    if problems.is_empty() {
        return verdict;
    }
    let then = match verdict {
        Verdict::Fail(m) => format!("\nthe test then failed: {m}"),
        _ => String::new(),
    };
    Verdict::fail(format!("{}{then}", problems.join("\n")))
}

/// Pass when there is no problem; otherwise fail with what was expected, how
/// many problems there are, the first few, and the fix.
fn verdict(problems: Vec<String>, expected: &str, fix: &str) -> Verdict {
    counted_verdict(problems, 0, expected, fix)
}

/// [`verdict`] for problems counted as they came: `problems` holds the
/// first few, `more` how many others there were.
fn counted_verdict(mut problems: Vec<String>, more: u64, expected: &str, fix: &str) -> Verdict {
    if problems.is_empty() && more == 0 {
        return Verdict::Pass;
    }
    let count = problems.len() as u64 + more;
    problems.truncate(EXAMPLES);
    Verdict::Fail(crate::checks::Failure::with_problems(
        expected, count, problems, fix,
    ))
}

/// The spec as the suites use it: the contract's record plus the parsed schema.
pub struct Spec {
    pub raw: wit::ConnectorSpec,
    /// `None` when `connection-specification` is not JSON.
    pub schema: Option<Value>,
}

/// What suites find that later suites use: each is set by the suite that
/// finds it and then only read. The catalog is one shared value.
#[derive(Default)]
struct Facts {
    /// The spec (the spec suite).
    spec: Option<Spec>,
    /// The catalog discovery found.
    catalog: Option<std::sync::Arc<[DiscoveredStream]>>,
    /// The streams that yielded records in basic_read's full-refresh read;
    /// `None` when that read did not complete. The suites that read again skip
    /// then, rather than fail for the same reason, and check only streams that
    /// have data.
    streams_with_records: Option<std::collections::HashSet<String>>,
    /// The streams basic_read's read covered (its input set's catalog).
    streams_read: std::collections::HashSet<String>,
    /// What basic_read's read leaves the rules of every later read.
    read: ReadFacts,
    /// basic_read's read, kept as full_refresh's first when full_refresh
    /// would make that very read (taken by full_refresh).
    first_full_refresh: Option<full_refresh::SharedFirstRead>,
}

/// A run in progress: its options, the input set being run, the reporter
/// and the summary, and the [`Facts`] the suites found.
pub struct Run<'a> {
    component: &'a Component,
    options: &'a RunOptions,
    /// The config of the input set being run, parsed and as JSON text, and
    /// where it came from.
    config: Value,
    config_text: String,
    config_source: String,
    /// The input set being run (defaults when the test configuration has none).
    set: PreparedSet,
    /// Appended to test names when a suite runs with several input sets.
    suffix: String,
    /// The bypasses of the suite being run: the whole suite, or single tests.
    bypass_suite: Option<String>,
    bypass_tests: BTreeMap<String, String>,
    redactor: Redactor,
    reporter: &'a mut dyn Reporter,
    summary: Summary,
    /// What the suites found that later suites use.
    facts: Facts,
    /// The run's id, on each of its events.
    run_id: String,
    /// When the run's wall-time quota runs out, if it has one.
    run_deadline: Option<Instant>,
    /// The network policy of the input set being run: each test's network
    /// is built from it.
    policy: std::sync::Arc<crate::network::policy::Policy>,
    /// Why the network policy could not be set up as the test configuration
    /// asks (it then allows nothing).
    network_error: Option<String>,
    /// Where the plugin's output carried a secret (the first few), and how
    /// many times: the secrets suite's verdict.
    leaks: Vec<String>,
    leak_count: usize,
    /// `--fail-fast` and a test failed: nothing more runs.
    stopped: bool,
}

/// A test begun: its context, and what [`Run::end`] needs to report it.
struct Begun<'r> {
    suite: &'static str,
    name: String,
    started: Instant,
    /// When its body returned.
    ended: Instant,
    ctx: TestCtx<'r>,
}

impl Begun<'_> {
    /// Runs the body, unless the run's quota is already used up (`None`).
    fn run(&mut self, body: impl FnOnce(&mut TestCtx<'_>) -> Verdict) -> Option<Verdict> {
        if self.ctx.run_deadline.is_some_and(|end| end <= self.started) {
            return None;
        }
        let verdict = body(&mut self.ctx);
        self.ended = Instant::now();
        Some(verdict)
    }
}

/// Runs every suite against the plugin and reports each test as it finishes.
/// `previous` is the previous version of the plugin and its name, for the
/// backward-compatibility suite.
pub fn run_all(
    component: &Component,
    previous: Option<(&Component, &str)>,
    test_utils: Option<&Component>,
    options: &RunOptions,
    plugin: &str,
    reporter: &mut dyn Reporter,
) -> Summary {
    let run_id = options.network.run_tag().to_string();
    let plan = planned_tests(
        options,
        Components {
            previous: previous.is_some(),
            writer: test_utils.is_some() || component.has_write_back(),
        },
    );
    let planned = plan.len();
    // Errors of reporters are theirs to keep (the CLI's fan-out does).
    let _ = reporter.event(&Event::RunStarted {
        run: run_id.clone(),
        plugin: plugin.to_string(),
        plan,
    });
    let mut run = Run {
        component,
        options,
        config: options.config.clone(),
        config_text: options.config.to_string(),
        config_source: options.config_source.clone(),
        set: PreparedSet::default(),
        suffix: String::new(),
        bypass_suite: None,
        bypass_tests: BTreeMap::new(),
        // Until the spec is known, mask by property names alone.
        redactor: Redactor::new(&options.config, None),
        reporter,
        summary: Summary::default(),
        facts: Facts::default(),
        run_id,
        run_deadline: options.max_run_time.map(|t| Instant::now() + t),
        policy: Default::default(),
        network_error: None,
        leaks: Vec::new(),
        leak_count: 0,
        stopped: false,
    };
    let peers = Peers {
        previous,
        test_utils,
    };
    for suite in REGISTRY {
        if run.stopped {
            break;
        }
        run.suffix.clear();
        for (_, message) in options.strictness.iter().filter(|(s, _)| *s == suite.name) {
            if run.selected(suite.name, STRICTNESS) {
                run.finish(
                    suite.name,
                    STRICTNESS,
                    Verdict::fail(message.clone()),
                    Duration::ZERO,
                    Vec::new(),
                    Resources::default(),
                );
            }
        }
        let prepared = options.suites.get(suite.name).cloned().unwrap_or_default();
        run.bypass_suite = prepared.bypass_reason.clone();
        run.bypass_tests = prepared.bypass.clone();
        let sets = if prepared.sets.is_empty() {
            vec![PreparedSet::default()]
        } else {
            prepared.sets
        };
        let numbered = sets.len() > 1;
        for (i, set) in sets.into_iter().enumerate() {
            if run.stopped {
                break;
            }
            run.use_set(
                set,
                if numbered {
                    format!("#{}", i + 1)
                } else {
                    String::new()
                },
            );
            (suite.run)(&mut run, &peers);
        }
    }
    let mut summary = run.summary;
    summary.not_run = planned.saturating_sub(summary.passed + summary.failed + summary.skipped);
    let _ = run.reporter.event(&Event::RunFinished {
        run: run.run_id,
        summary,
    });
    summary
}

/// The test a suite fails when `test_strictness_level: high` demands what the
/// test configuration leaves out.
pub const STRICTNESS: &str = "test_strictness_level";

/// How many places of a leak the secrets suite shows.
const LEAK_EXAMPLES: usize = 10;

impl<'a> Run<'a> {
    /// Notes a place where the plugin's output carried a secret.
    fn leaked(&mut self, place: impl FnOnce() -> String) {
        self.leak_count += 1;
        if self.leaks.len() < LEAK_EXAMPLES {
            self.leaks.push(place());
        }
    }

    /// Looks for secrets in the plugin's log lines, each alone and each with
    /// the next (a secret split across two lines).
    fn scan_logs(&mut self, id: &str, logs: &[LogLine]) {
        if !self.redactor.finds_leaks() {
            return;
        }
        for (i, line) in logs.iter().enumerate() {
            let joined = logs
                .get(i + 1)
                .map(|next| format!("{}{}", line.message, next.message));
            let found = self
                .redactor
                .leak(&line.message)
                .map(|how| (how, ""))
                .or_else(|| {
                    joined
                        .as_deref()
                        .and_then(|j| self.redactor.leak(j))
                        .map(|how| (how, ", split across it and the next,"))
                });
            if let Some((how, split)) = found {
                let level = line.level.clone();
                self.leaked(|| {
                    format!("a `{level}` log line{split} carries a secret {how} ({id})")
                });
            }
        }
    }

    /// Makes `set` the input set of the tests that follow.
    fn use_set(&mut self, set: PreparedSet, suffix: String) {
        let (config, source) = set.config.clone().unwrap_or_else(|| {
            (
                self.options.config.clone(),
                self.options.config_source.clone(),
            )
        });
        // The set's secrets are masked as well as the run's.
        let schema = self.facts.spec.as_ref().and_then(|s| s.schema.as_ref());
        self.redactor.extend(Redactor::new(&config, schema));
        let hosts = self
            .facts
            .spec
            .as_ref()
            .and_then(|s| s.raw.allowed_hosts.as_deref());
        (self.policy, self.network_error) = match self.options.network.policy_for(hosts, &config) {
            Ok(policy) => (std::sync::Arc::new(policy), None),
            Err(e) => (Default::default(), Some(e)),
        };
        self.config_text = config.to_string();
        self.config = config;
        self.config_source = source;
        self.set = set;
        self.suffix = suffix;
    }

    /// Why a test is bypassed by the test configuration, if it is.
    fn bypassed(&self, name: &str) -> Option<String> {
        let reason = self
            .bypass_suite
            .as_ref()
            .or_else(|| self.bypass_tests.get(name))?;
        Some(format!("bypassed by the test configuration: {reason}"))
    }

    /// Whether the test `name` of `suite`, in the current input set, is
    /// selected; none is once `--fail-fast` stopped the run.
    fn selected(&self, suite: &str, name: &str) -> bool {
        !self.stopped
            && self
                .options
                .selection
                .selects(&format!("{suite}/{name}{}", self.suffix))
    }

    /// Runs one test: times it, redacts its message and logs, reports it.
    fn test(
        &mut self,
        suite: &'static str,
        name: &str,
        body: impl FnOnce(&mut TestCtx<'_>) -> Verdict,
    ) {
        if !self.selected(suite, name) {
            return;
        }
        match self.bypassed(name) {
            Some(reason) => self.finish(
                suite,
                name,
                Verdict::Skip(reason),
                Duration::ZERO,
                Vec::new(),
                Resources::default(),
            ),
            None => self.step(suite, name, body),
        }
    }

    /// Like [`Run::test`], but the body runs even when `--run` filters the test
    /// out: later tests need what it finds (the spec, the catalog). It is then
    /// not reported.
    fn step(
        &mut self,
        suite: &'static str,
        name: &str,
        body: impl FnOnce(&mut TestCtx<'_>) -> Verdict,
    ) {
        // Past a failure under --fail-fast, nothing more is worth running.
        if self.stopped {
            return;
        }
        let mut begun = self.begin(suite, name, None);
        let verdict = begun.run(body);
        self.end(begun, verdict);
    }

    /// Starts a test: reports it started (when selected), and makes its
    /// context under its time limit (`timeout`, else the input set's, else
    /// the suite's), cut short by the run's quota.
    fn begin(&mut self, suite: &'static str, name: &str, timeout: Option<Duration>) -> Begun<'a> {
        // A step an unselected test needs runs unreported.
        let id = format!("{suite}/{name}{}", self.suffix);
        if self.selected(suite, name) {
            let _ = self.reporter.event(&Event::TestStarted {
                run: self.run_id.clone(),
                id: id.clone(),
            });
        }
        if let Some(progress) = &self.options.progress {
            progress.test_started(&id);
        }
        let started = Instant::now();
        let timeout = timeout
            .or_else(|| self.set.set.timeout())
            .unwrap_or_else(|| self.options.timeouts.for_suite(suite));
        let network = self.options.network.for_test(
            &id,
            self.policy.clone(),
            self.redactor.clone(),
            Some(std::sync::Arc::new(crate::network::RecordedUnder::new(
                &self.component.digest,
                &self.config,
                &self.redactor,
                &self.suffix,
            ))),
        );
        Begun {
            suite,
            name: name.to_string(),
            started,
            ended: started,
            ctx: TestCtx {
                component: self.component,
                limits: &self.options.limits,
                time_limit: timeout,
                run_deadline: self.run_deadline,
                logs: Vec::new(),
                network,
                secrets: self.redactor.clone(),
                leaks: Vec::new(),
                progress: self.options.progress.clone(),
            },
        }
    }

    /// Ends a test begun with [`Run::begin`] whose body gave `verdict`
    /// (`None`: the run's quota let it not start): reports it.
    fn end(&mut self, mut begun: Begun<'_>, verdict: Option<Verdict>) {
        if let Some(progress) = &self.options.progress {
            progress.test_ended();
        }
        // A failure at or past the run's quota is the quota's.
        let quota_ended = self.run_deadline.is_some_and(|end| begun.ended >= end);
        let verdict = match verdict {
            None => Verdict::fail(self.run_time_used_up(None)),
            Some(Verdict::Fail(f)) if quota_ended => Verdict::fail(self.run_time_used_up(Some(&f))),
            Some(v) => v,
        };
        let logs = std::mem::take(&mut begun.ctx.logs);
        let id = format!("{}/{}{}", begun.suite, begun.name, self.suffix);
        for leak in std::mem::take(&mut begun.ctx.leaks) {
            self.leaked(|| format!("{leak} ({id})"));
        }
        self.scan_logs(&id, &logs);
        let network = &begun.ctx.network;
        let verdict = with_network_problems(verdict, network);
        let resources = network.usage().resources();
        self.finish(
            begun.suite,
            &begun.name,
            verdict,
            begun.ended.duration_since(begun.started),
            logs,
            resources,
        );
    }

    /// Runs tests at the same time, at most [`Limits::at_once`], and
    /// reports each (in the order given) when all have ended. Each is
    /// `(name, time limit, body)`; selection and bypasses apply as for
    /// [`Run::test`].
    #[allow(clippy::type_complexity)]
    fn tests_in_parallel(
        &mut self,
        suite: &'static str,
        tests: Vec<(
            String,
            Option<Duration>,
            Box<dyn Fn(&mut TestCtx<'_>) -> Verdict + Send + Sync + '_>,
        )>,
    ) {
        let mut begun = Vec::new();
        for (name, timeout, body) in tests {
            if !self.selected(suite, &name) {
                continue;
            }
            if let Some(reason) = self.bypassed(&name) {
                self.finish(
                    suite,
                    &name,
                    Verdict::Skip(reason),
                    Duration::ZERO,
                    Vec::new(),
                    Resources::default(),
                );
                continue;
            }
            begun.push((self.begin(suite, &name, timeout), body));
        }
        let threads = self.options.limits.at_once();
        let mut done = Vec::new();
        let mut pending = begun.into_iter();
        loop {
            let wave: Vec<_> = pending.by_ref().take(threads).collect();
            if wave.is_empty() {
                break;
            }
            done.extend(std::thread::scope(|scope| {
                let handles: Vec<_> = wave
                    .into_iter()
                    .map(|(mut b, body)| {
                        scope.spawn(move || {
                            let verdict = b.run(|ctx| body(ctx));
                            (b, verdict)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a test body does not panic"))
                    .collect::<Vec<_>>()
            }));
        }
        for (b, verdict) in done {
            self.end(b, verdict);
        }
    }

    /// The failure of a test the run's wall-time quota cut short (`then`:
    /// how the test itself then failed), or did not let start.
    fn run_time_used_up(&self, then: Option<&crate::checks::Failure>) -> String {
        let quota = self.options.max_run_time.unwrap_or_default().as_secs_f64();
        let when = if then.is_some() {
            "ran out during this test"
        } else {
            "was used up before this test"
        };
        let mut text = format!(
            "the run's wall-time quota of {quota} s (`--max-run-seconds`; `max_job_seconds` in a job file) {when}\n\
             fix: make the connector faster, run fewer tests (`--run`), or ask the operator for a larger quota"
        );
        if let Some(f) = then {
            text.push_str(&format!("\nthe test then failed: {}", f.message()));
        }
        text
    }

    /// Reports a verdict reached without running a body of its own.
    fn finish(
        &mut self,
        suite: &'static str,
        name: &str,
        verdict: Verdict,
        duration: Duration,
        logs: Vec<LogLine>,
        resources: Resources,
    ) {
        let text = match &verdict {
            Verdict::Pass => None,
            Verdict::Fail(f) => Some(f.message()),
            Verdict::Skip(m) => Some(m.clone()),
        };
        if let Some(text) = text
            && let Some(how) = self.redactor.leak(&text)
        {
            let id = format!("{suite}/{name}{}", self.suffix);
            self.leaked(|| format!("the message of {id} carries a secret {how}"));
        }
        if !self.selected(suite, name) {
            return;
        }
        // A bypassed test that ran (a step later tests need) is still a skip.
        let verdict = match self.bypassed(name) {
            Some(reason) => Verdict::Skip(reason),
            None => verdict,
        };
        let (status, message, failure) = match verdict {
            Verdict::Pass => (Status::Passed, None, None),
            Verdict::Fail(f) => (Status::Failed, Some(f.message()), Some(f)),
            Verdict::Skip(m) => (Status::Skipped, Some(m), None),
        };
        let logs = if status == Status::Failed {
            logs.into_iter()
                .map(|l| LogLine {
                    level: l.level,
                    message: crate::report::clean(&self.redactor, &l.message),
                })
                .collect()
        } else {
            Vec::new()
        };
        let result = TestResult {
            suite,
            name: format!("{name}{}", self.suffix),
            status,
            message: message.map(|m| crate::report::clean(&self.redactor, &m)),
            failure: failure.map(|f| f.map(|part| crate::report::clean(&self.redactor, part))),
            duration,
            started_at: std::time::SystemTime::now()
                .checked_sub(duration)
                .unwrap_or(std::time::UNIX_EPOCH),
            logs,
            resources,
        };
        self.summary.add(status);
        if status == Status::Failed && self.options.fail_fast {
            self.stopped = true;
        }
        let _ = self.reporter.event(&Event::TestFinished {
            run: self.run_id.clone(),
            result: Box::new(result),
        });
    }

    /// The start of a suite that reads again after basic_read: the catalog
    /// and the streams that had records.
    /// `None` when none of its tests is selected, or when basic_read's read did
    /// not complete (its tests are then skipped with that reason).
    fn rereading_suite(
        &mut self,
        suite: &'static str,
        tests: &[&str],
    ) -> Option<(
        std::sync::Arc<[DiscoveredStream]>,
        std::collections::HashSet<String>,
    )> {
        if !tests.iter().any(|t| self.selected(suite, t)) {
            return None;
        }
        // A bypassed suite reads nothing: `skip_all` reports its tests skipped
        // with the bypass reason, which wins over the one given here.
        if self.bypass_suite.is_some() {
            self.skip_all(suite, tests, "bypassed");
            return None;
        }
        match (
            self.facts.streams_with_records.clone(),
            self.facts.catalog.clone(),
        ) {
            (Some(with_records), Some(streams)) => Some((streams, with_records)),
            _ => {
                self.skip_all(
                    suite,
                    tests,
                    "the full-refresh read of basic_read/read did not complete",
                );
                None
            }
        }
    }

    /// Reports each stream the input set leaves out of its reads as a skipped
    /// entry `suite/stream:NAME`, with the reason.
    fn report_bypassed_streams(&mut self, suite: &'static str) {
        for stream in self.set.set.bypassed_streams.clone() {
            self.finish(
                suite,
                &format!("stream:{}", stream.name),
                Verdict::Skip(format!(
                    "stream bypassed by the test configuration: {}",
                    stream.reason()
                )),
                Duration::ZERO,
                Vec::new(),
                Resources::default(),
            );
        }
    }

    /// Skips every named test of a suite with one reason.
    fn skip_all(&mut self, suite: &'static str, names: &[&str], reason: &str) {
        for name in names {
            self.finish(
                suite,
                name,
                Verdict::Skip(reason.to_string()),
                Duration::ZERO,
                Vec::new(),
                Resources::default(),
            );
        }
    }
}
