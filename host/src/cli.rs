//! The `ctest` command line: clap's flags become a
//! [`RunRequest`](crate::session::RunRequest), the session plans and runs it,
//! and the outcome becomes an exit code.
//!
//! Exit codes: 0 when every test passed (or was skipped), 1 when any failed, 2
//! when the run could not happen (bad arguments, a missing or unreadable file, a
//! file that is not a component of this contract, a config that is not JSON).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::report::{
    ConsoleReporter, FanOut, HtmlReport, JsonReport, JunitReport, Reporter, Summary, Verbosity,
    live,
};
use crate::sandbox::{CompileCache, Host, HostOptions, Limits};
use crate::session::{self, ConfigSource, RunRequest};

#[derive(Parser)]
#[command(
    name = "ctest",
    version,
    about = "Acceptance tests for WebAssembly data connectors"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the standard suites against a connector component.
    Run(Box<RunArgs>),
    /// Write each basic_read input set's expected records file
    /// (`expect_records.path`) from a read of the connector: `ignored_fields`
    /// left out, sorted by primary key, and what changed said per stream.
    /// Takes `run`'s options; `--test-config` is required.
    Snapshot(Box<RunArgs>),
    /// Run many tenants' plugins concurrently on one host, as a job file
    /// lists them; each job's reports under the report directory.
    Batch(BatchArgs),
    /// Merge the report directories of a job file's shards (`ctest batch
    /// --partition`) into one: every job once, the summary recomputed, one
    /// JUnit file.
    MergeReports(MergeArgs),
    /// Put a job file's jobs on a NATS JetStream queue, for `ctest worker`s.
    Submit(SubmitArgs),
    /// Take jobs from a NATS JetStream queue and run them, until stopped (or
    /// idle for --idle-exit seconds).
    Worker(WorkerArgs),
    /// Collect a submitted batch's results from the queue into the report
    /// directory `ctest batch` writes.
    Results(ResultsArgs),
    /// Make a connector project (source, unit tests, build script, sample
    /// config, README) that depends on the SDK package of this ctest's
    /// contract by version, and builds and passes `ctest run` as it is.
    New(NewArgs),
    /// Print the guide to writing a connector in a language: its SDK, the
    /// build, HTTP, tests, debugging and what the sandbox allows.
    Guide(GuideArgs),
    /// Print the JSON Schema of a ctest file format (`scenarios`: the
    /// `*.scenarios.yaml` files), for editors to validate with.
    Schema(SchemaArgs),
    /// Internal: compile the component on stdin (a child of `ctest run`, so
    /// that a compilation past its time limit can be killed).
    #[command(name = "__compile", hide = true)]
    Compile(CompileArgs),
}

#[derive(Args)]
struct CompileArgs {
    /// The compile cache directory whose function cache to use.
    #[arg(long, requires = "key_file")]
    function_cache: Option<PathBuf>,
    /// The compile cache's key file.
    #[arg(long)]
    key_file: Option<PathBuf>,
}

#[derive(Args)]
struct SchemaArgs {
    /// Which format.
    #[arg(value_enum)]
    format: SchemaFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SchemaFormat {
    /// A scenario file (`*.scenarios.yaml`).
    Scenarios,
}

#[derive(Args)]
struct BatchArgs {
    /// The job file (YAML; see the README's "Running many plugins").
    jobs: PathBuf,

    /// How many jobs run at once (default: the number of cores).
    #[arg(long = "jobs", value_name = "N")]
    threads: Option<usize>,

    /// Where each job's reports (`TENANT/JOB/report.json`, `junit.xml`,
    /// `report.html`) and
    /// the batch's `summary.json` are written.
    #[arg(long, value_name = "DIR", default_value = "ctest-reports")]
    report_dir: PathBuf,

    /// Where compiled components are cached (default: $CTEST_CACHE_DIR, else the
    /// user's cache directory). One cache serves every tenant: its entries
    /// are authenticated.
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    cache_dir: Option<PathBuf>,

    /// Compile each component afresh and keep no compiled copy.
    #[arg(long)]
    no_cache: bool,

