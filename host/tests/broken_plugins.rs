//! Every check of ctest is proven by a plugin that breaks it: each broken plugin
//! must fail exactly the tests listed for it, with a message that names the
//! problem, and every other test must pass or be skipped for a stated reason.

mod support;

use support::*;

struct Case {
    plugin: &'static str,
    /// The tests that must fail, and nothing else.
    fails: &'static [&'static str],
    /// Text the failure message must contain.
    says: &'static [&'static str],
    extra_args: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        plugin: "spec-panics",
        fails: &["spec/spec_call"],
        says: &[
            "trapped during `spec`",
            "spec table missing from the bundle",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "spec-invalid-schema",
        fails: &["spec/connection_specification_valid"],
        says: &["at `/properties/count/type`", "integr"],
        extra_args: &[],
    },
    Case {
        plugin: "spec-unmarked-secret",
        fails: &["spec/secrets_marked"],
        says: &["`api_token`", "\"secret\": true"],
        extra_args: &[],
    },
    Case {
        plugin: "spec-secret-default",
        fails: &["spec/secrets_without_defaults"],
        says: &[
            "`api_key` has a `default`",
            "`api_key` has `examples`",
            "fix: remove them, or use a placeholder",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "spec-bad-default",
        fails: &["spec/defaults_valid"],
        says: &[
            "2 are not",
            "`/properties/count/default` = \"lots\"",
            "`/properties/start_date/examples/1` = \"yesterday\"",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "spec-required-undeclared",
        fails: &["spec/required_declared"],
        says: &["`prot` (in `/properties/proxy/required`)"],
        extra_args: &[],
    },
    Case {
        plugin: "spec-config-mismatch",
        fails: &["spec/config_matches_spec"],
        says: &["at `/count`", "maximum of 10", "config.json"],
        extra_args: &[],
    },
    Case {
        plugin: "spec-bad-metadata",
        fails: &["spec/metadata"],
        says: &["\"latest\"", "semantic version"],
        extra_args: &[],
    },
    Case {
        plugin: "read-timestamp-without-zone",
        fails: &["basic_read/records_match_schema"],
        says: &[
            "record index 4 of stream `users`",
            "`timestamp_with_timezone` value must carry its time zone",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "read-complete-after-error",
        fails: &["basic_read/read", "basic_read/stream_status_order"],
        says: &[
            "page 7 of users timed out",
            "stream `users` reported `complete` after an error trace for it; a stream that failed ends `incomplete`",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "read-duplicate-primary-key",
        fails: &["basic_read/primary_key_unique"],
        says: &[
            "record index 4 of stream `purchases` repeats the primary key [4] of record index 3",
            "check pagination",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "read-cdc-key-out-of-order",
        fails: &["basic_read/primary_key_unique"],
        says: &[
            "of stream `users` repeats the primary key [1] of record index 0 with an earlier cursor",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "read-emitted-at-seconds",
        fails: &["basic_read/emitted_at_in_read_window"],
        says: &[
            "the earliest emitted_at",
            "is outside the read's time window",
            "(it looks like seconds, not milliseconds)",
            "in milliseconds, not the record's own timestamp and not seconds",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "incremental-state-regresses",
        fails: &["incremental/future_state_yields_no_records"],
        says: &[
            "stream `users` ended the read from",
            "whose cursor at `updated_at` (\"1970-01-01T00:00:00Z\") is behind the one it was given",
            "the next sync would read everything again",
            "never an older cursor",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "check-fails",
        fails: &["connection/check"],
        says: &["401 Unauthorized"],
        extra_args: &[],
    },
    Case {
        plugin: "check-ignores-required",
        fails: &["connection/rejects_missing_required"],
        says: &["without the required field `count`"],
        extra_args: &[],
    },
    Case {
        plugin: "check-ignores-bounds",
        fails: &["connection/rejects_constraint_violations"],
        says: &[
            "`check` succeeded for the config with `count` set to 0 (breaking its `minimum` 1); expected `failed`",
            "`check` succeeded for the config with `records_per_state` set to 0 (breaking its `minimum` 1)",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "check-ignores-types",
        fails: &["connection/rejects_wrong_type"],
        says: &[
            "`count` set to \"ctest-not-a-valid-value\"",
            "spec says integer",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "discover-empty",
        fails: &["discovery/catalog_has_streams"],
        says: &["it is empty"],
        extra_args: &[],
    },
    Case {
        plugin: "attributes-undeclared-hosts",
        fails: &["connector_attributes/allowed_hosts_declared"],
        says: &["declares nothing", ".no_network()"],
        extra_args: &[],
    },
    Case {
        plugin: "attributes-no-primary-key",
        fails: &["connector_attributes/primary_keys_defined"],
        says: &[
            "stream `purchases` has no primary key",
            "streams_without_primary_key",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "discover-duplicate-names",
        fails: &["discovery/unique_stream_names"],
        says: &["`users` (2 times)"],
        extra_args: &[],
    },
    Case {
        plugin: "discover-invalid-schema",
        fails: &["discovery/schemas_valid"],
        says: &["stream `products`", "objekt"],
        extra_args: &[],
    },
    Case {
        plugin: "discover-no-sync-modes",
        fails: &["discovery/sync_modes_declared"],
        says: &["stream `purchases` declares no sync mode"],
        extra_args: &[],
    },
    Case {
        plugin: "discover-cursor-missing",
        fails: &["discovery/cursor_in_schema"],
        says: &["cursor field `modified_at`", "declared: address"],
        extra_args: &[],
    },
    Case {
        plugin: "discover-primary-key-missing",
        fails: &["discovery/primary_key_in_schema"],
        says: &["primary key field `uuid`"],
        extra_args: &[],
    },
    Case {
        plugin: "discover-primary-key-object",
        fails: &["discovery/primary_key_scalar"],
        says: &["`address` is of type object"],
        extra_args: &[],
    },
    Case {
        plugin: "read-empty-stream",
        fails: &["basic_read/records_per_stream"],
        says: &["no records from: `products`", "`users`: 1000"],
        extra_args: &[],
    },
    Case {
        plugin: "read-schema-mismatch",
        fails: &["basic_read/records_match_schema"],
        says: &[
            "record index 16 of stream `users` at `/age`",
            "\"forty-two\" is not of type \"integer\"",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "read-batch-not-utf8",
        fails: &["basic_read/read"],
        says: &[
            "the read broke the contract: a `records` batch of stream `products` is not UTF-8 at byte 34 (line 3, the record at index 2 of the batch)",
            "one record per line",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "read-batch-schema-mismatch",
        fails: &["basic_read/records_match_schema"],
        says: &[
            "record index 16 of stream `users` at `/age`",
            "\"forty-two\" is not of type \"integer\"",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "read-not-json",
        fails: &["basic_read/records_match_schema"],
        says: &["stream `products` is not JSON"],
        extra_args: &[],
    },
    Case {
        plugin: "read-undeclared-field",
        fails: &["basic_read/no_undeclared_fields"],
        says: &["has the field `/nickname`", "1000 problem(s)"],
        extra_args: &[],
    },
    Case {
        plugin: "read-unconfigured-stream",
        fails: &["basic_read/only_configured_streams"],
        says: &["stream `audit_log`, which the catalog does not configure"],
        extra_args: &[],
    },
    Case {
        plugin: "read-null-primary-key",
        fails: &["basic_read/primary_key_not_null"],
        says: &[
            "record index 99 of stream `purchases` has no value at primary key field `id`",
            "10 problem(s)",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "read-no-complete-status",
        fails: &["basic_read/stream_status_order"],
        says: &["stream `users` never reported `complete`"],
        extra_args: &[],
    },
    Case {
        plugin: "read-ignores-unknown-stream",
        fails: &["basic_read/unknown_stream_error"],
        says: &["the read ended silently"],
        extra_args: &[],
    },
    Case {
        plugin: "read-panics",
        fails: &["basic_read/read"],
        says: &[
            "trapped during `read (reader.next)`",
            "index out of range while paging users",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "read-infinite-loop",
        fails: &["basic_read/read"],
        says: &["did not finish within the test's time limit", "--timeout"],
        extra_args: &["--timeout", "2"],
    },
    Case {
        plugin: "read-sleeps",
        fails: &["basic_read/read"],
        says: &["did not finish within the test's time limit"],
        extra_args: &["--timeout", "2"],
    },
    Case {
        plugin: "read-memory-hog",
        fails: &["basic_read/read"],
        says: &["memory limit of 64 MiB", "--memory-limit"],
        extra_args: &["--memory-limit", "64"],
    },
    Case {
        plugin: "read-huge-record",
        fails: &["basic_read/read"],
        says: &[
            "a record of stream `users` is 1048",
            "limit of 100000 bytes",
            "--max-message-size",
        ],
        extra_args: &["--max-message-size", "100000"],
    },
    Case {
        plugin: "read-endless",
        fails: &["basic_read/read"],
        says: &["more than 20000 messages", "--max-messages"],
        extra_args: &["--max-messages", "20000"],
    },
    Case {
        plugin: "full-refresh-not-repeatable",
        fails: &["full_refresh/records_repeatable"],
        says: &[
            "stream `users`: the record with primary key [",
            "differs between the two reads",
            "1000 problem(s)",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "full-refresh-emitted-at-backwards",
        fails: &["full_refresh/emitted_at_not_decreasing"],
        says: &[
            "first read: record index 1 of stream `users` has emitted_at",
            "fix: set emitted_at",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "incremental-ignores-state",
        fails: &[
            "incremental/second_read_respects_state",
            "incremental/sequential_slices",
            "incremental/future_state_yields_no_records",
        ],
        says: &[
            "record index 0 of stream `users` in the second read (from the state {\"updated_at\":\"2020-01-01T16:40:00Z\"}) has `updated_at` \"2020-01-01T00:01:00Z\", before the state's cursor",
            "fix: streams `users`, `products`, `purchases`: the read starts from the beginning, as if it had no state",
            "compared as date-time",
            "stream `users` returned 1000 records from the state",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "incremental-older-record",
        fails: &[
            "incremental/second_read_respects_state",
            "incremental/sequential_slices",
            "incremental/future_state_yields_no_records",
        ],
        says: &[
            "1 problem(s):\n       record index 0 of stream `users` in the second read (from the state {\"updated_at\":\"2020-01-01T16:40:00Z\"}) has `updated_at` \"2020-01-01T00:01:00Z\", before",
            "fix: stream `users`: the read respects the state but for 1 record(s), the first at index 0: a record the state already covers is sent again",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "incremental-no-state",
        fails: &[
            "incremental/first_read_emits_records_and_state",
            "incremental/future_state_yields_no_records",
        ],
        says: &[
            "stream `users` emitted 1000 records and no state",
            "stream `users` emitted no state when read from",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "incremental-global-state",
        fails: &[
            "basic_read/only_configured_streams",
            "incremental/state_per_stream",
        ],
        says: &["a state names the stream \"\", which the catalog does not configure"],
        extra_args: &[],
    },
    Case {
        plugin: "incremental-cursor-as-text",
        fails: &["incremental/state_per_stream"],
        says: &[
            "the state {\"seq\":\"250\"} of stream `events` holds the cursor `seq` as a string (\"250\"), but the schema types the cursor field `seq` integer",
            "fix: save the cursor with the JSON type the schema gives the cursor field",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "incremental-state-without-zone",
        fails: &[
            "incremental/second_read_respects_state",
            "incremental/sequential_slices",
        ],
        says: &[
            "record index 0 of stream `users` in the second read (from the state {\"updated_at\":\"2020-01-01T18:40:00\"}) has `updated_at` \"2020-01-01T16:40:00Z\", before the state's cursor",
            "fix: streams `users`, `products`, `purchases`: a date-time without a time zone is read as UTC",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "incremental-out-of-cursor-order",
        fails: &["incremental/sequential_slices"],
        says: &[
            "stream `users`, the read from the first read's checkpoint after its record index 249 (the state {\"updated_at\":\"2020-01-01T04:10:00Z\"}): 1 record(s) the first read emitted after it are missing, the first its record index 254, primary key [245]",
            "fix: stream `users`: records after the checkpoint have a cursor before its \"2020-01-01T04:10:00Z\": the stream is not emitted in cursor order",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "incremental-filter-lost-on-page-2",
        fails: &["incremental/sequential_slices"],
        says: &[
            "record index 50 of stream `users` in the read from the first read's checkpoint after its record index 249 (from the state {\"updated_at\":\"2020-01-01T04:10:00Z\"}) has `updated_at` \"2020-01-01T00:51:00Z\", before the state's cursor",
            "fix: stream `users`: the first 50 record(s) respected the state, then record index 50 and those after it did not: the filter is lost on a later page",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "incremental-schema-drift",
        fails: &[
            "incremental/second_read_respects_state",
            "incremental/sequential_slices",
        ],
        says: &[
            "expected an incremental read from the first read's state to complete, keeping the rules of every read; the read broke basic_read/records_match_schema, which every read must keep, 1 time(s), the first: record index 0 of stream `users` at `/age`: \"22\" is not of type \"integer\"",
            "fix: emit values of the declared types",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "read-state-after-complete",
        fails: &["basic_read/stream_status_order"],
        says: &[
            "a state of stream `users` came after its `complete` status",
            "its last state before `complete`",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "incremental-lagging-state",
        fails: &["incremental/final_state_adds_nothing"],
        says: &[
            "after the state's cursor \"2020-01-01T00:01:00Z\"",
            "fix: streams `users`, `products`, `purchases`: the state the read ended with is behind its own records",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "incremental-checkpoint-ahead",
        fails: &["incremental/sequential_slices"],
        says: &[
            "stream `users`, the read from the first read's checkpoint after its record index 249 (the state {\"updated_at\":\"2099-01-01T00:00:00Z\"}): 750 record(s) the first read emitted after it are missing, the first its record index 250, primary key [251]",
            "fix: streams `users`, `purchases`: the checkpoint's cursor \"2099-01-01T00:00:00Z\" is ahead of every record emitted before it",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "read-bad-date-time",
        fails: &["basic_read/records_match_schema"],
        says: &[
            "record index 4 of stream `users` at `/created_at`: \"last tuesday\" is not a \"date-time\"",
        ],
        extra_args: &[],
    },
    Case {
        plugin: "read-bad-email",
        fails: &["basic_read/records_match_schema"],
        says: &["at `/email`: \"ada at example dot com\" is not a \"email\""],
        extra_args: &[],
    },
    Case {
        plugin: "read-float-integer",
        fails: &["basic_read/records_match_schema"],
        says: &["record index 11 of stream `users` at `/age`: 42.0 is not an integer"],
        extra_args: &[],
    },
    // Not broken: Airbyte's lenient date-time form must pass.
    Case {
        plugin: "read-lenient-date-time",
        fails: &[],
        says: &[],
        extra_args: &[],
    },
];

fn check_case(case: &Case) -> Result<(), String> {
    let run = run_plugin(
        &format!("broken-{}", case.plugin),
        &faker_config(),
        case.extra_args,
    );
    let context = || {
        format!(
            "plugin broken-{}:\n{}\n{}",
            case.plugin, run.stdout, run.stderr
        )
    };
    let expected_code = if case.fails.is_empty() { 0 } else { 1 };
    if run.code != expected_code {
        return Err(format!(
            "expected exit code {expected_code}, got {}: {}",
            run.code,
            context()
        ));
    }
    let failed = run.with_status("FAIL");
    if failed != case.fails {
        return Err(format!(
            "expected exactly {:?} to fail, got {failed:?}: {}",
            case.fails,
            context()
        ));
    }
    for needle in case.says {
        if !run.stdout.contains(needle) {
            return Err(format!(
                "expected the output to say {needle:?}: {}",
                context()
            ));
        }
    }
    // A skip must say why.
    for line in run.stdout.lines().filter(|l| l.starts_with("SKIP ")) {
        let next = run
            .stdout
            .lines()
            .skip_while(|l| *l != line)
            .nth(1)
            .unwrap_or("");
        if !next.starts_with("     ") {
            return Err(format!("{line} has no reason: {}", context()));
        }
    }
    Ok(())
}

// One test per plugin, so that a failure names its plugin and they run in parallel.
/// A plugin written without the SDK answers `reader.next(1024)` with one
/// `records` batch of five million empty lines (5 MB in the guest). The host
/// counts the lines before it allocates a record, and fails the read.
#[test]
fn a_records_batch_larger_than_asked_for_fails_the_read_unexpanded() {
    let run = run_plugin(
        "broken-read-batch-too-many",
        &faker_config(),
        &["--run", "basic_read/read"],
    );
    assert_eq!(
        run.status_of("basic_read/read"),
        Some("FAIL"),
        "{}",
        run.stdout
    );
    for says in [
        "the read broke the contract: one `reader.next(1024)` call returned 5000000 messages, counting each line of its `records` batches as one",
        "fix: return at most the 1024 messages asked for",
    ] {
        assert!(run.stdout.contains(says), "{says:?} in:\n{}", run.stdout);
    }
}

macro_rules! cases {
    ($($test:ident => $plugin:literal,)*) => {
        $(
            #[test]
            fn $test() {
                let case = CASES.iter().find(|c| c.plugin == $plugin).expect("case listed in CASES");
                check_case(case).unwrap_or_else(|e| panic!("{e}"));
            }
        )*

        #[test]
        fn every_case_has_a_test_and_every_broken_plugin_a_case() {
            let tested = [$($plugin),*];
            for c in CASES {
                assert!(tested.contains(&c.plugin), "case {} has no test", c.plugin);
            }
            // Each broken plugin is either a case here or proven elsewhere.
            let elsewhere = ["contract-old-version", "contract-no-source", "contract-unknown-import",
                             "leaks-secret", "state-between-calls", "read-floods-output", "probe-sandbox",
                             "read-changed-value", "discover-field-never-filled", "read-batch-too-many",
                             "net-http-disallowed", "net-tcp-loopback", "net-dns-disallowed", "net-private-ip",
                             // hardening.rs: each a hostile tenant's attack.
                             "hostile-http-fields", "hostile-console", "hostile-spec-grants-loopback",
                             "hostile-secret-encodings", "hostile-huge-states",
                             // verdicts.rs: they need a config with a secret.
                             "read-leaks-secret", "check-logs-secret-split"];
            for entry in std::fs::read_dir(plugins_dir()).unwrap() {
                let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                if let Some(p) = name.strip_prefix("broken-").and_then(|n| n.strip_suffix(".wasm")).filter(|p| !p.starts_with("bc-") && !p.starts_with("wb-")) {
                    assert!(tested.contains(&p) || elsewhere.contains(&p), "broken-{p} is not tested");
                }
            }
        }
    };
}

cases! {
    spec_panics => "spec-panics",
    spec_invalid_schema => "spec-invalid-schema",
    spec_unmarked_secret => "spec-unmarked-secret",
    spec_secret_default => "spec-secret-default",
    spec_bad_default => "spec-bad-default",
    spec_required_undeclared => "spec-required-undeclared",
    spec_config_mismatch => "spec-config-mismatch",
    spec_bad_metadata => "spec-bad-metadata",
    read_timestamp_without_zone => "read-timestamp-without-zone",
    read_complete_after_error => "read-complete-after-error",
    read_duplicate_primary_key => "read-duplicate-primary-key",
    read_cdc_key_out_of_order => "read-cdc-key-out-of-order",
    read_emitted_at_seconds => "read-emitted-at-seconds",
    incremental_state_regresses => "incremental-state-regresses",
    check_fails => "check-fails",
    check_ignores_required => "check-ignores-required",
    check_ignores_types => "check-ignores-types",
    check_ignores_bounds => "check-ignores-bounds",
    discover_empty => "discover-empty",
    attributes_undeclared_hosts => "attributes-undeclared-hosts",
    attributes_no_primary_key => "attributes-no-primary-key",
    discover_duplicate_names => "discover-duplicate-names",
    discover_invalid_schema => "discover-invalid-schema",
    discover_no_sync_modes => "discover-no-sync-modes",
    discover_cursor_missing => "discover-cursor-missing",
    discover_primary_key_missing => "discover-primary-key-missing",
    discover_primary_key_object => "discover-primary-key-object",
    read_empty_stream => "read-empty-stream",
    read_schema_mismatch => "read-schema-mismatch",
    read_not_json => "read-not-json",
    read_batch_not_utf8 => "read-batch-not-utf8",
    read_batch_schema_mismatch => "read-batch-schema-mismatch",
    read_undeclared_field => "read-undeclared-field",
    read_unconfigured_stream => "read-unconfigured-stream",
    read_null_primary_key => "read-null-primary-key",
    read_no_complete_status => "read-no-complete-status",
    read_ignores_unknown_stream => "read-ignores-unknown-stream",
    read_panics => "read-panics",
    read_infinite_loop => "read-infinite-loop",
    read_sleeps => "read-sleeps",
    read_memory_hog => "read-memory-hog",
    read_huge_record => "read-huge-record",
    read_endless => "read-endless",
    full_refresh_not_repeatable => "full-refresh-not-repeatable",
    full_refresh_emitted_at_backwards => "full-refresh-emitted-at-backwards",
    incremental_ignores_state => "incremental-ignores-state",
    incremental_older_record => "incremental-older-record",
    incremental_no_state => "incremental-no-state",
    incremental_global_state => "incremental-global-state",
    incremental_lagging_state => "incremental-lagging-state",
    incremental_cursor_as_text => "incremental-cursor-as-text",
    incremental_schema_drift => "incremental-schema-drift",
    read_state_after_complete => "read-state-after-complete",
    incremental_state_without_zone => "incremental-state-without-zone",
    incremental_out_of_cursor_order => "incremental-out-of-cursor-order",
    incremental_filter_lost_on_page_2 => "incremental-filter-lost-on-page-2",
    incremental_checkpoint_ahead => "incremental-checkpoint-ahead",
    read_bad_date_time => "read-bad-date-time",
    read_bad_email => "read-bad-email",
    read_float_integer => "read-float-integer",
    read_lenient_date_time => "read-lenient-date-time",
}
