//! Hardening for untrusted tenants: each attack class, tried by a hostile
//! plugin or a hostile input, and seen contained.
//!
//! - network: a spec or a config value cannot grant non-public addresses;
//!   request bodies are capped; replay honours the response cap;
//! - host resources: an instance cannot hold unbounded wasi:http resources;
//! - compilation: refused past the pre-scan's bounds, stopped at its deadline;
//! - paths: a test configuration cannot name files outside its directory;
//! - secrets: every encoding of a secret is masked in every output;
//! - console and reports: plugin text escaped and clipped.
//!
//! The compile cache's authentication, the memory quota over all memories and
//! tables, schema fan-out and the redactor's forms are unit-tested beside
//! their code (`sandbox::cache`, `sandbox`, `schema`, `redact`).

use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::Ordering;

use crate::support::*;

/// Runs only `plugin`'s check (with `extra` arguments), which the attack must
/// fail; the run, for what the failure says.
fn check_fails(plugin: &str, config: &Path, extra: &[&str]) -> Run {
    let run = run_plugin(
        plugin,
        config,
        &[&["--run", "connection/check"], extra].concat(),
    );
    assert_eq!(
        run.status_of("connection/check"),
        Some("FAIL"),
        "{}",
        run.stdout
    );
    run
}

fn listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

