//! The job queue on NATS JetStream: `ctest submit`, `ctest worker`, `ctest
//! results`. When one machine (or a fixed set of CI shards) is not enough,
//! any number of workers, on any machines that reach the server, take jobs
//! as they come.
//!
//! - `submit` puts each job of a job file on the work-queue stream
//!   `CTEST_JOBS`, subject `ctest.jobs.<tenant>`, with the operator's grants
//!   for its tenant and the plugin's digest (plugins travel as a path every
//!   worker sees; the worker checks the digest before it loads the bytes).
//!   A job's config is a file or an environment variable the *worker*
//!   resolves: no secret travels in a job. The batch's manifest (its id, the
//!   job file's digest and jobs) goes to `ctest.batches.<id>`.
//! - `worker` pulls from the durable consumer `ctest-workers` with explicit
//!   acks. `ack_wait` is twice the longest job time the operator allows
//!   (`max_job_seconds`; 10 minutes without one), and a running job sends a
//!   progress ack every third of it, so a job is redelivered only when its
//!   worker died or hung. A job that ran is acked with its result, passed or
//!   failed: it is not retried. A job that could not run (a missing plugin,
//!   a digest that does not match) is nak'd with a growing delay, its
//!   reason kept on `ctest.attempts.…`; after `max_deliver` deliveries
//!   (default 3) the server's max-deliveries advisory makes a worker move it
//!   to the dead-letter stream `CTEST_DEAD` with the last reason, and post
//!   its result as an error.
//! - Results go to `CTEST_RESULTS`, subject `ctest.results.<batch>.<tenant>`,
//!   deduplicated by message id (batch, tenant, job, attempt), with the
//!   job's reports inside. `results --wait` waits for every job of the
//!   batch and writes the report directory `ctest batch` writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::{BatchSummary, Grants, Job, JobFile, JobFileInfo, JobOutcome, JobStatus};
use crate::sandbox::Host;

const JOBS: &str = "CTEST_JOBS";
const RESULTS: &str = "CTEST_RESULTS";
const DEAD: &str = "CTEST_DEAD";
const CONSUMER: &str = "ctest-workers";
/// `ack_wait` when the operator sets no job time.
const DEFAULT_JOB_SECONDS: f64 = 300.0;
/// The most bytes of reports one result may carry (NATS' default payload
/// limit is 1 MiB); a job's larger reports are replaced by a note.
const MAX_REPORT_BYTES: usize = 900 << 10;

/// A job on the queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobMessage {
    pub batch: String,
    /// Its paths absolute (as the job file resolved them), its digest set.
    pub job: Job,
    /// The operator's grants for its tenant.
    pub grants: Grants,
}

/// What `ctest results` needs to know of a batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub batch: String,
    pub job_file: JobFileInfo,
    pub max_deliver: i64,
}

/// A job's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResultMessage {
    pub batch: String,
    /// The delivery that produced it (1 for the first).
    pub attempt: i64,
    pub worker: String,
    pub outcome: JobOutcome,
    pub report_json: Option<String>,
    pub junit_xml: Option<String>,
}

/// A job that could not run after its last delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadLetter {
    pub batch: String,
    pub tenant: String,
    pub id: String,
    pub deliveries: i64,
    pub reason: String,
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// Connects, reconnecting without end when the server goes away. A worker
/// (`wait`) also waits for a server that is not up yet; `submit` and
/// `results` say at once that it is not there.
async fn connect(url: &str, wait: bool) -> Result<jetstream::Context, String> {
    let mut options = async_nats::ConnectOptions::new()
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(5));
    if wait {
        options = options.retry_on_initial_connect();
    }
    let client = options
        .connect(url)
        .await
        .map_err(|e| {
            format!("{url}: cannot connect to NATS: {e}\n  fix: start nats-server with JetStream (`nats-server -js`), or pass its URL with --nats")
        })?;
    Ok(jetstream::new(client))
}

