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
