//! The record-shape experiment for JavaScript (BENCHMARKS.md):
//! `cargo bench -p ctest --bench record_shape`.
//!
//! One componentize-js component (`record_shape/shape.js`, built here with the
//! TypeScript SDK's pinned componentize-js) hands the host the same 100,000
//! records in batches of 1,000 in three shapes: the contract's message list,
//! a list of JSON strings, and one JSON-lines string per batch. A fourth
//! export only makes the JSON text, which is the part no shape can save. The
//! host then parses every record with serde_json, as ctest does.
//!
//! It prints a Markdown table. Results are measurements, not assertions.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

#[path = "../tests/integration/support.rs"]
mod support;

wasmtime::component::bindgen!({
    path: "benches/record_shape/shape.wit",
    world: "shape",
});

struct State {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

const RECORDS: u32 = 100_000;
const BATCH: u32 = 1_000;
const ROUNDS: usize = 5;

/// Builds the experiment's component when its sources are newer.
fn component() -> PathBuf {
    // The plugins' build installs the TypeScript SDK's pinned tools.
    let plugins = support::plugins_dir();
    let dir = support::root().join("host/benches/record_shape");
    let out = plugins.join("record-shape.wasm");
    let newest = ["shape.js", "shape.wit"]
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).unwrap().modified().unwrap())
        .max()
        .unwrap();
    let built = std::fs::metadata(&out).and_then(|m| m.modified()).ok();
    if built.is_none_or(|b| b < newest) {
        let tool = support::root().join("sdk/typescript/node_modules/.bin/componentize-js");
        let status = Command::new("node")
            .arg(tool)
            .arg(dir.join("shape.js"))
            .arg("--wit")
            .arg(dir.join("shape.wit"))
            // No wasi:http here: nothing in the experiment makes requests.
            .args(["--world-name", "shape", "-d", "http", "fetch-event", "-o"])
            .arg(&out)
            .status()
            .expect("run componentize-js (node)");
        assert!(status.success(), "componentize-js failed");
    }
    out
}

/// The best of `ROUNDS` times of reading all records with `read_batch`, which
/// returns how many records it parsed.
fn best(
    store: &mut Store<State>,
    shape: &Shape,
    read_batch: impl Fn(&mut Store<State>, &Shape, u32) -> usize,
) -> Duration {
    (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            let mut parsed = 0;
            for first in (0..RECORDS).step_by(BATCH as usize) {
                parsed += read_batch(store, shape, first);
            }
            assert_eq!(parsed, RECORDS as usize);
            started.elapsed()
        })
        .min()
        .unwrap()
}

/// Parses one record, as ctest does; 1, to be counted.
fn parse(text: &str) -> usize {
    let value: serde_json::Value = serde_json::from_str(text).expect("a JSON record");
    std::hint::black_box(value);
    1
}

fn main() {
    let wasm = component();
    let engine = Engine::new(&Config::new()).unwrap();
    let compiled = Component::from_file(&engine, &wasm).unwrap();
    let mut linker = Linker::<State>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    let mut store = Store::new(
        &engine,
        State {
            ctx: WasiCtx::builder().build(),
            table: ResourceTable::new(),
        },
    );
    let shape = Shape::instantiate(&mut store, &compiled, &linker).unwrap();

    // Warm-up: the engine's caches and the guest's heap.
    for first in (0..RECORDS).step_by(BATCH as usize) {
        shape.call_messages(&mut store, first, BATCH).unwrap();
    }

    let make = best(&mut store, &shape, |store, shape, first| {
        let length = shape.call_make_only(store, first, BATCH).unwrap();
        assert!(length > 0);
        BATCH as usize
    });
    let messages = best(&mut store, &shape, |store, shape, first| {
        let batch = shape.call_messages(store, first, BATCH).unwrap();
        batch
            .iter()
            .map(|m| match m {
                Message::Record(r) => parse(&r.data),
                Message::State(s) => parse(s),
            })
            .sum()
    });
    let strings = best(&mut store, &shape, |store, shape, first| {
        let batch = shape.call_strings(store, first, BATCH).unwrap();
        batch.iter().map(|s| parse(s)).sum()
    });
    let lines = best(&mut store, &shape, |store, shape, first| {
        let text = shape.call_json_lines(store, first, BATCH).unwrap();
        text.split('\n').map(parse).sum()
    });
    let joined = best(&mut store, &shape, |store, shape, first| {
        let length = shape.call_join_only(store, first, BATCH).unwrap();
        assert!(length > 0);
        BATCH as usize
    });
    let array = best(&mut store, &shape, |store, shape, first| {
        let text = shape.call_json_array(store, first, BATCH).unwrap();
        match serde_json::from_str(&text).expect("a JSON array") {
            serde_json::Value::Array(records) => std::hint::black_box(records).len(),
            other => panic!("not an array: {other}"),
        }
    });
    let bytes = best(&mut store, &shape, |store, shape, first| {
        let bytes = shape.call_json_lines_bytes(store, first, BATCH).unwrap();
        let text = std::str::from_utf8(&bytes).expect("UTF-8");
        text.split('\n').map(parse).sum()
    });

    println!(
        "| shape, {RECORDS} records in batches of {BATCH} (best of {ROUNDS}) | time | records/s | over making the JSON alone |"
    );
    println!("|---|---|---|---|");
    let row = |name: &str, t: Duration| {
        println!(
            "| {name} | {:.0} ms | {:.0} k | {} |",
            t.as_secs_f64() * 1e3,
            RECORDS as f64 / t.as_secs_f64() / 1e3,
            if t == make {
                "—".to_string()
            } else {
                format!("+{:.0} ms", (t.as_secs_f64() - make.as_secs_f64()) * 1e3)
            }
        )
    };
    row("making the JSON text only (no records returned)", make);
    row(
        "`list<message>`, a `record` message per record (contract 0.1.0's only shape)",
        messages,
    );
    row("`list<string>`, one JSON string per record", strings);
    row(
        "making the JSON-lines text only (joined, not returned)",
        joined,
    );
    row("one JSON-lines `string` per batch", lines);
    row(
        "one JSON-array `string` per batch (one `JSON.stringify`)",
        array,
    );
    row(
        "one JSON-lines `list<u8>` per batch (`TextEncoder`; the `records` message of 0.2.0)",
        bytes,
    );
}
