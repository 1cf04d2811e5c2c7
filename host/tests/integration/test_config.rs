//! The test configuration file (`--test-config ctest.yaml`): input sets,
//! bypasses, and the per-set options, each proven end to end.

use std::path::{Path, PathBuf};

use crate::support::*;

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
            "connection/rejects_constraint_violations#1",
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

/// basic_read's input set reads only `products`; the incremental suite
/// still tests `users` and `purchases`, so a connector that ignores its state
/// is caught there (it was not, when narrowing basic_read dropped them).
#[test]
fn the_incremental_suite_tests_streams_basic_read_left_out() {
    let (_dir, yaml) = setup(&[
        ("good.json", GOOD),
        ("catalog.json", r#"{"streams": [{"name": "products"}]}"#),
        (
            "ctest.yaml",
            "config_path: good.json\nacceptance_tests:\n  basic_read:\n    tests:\n      - configured_catalog_path: catalog.json\n",
        ),
    ]);
    let run = run_with(
        "broken-incremental-ignores-state",
        &yaml,
        &["--run", "incremental/second_read_respects_state"],
    );
    assert_eq!(
        run.status_of("incremental/second_read_respects_state"),
        Some("FAIL"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("stream `users`"), "{}", run.stdout);
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
                "config_path: good.json\nacceptance_tests:\n  incremental:\n    tests:\n      - future_state:\n          future_state_path: state.json\n",
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
    let cases: [(&str, &[&str], &[&str]); 6] = [
        (
            "acceptance_tests:\n  connection:\n    tests:\n      - status: passed\n        timeout_seconds: soon\n  basic_reads: {}\n",
            &with_config,
            // Every mistake of the file, in one run.
            &[
                "ctest.yaml: 3 problems in the test configuration:",
                "ctest.yaml:4:17: acceptance_tests.connection.tests[0].status: expected one of succeed, failed, exception, found `passed`",
                "ctest.yaml:5:26: acceptance_tests.connection.tests[0].timeout_seconds: expected a positive number of seconds, found `soon`",
                "ctest.yaml:6:3: acceptance_tests.basic_reads: unknown key `basic_reads`\n  fix: did you mean `basic_read`?",
            ],
        ),
        (
            "acceptance_tests:\n  full_refresh:\n    tests:\n      - empty_streams: []\n        validate_data_points: true\n",
            &with_config,
            &[
                "full_refresh.tests[0].validate_data_points: `validate_data_points` does not apply to the full_refresh suite",
                "acceptance_tests.basic_read",
            ],
        ),
        (
            "acceptance_tests:\n  basic_read:\n    tests:\n      - expect_records: {path: nowhere.jsonl}\n",
            &with_config,
            &["nowhere.jsonl: cannot read the expected records"],
        ),
        (
            "acceptance_tests:\n  basic_read:\n    tests:\n      - empty_stream: []\n",
            &with_config,
            &["ctest.yaml:4:9: ", "unknown key `empty_stream`"],
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

/// Every file the configuration names that is missing or malformed is said
/// in one run, not the first alone.
#[test]
fn every_missing_or_broken_file_is_named_at_once() {
    let (_dir, yaml) = setup(&[
        ("good.json", GOOD),
        ("list.json", "[1, 2]"),
        (
            "ctest.yaml",
            "config_path: good.json\nacceptance_tests:\n  connection:\n    tests:\n      - config_path: list.json\n  basic_read:\n    tests:\n      - configured_catalog_path: no-catalog.json\n        expect_records: {path: no-records.jsonl}\n  incremental:\n    tests:\n      - future_state: {future_state_path: no-state.json}\n",
        ),
    ]);
    let run = run_with("source-faker", &yaml, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    for said in [
        "ctest.yaml: 4 problems in the test configuration:",
        "list.json: the config is not a JSON object",
        "no-catalog.json: cannot read the configured catalog",
        "no-records.jsonl: cannot read the expected records",
        "no-state.json: cannot read the future state",
    ] {
        assert!(
            run.stderr.contains(said),
            "{said:?} not in:\n{}",
            run.stderr
        );
    }
}

/// What `test_strictness_level: high` demands and the file leaves out fails
/// the run, as a test of each suite concerned (as in Airbyte): the rest runs.
#[test]
fn high_strictness_gaps_are_failed_tests() {
    let (_dir, yaml) = setup(&[(
        "ctest.yaml",
        "test_strictness_level: high\nacceptance_tests:\n  spec: {}\n  basic_read:\n    tests:\n      - empty_streams: []\n",
    )]);
    let faker = faker_config();
    let run = run_with(
        "source-faker",
        &yaml,
        &["--config", faker.to_str().unwrap()],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let failed = run.with_status("FAIL");
    assert_eq!(
        failed,
        [
            "connection/test_strictness_level",
            "discovery/test_strictness_level",
            "basic_read/test_strictness_level",
            "full_refresh/test_strictness_level",
            "incremental/test_strictness_level",
        ],
        "{}",
        run.stdout
    );
    let message = run.message_of("basic_read/test_strictness_level").unwrap();
    assert!(
        message.contains("ctest.yaml:6:9: acceptance_tests.basic_read.tests[0].expect_records: missing; test_strictness_level is high")
            && message.contains("fix: add `expect_records: {path: expected_records.jsonl}`"),
        "{message}"
    );
    // The suites themselves still ran.
    assert_eq!(
        run.status_of("basic_read/records_match_schema"),
        Some("PASS"),
        "{}",
        run.stdout
    );
}

/// source-faker's own test configuration, at `test_strictness_level: high`.
fn faker_yaml() -> PathBuf {
    root().join("plugins/source-faker/ctest.yaml")
}

#[test]
fn source_faker_passes_at_high_strictness() {
    let run = run_with("source-faker", &faker_yaml(), &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    for test in [
        "basic_read/expected_records",
        "basic_read/every_field_has_data",
        "incremental/future_state_yields_no_records",
        "connector_attributes/allowed_hosts_declared",
        "connector_attributes/primary_keys_defined",
        "connection/check#2",
    ] {
        assert_eq!(run.status_of(test), Some("PASS"), "{test}:\n{}", run.stdout);
    }
}

#[test]
fn expected_records_catch_a_changed_value() {
    let run = run_with("broken-read-changed-value", &faker_yaml(), &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.with_status("FAIL"), ["basic_read/expected_records"]);
    assert!(
        run.stdout.contains("expected_records.jsonl:3 (stream `users`): record index 2, which has the primary key [3], differs: at `/name`: expected \"Shafi Cerf\", read \"SHAFI CERF\""),
        "{}",
        run.stdout
    );
}

#[test]
fn expected_records_options_hold_end_to_end() {
    let expected = std::fs::read_to_string(
        root().join("plugins/source-faker/integration_tests/expected_records.jsonl"),
    )
    .unwrap();
    // (options, whether source-faker's 1,000 users pass)
    for (options, passes, says) in [
        ("extra_records: true", true, ""),
        ("extra_records: false", false, "of stream `users` is not in"),
        ("exact_order: true", true, ""),
        (
            "exact_order: true, extra_records: false",
            false,
            "expected as record index 3, which differs",
        ),
    ] {
        let (_dir, yaml) = setup(&[
            ("good.json", r#"{"count": 1000, "seed": 42}"#),
            ("expected.jsonl", &expected),
            (
                "ctest.yaml",
                &format!(
                    "config_path: good.json\nacceptance_tests:\n  basic_read:\n    tests:\n      - expect_records: {{path: expected.jsonl, {options}}}\n"
                ),
            ),
        ]);
        let run = run_with("source-faker", &yaml, &["--run", "basic_read/"]);
        let status = run.status_of("basic_read/expected_records");
        assert_eq!(
            status,
            Some(if passes { "PASS" } else { "FAIL" }),
            "{options}:\n{}",
            run.stdout
        );
        assert!(run.stdout.contains(says), "{options}:\n{}", run.stdout);
    }
}

#[test]
fn data_points_catch_a_field_never_filled_unless_ignored() {
    let run = run_with("broken-discover-field-never-filled", &faker_yaml(), &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.with_status("FAIL"), ["basic_read/every_field_has_data"]);
    assert!(
        run.stdout
            .contains("stream `users`: field `nickname` is null or absent in all 1000 records"),
        "{}",
        run.stdout
    );
    let (_dir, yaml) = setup(&[
        ("good.json", GOOD),
        (
            "ctest.yaml",
            "config_path: good.json\nacceptance_tests:\n  basic_read:\n    tests:\n      - validate_data_points: true\n        ignored_fields:\n          users:\n            - name: nickname\n              bypass_reason: filled by a later release\n",
        ),
    ]);
    let run = run_with(
        "broken-discover-field-never-filled",
        &yaml,
        &["--run", "basic_read/"],
    );
    assert_eq!(
        run.status_of("basic_read/every_field_has_data"),
        Some("PASS"),
        "{}",
        run.stdout
    );
}

#[test]
fn at_high_strictness_the_future_state_covers_every_incremental_stream() {
    let strict = std::fs::read_to_string(faker_yaml()).unwrap();
    let dir = root().join("plugins/source-faker");
    let config = dir.join("config.json");
    let users_only = r#"[{"stream": "users", "data": {"updated_at": "2999-01-01T00:00:00Z"}}]"#;
    for (missing, passes) in [
        ("", false),
        (
            "\n          missing_streams:\n            - {name: products, bypass_reason: generated}\n            - {name: purchases, bypass_reason: generated}",
            true,
        ),
    ] {
        let yaml_text = strict
            .replace(
                "config_path: config.json",
                &format!("config_path: {}", config.display()),
            )
            .replace(
                "integration_tests/",
                &format!("{}/integration_tests/", dir.display()),
            )
            .replace(
                &format!("{}/integration_tests/abnormal_state.json", dir.display()),
                &format!("users_only.json{missing}"),
            );
        let (_dir, yaml) = setup(&[("users_only.json", users_only), ("ctest.yaml", &yaml_text)]);
        // The copy points at source-faker's own files: the operator allows
        // that directory (a test configuration's paths stay in its own).
        let allowed = dir.display().to_string();
        let run = run_with(
            "source-faker",
            &yaml,
            &[
                "--run",
                "incremental/future_state",
                "--allow-path",
                &allowed,
            ],
        );
        let status = run.status_of("incremental/future_state_yields_no_records");
        assert_eq!(
            status,
            Some(if passes { "PASS" } else { "FAIL" }),
            "{yaml_text}\n{}",
            run.stdout
        );
        if !passes {
            assert!(
                run.stdout
                    .contains("it has none for `products`, `purchases`"),
                "{}",
                run.stdout
            );
        }
    }
}

#[test]
fn streams_without_primary_key_need_a_listed_reason() {
    for (listed, passes, says) in [
        ("[]", false, "stream `purchases` has no primary key"),
        (
            "[{name: purchases, bypass_reason: the API gives purchases no id}]",
            true,
            "",
        ),
        (
            "[{name: purchases, bypass_reason: x}, {name: users, bypass_reason: y}]",
            false,
            "lists `users`, which has the primary key id",
        ),
    ] {
        let yaml_text = format!(
            "config_path: good.json\nacceptance_tests:\n  connector_attributes:\n    tests:\n      - streams_without_primary_key: {listed}\n"
        );
        let (_dir, yaml) = setup(&[("good.json", GOOD), ("ctest.yaml", &yaml_text)]);
        let run = run_with(
            "broken-attributes-no-primary-key",
            &yaml,
            &["--run", "connector_attributes/"],
        );
        assert_eq!(
            run.code,
            if passes { 0 } else { 1 },
            "{yaml_text}\n{}{}",
            run.stdout,
            run.stderr
        );
        assert!(run.stdout.contains(says), "{}", run.stdout);
    }
}

#[test]
fn a_bypassed_stream_is_left_out_and_reported_with_its_reason() {
    let (_dir, yaml) = setup(&[
        ("good.json", GOOD),
        (
            "ctest.yaml",
            "config_path: good.json\nacceptance_tests:\n  basic_read:\n    tests:\n      - bypassed_streams:\n          - name: products\n            bypass_reason: the sandbox account has none\n",
        ),
    ]);
    // products yields nothing from this plugin: without the bypass,
    // basic_read/records_per_stream fails (broken_plugins.rs).
    let run = run_with("broken-read-empty-stream", &yaml, &["--run", "basic_read/"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.status_of("basic_read/stream:products"),
        Some("SKIP"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("stream bypassed by the test configuration: the sandbox account has none"),
        "{}",
        run.stdout
    );
}