#[test]
fn a_spec_cannot_grant_itself_loopback_or_metadata_addresses() {
    let (listener, port) = listener();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("probe.json");
    std::fs::write(
        &config,
        format!(r#"{{"count": 10, "probe_port": {port}, "target": "127.0.0.1"}}"#),
    )
    .unwrap();
    let run = check_fails("broken-hostile-spec-grants-loopback", &config, &[]);
    assert!(
        run.stdout.contains(&format!(
            "the network policy denied `127.0.0.1` port {port} over tcp during `check`"
        )) && run.stdout.contains("which only the operator grants")
            && run.stdout.contains(&format!(
                "the operator passes --allow-host tcp://127.0.0.1:{port}"
            )),
        "{}",
        run.stdout
    );
    assert!(listener.accept().is_err(), "the connection arrived");

    // The operator's grant, and only it, lets the connection through.
    let grant = format!("tcp://127.0.0.1:{port}");
    let run = run_plugin(
        "broken-hostile-spec-grants-loopback",
        &config,
        &["--run", "connection/check", "--allow-host", &grant],
    );
    assert!(
        run.stdout.contains("the sandbox let through"),
        "{}",
        run.stdout
    );
    assert!(listener.accept().is_ok());
}

/// A tenant's input set points the config at a file whose `base_url` is a
/// private address: `${base_url}` in the spec does not widen the policy.
#[test]
fn a_config_value_cannot_widen_the_policy_to_a_private_address() {
    let server = shop_api::Server::start(shop_api::Options::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = shop_config(dir.path(), &server.base_url(), "shop-test-key", 50);
    std::fs::write(
        dir.path().join("ctest.yaml"),
        "acceptance_tests:\n  connection:\n    tests:\n      - config_path: shop.json\n",
    )
    .unwrap();
    let yaml = dir.path().join("ctest.yaml");
    let run = run_plugin(
        "source-shop",
        &config,
        &[
            "--http",
            "live",
            "--test-config",
            yaml.to_str().unwrap(),
            "--run",
            "connection/check",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("a non-public address")
            && run.stdout.contains("which only the operator grants")
            && run.stdout.contains("--allow-host http://127.0.0.1:"),
        "{}",
        run.stdout
    );
    assert_eq!(server.stats.requests.load(Ordering::Relaxed), 0);
}

/// source-shop writes a row to a local shop API, its request body capped at
/// 20 bytes, with or without the operator's grant of the server: the run
/// and how many requests and writes the server saw.
fn write_with_a_small_body_cap(granted: bool) -> (Run, u64, u64) {
    let server = shop_api::Server::start(shop_api::Options::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = shop_config(dir.path(), &server.base_url(), "shop-test-key", 50);
    let args = [
        "--allow-writes",
        "--http",
        "live",
        "--run",
        "write_back/write_to_source",
        "--max-request-size",
        "20",
    ];
    let run = if granted {
        run_shop("source-shop-with-write-back", &config, &args)
    } else {
        run_plugin("source-shop-with-write-back", &config, &args)
    };
    let requests = server.stats.requests.load(Ordering::Relaxed);
    (run, requests, server.stats.writes.load(Ordering::Relaxed))
}

#[test]
fn request_bodies_are_capped_before_they_are_sent() {
    let (run, _, writes) = write_with_a_small_body_cap(true);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("is larger than 20 bytes")
            && run.stdout.contains("--max-request-size BYTES"),
        "{}",
        run.stdout
    );
    assert_eq!(writes, 0);
}

/// Without the operator's grant of the loopback server, the write is denied
/// on its method and URL: the policy decided before the body was read (the
/// body's cap, far below the body, is never reached).
#[test]
fn the_policy_decides_before_the_request_body_is_read() {
    let (run, requests, _) = write_with_a_small_body_cap(false);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("the network policy denied `127.0.0.1`")
            && !run.stdout.contains("is larger than 20 bytes"),
        "{}",
        run.stdout
    );
    assert_eq!(requests, 0);
}

#[test]
fn replay_honours_the_response_size_limit() {
    let server = shop_api::Server::start(shop_api::Options::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = shop_config(dir.path(), &server.base_url(), "shop-test-key", 50);
    let cassettes = dir.path().join("cassettes");
    let cassettes = cassettes.to_str().unwrap();
    let args = ["--run", "connection/check", "--cassette-dir", cassettes];
    let record = run_shop(
        "source-shop",
        &config,
        &[&args[..], &["--http", "record"]].concat(),
    );
    assert_eq!(record.code, 0, "{}", record.stdout);
    server.stop();
    let replay = run_plugin(
        "source-shop",
        &config,
        &[
            &args[..],
            &["--http", "replay", "--max-response-size", "10"],
        ]
        .concat(),
    );
    assert_eq!(replay.code, 1, "{}", replay.stdout);
    assert!(
        replay.stdout.contains("the recorded response to GET")
            && replay.stdout.contains("is larger than 10 bytes"),
        "{}",
        replay.stdout
    );
}

#[test]
fn an_instance_cannot_hold_unbounded_host_resources() {
    let run = check_fails("broken-hostile-http-fields", &faker_config(), &[]);
    assert!(
        run.stdout
            .contains("the plugin held more than 4096 host resources at once")
            && !run.stdout.contains("the sandbox let the plugin hold"),
        "{}",
        run.stdout
    );
}

#[test]
fn the_states_a_read_makes_ctest_keep_are_within_a_budget() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    // 1,000 users and purchases, a state every 10 records: 200 states of a
    // megabyte each.
    std::fs::write(&config, r#"{"count": 1000, "records_per_state": 10}"#).unwrap();
    let run = run_plugin(
        "broken-hostile-huge-states",
        &config,
        &["--run", "incremental/first_read_emits_records_and_state"],
    );
    assert_eq!(
        run.status_of("incremental/first_read_emits_records_and_state"),
        Some("FAIL"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "the read's states add up to more than 64 MiB, the most ctest keeps of one read"
        ),
        "{}",
        run.stdout
    );
}

/// A component with one core function of `body_bytes` of `nop`s.
fn component_with_function(body_bytes: usize) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    fn section(id: u8, content: &[u8], out: &mut Vec<u8>) {
        out.push(id);
        leb(content.len(), out);
        out.extend_from_slice(content);
    }
    let mut body = vec![0x00]; // no locals
    body.extend(std::iter::repeat_n(0x01u8, body_bytes)); // nop
    body.push(0x0b);
    let mut code = vec![0x01];
    leb(body.len(), &mut code);
    code.extend_from_slice(&body);
    let mut module = b"\0asm\x01\0\0\0".to_vec();
    section(1, &[0x01, 0x60, 0x00, 0x00], &mut module);
    section(3, &[0x01, 0x00], &mut module);
    section(10, &code, &mut module);
    let mut component = b"\0asm\x0d\0\x01\0".to_vec();
    section(1, &module, &mut component);
    component
}

#[test]
fn compilation_is_bounded_before_and_while_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    // A function past the pre-scan's bound is refused before compiling.
    let huge = dir.path().join("huge-function.wasm");
    std::fs::write(&huge, component_with_function(3 << 20)).unwrap();
    let run = ctest(&[
        "run",
        huge.to_str().unwrap(),
        "--config",
        faker_config().to_str().unwrap(),
        "--no-cache",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("ctest does not compile this component: function 0 is")
            && run.stderr.contains("at most 2097152 are compiled"),
        "{}",
        run.stderr
    );

    // A compilation past its time limit is stopped (the child compiling it
    // is killed) and named.
    let run = ctest(&[
        "run",
        plugin("source-faker").to_str().unwrap(),
        "--config",
        faker_config().to_str().unwrap(),
        "--no-cache",
        "--compile-timeout",
        "0.001",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("compiling it took longer than the limit of 0 s, so it was stopped")
            && run.stderr.contains("--compile-timeout SECONDS"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_world_writable_cache_directory_is_not_used() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = ctest_with_env(
        &[
            "run",
            plugin("source-faker").to_str().unwrap(),
            "--config",
            faker_config().to_str().unwrap(),
            "--cache-dir",
            cache.to_str().unwrap(),
            "--run",
            "spec/",
        ],
        &[(
            "CTEST_CACHE_KEY_FILE",
            dir.path().join("key").to_str().unwrap(),
        )],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("warning: not using the compile cache")
            && run.stderr.contains("can be written by other users")
            && run.stderr.contains("compiling instead"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 0);
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn paths_in_a_test_configuration_stay_in_its_directory() {
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "secret.json", r#"{"count": 10}"#);
    let project = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.json");
    std::os::unix::fs::symlink(&secret, project.path().join("link.json")).unwrap();
    let relative_out = format!(
        "../{}/secret.json",
        outside.path().file_name().unwrap().to_str().unwrap()
    );
    let cases = [
        (
            format!("config_path: {}\n", secret.display()),
            "config_path: `",
            "is an absolute path",
        ),
        (
            format!("config_path: {relative_out}\n"),
            "config_path: `../",
            "climbs out with `..`",
        ),
        (
            "config_path: link.json\n".to_string(),
            "config_path: `link.json`",
            "leads out through a symbolic link",
        ),
        (
            format!(
                "cassette_dir: ../{}\n",
                outside.path().file_name().unwrap().to_str().unwrap()
            ),
            "cassette_dir: `../",
            "climbs out with `..`",
        ),
        (
            format!(
                "acceptance_tests:\n  connection:\n    tests:\n      - config_path: {relative_out}\n"
            ),
            "acceptance_tests.connection.tests[0].config_path: `../",
            "climbs out with `..`",
        ),
        (
            format!(
                "acceptance_tests:\n  basic_read:\n    tests:\n      - expect_records:\n          path: {}\n",
                secret.display()
            ),
            "acceptance_tests.basic_read.tests[0].expect_records.path: `",
            "is an absolute path",
        ),
    ];
    let yaml = project.path().join("ctest.yaml");
    for (text, key, why) in &cases {
        std::fs::write(&yaml, text).unwrap();
        let run = ctest(&[
            "run",
            plugin("source-faker").to_str().unwrap(),
            "--test-config",
            yaml.to_str().unwrap(),
        ]);
        assert_eq!(run.code, 2, "{text}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains(key)
                && run.stderr.contains(why)
                && run.stderr.contains("--allow-path DIR")
                && run.stderr.contains("ctest.yaml"),
            "{text}: {}",
            run.stderr
        );
    }
    // The operator may allow the directory.
    std::fs::write(&yaml, format!("config_path: {relative_out}\n")).unwrap();
    let run = ctest(&[
        "run",
        plugin("source-faker").to_str().unwrap(),
        "--test-config",
        yaml.to_str().unwrap(),
        "--allow-path",
        outside.path().to_str().unwrap(),
        "--run",
        "spec/",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn every_encoding_of_a_secret_is_masked_in_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let key = "k3y-Zq81+Ww/7hTr55-xx0";
    let config = dir.path().join("config.json");
    std::fs::write(&config, format!(r#"{{"count": 5, "api_key": "{key}"}}"#)).unwrap();
    let json = dir.path().join("report.json");
    let junit = dir.path().join("report.xml");
    let run = check_fails(
        "broken-hostile-secret-encodings",
        &config,
        &[
            "--report-json",
            json.to_str().unwrap(),
            "--report-junit",
            junit.to_str().unwrap(),
        ],
    );
    let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
    let reversed: String = key.chars().rev().collect();
    let outputs = [
        ("console", run.stdout.clone()),
        ("json", std::fs::read_to_string(&json).unwrap()),
        ("junit", std::fs::read_to_string(&junit).unwrap()),
    ];
    for (name, text) in &outputs {
        assert!(text.contains("Authorization: Basic"), "{name}: {text}");
        let lower = text.to_ascii_lowercase();
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("svc:{key}"));
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key);
        for leak in [
            key.to_string(),
            hex.clone(),
            reversed.clone(),
            key[key.len() / 2..].to_string(),
            // Characters of the encodings that only the key's bytes determine.
            basic[8..20].to_string(),
            url_safe[4..16].to_string(),
        ] {
            assert!(
                !lower.contains(&leak.to_ascii_lowercase()),
                "{name} shows {leak}:\n{text}"
            );
        }
    }
}

#[test]
fn plugin_text_is_escaped_and_clipped_in_the_console_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let junit = dir.path().join("report.xml");
    let run = check_fails(
        "broken-hostile-console",
        &faker_config(),
        &[
            "--report-json",
            json.to_str().unwrap(),
            "--report-junit",
            junit.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    // Nothing reaches the terminal raw.
    assert!(
        !run.stdout
            .chars()
            .any(|c| c == '\x1b' || c == '\r' || c == '\u{202e}' || c == '\x07'),
        "{:?}",
        &run.stdout[..run.stdout.len().min(2000)]
    );
    assert!(
        run.stdout.contains("bad\\u{1b}[2K"),
        "{}",
        &run.stdout[..run.stdout.len().min(2000)]
    );
    // No plugin text at column 0: every line is ctest's own.
    for line in run.stdout.lines() {
        assert!(
            line.starts_with("PASS ")
                || line.starts_with("FAIL ")
                || line.starts_with("SKIP ")
                || line.starts_with(' ')
                || line.ends_with(" skipped"),
            "a line at column 0 not ctest's: {line:?}"
        );
    }
    assert_eq!(run.last_line(), "0 passed, 1 failed, 0 skipped");
    // 100 MiB of reason, clipped to 64 KiB everywhere.
    assert!(run.stdout.len() < 200 << 10, "{} bytes", run.stdout.len());
    assert!(
        run.stdout.contains("[clipped: the whole text was"),
        "clipping not said"
    );
    for report in [&json, &junit] {
        let size = std::fs::metadata(report).unwrap().len();
        assert!(size < 400 << 10, "{}: {size} bytes", report.display());
    }
}