    /// Run only a deterministic share of the jobs: `hash:K/N` (a job keeps
    /// its shard when others are added or removed) or `slice:K/N` (even
    /// shares), K from 1 to N. `hash` or `slice` alone takes K and N from
    /// the CI engine (GitLab CI_NODE_INDEX/CI_NODE_TOTAL, Buildkite
    /// BUILDKITE_PARALLEL_JOB/BUILDKITE_PARALLEL_JOB_COUNT, Kubernetes
    /// JOB_COMPLETION_INDEX with --partition-total); without the flag,
    /// GitLab's and Buildkite's variables select a hash shard.
    #[arg(long, value_name = "MODE[:K/N]")]
    partition: Option<String>,

    /// How many shards there are, for a shard index from a Kubernetes
    /// Indexed Job (its `completions`).
    #[arg(long, value_name = "N")]
    partition_total: Option<usize>,

    /// What a job's `run` filter that selects no test means: `fail` (the
    /// job file is refused), `warn` (dropped, with a warning), `pass`.
    #[arg(long, value_enum, value_name = "WHAT", default_value = "fail")]
    no_tests: crate::batch::NoTests,
}

#[derive(Args)]
struct SubmitArgs {
    /// The job file (as for `ctest batch`); its plugin and config paths
    /// must be paths the workers see.
    jobs: PathBuf,

    /// The NATS server (with JetStream).
    #[arg(long, value_name = "URL")]
    nats: String,

    /// How many times a job that cannot run is delivered before it goes to
    /// the dead-letter stream.
    #[arg(long, value_name = "N", default_value_t = 3)]
    max_deliver: i64,
}

#[derive(Args)]
struct WorkerArgs {
    /// The NATS server (with JetStream).
    #[arg(long, value_name = "URL")]
    nats: String,

    /// How many jobs run at once (default: the number of cores).
    #[arg(long = "jobs", value_name = "N")]
    threads: Option<usize>,

    /// Stop after this many seconds without a job.
    #[arg(long, value_name = "SECONDS")]
    idle_exit: Option<f64>,

    /// Where compiled components are cached (default: $CTEST_CACHE_DIR, else
    /// the user's cache directory).
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    cache_dir: Option<PathBuf>,

    /// Compile each component afresh and keep no compiled copy.
    #[arg(long)]
    no_cache: bool,
}

#[derive(Args)]
struct ResultsArgs {
    /// The NATS server (with JetStream).
    #[arg(long, value_name = "URL")]
    nats: String,

    /// The batch `ctest submit` printed (default: the last one submitted).
    #[arg(long, value_name = "ID")]
    batch: Option<String>,

    /// Wait until every job has a result (up to --timeout).
    #[arg(long)]
    wait: bool,

    /// How long --wait waits, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600.0)]
    timeout: f64,

    /// Where the reports are written: each job's directory, `summary.json`,
    /// `junit.xml`.
    #[arg(long, value_name = "DIR", default_value = "ctest-reports")]
    report_dir: PathBuf,
}

#[derive(Args)]
struct MergeArgs {
    /// The report directories of the shards (each `ctest batch --partition`'s
    /// --report-dir).
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,

    /// Where the merged reports are written: every job's directory,
    /// `summary.json` and `junit.xml`.
    #[arg(long, value_name = "OUT")]
    report_dir: PathBuf,
}

#[derive(Args)]
struct NewArgs {
    /// The connector's name, for example `source-shop`: also its directory.
    name: String,

    /// The language of the project.
    #[arg(long, value_enum, default_value = "rust")]
    lang: crate::scaffold::Language,

    /// Where to make the project's directory.
    #[arg(long, value_name = "DIR", default_value = ".")]
    dir: PathBuf,

    /// Use the SDKs of a ctest checkout (its `sdk` directory) instead of
    /// the published packages: for working on the SDKs themselves.
    #[arg(long, value_name = "DIR")]
    sdk: Option<PathBuf>,
}

#[derive(Args)]
struct GuideArgs {
    /// The language.
    #[arg(value_enum)]
    lang: crate::scaffold::Language,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("config_source").args(["config", "config_env"])))]
struct RunArgs {
    /// The connector: a WebAssembly component (`.wasm`) built against ctest's contract.
    plugin: PathBuf,

    /// The connector's config, a JSON file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Read the config's JSON from this environment variable instead of a file,
    /// so that a CI runner never writes secrets to disk.
    #[arg(long, value_name = "VAR")]
    config_env: Option<String>,

    /// The test configuration: per suite, input sets and bypass reasons (YAML;
    /// see the README).
    #[arg(long, value_name = "FILE")]
    test_config: Option<PathBuf>,

