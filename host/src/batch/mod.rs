//! `ctest batch JOBS.yaml`: many tenants' plugins, run concurrently on one
//! [`Host`], each job as `ctest run` would run it.
//!
//! The job file has two parts. `operator:` is the runner's: what it grants
//! (extra allowed hosts, writes) and the limits, as defaults and per tenant.
//! `jobs:` lists what the tenants asked for: each job's plugin (with an
//! optional digest it must have), where its config comes from (a file or an
//! environment variable, never inline), its test configuration and the
//! options of `ctest run` a tenant may choose (HTTP mode, cassettes, previous
//! version, test-utils, filters). A tenant's test configuration cannot grant
//! itself anything: its paths stay in its own directory, and the network is
//! its spec's plus the operator's grant.
//!
//! Each job writes `DIR/<tenant>/<job>/report.json` and `junit.xml`, exactly
//! what `ctest run --report-json --report-junit` writes; the batch writes
//! `DIR/summary.json` (per job and per tenant) and a line per job to the
//! console. A job that cannot start is that job's error.

pub mod html;
pub mod merge;
pub mod partition;
pub mod queue;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::network::Mode;
use crate::report::{Event, FanOut, JsonReport, JunitReport, Reporter, Summary};
use crate::sandbox::{Host, InstanceSlots};
use crate::session::{self, ConfigSource, RunRequest};
use crate::usage::Resources;

/// The job file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobFile {
    #[serde(default)]
    pub operator: Operator,
    pub jobs: Vec<Job>,
    /// The file itself: its path, digest and every job's name, for the
    /// summary (a shard's summary says which file it is a shard of).
    #[serde(skip)]
    pub source: JobFileInfo,
}

impl JobFile {
    /// What the operator grants `tenant`: its entry over the defaults.
    pub fn grants_of(&self, tenant: &str) -> Grants {
        self.operator
            .defaults
            .merged(self.operator.tenants.get(tenant))
    }
}

/// The job file a summary is of.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFileInfo {
    pub path: String,
    /// `blake3:` and the hex digest of the file's bytes.
    pub digest: String,
    /// Every job of the file, as `tenant/id`, in file order (a shard runs
    /// some of them).
    pub jobs: Vec<String>,
}

/// The operator's part: grants and limits, for every tenant (`defaults`)
/// and per tenant (each key it gives replaces the default's).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operator {
    #[serde(default)]
    pub defaults: Grants,
    #[serde(default)]
    pub tenants: BTreeMap<String, Grants>,
}

/// What the operator grants a tenant's jobs, and their limits.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    /// Entries added to each plugin's allowed hosts (`--allow-host`).
    pub allow_hosts: Option<Vec<String>>,
    /// Whether write_back may change the source (`--allow-writes`).
    pub allow_writes: Option<bool>,
    /// Memory of one plugin instance, in MiB (`--memory-limit`).
    pub memory_limit_mib: Option<usize>,
    /// The time limit of each test, in seconds (`--timeout`).
    pub timeout_seconds: Option<f64>,
    /// The wall-time quota of each job, in seconds (`--max-run-seconds`).
    pub max_job_seconds: Option<f64>,
    /// How many of the tenant's jobs may run at once (default: as many as
    /// there are threads).
    pub max_concurrent_jobs: Option<usize>,
    /// The CPU budget of each job's plugin calls, in seconds
    /// (`--max-run-cpu-seconds`).
    pub max_job_cpu_seconds: Option<f64>,
    /// The most messages one read may return (`--max-messages`).
    pub max_messages: Option<u64>,
    /// The largest message a read may return (`--max-message-size`).
    pub max_message_bytes: Option<usize>,
    /// The most plugin instances the tenant's jobs may hold at once (each
    /// job holds one at a time, so at most this many of its jobs run at once).
    pub max_concurrent_instances: Option<usize>,
    /// The bytes one job's plugin may send the host in all: messages, logs,
    /// stdout and stderr (`--max-run-output-bytes`).
    pub max_job_output_bytes: Option<u64>,
    /// The most HTTP requests one job may make (`--max-http-requests`).
    pub max_http_requests: Option<u64>,
    /// The most HTTP response body bytes one job may receive
    /// (`--max-http-response-bytes`).
    pub max_http_response_bytes: Option<u64>,
}

