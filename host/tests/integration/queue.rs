//! The job queue on NATS JetStream, against a real `nats-server` (Debian's
//! package; `.ci/run` installs it) started here on 127.0.0.1 with a
//! temporary store: workers take every job once, a killed worker's job is
//! redelivered and completed once, a job that cannot run ends in the
//! dead-letter stream with its reason, and workers outlive a server restart.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::*;

/// Runs `f` with a JetStream context on `url`, to look at or put on the
/// server what `ctest` does not.
fn with_jetstream<T>(url: &str, f: impl AsyncFnOnce(async_nats::jetstream::Context) -> T) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let client = async_nats::connect(url).await.unwrap();
            f(async_nats::jetstream::new(client)).await
        })
}

/// A `ctest worker`, its stdout lines collected as they come.
struct Worker {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Worker {
    fn start(url: &str, extra: &[&str]) -> Worker {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ctest"))
            .args(["worker", "--nats", url])
            .args(extra)
            .env("CTEST_CACHE_DIR", cache_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Worker { child, lines }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    fn starts(&self) -> usize {
        self.lines()
            .iter()
            .filter(|l| l.starts_with("START "))
            .count()
    }

    /// Waits until `ready` holds of the lines so far.
    fn wait_for(&self, what: &str, ready: impl Fn(&[String]) -> bool) {
        let started = Instant::now();
        while !ready(&self.lines()) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "waited for {what}: {:?}",
                self.lines()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the worker to exit (it was given --idle-exit).
    fn finish(mut self) -> Vec<String> {
        let started = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            if started.elapsed() > Duration::from_secs(60) {
                let _ = self.child.kill();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(100));
        self.lines()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A job file of `n` faker jobs (spec tests only) over four tenants, plus
/// `extra` lines, with `operator` as its operator part.
fn job_file(dir: &Path, n: usize, operator: &str, extra: &str) -> PathBuf {
    let mut text = format!("{operator}jobs:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  - {{id: j{i}, tenant: t{}, plugin: {}, config: {{file: {}}}, run: [spec/]}}\n",
            i % 4,
            plugin("source-faker").display(),
            faker_config().display()
        ));
    }
    text.push_str(extra);
    let path = dir.join("jobs.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn submit(url: &str, jobs: &Path, extra: &[&str]) -> String {
    let mut args = vec!["submit", jobs.to_str().unwrap(), "--nats", url];
    args.extend_from_slice(extra);
    let run = ctest(&args);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    batch_id(&run.stdout)
}

fn results(url: &str, batch: &str, out: &Path) -> Run {
    ctest(&[
        "results",
        "--nats",
        url,
        "--batch",
        batch,
        "--wait",
        "--timeout",
        "120",
        "--report-dir",
        out.to_str().unwrap(),
    ])
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

/// 200 jobs, 3 workers: every job is run once (200 starts in all, every
/// worker ran some), and the results make the report directory `ctest
/// batch` writes, each job once.
#[test]
fn three_workers_run_two_hundred_jobs_each_once() {
    plugins_dir();
    let nats = Nats::start();
    let dir = tempfile::tempdir().unwrap();
    let jobs = job_file(dir.path(), 200, "", "");
    let batch = submit(&nats.url(), &jobs, &[]);
    let workers: Vec<Worker> = (0..3)
        .map(|_| Worker::start(&nats.url(), &["--jobs", "1", "--idle-exit", "4"]))
        .collect();
    let out = dir.path().join("reports");
    let run = results(&nats.url(), &batch, &out);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let starts: Vec<usize> = workers
        .into_iter()
        .map(|w| {
            let n = w.starts();
            drop(w.finish());
            n
        })
        .collect();
    assert_eq!(starts.iter().sum::<usize>(), 200, "{starts:?}");
    assert!(
        starts.iter().all(|&n| n > 0),
        "every worker took jobs: {starts:?}"
    );
    let s = summary(&out);
    let ids: Vec<String> = s["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            format!(
                "{}/{}",
                j["tenant"].as_str().unwrap(),
                j["id"].as_str().unwrap()
            )
        })
        .collect();
    let expected: Vec<String> = (0..200).map(|i| format!("t{}/j{i}", i % 4)).collect();
    assert_eq!(ids, expected, "every job once, in file order");
    assert!(
        s["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["status"] == "passed" && j["passed"] == 8)
    );
    assert!(out.join("t1/j5/report.json").is_file() && out.join("junit.xml").is_file());
    assert!(!run.stdout.contains("came twice"), "{}", run.stdout);
}

/// A worker killed (SIGKILL) in the middle of a job: the job's delivery
/// lapses after ack_wait (twice the 4 s job limit), another worker gets
/// delivery 2 and completes it, and the batch has its one result.
#[test]
fn a_killed_workers_job_is_redelivered_and_completed_once() {
    plugins_dir();
    let nats = Nats::start();
    let dir = tempfile::tempdir().unwrap();
    let operator = "operator:\n  defaults:\n    timeout_seconds: 3\n    max_job_seconds: 4\n";
    let slow = format!(
        "  - {{id: slow, tenant: acme, plugin: {}, config: {{file: {}}}, run: [basic_read/read]}}\n",
        plugin("broken-read-sleeps").display(),
        faker_config().display()
    );
    let jobs = job_file(dir.path(), 0, operator, &slow);
    let batch = submit(&nats.url(), &jobs, &[]);
    let first = Worker::start(&nats.url(), &["--jobs", "1"]);
    first.wait_for("the first delivery", |l| {
        l.iter().any(|l| l.starts_with("START acme/slow"))
    });
    let mut first = first;
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let second = Worker::start(&nats.url(), &["--jobs", "1", "--idle-exit", "15"]);
    let out = dir.path().join("reports");
    let run = results(&nats.url(), &batch, &out);
    // The job ran to its end: its read timed out at 3 s, a failed test.
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let lines = second.finish();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("START acme/slow") && l.contains("delivery 2")),
        "{lines:?}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("START")).count(),
        1,
        "{lines:?}"
    );
    let s = summary(&out);
    assert_eq!(s["jobs"].as_array().unwrap().len(), 1);
    assert_eq!(s["jobs"][0]["status"], "failed");
    assert!(!run.stdout.contains("came twice"), "{}", run.stdout);
}

/// A job whose plugin is missing: delivered `max_deliver` (3) times, each
/// nak'd with its reason, then moved to the dead-letter stream by the
/// max-deliveries advisory, with the reason; its result is an error (exit 2).
#[test]
fn a_job_that_cannot_run_ends_in_the_dead_letter_stream_with_its_reason() {
    plugins_dir();
    let nats = Nats::start();
    let dir = tempfile::tempdir().unwrap();
    let missing = format!(
        "  - {{id: gone, tenant: mallory, plugin: {}, config: {{file: {}}}}}\n",
        dir.path().join("missing.wasm").display(),
        faker_config().display()
    );
    let jobs = job_file(dir.path(), 2, "", &missing);
    let batch = submit(&nats.url(), &jobs, &["--max-deliver", "3"]);
    let worker = Worker::start(&nats.url(), &["--jobs", "1", "--idle-exit", "8"]);
    let out = dir.path().join("reports");
    let run = results(&nats.url(), &batch, &out);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let lines = worker.finish();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("START mallory/gone"))
            .count(),
        3,
        "{lines:?}"
    );
    let s = summary(&out);
    let gone = s["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == "gone")
        .unwrap();
    let error = gone["error"].as_str().unwrap();
    assert!(
        error.contains("cannot read the plugin") && error.contains("gave up after 3 deliveries"),
        "{error}"
    );
    // The dead-letter stream holds it, with the reason.
    let letter = with_jetstream(&nats.url(), async |js| {
        let dead = js.get_stream("CTEST_DEAD").await.unwrap();
        dead.get_last_raw_message_by_subject(&format!("ctest.dead.{batch}.mallory"))
            .await
            .unwrap()
    });
    let letter: serde_json::Value = serde_json::from_slice(&letter.payload).unwrap();
    assert_eq!(letter["id"], "gone");
    assert_eq!(letter["deliveries"], 3);
    assert!(
        letter["reason"]
            .as_str()
            .unwrap()
            .contains("cannot read the plugin"),
        "{letter}"
    );
}

/// The server stops in the middle of a batch and starts again on the same
/// port and store: the workers reconnect and finish every job.
#[test]
fn workers_reconnect_after_the_server_restarts() {
    plugins_dir();
    let mut nats = Nats::start();
    let dir = tempfile::tempdir().unwrap();
    let jobs = job_file(dir.path(), 60, "", "");
    let batch = submit(&nats.url(), &jobs, &[]);
    let workers: Vec<Worker> = (0..2)
        .map(|_| Worker::start(&nats.url(), &["--jobs", "1", "--idle-exit", "10"]))
        .collect();
    workers[0].wait_for("a few jobs", |l| {
        l.iter().filter(|l| l.starts_with("START")).count() >= 5
    });
    nats.stop();
    std::thread::sleep(Duration::from_secs(1));
    nats.launch();
    let out = dir.path().join("reports");
    let run = results(&nats.url(), &batch, &out);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let s = summary(&out);
    assert_eq!(s["jobs"].as_array().unwrap().len(), 60);
    for w in workers {
        w.finish();
    }
}

/// `submit` and `results` against a server that is not there: at once, exit
/// 2, the URL and the fix.
#[test]
fn no_server_is_one_clear_message_and_exit_2() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("nats://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let jobs = job_file(dir.path(), 1, "", "");
    let started = Instant::now();
    let submitted = ctest(&["submit", jobs.to_str().unwrap(), "--nats", &url]);
    let collected = ctest(&["results", "--nats", &url, "--wait"]);
    for run in [&submitted, &collected] {
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("{url}: cannot connect to NATS"))
                && run.stderr.contains("fix: start nats-server with JetStream"),
            "{}",
            run.stderr
        );
    }
    assert!(started.elapsed() < Duration::from_secs(30));
}

