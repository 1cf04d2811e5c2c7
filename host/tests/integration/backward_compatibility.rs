//! `ctest run new.wasm --previous old.wasm`: each kind of breaking change between
//! two versions is its own failing test, whose message says what changed. The
//! previous version is source-faker; each new version is a broken plugin with
//! one breaking change.

use crate::support::*;

/// (new version, the tests that must fail, text the output must contain)
const PAIRS: &[(&str, &[&str], &[&str])] = &[
    (
        "bc-new-required-field",
        &["spec_required_fields", "previous_configs_still_valid"],
        &[
            "`region` is now required",
            "the given config, valid for the previous version, is refused",
        ],
    ),
    (
        "bc-field-removed",
        &["spec_fields_kept", "previous_configs_still_valid"],
        &["`records_per_state` was removed or renamed"],
    ),
    // Replacing `seed`'s schema also dropped its default: two changes, two findings.
    (
        "bc-type-narrowed",
        &[
            "spec_types_kept",
            "spec_defaults_kept",
            "previous_configs_still_valid",
        ],
        &["`seed`: type integer became string (no longer accepts integer)"],
    ),
    (
        "bc-enum-narrowed",
        &["spec_types_kept"],
        &["`count`: now limited to the enum [1000,10000]"],
    ),
    (
        "bc-default-changed",
        &["spec_defaults_kept"],
        &["`records_per_state`: the default changed from 1000 to 500"],
    ),
    (
        "bc-stream-removed",
        &["catalog_streams_kept"],
        &["stream `purchases` was removed or renamed"],
    ),
    (
        "bc-bound-narrowed",
        &["spec_types_kept"],
        &["`count`: `minimum` went from 1 to 2"],
    ),
    (
        "bc-field-type-widened",
        &["catalog_fields_kept"],
        &[
            "stream `users`: `id`: type integer became number, which changes the type of a destination's column",
        ],
    ),
    (
        "bc-stream-field-changed",
        &["catalog_fields_kept"],
        &["stream `users`: `age`: type integer became string"],
    ),
    (
        "bc-cursor-changed",
        &["catalog_cursors_kept"],
        &["the cursor changed from [\"updated_at\"] to [\"created_at\"]"],
    ),
    (
        "bc-ingestion-changed",
        &["catalog_ingestion_types_kept"],
        &["stream `purchases`: the ingestion type changed from `append` to `snapshot`"],
    ),
    (
        "bc-sync-mode-removed",
        &["catalog_sync_modes_kept"],
        &["the sync mode `incremental` is no longer supported"],
    ),
    (
        "bc-primary-key-changed",
        &["catalog_primary_keys_kept"],
        &["the primary key changed from [[\"id\"]] to [[\"email\"]]"],
    ),
];

#[test]
fn each_kind_of_breaking_change_fails_its_own_test() {
    let previous = plugin("source-faker");
    let mut errors = Vec::new();
    for (new, fails, says) in PAIRS {
        let run = run_plugin(
            &format!("broken-{new}"),
            &faker_config(),
            &[
                "--previous",
                previous.to_str().unwrap(),
                "--run",
                "backward_compatibility/",
            ],
        );
        let expected: Vec<String> = fails
            .iter()
            .map(|f| format!("backward_compatibility/{f}"))
            .collect();
        if run.code != 1 || run.with_status("FAIL") != expected {
            errors.push(format!(
                "{new}: expected exactly {expected:?} to fail (exit 1), got exit {}:\n{}",
                run.code, run.stdout
            ));
            continue;
        }
        for needle in *says {
            if !run.stdout.contains(needle) {
                errors.push(format!(
                    "{new}: expected the output to say {needle:?}:\n{}",
                    run.stdout
                ));
            }
        }
        // The messages name the versions, not the previous file's path.
        if !run.stdout.contains("version 0.1.0; this is 0.1.0") || run.stdout.contains(".wasm") {
            errors.push(format!(
                "{new}: expected the versions, not a path, in:\n{}",
                run.stdout
            ));
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n\n"));
}

#[test]
fn every_bc_plugin_is_a_pair_here() {
    for entry in std::fs::read_dir(plugins_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(p) = name
            .strip_prefix("broken-")
            .and_then(|n| n.strip_suffix(".wasm"))
            && p.starts_with("bc-")
        {
            assert!(
                PAIRS.iter().any(|(n, _, _)| *n == p),
                "broken-{p} is not tested"
            );
        }
    }
}

#[test]
fn a_previous_version_that_cannot_load_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.wasm");
    std::fs::write(&old, "not wasm").unwrap();
    let run = run_plugin(
        "source-faker",
        &faker_config(),
        &["--previous", old.to_str().unwrap()],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("old.wasm") && run.stderr.contains("--previous"),
        "{}",
        run.stderr
    );
}

/// Good: a previous version with a `$ref`'d field and an optional
/// `date-time` field, released again with the field inline: the references
/// are resolved before comparing, and the sample config built from the
/// previous spec is a valid date-time, so nothing is reported.
#[test]
fn a_compatible_release_with_refs_and_formatted_optional_fields_passes() {
    let previous = plugin("good-bc-spec-refs");
    let run = run_plugin(
        "good-bc-spec-inline",
        &faker_config(),
        &[
            "--previous",
            previous.to_str().unwrap(),
            "--run",
            "backward_compatibility/",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    let bc: Vec<&str> = ctest::suites::ALL_TESTS
        .iter()
        .copied()
        .filter(|t| t.starts_with("backward_compatibility/"))
        .collect();
    assert_eq!(run.with_status("PASS"), bc, "{}", run.stdout);
}

/// Who chooses the cursor, compared across versions: a previous version
/// that left `users`' cursor to the user, followed by one that chooses it
/// (source-faker), fails catalog_cursors_kept alone; the reverse passes.
#[test]
fn taking_the_cursor_from_the_user_is_breaking() {
    let user_chosen = plugin("good-bc-user-chosen-cursor");
    let run = run_plugin(
        "source-faker",
        &faker_config(),
        &[
            "--previous",
            user_chosen.to_str().unwrap(),
            "--run",
            "backward_compatibility/",
        ],
    );
    assert_eq!(
        run.with_status("FAIL"),
        ["backward_compatibility/catalog_cursors_kept"],
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "stream `users`: the source now chooses the cursor ([\"updated_at\"]), which was the user's to choose"
        ),
        "{}",
        run.stdout
    );

    let faker = plugin("source-faker");
    let run = run_plugin(
        "good-bc-user-chosen-cursor",
        &faker_config(),
        &[
            "--previous",
            faker.to_str().unwrap(),
            "--run",
            "backward_compatibility/",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
}
