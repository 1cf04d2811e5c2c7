//! What metering a run's CPU costs, by wasmtime fuel and by the thread's CPU
//! clock (what ctest uses for `--max-run-cpu-seconds`): `cargo bench -p ctest
//! --bench cpu_meter`.
//!
//! Three hosts in one process: one with no CPU budget, one with a budget
//! metered by the thread's clock (read around each call and at each 5 ms
//! epoch tick), one whose engine counts fuel (every compiled function and
//! loop charges it). Each reads 100,000 records of a Rust, a Python and a
//! TypeScript connector through `basic_read/read`; the hosts take turns, 5
//! rounds, and the medians and ratios are printed. Measurements, not
//! assertions.

use std::path::Path;
use std::time::{Duration, Instant};

use ctest::report::{Event, Reporter};
use ctest::sandbox::{CompileCache, Host, HostOptions};
use ctest::session::{self, ConfigSource, RunRequest};

#[path = "../tests/integration/support.rs"]
mod support;

struct Quiet;
impl Reporter for Quiet {
    fn event(&mut self, event: &Event) -> Result<(), String> {
        if let Event::TestFinished { result, .. } = event {
            assert!(
                result.status != ctest::report::Status::Failed,
                "{}: {:?}",
                result.id(),
                result.message
            );
        }
        Ok(())
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn host(dir: &Path, fuel: bool) -> Host {
    let options = HostOptions {
        consume_fuel: fuel,
        ..HostOptions::default()
    };
    Host::new(&options, CompileCache::new(Some(dir.to_path_buf()))).unwrap()
}

fn main() {
    let plugins = support::plugins_dir();
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("100k.json");
    std::fs::write(&config, r#"{"count": 100000}"#).unwrap();
    let (none, clock, fuel) = (
        host(&work.path().join("none"), false),
        host(&work.path().join("clock"), false),
        host(&work.path().join("fuel"), true),
    );
    println!("| connector | no budget | thread clock | fuel | clock / none | fuel / none |");
    println!("|---|---|---|---|---|---|");
    for plugin in ["source-faker", "python-numbers", "ts-numbers"] {
        let wasm = plugins.join(format!("{plugin}.wasm"));
        let request = |budget: Option<f64>| RunRequest {
            selection: ctest::suites::Selection::only(vec!["basic_read/read".into()]),
            max_run_cpu_seconds: budget,
            ..RunRequest::new(wasm.clone(), ConfigSource::File(config.clone()))
        };
        let plain = session::plan(&request(None)).unwrap();
        let metered = session::plan(&request(Some(3600.0))).unwrap();
        let runs = [(&none, &plain), (&clock, &metered), (&fuel, &plain)];
        let mut times: [Vec<Duration>; 3] = Default::default();
        // A first round compiles (or loads) each and warms up.
        for (h, plan) in runs {
            session::run(h, plan, &mut Quiet).unwrap();
        }
        for _ in 0..5 {
            for (i, (h, plan)) in runs.into_iter().enumerate() {
                let started = Instant::now();
                session::run(h, plan, &mut Quiet).unwrap();
                times[i].push(started.elapsed());
            }
        }
        let [n, c, f] = times.map(median);
        println!(
            "| {plugin} | {:.0} ms | {:.0} ms | {:.0} ms | {:.2} | {:.2} |",
            n.as_secs_f64() * 1e3,
            c.as_secs_f64() * 1e3,
            f.as_secs_f64() * 1e3,
            c.as_secs_f64() / n.as_secs_f64(),
            f.as_secs_f64() / n.as_secs_f64()
        );
    }
}