/// A job on the queue whose names would lead out of the worker's scratch
/// directory (whoever may publish to the server could send one) is
/// dropped, never run; the worker goes on with the next.
#[test]
fn a_worker_drops_a_job_whose_names_lead_out_of_its_directory() {
    plugins_dir();
    let nats = Nats::start();
    let dir = tempfile::tempdir().unwrap();
    let jobs = job_file(dir.path(), 1, "", "");
    let batch = submit(&nats.url(), &jobs, &[]);
    let file = ctest::batch::load(&jobs).unwrap();
    let mut job = file.jobs[0].clone();
    job.tenant = "../../evil".into();
    let hostile = ctest::batch::queue::JobMessage {
        batch: batch.clone(),
        job,
        grants: Default::default(),
    };
    with_jetstream(&nats.url(), async |js| {
        js.publish(
            "ctest.jobs.evil",
            serde_json::to_vec(&hostile).unwrap().into(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    });
    let worker = Worker::start(&nats.url(), &["--jobs", "1", "--idle-exit", "3"]);
    let out = dir.path().join("reports");
    let run = results(&nats.url(), &batch, &out);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let lines = worker.finish();
    assert!(
        lines.iter().any(|l| l
            .contains("skipped a job whose batch, tenant or id is not a name a job file allows")),
        "{lines:?}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("START")).count(),
        1,
        "{lines:?}"
    );
    assert!(!dir.path().join("evil").exists());
}