    /// The previous version of the connector: report breaking changes of the
    /// spec and catalog against it (the backward_compatibility suite).
    #[arg(long, value_name = "OLD.wasm")]
    previous: Option<PathBuf>,

    /// How HTTP is served: `auto` replays a test's cassette when it exists and
    /// goes live otherwise; `live`; `record` (live, writing each test's
    /// cassette); `replay` (cassettes only, no network).
    #[arg(long, value_name = "MODE", default_value = "auto")]
    http: crate::network::Mode,

    /// Where cassettes are kept (default: `cassettes` next to the test
    /// configuration, else in the current directory).
    #[arg(long, value_name = "DIR")]
    cassette_dir: Option<PathBuf>,

    /// Also allow the plugin to reach this host (an entry of the
    /// `allowed-hosts` grammar, for example `https://api.vendor.com`);
    /// repeatable. Only the operator widens the spec's list.
    #[arg(long = "allow-host", value_name = "ENTRY")]
    allow_hosts: Vec<String>,

    /// Let the test configuration name files in DIR even though DIR is
    /// outside the test configuration's own directory (repeatable; operator
    /// only: without it, such paths are refused).
    #[arg(long = "allow-path", value_name = "DIR")]
    allow_paths: Vec<PathBuf>,

    /// The largest HTTP response body a plugin may receive, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = crate::network::NetworkOptions::default().max_response_bytes)]
    max_response_size: usize,

    /// The largest HTTP request body a plugin may send, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = crate::network::NetworkOptions::default().max_request_bytes)]
    max_request_size: usize,

    /// The most HTTP requests the run may make (operator only): past it,
    /// requests are refused and the test fails naming the quota.
    #[arg(long, value_name = "N")]
    max_http_requests: Option<u64>,

    /// The most HTTP response body bytes the run may receive (operator only).
    #[arg(long, value_name = "BYTES")]
    max_http_response_bytes: Option<u64>,

    /// The test-utils component that writes to the source for the write_back
    /// suite (default: the connector's own `write-back` export, if any).
    #[arg(long, value_name = "UTILS.wasm")]
    test_utils: Option<PathBuf>,

    /// Let the write_back suite change the source (live or record mode): it
    /// writes and deletes test rows. Without it, the suite runs only in
    /// replay.
    #[arg(long)]
    allow_writes: bool,

    /// Also write the results as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    report_json: Option<PathBuf>,

    /// Also write the results as JUnit XML to FILE, for CI systems that show
    /// test results (a testsuite per suite, the plugin's log as system-out).
    #[arg(long, value_name = "FILE")]
    report_junit: Option<PathBuf>,

    /// Also write a self-contained HTML report to FILE: the summary, the
    /// failures first, read throughput per stream, every suite's tests with
    /// their times and resources, the plugin's logs.
    #[arg(long, value_name = "FILE")]
    report_html: Option<PathBuf>,

    /// Run only the tests whose name, as printed (`suite/name`, `#N` for an
    /// input set, `scenario/<file>/<name>`), contains FILTER, matches it as a
    /// glob (`*`, `?`) or as a regular expression (repeatable).
    #[arg(long = "run", value_name = "FILTER")]
    filters: Vec<String>,

    /// Leave out the tests FILTER selects, as --run would (repeatable).
    #[arg(long = "skip", value_name = "FILTER")]
    skip: Vec<String>,

    /// --run and --skip select only the tests whose whole name is FILTER.
    #[arg(long)]
    exact: bool,

    /// Print the tests the run would run under the given test
    /// configuration and selection, one per line, named as a run prints
    /// them, and exit without loading the connector.
    #[arg(long)]
    list: bool,

    /// Stop at the first failed test; the summary counts the tests not run.
    #[arg(long)]
    fail_fast: bool,

    /// What a --run filter that selects no test means: `fail` (exit 2,
    /// listing the tests), `warn` (a note, and the run goes on), `pass`.
    #[arg(long, value_enum, value_name = "WHAT", default_value = "fail")]
    no_tests: crate::batch::NoTests,

    /// Colour the verdicts: `auto` when stdout is a terminal and NO_COLOR
    /// is not set, `always`, `never`.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    color: ColorChoice,

    /// Say only failed tests and the summary; no progress.
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,

    /// Also say what each test used, and a failed test's whole plugin log.
    #[arg(short, long)]
    verbose: bool,

    /// When stderr is not a terminal (CI), how often to say what a long
    /// test or compile is doing, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 15.0)]
    heartbeat_seconds: f64,