impl Grants {
    /// `self`, with what `over` gives in its place.
    fn merged(&self, over: Option<&Grants>) -> Grants {
        let Some(over) = over else {
            return self.clone();
        };
        Grants {
            allow_hosts: over.allow_hosts.clone().or(self.allow_hosts.clone()),
            allow_writes: over.allow_writes.or(self.allow_writes),
            memory_limit_mib: over.memory_limit_mib.or(self.memory_limit_mib),
            timeout_seconds: over.timeout_seconds.or(self.timeout_seconds),
            max_job_seconds: over.max_job_seconds.or(self.max_job_seconds),
            max_concurrent_jobs: over.max_concurrent_jobs.or(self.max_concurrent_jobs),
            max_job_cpu_seconds: over.max_job_cpu_seconds.or(self.max_job_cpu_seconds),
            max_concurrent_instances: over
                .max_concurrent_instances
                .or(self.max_concurrent_instances),
            max_job_output_bytes: over.max_job_output_bytes.or(self.max_job_output_bytes),
            max_messages: over.max_messages.or(self.max_messages),
            max_message_bytes: over.max_message_bytes.or(self.max_message_bytes),
            max_http_requests: over.max_http_requests.or(self.max_http_requests),
            max_http_response_bytes: over
                .max_http_response_bytes
                .or(self.max_http_response_bytes),
        }
    }
}

/// One tenant's run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    /// Unique among its tenant's jobs; the name of its report directory.
    pub id: String,
    /// Whose job it is; the name of the directory its jobs' reports are in.
    pub tenant: String,
    /// The connector component.
    pub plugin: PathBuf,
    /// The BLAKE3 digest the plugin must have (`blake3:` and 64 hex digits).
    pub digest: Option<String>,
    /// Where the connector's config comes from.
    pub config: ConfigRef,
    pub test_config: Option<PathBuf>,
    /// `auto` (default), `live`, `record` or `replay`.
    #[serde(default)]
    pub http: HttpMode,
    pub cassette_dir: Option<PathBuf>,
    pub previous: Option<PathBuf>,
    pub test_utils: Option<PathBuf>,
    /// Run only the tests whose `suite/name` contains one of these.
    #[serde(default)]
    pub run: Vec<String>,
}

/// A config file, or an environment variable holding the JSON (so that no
/// secret is written in the job file).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigRef {
    pub file: Option<PathBuf>,
    pub env: Option<String>,
}

/// The HTTP mode of a job, as `--http` takes it.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HttpMode {
    #[default]
    Auto,
    Live,
    Record,
    Replay,
}

impl From<HttpMode> for Mode {
    fn from(m: HttpMode) -> Mode {
        match m {
            HttpMode::Auto => Mode::Auto,
            HttpMode::Live => Mode::Live,
            HttpMode::Record => Mode::Record,
            HttpMode::Replay => Mode::Replay,
        }
    }
}

