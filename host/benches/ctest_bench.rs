//! The figures in BENCHMARKS.md: `cargo bench -p ctest --bench ctest_bench`.
//!
//! 1. Instantiating a fresh plugin instance (what every test does), compile cache warm.
//! 2. Wall time of `ctest run` with every suite on source-faker, 1,000 users, cache warm.
//! 3. Records per second through a full-refresh read with schema validation and every
//!    basic_read check, on 1,000,100 records (500,000 users, 500,000 purchases, 100
//!    products), and the peak RSS of that run.
//! 4. Wall time of the full_refresh and incremental suites on source-faker with
//!    100,000 users (and the basic read they start from).
//!
//! It prints a Markdown table. Results are measurements, not assertions.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ctest::sandbox::{CacheOutcome, CompileCache, Host, HostOptions, Limits};

// The tests' helpers: building the plugins, the paths.
#[path = "../tests/integration/support.rs"]
mod support;

use support::root;

#[path = "common/measure.rs"]
mod measure;
use measure::{measure, median};

/// Runs `ctest` with `args`, returning its wall time and peak RSS in bytes.
fn ctest_run(args: &[&str], cache: &Path) -> (Duration, u64, i32) {
    let m = measure(
        Command::new(env!("CARGO_BIN_EXE_ctest"))
            .args(args)
            .env("CTEST_CACHE_DIR", cache),
    );
    (m.wall, m.max_rss, m.code)
}

