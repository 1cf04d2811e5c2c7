//! `ctest batch`: jobs of several tenants on one host, each reported as
//! `ctest run` would report it; a job that cannot run is that job's error.

use std::path::Path;

use crate::support::*;

/// A JSON report with what varies between runs left out: durations, CPU
/// time and peak memory (the counts stay).
fn verdicts(report: &Path) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    for t in v["tests"].as_array_mut().unwrap() {
        let t = t.as_object_mut().unwrap();
        t.remove("duration_ms");
        if let Some(r) = t.get_mut("resources").and_then(|r| r.as_object_mut()) {
            r.remove("cpu_ms");
            r.remove("checks_cpu_ms");
            r.remove("peak_memory_bytes");
        }
    }
    v
}

/// `ctest batch JOBS --report-dir OUT EXTRA...` with `env` set.
fn batch(jobs: &Path, out: &Path, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut args = vec![
        "batch",
        jobs.to_str().unwrap(),
        "--report-dir",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ctest_with_env(&args, env)
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn the_example_batch_runs_every_job_and_reports_each_as_ctest_run_would() {
    let jobs = root().join("examples/batch/jobs.yaml");
    plugins_dir();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    let run = batch(&jobs, &out, &["--jobs", "2"], &[]);
    // Mallory's job fails (its read spins past the operator's 2 s); the
    // others pass: exit 1, as `ctest run` with a failed test.
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let s = summary(&out);
    let status: Vec<(String, String)> = s["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                format!(
                    "{}/{}",
                    j["tenant"].as_str().unwrap(),
                    j["id"].as_str().unwrap()
                ),
                j["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        status,
        [
            ("acme/faker-1k", "passed"),
            ("acme/faker-basic-read", "passed"),
            ("globex/numbers", "passed"),
            ("mallory/spins", "failed"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(s["tenants"]["acme"]["jobs"], 2);
    assert_eq!(s["tenants"]["mallory"]["failed"], 1);
    // Accounting: the spinning read's CPU time is the tenant's: a good part
    // of the 2 s it was allowed (less when other tests share the cores), never
    // more than its wall time; the quiet tenant's jobs made instances.
    let cpu = s["tenants"]["mallory"]["resources"]["cpu_ms"]
        .as_u64()
        .unwrap();
    assert!((200..=4000).contains(&cpu), "mallory's CPU time: {cpu} ms");
    assert!(
        s["tenants"]["acme"]["resources"]["instances"]
            .as_u64()
            .unwrap()
            > 10
    );
    assert!(
        run.stdout.contains("FAIL mallory/spins: "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("PASS acme/faker-1k: "),
        "{}",
        run.stdout
    );
    // The console's per-tenant lines say what the summary says.
    let acme = &s["tenants"]["acme"];
    let line = format!(
        "tenant acme: 2 jobs, {} passed, 0 failed, {} skipped; {} ms of jobs, {} ms of plugin CPU,",
        acme["passed"], acme["skipped"], acme["duration_ms"], acme["resources"]["cpu_ms"]
    );
    assert!(run.stdout.contains(&line), "{line}\n{}", run.stdout);
    assert!(
        run.stdout.contains(&format!(
            "{} bytes of output",
            acme["resources"]["output_bytes"]
        )),
        "{}",
        run.stdout
    );

    // Each job's report is the one `ctest run` writes with the same options.
    let base = root().join("examples/batch");
    for (tenant, id, plugin, config, extra) in [
        (
            "acme",
            "faker-basic-read",
            "source-faker",
            base.join("faker-small.json"),
            vec![
                "--memory-limit",
                "128",
                "--timeout",
                "30",
                "--run",
                "basic_read/",
            ],
        ),
        (
            "mallory",
            "spins",
            "broken-read-infinite-loop",
            base.join("faker-small.json"),
            vec!["--memory-limit", "64", "--timeout", "2"],
        ),
    ] {
        let wasm = base.join(format!("../../target/plugins/{plugin}.wasm"));
        let alone = dir.path().join(format!("{id}.json"));
        let mut args = vec![
            "run",
            wasm.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--report-json",
            alone.to_str().unwrap(),
        ];
        args.extend(extra);
        ctest(&args);
        assert_eq!(
            verdicts(&out.join(tenant).join(id).join("report.json")),
            verdicts(&alone),
            "{tenant}/{id}: the batch's report and ctest run's"
        );
        assert!(out.join(tenant).join(id).join("junit.xml").exists());
        let html = std::fs::read_to_string(out.join(tenant).join(id).join("report.html")).unwrap();
        assert!(html.contains("<ul id=\"summary\""), "{tenant}/{id}");
        // The batch's page links it.
        let index = std::fs::read_to_string(out.join("report.html")).unwrap();
        assert!(
            index.contains(&format!("<a href=\"{tenant}/{id}/report.html\">{id}</a>")),
            "{index}"
        );
    }
}

#[test]
fn a_job_that_cannot_run_is_its_own_error_and_the_others_run() {
    let dir = tempfile::tempdir().unwrap();
    let faker = plugin("source-faker");
    let config = faker_config();
    std::fs::write(
        dir.path().join("jobs.yaml"),
        format!(
            r#"jobs:
  - id: good
    tenant: acme
    plugin: {faker}
    config: {{env: CTEST_BATCH_TEST_CONFIG}}
    run: [spec/]
  - id: missing
    tenant: acme
    plugin: no-such-plugin.wasm
    config: {{file: {config}}}
  - id: pinned-wrong
    tenant: globex
    plugin: {faker}
    digest: blake3:{zeros}
    config: {{file: {config}}}
"#,
            faker = faker.display(),
            config = config.display(),
            zeros = "0".repeat(64),
        ),
    )
    .unwrap();
    let out = dir.path().join("reports");
    let config_json = std::fs::read_to_string(&config).unwrap();
    let run = batch(
        &dir.path().join("jobs.yaml"),
        &out,
        &[],
        &[("CTEST_BATCH_TEST_CONFIG", config_json.as_str())],
    );
    // A job could not run: exit 2, as `ctest run` for a run that could not
    // happen; the good job ran all the same.
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let s = summary(&out);
    let jobs = s["jobs"].as_array().unwrap();
    assert_eq!(jobs[0]["status"], "passed", "{s:#}");
    assert_eq!(jobs[1]["status"], "error");
    assert!(
        jobs[1]["error"]
            .as_str()
            .unwrap()
            .contains("no-such-plugin.wasm"),
        "{s:#}"
    );
    assert_eq!(jobs[2]["status"], "error");
    let pinned = jobs[2]["error"].as_str().unwrap();
    assert!(
        pinned.contains("the plugin's digest is blake3:") && pinned.contains("the job pins"),
        "{pinned}"
    );
    assert!(run.stdout.contains("ERROR acme/missing"), "{}", run.stdout);
    assert_eq!(s["tenants"]["globex"]["errors"], 1);

    // Pinned to its real digest, the same job runs.
    let digest = blake3::hash(&std::fs::read(&faker).unwrap()).to_hex();
    let text = std::fs::read_to_string(dir.path().join("jobs.yaml"))
        .unwrap()
        .replace(&"0".repeat(64), digest.as_str())
        .replace(
            "plugin: no-such-plugin.wasm",
            &format!("plugin: {}", faker.display()),
        );
    std::fs::write(dir.path().join("jobs.yaml"), text).unwrap();
    let run = batch(
        &dir.path().join("jobs.yaml"),
        &out,
        &[],
        &[("CTEST_BATCH_TEST_CONFIG", config_json.as_str())],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn a_bad_job_file_is_one_message_with_every_problem_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jobs.yaml");
    std::fs::write(
        &file,
        r#"operator:
  defaults:
    max_concurrent_instances: 0
  tenants:
    acme:
      max_concurrent_jobs: 0
jobs:
  - id: a
    tenant: ../escape
    plugin: x.wasm
    config: {file: c.json, env: C}
  - id: a
    tenant: acme
    plugin: x.wasm
    config: {}
    digest: sha256:abc
  - id: a
    tenant: acme
    plugin: x.wasm
    config: {file: c.json}
"#,
    )
    .unwrap();
    let run = ctest(&["batch", file.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    for needle in [
        "jobs[0].tenant: \"../escape\" has characters other than",
        "jobs[2].id: `a` is the id of an earlier job of tenant `acme` too",
        "jobs[0].config: give either `file`",
        "jobs[1].config: give either `file`",
        "jobs[1].digest: \"sha256:abc\" is not `blake3:` and 64 hex digits",
        "operator.defaults.max_concurrent_instances: 0 would run none of the tenant's jobs",
        "operator.tenants.acme.max_concurrent_jobs: 0 would run none",
    ] {
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    }
    assert!(run.stderr.contains(&file.display().to_string()));
    // An unknown key: serde's message, with the line.
    std::fs::write(&file, "jobs:\n  - id: a\n    tenant: t\n    plugin: x\n    config: {file: c}\n    secrets: inline\n").unwrap();
    let run = ctest(&["batch", file.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(":6:") && run.stderr.contains("unknown field `secrets`"),
        "{}",
        run.stderr
    );
}

/// Two tenants run at once, each with a plugin that leaks its own secret
/// everywhere it can (logs, stdout, stderr, its check message): neither
/// secret appears in any output (each job masks its own), and each job's
/// reports are in its own directory. A tenant's test configuration cannot
/// reach another tenant's files.
#[test]
fn concurrent_tenants_keep_their_secrets_and_files_to_themselves() {
    const ACME: &str = "acme-secret-9f3b2c71d";
    const GLOBEX: &str = "globex-secret-51e07aa4";
    let dir = tempfile::tempdir().unwrap();
    let leaks = plugin("broken-leaks-secret");
    for tenant in ["acme", "globex"] {
        std::fs::create_dir_all(dir.path().join(tenant)).unwrap();
    }
    // Globex's test configuration points its config at Acme's file.
    std::fs::write(
        dir.path().join("globex/ctest.yaml"),
        "config_path: ../acme/config.json\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("acme/config.json"),
        format!(r#"{{"count": 10, "api_key": "{ACME}"}}"#),
    )
    .unwrap();
    let mut jobs = String::from("jobs:\n");
    for i in 0..3 {
        for (tenant, var) in [("acme", "ACME_CONFIG"), ("globex", "GLOBEX_CONFIG")] {
            jobs.push_str(&format!(
                "  - {{id: leak-{i}, tenant: {tenant}, plugin: {}, config: {{env: {var}}}}}\n",
                leaks.display()
            ));
        }
    }
    jobs.push_str(&format!(
        "  - {{id: steal, tenant: globex, plugin: {}, config: {{file: globex/none.json}}, test_config: globex/ctest.yaml}}\n",
        leaks.display()
    ));
    std::fs::write(dir.path().join("jobs.yaml"), jobs).unwrap();
    let out = dir.path().join("reports");
    let acme_config = format!(r#"{{"count": 10, "api_key": "{ACME}"}}"#);
    let globex_config = format!(r#"{{"count": 10, "api_key": "{GLOBEX}"}}"#);
    let run = batch(
        &dir.path().join("jobs.yaml"),
        &out,
        &["--jobs", "4"],
        &[
            ("ACME_CONFIG", acme_config.as_str()),
            ("GLOBEX_CONFIG", globex_config.as_str()),
        ],
    );
    // The leaking jobs fail (their check message and the secrets suite);
    // the stealing job cannot run: its config file does not exist, and the
    // test configuration's path to Acme's is refused before that.
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(out.join("summary.json").exists(), "{}", run.stderr);
    let s = summary(&out);
    let steal = s["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == "steal")
        .unwrap();
    assert_eq!(steal["status"], "error", "{s:#}");
    assert!(
        steal["error"]
            .as_str()
            .unwrap()
            .contains("config_path: `../acme/config.json` climbs out with `..`"),
        "{s:#}"
    );
    let mut outputs = vec![
        ("stdout".to_string(), run.stdout.clone()),
        ("stderr".to_string(), run.stderr.clone()),
        (
            "summary".to_string(),
            std::fs::read_to_string(out.join("summary.json")).unwrap(),
        ),
    ];
    for tenant in ["acme", "globex"] {
        for i in 0..3 {
            let job = out.join(tenant).join(format!("leak-{i}"));
            for file in ["report.json", "junit.xml", "report.html"] {
                let text = std::fs::read_to_string(job.join(file)).unwrap();
                // Each job's report is its own plugin's: it saw the leak,
                // masked.
                assert!(text.contains("**********"), "{tenant}/leak-{i}/{file}");
                outputs.push((format!("{tenant}/leak-{i}/{file}"), text));
            }
        }
    }
    for (what, text) in &outputs {
        for secret in [ACME, GLOBEX] {
            assert!(!text.contains(secret), "{secret} in {what}:\n{text}");
        }
    }
    assert!(
        !out.join("globex/steal/report.json").exists(),
        "the refused job wrote no report"
    );
}

/// The operator's HTTP quotas hold per job: a tenant past its request or
/// response-bytes quota fails, naming the quota; a tenant without one, on
/// the same API at the same time, passes.
#[test]
fn a_job_past_its_http_quota_fails_naming_it_and_others_are_unaffected() {
    let server = shop_api::Server::start(shop_api::Options {
        api_key: "shop-test-key".into(),
        ..Default::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = server.base_url();
    let config = shop_config(dir.path(), &url, "shop-test-key", 50);
    let shop = plugin("source-shop");
    std::fs::write(
        dir.path().join("jobs.yaml"),
        format!(
            r#"operator:
  defaults:
    allow_hosts: ["{url}"]
  tenants:
    chatty:
      max_http_requests: 5
    greedy:
      max_http_response_bytes: 2000
jobs:
  - {{id: shop, tenant: quiet, plugin: {shop}, config: {{file: {config}}}, http: live}}
  - {{id: shop, tenant: chatty, plugin: {shop}, config: {{file: {config}}}, http: live}}
  - {{id: shop, tenant: greedy, plugin: {shop}, config: {{file: {config}}}, http: live}}
"#,
            shop = shop.display(),
            config = config.display(),
        ),
    )
    .unwrap();
    let out = dir.path().join("reports");
    let run = batch(&dir.path().join("jobs.yaml"), &out, &[], &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let messages = |tenant: &str| -> Vec<String> {
        verdicts(&out.join(tenant).join("shop/report.json"))["tests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["status"] == "failed")
            .map(|t| t["message"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(messages("quiet"), Vec::<String>::new());
    let chatty = messages("chatty");
    assert!(
        !chatty.is_empty()
            && chatty.iter().all(|m| m.contains(
                "the run's HTTP requests are past the operator's quota of 5 per run (`--max-http-requests`; `max_http_requests` in a job file)"
            )),
        "{chatty:#?}"
    );
    let greedy = messages("greedy");
    assert!(
        !greedy.is_empty()
            && greedy.iter().any(|m| m.contains(
                "the run's HTTP responses are past the operator's quota of 2000 bytes per run (`--max-http-response-bytes`; `max_http_response_bytes` in a job file)"
            )),
        "{greedy:#?}"
    );
    let s = summary(&out);
    assert_eq!(s["tenants"]["quiet"]["failed"], 0, "{s:#}");
    server.stop();
}

/// Runs Mallory's spinning job (a quota granted as `grant: value`, the tests
/// allowed 30 s each) beside Acme's faker job, and checks that the quota,
/// not the test limit, stopped it and that Acme passed: Mallory's messages
/// by test name, and the summary.
fn spinning_job_beside_a_quiet_one(grant: &str) -> (impl Fn(&str) -> String, serde_json::Value) {
    noisy_job_beside_a_quiet_one("broken-read-infinite-loop", grant)
}

/// [`spinning_job_beside_a_quiet_one`] with Mallory's job running `noisy`.
fn noisy_job_beside_a_quiet_one(
    noisy: &str,
    grant: &str,
) -> (impl Fn(&str) -> String, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("jobs.yaml"),
        format!(
            r#"operator:
  defaults:
    timeout_seconds: 30
  tenants:
    mallory:
      {grant}
jobs:
  - {{id: spins, tenant: mallory, plugin: {spins}, config: {{file: {config}}}}}
  - {{id: faker, tenant: acme, plugin: {faker}, config: {{file: {config}}}}}
"#,
            spins = plugin(noisy).display(),
            faker = plugin("source-faker").display(),
            config = faker_config().display(),
        ),
    )
    .unwrap();
    let out = dir.path().join("reports");
    let started = std::time::Instant::now();
    let run = batch(&dir.path().join("jobs.yaml"), &out, &["--jobs", "2"], &[]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{grant}, not the 30 s test limit, stopped the job"
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let s = summary(&out);
    assert_eq!(s["tenants"]["acme"]["failed"], 0, "{s:#}");
    let report = verdicts(&out.join("mallory/spins/report.json"));
    let message = move |name: &str| {
        report["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .and_then(|t| t["message"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    (message, s)
}

/// The operator's wall-time quota per job: the test it cut short and every
/// test after it fail naming the quota.
#[test]
fn a_job_past_its_wall_time_quota_stops_there_naming_it() {
    let (message, _) = spinning_job_beside_a_quiet_one("max_job_seconds: 1.5");
    let quota =
        "the run's wall-time quota of 1.5 s (`--max-run-seconds`; `max_job_seconds` in a job file)";
    let read = message("read");
    assert!(
        read.starts_with(&format!("{quota} ran out during this test"))
            && read.contains("the test then failed: expected a full-refresh read"),
        "{read}"
    );
    let after = message("unknown_stream_error");
    assert!(
        after.starts_with(&format!("{quota} was used up before this test")),
        "{after}"
    );
}

/// The operator's CPU budget per job: the call that used it up is stopped
/// (a read that spins), and every call after it fails naming the budget.
#[test]
fn a_job_past_its_cpu_budget_is_stopped_naming_it() {
    let (message, s) = spinning_job_beside_a_quiet_one("max_job_cpu_seconds: 0.5");
    let budget = "the run's CPU budget of 0.5 s (`--max-run-cpu-seconds`; `max_job_cpu_seconds` in a job file) was used up at";
    let read = message("read");
    assert!(
        read.contains(&format!("{budget} `read (reader.next)`")),
        "{read}"
    );
    let after = message("unknown_stream_error");
    assert!(
        after.contains(&format!("{budget} `instantiate`")),
        "{after}"
    );
    let cpu = s["tenants"]["mallory"]["resources"]["cpu_ms"]
        .as_u64()
        .unwrap();
    assert!((400..=1500).contains(&cpu), "mallory's CPU time: {cpu} ms");
}

/// The operator's output quota per job: a plugin that floods stdout (a
/// megabyte twice per 500 messages) is stopped at the call that passes the
/// quota, every call after it fails naming it, and the bytes are counted.
#[test]
fn a_job_past_its_output_quota_fails_naming_it() {
    let (message, s) =
        noisy_job_beside_a_quiet_one("broken-read-floods-output", "max_job_output_bytes: 8000000");
    let quota = "the run's output quota of 8000000 bytes (`--max-run-output-bytes`; `max_job_output_bytes` in a job file) was used up at";
    let read = message("read");
    assert!(
        read.contains(&format!("{quota} `read (reader.next)`")),
        "{read}"
    );
    let after = message("unknown_stream_error");
    assert!(after.contains(&format!("{quota} `instantiate`")), "{after}");
    let mallory = s["tenants"]["mallory"]["resources"]["output_bytes"]
        .as_u64()
        .unwrap();
    assert!(
        (8_000_000..=12_000_000).contains(&mallory),
        "mallory's output: {mallory} bytes"
    );
    // Acme's faker run sent its records, states and statuses: counted, and
    // far from any quota.
    let acme = s["tenants"]["acme"]["resources"]["output_bytes"]
        .as_u64()
        .unwrap();
    assert!(
        (100_000..8_000_000).contains(&acme),
        "acme's output: {acme} bytes"
    );
}

/// A tenant may hold `max_concurrent_instances` instances at once: with one,
/// its jobs run one after another (another tenant's job beside them), and
/// each passes: the quota is met by the queue, never by failing a test.
#[test]
fn a_tenant_with_one_instance_slot_runs_its_jobs_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let job = |id: &str, tenant: &str| {
        format!(
            "  - {{id: {id}, tenant: {tenant}, plugin: {}, config: {{file: {}}}}}\n",
            plugin("source-faker").display(),
            faker_config().display()
        )
    };
    let text = format!(
        "operator:\n  tenants:\n    acme:\n      max_concurrent_instances: 1\njobs:\n{}{}{}{}",
        job("a1", "acme"),
        job("a2", "acme"),
        job("a3", "acme"),
        job("m1", "mallory"),
    );
    std::fs::write(dir.path().join("jobs.yaml"), text).unwrap();
    let out = dir.path().join("reports");
    let run = batch(&dir.path().join("jobs.yaml"), &out, &["--jobs", "3"], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let s = summary(&out);
    let mut spans: Vec<(u64, u64)> = s["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["tenant"] == "acme")
        .map(|j| {
            let start = j["started_ms"].as_u64().unwrap();
            (start, start + j["duration_ms"].as_u64().unwrap())
        })
        .collect();
    spans.sort();
    assert_eq!(spans.len(), 3);
    for pair in spans.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "acme's jobs overlapped: {spans:?}");
    }
}

/// A job file of six small jobs of three tenants, one of which cannot run
/// (its plugin is missing); in `dir`.
fn six_jobs(dir: &Path) -> std::path::PathBuf {
    let faker = plugin("source-faker");
    let config = faker_config();
    let job = |id: &str, tenant: &str, plugin: &Path, run: &str| {
        format!(
            "  - {{id: {id}, tenant: {tenant}, plugin: {}, config: {{file: {}}}, run: [{run}]}}\n",
            plugin.display(),
            config.display()
        )
    };
    let mut text = String::from("jobs:\n");
    for (id, tenant, run) in [
        ("a1", "acme", "basic_read/"),
        ("a2", "acme", "spec/"),
        ("a3", "acme", "discovery/"),
        ("g1", "globex", "connection/check"),
        ("g2", "globex", "spec/"),
    ] {
        text.push_str(&job(id, tenant, &faker, run));
    }
    text.push_str(&job("m1", "mallory", &dir.join("missing.wasm"), "spec/"));
    let path = dir.join("jobs.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The jobs a report directory's summary holds: `tenant/id` with its
/// status and counts.
fn jobs_of(dir: &Path) -> Vec<String> {
    summary(dir)["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            format!(
                "{}/{} {} {}/{}/{}",
                j["tenant"].as_str().unwrap(),
                j["id"].as_str().unwrap(),
                j["status"].as_str().unwrap(),
                j["passed"],
                j["failed"],
                j["skipped"]
            )
        })
        .collect()
}

/// (suite name, tests) of a JUnit file, sorted. Every test case's
/// classname is its suite's name (`tenant/job/connector@version/suite`), so
/// two tenants' runs of one connector do not collide.
fn junit_suites(path: &Path) -> Vec<(String, usize)> {
    let report =
        quick_junit::Report::deserialize_from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for suite in &report.test_suites {
        for case in &suite.test_cases {
            assert_eq!(case.classname.as_deref(), Some(suite.name.as_str()));
        }
    }
    let mut suites: Vec<(String, usize)> = report
        .test_suites
        .iter()
        .map(|s| (s.name.as_str().to_string(), s.test_cases.len()))
        .collect();
    suites.sort();
    suites
}

/// `--partition hash:K/N` and `slice:K/N` deal each job to exactly one
/// shard; `ctest merge-reports` of the shards gives what one batch of the
/// whole file gives: the same jobs with the same verdicts, each job's
/// reports, one JUnit file; exit codes as the batch's. The engines'
/// variables pick the same shards as the flag.
#[test]
fn shards_of_a_job_file_merge_into_what_one_batch_writes() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = six_jobs(dir.path());
    let whole = dir.path().join("whole");
    let run = batch(&jobs, &whole, &["--jobs", "2"], &[]);
    assert_eq!(run.code, 2, "mallory's job cannot run: {}", run.stdout);
    let expected = jobs_of(&whole);
    assert_eq!(expected.len(), 6);
    let expected_junit = junit_suites(&whole.join("junit.xml"));
    assert!(
        expected_junit.iter().any(|(name, n)| {
            name.starts_with("acme/a1/source-faker@") && name.ends_with("/basic_read") && *n == 10
        }) && expected_junit.contains(&("mallory/m1".to_string(), 1)),
        "{expected_junit:?}"
    );
    for mode in ["hash", "slice"] {
        let mut shards = Vec::new();
        let mut dealt = Vec::new();
        for k in 1..=3 {
            let out = dir.path().join(format!("{mode}-{k}"));
            let run = batch(&jobs, &out, &["--partition", &format!("{mode}:{k}/3")], &[]);
            assert!(run.code == 0 || run.code == 2, "{}", run.stderr);
            assert!(
                run.stdout
                    .contains(&format!("shard {k}/3 ({mode}, from --partition)"))
            );
            dealt.extend(jobs_of(&out));
            shards.push(out.to_str().unwrap().to_string());
        }
        dealt.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(dealt, want, "{mode}: every job in exactly one shard");
        let merged = dir.path().join(format!("{mode}-merged"));
        let mut args = vec!["merge-reports"];
        args.extend(shards.iter().map(String::as_str));
        args.extend(["--report-dir", merged.to_str().unwrap()]);
        let run = ctest(&args);
        assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
        assert_eq!(jobs_of(&merged), expected, "{mode}: merged in file order");
        assert_eq!(junit_suites(&merged.join("junit.xml")), expected_junit);
        assert_eq!(
            verdicts(&merged.join("acme/a1/report.json")),
            verdicts(&whole.join("acme/a1/report.json"))
        );
        assert_eq!(summary(&merged)["merged_from"].as_array().unwrap().len(), 3);
        assert!(
            run.stdout.contains("tenant acme: 3 jobs,"),
            "{}",
            run.stdout
        );
    }
    // GitLab (1-based), Buildkite (0-based) and Kubernetes (0-based, the
    // total given) name the same shard as `hash:2/3`.
    let by_flag = jobs_of(&dir.path().join("hash-2"));
    for (env, extra) in [
        (vec![("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "3")], vec![]),
        (
            vec![
                ("BUILDKITE_PARALLEL_JOB", "1"),
                ("BUILDKITE_PARALLEL_JOB_COUNT", "3"),
            ],
            vec!["--partition", "hash"],
        ),
        (
            vec![("JOB_COMPLETION_INDEX", "1")],
            vec!["--partition", "hash", "--partition-total", "3"],
        ),
    ] {
        let out = dir.path().join("engine");
        let _ = std::fs::remove_dir_all(&out);
        let run = batch(&jobs, &out, &extra, &env);
        assert!(
            run.stdout.contains("shard 2/3 (hash, from "),
            "{}",
            run.stdout
        );
        assert_eq!(jobs_of(&out), by_flag, "{env:?}");
    }
}

/// Merging checks the shards: all missing jobs, a job merged twice and a
/// shard of another file are each named, in one message, exit 2, and
/// nothing is written.
#[test]
fn merging_names_missing_and_doubled_jobs_and_shards_of_another_file() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = six_jobs(dir.path());
    let shard = |k: usize, out: &str| {
        let out = dir.path().join(out);
        batch(&jobs, &out, &["--partition", &format!("slice:{k}/3")], &[]);
        out
    };
    let (one, two) = (shard(1, "s1"), shard(2, "s2"));
    let merged = dir.path().join("merged");
    let merge = |dirs: &[&Path]| {
        let mut args = vec!["merge-reports".to_string()];
        args.extend(dirs.iter().map(|d| d.display().to_string()));
        args.extend(["--report-dir".into(), merged.display().to_string()]);
        ctest(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let run = merge(&[&one, &two]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("2 of the 6 jobs of ")
            && run.stderr.contains("are in no shard: acme/a3, mallory/m1"),
        "{}",
        run.stderr
    );
    let run = merge(&[&one, &two, &one]);
    assert!(
        run.stderr.contains("job acme/a1 is in more than one shard")
            && run
                .stderr
                .contains("job globex/g1 is in more than one shard")
            && run.stderr.contains("are in no shard"),
        "{}",
        run.stderr
    );
    // A shard of another job file (one job fewer).
    let other_dir = tempfile::tempdir().unwrap();
    let other = six_jobs(other_dir.path());
    let text = std::fs::read_to_string(&other).unwrap();
    std::fs::write(
        &other,
        text.lines().take(5).collect::<Vec<_>>().join("\n") + "\n",
    )
    .unwrap();
    let foreign = dir.path().join("foreign");
    batch(&other, &foreign, &["--partition", "slice:3/3"], &[]);
    let run = merge(&[&one, &two, &foreign]);
    assert!(
        run.stderr.contains("merge the shards of one job file"),
        "{}",
        run.stderr
    );
    let run = merge(&[&dir.path().join("nowhere")]);
    assert!(
        run.stderr.contains("not a `ctest batch` summary"),
        "{}",
        run.stderr
    );
    // A tampered summary whose job names a path outside the output.
    let summary_path = two.join("summary.json");
    let text = std::fs::read_to_string(&summary_path).unwrap();
    std::fs::write(
        &summary_path,
        text.replacen("\"tenant\": \"acme\"", "\"tenant\": \"../../evil\"", 1),
    )
    .unwrap();
    let third = shard(3, "s3");
    let run = merge(&[&one, &two, &third]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("of tenant \"../../evil\" is not a name `ctest batch` writes"),
        "{}",
        run.stderr
    );
    assert!(
        !merged.exists(),
        "nothing is written when the merge is refused"
    );
    assert!(!dir.path().join("evil").exists());
}

/// An empty shard says so and passes; a job's `run` filter that selects no
/// test refuses the job file (`--no-tests fail`, the default) on every
/// shard, or is dropped with a warning (`--no-tests warn`).
#[test]
fn an_empty_shard_passes_and_a_filter_selecting_nothing_fails() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = dir.path().join("jobs.yaml");
    std::fs::write(
        &jobs,
        format!(
            "jobs:\n  - {{id: only, tenant: acme, plugin: {}, config: {{file: {}}}, run: [spec/]}}\n",
            plugin("source-faker").display(),
            faker_config().display()
        ),
    )
    .unwrap();
    let out = dir.path().join("empty");
    let run = batch(&jobs, &out, &["--partition", "slice:2/2"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("this shard has none of the 1 jobs of"),
        "{}",
        run.stdout
    );
    assert_eq!(summary(&out)["jobs"].as_array().unwrap().len(), 0);

    std::fs::write(
        &jobs,
        format!(
            "jobs:\n  - {{id: typo, tenant: acme, plugin: {}, config: {{file: {}}}, run: [spec/, no_such_test]}}\n  - {{id: none, tenant: acme, plugin: {0}, config: {{file: {1}}}, run: [nothing_at_all]}}\n",
            plugin("source-faker").display(),
            faker_config().display()
        ),
    )
    .unwrap();
    // Refused on a shard that runs neither job too.
    for extra in [&[][..], &["--partition", "slice:3/3"][..]] {
        let run = batch(&jobs, &dir.path().join("refused"), extra, &[]);
        assert_eq!(run.code, 2);
        assert!(
            run.stderr
                .contains("jobs[0].run: \"no_such_test\" selects no test")
                && run
                    .stderr
                    .contains("jobs[1].run: \"nothing_at_all\" selects no test"),
            "{}",
            run.stderr
        );
    }
    let out = dir.path().join("warned");
    let run = batch(&jobs, &out, &["--no-tests", "warn"], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("warning: "), "{}", run.stderr);
    // The typo is dropped: `spec/` runs; the job left with no filter runs nothing.
    assert_eq!(
        jobs_of(&out),
        ["acme/typo passed 8/0/0", "acme/none passed 0/0/0"]
    );
}
