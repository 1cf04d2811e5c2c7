//! The figures of `ctest batch` in BENCHMARKS.md: `cargo bench -p ctest
//! --bench batch` (release build; the plugins built by `cargo xtask
//! plugins`). Measurements, not assertions; the machine's cores are all used.
//!
//! 1. Throughput: N jobs of one connector (source-faker with 1,000 users,
//!    python-numbers, ts-numbers), `ctest batch --jobs CORES` against one
//!    `ctest run` process per job, CORES at a time (xargs -P), alternately,
//!    warm compile cache: full runs per hour per core, and how busy the
//!    cores were (CPU time / wall / cores).
//! 2. 200 faker jobs in one batch: how busy the cores were.
//! 3. A never-compiled plugin: one job with an empty compile cache against
//!    one with a warm cache, per language: wall, CPU and peak RSS.
//! 4. Memory per concurrent job: peak RSS of 24 faker jobs at `--jobs` 1, 2,
//!    4 and 8.
//! 5. Fairness: 12 jobs of a quiet tenant (faker, 1,000 users) alone, beside
//!    8 jobs of a tenant whose reads spin, and beside 8 whose reads allocate
//!    to the memory cap; at `--jobs` 2 and 4 (more threads than cores): the
//!    quiet jobs' p50 and p95 from the summary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[path = "../tests/integration/support.rs"]
mod support;

#[path = "common/measure.rs"]
mod measure;
use measure::{Measured, measure, median};

fn ctest() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ctest"))
}

/// A job file of `jobs`: (id, tenant, plugin, config); `operator` is its
/// operator part, as YAML lines (may be empty).
fn job_file(path: &Path, operator: &str, jobs: &[(String, &str, PathBuf, PathBuf)]) {
    let mut text = String::from(operator);
    text.push_str("jobs:\n");
    for (id, tenant, plugin, config) in jobs {
        text.push_str(&format!(
            "  - {{id: {id}, tenant: {tenant}, plugin: {}, config: {{file: {}}}}}\n",
            plugin.display(),
            config.display()
        ));
    }
    std::fs::write(path, text).unwrap();
}

fn batch(jobs: &Path, threads: usize, cache: &Path, out: &Path) -> Measured {
    let _ = std::fs::remove_dir_all(out);
    measure(
        ctest()
            .args(["batch", jobs.to_str().unwrap(), "--report-dir"])
            .arg(out)
            .args(["--jobs", &threads.to_string()])
            .env("CTEST_CACHE_DIR", cache),
    )
}

