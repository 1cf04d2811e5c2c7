//! The sandbox's guarantees, proven by plugins that would notice their absence:
//! fresh instances per test, bounded output, and secrets that never leave.

use crate::support::*;

#[test]
fn every_test_gets_a_fresh_instance() {
    // Its `check` fails in an instance where `spec` ran before.
    let run = run_plugin("broken-state-between-calls", &faker_config(), &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.status_of("connection/check"), Some("PASS"));
}

#[test]
fn a_plugin_flooding_stdout_and_stderr_is_capped_not_trapped() {
    let run = run_plugin(
        "broken-read-floods-output",
        &faker_config(),
        &["--run", "basic_read/read"],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.status_of("basic_read/read"), Some("PASS"));
}

#[test]
fn secret_values_never_reach_the_output_or_the_report() {
    const SECRET: &str = "sk_live_7f3a9c2e41";
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("secrets.json");
    std::fs::write(
        &config,
        format!(r#"{{"count": 100, "api_key": "{SECRET}"}}"#),
    )
    .unwrap();
    let report = dir.path().join("report.json");
    let junit = dir.path().join("report.xml");
    // The plugin logs the key, prints it to stdout and stderr, and puts it in its
    // check failure message.
    let run = run_plugin(
        "broken-leaks-secret",
        &config,
        &[
            "--report-json",
            report.to_str().unwrap(),
            "--report-junit",
            junit.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    // The leak itself fails the secrets suite (host/tests/integration/verdicts.rs).
    assert_eq!(
        run.with_status("FAIL"),
        ["connection/check", "secrets/no_secret_leaked"]
    );
    let report = std::fs::read_to_string(&report).unwrap();
    let junit = std::fs::read_to_string(&junit).unwrap();
    assert!(
        junit.contains("[info] authenticating with api_key=**********"),
        "{junit}"
    );
    for (what, text) in [
        ("stdout", &run.stdout),
        ("stderr", &run.stderr),
        ("report", &report),
        ("JUnit report", &junit),
    ] {
        assert!(
            !text.contains(SECRET),
            "the secret leaked into {what}:\n{text}"
        );
    }
    // What was masked is still shown, masked, where the plugin put it.
    assert!(
        run.stdout.contains("the API refused the key **********"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("[info] authenticating with api_key=**********"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("[stdout] stdout: key **********"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("[stderr] stderr: key **********"),
        "{}",
        run.stdout
    );
    assert!(
        report.contains("the API refused the key **********"),
        "{report}"
    );
}

#[test]
fn a_second_run_loads_the_compiled_component_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let first = faker_with_cache(&cache, "spec/metadata");
    assert_eq!(first.code, 0, "{}", first.stderr);
    let entries: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert_eq!(entries.len(), 1, "one compiled entry per component");
    // Corrupt it: the next run must recompile, not trust it, and still pass.
    let entry = entries[0].clone();
    let mut bytes = std::fs::read(&entry).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    std::fs::write(&entry, &bytes).unwrap();
    let second = faker_with_cache(&cache, "spec/metadata");
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_ne!(
        std::fs::read(&entry).unwrap(),
        bytes,
        "the corrupt entry is replaced"
    );
}

#[test]
fn by_default_a_plugin_gets_no_files_environment_arguments_stdin_and_its_network_attempts_are_denied()
 {
    use std::net::{TcpListener, UdpSocket};
    // A loopback listener and a UDP socket the plugin is told about: nothing may reach them.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let udp = UdpSocket::bind(("127.0.0.1", port)).unwrap();
    udp.set_nonblocking(true).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("probe.json");
    std::fs::write(&config, format!(r#"{{"count": 10, "probe_port": {port}}}"#)).unwrap();
    let plugin = plugin("broken-probe-sandbox");
    let run = ctest_with_env(
        &[
            "run",
            plugin.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--run",
            "connection/check",
        ],
        &[("CTEST_PROBE_HOST_SECRET", "host-env-must-not-leak")],
    );
    // Each network attempt is denied and reported; the probe's own check
    // would add the list of what got through, if anything did.
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.with_status("FAIL"), ["connection/check"]);
    for denied in [
        format!("denied `127.0.0.1` port {port} over tcp during `check`"),
        format!("denied `127.0.0.1` port {port} over udp during `check`"),
        "denied `localhost` (a name lookup) during `check`".to_string(),
        format!(
            "which only the operator grants: if this run should reach it, pass --allow-host tcp://127.0.0.1:{port}"
        ),
    ] {
        assert!(run.stdout.contains(&denied), "{denied}:\n{}", run.stdout);
    }
    assert!(
        !run.stdout.contains("the sandbox let through"),
        "{}",
        run.stdout
    );
    assert!(
        listener.accept().is_err(),
        "a TCP connection reached the loopback listener"
    );
    let mut buf = [0u8; 16];
    assert!(
        udp.recv_from(&mut buf).is_err(),
        "a UDP datagram reached the loopback socket"
    );
}

/// The time limit is each read's (each call's), not one for all of a test's
/// reads: full_refresh/records_repeatable reads twice, 1.2 s each, under
/// `--timeout 2`. A read that takes longer than the limit by itself still
/// fails (broken-read-sleeps, in the golden files).
#[test]
fn each_read_has_its_own_time_limit() {
    // full_refresh reads fewer streams than basic_read, so basic_read's
    // read is not its first: it reads twice itself.
    let dir = tempfile::tempdir().unwrap();
    let test_config = own_reads_config(dir.path());
    let run = run_plugin(
        "good-read-takes-a-second",
        &faker_config(),
        &[
            "--timeout",
            "2",
            "--run",
            "full_refresh/records_repeatable",
            "--test-config",
            test_config.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.status_of("full_refresh/records_repeatable"),
        Some("PASS")
    );
    let report = run.report.as_ref().unwrap();
    let ms = report["tests"][0]["duration_ms"].as_u64().unwrap();
    assert!(ms >= 2400, "two reads of 1.2 s took {ms} ms");
    assert_eq!(report["tests"][0]["resources"]["instances"], 2);

    let over = run_plugin(
        "good-read-takes-a-second",
        &faker_config(),
        &["--timeout", "1", "--run", "basic_read/read"],
    );
    assert_eq!(over.code, 1, "{}", over.stdout);
    assert!(
        over.message_of("basic_read/read")
            .unwrap()
            .contains("did not finish within its time limit"),
        "{}",
        over.stdout
    );
}

/// full_refresh's first read is basic_read's when it would be the same read
/// (one instance, one read fewer), and the verdicts are what two reads of
/// its own give: a connector whose reads differ fails either way, naming
/// the same records.
/// The incremental slices are independent reads: a connector that made no
/// HTTP request in its first read has them read side by side on the
/// machine's cores, or as many at once as `--threads` says. Each read of
/// `good-read-takes-a-second` waits 1.2 s, so one at a time they take at
/// least 1.2 s each; side by side, less.
#[test]
fn slices_are_read_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"count": 100, "seed": 1, "records_per_state": 25}"#,
    )
    .unwrap();
    let run = run_plugin(
        "good-read-takes-a-second",
        &config,
        &["--run", "incremental/sequential_slices", "--exact"],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    let report = run.report.as_ref().unwrap();
    let test = &report["tests"][0];
    assert_eq!(test["name"], "sequential_slices", "{test}");
    assert_eq!(test["status"], "passed", "{test}");
    let reads = test["resources"]["instances"].as_u64().unwrap();
    let ms = test["duration_ms"].as_u64().unwrap();
    assert!(reads >= 4, "{reads} slices: {test}");
    if std::thread::available_parallelism().map_or(1, |n| n.get()) > 1 {
        assert!(
            ms < reads * 1200,
            "{reads} slice reads of 1.2 s each took {ms} ms: not side by side"
        );
    }
    // `--threads 1`: one at a time.
    let one = run_plugin(
        "good-read-takes-a-second",
        &config,
        &[
            "--run",
            "incremental/sequential_slices",
            "--exact",
            "--threads",
            "1",
        ],
    );
    assert_eq!(one.code, 0, "{}", one.stdout);
    let test = &one.report.as_ref().unwrap()["tests"][0];
    assert_eq!(test["resources"]["instances"].as_u64(), Some(reads));
    let ms = test["duration_ms"].as_u64().unwrap();
    assert!(
        ms >= reads * 1200,
        "{reads} slice reads one at a time took {ms} ms"
    );
    let zero = run_plugin("good-read-takes-a-second", &config, &["--threads", "0"]);
    assert_eq!(zero.code, 2, "{}", zero.stderr);
    assert!(zero.stderr.contains("--threads"), "{}", zero.stderr);
}

#[test]
fn full_refresh_takes_basic_reads_read_as_its_first() {
    let dir = tempfile::tempdir().unwrap();
    let own_reads = own_reads_config(dir.path());
    let instances = |run: &Run| {
        let report = run.report.as_ref().unwrap();
        report["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["suite"] == "full_refresh" && t["name"] == "records_repeatable")
            .map(|t| t["resources"]["instances"].clone())
    };
    let shared = run_plugin("source-faker", &faker_config(), &[]);
    assert_eq!(shared.code, 0, "{}", shared.stdout);
    assert_eq!(instances(&shared), Some(1.into()));
    let own = run_plugin(
        "source-faker",
        &faker_config(),
        &["--test-config", own_reads.to_str().unwrap()],
    );
    assert_eq!(own.code, 0, "{}", own.stdout);
    assert_eq!(instances(&own), Some(2.into()));

    let broken = "broken-full-refresh-not-repeatable";
    let shared = run_plugin(broken, &faker_config(), &[]);
    let own = run_plugin(
        broken,
        &faker_config(),
        &["--test-config", own_reads.to_str().unwrap()],
    );
    let test = "full_refresh/records_repeatable";
    assert_eq!(shared.status_of(test), Some("FAIL"), "{}", shared.stdout);
    assert_eq!(own.status_of(test), Some("FAIL"), "{}", own.stdout);
    assert_eq!(instances(&shared), Some(1.into()));
    assert_eq!(instances(&own), Some(2.into()));
    // The same first problems (the own reads leave products out, so the
    // counts differ).
    let problems = |run: &Run| {
        let message = run.message_of(test).unwrap().to_string();
        message
            .lines()
            .skip(1)
            .take(3)
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(problems(&shared), problems(&own));
    assert!(
        problems(&shared)[0].contains("stream `users`"),
        "{:?}",
        problems(&shared)
    );
}

/// A test configuration under which full_refresh reads `users` and
/// `purchases` only: not basic_read's read, so full_refresh makes its own two.
fn own_reads_config(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::write(
        dir.join("catalog.json"),
        r#"{"streams": [{"name": "users"}, {"name": "purchases"}]}"#,
    )
    .unwrap();
    let yaml = dir.join("acceptance-test-config.yml");
    std::fs::write(
        &yaml,
        "connector_image: x\nacceptance_tests:\n  full_refresh:\n    tests:\n      - configured_catalog_path: catalog.json\n",
    )
    .unwrap();
    yaml
}

/// source-faker's tests `filter` selects, its compiled form cached in `cache`.
fn faker_with_cache(cache: &std::path::Path, filter: &str) -> Run {
    let plugin = plugin("source-faker");
    let config = faker_config();
    let args = [
        "run",
        plugin.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--run",
        filter,
    ];
    ctest_with_env(&args, &[("CTEST_CACHE_DIR", cache.to_str().unwrap())])
}

/// A component compiled anew (a new version of a plugin) takes the functions
/// an earlier compile kept (cranelift's incremental cache) instead of
/// compiling them: the second compile writes no entry the cache held again
/// and few new ones, and the run is the same. Tampered entries are not used:
/// the compile makes and writes those functions again, and the run still
/// passes.
#[test]
fn a_new_compile_takes_the_functions_an_earlier_one_kept() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let functions = || -> Vec<(std::path::PathBuf, std::time::SystemTime)> {
        let mut files: Vec<_> = walk(&cache.join("functions"))
            .into_iter()
            .map(|p| {
                let modified = std::fs::metadata(&p).unwrap().modified().unwrap();
                (p, modified)
            })
            .collect();
        files.sort();
        files
    };
    let forget_components = || {
        for e in std::fs::read_dir(&cache).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "cwasm") {
                std::fs::remove_file(p).unwrap();
            }
        }
    };
    let first = faker_with_cache(&cache, "spec/");
    assert_eq!(first.code, 0, "{}", first.stderr);
    let kept = functions();
    assert!(
        kept.len() > 100,
        "source-faker has hundreds of functions: {}",
        kept.len()
    );

    forget_components();
    let second = faker_with_cache(&cache, "spec/");
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(second.stderr.contains("compiled"), "{}", second.stderr);
    assert_eq!(verdicts(&second), verdicts(&first));
    // Most functions came from the cache: none was written again, and few
    // new ones (cranelift gives some functions a new key at each compile).
    let after = functions();
    let rewritten = kept.iter().filter(|k| !after.contains(k)).count();
    let new = after.len() - (kept.len() - rewritten);
    assert_eq!(rewritten, 0, "an entry the cache held was written again");
    assert!(new * 4 < kept.len(), "{new} new of {}", kept.len());

    // Every entry tampered with: none is used, each is made and written again.
    for (path, _) in &kept {
        let mut bytes = std::fs::read(path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x5a;
        std::fs::write(path, &bytes).unwrap();
    }
    let tampered: Vec<Vec<u8>> = kept
        .iter()
        .map(|(p, _)| std::fs::read(p).unwrap())
        .collect();
    forget_components();
    let third = faker_with_cache(&cache, "spec/");
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert_eq!(verdicts(&third), verdicts(&first));
    let made_again = kept
        .iter()
        .zip(&tampered)
        .filter(|((p, _), t)| std::fs::read(p).unwrap() != **t)
        .count();
    // Every tampered entry that the compile asked for again was refused and
    // made again (those of the keys that changed are not asked for).
    assert!(
        made_again * 4 > kept.len() * 3,
        "{made_again} of {} made again",
        kept.len()
    );
    for ((p, _), t) in kept.iter().zip(&tampered) {
        let now = std::fs::read(p).unwrap();
        assert!(
            now == *t || now.len() == t.len(),
            "an entry made again is the same function"
        );
    }
}

/// Each test's name and status, as the run printed them.
fn verdicts(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .filter_map(|l| l.split_once(" (").map(|(v, _)| v.to_string()))
        .filter(|v| v.starts_with("PASS") || v.starts_with("FAIL") || v.starts_with("SKIP"))
        .collect()
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            files.extend(walk(&p));
        } else {
            files.push(p);
        }
    }
    files
}