    /// Mark a test that runs longer than this, in seconds, as SLOW.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    slow_seconds: f64,

    /// Give a scenario variable its value (repeatable; over the test
    /// configuration's `vars` and the environment). VALUE is JSON when it
    /// parses as JSON, else text.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = crate::scenarios::parse_var)]
    vars: Vec<(String, serde_json::Value)>,

    /// Time limit of each test, in seconds (defaults: spec 10, connection 30,
    /// discovery 30, reads 120).
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,

    /// The whole run's wall-time quota, in seconds (operator only): a test
    /// it cuts short, and every test after it, fails naming it.
    #[arg(long, value_name = "SECONDS")]
    max_run_seconds: Option<f64>,

    /// The CPU time the run's plugin calls may take together, in seconds
    /// (operator only): a call past it is stopped, and it and every call
    /// after it fail naming it.
    #[arg(long, value_name = "SECONDS")]
    max_run_cpu_seconds: Option<f64>,

    /// The bytes the run's plugin may send the host in all (operator only):
    /// its reads' messages, log lines, stdout and stderr. The call past it
    /// fails naming it, and so does every call after it.
    #[arg(long, value_name = "BYTES")]
    max_run_output_bytes: Option<u64>,

    /// Memory a plugin instance may use, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    memory_limit: usize,

    /// The most plugin instances the run uses at once, for reads that do
    /// not depend on each other (incremental's slices, when the connector
    /// made no HTTP request) and for scenarios; default: the machine's
    /// cores. 1 runs everything one at a time.
    #[arg(long, value_name = "N")]
    threads: Option<std::num::NonZeroUsize>,

    /// The largest message a read may return, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_message_bytes)]
    max_message_size: usize,

    /// The most messages one read may return.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_messages)]
    max_messages: u64,

    /// Where compiled components are cached (default: $CTEST_CACHE_DIR, else the
    /// user's cache directory).
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    cache_dir: Option<PathBuf>,

    /// Compile the component afresh and keep no compiled copy.
    #[arg(long)]
    no_cache: bool,

    /// Time limit of compiling one component, in seconds (operator only).
    #[arg(long, value_name = "SECONDS", default_value_t = crate::sandbox::DEFAULT_COMPILE_TIMEOUT.as_secs_f64())]
    compile_timeout: f64,
}

/// When the console colours its verdicts.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour a stream that `is_terminal` (or not): `auto` asks
    /// for a terminal and honours NO_COLOR (set and not empty) and
    /// `TERM=dumb`.
    fn colors(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                is_terminal
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
            }
        }
    }
}

/// A problem with what the user gave: printed as is, exit code 2.
struct UsageError(String);

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Compile(args) => {
            return crate::sandbox::compile_child_main(args.function_cache.zip(args.key_file));
        }
        Command::Run(args) => run(*args),
        Command::Snapshot(args) => snapshot(*args),
        Command::Batch(args) => return batch(args),
        Command::MergeReports(args) => return merge_reports(args),
        Command::Submit(args) => return submit(args),
        Command::Worker(args) => return worker(args),
        Command::Results(args) => return results(args),
        Command::New(args) => new(args).map(|()| Summary::default()),
        Command::Guide(args) => {
            print!("{}", crate::scaffold::guide(args.lang));
            return ExitCode::SUCCESS;
        }
        Command::Schema(args) => {
            match args.format {
                SchemaFormat::Scenarios => println!(
                    "{}",
                    serde_json::to_string_pretty(&crate::scenarios::file::schema())
                        .unwrap_or_default()
                ),
            }
            return ExitCode::SUCCESS;
        }
    };
    match result {
        Ok(summary) if summary.failed == 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(UsageError(message)) => {
            let _ = writeln!(std::io::stderr(), "error: {message}");
            ExitCode::from(2)
        }
    }
}