/// The three streams and the workers' consumer, made if missing.
/// With `consumer` (ack_wait, max_deliver), the consumer is made or given
/// them (`submit`); workers and `results` leave it as it is.
async fn streams(
    js: &jetstream::Context,
    consumer: Option<(Duration, i64)>,
) -> Result<stream::Stream, String> {
    let jobs = js
        .get_or_create_stream(stream::Config {
            name: JOBS.into(),
            subjects: vec!["ctest.jobs.>".into()],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| format!("cannot make the stream {JOBS}: {e}"))?;
    for (name, subjects) in [
        (
            RESULTS,
            vec![
                "ctest.results.>".to_string(),
                "ctest.batches.>".into(),
                "ctest.attempts.>".into(),
            ],
        ),
        (DEAD, vec!["ctest.dead.>".to_string()]),
    ] {
        js.get_or_create_stream(stream::Config {
            name: name.into(),
            subjects,
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(3600),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("cannot make the stream {name}: {e}"))?;
    }
    if let Some((ack_wait, max_deliver)) = consumer {
        let config = consumer::pull::Config {
            durable_name: Some(CONSUMER.into()),
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait,
            max_deliver,
            ..Default::default()
        };
        // A consumer made by an earlier submit gets this batch's settings.
        if jobs
            .get_consumer::<consumer::pull::Config>(CONSUMER)
            .await
            .is_ok()
        {
            jobs.update_consumer(config)
                .await
                .map_err(|e| format!("cannot update the consumer {CONSUMER}: {e}"))?;
        } else {
            jobs.create_consumer(config)
                .await
                .map_err(|e| format!("cannot make the consumer {CONSUMER}: {e}"))?;
        }
    }
    Ok(jobs)
}

async fn publish(
    js: &jetstream::Context,
    subject: String,
    id: Option<String>,
    payload: Vec<u8>,
) -> Result<(), String> {
    let mut headers = async_nats::HeaderMap::new();
    if let Some(id) = id {
        headers.insert("Nats-Msg-Id", id.as_str());
    }
    js.publish_with_headers(subject.clone(), headers, payload.into())
        .await
        .map_err(|e| format!("cannot publish to {subject}: {e}"))?
        .await
        .map_err(|e| format!("{subject}: the server did not take the message: {e}"))?;
    Ok(())
}

/// What `ctest submit` did.
pub struct Submitted {
    pub batch: String,
    pub jobs: usize,
    pub ack_wait: Duration,
}

/// `ctest submit`: every job of `file` on the queue, as batch `batch`.
pub fn submit(url: &str, file: &JobFile, max_deliver: i64) -> Result<Submitted, String> {
    let batch = format!(
        "{}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        &blake3::hash(&random_bytes()).to_hex()[..8]
    );
    // Twice the longest job time any tenant is allowed.
    let longest = file
        .jobs
        .iter()
        .map(|j| {
            file.grants_of(&j.tenant)
                .max_job_seconds
                .unwrap_or(DEFAULT_JOB_SECONDS)
        })
        .fold(0.0_f64, f64::max);
    let ack_wait = Duration::from_secs_f64((2.0 * longest).max(2.0));
    // Put on the queue taking the tenants in turn (each tenant's jobs in
    // file order): workers take jobs in queue order, so a tenant that listed
    // many jobs first does not keep the others waiting behind all of them.
    let mut by_tenant: BTreeMap<&str, std::collections::VecDeque<&Job>> = BTreeMap::new();
    let mut tenants: Vec<&str> = Vec::new();
    for job in &file.jobs {
        if !by_tenant.contains_key(job.tenant.as_str()) {
            tenants.push(&job.tenant);
        }
        by_tenant.entry(&job.tenant).or_default().push_back(job);
    }
    let mut in_turn = Vec::with_capacity(file.jobs.len());
    while in_turn.len() < file.jobs.len() {
        for t in &tenants {
            if let Some(job) = by_tenant.get_mut(t).and_then(|q| q.pop_front()) {
                in_turn.push(job);
            }
        }
    }
    let mut messages = Vec::new();
    for job in in_turn {
        let mut job = job.clone();
        // The digest pins the bytes the submitter saw. A plugin it cannot
        // read is left to the worker, where it is the job's error.
        if job.digest.is_none()
            && let Ok(bytes) = std::fs::read(&job.plugin)
        {
            job.digest = Some(format!("blake3:{}", blake3::hash(&bytes).to_hex()));
        }
        let grants = file.grants_of(&job.tenant);
        messages.push(JobMessage {
            batch: batch.clone(),
            job,
            grants,
        });
    }
    let manifest = Manifest {
        batch: batch.clone(),
        job_file: file.source.clone(),
        max_deliver,
    };
    runtime()?.block_on(async {
        let js = connect(url, false).await?;
        streams(&js, Some((ack_wait, max_deliver))).await?;
        let text = serde_json::to_vec(&manifest).map_err(|e| e.to_string())?;
        publish(
            &js,
            format!("ctest.batches.{batch}"),
            Some(format!("batch/{batch}")),
            text,
        )
        .await?;
        for m in &messages {
            let text = serde_json::to_vec(m).map_err(|e| e.to_string())?;
            publish(
                &js,
                format!("ctest.jobs.{}", m.job.tenant),
                Some(format!("{batch}/{}/{}", m.job.tenant, m.job.id)),
                text,
            )
            .await?;
        }
        Ok::<_, String>(())
    })?;
    Ok(Submitted {
        batch,
        jobs: file.jobs.len(),
        ack_wait,
    })
}

fn random_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    let _ = getrandom::fill(&mut bytes);
    bytes
}

/// `ctest worker`: takes jobs from the queue, `threads` at a time, and runs
/// them on `host` until stopped. `line` gets a line per job as it starts and
/// ends.
pub fn worker(
    url: &str,
    host: &Host,
    threads: usize,
    idle_exit: Option<Duration>,
    scratch: &Path,
    line: &(dyn Fn(&str) + Sync),
) -> Result<(), String> {
    let name = format!(
        "{}-{}",
        std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".into()),
        std::process::id()
    );
    let rt = runtime()?;
    let (js, jobs) = rt.block_on(async {
        let js = connect(url, true).await?;
        let jobs = streams(&js, None).await?;
        Ok::<_, String>((js, jobs))
    })?;
    // The max-deliveries advisories: a job no delivery finished goes to the
    // dead-letter stream (every worker listens; the message id keeps one).
    {
        let js = js.clone();
        let jobs = jobs.clone();
        rt.spawn(async move { dead_letters(js, jobs).await });
    }
    let started = Instant::now();
    let consumer: Option<consumer::PullConsumer> = rt.block_on(async {
        loop {
            match jobs.get_consumer(CONSUMER).await {
                Ok(c) => break Ok::<_, String>(Some(c)),
                // No batch submitted yet: the consumer comes with the first.
                Err(_) if idle_exit.is_some_and(|idle| started.elapsed() >= idle) => {
                    break Ok(None);
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    })?;
    let Some(consumer) = consumer else {
        // Idle before any batch came.
        return Ok(());
    };
    let consumer = Arc::new(consumer);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                let mut last_job = Instant::now();
                loop {
                    if idle_exit.is_some_and(|idle| last_job.elapsed() >= idle) {
                        break;
                    }
                    let asked = Instant::now();
                    let next = rt.block_on(async {
                        let mut batch = consumer
                            .fetch()
                            .max_messages(1)
                            .expires(Duration::from_secs(2))
                            .messages()
                            .await
                            .ok()?;
                        batch.next().await?.ok()
                    });
                    let Some(message) = next else {
                        // No job within the fetch's 2 s; or the server is
                        // away (the fetch failed at once): wait before asking
                        // again rather than spin.
                        if asked.elapsed() < Duration::from_millis(500) {
                            std::thread::sleep(Duration::from_millis(500));
                        }
                        continue;
                    };
                    handle(&rt, &js, &consumer, host, scratch, &name, message, line);
                    last_job = Instant::now();
                }
            });
        }
    });
    Ok(())
}