/// Reads and checks the job file: every problem of it at once, each with
/// its place and fix. Paths in it are taken relative to its directory.
pub fn load(path: &Path) -> Result<JobFile, String> {
    let file = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!("{file}: cannot read the job file: {e}\n  fix: pass the path of a YAML job file")
    })?;
    let mut jobs: JobFile = serde_yaml_ng::from_str(&text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(":{}:{}", l.line(), l.column()))
            .unwrap_or_default();
        format!(
            "{file}{at}: {e}\n  fix: correct that key or value; the job file is described in ctest's README (\"Running many plugins\")"
        )
    })?;
    let mut problems = Vec::new();
    if jobs.jobs.is_empty() {
        problems.push(format!(
            "{file}: jobs: the list is empty\n  fix: list at least one job (id, tenant, plugin, config)"
        ));
    }
    for tenant in jobs.operator.tenants.keys() {
        if let Err(why) = path_name(tenant) {
            problems.push(format!(
                "{file}: operator.tenants.{tenant}: the tenant name {why}\n  fix: use letters, digits, `-`, `_` and `.`"
            ));
        }
    }
    let named = std::iter::once(("defaults".to_string(), &jobs.operator.defaults)).chain(
        jobs.operator
            .tenants
            .iter()
            .map(|(t, g)| (format!("tenants.{t}"), g)),
    );
    for (place, grants) in named {
        for (key, value) in [
            ("max_concurrent_jobs", grants.max_concurrent_jobs),
            ("max_concurrent_instances", grants.max_concurrent_instances),
        ] {
            if value == Some(0) {
                problems.push(format!(
                    "{file}: operator.{place}.{key}: 0 would run none of the tenant's jobs\n  fix: give at least 1, or leave the key out for no cap"
                ));
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    for (i, job) in jobs.jobs.iter().enumerate() {
        let place = format!("{file}: jobs[{i}]");
        for (key, value) in [("id", &job.id), ("tenant", &job.tenant)] {
            if let Err(why) = path_name(value) {
                problems.push(format!(
                    "{place}.{key}: {value:?} {why}\n  fix: use letters, digits, `-`, `_` and `.`: it names a report directory"
                ));
            }
        }
        if !seen.insert((job.tenant.as_str(), job.id.as_str())) {
            problems.push(format!(
                "{place}.id: `{}` is the id of an earlier job of tenant `{}` too\n  fix: give each of a tenant's jobs its own id",
                job.id, job.tenant
            ));
        }
        if job.config.file.is_some() == job.config.env.is_some() {
            problems.push(format!(
                "{place}.config: give either `file` (a JSON file) or `env` (an environment variable holding the JSON)\n  fix: for example `config: {{env: TENANT_CONFIG}}`"
            ));
        }
        if let Some(digest) = &job.digest
            && parse_digest(digest).is_none()
        {
            problems.push(format!(
                "{place}.digest: {digest:?} is not `blake3:` and 64 hex digits\n  fix: for example `digest: blake3:{}`",
                "0".repeat(64)
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    jobs.source = JobFileInfo {
        path: path.display().to_string(),
        digest: format!("blake3:{}", blake3::hash(text.as_bytes()).to_hex()),
        jobs: jobs
            .jobs
            .iter()
            .map(|j| format!("{}/{}", j.tenant, j.id))
            .collect(),
    };
    let base = path.parent().unwrap_or(Path::new("."));
    for job in &mut jobs.jobs {
        let rebase = |p: &mut PathBuf| *p = base.join(&*p);
        rebase(&mut job.plugin);
        for p in [
            job.config.file.as_mut(),
            job.test_config.as_mut(),
            job.cassette_dir.as_mut(),
            job.previous.as_mut(),
            job.test_utils.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            rebase(p);
        }
    }
    Ok(jobs)
}

/// Whether `name` can name a directory of the report: `Err` says why not.
pub(crate) fn path_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("is empty");
    }
    if name == "." || name == ".." {
        return Err("is `.` or `..`");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err("has characters other than letters, digits, `-`, `_` and `.`");
    }
    Ok(())
}

/// The 32 bytes of a `blake3:<hex>` digest.
fn parse_digest(digest: &str) -> Option<[u8; 32]> {
    let hex = digest.strip_prefix("blake3:")?;
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Passed,
    /// Some test failed.
    Failed,
    /// It could not run.
    Error,
}

/// How a job ended, and what it used.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobOutcome {
    pub tenant: String,
    pub id: String,
    pub status: JobStatus,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// When it started, counted from the batch's start.
    pub started_ms: u64,
    pub duration_ms: u64,
    /// What its tests used, summed (the peak memory is the largest).
    pub resources: Resources,
    /// Why it could not run (`status: error`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl JobOutcome {
    /// A job that could not run, and why.
    pub fn could_not_run(tenant: &str, id: &str, error: String, duration_ms: u64) -> JobOutcome {
        JobOutcome {
            tenant: tenant.to_string(),
            id: id.to_string(),
            status: JobStatus::Error,
            passed: 0,
            failed: 0,
            skipped: 0,
            started_ms: 0,
            duration_ms,
            resources: Resources::default(),
            error: Some(error),
        }
    }
}

/// A tenant's jobs, summed.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct TenantTotals {
    pub jobs: usize,
    pub errors: usize,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub duration_ms: u64,
    pub resources: Resources,
}

/// What `DIR/summary.json` holds.
#[derive(Debug, Serialize, Deserialize)]
pub struct BatchSummary {
    pub ctest_version: String,
    /// The job file the jobs come from.
    pub job_file: JobFileInfo,
    /// The shard of the job file this batch ran (`--partition`), if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub partition: Option<partition::Partition>,
    /// The report directories `ctest merge-reports` merged into this one.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub merged_from: Vec<String>,
    pub jobs: Vec<JobOutcome>,
    pub tenants: BTreeMap<String, TenantTotals>,
    pub wall_ms: u64,
}

impl BatchSummary {
    /// The summary of `jobs`: the tenants' totals summed from them.
    pub fn new(job_file: JobFileInfo, jobs: Vec<JobOutcome>, wall_ms: u64) -> BatchSummary {
        let mut tenants: BTreeMap<String, TenantTotals> = BTreeMap::new();
        for j in &jobs {
            let t = tenants.entry(j.tenant.clone()).or_default();
            t.jobs += 1;
            t.errors += usize::from(j.status == JobStatus::Error);
            t.passed += j.passed;
            t.failed += j.failed;
            t.skipped += j.skipped;
            t.duration_ms += j.duration_ms;
            t.resources.add(&j.resources);
        }
        BatchSummary {
            ctest_version: env!("CARGO_PKG_VERSION").to_string(),
            job_file,
            partition: None,
            merged_from: Vec::new(),
            jobs,
            tenants,
            wall_ms,
        }
    }

    /// Writes `DIR/summary.json`, `DIR/junit.xml` with every job's JUnit
    /// report in one (see [`merge::junit`]), and `DIR/report.html`, the page
    /// that links the jobs' pages.
    pub fn write(&self, report_dir: &Path) -> Result<(), String> {
        let path = report_dir.join("summary.json");
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(&path, text).map_err(|e| {
            format!(
                "{}: cannot write the batch summary: {e}\n  fix: choose a writable --report-dir",
                path.display()
            )
        })?;
        let xml = merge::junit(report_dir, &self.jobs)?;
        let path = report_dir.join("junit.xml");
        std::fs::write(&path, xml).map_err(|e| {
            format!(
                "{}: cannot write the batch's JUnit report: {e}\n  fix: choose a writable --report-dir",
                path.display()
            )
        })?;
        let path = report_dir.join("report.html");
        std::fs::write(&path, html::page(self, report_dir)).map_err(|e| {
            format!(
                "{}: cannot write the batch's HTML report: {e}\n  fix: choose a writable --report-dir",
                path.display()
            )
        })
    }

    /// The exit code the batch ends with: 2 when a job could not run, else
    /// 1 when a test failed, else 0.
    pub fn exit_code(&self) -> u8 {
        if self.jobs.iter().any(|j| j.status == JobStatus::Error) {
            2
        } else if self.jobs.iter().any(|j| j.failed > 0) {
            1
        } else {
            0
        }
    }
}

/// How `ctest batch` runs a job file.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// How many jobs run at once.
    pub threads: usize,
    /// Run only this shard of the jobs.
    pub partition: Option<partition::Partition>,
    /// What a job's `run` filter that selects no test means.
    pub no_tests: NoTests,
}

/// What a job's `run` filter that selects no test means (`--no-tests`, as
/// in nextest).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum NoTests {
    /// The job file is refused (exit 2), naming every such filter.
    #[default]
    Fail,
    /// A warning; the filter is dropped, and a job left with none runs no test.
    Warn,
    /// The same, silently.
    Pass,
}