/// `ctest batch`: exit 2 when the job file is bad or a job could not run,
/// else 1 when a test failed, else 0.
fn batch(args: BatchArgs) -> ExitCode {
    let fail = |message: String| {
        let _ = writeln!(std::io::stderr(), "error: {message}");
        ExitCode::from(2)
    };
    let jobs = match crate::batch::load(&args.jobs) {
        Ok(jobs) => jobs,
        Err(e) => return fail(e),
    };
    let env = |var: &str| std::env::var(var).ok();
    let partition = match crate::batch::partition::Partition::resolve(
        args.partition.as_deref(),
        args.partition_total,
        &env,
    ) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    // A filter that selects no test is the same mistake on every shard, so
    // every shard says so, whichever jobs it runs.
    let nothing = crate::batch::filters_selecting_nothing(&jobs);
    if !nothing.is_empty() && args.no_tests != crate::batch::NoTests::Pass {
        let lines: Vec<String> = nothing
            .iter()
            .map(|(i, f)| {
                format!(
                    "{}: jobs[{i}].run: {f:?} selects no test\n  fix: use part of a test's `suite/name` (`ctest run --help` lists the suites), or pass --no-tests warn",
                    args.jobs.display()
                )
            })
            .collect();
        if args.no_tests == crate::batch::NoTests::Fail {
            return fail(lines.join("\n"));
        }
        for line in lines {
            let _ = writeln!(std::io::stderr(), "warning: {line}");
        }
    }
    let (threads, host) = match jobs_host(args.threads, args.cache_dir.clone(), args.no_cache) {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    let print = print_escaped;
    if let Some(p) = &partition {
        print(&format!("{p}"));
    }
    let options = crate::batch::BatchOptions {
        threads,
        partition,
        no_tests: args.no_tests,
    };
    match crate::batch::run(&host, &jobs, &args.report_dir, &options, &print) {
        Err(e) => fail(e),
        Ok(summary) => {
            if summary.jobs.is_empty() {
                println!(
                    "this shard has none of the {} jobs of {}: nothing to run",
                    jobs.jobs.len(),
                    args.jobs.display()
                );
            }
            print_totals(&summary, &args.report_dir, &print);
            ExitCode::from(summary.exit_code())
        }
    }
}

/// The per-tenant lines and the last line of a batch or a merge.
fn print_totals(summary: &crate::batch::BatchSummary, dir: &std::path::Path, print: &dyn Fn(&str)) {
    use crate::batch::JobStatus;
    for (tenant, t) in &summary.tenants {
        print(&crate::batch::tenant_line(tenant, t));
    }
    let count = |s: JobStatus| summary.jobs.iter().filter(|j| j.status == s).count();
    let (failed, errors) = (count(JobStatus::Failed), count(JobStatus::Error));
    println!(
        "{} jobs: {} passed, {failed} failed, {errors} could not run ({} ms); summary in {}",
        summary.jobs.len(),
        count(JobStatus::Passed),
        summary.wall_ms,
        dir.join("summary.json").display()
    );
}

/// `ctest merge-reports`: exit 2 when the directories cannot be merged (or a
/// job could not run), else 1 when a test failed, else 0.
fn merge_reports(args: MergeArgs) -> ExitCode {
    match crate::batch::merge::merge_reports(&args.dirs, &args.report_dir) {
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::from(2)
        }
        Ok(summary) => {
            let print = print_escaped;
            print_totals(&summary, &args.report_dir, &print);
            ExitCode::from(summary.exit_code())
        }
    }
}

fn usage_error(message: String) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "error: {message}");
    ExitCode::from(2)
}

/// The host jobs run on, `threads` (default: the cores) at a time, and the
/// thread count.
fn jobs_host(
    threads: Option<usize>,
    cache_dir: Option<PathBuf>,
    no_cache: bool,
) -> Result<(usize, Host), String> {
    let threads = threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    // A job holds a few instances at once (the plugin's, its previous
    // version's or its test-utils'): room for four per running job.
    let options = HostOptions {
        max_instances: u32::try_from(threads.saturating_mul(4))
            .unwrap_or(u32::MAX)
            .max(HostOptions::default().max_instances),
        ..HostOptions::default()
    };
    let host = new_host(
        &options,
        cache_dir,
        no_cache,
        crate::sandbox::DEFAULT_COMPILE_TIMEOUT,
    )?;
    Ok((threads, host))
}

/// A line for the console, each of its lines escaped: what a plugin or a
/// tenant's file says is shown, never obeyed by the terminal.
fn print_escaped(line: &str) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for l in line.lines() {
        let _ = writeln!(out, "{}", crate::report::escape(l));
    }
    let _ = out.flush();
}