/// Runs one delivered job and answers the server.
#[allow(clippy::too_many_arguments)]
fn handle(
    rt: &tokio::runtime::Runtime,
    js: &jetstream::Context,
    consumer: &consumer::PullConsumer,
    host: &Host,
    scratch: &Path,
    worker: &str,
    message: jetstream::Message,
    line: &(dyn Fn(&str) + Sync),
) {
    let attempt = message.info().map_or(1, |i| i.delivered);
    let Ok(job) = serde_json::from_slice::<JobMessage>(&message.payload) else {
        // Not a ctest job: never retried.
        let _ = rt.block_on(message.ack_with(jetstream::AckKind::Term));
        line("skipped a message that is not a ctest job");
        return;
    };
    let (tenant, id) = (job.job.tenant.clone(), job.job.id.clone());
    // The names become directories of the worker's scratch space: only names
    // a job file allows (whoever can publish could send others).
    if [&job.batch, &tenant, &id]
        .iter()
        .any(|n| super::path_name(n).is_err())
    {
        let _ = rt.block_on(message.ack_with(jetstream::AckKind::Term));
        line(&format!(
            "skipped a job whose batch, tenant or id is not a name a job file allows: {:?}/{:?}/{:?}",
            job.batch, tenant, id
        ));
        return;
    }
    line(&format!(
        "START {tenant}/{id} (batch {}, delivery {attempt})",
        job.batch
    ));
    // Progress acks while the job runs: its delivery stays ours.
    let ack_wait = rt
        .block_on(async {
            let mut consumer = consumer.clone();
            consumer.info().await.map(|i| i.config.ack_wait).ok()
        })
        .unwrap_or(Duration::from_secs(30))
        .max(Duration::from_secs(1));
    let done = Arc::new(tokio::sync::Notify::new());
    let heartbeat = {
        let done = done.clone();
        let reply = message.clone();
        rt.spawn(async move {
            loop {
                tokio::select! {
                    _ = done.notified() => break,
                    _ = tokio::time::sleep(ack_wait / 3) => {
                        let _ = reply.ack_with(jetstream::AckKind::Progress).await;
                    }
                }
            }
        })
    };
    // This delivery's own directory: the worker's threads run other jobs
    // beside it.
    let dir = scratch.join(format!("{}-{tenant}-{id}-{attempt}", job.batch));
    let started = Instant::now();
    // A tenant's caps on jobs and instances at once are the batch's: on the
    // queue each job still holds one instance at a time. A panic of ctest's
    // is this job's error, not the worker's end (nor an endless heartbeat).
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        super::run_job(host, &job.job, &job.grants, None, &dir, started)
    }))
    .unwrap_or_else(|_| {
        JobOutcome::could_not_run(
            &tenant,
            &id,
            "ctest failed while running the job (a bug of ctest's; please report it)".into(),
            started.elapsed().as_millis() as u64,
        )
    });
    done.notify_one();
    let _ = rt.block_on(heartbeat);
    let job_dir = dir.join(&tenant).join(&id);
    let read = |name: &str| std::fs::read_to_string(job_dir.join(name)).ok();
    let (mut report_json, mut junit_xml) = (read("report.json"), read("junit.xml"));
    let _ = std::fs::remove_dir_all(&dir);
    if report_json.as_ref().map_or(0, String::len) + junit_xml.as_ref().map_or(0, String::len)
        > MAX_REPORT_BYTES
    {
        report_json = None;
        junit_xml = None;
    }
    let status = outcome.status;
    line(&super::outcome_line(&outcome));
    // What to post and how to answer the delivery. A job that could not run
    // is kept as the attempt's reason, then retried after a growing delay;
    // the last delivery's nak ends in the max-deliveries advisory and the
    // dead-letter stream. A job that ran is posted with its reports and acked.
    let (subject, msg_id, payload, kind) = if status == JobStatus::Error {
        let letter = DeadLetter {
            batch: job.batch.clone(),
            tenant: tenant.clone(),
            id: id.clone(),
            deliveries: attempt,
            reason: outcome.error.clone().unwrap_or_default(),
        };
        (
            format!("ctest.attempts.{}.{}", job.batch, tenant),
            format!("attempt/{}/{tenant}/{id}/{attempt}", job.batch),
            serde_json::to_vec(&letter),
            jetstream::AckKind::Nak(Some(Duration::from_secs(1 << (attempt - 1).clamp(0, 5)))),
        )
    } else {
        let result = ResultMessage {
            batch: job.batch.clone(),
            attempt,
            worker: worker.to_string(),
            outcome,
            report_json,
            junit_xml,
        };
        (
            format!("ctest.results.{}.{tenant}", job.batch),
            format!("{}/{tenant}/{id}/{attempt}", job.batch),
            serde_json::to_vec(&result),
            jetstream::AckKind::Ack,
        )
    };
    let Ok(payload) = payload else {
        line(&format!("could not encode the answer for {tenant}/{id}"));
        return;
    };
    // The server may be away (restarting): the answer is tried again until
    // it is taken, for as long as the delivery is ours (ack_wait). The
    // message id keeps a post repeated after a lost reply from counting twice.
    let give_up = Instant::now() + ack_wait;
    let answer = loop {
        let tried = rt.block_on(async {
            publish(js, subject.clone(), Some(msg_id.clone()), payload.clone()).await?;
            message
                .double_ack_with(kind)
                .await
                .map_err(|e| e.to_string())
        });
        match tried {
            Err(_) if Instant::now() < give_up => std::thread::sleep(Duration::from_secs(1)),
            done => break done,
        }
    };
    if let Err(e) = answer {
        line(&format!("could not answer for {tenant}/{id}: {e}"));
    }
}