/// `n` `ctest run` processes, `threads` at a time.
fn processes(n: usize, threads: usize, plugin: &Path, config: &Path, cache: &Path) -> Measured {
    let script = format!(
        "seq {n} | xargs -P{threads} -I{{}} {} run {} --config {} --report-json {}/r{{}}.json",
        env!("CARGO_BIN_EXE_ctest"),
        plugin.display(),
        config.display(),
        cache.parent().unwrap().display(),
    );
    measure(
        Command::new("sh")
            .args(["-c", &script])
            .env("CTEST_CACHE_DIR", cache),
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The quiet tenant's job durations in a batch's summary, sorted.
fn quiet_durations(out: &Path) -> Vec<u64> {
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let mut d: Vec<u64> = s["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["tenant"] == "quiet")
        .inspect(|j| assert_eq!(j["status"], "passed", "{j}"))
        .map(|j| j["duration_ms"].as_u64().unwrap())
        .collect();
    d.sort();
    d
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at]
}

fn main() {
    let plugins = support::plugins_dir();
    let root = support::root();
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let cache = work.join("cache");
    let out = work.join("out");
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let faker = plugins.join("source-faker.wasm");
    let faker_config = root.join("plugins/source-faker/config.json");
    let connectors = [
        (
            "source-faker, 1,000 users",
            faker.clone(),
            faker_config.clone(),
            100,
        ),
        (
            "python-numbers",
            plugins.join("python-numbers.wasm"),
            root.join("examples/python-numbers/config.json"),
            40,
        ),
        (
            "ts-numbers",
            plugins.join("ts-numbers.wasm"),
            root.join("examples/ts-numbers/config.json"),
            40,
        ),
    ];

    // 1. Throughput.
    println!("### Throughput ({cores} cores, warm cache, 3 rounds alternating, medians)\n");
    println!(
        "| connector | jobs | batch | process per job | batch runs/hour/core | processes runs/hour/core | ratio | cores busy (batch / processes) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, plugin, config, n) in &connectors {
        let jobs_file = work.join("throughput.yaml");
        let jobs: Vec<_> = (0..*n)
            .map(|i| {
                (
                    format!("j{i}"),
                    ["t0", "t1", "t2", "t3"][i % 4],
                    plugin.clone(),
                    config.clone(),
                )
            })
            .collect();
        job_file(&jobs_file, "", &jobs);
        // Warm the cache (and check every job passes).
        assert_eq!(batch(&jobs_file, cores, &cache, &out).code, 0, "{name}");
        let (mut b, mut p) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            b.push(batch(&jobs_file, cores, &cache, &out));
            let m = processes(*n, cores, plugin, config, &cache);
            assert_eq!(m.code, 0, "{name}: a process failed");
            p.push(m);
        }
        let wall = |v: &[Measured]| median(v.iter().map(|m| m.wall).collect());
        let busy = |v: &[Measured]| {
            median(
                v.iter()
                    .map(|m| {
                        (m.cpu.as_secs_f64() / m.wall.as_secs_f64() / cores as f64 * 1000.0) as u64
                    })
                    .collect(),
            ) as f64
                / 10.0
        };
        let per_hour_core = |w: Duration| *n as f64 / w.as_secs_f64() * 3600.0 / cores as f64;
        let (bw, pw) = (wall(&b), wall(&p));
        println!(
            "| {name} | {n} | {:.0} ms | {:.0} ms | {:.0} | {:.0} | {:.2}× | {:.0}% / {:.0}% |",
            ms(bw),
            ms(pw),
            per_hour_core(bw),
            per_hour_core(pw),
            pw.as_secs_f64() / bw.as_secs_f64(),
            busy(&b),
            busy(&p),
        );
    }

    // 2. 200 faker jobs.
    let jobs_file = work.join("two-hundred.yaml");
    let jobs: Vec<_> = (0..200)
        .map(|i| {
            (
                format!("j{i}"),
                ["t0", "t1", "t2", "t3"][i % 4],
                faker.clone(),
                faker_config.clone(),
            )
        })
        .collect();
    job_file(&jobs_file, "", &jobs);
    let runs: Vec<Measured> = (0..3)
        .map(|_| batch(&jobs_file, cores, &cache, &out))
        .collect();
    println!("\n### 200 faker jobs in one batch (--jobs {cores}), 3 runs\n");
    println!("| wall | CPU (user + sys) | cores busy |");
    println!("|---|---|---|");
    for m in &runs {
        assert_eq!(m.code, 0);
        println!(
            "| {:.2} s | {:.2} s | {:.0}% |",
            m.wall.as_secs_f64(),
            m.cpu.as_secs_f64(),
            m.cpu.as_secs_f64() / m.wall.as_secs_f64() / cores as f64 * 100.0
        );
    }

    // 3. A never-compiled plugin.
    println!("\n### One job of a never-compiled plugin against a cached one (medians of 3)\n");
    println!(
        "| connector | cold: wall | cold: CPU | cold: peak RSS | warm: wall | warm: CPU | warm: peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, plugin, config, _) in &connectors {
        let jobs_file = work.join("one.yaml");
        job_file(
            &jobs_file,
            "",
            &[("one".into(), "t", plugin.clone(), config.clone())],
        );
        let (mut cold, mut warm) = (Vec::new(), Vec::new());
        for round in 0..3 {
            let empty = work.join(format!("empty-{round}"));
            let m = batch(&jobs_file, 1, &empty, &out);
            assert_eq!(m.code, 0, "{name}");
            cold.push(m);
            warm.push(batch(&jobs_file, 1, &empty, &out));
        }
        let f = |v: &[Measured]| {
            (
                median(v.iter().map(|m| m.wall).collect()),
                median(v.iter().map(|m| m.cpu).collect()),
                median(v.iter().map(|m| m.max_rss).collect()),
            )
        };
        let (c, w) = (f(&cold), f(&warm));
        println!(
            "| {name} | {:.0} ms | {:.0} ms | {} MiB | {:.0} ms | {:.0} ms | {} MiB |",
            ms(c.0),
            ms(c.1),
            c.2 >> 20,
            ms(w.0),
            ms(w.1),
            w.2 >> 20
        );
    }

    // 4. Memory per concurrent job.
    let jobs_file = work.join("memory.yaml");
    let jobs: Vec<_> = (0..24)
        .map(|i| {
            (
                format!("j{i}"),
                ["t0", "t1", "t2", "t3"][i % 4],
                faker.clone(),
                faker_config.clone(),
            )
        })
        .collect();
    job_file(&jobs_file, "", &jobs);
    println!("\n### Memory per concurrent job: 24 faker jobs, peak RSS (median of 3)\n");
    println!("| --jobs | peak RSS | wall |");
    println!("|---|---|---|");
    for threads in [1, 2, 4, 8] {
        let runs: Vec<Measured> = (0..3)
            .map(|_| batch(&jobs_file, threads, &cache, &out))
            .collect();
        println!(
            "| {threads} | {} MiB | {:.0} ms |",
            median(runs.iter().map(|m| m.max_rss).collect()) >> 20,
            ms(median(runs.iter().map(|m| m.wall).collect()))
        );
    }

    // 5. Fairness.
    let quiet: Vec<_> = (0..12)
        .map(|i| {
            (
                format!("q{i}"),
                "quiet",
                faker.clone(),
                faker_config.clone(),
            )
        })
        .collect();
    let noisy = |plugin: &str| -> Vec<_> {
        (0..8)
            .map(|i| {
                (
                    format!("n{i}"),
                    "noisy",
                    plugins.join(format!("{plugin}.wasm")),
                    faker_config.clone(),
                )
            })
            .collect()
    };
    // The noisy tenant's tests may run 2 s each, its jobs 4 s.
    let operator =
        "operator:\n  tenants:\n    noisy:\n      timeout_seconds: 2\n      max_job_seconds: 4\n";
    let cases = [
        ("alone", Vec::new()),
        ("beside 8 spinning jobs", noisy("broken-read-infinite-loop")),
        (
            "beside 8 jobs allocating to the memory cap",
            noisy("broken-read-memory-hog"),
        ),
    ];
    println!("\n### Fairness: the quiet tenant's 12 jobs (noisy jobs queued first), 3 runs each\n");
    println!("| --jobs | quiet tenant | p50 | p95 |");
    println!("|---|---|---|---|");
    for threads in [cores, cores * 2] {
        for (what, noisy_jobs) in &cases {
            let jobs_file = work.join("fair.yaml");
            let all: Vec<_> = noisy_jobs.iter().chain(&quiet).cloned().collect();
            job_file(&jobs_file, operator, &all);
            let (mut p50, mut p95) = (Vec::new(), Vec::new());
            for _ in 0..3 {
                batch(&jobs_file, threads, &cache, &out);
                let d = quiet_durations(&out);
                p50.push(percentile(&d, 0.5));
                p95.push(percentile(&d, 0.95));
            }
            p50.sort();
            p95.sort();
            println!(
                "| {threads} | {what} | {}–{} ms | {}–{} ms |",
                p50[0], p50[2], p95[0], p95[2]
            );
        }
    }
}