fn main() {
    // `cargo bench` passes `--bench`; `-- instance` times the fresh
    // instance alone (the comparisons in BENCHMARKS.md alternate two builds).
    let instance_only = std::env::args().any(|a| a == "instance");
    let plugins = support::plugins_dir();
    let faker = plugins.join("source-faker.wasm");
    let cache_dir = tempfile::tempdir().unwrap();
    // 1. Loading (cold, then from the cache) and instantiation, warm cache.
    let (cold_load, warm_load, per_instance) =
        load_and_instantiate(&faker, cache_dir.path(), 1000, 20_000);
    if instance_only {
        println!("fresh instance: {:.1} µs", per_instance.as_secs_f64() * 1e6);
        return;
    }

    // 2. A whole run, all suites, 1,000 users, warm cache.
    let config = root().join("plugins/source-faker/config.json");
    let run_args = [
        "run",
        faker.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ];
    let (_, _, code) = ctest_run(&run_args, cache_dir.path());
    assert_eq!(code, 0, "ctest run on source-faker failed");
    let walls: Vec<Duration> = (0..15)
        .map(|_| ctest_run(&run_args, cache_dir.path()).0)
        .collect();
    let run_wall = median(walls);

    // 3. One million records through the read and its checks.
    let work = tempfile::tempdir().unwrap();
    let big = work.path().join("big.json");
    std::fs::write(&big, r#"{"count": 500000, "seed": 1}"#).unwrap();
    let report = work.path().join("report.json");
    let records = 500_000 * 2 + 100;
    let read_args = [
        "run",
        faker.to_str().unwrap(),
        "--config",
        big.to_str().unwrap(),
        "--run",
        "basic_read/read",
        "--report-json",
        report.to_str().unwrap(),
    ];
    let mut best_read = Duration::MAX;
    let mut peak_rss = 0;
    for _ in 0..3 {
        let (_, rss, code) = ctest_run(&read_args, cache_dir.path());
        assert_eq!(code, 0, "the 1M-record read failed");
        best_read = best_read.min(read_duration(&report));
        peak_rss = peak_rss.max(rss);
    }
    let rate = records as f64 / best_read.as_secs_f64();

    // 4. The full_refresh and incremental suites at 100,000 users.
    let suites_config = work.path().join("100k.json");
    std::fs::write(
        &suites_config,
        r#"{"count": 100000, "seed": 5, "records_per_state": 1000}"#,
    )
    .unwrap();
    let suites_args = [
        "run",
        faker.to_str().unwrap(),
        "--config",
        suites_config.to_str().unwrap(),
        "--run",
        "full_refresh/",
        "--run",
        "incremental/",
    ];
    let mut suite_walls = Vec::new();
    let mut suites_rss = 0;
    for _ in 0..3 {
        let (wall, rss, code) = ctest_run(&suites_args, cache_dir.path());
        assert_eq!(
            code, 0,
            "the full_refresh and incremental suites failed at 100,000 users"
        );
        suite_walls.push(wall);
        suites_rss = suites_rss.max(rss);
    }
    let suites_wall = median(suite_walls);

    // 5. source-shop against the shop API: a whole run live (recording), then
    // replayed from the cassettes with the server stopped.
    let shop = plugins.join("source-shop.wasm");
    let server = shop_api::Server::start(shop_api::Options::default()).expect("start the shop API");
    let shop_config = support::shop_config(work.path(), &server.base_url(), "shop-test-key", 50);
    let cassettes = work.path().join("cassettes");
    let shop_url = server.base_url();
    let shop_args = |mode: &'static str| {
        [
            "run".to_string(),
            shop.display().to_string(),
            "--config".into(),
            shop_config.display().to_string(),
            "--http".into(),
            mode.into(),
            "--cassette-dir".into(),
            cassettes.display().to_string(),
            // The shop API listens on loopback: the operator's grant.
            "--allow-host".into(),
            shop_url.clone(),
        ]
    };
    let live_args = shop_args("record");
    let live_args: Vec<&str> = live_args.iter().map(String::as_str).collect();
    let mut live_walls = Vec::new();
    for _ in 0..7 {
        let (wall, _, code) = ctest_run(&live_args, cache_dir.path());
        assert_eq!(code, 0, "source-shop failed live");
        live_walls.push(wall);
    }
    server.stop();
    let replay_args = shop_args("replay");
    let replay_args: Vec<&str> = replay_args.iter().map(String::as_str).collect();
    let mut replay_walls = Vec::new();
    for _ in 0..7 {
        let (wall, _, code) = ctest_run(&replay_args, cache_dir.path());
        assert_eq!(code, 0, "source-shop failed in replay");
        replay_walls.push(wall);
    }
    let (live_wall, replay_wall) = (median(live_walls), median(replay_walls));

    let languages = per_language(work.path());

    println!("| figure | measured | target |");
    println!("|---|---|---|");
    println!(
        "| load source-faker, cold (compile + cache write) | {:.1} ms | |",
        cold_load.as_secs_f64() * 1e3
    );
    println!(
        "| load source-faker, warm cache | {:.2} ms | |",
        warm_load.as_secs_f64() * 1e3
    );
    println!(
        "| fresh instance per test, warm cache | {:.1} µs | < 50 µs |",
        per_instance.as_secs_f64() * 1e6
    );
    println!(
        "| `ctest run`, all suites, 1,000 users, warm cache (median of 15) | {:.0} ms | < 300 ms |",
        run_wall.as_secs_f64() * 1e3
    );
    println!(
        "| read + validation + checks, {records} records (best of 3) | {:.2} M records/s ({} ms) | ≥ 1 M/s |",
        rate / 1e6,
        best_read.as_millis()
    );
    println!(
        "| peak RSS of that run | {:.0} MB | < 150 MB |",
        peak_rss as f64 / 1e6
    );
    println!(
        "| full_refresh + incremental suites, 100,000 users (median of 3) | {:.2} s, peak RSS {:.0} MB | < 2 s |",
        suites_wall.as_secs_f64(),
        suites_rss as f64 / 1e6
    );
    println!(
        "| `ctest run` source-shop, all suites, live against the shop API, recording (median of 7) | {:.0} ms | |",
        live_wall.as_secs_f64() * 1e3
    );
    println!(
        "| the same, replayed from the cassettes with the server stopped (median of 7) | {:.0} ms | |",
        replay_wall.as_secs_f64() * 1e3
    );

    println!();
    println!(
        "| language (example) | component | compile (cold load) | cached load | fresh instance | whole run, 34 tests (median of 5) | 100,000-record read (best of 3) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for l in languages {
        println!(
            "| {} (`{}`) | {:.1} MB | {:.2} s | {:.1} ms | {:.1} µs | {:.0} ms | {:.0} ms ({:.0} k records/s) |",
            l.language,
            l.plugin,
            l.size as f64 / 1e6,
            l.cold.as_secs_f64(),
            l.warm.as_secs_f64() * 1e3,
            l.instance.as_secs_f64() * 1e6,
            l.run.as_secs_f64() * 1e3,
            l.read.as_secs_f64() * 1e3,
            100_000.0 / l.read.as_secs_f64() / 1e3,
        );
    }
}

