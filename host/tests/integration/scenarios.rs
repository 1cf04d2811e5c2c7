//! Scenarios: source-shop's own scenario file passes live, records one
//! cassette per scenario and replays with the server stopped; each broken
//! shop is caught by the scenario that claims it; the flow (setup, cleanup
//! after a failure, on_fail, skip, skip_if, parallel, --run, --var, secret
//! variables) on source-faker; and a bad scenario file is one exit-2
//! message listing every error.

use std::path::{Path, PathBuf};

use crate::support::*;

const KEY: &str = "shop-key-scn-5e2a";
/// The scenario file's secret variable `wrong_key`.
const WRONG_KEY: &str = "shop-key-that-has-expired";

fn shop() -> shop_api::Server {
    shop_api::Server::start(shop_api::Options {
        api_key: KEY.into(),
        ..Default::default()
    })
    .expect("start the shop API")
}

fn shop_test_config() -> PathBuf {
    root().join("plugins/source-shop/ctest.yaml")
}

/// Every scenario of source-shop's file, as test ids.
const SHOP_SCENARIOS: &[&str] = &[
    "scenario/shop/auth_valid",
    "scenario/shop/auth_invalid_password",
    "scenario/shop/preflight_valid",
    "scenario/shop/workflow_extraction",
    "scenario/shop/rejects_bad_config[field=page_size,value=0]",
    "scenario/shop/rejects_bad_config[field=page_size,value=101]",
    "scenario/shop/rejects_bad_config[field=base_url,value=ftp://shop.example]",
    "scenario/shop/read_with_a_refused_key_is_a_config_error",
    "scenario/shop/write_then_read_back_then_delete",
    "scenario/shop/spec_declares_the_key_secret",
    "scenario/shop/discover_keys_every_stream_by_id",
    "scenario/shop/read_from_state_returns_only_later_invoices",
    "scenario/shop/full_refresh_reads_every_customer",
];

fn run_scenarios(plugin: &str, config: &Path, extra: &[&str]) -> Run {
    let test_config = shop_test_config();
    let mut args = vec![
        "--test-config",
        test_config.to_str().unwrap(),
        "--run",
        "scenario/",
    ];
    args.extend_from_slice(extra);
    run_shop(plugin, config, &args)
}

