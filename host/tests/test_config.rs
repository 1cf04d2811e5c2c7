//! The test configuration file (`--test-config ctest.yaml`): input sets,
//! bypasses, and the per-set options, each proven end to end.

mod support;

use std::path::{Path, PathBuf};

use support::*;

/// Writes `files` (name, content) into a fresh directory, `ctest.yaml` among them.
fn setup(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let yaml = dir.path().join("ctest.yaml");
    (dir, yaml)
}

fn run_with(plugin_name: &str, yaml: &Path, extra: &[&str]) -> Run {
    let plugin = plugin(plugin_name);
    let mut args = vec![
        "run",
        plugin.to_str().unwrap(),
        "--test-config",
        yaml.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ctest(&args)
}

const GOOD: &str = r#"{"count": 100, "records_per_state": 30}"#;

#[test]
fn connection_input_sets_with_expected_statuses() {
    let (_dir, yaml) = setup(&[
        ("good.json", GOOD),
        ("zero.json", r#"{"count": 0}"#),
        (
            "ctest.yaml",
            "config_path: good.json\nacceptance_tests:\n  connection:\n    tests:\n      - status: succeed\n      - config_path: zero.json\n        status: failed\n",
        ),
    ]);
    let run = run_with("source-faker", &yaml, &["--run", "connection/"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.with_status("PASS"),
        [
            "connection/check#1",
            "connection/rejects_missing_required#1",
            "connection/rejects_wrong_type#1",
            "connection/check#2"
        ]
    );

    // A status that does not hold fails, saying what came.
    std::fs::write(&yaml, "config_path: good.json\nacceptance_tests:\n  connection:\n    tests:\n      - status: failed\n").unwrap();
    let run = run_with("source-faker", &yaml, &["--run", "connection/check"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("to answer `failed`; it succeeded"),
        "{}",
        run.stdout
    );
}

#[test]
fn bypass_reasons_skip_a_suite_or_a_test_and_say_why() {
    let (_dir, yaml) = setup(&[
        ("good.json", GOOD),
        (
            "ctest.yaml",
            "config_path: good.json\nacceptance_tests:\n  spec:\n    bypass:\n      metadata: \"versions are set at release\"\n  incremental:\n    bypass_reason: \"no cursor upstream\"\n",
        ),
    ]);
    let run = run_with("broken-spec-bad-metadata", &yaml, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.status_of("spec/metadata"), Some("SKIP"));
    assert!(
        run.stdout
            .contains("bypassed by the test configuration: versions are set at release")
    );
    let skipped = run.with_status("SKIP");
    assert!(
        skipped
            .iter()
            .filter(|t| t.starts_with("incremental/"))
            .count()
            == 6,
        "{skipped:?}"
    );
    assert!(
        run.stdout
            .contains("bypassed by the test configuration: no cursor upstream")
    );
}

#[test]
fn empty_streams_extra_columns_and_ignored_fields() {
    let (_dir, yaml) = setup(&[
        ("good.json", GOOD),
        (
            "ctest.yaml",
            "config_path: good.json\nacceptance_tests:\n  basic_read:\n    tests:\n      - empty_streams:\n          - name: products\n            bypass_reason: none in the sandbox\n        fail_on_extra_columns: false\n  full_refresh:\n    tests:\n      - ignored_fields:\n          users:\n            - name: address.postal_code\n              bypass_reason: changes on every read\n",
        ),
    ]);
    // Without the file each of these fails one test (see broken_plugins.rs).
    for plugin in [
        "broken-read-empty-stream",
        "broken-read-undeclared-field",
        "broken-full-refresh-not-repeatable",
    ] {
        let run = run_with(plugin, &yaml, &[]);
        assert_eq!(run.code, 0, "{plugin}:\n{}", run.stdout);
    }
    let run = run_with("broken-read-undeclared-field", &yaml, &[]);
    assert!(
        run.stdout.contains("fail_on_extra_columns is false"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_configured_catalog_limits_the_streams_read() {
    let (_dir, yaml) = setup(&[
        ("good.json", GOOD),
        (
            "catalog.json",
            r#"{"streams": [{"stream": {"name": "users"}, "sync_mode": "incremental"}, {"name": "purchases"}]}"#,
        ),
        (
            "ctest.yaml",
            "config_path: good.json\nacceptance_tests:\n  basic_read:\n    tests:\n      - configured_catalog_path: catalog.json\n",
        ),
    ]);
    // products yields nothing from this plugin, but it is not in the catalog.
    let run = run_with("broken-read-empty-stream", &yaml, &["--run", "basic_read/"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
}

#[test]
fn custom_environment_variables_are_the_plugins_only_environment() {
    let (_dir, yaml) = setup(&[
        ("probe.json", r#"{"count": 10}"#),
        (
            "ctest.yaml",
            "config_path: probe.json\ncustom_environment_variables:\n  REGION: eu\n",
        ),
    ]);
    // The probe fails its check listing the environment it saw.
    let run = run_with(
        "broken-probe-sandbox",
        &yaml,
        &["--run", "connection/check"],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains(r#"saw environment variables ["REGION"]"#),
        "{}",
        run.stdout
    );
}

#[test]
fn a_future_state_file_replaces_the_generated_one() {
    let far = r#"[{"stream": "users", "data": {"updated_at": "2999-01-01T00:00:00Z"}}]"#;
    let past = r#"{"users": {"updated_at": "2000-01-01T00:00:00Z"}}"#;
    for (state, code) in [(far, 0), (past, 1)] {
        let (_dir, yaml) = setup(&[
            ("good.json", GOOD),
            ("state.json", state),
            (
                "ctest.yaml",
                "config_path: good.json\nacceptance_tests:\n  incremental:\n    tests:\n      - future_state_path: state.json\n",
            ),
        ]);
        let run = run_with(
            "source-faker",
            &yaml,
            &["--run", "incremental/future_state"],
        );
        assert_eq!(run.code, code, "{state}:\n{}", run.stdout);
        if code == 1 {
            assert!(
                run.stdout
                    .contains("stream `users` returned 100 records from the state"),
                "{}",
                run.stdout
            );
        }
    }
}

#[test]
fn mistakes_in_the_file_are_usage_errors_with_the_place() {
    let faker = faker_config();
    let with_config = ["--config", faker.to_str().unwrap()];
    // (the file, extra arguments, what stderr must say)
    let cases: [(&str, &[&str], &[&str]); 3] = [
        (
            "acceptance_tests:\n  basic_read:\n    tests:\n      - empty_stream: []\n",
            &with_config,
            &["ctest.yaml:4:9: ", "unknown field `empty_stream`"],
        ),
        (
            "acceptance_tests:\n  basic_read:\n    tests:\n      - configured_catalog_path: missing.json\n",
            &with_config,
            &["missing.json: cannot read the configured catalog"],
        ),
        ("acceptance_tests: {}\n", &[], &["no config given"]),
    ];
    for (yaml_text, extra, says) in cases {
        let (_dir, yaml) = setup(&[("ctest.yaml", yaml_text)]);
        let run = run_with("source-faker", &yaml, extra);
        assert_eq!(run.code, 2, "{yaml_text}\n{}", run.stderr);
        for needle in says {
            assert!(
                run.stderr.contains(needle),
                "{yaml_text}: expected {needle:?} in:\n{}",
                run.stderr
            );
        }
    }
}

#[test]
fn secrets_of_an_input_sets_config_are_masked_too() {
    const SECRET: &str = "sk_set_only_91d0c3";
    let (_dir, yaml) = setup(&[
        ("good.json", GOOD),
        (
            "keyed.json",
            &format!(r#"{{"count": 10, "api_key": "{SECRET}"}}"#),
        ),
        (
            "ctest.yaml",
            "config_path: good.json\nacceptance_tests:\n  connection:\n    tests:\n      - config_path: keyed.json\n",
        ),
    ]);
    // The plugin logs its key and puts it in its check failure.
    let run = run_with("broken-leaks-secret", &yaml, &["--run", "connection/check"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        !run.stdout.contains(SECRET) && !run.stderr.contains(SECRET),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("the API refused the key **********"),
        "{}",
        run.stdout
    );
}