/// A host whose compile cache is in `dir`.
fn new_host(dir: &Path) -> Host {
    let cache = CompileCache::new(Some(dir.to_path_buf()));
    Host::new(&HostOptions::default(), cache).expect("set up the host")
}

/// Loads `wasm` into an empty compile cache in `dir` (compiling it), then
/// from the cache in a second host (as the next process would), then times
/// `n` fresh instances after `warmup`: (cold load, cached load, one
/// instance).
fn load_and_instantiate(
    wasm: &Path,
    dir: &Path,
    warmup: u32,
    n: u32,
) -> (Duration, Duration, Duration) {
    let cold_host = new_host(dir);
    let started = Instant::now();
    drop(cold_host.load(wasm).expect("load the plugin"));
    let cold = started.elapsed();
    let host = new_host(dir);
    let started = Instant::now();
    let sandbox = host.load(wasm).expect("load the plugin");
    let warm = started.elapsed();
    assert_eq!(
        sandbox.cache_outcome,
        CacheOutcome::Hit,
        "the second load must come from the cache"
    );
    let (limits, network) = (Limits::default(), ctest::network::TestNetwork::none());
    let deadline = Instant::now() + Duration::from_secs(3600);
    for _ in 0..warmup {
        drop(sandbox.instantiate(&limits, deadline, &network).unwrap());
    }
    let started = Instant::now();
    for _ in 0..n {
        drop(sandbox.instantiate(&limits, deadline, &network).unwrap());
    }
    (cold, warm, started.elapsed() / n)
}

/// One language's figures, on its `numbers` example (the same stream, the
/// same records: `n`, `square`, `updated_at`).
struct LanguageFigures {
    language: &'static str,
    plugin: &'static str,
    size: u64,
    cold: Duration,
    warm: Duration,
    instance: Duration,
    run: Duration,
    read: Duration,
}

fn per_language(work: &Path) -> Vec<LanguageFigures> {
    let plugins = support::plugins_dir();
    let mut figures = Vec::new();
    for (language, plugin, example) in [
        ("Rust", "source-numbers", "rust-numbers"),
        ("Python", "python-numbers", "python-numbers"),
        ("TypeScript", "ts-numbers", "ts-numbers"),
    ] {
        let wasm = plugins.join(format!("{plugin}.wasm"));
        let cache_dir = tempfile::tempdir().unwrap();
        let (cold, warm, instance) = load_and_instantiate(&wasm, cache_dir.path(), 50, 1000);

        let config = root().join(format!("examples/{example}/config.json"));
        let args = [
            "run",
            wasm.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ];
        let runs: Vec<Duration> = (0..5)
            .map(|_| {
                let (wall, _, code) = ctest_run(&args, cache_dir.path());
                assert_eq!(code, 0, "{plugin} failed its run");
                wall
            })
            .collect();

        let big = work.join(format!("{plugin}-100k.json"));
        std::fs::write(&big, r#"{"count": 100000}"#).unwrap();
        let report = work.join(format!("{plugin}-report.json"));
        let read_args = [
            "run",
            wasm.to_str().unwrap(),
            "--config",
            big.to_str().unwrap(),
            "--run",
            "basic_read/read",
            "--report-json",
            report.to_str().unwrap(),
        ];
        let read = (0..3)
            .map(|_| {
                let (_, _, code) = ctest_run(&read_args, cache_dir.path());
                assert_eq!(code, 0, "{plugin}: the 100,000-record read failed");
                read_duration(&report)
            })
            .min()
            .unwrap();
        figures.push(LanguageFigures {
            language,
            plugin,
            size: std::fs::metadata(&wasm).unwrap().len(),
            cold,
            warm,
            instance,
            run: median(runs),
            read,
        });
    }
    figures
}

/// The `basic_read/read` test's own duration, from a JSON report.
fn read_duration(report: &Path) -> Duration {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    let ms = json["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "read")
        .and_then(|t| t["duration_ms"].as_u64())
        .unwrap();
    Duration::from_millis(ms)
}
