//! How a whole run scales: `cargo bench -p ctest --bench scale`.
//!
//! Every suite on source-faker at 1,000 / 10,000 / 100,000 / 1,000,000 users
//! (about twice as many records: users and purchases, and 100 products),
//! warm compile cache: the wall time, CPU time and peak RSS of the `ctest`
//! process, and at the largest size each suite's share of the time.
//!
//! `CTEST_BASELINE=/path/to/ctest` runs that binary too, alternately with this
//! one on the same minute (baseline, new, baseline, new, ...), and prints the
//! ratios: on a shared machine only a comparison made on the same minute says
//! whether a change made ctest faster. `CTEST_BASELINE_PLUGIN=/path/to/
//! source-faker.wasm` gives the baseline its own build of the connector (when
//! the SDK changed too). `-- --sizes 1000,100000 --rounds 5`
//! chooses the sizes and how many runs of each binary (the median is shown).
//!
//! Results are measurements, not assertions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[path = "../tests/integration/support.rs"]
mod support;

#[path = "common/measure.rs"]
mod measure;
use measure::{Measured, measure, median};

struct Options {
    sizes: Vec<u64>,
    rounds: usize,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let sizes = value("--sizes").map_or_else(
        || vec![1_000, 10_000, 100_000, 1_000_000],
        |s| {
            s.split(',')
                .map(|n| n.trim().parse().expect("--sizes takes numbers"))
                .collect()
        },
    );
    let rounds = value("--rounds").map_or(3, |r| r.parse().expect("--rounds takes a number"));
    Options { sizes, rounds }
}

/// One binary's runs at one size.
#[derive(Default)]
struct Runs {
    walls: Vec<Duration>,
    cpus: Vec<Duration>,
    peak: u64,
    /// Seconds per suite, from the last run's JSON report.
    suites: BTreeMap<String, f64>,
    summary: String,
}

impl Runs {
    fn add(&mut self, m: Measured, report: &Path) {
        assert_eq!(m.code, 0, "the run failed (exit {}): {report:?}", m.code);
        self.walls.push(m.wall);
        self.cpus.push(m.cpu);
        self.peak = self.peak.max(m.max_rss);
        let text = std::fs::read_to_string(report).expect("the JSON report");
        let report: serde_json::Value = serde_json::from_str(&text).expect("a JSON report");
        self.suites.clear();
        for t in report["tests"].as_array().into_iter().flatten() {
            let suite = t["suite"].as_str().unwrap_or("?").to_string();
            *self.suites.entry(suite).or_default() +=
                t["duration_ms"].as_f64().unwrap_or(0.0) / 1e3;
        }
        self.summary = format!(
            "{} passed, {} failed, {} skipped",
            report["summary"]["passed"], report["summary"]["failed"], report["summary"]["skipped"]
        );
    }
    fn wall(&self) -> f64 {
        median(self.walls.clone()).as_secs_f64()
    }
    fn cpu(&self) -> f64 {
        median(self.cpus.clone()).as_secs_f64()
    }
}

fn main() {
    let options = options();
    let faker = support::plugins_dir().join("source-faker.wasm");
    let new = PathBuf::from(env!("CARGO_BIN_EXE_ctest"));
    let baseline = std::env::var_os("CTEST_BASELINE").map(PathBuf::from);
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let mut binaries = vec![("new", new, faker.clone())];
    if let Some(b) = baseline {
        let plugin = std::env::var_os("CTEST_BASELINE_PLUGIN").map_or(faker, PathBuf::from);
        binaries.insert(0, ("baseline", b, plugin));
    }
    let mut rows = Vec::new();
    for &users in &options.sizes {
        let config = work.path().join(format!("{users}.json"));
        let per_state = (users / 100).clamp(10, 1000);
        std::fs::write(
            &config,
            format!(r#"{{"count": {users}, "seed": 5, "records_per_state": {per_state}}}"#),
        )
        .unwrap();
        let mut runs: Vec<Runs> = binaries.iter().map(|_| Runs::default()).collect();
        // A first run of each warms the compile cache (not measured).
        for (round, _) in std::iter::repeat_n((), options.rounds + 1).enumerate() {
            for (i, (_, bin, plugin)) in binaries.iter().enumerate() {
                let report = work.path().join("report.json");
                let m = measure(
                    Command::new(bin)
                        .args(["run", plugin.to_str().unwrap(), "--config"])
                        .arg(&config)
                        .arg("--report-json")
                        .arg(&report)
                        .env("CTEST_CACHE_DIR", &cache),
                );
                if round > 0 {
                    runs[i].add(m, &report);
                }
            }
        }
        eprintln!(
            "{users} users: {}",
            binaries
                .iter()
                .zip(&runs)
                .map(|((name, _, _), r)| format!(
                    "{name} {:.3} s wall, {:.3} s CPU, {:.0} MiB ({})",
                    r.wall(),
                    r.cpu(),
                    r.peak as f64 / 1048576.0,
                    r.summary
                ))
                .collect::<Vec<_>>()
                .join("; ")
        );
        rows.push((users, runs));
    }

    let names: Vec<&str> = binaries.iter().map(|(n, _, _)| *n).collect();
    println!(
        "\n| users | {} |",
        names
            .iter()
            .map(|n| format!("{n}: wall (median) | {n}: CPU | {n}: peak RSS"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!("|---|{}", "---|---|---|".repeat(names.len()));
    for (users, runs) in &rows {
        println!(
            "| {users} | {} |",
            runs.iter()
                .map(|r| format!(
                    "{:.3} s | {:.3} s | {:.0} MiB",
                    r.wall(),
                    r.cpu(),
                    r.peak as f64 / 1048576.0
                ))
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    if names.len() == 2 {
        println!("\n| users | new / baseline, wall | new / baseline, peak RSS |");
        println!("|---|---|---|");
        for (users, runs) in &rows {
            println!(
                "| {users} | {:.2} | {:.2} |",
                runs[1].wall() / runs[0].wall(),
                runs[1].peak as f64 / runs[0].peak as f64
            );
        }
    }
    // How the time grows: each size against the one ten times smaller.
    for (i, name) in names.iter().enumerate() {
        for pair in rows.windows(2) {
            let ((a, ra), (b, rb)) = (&pair[0], &pair[1]);
            println!(
                "{name}: {b} users take {:.1}× the time of {a}",
                rb[i].wall() / ra[i].wall()
            );
        }
    }
    if let Some((users, runs)) = rows.last() {
        println!("\nEach suite's time at {users} users (sum of its tests' durations, last run):\n");
        println!("| suite | {} |", names.join(" | "));
        println!("|---|{}", "---|".repeat(names.len()));
        for suite in runs[0].suites.keys() {
            println!(
                "| {suite} | {} |",
                runs.iter()
                    .map(|r| format!("{:.3} s", r.suites.get(suite).copied().unwrap_or(0.0)))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
    }
}
