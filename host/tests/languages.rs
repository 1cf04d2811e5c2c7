//! Connectors written in other languages pass the standard suites: the
//! Python example, built with componentize-py and the Python SDK.

mod support;

use support::*;

#[test]
fn the_python_example_passes_every_suite() {
    let config = root().join("examples/python-numbers/config.json");
    let run = run_plugin("python-numbers", &config, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let expected: Vec<&str> = default_tests()
        .into_iter()
        .filter(|t| !t.starts_with("backward_compatibility/"))
        .collect();
    assert_eq!(run.with_status("PASS"), expected, "{}", run.stdout);
}

#[test]
fn a_python_config_error_is_an_answer_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("zero.json");
    std::fs::write(&config, r#"{"count": 0}"#).unwrap();
    let run = run_plugin("python-numbers", &config, &["--run", "connection/check"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("`count` must be at least 1"),
        "{}",
        run.stdout
    );
}