/// The advisory the server sends when a job reached `max_deliver`.
#[derive(Deserialize)]
struct MaxDeliveries {
    stream_seq: u64,
    deliveries: i64,
}

/// Moves every job that reached `max_deliver` to the dead-letter stream
/// with the reason its last attempt gave, posts its result as an error, and
/// takes it off the job stream.
async fn dead_letters(js: jetstream::Context, jobs: stream::Stream) {
    let subject = format!("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{JOBS}.{CONSUMER}");
    let client = js.client();
    let Ok(mut advisories) = client.subscribe(subject).await else {
        return;
    };
    while let Some(advisory) = advisories.next().await {
        let Ok(a) = serde_json::from_slice::<MaxDeliveries>(&advisory.payload) else {
            continue;
        };
        let Ok(raw) = jobs.get_raw_message(a.stream_seq).await else {
            // Another worker moved it already.
            continue;
        };
        let Ok(job) = serde_json::from_slice::<JobMessage>(&raw.payload) else {
            let _ = jobs.delete_message(a.stream_seq).await;
            continue;
        };
        let (batch, tenant, id) = (&job.batch, &job.job.tenant, &job.job.id);
        let results = js.get_stream(RESULTS).await;
        let last_reason = match results {
            Ok(results) => last_attempt(&results, batch, tenant, id).await,
            Err(_) => None,
        };
        let reason = last_reason.unwrap_or_else(|| {
            format!(
                "delivered {} times, and no worker finished it: each died or stopped answering within ack_wait",
                a.deliveries
            )
        });
        let letter = DeadLetter {
            batch: batch.clone(),
            tenant: tenant.clone(),
            id: id.clone(),
            deliveries: a.deliveries,
            reason: reason.clone(),
        };
        let result = ResultMessage {
            batch: batch.clone(),
            attempt: a.deliveries,
            worker: "dead-letter".into(),
            outcome: JobOutcome::could_not_run(
                tenant,
                id,
                format!(
                    "{reason}\n  (gave up after {} deliveries; the job is in the dead-letter stream {DEAD})",
                    a.deliveries
                ),
                0,
            ),
            report_json: None,
            junit_xml: None,
        };
        let (Ok(letter), Ok(result)) = (serde_json::to_vec(&letter), serde_json::to_vec(&result))
        else {
            continue;
        };
        let key = format!("{batch}/{tenant}/{id}");
        if publish(
            &js,
            format!("ctest.dead.{batch}.{tenant}"),
            Some(format!("dead/{key}")),
            letter,
        )
        .await
        .is_ok()
            && publish(
                &js,
                format!("ctest.results.{batch}.{tenant}"),
                Some(format!("{key}/dead")),
                result,
            )
            .await
            .is_ok()
        {
            let _ = jobs.delete_message(a.stream_seq).await;
        }
    }
}