/// `ctest submit`: exit 2 when the job file is bad or the server cannot
/// take the jobs.
fn submit(args: SubmitArgs) -> ExitCode {
    let jobs = match crate::batch::load(&args.jobs) {
        Ok(jobs) => jobs,
        Err(e) => return usage_error(e),
    };
    let nothing = crate::batch::filters_selecting_nothing(&jobs);
    if let Some((i, f)) = nothing.first() {
        return usage_error(format!(
            "{}: jobs[{i}].run: {f:?} selects no test\n  fix: use part of a test's `suite/name`",
            args.jobs.display()
        ));
    }
    if args.max_deliver < 1 {
        return usage_error(format!(
            "--max-deliver {}: a job must be delivered at least once\n  fix: --max-deliver 3",
            args.max_deliver
        ));
    }
    match crate::batch::queue::submit(&args.nats, &jobs, args.max_deliver) {
        Err(e) => usage_error(e),
        Ok(s) => {
            println!(
                "batch {}: {} jobs on {} (ack_wait {} s, max_deliver {})\nresults: ctest results --nats {} --batch {} --wait",
                s.batch,
                s.jobs,
                args.nats,
                s.ack_wait.as_secs(),
                args.max_deliver,
                args.nats,
                s.batch
            );
            ExitCode::SUCCESS
        }
    }
}

/// `ctest worker`: runs until stopped, or idle for --idle-exit seconds.
fn worker(args: WorkerArgs) -> ExitCode {
    let (threads, host) = match jobs_host(args.threads, args.cache_dir.clone(), args.no_cache) {
        Ok(h) => h,
        Err(e) => return usage_error(e),
    };
    let scratch = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return usage_error(format!("cannot make a scratch directory: {e}")),
    };
    let idle = match args.idle_exit {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(s) => {
            return usage_error(format!(
                "--idle-exit {s}: not a positive number of seconds\n  fix: for example --idle-exit 30"
            ));
        }
    };
    let print = print_escaped;
    match crate::batch::queue::worker(&args.nats, &host, threads, idle, scratch.path(), &print) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => usage_error(e),
    }
}

/// `ctest results`: as `ctest batch` for the batch's jobs; exit 2 when some
/// have no result.
fn results(args: ResultsArgs) -> ExitCode {
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return usage_error(format!(
            "--timeout {}: not a positive number of seconds\n  fix: for example --timeout 600",
            args.timeout
        ));
    }
    let wait = args.wait.then(|| Duration::from_secs_f64(args.timeout));
    match crate::batch::queue::results(&args.nats, args.batch.as_deref(), wait, &args.report_dir) {
        Err(e) => usage_error(e),
        Ok((summary, duplicates)) => {
            let print = print_escaped;
            if duplicates > 0 {
                print(&format!(
                    "{duplicates} results came twice (a worker died after posting one, and the job ran again); the first of each is kept"
                ));
            }
            print_totals(&summary, &args.report_dir, &print);
            ExitCode::from(summary.exit_code())
        }
    }
}

/// The host a command runs on: its compile cache (`--cache-dir`, else
/// `$CTEST_CACHE_DIR` or the user's cache directory; none with
/// `--no-cache`), its warnings printed, compiles in child processes.
fn new_host(
    options: &HostOptions,
    cache_dir: Option<PathBuf>,
    no_cache: bool,
    compile_timeout: Duration,
) -> Result<Host, String> {
    new_observed_host(options, cache_dir, no_cache, compile_timeout, None)
}

/// [`new_host`] whose compiles are told to `observer`.
fn new_observed_host(
    options: &HostOptions,
    cache_dir: Option<PathBuf>,
    no_cache: bool,
    compile_timeout: Duration,
    observer: Option<crate::sandbox::CompileObserver>,
) -> Result<Host, String> {
    let mut cache = CompileCache::new(if no_cache {
        None
    } else {
        cache_dir.or_else(CompileCache::default_dir)
    });
    cache.compile_timeout = compile_timeout;
    cache.observer = observer;
    for warning in cache.warnings() {
        eprintln!("warning: {warning}");
    }
    if let Ok(exe) = std::env::current_exe() {
        crate::sandbox::compile_in_child_processes(exe);
    }
    Host::new(options, cache)
}

fn new(args: NewArgs) -> Result<(), UsageError> {
    let dir = crate::scaffold::new_project(&args.name, args.lang, &args.dir, args.sdk.as_deref())
        .map_err(UsageError)?;
    println!(
        "made {}\n  next: cd {} && ./build.sh && ctest run {}.wasm --config config.json",
        dir.display(),
        dir.display(),
        args.name
    );
    Ok(())
}

