//! The output of every first-party plugin, console, JSON and JUnit, is kept
//! in `host/tests/golden/`, and a run must reproduce it byte for byte, once
//! what legitimately varies is masked: durations, ports, temporary paths,
//! write-back tags, epoch seconds and milliseconds, process ids. A refactoring that changes a verdict
//! or a message shows here as a diff. After a deliberate change, rewrite
//! the files with `CTEST_BLESS=1 cargo xtask test -E 'test(/^golden::/)'`
//! and review the diff.

use std::path::Path;

use crate::support::*;

/// Plugins run here only with their own set-up (a previous version, a
/// writer, a network listener) or that wait out a time limit: their own
/// test files cover them.
const NOT_HERE: &[&str] = &[
    "broken-bc-",
    "broken-wb-",
    "broken-shop-",
    "broken-net-",
    "broken-hostile-",
    "broken-probe-",
    "broken-contract-",
    "broken-read-endless",
    "broken-read-sleeps",
    "broken-read-infinite-loop",
    "broken-read-memory-hog",
    "broken-read-floods-output",
    "broken-read-huge-record",
    "broken-state-between-calls",
    "good-read-takes-a-second",
    "source-shop-test-utils",
];

/// `text` with what varies from run to run masked.
fn normalize(text: &str, masks: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (from, to) in masks {
        out = out.replace(from, to);
    }
    let patterns: [(&str, &str); 13] = [
        (r"\((\d+) ms\)", "(T ms)"),
        (r#""duration_ms": ?\d+"#, "\"duration_ms\":T"),
        // The plugin's CPU time and its allocator's growth vary with the
        // machine and with how reads interleave; counts do not.
        (r#""cpu_ms": ?\d+"#, "\"cpu_ms\":T"),
        (r#""checks_cpu_ms": ?\d+"#, "\"checks_cpu_ms\":T"),
        (r#""peak_memory_bytes": ?\d+"#, "\"peak_memory_bytes\":N"),
        (r#"time="[0-9.]+""#, "time=\"T\""),
        (r#"timestamp="[^"]*""#, "timestamp=\"T\""),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:PORT"),
        (r"ctest_[0-9a-f]{8}", "ctest_TAG"),
        (r"\b1\d{12}\b", "EPOCH_MS"),
        (r"\b1\d{9}\b", "EPOCH_S"),
        (r"ctest_unknown_stream_\d+", "ctest_unknown_stream_PID"),
        // Where a plugin panicked: moves with every edit of its source.
        (r"\.rs:\d+:\d+", ".rs:LINE:COL"),
    ];
    for (pattern, to) in patterns {
        out = regex::Regex::new(pattern)
            .unwrap()
            .replace_all(&out, to)
            .into_owned();
    }
    out
}

/// Runs `plugin` with `config` and `extra`, and compares (or, blessing,
/// writes) its golden file. `Err` says how it differs.
fn check(
    plugin: &str,
    config: &Path,
    extra: &[&str],
    masks: &[(&str, &str)],
) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let (json, junit) = (dir.path().join("r.json"), dir.path().join("r.xml"));
    let mut args = vec![
        "--report-json",
        json.to_str().unwrap(),
        "--report-junit",
        junit.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let run = run_shop_or_plugin(plugin, config, &args);
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_else(|e| format!("(no file: {e})"));
    let root = root().display().to_string();
    let plugins = plugins_dir().display().to_string();
    let tmp = dir.path().display().to_string();
    let mut all_masks = vec![
        (plugins.as_str(), "PLUGINS"),
        (root.as_str(), "ROOT"),
        (tmp.as_str(), "TMP"),
    ];
    all_masks.extend_from_slice(masks);
    let got = normalize(
        &format!(
            "exit {}\n--- console ---\n{}--- json ---\n{}\n--- junit ---\n{}",
            run.code,
            run.stdout,
            read(&json),
            read(&junit)
        ),
        &all_masks,
    );
    let file = root_path().join(format!("host/tests/golden/{plugin}.txt"));
    if std::env::var_os("CTEST_BLESS").is_some() {
        std::fs::write(&file, &got).unwrap();
        return Ok(());
    }
    let want = std::fs::read_to_string(&file).map_err(|e| {
        format!(
            "{plugin}: no golden file {} ({e}); bless with CTEST_BLESS=1",
            file.display()
        )
    })?;
    if got == want {
        return Ok(());
    }
    let line = got
        .lines()
        .zip(want.lines())
        .position(|(g, w)| g != w)
        .unwrap_or_else(|| got.lines().count().min(want.lines().count()));
    Err(format!(
        "{plugin}: the output differs from {} at line {}:\n  want: {}\n  got:  {}",
        file.display(),
        line + 1,
        want.lines().nth(line).unwrap_or("(end)"),
        got.lines().nth(line).unwrap_or("(end)")
    ))
}

fn root_path() -> std::path::PathBuf {
    root()
}

/// The shop connectors need the API's address granted (`run_shop`).
fn run_shop_or_plugin(plugin: &str, config: &Path, args: &[&str]) -> Run {
    if plugin.contains("shop") {
        run_shop(plugin, config, args)
    } else {
        run_plugin(plugin, config, args)
    }
}

#[test]
fn every_first_party_plugin_prints_what_it_printed() {
    let mut errors = Vec::new();
    let mut record = |r: Result<(), String>| {
        if let Err(e) = r {
            errors.push(e);
        }
    };
    for (plugin, example) in [
        ("source-numbers", "rust-numbers"),
        ("python-numbers", "python-numbers"),
        ("ts-numbers", "ts-numbers"),
    ] {
        let config = root().join(format!("examples/{example}/config.json"));
        record(check(plugin, &config, &[], &[]));
    }
    let mut names: Vec<String> = std::fs::read_dir(plugins_dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            let name = name.strip_suffix(".wasm")?.to_string();
            let faker_like =
                name == "source-faker" || name.starts_with("broken-") || name.starts_with("good-");
            (faker_like && !NOT_HERE.iter().any(|p| name.starts_with(p))).then_some(name)
        })
        .collect();
    names.sort();
    for name in &names {
        record(check(name, &faker_config(), &[], &[]));
    }
    assert!(errors.is_empty(), "{}", errors.join("\n\n"));
}

/// The shop connectors, live against a fresh shop API, with the writer.
#[test]
fn the_shop_connectors_print_what_they_printed() {
    let mut errors = Vec::new();
    for plugin in [
        "source-shop",
        "python-shop",
        "ts-shop",
        "source-shop-with-write-back",
    ] {
        let server = shop_api::Server::start(Default::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = shop_config(dir.path(), &server.base_url(), "shop-golden-key-1", 50);
        let tmp = dir.path().display().to_string();
        if let Err(e) = check(
            plugin,
            &config,
            &["--http", "live", "--allow-writes"],
            &[(tmp.as_str(), "TMP")],
        ) {
            errors.push(e);
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n\n"));
}