/// The reason the last attempt of a job gave, if one did.
async fn last_attempt(
    results: &stream::Stream,
    batch: &str,
    tenant: &str,
    id: &str,
) -> Option<String> {
    let consumer = results
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: format!("ctest.attempts.{batch}.{tenant}"),
            ..Default::default()
        })
        .await
        .ok()?;
    let mut messages = consumer.messages().await.ok()?;
    let mut reason = None;
    loop {
        let next = tokio::time::timeout(Duration::from_millis(500), messages.next()).await;
        let Ok(Some(Ok(m))) = next else {
            break;
        };
        if let Ok(a) = serde_json::from_slice::<DeadLetter>(&m.payload)
            && a.id == id
        {
            reason = Some(a.reason);
        }
        if m.info().is_ok_and(|i| i.pending == 0) {
            break;
        }
    }
    reason
}

/// `ctest results`: the results of batch `batch` (default: the last one
/// submitted), waiting up to `wait` for every job; the report directory
/// `ctest batch` writes, in `out`.
/// Also how many results came twice (a job whose worker died after
/// posting its result, before its ack, ran again); the first is kept.
pub fn results(
    url: &str,
    batch: Option<&str>,
    wait: Option<Duration>,
    out: &Path,
) -> Result<(BatchSummary, usize), String> {
    runtime()?.block_on(async {
        let js = connect(url, false).await?;
        streams(&js, None).await?;
        let results = js
            .get_stream(RESULTS)
            .await
            .map_err(|e| format!("cannot read the stream {RESULTS}: {e}"))?;
        let manifest_subject = match batch {
            Some(b) => format!("ctest.batches.{b}"),
            None => "ctest.batches.>".into(),
        };
        let submitted;
        let manifest: Manifest = {
            let consumer = results
                .create_consumer(consumer::pull::OrderedConfig {
                    filter_subject: manifest_subject,
                    deliver_policy: consumer::DeliverPolicy::Last,
                    ..Default::default()
                })
                .await
                .map_err(|e| format!("cannot read the batches: {e}"))?;
            let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
            let first = tokio::time::timeout(Duration::from_secs(5), messages.next()).await;
            let Ok(Some(Ok(m))) = first else {
                return Err(match batch {
                    Some(b) => format!("no batch {b} was submitted to {url}\n  fix: pass the id `ctest submit` printed"),
                    None => format!("no batch was submitted to {url}\n  fix: run `ctest submit JOBS.yaml --nats {url}` first"),
                });
            };
            submitted = m.info().ok().map(|i| i.published);
            serde_json::from_slice(&m.payload).map_err(|e| format!("a batch manifest that is not ctest's: {e}"))?
        };
        let started = Instant::now();
        let deadline = wait.map(|w| started + w);
        let expected: Vec<String> = manifest.job_file.jobs.clone();
        let mut found: BTreeMap<String, ResultMessage> = BTreeMap::new();
        let mut duplicates: BTreeMap<String, usize> = BTreeMap::new();
        let mut last_published = None;
        let consumer = results
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: format!("ctest.results.{}.>", manifest.batch),
                ..Default::default()
            })
            .await
            .map_err(|e| format!("cannot read the results: {e}"))?;
        let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
        while found.len() < expected.len() {
            let tick = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()).min(Duration::from_secs(1)),
                None => Duration::from_secs(1),
            };
            match tokio::time::timeout(tick.max(Duration::from_millis(10)), messages.next()).await {
                Ok(Some(Ok(m))) => {
                    let Ok(r) = serde_json::from_slice::<ResultMessage>(&m.payload) else {
                        continue;
                    };
                    if let Ok(info) = m.info() {
                        last_published = last_published.max(Some(info.published));
                    }
                    let key = format!("{}/{}", r.outcome.tenant, r.outcome.id);
                    match found.entry(key) {
                        std::collections::btree_map::Entry::Occupied(e) => {
                            *duplicates.entry(e.key().clone()).or_default() += 1;
                        }
                        std::collections::btree_map::Entry::Vacant(e) => {
                            e.insert(r);
                        }
                    }
                }
                Ok(_) => {}
                Err(_) => {
                    let waited_enough = deadline.is_none_or(|d| Instant::now() >= d);
                    if waited_enough {
                        break;
                    }
                }
            }
        }
        let missing: Vec<&String> = expected.iter().filter(|j| !found.contains_key(*j)).collect();
        if !missing.is_empty() {
            return Err(format!(
                "batch {}: {} of its {} jobs have no result yet: {}\n  fix: start workers (`ctest worker --nats {url}`), and wait longer with --wait SECONDS",
                manifest.batch,
                missing.len(),
                expected.len(),
                missing.iter().take(10).map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        // From the submission to the last result, as the server stamped them.
        let wall_ms = match (submitted, last_published) {
            (Some(a), Some(b)) => u64::try_from((b - a).whole_milliseconds()).unwrap_or(0),
            _ => 0,
        };
        let duplicates: usize = duplicates.values().sum();
        let summary = write_reports(manifest, found, wall_ms, out)?;
        Ok((summary, duplicates))
    })
}