/// The request the flags make: the session resolves and runs it.
fn request(args: &RunArgs) -> RunRequest {
    let config = match (&args.config, &args.config_env) {
        (Some(path), _) => ConfigSource::File(path.clone()),
        (None, Some(var)) => ConfigSource::Env(var.clone()),
        (None, None) => ConfigSource::TestConfig,
    };
    RunRequest {
        test_config: args.test_config.clone(),
        previous: args.previous.clone(),
        test_utils: args.test_utils.clone(),
        http: args.http,
        cassette_dir: args.cassette_dir.clone(),
        allow_hosts: args.allow_hosts.clone(),
        allow_paths: args.allow_paths.clone(),
        max_response_bytes: args.max_response_size,
        max_request_bytes: args.max_request_size,
        max_http_requests: args.max_http_requests,
        max_http_response_bytes: args.max_http_response_bytes,
        allow_writes: args.allow_writes,
        selection: crate::suites::Selection {
            run: args.filters.clone(),
            skip: args.skip.clone(),
            exact: args.exact,
        },
        fail_fast: args.fail_fast,
        no_tests: args.no_tests,
        timeout: args.timeout,
        max_run_seconds: args.max_run_seconds,
        max_run_cpu_seconds: args.max_run_cpu_seconds,
        max_run_output_bytes: args.max_run_output_bytes,
        memory_limit_mib: args.memory_limit,
        max_message_bytes: args.max_message_size,
        max_messages: args.max_messages,
        threads: args.threads,
        vars: args.vars.clone(),
        ..RunRequest::new(args.plugin.clone(), config)
    }
}

/// `ctest snapshot`: a run of basic_read's read alone, writing the expected
/// records files; what changed is printed after the run's report.
fn snapshot(mut args: RunArgs) -> Result<Summary, UsageError> {
    let Some(test_config) = &args.test_config else {
        return Err(UsageError(
            "ctest snapshot writes the files the test configuration names in `expect_records.path`; there is none without one\n  fix: pass --test-config FILE whose basic_read input sets give `expect_records: {path: expected_records.jsonl}`".into(),
        ));
    };
    if !args.filters.is_empty() || !args.skip.is_empty() || args.list {
        return Err(UsageError(
            "ctest snapshot runs basic_read's read alone; --run, --skip and --list do not apply\n  fix: leave them out".into(),
        ));
    }
    let (config, _) = crate::test_config::load(test_config).map_err(UsageError)?;
    let targets = config
        .acceptance_tests
        .suite("basic_read")
        .map(|s| {
            s.tests
                .iter()
                .filter(|set| {
                    set.expect_records
                        .as_ref()
                        .is_some_and(|e| e.path.is_some())
                })
                .count()
        })
        .unwrap_or(0);
    if targets == 0 {
        return Err(UsageError(format!(
            "{}: no basic_read input set gives `expect_records.path`, so there is no file to write\n  fix: add to an input set of acceptance_tests.basic_read: `expect_records: {{path: integration_tests/expected_records.jsonl}}`",
            test_config.display()
        )));
    }
    args.filters = vec!["basic_read/expected_records".into()];
    args.exact = false;
    let mut request = request(&args);
    request.snapshot = true;
    let mut plan = session::plan(&request).map_err(|e| UsageError(e.to_string()))?;
    let summary = execute(&args, &mut plan)?;
    if let Some(lines) = &plan.options.snapshot
        && let Ok(lines) = lines.lock()
    {
        println!();
        for line in lines.iter() {
            println!("{line}");
        }
    }
    Ok(summary)
}

fn run(args: RunArgs) -> Result<Summary, UsageError> {
    let mut plan = session::plan(&request(&args)).map_err(|e| UsageError(e.to_string()))?;
    if args.list {
        return list(&args, &plan);
    }
    execute(&args, &mut plan)
}

/// The flags in seconds that are not a positive number of them: exit 2.
fn check_seconds(args: &RunArgs) -> Result<(), UsageError> {
    for (flag, value) in [
        ("--compile-timeout", args.compile_timeout),
        ("--heartbeat-seconds", args.heartbeat_seconds),
        ("--slow-seconds", args.slow_seconds),
    ] {
        if !(value.is_finite() && value > 0.0 && value < 1e9) {
            return Err(UsageError(format!(
                "{flag} {value}: expected a positive number of seconds, for example `{flag} 30`"
            )));
        }
    }
    Ok(())
}

