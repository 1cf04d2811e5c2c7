//! Whether the checks keep up with the plugin: `cargo bench -p ctest --bench checks`.
//!
//! The `basic_read/read` test alone (one full-refresh read, every record
//! checked) on source-numbers' 1,000,000 records, whose guest is cheap (so
//! the figure measures ctest), and on source-faker's 100,000 users (users,
//! their purchases and 100 products); then on faker the two reads a whole
//! run makes of it together: `basic_read/read` feeding full_refresh's first
//! read (its records' digests) as it checks, and `full_refresh/records_repeatable`,
//! the second read, compared as it streams. For each: the test's duration, records per second, the
//! CPU time of the plugin's calls (`cpu_ms`) and of the checks
//! (`checks_cpu_ms`, the thread beside the plugin's): the read waits for the
//! larger. Warm compile cache; the median of `--rounds` runs (5).
//!
//! `CTEST_BASELINE=/path/to/ctest` runs that binary too, alternately with this
//! one on the same minute, and `CTEST_BASELINE_PLUGINS=/dir` gives it its own
//! builds of `source-numbers.wasm` and `source-faker.wasm` (when the SDK
//! changed too). Results are measurements, not assertions.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "../tests/integration/support.rs"]
mod support;

#[path = "common/measure.rs"]
mod measure;
use measure::median;

/// One run's figures from its JSON report.
#[derive(Clone, Copy)]
struct Figures {
    duration_ms: u64,
    cpu_ms: u64,
    /// `None` from a binary older than the figure.
    checks_cpu_ms: Option<u64>,
}

/// The figures of each of `tests` (names as `--run` takes them), run together.
fn run(
    bin: &Path,
    plugin: &Path,
    config: &Path,
    cache: &Path,
    report: &Path,
    tests: &[&str],
) -> Vec<Figures> {
    let mut command = Command::new(bin);
    command
        .args(["run", plugin.to_str().unwrap(), "--config"])
        .arg(config);
    for test in tests {
        command.args(["--run", test]);
    }
    let status = command
        .args(["--exact", "-q", "--report-json"])
        .arg(report)
        .env("CTEST_CACHE_DIR", cache)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run ctest");
    assert!(status.success(), "{bin:?} on {plugin:?} failed");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    let ran = report["tests"].as_array().unwrap();
    assert_eq!(ran.len(), tests.len(), "{report}");
    ran.iter()
        .map(|test| {
            assert_eq!(test["status"], "passed", "{test}");
            let r = &test["resources"];
            Figures {
                duration_ms: test["duration_ms"].as_u64().unwrap(),
                cpu_ms: r["cpu_ms"].as_u64().unwrap_or(0),
                checks_cpu_ms: r["checks_cpu_ms"].as_u64(),
            }
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds: usize = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .map_or(5, |r| r.parse().expect("--rounds takes a number"));
    let plugins = support::plugins_dir();
    let new = PathBuf::from(env!("CARGO_BIN_EXE_ctest"));
    let mut binaries = vec![("new", new, plugins.clone())];
    if let Some(b) = std::env::var_os("CTEST_BASELINE") {
        let dir = std::env::var_os("CTEST_BASELINE_PLUGINS").map_or(plugins, PathBuf::from);
        binaries.insert(0, ("baseline", PathBuf::from(b), dir));
    }
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let report = work.path().join("report.json");
    let faker = r#"{"count": 100000, "seed": 5, "records_per_state": 1000}"#;
    let alone = &["basic_read/read"][..];
    let cases = [
        (
            "source-numbers",
            r#"{"count": 1000000}"#,
            Some(1_000_000u64),
            alone,
        ),
        // Users, their purchases and 100 products: about 200,000 records.
        ("source-faker", faker, None, alone),
        (
            "source-faker",
            faker,
            None,
            &["basic_read/read", "full_refresh/records_repeatable"][..],
        ),
    ];
    println!(
        "| read | binary | duration (median) | records/s | plugin CPU | checks CPU | checks / plugin |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, config_text, records, tests) in cases {
        let config = work.path().join(format!("{name}.json"));
        std::fs::write(&config, config_text).unwrap();
        // Per binary, per round, per test.
        let mut figures: Vec<Vec<Vec<Figures>>> = vec![Vec::new(); binaries.len()];
        // The first round warms the compile cache (not counted).
        for round in 0..=rounds {
            for (i, (_, bin, dir)) in binaries.iter().enumerate() {
                let f = run(
                    bin,
                    &dir.join(format!("{name}.wasm")),
                    &config,
                    &cache,
                    &report,
                    tests,
                );
                if round > 0 {
                    figures[i].push(f);
                }
            }
        }
        for (t, test) in tests.iter().enumerate() {
            let read = match tests.len() {
                1 => name.to_string(),
                _ => format!("{name}, {test} of the two"),
            };
            for ((label, _, _), rounds) in binaries.iter().zip(&figures) {
                let f: Vec<Figures> = rounds.iter().map(|r| r[t]).collect();
                let duration = median(f.iter().map(|f| f.duration_ms).collect());
                let cpu = median(f.iter().map(|f| f.cpu_ms).collect());
                let checks = f
                    .iter()
                    .map(|f| f.checks_cpu_ms)
                    .collect::<Option<Vec<u64>>>()
                    .map(median);
                println!(
                    "| {read} | {label} | {duration} ms | {} | {cpu} ms | {} | {} |",
                    records.map_or("–".into(), |n| format!(
                        "{:.2} M",
                        n as f64 / duration.max(1) as f64 / 1e3
                    )),
                    checks.map_or("–".into(), |c| format!("{c} ms")),
                    checks.map_or("–".into(), |c| format!(
                        "{:.2}",
                        c as f64 / cpu.max(1) as f64
                    )),
                );
            }
        }
    }
}
