//! A new version of a Python plugin, and a warm run of one:
//! `cargo bench -p ctest --bench new_version`.
//!
//! 1. **New version**: python-shop compiled with an empty cache, against
//!    python-shop compiled after python-numbers (a different connector, the
//!    same CPython: what a new version of one looks like to the compiler) left
//!    its functions in the cache. The CPU time of `ctest run --run spec/`,
//!    which is nearly all the compile.
//! 2. **Warm run**: `ctest run` of python-numbers, every suite, its artifact
//!    cached (more than 2 s before, as a warm run's usually is): wall and CPU
//!    time.
//!
//! `CTEST_BASELINE=/path/to/ctest` measures that binary too, alternately with
//! this one. `-- --rounds N` (default 3 for compiles, 5 times as many warm
//! runs). Results are measurements, not assertions.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[path = "../tests/integration/support.rs"]
mod support;

#[path = "common/measure.rs"]
mod measure;
use measure::{Measured, measure, median};

fn run(bin: &Path, cache: &Path, plugin: &Path, config: &Path, extra: &[&str]) -> Measured {
    let m = measure(
        Command::new(bin)
            .arg("run")
            .arg(plugin)
            .arg("--config")
            .arg(config)
            .args(extra)
            .env("CTEST_CACHE_DIR", cache),
    );
    assert_eq!(
        m.code,
        0,
        "{} failed on {}",
        bin.display(),
        plugin.display()
    );
    m
}

fn remove_components(cache: &Path) {
    for e in std::fs::read_dir(cache).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "cwasm") {
            std::fs::remove_file(p).unwrap();
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .map_or(3, |r| r.parse().expect("--rounds takes a number"));
    let plugins = support::plugins_dir();
    let root = support::root();
    let numbers = plugins.join("python-numbers.wasm");
    let shop = plugins.join("python-shop.wasm");
    let numbers_config = root.join("examples/python-numbers/config.json");
    let shop_config = root.join("examples/python-shop/config.json");
    let mut binaries = vec![("new", PathBuf::from(env!("CARGO_BIN_EXE_ctest")))];
    if let Some(b) = std::env::var_os("CTEST_BASELINE") {
        binaries.insert(0, ("baseline", PathBuf::from(b)));
    }
    let work = tempfile::tempdir().unwrap();
    let spec = ["--run", "spec/"];

    let (mut cold, mut after) = (vec![Vec::new(); 2], vec![Vec::new(); 2]);
    for round in 0..rounds {
        for (i, (_, bin)) in binaries.iter().enumerate() {
            let fresh = work.path().join(format!("cold-{i}-{round}"));
            cold[i].push(run(bin, &fresh, &shop, &shop_config, &spec).cpu);
            let cache = work.path().join(format!("after-{i}-{round}"));
            run(bin, &cache, &numbers, &numbers_config, &spec);
            after[i].push(run(bin, &cache, &shop, &shop_config, &spec).cpu);
            remove_components(&cache);
        }
    }

    let warm: Vec<PathBuf> = (0..binaries.len())
        .map(|i| work.path().join(format!("warm-{i}")))
        .collect();
    for (i, (_, bin)) in binaries.iter().enumerate() {
        run(bin, &warm[i], &numbers, &numbers_config, &[]);
    }
    // A warm run as most are: its entry written more than ctest's settling
    // time (2 s) before, so a run may know it by its identity (`known.rs`).
    std::thread::sleep(Duration::from_millis(2_100));
    let (mut walls, mut cpus) = (vec![Vec::new(); 2], vec![Vec::new(); 2]);
    for _ in 0..rounds * 5 {
        for (i, (_, bin)) in binaries.iter().enumerate() {
            let m = run(bin, &warm[i], &numbers, &numbers_config, &[]);
            walls[i].push(m.wall);
            cpus[i].push(m.cpu);
        }
    }

    let s = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1e3);
    println!(
        "| binary | python-shop, cold cache: CPU | python-shop after python-numbers: CPU | warm python-numbers run, all suites: wall | CPU |"
    );
    println!("|---|---|---|---|---|");
    for (i, (name, _)) in binaries.iter().enumerate() {
        println!(
            "| {name} | {} | {} | {} | {} |",
            s(median(cold[i].clone())),
            s(median(after[i].clone())),
            ms(median(walls[i].clone())),
            ms(median(cpus[i].clone()))
        );
    }
    println!(
        "\n(medians: {rounds} compiles of each kind, {} warm runs, alternating)",
        rounds * 5
    );
}