/// Every `run` filter of the file's jobs that selects no test:
/// `(job index, filter)`. The same on every shard, since it depends on the
/// file only.
pub fn filters_selecting_nothing(file: &JobFile) -> Vec<(usize, String)> {
    file.jobs
        .iter()
        .enumerate()
        .flat_map(|(i, job)| {
            job.run
                .iter()
                .filter(|f| !selects_a_test(f))
                .map(move |f| (i, f.clone()))
        })
        .collect()
}

fn selects_a_test(filter: &str) -> bool {
    // Scenario ids, and the `#N` of input sets, are known once the job's test
    // configuration is read: there, a filter that selects none is the job's
    // error.
    let filter = match filter.rsplit_once('#') {
        Some((name, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => filter,
    };
    let selection = crate::suites::Selection::only(vec![filter.to_string()]);
    filter.starts_with(crate::scenarios::SUITE)
        || crate::suites::ALL_TESTS
            .iter()
            .any(|id| selection.selects(id))
}

/// Runs every job of `jobs` (of this shard) on `host`, `threads` at a time, writing each
/// job's reports under `report_dir`, then the summary. `line` gets a line per
/// job as it ends (the console).
pub fn run(
    host: &Host,
    file: &JobFile,
    report_dir: &Path,
    options: &BatchOptions,
    line: &(dyn Fn(&str) + Sync),
) -> Result<BatchSummary, String> {
    let started = Instant::now();
    let threads = options.threads;
    // This shard's jobs, in file order.
    let chosen: Vec<Job> = file
        .jobs
        .iter()
        .enumerate()
        .filter(|(i, j)| {
            options
                .partition
                .as_ref()
                .is_none_or(|p| p.selects(*i, &j.tenant, &j.id))
        })
        .map(|(_, j)| j.clone())
        .collect();
    let jobs = &JobFile {
        operator: Operator {
            defaults: file.operator.defaults.clone(),
            tenants: file.operator.tenants.clone(),
        },
        jobs: chosen,
        source: file.source.clone(),
    };
    std::fs::create_dir_all(report_dir).map_err(|e| {
        format!(
            "{}: cannot make the report directory: {e}\n  fix: choose a writable --report-dir",
            report_dir.display()
        )
    })?;
    let grants_of = |tenant: &str| {
        jobs.operator
            .defaults
            .merged(jobs.operator.tenants.get(tenant))
    };
    // A job holds one instance at a time: a tenant runs no more jobs at
    // once than it may hold instances.
    let caps = |tenant: &str| {
        let g = grants_of(tenant);
        match (g.max_concurrent_jobs, g.max_concurrent_instances) {
            (Some(j), Some(i)) => Some(j.min(i)),
            (j, i) => j.or(i),
        }
    };
    let slots: BTreeMap<&str, InstanceSlots> = jobs
        .jobs
        .iter()
        .filter_map(|j| {
            let limit = grants_of(&j.tenant).max_concurrent_instances?;
            Some((j.tenant.as_str(), InstanceSlots::new(limit)))
        })
        .collect();
    let queue = Mutex::new(Queue::new(&jobs.jobs, caps));
    // Signalled when a job ends: a tenant at its cap may start another.
    let ended = std::sync::Condvar::new();
    let outcomes: Mutex<Vec<Option<JobOutcome>>> = Mutex::new(vec![None; jobs.jobs.len()]);
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, jobs.jobs.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = {
                        let mut q = queue.lock().unwrap_or_else(|e| e.into_inner());
                        loop {
                            match q.next() {
                                Next::Job(i) => break Some(i),
                                Next::Done => break None,
                                Next::Wait => {
                                    q = ended.wait(q).unwrap_or_else(|e| e.into_inner());
                                }
                            }
                        }
                    };
                    let Some(i) = i else {
                        break;
                    };
                    let job = &jobs.jobs[i];
                    let grants = grants_of(&job.tenant);
                    let outcome = {
                        // The job counts as running until this ends, even by
                        // a panic: a tenant waiting at its cap is never left
                        // waiting for a job that is gone.
                        let _running = Running {
                            queue: &queue,
                            ended: &ended,
                            tenant: &job.tenant,
                        };
                        run_job(
                            host,
                            job,
                            &grants,
                            slots.get(job.tenant.as_str()),
                            report_dir,
                            started,
                        )
                    };
                    line(&outcome_line(&outcome));
                    outcomes.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(outcome);
                }
            });
        }
    });
    let outcomes: Vec<JobOutcome> = outcomes
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect();
    let mut summary = BatchSummary::new(
        jobs.source.clone(),
        outcomes,
        started.elapsed().as_millis() as u64,
    );
    summary.partition = options.partition.clone();
    summary.write(report_dir)?;
    Ok(summary)
}