#[test]
fn source_shops_scenarios_pass_live_then_replay_from_one_cassette_each() {
    let server = shop();
    let dir = tempfile::tempdir().unwrap();
    let config = shop_config(dir.path(), &server.base_url(), KEY, 50);
    let cassettes = dir.path().join("cassettes");
    let utils = plugin("source-shop-test-utils");
    let junit = dir.path().join("junit.xml");
    let live = run_scenarios(
        "source-shop",
        &config,
        &[
            "--http",
            "record",
            "--cassette-dir",
            cassettes.to_str().unwrap(),
            "--allow-writes",
            "--test-utils",
            utils.to_str().unwrap(),
            "--report-junit",
            junit.to_str().unwrap(),
        ],
    );
    assert_eq!(live.code, 0, "{}\n{}", live.stdout, live.stderr);
    let mut passed = live.with_status("PASS");
    passed.sort();
    let mut want: Vec<String> = SHOP_SCENARIOS.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(passed, want, "{}", live.stdout);
    // One cassette per scenario that made requests.
    for name in [
        "auth_valid",
        "write_then_read_back_then_delete",
        "full_refresh_reads_every_customer",
    ] {
        assert!(
            cassettes
                .join(format!("scenario/shop/{name}.json"))
                .is_file(),
            "{name}"
        );
    }
    // The JUnit report has them as a suite of their own.
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("name=\"source-shop@0.1.0/scenario\"")
            && xml.contains("name=\"shop/auth_invalid_password\""),
        "{xml}"
    );
    // The secret variable is in no output, no report and no cassette.
    let mut everything = format!("{}{}{xml}", live.stdout, live.stderr);
    for entry in walk(&cassettes) {
        everything.push_str(&std::fs::read_to_string(entry).unwrap());
    }
    assert!(
        !everything.contains(WRONG_KEY),
        "the secret variable leaked"
    );
    assert!(!everything.contains(KEY), "the config's key leaked");

    drop(server);
    let replay = run_scenarios(
        "source-shop",
        &config,
        &[
            "--http",
            "replay",
            "--cassette-dir",
            cassettes.to_str().unwrap(),
            "--test-utils",
            utils.to_str().unwrap(),
        ],
    );
    assert_eq!(replay.code, 0, "{}\n{}", replay.stdout, replay.stderr);
    assert_eq!(replay.with_status("PASS").len(), SHOP_SCENARIOS.len());
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn each_broken_shop_is_caught_by_the_scenario_that_claims_it() {
    let server = shop();
    let dir = tempfile::tempdir().unwrap();
    let config = shop_config(dir.path(), &server.base_url(), KEY, 50);
    let correct_utils = plugin("source-shop-test-utils");
    let broken_utils = plugin("broken-wb-row-never-appears");
    let cases: &[(&str, &Path, &str, &[&str])] = &[
        (
            "broken-shop-accepts-any-key",
            &correct_utils,
            "scenario/shop/auth_invalid_password",
            &[
                "steps[0] (check, line ",
                "expected `check` to fail (a failed outcome); it succeeded",
            ],
        ),
        (
            "broken-shop-ignores-state",
            &correct_utils,
            "scenario/shop/read_from_state_returns_only_later_invoices",
            &[
                "at `records.invoices`: `each`: ",
                "at `updated_at`: expected `greater_than_or_equal: \"2025-01-01T01:00:00Z\"`; got \"2025-01-01T00:",
            ],
        ),
        (
            "broken-shop-key-in-message",
            &correct_utils,
            "scenario/shop/auth_invalid_password",
            &["at `message`: `all_of` item 1: expected `not_contains: \"**********\"`"],
        ),
        (
            "source-shop",
            &broken_utils,
            "scenario/shop/write_then_read_back_then_delete",
            &[
                "steps[1] (read, line ",
                "at `records.customers`: `any`: none of the",
            ],
        ),
    ];
    for (connector, utils, scenario, says) in cases {
        let run = run_scenarios(
            connector,
            &config,
            &["--allow-writes", "--test-utils", utils.to_str().unwrap()],
        );
        assert_eq!(run.code, 1, "{connector}: {}\n{}", run.stdout, run.stderr);
        assert_eq!(
            run.status_of(scenario),
            Some("FAIL"),
            "{connector}: {}",
            run.stdout
        );
        let message = run.message_of(scenario).unwrap();
        for said in *says {
            assert!(message.contains(said), "{connector}: {said}\n{message}");
        }
        // What it does not break still passes.
        assert_eq!(run.status_of("scenario/shop/auth_valid"), Some("PASS"));
        assert!(
            !run.stdout.contains(WRONG_KEY),
            "{connector}: the key leaked"
        );
    }
}

/// A project of source-faker with one scenario file.
fn faker_project(scenarios: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ctest.yaml"), "vars:\n  count: 20\n").unwrap();
    std::fs::write(dir.path().join("flow.scenarios.yaml"), scenarios).unwrap();
    dir
}

/// The secret variable `token` of [`FLOW`], from the environment.
const TOKEN: &str = "tok-9d1f0c3b7e";

