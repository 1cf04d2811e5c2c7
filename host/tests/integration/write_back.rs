//! The write_back suite: source-shop's test-utils write to the shop API and
//! the rows come back in incremental reads, live and again in replay with the
//! server stopped; each broken test-utils is caught.

use std::path::Path;

use crate::support::*;

const KEY: &str = "shop-key-wb-8c1d";

fn shop() -> shop_api::Server {
    shop_api::Server::start(shop_api::Options {
        api_key: KEY.into(),
        ..Default::default()
    })
    .unwrap()
}

fn config(dir: &Path, base_url: &str) -> std::path::PathBuf {
    let config = dir.join("shop.json");
    std::fs::write(
        &config,
        format!(r#"{{"base_url": "{base_url}", "api_key": "{KEY}"}}"#),
    )
    .unwrap();
    config
}

const WRITE_BACK: [&str; 4] = [
    "write_back/tables_discovered",
    "write_back/write_to_source",
    "write_back/incremental_after_write",
    "write_back/delete_and_read_deletes",
];

fn test_utils(name: &str) -> String {
    plugin(name).to_str().unwrap().to_string()
}

#[test]
fn source_shop_and_its_test_utils_pass_live_then_replay_with_the_server_stopped() {
    let server = shop();
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &server.base_url());
    let cassettes = dir.path().join("cassettes");
    let utils = test_utils("source-shop-test-utils");
    let args = |mode: &'static str| -> Vec<String> {
        let mut a = vec![
            "--test-utils".to_string(),
            utils.clone(),
            "--http".into(),
            mode.into(),
        ];
        a.extend(["--cassette-dir".into(), cassettes.display().to_string()]);
        a
    };
    let mut live_args = args("record");
    live_args.push("--allow-writes".into());
    let live_args: Vec<&str> = live_args.iter().map(String::as_str).collect();
    let live = run_shop("source-shop", &config, &live_args);
    assert_eq!(live.code, 0, "{}{}", live.stdout, live.stderr);
    for t in WRITE_BACK {
        assert_eq!(live.status_of(t), Some("PASS"), "{t}:\n{}", live.stdout);
    }
    // What the cassettes of the writing tests hold: the run's tag, no key.
    let written =
        std::fs::read_to_string(cassettes.join("write_back/incremental_after_write.json")).unwrap();
    let tag = written
        .split("\"tag\": \"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .expect("the cassette records the tag")
        .to_string();
    assert!(tag.starts_with("ctest_") && tag.len() == 14, "{tag}");
    assert!(
        written.contains(&format!("{tag} customer 1")),
        "the written row carries the tag"
    );
    assert!(written.contains("\"method\": \"POST\""));
    let deleted =
        std::fs::read_to_string(cassettes.join("write_back/delete_and_read_deletes.json")).unwrap();
    assert!(deleted.contains("\"method\": \"DELETE\"") && deleted.contains("deleted_at"));
    for text in [&written, &deleted] {
        assert!(!text.contains(KEY));
    }
    server.stop();

    // Replay: no server, no --allow-writes needed, the same verdicts.
    let replay_args = args("replay");
    let replay_args: Vec<&str> = replay_args.iter().map(String::as_str).collect();
    let replay = run_shop("source-shop", &config, &replay_args);
    assert_eq!(replay.code, 0, "{}", replay.stdout);
    for t in WRITE_BACK {
        assert_eq!(replay.status_of(t), Some("PASS"), "{t}:\n{}", replay.stdout);
    }
}

#[test]
fn the_connector_may_export_write_back_itself() {
    let server = shop();
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &server.base_url());
    let run = run_shop(
        "source-shop-with-write-back",
        &config,
        &["--allow-writes", "--http", "live", "--run", "write_back/"],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.with_status("PASS"), WRITE_BACK, "{}", run.stdout);
}