/// The jobs not yet started, handed out fairly between tenants: the next
/// job is the first waiting one of the tenant with the fewest jobs running
/// (ties: the tenant whose job comes first in the file), among the tenants
/// below their `max_concurrent_jobs`. A tenant with many jobs, or slow ones,
/// cannot keep another's waiting behind all of them.
struct Queue<'a> {
    /// (job, tenant, the tenant's cap).
    waiting: Vec<(usize, &'a str, Option<usize>)>,
    running: BTreeMap<&'a str, usize>,
}

/// A job running: when it ends, its tenant's count goes down and the
/// workers waiting for a tenant below its cap are woken.
struct Running<'q, 'a> {
    queue: &'q Mutex<Queue<'a>>,
    ended: &'q std::sync::Condvar,
    tenant: &'q str,
}

impl Drop for Running<'_, '_> {
    fn drop(&mut self) {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .done(self.tenant);
        self.ended.notify_all();
    }
}

/// What a worker does next.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    Job(usize),
    /// Every waiting job's tenant is at its cap: wait for a job to end.
    Wait,
    Done,
}

impl<'a> Queue<'a> {
    fn new(jobs: &'a [Job], cap: impl Fn(&str) -> Option<usize>) -> Self {
        Queue {
            waiting: jobs
                .iter()
                .enumerate()
                .map(|(i, j)| (i, j.tenant.as_str(), cap(&j.tenant)))
                .collect(),
            running: BTreeMap::new(),
        }
    }