/// `ctest run` of source-faker with the project at `dir`, and `extra`.
fn run_faker(dir: &Path, extra: &[&str]) -> Run {
    let plugin = plugin("source-faker");
    let config = faker_config();
    let test_config = dir.join("ctest.yaml");
    let mut args = vec![
        "run",
        plugin.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--test-config",
        test_config.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    crate::support::ctest_with_env(&args, &[("CTEST_SCENARIO_TEST_TOKEN", TOKEN)])
}

const FLOW: &str = r#"
vars:
  count: {default: 5}
  token: {env: CTEST_SCENARIO_TEST_TOKEN, secret: true}
  mode: {default: live}
shared_steps:
  users:
    - op: read
      config: {count: "{{ vars.count }}"}
      catalog: {users: full_refresh}
      capture: {users: records.users}
scenarios:
  - name: continues_after_a_failure_and_cleans_up
    on_fail: continue
    setup: [{include: users}]
    steps:
      - op: check
        assert: {status: {equals: failed}}
      - op: discover
        assert: {stream_names: {contains: no_such_stream}}
      - op: spec
        assert: {name: {equals: "{{ vars.token }}"}}
    cleanup:
      - op: check
        name: cleanup ran
        assert: {status: {equals: cleaned}}
  - name: stops_at_the_first_failure
    steps:
      - op: check
        assert: {status: {equals: failed}}
      - op: discover
        assert: {stream_names: {contains: no_such_stream}}
    cleanup:
      - op: spec
        assert: {name: {equals: not-faker}}
  - name: a_failed_setup_skips_the_steps
    setup:
      - op: check
        expect: {status: error}
    steps:
      - op: spec
        assert: {name: {equals: never-checked}}
  - name: reads_the_count_it_is_given
    parallel: true
    steps:
      - include: users
      - op: read
        config: {count: "{{ vars.count }}"}
        catalog: {users: full_refresh}
        assert:
          counts.users: {equals: "{{ vars.count }}"}
          records.users: {equals: "{{ captures.users }}"}
  - name: skipped_for_a_reason
    skip: the sandbox account has no users
    steps: [{op: spec}]
  - name: skipped_in_replay
    skip_if: {value: "{{ vars.mode }}", is: {equals: replay}, reason: needs the live API}
    parallel: true
    steps: [{op: spec}]
  - name: the_count_is_seven
    steps:
      - op: read
        config: {count: "{{ vars.count }}"}
        catalog: {users: full_refresh}
        assert: {counts.users: {equals: 7}}
  - name: cleans_up_after_a_timeout
    timeout_seconds: 0.3
    steps:
      - op: read
        config: {count: 100000000}
        catalog: {users: full_refresh}
        limits: {max_records: 10}
    cleanup:
      - op: read
        config: {count: 3}
        catalog: {users: full_refresh}
        assert: {counts.users: {equals: 3}, truncated: {is_false: true}}
"#;

#[test]
fn steps_run_in_order_cleanup_always_runs_and_failures_are_located() {
    let dir = faker_project(FLOW);
    let secret = TOKEN;
    let run = run_faker(
        dir.path(),
        &[
            "--run",
            "scenario/",
            "--run",
            "secrets/",
            "--var",
            "mode=replay",
        ],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let id = |n: &str| format!("scenario/flow/{n}");
    // on_fail: continue: every failed step, then the cleanup's.
    let m = run
        .message_of(&id("continues_after_a_failure_and_cleans_up"))
        .unwrap();
    assert!(m.contains("4 problem(s)"), "{m}");
    assert!(m.contains("steps[0] (check, line 17): at `status`: expected `equals: \"failed\"`; got \"succeeded\""), "{m}");
    assert!(m.contains("steps[1] (discover, line 19): at `stream_names`: expected `contains: \"no_such_stream\"`"), "{m}");
    assert!(
        m.contains("steps[2] (spec, line 21): at `name`: expected `equals: \"**********\"`"),
        "{m}"
    );
    assert!(m.contains("cleanup[0] (cleanup ran, line 24)"), "{m}");
    // The secret variable is masked everywhere, and what the scenario
    // expects is not the plugin's leak.
    assert!(!run.stdout.contains(secret) && !format!("{:?}", run.report).contains(secret));
    assert_eq!(
        run.status_of("secrets/no_secret_leaked"),
        Some("PASS"),
        "{:?}",
        run.message_of("secrets/no_secret_leaked")
    );
    // on_fail: stop (the default): the first failure, then the cleanup.
    let m = run.message_of(&id("stops_at_the_first_failure")).unwrap();
    assert!(
        m.contains("2 problem(s)") && m.contains("steps[0]") && m.contains("cleanup[0]"),
        "{m}"
    );
    assert!(!m.contains("steps[1]"), "{m}");
    // A failed setup: the steps do not run.
    let m = run
        .message_of(&id("a_failed_setup_skips_the_steps"))
        .unwrap();
    assert!(
        m.contains(
            "setup[0] (check, line 38): expected `check` to return a connector error; it succeeded"
        ),
        "{m}"
    );
    assert!(!m.contains("never-checked"), "{m}");
    // include, captures, variables from the test configuration (20, over
    // the default 5), parallel.
    assert_eq!(
        run.status_of(&id("reads_the_count_it_is_given")),
        Some("PASS"),
        "{:?}",
        run.message_of(&id("reads_the_count_it_is_given"))
    );
    assert_eq!(
        run.message_of(&id("skipped_for_a_reason")).as_deref(),
        Some("skipped by the scenario file: the sandbox account has no users")
    );
    assert_eq!(
        run.message_of(&id("skipped_in_replay")).as_deref(),
        Some("skipped by the scenario file (skip_if): needs the live API")
    );
    // A step past the scenario's time limit fails; the cleanup still gets
    // its time.
    let m = run.message_of(&id("cleans_up_after_a_timeout")).unwrap();
    assert!(
        m.contains("1 problem(s)") && m.contains("steps[0] (read, line "),
        "{m}"
    );
    assert!(m.contains("time limit"), "{m}");
    // The test configuration's value (20) wins over the default (5).
    let m = run.message_of(&id("the_count_is_seven")).unwrap();
    assert!(
        m.contains("at `counts.users`: expected `equals: 7`; got 20"),
        "{m}"
    );

    // --run takes a regular expression; --var overrides the test configuration.
    let run = run_faker(
        dir.path(),
        &[
            "--run",
            "scenario/flow/(reads|skipped|the_count)_.*",
            "--var",
            "count=7",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let mut ran = run.with_status("PASS");
    ran.extend(run.with_status("SKIP"));
    ran.sort();
    assert_eq!(
        ran,
        [
            id("reads_the_count_it_is_given"),
            id("skipped_for_a_reason"),
            id("skipped_in_replay"),
            id("the_count_is_seven")
        ]
    );
    // skip_if did not hold (mode is `live`): it ran; --var count=7 wins
    // over the test configuration.
    assert_eq!(run.status_of(&id("skipped_in_replay")), Some("PASS"));
    assert_eq!(run.status_of(&id("the_count_is_seven")), Some("PASS"));
}

#[test]
fn a_bad_scenario_file_is_one_exit_2_message_with_every_error() {
    let dir = faker_project(
        "scenarios:\n  - name: a\n    steps:\n      - op: reed\n        asert: {x: {equals: 1}}\n  - name: bad name\n    steps: [{op: spec, assert: {'a..b': {}}}]\n",
    );
    let run = run_faker(dir.path(), &["--run", "scenario/"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    let file = dir.path().join("flow.scenarios.yaml");
    let file = file.display();
    for said in [
        format!("{file}:4:9: scenarios[0].steps[0].op: `reed` is not one of"),
        "fix: did you mean `read`?".to_string(),
        format!("{file}:5:9: unknown key `asert` in scenarios[0].steps[0]"),
        "fix: did you mean `assert`?".to_string(),
        format!("{file}:6:5: scenarios[1].name: `bad name` is not a scenario name"),
        "an empty predicate".to_string(),
    ] {
        assert!(run.stderr.contains(&said), "{said}\n{}", run.stderr);
    }
    // A --var no file declares, and a --run that selects nothing.
    let good = faker_project(FLOW);
    let run = run_faker(good.path(), &["--var", "cuont=3"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--var cuont: no scenario file declares the variable `cuont`\n  fix: did you mean `count`?"), "{}", run.stderr);
    let run = run_faker(good.path(), &["--run", "scenario/flow/nope"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("scenario/flow/reads_the_count_it_is_given"),
        "{}",
        run.stderr
    );
    // A variable with no value.
    let run = crate::support::ctest_with_env(
        &[
            "run",
            plugin("source-faker").to_str().unwrap(),
            "--config",
            faker_config().to_str().unwrap(),
            "--test-config",
            good.path().join("ctest.yaml").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("the variable `token` has no value\n  fix: pass --var token=VALUE, or set the environment variable CTEST_SCENARIO_TEST_TOKEN"), "{}", run.stderr);
}

#[test]
fn python_shops_scenarios_pass_with_its_own_write_back() {
    let server = shop();
    let dir = tempfile::tempdir().unwrap();
    let config = shop_config(dir.path(), &server.base_url(), KEY, 50);
    let test_config = root().join("examples/python-shop/ctest.yaml");
    let run = run_shop(
        "python-shop",
        &config,
        &[
            "--test-config",
            test_config.to_str().unwrap(),
            "--run",
            "scenario/",
            "--allow-writes",
            "--http",
            "live",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let passed = run.with_status("PASS");
    assert_eq!(passed.len(), 7, "{}", run.stdout);
    assert!(passed.contains(&"scenario/python-shop/write_read_back_delete".to_string()));
}

/// Every key of a predicate object in `value` (recursively), given that
/// `value` is in predicate position.
fn predicate_keys(value: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
    let Some(map) = value.as_object() else { return };
    for (key, inner) in map {
        out.insert(key.clone());
        match key.as_str() {
            "all_of" | "any_of" | "none_of" => {
                for p in inner.as_array().into_iter().flatten() {
                    predicate_keys(p, out);
                }
            }
            "each" | "any" => predicate_keys(inner, out),
            "count" => {
                predicate_keys(&inner["where"], out);
                predicate_keys(&inner["is"], out);
            }
            "at" => {
                for p in inner.as_object().into_iter().flatten().map(|(_, p)| p) {
                    predicate_keys(p, out);
                }
            }
            _ => {}
        }
    }
}

#[test]
fn the_example_scenario_files_use_every_operation_and_every_predicate() {
    let mut ops = std::collections::BTreeSet::new();
    let mut keys = std::collections::BTreeSet::new();
    for file in [
        "plugins/source-shop/shop.scenarios.yaml",
        "examples/python-shop/python-shop.scenarios.yaml",
    ] {
        let loaded =
            ctest::scenarios::load::load(&root().join(file), &[]).unwrap_or_else(|e| panic!("{e}"));
        for case in &loaded.cases {
            for step in &case.steps {
                let step = serde_json::to_value(&step.step).unwrap();
                ops.insert(step["op"].as_str().unwrap().to_string());
                for p in step["assert"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(_, p)| p)
                {
                    predicate_keys(p, &mut keys);
                }
            }
        }
    }
    assert_eq!(
        ops.into_iter().collect::<Vec<_>>(),
        ["check", "delete", "discover", "read", "spec", "write"]
    );
    let schema = ctest::scenarios::file::schema();
    let all: std::collections::BTreeSet<String> = schema["definitions"]["Predicate"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let unused: Vec<&String> = all.difference(&keys).collect();
    assert!(unused.is_empty(), "no example uses {unused:?}");
}

/// In `ctest batch`, a job's `run` may name scenarios, and a tenant held to
/// one instance at a time runs its parallel scenarios one after another:
/// every one passes, none is refused an instance.
#[test]
fn a_batch_job_runs_its_scenarios_within_its_tenants_instance_quota() {
    let project = faker_project(
        "vars: {count: {default: 50}}\nscenarios:\n  - {name: one, parallel: true, steps: [{op: read, config: {count: 50}}]}\n  - {name: two, parallel: true, steps: [{op: read, config: {count: 50}}]}\n  - {name: three, parallel: true, steps: [{op: discover}]}\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let jobs = dir.path().join("jobs.yaml");
    std::fs::write(
        &jobs,
        format!(
            "operator:\n  tenants:\n    acme:\n      max_concurrent_instances: 1\njobs:\n  - {{id: j, tenant: acme, plugin: {}, config: {{file: {}}}, test_config: {}, run: ['scenario/flow/.*']}}\n",
            plugin("source-faker").display(),
            faker_config().display(),
            project.path().join("ctest.yaml").display()
        ),
    )
    .unwrap();
    let out = dir.path().join("reports");
    let run = ctest(&[
        "batch",
        jobs.to_str().unwrap(),
        "--report-dir",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("acme/j/report.json")).unwrap())
            .unwrap();
    let passed: Vec<String> = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "passed")
        .map(|t| {
            format!(
                "{}/{}",
                t["suite"].as_str().unwrap(),
                t["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        passed,
        [
            "scenario/flow/one",
            "scenario/flow/two",
            "scenario/flow/three"
        ],
        "{report}"
    );
}

/// The README's scenario example is a file ctest loads as it stands, beside
/// the shared steps it imports.
#[test]
fn the_readmes_scenario_example_is_a_valid_file() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = &readme[readme.find("## Scenarios: a connector").unwrap()..];
    let start = section.find("```yaml\n").unwrap() + "```yaml\n".len();
    let example = &section[start..start + section[start..].find("```").unwrap()];
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("plugins/source-shop/shop.steps.yaml"),
        dir.path().join("shop.steps.yaml"),
    )
    .unwrap();
    let path = dir.path().join("readme.scenarios.yaml");
    std::fs::write(&path, example).unwrap();
    let loaded = ctest::scenarios::load::load(&path, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.cases.len(), 4);
}
