//! Connectors written in other languages pass the standard suites: the
//! Python example (componentize-py and the Python SDK) and the TypeScript
//! example (componentize-js and the TypeScript SDK).

mod support;

use support::*;

fn passes_every_suite(plugin: &str, example: &str) {
    let config = root().join(format!("examples/{example}/config.json"));
    let run = run_plugin(plugin, &config, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let expected: Vec<&str> = default_tests()
        .into_iter()
        .filter(|t| !t.starts_with("backward_compatibility/"))
        .collect();
    assert_eq!(run.with_status("PASS"), expected, "{}", run.stdout);
}

fn a_config_error_is_an_answer_not_a_crash(plugin: &str) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("zero.json");
    std::fs::write(&config, r#"{"count": 0}"#).unwrap();
    let run = run_plugin(plugin, &config, &["--run", "connection/check"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("`count` must be at least 1"),
        "{}",
        run.stdout
    );
}

#[test]
fn the_python_example_passes_every_suite() {
    passes_every_suite("python-numbers", "python-numbers");
}

#[test]
fn a_python_config_error_is_an_answer_not_a_crash() {
    a_config_error_is_an_answer_not_a_crash("python-numbers");
}

#[test]
fn the_typescript_example_passes_every_suite() {
    passes_every_suite("ts-numbers", "ts-numbers");
}

#[test]
fn a_typescript_config_error_is_an_answer_not_a_crash() {
    a_config_error_is_an_answer_not_a_crash("ts-numbers");
}

/// The TypeScript HTTP example: `fetch` through wasi:http, live against the
/// shop API while recording, then replayed with the server stopped.
#[test]
fn the_typescript_http_example_passes_live_and_in_replay() {
    let server = shop_api::Server::start(shop_api::Options::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = shop_config(dir.path(), &server.base_url(), "shop-test-key", 40);
    let cassettes = dir.path().join("cassettes");
    let cassettes = cassettes.to_str().unwrap();
    let live = run_plugin(
        "ts-shop",
        &config,
        &["--http", "record", "--cassette-dir", cassettes],
    );
    assert_eq!(live.code, 0, "{}\n{}", live.stdout, live.stderr);
    assert!(
        server
            .stats
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
            > 20
    );
    server.stop();
    let replay = run_plugin(
        "ts-shop",
        &config,
        &["--http", "replay", "--cassette-dir", cassettes],
    );
    assert_eq!(replay.code, 0, "{}", replay.stdout);
    assert_eq!(replay.with_status("PASS"), live.with_status("PASS"));
}