    /// The job to start next, counted as running.
    fn next(&mut self) -> Next {
        if self.waiting.is_empty() {
            return Next::Done;
        }
        let running = |t: &str| self.running.get(t).copied().unwrap_or(0);
        let Some(at) = (0..self.waiting.len())
            .filter(|&k| {
                let (_, tenant, cap) = self.waiting[k];
                cap.is_none_or(|cap| running(tenant) < cap.max(1))
            })
            .min_by_key(|&k| (running(self.waiting[k].1), k))
        else {
            return Next::Wait;
        };
        let (i, tenant, _) = self.waiting.remove(at);
        *self.running.entry(tenant).or_default() += 1;
        Next::Job(i)
    }

    /// A job of `tenant` ended.
    fn done(&mut self, tenant: &str) {
        if let Some(n) = self.running.get_mut(tenant) {
            *n = n.saturating_sub(1);
        }
    }
}

/// The console line of a job.
pub(crate) fn outcome_line(o: &JobOutcome) -> String {
    let word = match o.status {
        JobStatus::Passed => "PASS",
        JobStatus::Failed => "FAIL",
        JobStatus::Error => "ERROR",
    };
    match &o.error {
        Some(e) => format!(
            "{word} {}/{}\n     {}",
            o.tenant,
            o.id,
            e.replace('\n', "\n     ")
        ),
        None => format!(
            "{word} {}/{}: {} passed, {} failed, {} skipped ({} ms)",
            o.tenant, o.id, o.passed, o.failed, o.skipped, o.duration_ms
        ),
    }
}

