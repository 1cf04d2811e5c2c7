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