/// `ctest run --list`: the tests the run would report, one per line.
fn list(args: &RunArgs, plan: &session::RunPlan) -> Result<Summary, UsageError> {
    check_seconds(args)?;
    for note in &plan.notes {
        eprintln!("note: {note}");
    }
    let host = new_host(
        &HostOptions::default(),
        args.cache_dir.clone(),
        args.no_cache,
        Duration::from_secs_f64(args.compile_timeout),
    )
    .map_err(UsageError)?;
    let tests = session::list(&host, plan).map_err(|e| UsageError(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    for id in &tests {
        let _ = writeln!(out, "{}", crate::report::escape(id));
    }
    Ok(Summary::default())
}

/// Runs a plan with the reporters `args` ask for.
fn execute(args: &RunArgs, plan: &mut session::RunPlan) -> Result<Summary, UsageError> {
    use std::io::IsTerminal;
    for note in &plan.notes {
        eprintln!("note: {note}");
    }
    check_seconds(args)?;
    // Liveness on stderr: a progress line on a terminal, else a heartbeat.
    let progress = std::sync::Arc::new(crate::report::Progress::default());
    let mode = if args.quiet {
        live::Mode::Off
    } else if std::io::stderr().is_terminal() {
        live::Mode::Bar
    } else {
        live::Mode::Plain {
            every: Duration::from_secs_f64(args.heartbeat_seconds),
        }
    };
    let live = std::sync::Arc::new(live::Live::start(
        progress.clone(),
        mode,
        Duration::from_secs_f64(args.slow_seconds),
    ));
    plan.options.progress = Some(progress.clone());
    let observer: crate::sandbox::CompileObserver = {
        let live = live.clone();
        let progress = progress.clone();
        std::sync::Arc::new(move |notice| match notice {
            crate::sandbox::CompileNotice::Started {
                name,
                cached_afterwards,
            } => {
                progress.compiling(&crate::report::escape(name));
                live.say(&format!(
                    "compiling {} ({})…",
                    crate::report::escape(name),
                    if cached_afterwards {
                        "first run; cached afterwards"
                    } else {
                        "not cached: --no-cache, or the cache cannot be used"
                    }
                ));
            }
            crate::sandbox::CompileNotice::Finished { ok: false, .. } => progress.compiled(),
            crate::sandbox::CompileNotice::Finished { name, elapsed, .. } => {
                progress.compiled();
                live.say(&format!(
                    "compiled {} in {:.1} s",
                    crate::report::escape(name),
                    elapsed.as_secs_f64()
                ));
            }
        })
    };
    let host = new_observed_host(
        &HostOptions::default(),
        args.cache_dir.clone(),
        args.no_cache,
        Duration::from_secs_f64(args.compile_timeout),
        Some(observer),
    )
    .map_err(UsageError)?;

    // Each reporter renders the run's events, and writes its own file.
    let stdout = std::io::stdout();
    let verbosity = match (args.quiet, args.verbose) {
        (true, _) => Verbosity::Quiet,
        (_, true) => Verbosity::Verbose,
        _ => Verbosity::Normal,
    };
    let mut console = ConsoleReporter::new(stdout.lock())
        .color(args.color.colors(stdout.is_terminal()))
        .verbosity(verbosity)
        .live(live.clone());
    let plugin_name = args.plugin.display().to_string();
    let mut json = args
        .report_json
        .as_ref()
        .map(|path| JsonReport::new(path, plugin_name.clone()));
    let mut junit = args
        .report_junit
        .as_ref()
        .map(|path| JunitReport::new(path, plugin_name.clone()));
    let mut html = args
        .report_html
        .as_ref()
        .map(|path| HtmlReport::new(path, plugin_name.clone(), Some(progress.clone())));
    let mut reporters: Vec<&mut dyn Reporter> = vec![&mut console];
    if let Some(j) = json.as_mut() {
        reporters.push(j);
    }
    if let Some(h) = html.as_mut() {
        reporters.push(h);
    }
    if let Some(j) = junit.as_mut() {
        reporters.push(j);
    }
    let mut fan_out = FanOut::new(reporters);
    let summary = session::run(&host, plan, &mut fan_out);
    live.finish();
    for note in plan.options.network.notes() {
        eprintln!("note: {note}");
    }
    let summary = summary.map_err(|e| UsageError(e.to_string()))?;
    let errors = fan_out.into_errors();
    if !errors.is_empty() {
        return Err(UsageError(errors.join("\n")));
    }
    Ok(summary)
}