/// The console line of a tenant's totals.
pub fn tenant_line(tenant: &str, t: &TenantTotals) -> String {
    let r = &t.resources;
    let could_not_run = if t.errors > 0 {
        format!(" ({} could not run)", t.errors)
    } else {
        String::new()
    };
    format!(
        "tenant {tenant}: {} jobs{could_not_run}, {} passed, {} failed, {} skipped; {} ms of jobs, {} ms of plugin CPU, peak memory {:.1} MiB, {} instances, {} HTTP requests ({} bytes, {} from cassettes), {} bytes of output",
        t.jobs,
        t.passed,
        t.failed,
        t.skipped,
        t.duration_ms,
        r.cpu_ms,
        r.peak_memory_bytes as f64 / (1 << 20) as f64,
        r.instances,
        r.http_requests,
        r.http_bytes,
        r.cassette_hits,
        r.output_bytes
    )
}

/// Counts a run's tests as they finish, and sums what they used.
#[derive(Default)]
struct Count(Summary, Resources);

impl Reporter for Count {
    fn event(&mut self, event: &Event) -> Result<(), String> {
        match event {
            Event::TestFinished { result, .. } => self.1.add(&result.resources),
            Event::RunFinished { summary, .. } => self.0 = *summary,
            _ => {}
        }
        Ok(())
    }
}

/// Runs one job: its request from the job and the operator's grants, planned
/// and run by the session, its reports in `report_dir/<tenant>/<id>/`.
pub(crate) fn run_job(
    host: &Host,
    job: &Job,
    grants: &Grants,
    slots: Option<&InstanceSlots>,
    report_dir: &Path,
    batch_started: Instant,
) -> JobOutcome {
    let started = Instant::now();
    let mut outcome = JobOutcome {
        tenant: job.tenant.clone(),
        id: job.id.clone(),
        status: JobStatus::Error,
        passed: 0,
        failed: 0,
        skipped: 0,
        started_ms: started.duration_since(batch_started).as_millis() as u64,
        duration_ms: 0,
        resources: Resources::default(),
        error: None,
    };
    // Filters that select no test were refused, or are dropped (`--no-tests
    // warn|pass`); a job left with none runs no test.
    let filters: Vec<String> = job
        .run
        .iter()
        .filter(|f| selects_a_test(f))
        .cloned()
        .collect();
    if !job.run.is_empty() && filters.is_empty() {
        outcome.status = JobStatus::Passed;
        return outcome;
    }
    let result = (|| -> Result<Count, String> {
        check_digest(job)?;
        let dir = report_dir.join(&job.tenant).join(&job.id);
        std::fs::create_dir_all(&dir).map_err(|e| {
            format!(
                "{}: cannot make the job's report directory: {e}",
                dir.display()
            )
        })?;
        let config = match (&job.config.file, &job.config.env) {
            (Some(file), _) => ConfigSource::File(file.clone()),
            (None, Some(var)) => ConfigSource::Env(var.clone()),
            (None, None) => ConfigSource::TestConfig,
        };
        let defaults = RunRequest::new(job.plugin.clone(), config);
        let request = RunRequest {
            test_config: job.test_config.clone(),
            previous: job.previous.clone(),
            test_utils: job.test_utils.clone(),
            http: job.http.into(),
            cassette_dir: job.cassette_dir.clone(),
            allow_hosts: grants.allow_hosts.clone().unwrap_or_default(),
            allow_writes: grants.allow_writes.unwrap_or(false),
            selection: crate::suites::Selection::only(filters),
            max_http_requests: grants.max_http_requests,
            max_http_response_bytes: grants.max_http_response_bytes,
            timeout: grants.timeout_seconds,
            max_run_seconds: grants.max_job_seconds,
            max_run_cpu_seconds: grants.max_job_cpu_seconds,
            max_run_output_bytes: grants.max_job_output_bytes,
            instance_slots: slots.cloned(),
            memory_limit_mib: grants.memory_limit_mib.unwrap_or(defaults.memory_limit_mib),
            max_messages: grants.max_messages.unwrap_or(defaults.max_messages),
            max_message_bytes: grants
                .max_message_bytes
                .unwrap_or(defaults.max_message_bytes),
            ..defaults
        };
        let mut plan = session::plan(&request).map_err(|e| e.to_string())?;
        // The job's reads are counted for its HTML report's chart.
        let progress = std::sync::Arc::new(crate::report::Progress::default());
        plan.options.progress = Some(progress.clone());
        let plugin = job.plugin.display().to_string();
        let mut json = JsonReport::new(dir.join("report.json"), plugin.clone());
        let mut junit = JunitReport::new(dir.join("junit.xml"), plugin.clone());
        let mut html =
            crate::report::HtmlReport::new(dir.join("report.html"), plugin, Some(progress));
        let mut count = Count::default();
        let mut fan_out = FanOut::new(vec![&mut json, &mut junit, &mut html, &mut count]);
        session::run(host, &plan, &mut fan_out).map_err(|e| e.to_string())?;
        let errors = fan_out.into_errors();
        if !errors.is_empty() {
            return Err(errors.join("\n"));
        }
        Ok(count)
    })();
    outcome.duration_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(Count(summary, resources)) => {
            outcome.resources = resources;
            outcome.status = if summary.failed > 0 {
                JobStatus::Failed
            } else {
                JobStatus::Passed
            };
            (outcome.passed, outcome.failed, outcome.skipped) =
                (summary.passed, summary.failed, summary.skipped);
        }
        Err(e) => outcome.error = Some(e),
    }
    outcome
}

