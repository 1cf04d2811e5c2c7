//! Coming from Airbyte: real `acceptance-test-config.yml` files read as they
//! are, an Airbyte-shaped configuration run end to end, and `ctest snapshot`.

use std::path::PathBuf;

use crate::support::*;

fn airbyte_data() -> PathBuf {
    root().join("host/tests/data/airbyte")
}

/// The real files (see `SOURCES.tsv` there for where each comes from):
/// at least 100, of varied connectors, and at least 95% of them accepted as
/// they are. Every rejection is one message naming the place (file, line,
/// key) and why, with a fix; every accepted file's Airbyte-only keys are
/// listed once each in notes.
#[test]
fn real_airbyte_files_are_read_as_they_are() {
    let dir = airbyte_data();
    let sources = std::fs::read_to_string(dir.join("SOURCES.tsv")).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    let mut rejected = Vec::new();
    let mut notes = 0;
    for file in &files {
        let name = file.file_name().unwrap().to_str().unwrap();
        assert!(
            sources.lines().any(|l| l.starts_with(&format!("{name}\t"))),
            "{name}: not in SOURCES.tsv"
        );
        match ctest::test_config::load(file) {
            Ok((config, _)) => {
                // Each Airbyte-only key is said once, not once per use.
                let mut said: Vec<&str> = config
                    .notes
                    .iter()
                    .filter_map(|n| n.split('`').nth(1))
                    .collect();
                let before = said.len();
                said.sort();
                said.dedup();
                assert_eq!(said.len(), before, "{name}: {:#?}", config.notes);
                let text = std::fs::read_to_string(file).unwrap();
                if text.contains("connector_image:") {
                    assert!(
                        config
                            .notes
                            .iter()
                            .any(|n| n.contains("`connector_image` is not used by ctest")),
                        "{name}: {:#?}",
                        config.notes
                    );
                }
                notes += config.notes.len();
            }
            Err(e) => {
                let first = e.lines().next().unwrap_or_default();
                assert!(
                    first.starts_with(&format!("{}:", file.display())) && e.contains("\n  fix: "),
                    "{name}: a rejection names the file, the place and the fix:\n{e}"
                );
                rejected.push(format!("{name}: {e}"));
            }
        }
    }
    let accepted = files.len() - rejected.len();
    eprintln!(
        "{accepted} of {} real files accepted ({notes} notes); rejected:\n{}",
        files.len(),
        rejected.join("\n")
    );
    assert!(files.len() >= 100, "only {} real files", files.len());
    assert!(
        accepted * 100 >= files.len() * 95,
        "{accepted} of {} accepted; rejected:\n{}",
        files.len(),
        rejected.join("\n")
    );
}

/// Writes `files` (name, content) into a fresh directory.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}

/// `ctest COMMAND source-faker.wasm --test-config YAML`.
fn faker_with(command: &str, yaml: &std::path::Path) -> Run {
    let faker = plugin("source-faker");
    ctest(&[
        command,
        faker.to_str().unwrap(),
        "--test-config",
        yaml.to_str().unwrap(),
    ])
}

const SNAPSHOT_YAML: &str = "connector_image: airbyte/source-faker:dev\nconfig_path: config.json\nacceptance_tests:\n  basic_read:\n    tests:\n      - expect_records:\n          path: integration_tests/expected_records.jsonl\n        ignored_fields:\n          users: [created_at, address/city]\n";

