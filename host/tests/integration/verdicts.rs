//! Verdicts that need more than the faker config of `broken_plugins.rs`: a
//! config with a secret (the secrets suite), and good connectors of tricky
//! shapes that must pass.

use std::path::PathBuf;

use crate::support::*;

/// A faker config with a secret `api_key` of `key`.
fn config_with_key(dir: &std::path::Path, key: &str) -> PathBuf {
    let config = dir.join("config.json");
    std::fs::write(&config, format!(r#"{{"count": 20, "api_key": "{key}"}}"#)).unwrap();
    config
}

/// Runs `plugin` with a config whose secret `api_key` is `key`, only the
/// test `ran` and the secrets suite: `ran` ends `ran_status`, the secrets
/// test fails, and its message says each of `says`, never the key itself.
fn leak_is_caught(plugin: &str, key: &str, ran: &str, ran_status: &str, says: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with_key(dir.path(), key);
    let run = run_plugin(plugin, &config, &["--run", ran, "--run", "secrets/"]);
    assert_eq!(run.status_of(ran), Some(ran_status), "{}", run.stdout);
    assert_eq!(
        run.status_of("secrets/no_secret_leaked"),
        Some("FAIL"),
        "{}",
        run.stdout
    );
    for needle in says {
        assert!(run.stdout.contains(needle), "{needle}:\n{}", run.stdout);
    }
    assert!(
        run.stdout
            .contains("fix: never log, return or put in a record a credential"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains(key), "{}", run.stdout);
}

#[test]
fn a_secret_in_a_record_fails_the_secrets_suite() {
    leak_is_caught(
        "broken-read-leaks-secret",
        "k3y-9f8e7d6c5b4a",
        "basic_read/read",
        "PASS",
        &[
            "a record of stream `users` (message 4 of a read) carries a secret base64-encoded (basic_read/read)",
        ],
    );
}

#[test]
fn a_secret_split_across_two_log_lines_fails_the_secrets_suite() {
    // 12 characters: too short for fragments to count, so only the joined
    // lines show it.
    leak_is_caught(
        "broken-check-logs-secret-split",
        "Zk81mQ4xT7pa",
        "connection/check",
        "PASS",
        &[
            "a `debug` log line, split across it and the next, carries a secret as it is (connection/check)",
        ],
    );
}

#[test]
fn secrets_in_messages_and_logs_fail_the_secrets_suite() {
    leak_is_caught(
        "broken-leaks-secret",
        "s3cret-api-key-0042",
        "connection/check",
        "FAIL",
        &[
            "the message of connection/check carries a secret as it is",
            "log line carries a secret as it is (connection/check)",
        ],
    );
}

#[test]
fn without_a_secret_to_look_for_the_suite_says_so() {
    let run = run_plugin("source-faker", &faker_config(), &["--run", "secrets/"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("the config holds no secret value of 8 characters or more to look for"),
        "{}",
        run.stdout
    );
}

/// The good shapes: integers and enums named like secrets, a placeholder
/// default on a secret, a `oneOf` that only requires the parent's
/// properties, a `$ref`'d definition with a valid default, formatted
/// examples. Every spec test passes, and nothing named like a token is
/// masked in the output.
#[test]
fn a_spec_of_tricky_but_correct_shapes_passes() {
    let run = run_plugin("good-spec-shapes", &faker_config(), &["--run", "spec/"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let spec_tests: Vec<String> = ctest::suites::ALL_TESTS
        .iter()
        .filter(|t| t.starts_with("spec/"))
        .map(|t| t.to_string())
        .collect();
    assert_eq!(run.with_status("PASS"), spec_tests, "{}", run.stdout);
}

/// `plugin`, with faker's config, passes every test it can (not
/// backward_compatibility, which needs a previous version; not secrets,
/// which faker's config gives nothing to look for).
fn passes_every_test(plugin: &str) {
    passes_every_test_with(plugin, &[]);
}

fn passes_every_test_with(plugin: &str, args: &[&str]) {
    let run = run_plugin(plugin, &faker_config(), args);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let expected: Vec<&str> = default_tests_without_secrets()
        .into_iter()
        .filter(|t| !t.starts_with("backward_compatibility/"))
        .collect();
    assert_eq!(run.with_status("PASS"), expected, "{}", run.stdout);
}

/// Good: date-times declared `timestamp_with_timezone` that carry `Z` or an
/// offset pass every test.
#[test]
fn timestamps_with_their_zones_pass() {
    passes_every_test("good-timestamps-with-zones");
}

/// Good: a change stream (`cdc`) emitting a key again, later in cursor
/// order, passes every test.
#[test]
fn a_change_stream_repeating_a_key_in_cursor_order_passes() {
    passes_every_test("good-cdc-updates");
}

/// Good: an integer cursor saved in the state as an integer passes every
/// test (its broken twin, which saves it as text, is in broken_plugins.rs).
#[test]
fn an_integer_cursor_saved_as_an_integer_passes() {
    passes_every_test("good-integer-cursor");
}

/// A state of the connector's own shape, {"checkpoint": {"position": N},
/// "format": 2}: with `cursor_paths` saying where the cursor is, every test
/// passes, the far-future state included (made in that shape); without it,
/// ctest says it found states without the cursor and shows one.
#[test]
fn a_state_of_its_own_shape_passes_given_cursor_paths() {
    let dir = tempfile::tempdir().unwrap();
    let test_config = dir.path().join("ctest.yaml");
    std::fs::write(
        &test_config,
        "acceptance_tests:\n  incremental:\n    tests:\n      - cursor_paths:\n          events: [checkpoint, position]\n",
    )
    .unwrap();
    passes_every_test_with(
        "good-state-own-shape",
        &["--test-config", test_config.to_str().unwrap()],
    );

    let run = run_plugin(
        "good-state-own-shape",
        &faker_config(),
        &["--run", "incremental/"],
    );
    assert_eq!(
        run.with_status("FAIL"),
        [
            "incremental/first_read_emits_records_and_state",
            "incremental/state_per_stream"
        ],
        "{}",
        run.stdout
    );
    for needle in [
        "stream `events` emitted 1000 records and 4 states without the cursor at `seq`, the first: {\"checkpoint\":{\"position\":250},\"format\":2}",
        "say where the cursor is with `cursor_paths`",
    ] {
        assert!(run.stdout.contains(needle), "{needle}:\n{}", run.stdout);
    }
    assert!(!run.stdout.contains("and no state"), "{}", run.stdout);
}

/// Good: a stream whose cursor is the user's to choose passes every test.
#[test]
fn a_user_chosen_cursor_passes() {
    passes_every_test("good-bc-user-chosen-cursor");
}