/// A job that pins a digest runs only the plugin with those bytes.
fn check_digest(job: &Job) -> Result<(), String> {
    let Some(expected) = job.digest.as_deref().and_then(parse_digest) else {
        return Ok(());
    };
    let bytes = std::fs::read(&job.plugin).map_err(|e| {
        format!(
            "{}: cannot read the plugin: {e}\n  fix: correct the job's `plugin` path",
            job.plugin.display()
        )
    })?;
    let actual = blake3::hash(&bytes);
    if actual.as_bytes() != &expected {
        return Err(format!(
            "{}: the plugin's digest is blake3:{}, not the {} the job pins\n  fix: run the plugin the job names, or pin its digest",
            job.plugin.display(),
            actual.to_hex(),
            job.digest.as_deref().unwrap_or_default()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(tenant: &str) -> Job {
        Job {
            id: "j".into(),
            tenant: tenant.into(),
            plugin: PathBuf::new(),
            digest: None,
            config: ConfigRef {
                file: None,
                env: None,
            },
            test_config: None,
            http: HttpMode::Auto,
            cassette_dir: None,
            previous: None,
            test_utils: None,
            run: Vec::new(),
        }
    }

    #[test]
    fn a_tenant_with_many_jobs_does_not_keep_another_waiting() {
        // Mallory queued six jobs first; Acme's two come after them.
        let jobs: Vec<Job> = ["m", "m", "m", "m", "m", "m", "a", "a"]
            .into_iter()
            .map(job)
            .collect();
        let mut q = Queue::new(&jobs, |_| None);
        // Two threads: one takes Mallory's first, the other Acme's first.
        assert_eq!((q.next(), q.next()), (Next::Job(0), Next::Job(6)));
        // Acme's job ends: Acme (none running) goes before Mallory (one).
        q.done("a");
        assert_eq!(q.next(), Next::Job(7));
        // Both running one: the first waiting in the file.
        q.done("m");
        assert_eq!(q.next(), Next::Job(1));
        q.done("a");
        q.done("m");
        let rest: Vec<Next> = std::iter::from_fn(|| Some(q.next()))
            .take_while(|n| *n != Next::Done)
            .collect();
        assert_eq!(rest, [2, 3, 4, 5].map(Next::Job));
    }

    #[test]
    fn a_tenant_at_its_cap_waits_while_others_run() {
        let jobs: Vec<Job> = ["m", "m", "a"].into_iter().map(job).collect();
        let mut q = Queue::new(&jobs, |t| (t == "m").then_some(1));
        assert_eq!(q.next(), Next::Job(0));
        // Mallory is at its cap of one: Acme's job goes first.
        assert_eq!(q.next(), Next::Job(2));
        // Only Mallory's second job waits, and Mallory is at its cap.
        assert_eq!(q.next(), Next::Wait);
        q.done("m");
        assert_eq!(q.next(), Next::Job(1));
        assert_eq!(q.next(), Next::Done);
    }
}
