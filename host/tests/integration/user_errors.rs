//! Bad input from the user: one clear message naming the file, the place and the
//! fix, and exit code 2.

use crate::support::*;

fn expect_usage_error(run: &Run, needles: &[&str]) {
    assert_eq!(
        run.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(run.stdout.is_empty(), "no test should run: {}", run.stdout);
    // (After the notices of a compile, when the component had to be
    // compiled: `compiling NAME …` and, when it compiled, `compiled NAME in …`.)
    let mut message = run.stderr.as_str();
    while message.starts_with("compiling ") || message.starts_with("compiled ") {
        message = message.split_once('\n').map_or("", |(_, rest)| rest);
    }
    assert!(message.starts_with("error: "), "{}", run.stderr);
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
        &[
            "ctest:connector@0.0.9",
            "ctest:connector@0.2.0",
            "(it looks like Rust)",
            "update the ctest-sdk dependency",
        ],
    );
}

#[test]
fn component_without_the_source_export() {
    let run = run_plugin("broken-contract-no-source", &faker_config(), &[]);
    expect_usage_error(
        &run,
        &[
            "does not export `ctest:connector/source@0.2.0`",
            "acme:widgets/greeter@1.0.0",
            "(it looks like Rust)",
            "ctest_sdk::export_connector!(YourConnector)",
        ],
    );
}

#[test]
fn component_with_an_import_ctest_does_not_provide() {
    let run = run_plugin("broken-contract-unknown-import", &faker_config(), &[]);
    expect_usage_error(
        &run,
        &[
            "imports `acme:vault/secrets@1.0.0`",
            "does not provide",
            "(it looks like Rust)",
            "ctest-sdk and wasip2 crates",
        ],
    );
}

/// A component from another language, given where ctest needs what it
/// lacks: the fix is in that language's terms.
fn given_as_test_utils(example: &str) -> Run {
    run_plugin(
        "source-faker",
        &faker_config(),
        &["--test-utils", plugin(example).to_str().unwrap()],
    )
}

#[test]
fn a_python_component_without_the_export_gets_the_python_fix() {
    let run = given_as_test_utils("python-numbers");
    expect_usage_error(
        &run,
        &[
            "python-numbers.wasm",
            "does not export `ctest:connector/write-back@0.2.0`",
            "ctest:connector/source@0.2.0",
            "(it looks like Python)",
            "WriteBack = ctest_sdk.export_write_back(YourWriter)",
            "-w connector-http-with-write-back",
        ],
    );
}

#[test]
fn a_typescript_component_without_the_export_gets_the_typescript_fix() {
    let run = given_as_test_utils("ts-numbers");
    expect_usage_error(
        &run,
        &[
            "ts-numbers.wasm",
            "does not export `ctest:connector/write-back@0.2.0`",
            "(it looks like JavaScript/TypeScript)",
            "export const writeBack = exportWriteBack(yourWriter)",
        ],
    );
}

#[test]
fn a_source_file_instead_of_a_component_gets_its_build_command() {
    for (file, needles) in [
        (
            "examples/python-numbers/app.py",
            &[
                "this is Python source",
                "python -m ctest_sdk_build app.py -o plugin.wasm",
            ][..],
        ),
        (
            "examples/ts-numbers/app.ts",
            &[
                "this is JavaScript/TypeScript source",
                "npx ctest-sdk-build app.ts plugin.wasm",
            ][..],
        ),
        (
            "examples/rust-numbers/src/lib.rs",
            &[
                "this is Rust source",
                "cargo build --target wasm32-wasip2 --release",
            ][..],
        ),
    ] {
        let run = run_file(&root().join(file));
        let mut all = vec![file];
        all.extend_from_slice(needles);
        all.push("then pass the `.wasm` file it writes");
        expect_usage_error(&run, &all);
    }
}

#[test]
fn a_component_of_unknown_origin_gets_every_language_fix() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("empty.wasm");
    // The smallest valid component: magic and the component layer.
    std::fs::write(&file, b"\0asm\x0d\0\x01\0").unwrap();
    let run = run_file(&file);
    expect_usage_error(
        &run,
        &[
            "empty.wasm",
            "(it exports: nothing)",
            "ctest_sdk::export_connector!",
            "Source = ctest_sdk.export(...)",
            "export const source = exportConnector(...)",
        ],
    );
    assert!(!run.stderr.contains("it looks like"), "{}", run.stderr);
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
fn unwritable_junit_report_path() {
    let run = run_plugin(
        "source-faker",
        &faker_config(),
        &["--report-junit", "/no/such/dir/report.xml"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("/no/such/dir/report.xml")
            && run.stderr.contains("cannot write the JUnit report")
            && run.stderr.contains("--report-junit"),
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
            "--run `spec/secret_marked` selects no test",
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

#[test]
fn a_core_module_from_rust_is_told_to_build_for_wasm32_wasip2() {
    // A core module whose producers section says Rust, as `wasm32-wasip1`
    // builds leave it: magic, version 1, then a custom section `producers`
    // with one field, `language` = [("Rust", "")].
    let mut producers = Vec::new();
    producers.push(9u8);
    producers.extend_from_slice(b"producers");
    producers.push(1); // one field
    producers.push(8);
    producers.extend_from_slice(b"language");
    producers.push(1); // one value
    producers.push(4);
    producers.extend_from_slice(b"Rust");
    producers.push(0); // its version: ""
    let mut bytes = b"\0asm\x01\0\0\0".to_vec();
    bytes.push(0); // a custom section
    bytes.push(producers.len() as u8);
    bytes.extend_from_slice(&producers);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("connector.wasm");
    std::fs::write(&file, &bytes).unwrap();
    let run = run_file(&file);
    expect_usage_error(
        &run,
        &[
            "connector.wasm",
            "core WebAssembly module, not a component (it looks like Rust)",
            "`cargo build --target wasm32-wasip2 --release`",
        ],
    );
}