/// The report directory of a finished batch: each job's reports, the
/// summary, the JUnit file.
fn write_reports(
    manifest: Manifest,
    mut found: BTreeMap<String, ResultMessage>,
    wall_ms: u64,
    out: &Path,
) -> Result<BatchSummary, String> {
    let mut jobs = Vec::new();
    for name in &manifest.job_file.jobs {
        let Some(r) = found.remove(name) else {
            continue;
        };
        // A result names the directory its reports go to: only names a job
        // file allows (whoever can publish to the server could send others).
        if super::path_name(&r.outcome.tenant).is_err() || super::path_name(&r.outcome.id).is_err()
        {
            return Err(format!(
                "batch {}: a result names the job {:?} of tenant {:?}, not a name a job file allows\n  fix: restrict who may publish to ctest.results.> on the server",
                manifest.batch, r.outcome.id, r.outcome.tenant
            ));
        }
        let dir: PathBuf = out.join(&r.outcome.tenant).join(&r.outcome.id);
        std::fs::create_dir_all(&dir).map_err(|e| {
            format!(
                "{}: cannot make the job's directory: {e}\n  fix: choose a writable --report-dir",
                dir.display()
            )
        })?;
        for (file, text) in [("report.json", &r.report_json), ("junit.xml", &r.junit_xml)] {
            if let Some(text) = text {
                std::fs::write(dir.join(file), text).map_err(|e| {
                    format!(
                        "{}: cannot write: {e}\n  fix: choose a writable --report-dir",
                        dir.join(file).display()
                    )
                })?;
            }
        }
        jobs.push(r.outcome);
    }
    let summary = BatchSummary::new(manifest.job_file, jobs, wall_ms);
    summary.write(out)?;
    Ok(summary)
}
