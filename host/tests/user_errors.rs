//! Bad input from the user: one clear message naming the file, the place and the
//! fix, and exit code 2.

mod support;

use support::*;

fn expect_usage_error(run: &Run, needles: &[&str]) {
    assert_eq!(
        run.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(run.stdout.is_empty(), "no test should run: {}", run.stdout);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    for n in needles {
        assert!(run.stderr.contains(n), "expected {n:?} in:\n{}", run.stderr);
    }
}

/// `ctest run FILE --config <source-faker's config>`
fn run_file(file: &std::path::Path) -> Run {
    ctest(&[
        "run",
        file.to_str().unwrap(),
        "--config",
        faker_config().to_str().unwrap(),
    ])
}

#[test]
fn missing_plugin_file() {
    let run = run_file(std::path::Path::new("no/such/plugin.wasm"));
    expect_usage_error(
        &run,
        &["no/such/plugin.wasm", "cannot read the plugin", "fix:"],
    );
}

#[test]
fn missing_config_file() {
    let plugin = plugin("source-faker");
    let run = ctest(&[
        "run",
        plugin.to_str().unwrap(),
        "--config",
        "no/such/config.json",
    ]);
    expect_usage_error(
        &run,
        &["no/such/config.json", "cannot read the config", "--config"],
    );
}

#[test]
fn config_that_is_not_json_names_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(&config, "{\n  \"count\": 10,\n  seed: 3\n}\n").unwrap();
    let run = run_plugin("source-faker", &config, &[]);
    expect_usage_error(&run, &["config.json:3:3", "not valid JSON", "fix:"]);
}

#[test]
fn config_that_is_not_an_object() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(&config, "[1, 2]").unwrap();
    let run = run_plugin("source-faker", &config, &[]);
    expect_usage_error(&run, &["config.json", "an array, not a JSON object"]);
}

#[test]
fn file_that_is_not_wasm() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plugin.wasm");
    std::fs::write(&file, "#!/bin/sh\necho hi\n").unwrap();
    let run = run_file(&file);
    expect_usage_error(&run, &["plugin.wasm", "not a WebAssembly file"]);
}

#[test]
fn core_module_instead_of_component() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("module.wasm");
    // The smallest valid core module: magic and version 1.
    std::fs::write(&file, b"\0asm\x01\0\0\0").unwrap();
    let run = run_file(&file);
    expect_usage_error(
        &run,
        &[
            "module.wasm",
            "core WebAssembly module, not a component",
            "wasm32-wasip2",
        ],
    );
}

#[test]
fn truncated_component() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cut.wasm");
    let bytes = std::fs::read(plugin("source-faker")).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let run = run_file(&file);
    expect_usage_error(
        &run,
        &["cut.wasm", "not a valid WebAssembly component", "rebuild"],
    );
}

#[test]
fn component_built_for_another_contract_version() {
    let run = run_plugin("broken-contract-old-version", &faker_config(), &[]);
    expect_usage_error(
        &run,
        &["ctest:connector@0.0.9", "ctest:connector@0.1.0", "rebuild"],
    );
}

#[test]
fn component_without_the_source_export() {
    let run = run_plugin("broken-contract-no-source", &faker_config(), &[]);
    expect_usage_error(
        &run,
        &[
            "does not export `ctest:connector/source@0.1.0`",
            "acme:widgets/greeter@1.0.0",
            "export_connector!",
        ],
    );
}

#[test]
fn component_with_an_import_ctest_does_not_provide() {
    let run = run_plugin("broken-contract-unknown-import", &faker_config(), &[]);
    expect_usage_error(
        &run,
        &["imports `acme:vault/secrets@1.0.0`", "does not provide"],
    );
}

#[test]
fn bad_flag_values() {
    let run = run_plugin("source-faker", &faker_config(), &["--timeout", "0"]);
    expect_usage_error(&run, &["--timeout", "positive"]);
    let run = run_plugin("source-faker", &faker_config(), &["--memory-limit", "lots"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--memory-limit"), "{}", run.stderr);
}

#[test]
fn unwritable_report_path() {
    let run = run_plugin(
        "source-faker",
        &faker_config(),
        &["--report-json", "/no/such/dir/report.json"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("/no/such/dir/report.json")
            && run.stderr.contains("cannot write the JSON report"),
        "{}",
        run.stderr
    );
}

#[test]
fn run_filter_that_matches_no_test() {
    let run = run_plugin(
        "source-faker",
        &faker_config(),
        &["--run", "spec/secret_marked"],
    );
    expect_usage_error(
        &run,
        &[
            "--run \"spec/secret_marked\" matches no test",
            "spec/secrets_marked",
        ],
    );
}

#[test]
fn config_from_an_environment_variable() {
    let plugin = plugin("source-faker");
    let args = [
        "run",
        plugin.to_str().unwrap(),
        "--config-env",
        "CTEST_TEST_CONFIG",
        "--run",
        "spec/config_matches_spec",
    ];
    let run = ctest_with_env(&args, &[("CTEST_TEST_CONFIG", r#"{"count": 10}"#)]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.with_status("PASS"), ["spec/config_matches_spec"]);
    // Unset, and not JSON: exit 2, naming the variable.
    let run = ctest(&args);
    expect_usage_error(
        &run,
        &["$CTEST_TEST_CONFIG: the environment variable is not set"],
    );
    let run = ctest_with_env(&args, &[("CTEST_TEST_CONFIG", "{count: 10}")]);
    expect_usage_error(
        &run,
        &["$CTEST_TEST_CONFIG:1:2: the config is not valid JSON"],
    );
}

#[test]
fn a_config_is_required() {
    let plugin = plugin("source-faker");
    let run = ctest(&["run", plugin.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--config"), "{}", run.stderr);
}