/// A connector of another language that exports write-back itself (its
/// SDK's `export_write_back`): the suite passes live while recording, then in
/// replay with the server stopped, and the rows it wrote carry the run's tag.
fn passes_write_back_live_then_replay(plugin: &str) {
    let server = shop();
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &server.base_url());
    let cassettes = dir.path().join("cassettes");
    let cassette_dir = cassettes.to_str().unwrap();
    let live = run_shop(
        plugin,
        &config,
        &[
            "--allow-writes",
            "--http",
            "record",
            "--cassette-dir",
            cassette_dir,
            "--run",
            "write_back/",
        ],
    );
    assert_eq!(live.code, 0, "{}{}", live.stdout, live.stderr);
    assert_eq!(live.with_status("PASS"), WRITE_BACK, "{}", live.stdout);
    // 2 rows written by write_to_source, and more for incremental_after_write
    // and delete_and_read_deletes: each a POST the server counted.
    assert!(
        server
            .stats
            .writes
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 4
    );
    let written =
        std::fs::read_to_string(cassettes.join("write_back/incremental_after_write.json")).unwrap();
    assert!(written.contains(" customer 1") && written.contains("\"tag\": \"ctest_"));
    assert!(!written.contains(KEY));
    server.stop();
    let replay = run_shop(
        plugin,
        &config,
        &[
            "--http",
            "replay",
            "--cassette-dir",
            cassette_dir,
            "--run",
            "write_back/",
        ],
    );
    assert_eq!(replay.code, 0, "{}", replay.stdout);
    assert_eq!(replay.with_status("PASS"), WRITE_BACK, "{}", replay.stdout);
}

#[test]
fn a_python_connector_exports_write_back_itself() {
    passes_write_back_live_then_replay("python-shop");
}

#[test]
fn a_typescript_connector_exports_write_back_itself() {
    passes_write_back_live_then_replay("ts-shop");
}

#[test]
fn without_allow_writes_the_suite_is_skipped_with_the_reason() {
    let server = shop();
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &server.base_url());
    let utils = test_utils("source-shop-test-utils");
    let run = run_shop(
        "source-shop",
        &config,
        &[
            "--test-utils",
            &utils,
            "--http",
            "live",
            "--run",
            "write_back/",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.with_status("SKIP"), WRITE_BACK);
    assert!(
        run.stdout
            .contains("the write_back suite changes the source: pass --allow-writes")
    );
    // The connector read, and nothing was written.
    let stats = &server.stats;
    assert!(stats.requests.load(std::sync::atomic::Ordering::Relaxed) > 0);
    assert_eq!(stats.writes.load(std::sync::atomic::Ordering::Relaxed), 0);
    // And without any writer, the suite is not part of the run at all.
    let run = run_shop(
        "source-shop",
        &config,
        &["--allow-writes", "--http", "live"],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(!run.stdout.contains("write_back/"), "{}", run.stdout);
}

#[test]
fn each_broken_test_utils_is_caught() {
    let server = shop();
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &server.base_url());
    // (test-utils, the tests that must fail, what the failure says)
    let cases: [(&str, &[&str], &[&str]); 8] = [
        (
            "broken-wb-key-only-mapping",
            &[
                "write_back/write_to_source",
                "write_back/incremental_after_write",
            ],
            &[
                "row 0 written to `customers` sets `email`, `name`, `plan`, `updated_at`, which the column mapping does not map to a record path (it maps `id`)",
            ],
        ),
        (
            "broken-wb-untagged",
            &[
                "write_back/write_to_source",
                "write_back/incremental_after_write",
            ],
            &["row 0 written to `customers` does not carry the run's tag `ctest_"],
        ),
        (
            "broken-wb-existing-row",
            &[
                "write_back/incremental_after_write",
                "write_back/delete_and_read_deletes",
            ],
            &["which a read before the write already returned: it is not a row this run wrote"],
        ),
        (
            "broken-wb-wrong-mapping",
            &["write_back/incremental_after_write"],
            &[
                "did not come back in the incremental read",
                "field `email` (at `name`): wrote \"ctest_",
            ],
        ),
        (
            "broken-wb-row-never-appears",
            &["write_back/incremental_after_write"],
            &[
                "\"updated_at\":\"2000-01-01T00:00:00Z\"} did not come back in the incremental read from the state",
            ],
        ),
        (
            "broken-wb-delete-not-surfaced",
            &["write_back/delete_and_read_deletes"],
            &[
                "the deleted row {\"id\":",
                "did not come back in the incremental read",
            ],
        ),
        (
            "broken-wb-deletes-not-cdc",
            &["write_back/tables_discovered"],
            &["deletable table `invoices` has ingestion type `cdc`, not `cdc-with-deletes`"],
        ),
        (
            "broken-wb-no-write",
            &[
                "write_back/incremental_after_write",
                "write_back/delete_and_read_deletes",
            ],
            &["\"id\":424242", "did not come back in the incremental read"],
        ),
    ];
    for (utils, fails, says) in cases {
        let path = test_utils(utils);
        let run = run_shop(
            "source-shop",
            &config,
            &[
                "--test-utils",
                &path,
                "--allow-writes",
                "--http",
                "live",
                "--run",
                "write_back/",
            ],
        );
        assert_eq!(run.code, 1, "{utils}:\n{}", run.stdout);
        assert_eq!(run.with_status("FAIL"), fails, "{utils}:\n{}", run.stdout);
        for needle in says {
            assert!(
                run.stdout.contains(needle),
                "{utils}: expected {needle:?} in:\n{}",
                run.stdout
            );
        }
    }
}