/// `ctest snapshot` writes the expected records a run then passes with,
/// without the ignored fields, sorted by key; after the data changes, the run
/// fails on it, and a second snapshot says what changed and makes it pass.
#[test]
fn snapshot_writes_the_expected_records_and_says_what_changed() {
    let dir = project(&[
        ("config.json", r#"{"count": 5, "seed": 1}"#),
        ("ctest.yaml", SNAPSHOT_YAML),
    ]);
    let yaml = dir.path().join("ctest.yaml");
    let snapshot = || faker_with("snapshot", &yaml);
    let run = || faker_with("run", &yaml);
    let first = snapshot();
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    assert!(
        first
            .stdout
            .contains("expected_records.jsonl: wrote 15 records")
            && first
                .stdout
                .contains("(a new file: products: 5, purchases: 5, users: 5)"),
        "{}",
        first.stdout
    );
    // Only basic_read's read ran.
    assert_eq!(
        first.with_status("PASS"),
        ["basic_read/expected_records"],
        "{}",
        first.stdout
    );
    let file = dir.path().join("integration_tests/expected_records.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    let users: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["stream"] == "users")
        .map(|v| v["data"].clone())
        .collect();
    assert_eq!(
        users
            .iter()
            .map(|u| u["id"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert!(
        users.iter().all(|u| u.get("created_at").is_none()
            && u["address"].get("city").is_none()
            && u["address"].get("country").is_some()),
        "{users:?}"
    );
    let passes = run();
    assert_eq!(
        passes.status_of("basic_read/expected_records"),
        Some("PASS"),
        "{}",
        passes.stdout
    );

    // The data changes: the run fails; a snapshot says how, and fixes it.
    std::fs::write(dir.path().join("config.json"), r#"{"count": 6, "seed": 1}"#).unwrap();
    let fails = run();
    assert_eq!(
        fails.status_of("basic_read/expected_records"),
        Some("FAIL"),
        "{}",
        fails.stdout
    );
    let second = snapshot();
    assert_eq!(second.code, 0, "{}", second.stdout);
    for said in [
        "wrote 18 records",
        "users: 1 added, 0 removed, 0 changed, 5 unchanged",
        "purchases: 1 added, 0 removed, 3 changed, 2 unchanged (key [1]: `product_id`",
    ] {
        assert!(
            second.stdout.contains(said),
            "{said:?} not in:\n{}",
            second.stdout
        );
    }
    let passes = run();
    assert_eq!(
        passes.status_of("basic_read/expected_records"),
        Some("PASS"),
        "{}",
        passes.stdout
    );
}

#[test]
fn snapshot_without_a_file_to_write_is_a_usage_error() {
    let faker = plugin("source-faker");
    let no_config = ctest(&["snapshot", faker.to_str().unwrap()]);
    assert_eq!(no_config.code, 2);
    assert!(
        no_config.stderr.contains("pass --test-config FILE"),
        "{}",
        no_config.stderr
    );

    let dir = project(&[
        ("config.json", r#"{"count": 5}"#),
        (
            "ctest.yaml",
            "config_path: config.json\nacceptance_tests:\n  basic_read:\n    tests:\n      - empty_streams: []\n",
        ),
    ]);
    let yaml = dir.path().join("ctest.yaml");
    let no_path = faker_with("snapshot", &yaml);
    assert_eq!(no_path.code, 2);
    assert!(
        no_path
            .stderr
            .contains("no basic_read input set gives `expect_records.path`")
            && no_path
                .stderr
                .contains("fix: add to an input set of acceptance_tests.basic_read"),
        "{}",
        no_path.stderr
    );
}

/// Copies a directory tree (small: an example's files).
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// README's worked example: Airbyte's own source-faker configuration, byte
/// for byte, passes against ctest's source-faker; its expected records are
/// what `ctest snapshot` writes; the notes name Airbyte's keys ctest does not
/// use. Run on a copy, so that the checkout is not written to.
#[test]
fn airbytes_source_faker_configuration_runs_against_ctests_faker() {
    let example = root().join("examples/airbyte-faker");
    let original = std::fs::read_to_string(example.join("acceptance-test-config.yml")).unwrap();
    assert_eq!(
        original,
        std::fs::read_to_string(airbyte_data().join("source-faker.yml")).unwrap(),
        "the example's file is Airbyte's, as kept with the real files"
    );
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&example, dir.path());
    let yaml = dir.path().join("acceptance-test-config.yml");
    let committed =
        std::fs::read_to_string(example.join("integration_tests/expected_records.jsonl")).unwrap();
    std::fs::remove_file(dir.path().join("integration_tests/expected_records.jsonl")).unwrap();

    let snapshot = faker_with("snapshot", &yaml);
    assert_eq!(snapshot.code, 0, "{}\n{}", snapshot.stdout, snapshot.stderr);
    let written =
        std::fs::read_to_string(dir.path().join("integration_tests/expected_records.jsonl"))
            .unwrap();
    assert_eq!(
        written, committed,
        "the example's expected records are what ctest snapshot writes"
    );

    let run = faker_with("run", &yaml);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    for test in [
        "connection/check#1",
        "connection/check#2",
        "basic_read/expected_records",
        "full_refresh/records_repeatable",
        "incremental/future_state_yields_no_records",
        "incremental/sequential_slices",
    ] {
        assert_eq!(run.status_of(test), Some("PASS"), "{test}:\n{}", run.stdout);
    }
    assert!(run.with_status("FAIL").is_empty(), "{}", run.stdout);
    for said in [
        "acceptance-test-config.yml:1: `connector_image` is not used by ctest",
        "acceptance-test-config.yml:12: `spec_path` is not used by ctest",
        "the run's config is `secrets/config.json` (Airbyte's default)",
    ] {
        assert!(
            run.stderr.contains(said),
            "{said:?} not in:\n{}",
            run.stderr
        );
    }
}

/// Airbyte's `ignored_fields` forms leave a field out of full_refresh's
/// comparison: a plain string, a `/` path, a pattern. A path that names
/// another field leaves the change seen.
#[test]
fn airbyte_ignored_field_paths_are_honoured() {
    let faker_config = std::fs::read_to_string(faker_config()).unwrap();
    let plugin_path = plugin("broken-full-refresh-not-repeatable");
    for (ignored, passes) in [
        ("address/postal_code", true),
        ("address/postal_*", true),
        ("address.postal_code", true),
        ("address/city", false),
    ] {
        let dir = project(&[
            ("secrets/config.json", faker_config.as_str()),
            (
                "acceptance-test-config.yml",
                &format!(
                    "connector_image: x\nacceptance_tests:\n  full_refresh:\n    tests:\n      - ignored_fields:\n          users: [\"{ignored}\"]\n"
                ),
            ),
        ]);
        let yaml = dir.path().join("acceptance-test-config.yml");
        let run = ctest(&[
            "run",
            plugin_path.to_str().unwrap(),
            "--test-config",
            yaml.to_str().unwrap(),
            "--run",
            "full_refresh/",
        ]);
        let want = if passes { "PASS" } else { "FAIL" };
        assert_eq!(
            run.status_of("full_refresh/records_repeatable"),
            Some(want),
            "{ignored}:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
}
