//! source-faker, the reference connector, passes every suite, and the report
//! says so in both forms.

use crate::support::*;

use ctest::suites::ALL_TESTS;

#[test]
fn source_faker_passes_every_suite() {
    // Compared with itself, it has no breaking change either.
    let faker = plugin("source-faker");
    let run = run_plugin(
        "source-faker",
        &faker_config(),
        &["--previous", faker.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let tests = default_tests_without_secrets();
    assert_eq!(run.with_status("PASS"), tests, "{}", run.stdout);
    // The secrets suite has no secret to look for in faker's config.
    assert_eq!(
        run.last_line(),
        format!("{} passed, 0 failed, 1 skipped", tests.len())
    );
}

#[test]
fn source_faker_passes_every_test_of_its_strict_test_configuration() {
    let faker = plugin("source-faker");
    let yaml = root().join("plugins/source-faker/ctest.yaml");
    let run = ctest(&[
        "run",
        faker.to_str().unwrap(),
        "--test-config",
        yaml.to_str().unwrap(),
        "--previous",
        faker.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // Only write_back is skipped, bypassed with its reason, and the secrets
    // suite, with no secret to look for.
    let write_back: Vec<&str> = ALL_TESTS
        .iter()
        .copied()
        .filter(|t| t.starts_with("write_back/") || t.starts_with("secrets/"))
        .collect();
    assert_eq!(run.with_status("SKIP"), write_back, "{}", run.stdout);
    assert!(run.stdout.contains("there is no source to write to"));
    // Every test ran; those of a suite with two input sets ran twice.
    let mut passed: Vec<String> = Vec::new();
    for test in run.with_status("PASS") {
        let id = test.split('#').next().unwrap().to_string();
        if !passed.contains(&id) {
            passed.push(id);
        }
    }
    let others: Vec<&str> = ALL_TESTS
        .iter()
        .copied()
        .filter(|t| !t.starts_with("write_back/") && !t.starts_with("secrets/"))
        .collect();
    assert_eq!(passed, others, "{}", run.stdout);
}

#[test]
fn json_report_lists_every_test_and_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let faker = plugin("source-faker");
    let run = run_plugin(
        "source-faker",
        &faker_config(),
        &[
            "--report-json",
            report.to_str().unwrap(),
            "--previous",
            faker.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let tests = json["tests"].as_array().unwrap();
    // Every test, the secrets suite's skipped (the config holds no secret).
    let expected = default_tests();
    assert_eq!(tests.len(), expected.len());
    for (t, id) in tests.iter().zip(&expected) {
        assert_eq!(
            format!(
                "{}/{}",
                t["suite"].as_str().unwrap(),
                t["name"].as_str().unwrap()
            ),
            *id
        );
        let status = if id.starts_with("secrets/") {
            "skipped"
        } else {
            "passed"
        };
        assert_eq!(t["status"], status, "{id}");
        assert!(t["duration_ms"].is_u64());
        assert!(t.get("message").is_some());
    }
    assert_eq!(
        json["summary"],
        serde_json::json!({"passed": expected.len() - 1, "failed": 0, "skipped": 1})
    );
}

/// The JUnit report says what the JSON report says, in the form CI systems
/// read: a testsuite per suite, each test a testcase that passed, failed (with
/// the message and the plugin's log) or was skipped (with the reason).
#[test]
fn junit_report_matches_the_json_report() {
    use quick_junit::{Report, TestCaseStatus};
    let dir = tempfile::tempdir().unwrap();
    let (json_path, junit_path) = (dir.path().join("r.json"), dir.path().join("r.xml"));
    let yaml = dir.path().join("ctest.yaml");
    std::fs::write(
        &yaml,
        "acceptance_tests:\n  incremental:\n    bypass_reason: \"no cursor <yet> & never\"\n",
    )
    .unwrap();
    let run = run_plugin(
        "broken-read-schema-mismatch",
        &faker_config(),
        &[
            "--test-config",
            yaml.to_str().unwrap(),
            "--report-json",
            json_path.to_str().unwrap(),
            "--report-junit",
            junit_path.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let xml = std::fs::read_to_string(&junit_path).unwrap();
    let junit = Report::deserialize_from_str(&xml).unwrap();

    // Suites and classnames carry the connector's name and version, from
    // its spec, and every element its start time.
    let connector = format!(
        "{}@{}",
        json["connector"]["name"].as_str().unwrap(),
        json["connector"]["version"].as_str().unwrap()
    );
    assert!(connector.starts_with("source-faker@0."), "{connector}");
    assert!(junit.timestamp.is_some(), "{xml}");
    let mut cases = Vec::new();
    for suite in &junit.test_suites {
        let name = suite.name.as_str();
        let bare = name.strip_prefix(&format!("{connector}/")).expect(name);
        assert!(suite.timestamp.is_some(), "{xml}");
        for case in &suite.test_cases {
            assert_eq!(case.classname.as_deref(), Some(name));
            assert!(case.timestamp.is_some(), "{xml}");
            cases.push((bare.to_string(), case));
        }
    }
    let tests = json["tests"].as_array().unwrap();
    assert_eq!(cases.len(), tests.len(), "{xml}");
    let (mut failed, mut skipped) = (0, 0);
    for ((suite, case), t) in cases.iter().zip(tests) {
        assert_eq!(suite, t["suite"].as_str().unwrap());
        assert_eq!(case.name.as_str(), t["name"].as_str().unwrap());
        match (&case.status, t["status"].as_str().unwrap()) {
            (TestCaseStatus::Success { .. }, "passed") => {}
            (
                TestCaseStatus::NonSuccess {
                    message,
                    description,
                    ..
                },
                "failed",
            ) => {
                failed += 1;
                let full = t["message"].as_str().unwrap();
                assert_eq!(description.as_deref(), Some(full));
                // The title is the whole message in one line, not a first
                // line that ends in ":".
                let title = message.as_deref().unwrap();
                assert!(!title.ends_with(':'), "{title}");
                assert!(full.lines().count() > 1, "{full}");
                for line in full
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .take(2)
                {
                    assert!(title.contains(line), "{title} lacks {line}");
                }
                let out = case.system_out.as_deref().unwrap_or_default();
                for log in t["logs"].as_array().into_iter().flatten() {
                    assert!(out.contains(log["message"].as_str().unwrap()), "{out}");
                }
            }
            (TestCaseStatus::Skipped { message, .. }, "skipped") => {
                skipped += 1;
                assert_eq!(message.as_deref(), t["message"].as_str());
            }
            (status, expected) => {
                panic!("{suite}/{}: {status:?}, not {expected}", case.name.as_str())
            }
        }
    }
    assert_eq!(failed, json["summary"]["failed"].as_u64().unwrap() as usize);
    assert_eq!(
        skipped,
        json["summary"]["skipped"].as_u64().unwrap() as usize
    );
    assert!(failed >= 1 && skipped >= 1, "{xml}");
    // The reason's `<` and `&` survive the XML.
    assert!(xml.contains("no cursor &lt;yet&gt; &amp; never"), "{xml}");
}

#[test]
fn run_filter_selects_tests_and_keeps_what_they_need() {
    // basic_read needs the catalog from discovery even when discovery is filtered out.
    let run = run_plugin(
        "source-faker",
        &faker_config(),
        &[
            "--run",
            "basic_read/records_match",
            "--run",
            "spec/metadata",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.with_status("PASS"),
        ["spec/metadata", "basic_read/records_match_schema"]
    );
    assert_eq!(run.last_line(), "2 passed, 0 failed, 0 skipped");
}

#[test]
fn a_million_records_read_streams_through_the_checks() {
    // Big enough that a read holding records in memory would hit the 64 MiB cap
    // (a million faker records are ~250 MB of JSON).
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("big.json");
    std::fs::write(&config, r#"{"count": 1000000, "seed": 7}"#).unwrap();
    let run = run_plugin(
        "source-faker",
        &config,
        &["--run", "basic_read/", "--memory-limit", "64"],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.last_line(),
        "10 passed, 0 failed, 0 skipped",
        "{}",
        run.stdout
    );
    // The report says what the read cost on both sides: the plugin's calls
    // and the thread that checked two million records beside them.
    let report = run.report.as_ref().unwrap();
    let read = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["suite"] == "basic_read" && t["name"] == "read")
        .unwrap();
    for figure in ["cpu_ms", "checks_cpu_ms"] {
        let ms = read["resources"][figure].as_u64().unwrap();
        assert!(ms > 0, "{figure}: {read}");
    }
}

#[test]
fn the_readme_example_connector_passes_every_suite() {
    let config = root().join("examples/rust-numbers/config.json");
    let numbers = plugin("source-numbers");
    let run = run_plugin(
        "source-numbers",
        &config,
        &["--previous", numbers.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // It has no incremental stream: that suite is skipped, with the reason.
    let (skipped, others): (Vec<&str>, Vec<&str>) = default_tests()
        .into_iter()
        .partition(|t| t.starts_with("incremental/") || t.starts_with("secrets/"));
    assert_eq!(run.with_status("PASS"), others, "{}", run.stdout);
    assert_eq!(run.with_status("SKIP"), skipped, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("no stream with records supports incremental reads"),
        "{}",
        run.stdout
    );
}

#[test]
fn the_readme_shows_the_example_connector_as_it_is() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("```rust\n")
        .expect("a rust block in the README")
        + "```rust\n".len();
    let end = start + readme[start..].find("```\n").unwrap();
    let source = std::fs::read_to_string(root().join("examples/rust-numbers/src/lib.rs")).unwrap();
    assert!(
        source.contains(&readme[start..end]),
        "README.md's Rust example and examples/rust-numbers/src/lib.rs differ: update one from the other"
    );
}

#[test]
fn without_previous_the_backward_compatibility_suite_does_not_run() {
    let run = run_plugin("source-faker", &faker_config(), &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        !run.stdout.contains("backward_compatibility/"),
        "{}",
        run.stdout
    );
    let others = default_tests_without_secrets()
        .iter()
        .filter(|t| !t.starts_with("backward_compatibility/"))
        .count();
    assert_eq!(
        run.last_line(),
        format!("{others} passed, 0 failed, 1 skipped")
    );
}

/// The library API: a run of source-faker's spec suite through
/// `suites::run_all`, its events handed to a reporter that sends them to
/// another thread. They come in order, all of one run: the run with its
/// plan, each test started then finished, the run finished with its summary.
#[test]
fn a_run_reports_its_results_as_events_another_thread_can_take() {
    use ctest::report::{Event, Reporter};

    struct Sender(std::sync::mpsc::Sender<Event>);
    impl Reporter for Sender {
        fn event(&mut self, event: &Event) -> Result<(), String> {
            self.0.send(event.clone()).map_err(|e| e.to_string())
        }
    }

    let cache = ctest::sandbox::CompileCache::new(Some(cache_dir()));
    let host = ctest::sandbox::Host::new(&Default::default(), cache).unwrap();
    let faker_plugin = plugin("source-faker");
    let request = ctest::session::RunRequest {
        selection: ctest::suites::Selection::only(vec!["spec/".into()]),
        ..ctest::session::RunRequest::new(
            faker_plugin.clone(),
            ctest::session::ConfigSource::File(faker_config()),
        )
    };
    let plan = ctest::session::plan(&request).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let collector = std::thread::spawn(move || rx.into_iter().collect::<Vec<Event>>());
    let summary = {
        let mut reporter = Sender(tx);
        ctest::session::run(&host, &plan, &mut reporter).unwrap()
    };
    let events = collector.join().unwrap();

    let spec_tests: Vec<String> = ALL_TESTS
        .iter()
        .filter(|t| t.starts_with("spec/"))
        .map(|t| t.to_string())
        .collect();
    let Some(Event::RunStarted { run, plugin, plan }) = events.first() else {
        panic!("first the run: {events:?}");
    };
    assert_eq!(
        (plugin.as_str(), plan),
        (faker_plugin.display().to_string().as_str(), &spec_tests)
    );
    let mut expected = Vec::new();
    for test in &spec_tests {
        expected.push(format!("started {test}"));
        expected.push(format!("finished {test} passed"));
    }
    // Once the spec is known, who the connector is.
    expected.push("connector source-faker@0.1.0".to_string());
    let seen: Vec<String> = events[1..events.len() - 1]
        .iter()
        .map(|e| match e {
            Event::TestStarted { run: r, id } if r == run => format!("started {id}"),
            Event::TestFinished { run: r, result } if r == run => {
                format!("finished {} {}", result.id(), result.status.as_str())
            }
            Event::Connector {
                run: r,
                name,
                version,
            } if r == run => format!("connector {name}@{version}"),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(seen, expected);
    let Some(Event::RunFinished {
        run: last,
        summary: reported,
    }) = events.last()
    else {
        panic!("last the end: {events:?}");
    };
    assert_eq!((last, *reported), (run, summary));
    assert_eq!(summary.passed, spec_tests.len());
}