#[test]
fn parallel_runs_write_rows_that_never_collide() {
    let server = shop();
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &server.base_url());
    let utils = test_utils("source-shop-test-utils");
    // Each run records its cassettes apart, so its tag can be read back.
    let cassettes: Vec<String> = (0..3)
        .map(|i| {
            dir.path()
                .join(format!("cassettes-{i}"))
                .display()
                .to_string()
        })
        .collect();
    let runs: Vec<Run> = std::thread::scope(|scope| {
        let handles: Vec<_> = cassettes
            .iter()
            .map(|cassette_dir| {
                let (config, utils) = (&config, &utils);
                scope.spawn(move || {
                    run_shop(
                        "source-shop",
                        config,
                        &[
                            "--test-utils",
                            utils,
                            "--allow-writes",
                            "--http",
                            "record",
                            "--cassette-dir",
                            cassette_dir,
                            "--run",
                            "write_back/",
                        ],
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for run in &runs {
        assert_eq!(run.code, 0, "{}", run.stdout);
        assert_eq!(run.with_status("PASS"), WRITE_BACK, "{}", run.stdout);
    }
    // Every run wrote its rows under a tag of its own.
    let mut tags: Vec<String> = cassettes
        .iter()
        .map(|d| {
            let text =
                std::fs::read_to_string(Path::new(d).join("write_back/write_to_source.json"))
                    .unwrap();
            let cassette: serde_json::Value = serde_json::from_str(&text).unwrap();
            let tag = cassette["tag"]
                .as_str()
                .expect("the cassette records the tag")
                .to_string();
            assert!(text.contains(&format!("{tag} customer 1")), "{text}");
            tag
        })
        .collect();
    tags.sort();
    tags.dedup();
    assert_eq!(tags.len(), 3, "{tags:?}");
}

#[test]
fn a_test_utils_component_without_write_back_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "http://127.0.0.1:9");
    let not_utils = test_utils("source-faker");
    let run = run_shop("source-shop", &config, &["--test-utils", &not_utils]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("does not export `ctest:connector/write-back@0.2.0`")
            && run.stderr.contains("ctest_sdk::export_write_back!")
            && run.stderr.contains("(this is the --test-utils component)"),
        "{}",
        run.stderr
    );
}
