//! The figures of the NATS JetStream job queue in BENCHMARKS.md: `cargo
//! bench -p ctest --bench queue` (needs `nats-server`, which `cargo xtask
//! test` installs). Measurements, not assertions.
//!
//! 1. Throughput with 1, 2 and 3 workers (`--jobs 1` each) on 100 faker jobs
//!    (every suite, 1,000 users), from `submit` to `results --wait`; the
//!    workers share this machine's cores, so CPU-normalised throughput (jobs
//!    per CPU-second of the workers and the server) is reported beside it.
//! 2. The queue's overhead per job: one worker `--jobs 1` against `ctest
//!    batch --jobs 1` on the same jobs, alternately.
//! 3. Recovering a killed worker's job: a job whose test sleeps 1 s, its
//!    worker killed at its start; the time from the kill to its result.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../tests/integration/support.rs"]
mod support;

#[path = "common/measure.rs"]
mod measure;
use measure::{measure, median};

fn ctest() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ctest"))
}

/// CPU time (user + system) of a live process, from /proc.
fn cpu_of(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_millis(ticks * 1000 / hz)
}

/// Waits for `child` and returns its CPU time (user + system).
// Reaped by wait4, which reports its resource usage.
#[allow(clippy::zombie_processes)]
fn reap(child: &mut std::process::Child) -> Duration {
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid; wait4 reaps exactly this child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

fn write_jobs(path: &Path, n: usize, operator: &str, plugin: &str, run: &str) {
    let plugins = support::plugins_dir();
    let config = support::root().join("plugins/source-faker/config.json");
    let mut text = format!("{operator}jobs:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  - {{id: j{i}, tenant: t{}, plugin: {}, config: {{file: {}}}{run}}}\n",
            i % 4,
            plugins.join(format!("{plugin}.wasm")).display(),
            config.display()
        ));
    }
    std::fs::write(path, text).unwrap();
}

fn submit(url: &str, jobs: &Path) -> String {
    let out = ctest()
        .args(["submit", jobs.to_str().unwrap(), "--nats", url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    support::batch_id(&String::from_utf8_lossy(&out.stdout))
}

fn results(url: &str, batch: &str, out: &Path) -> i32 {
    let _ = std::fs::remove_dir_all(out);
    ctest()
        .args([
            "results",
            "--nats",
            url,
            "--batch",
            batch,
            "--wait",
            "--timeout",
            "600",
            "--report-dir",
        ])
        .arg(out)
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .code()
        .unwrap_or(-1)
}

fn main() {
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let cache = work.join("cache");
    let server = support::Nats::start();
    let server_pid = server.pid().expect("the server runs");
    let url = server.url();
    let jobs = work.join("jobs.yaml");
    write_jobs(&jobs, 100, "", "source-faker", "");
    // A worker that stops when idle for 2 s; with `watch`, its stdout piped.
    let worker = |watch: bool| {
        let mut c = ctest();
        c.args(["worker", "--nats", &url, "--jobs", "1"]);
        if !watch {
            c.args(["--idle-exit", "2"]);
        }
        c.env("CTEST_CACHE_DIR", &cache)
            .stdout(if watch { Stdio::piped() } else { Stdio::null() })
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let start_worker = || worker(false);
    // Warm the compile cache.
    let batch = submit(&url, &jobs);
    let mut w = start_worker();
    assert_eq!(results(&url, &batch, &work.join("out")), 0);
    let _ = w.wait();

    println!("### Workers on one machine (2 cores): 100 faker jobs, every suite, 1,000 users\n");
    println!(
        "| workers | wall, submit to results | jobs/s | CPU of workers + server | jobs per CPU-second |"
    );
    println!("|---|---|---|---|---|");
    for workers in [1, 2, 3] {
        let server_cpu = cpu_of(server_pid);
        let started = Instant::now();
        let batch = submit(&url, &jobs);
        let mut children: Vec<_> = (0..workers).map(|_| start_worker()).collect();
        assert_eq!(results(&url, &batch, &work.join("out")), 0);
        let wall = started.elapsed();
        // The workers' CPU, from wait4 when they exit on their own (idle).
        let mut cpu = cpu_of(server_pid) - server_cpu;
        for c in &mut children {
            cpu += reap(c);
        }
        println!(
            "| {workers} | {:.2} s | {:.1} | {:.2} s | {:.1} |",
            wall.as_secs_f64(),
            100.0 / wall.as_secs_f64(),
            cpu.as_secs_f64(),
            100.0 / cpu.as_secs_f64()
        );
    }

    println!(
        "\n### The queue's overhead per job: one worker against `ctest batch --jobs 1` (3 rounds alternating, medians)\n"
    );
    let (mut queue_walls, mut batch_walls) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let started = Instant::now();
        let batch = submit(&url, &jobs);
        let mut w = start_worker();
        assert_eq!(results(&url, &batch, &work.join("out")), 0);
        queue_walls.push(started.elapsed());
        let _ = w.wait();
        let _ = std::fs::remove_dir_all(work.join("batch-out"));
        let m = measure(
            ctest()
                .args([
                    "batch",
                    jobs.to_str().unwrap(),
                    "--jobs",
                    "1",
                    "--report-dir",
                ])
                .arg(work.join("batch-out"))
                .env("CTEST_CACHE_DIR", &cache),
        );
        assert_eq!(m.code, 0);
        batch_walls.push(m.wall);
    }
    let (q, b) = (median(queue_walls), median(batch_walls));
    println!("| | 100 jobs | per job |");
    println!("|---|---|---|");
    println!(
        "| `ctest batch --jobs 1` | {:.2} s | {:.1} ms |",
        b.as_secs_f64(),
        b.as_secs_f64() * 10.0
    );
    println!(
        "| queue, one worker `--jobs 1` | {:.2} s | {:.1} ms |",
        q.as_secs_f64(),
        q.as_secs_f64() * 10.0
    );
    println!(
        "| overhead per job | | {:.1} ms |",
        (q.as_secs_f64() - b.as_secs_f64()) * 10.0
    );

    println!(
        "\n### Recovering a killed worker's job (ack_wait = 2 × max_job_seconds 2 = 4 s), 3 runs\n"
    );
    let slow = work.join("slow.yaml");
    write_jobs(
        &slow,
        1,
        "operator:\n  defaults:\n    timeout_seconds: 1\n    max_job_seconds: 2\n",
        "broken-read-sleeps",
        ", run: [basic_read/read]",
    );
    println!("| run | kill to result |");
    println!("|---|---|");
    for run in 1..=3 {
        let batch = submit(&url, &slow);
        let mut first = worker(true);
        let out = first.stdout.take().unwrap();
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if line.starts_with("START") {
                break;
            }
        }
        first.kill().unwrap();
        let _ = first.wait();
        let killed = Instant::now();
        // It must outlive ack_wait: no idle exit.
        let mut second = worker(true);
        let code = results(&url, &batch, &work.join("out"));
        assert_eq!(code, 1, "the job's read times out: a failed test");
        println!("| {run} | {:.2} s |", killed.elapsed().as_secs_f64());
        let _ = second.kill();
        let _ = second.wait();
    }
    drop(server);
}
