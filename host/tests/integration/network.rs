//! The network: hostile plugins are denied on every path and the denial is
//! reported; source-shop passes live against the shop API, records cassettes
//! without secrets, and passes again in replay with the server stopped.

use std::net::TcpListener;
use std::path::Path;

use crate::support::*;

/// A loopback listener the plugins are pointed at: nothing may reach it.
fn listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

fn probe_config(dir: &Path, port: u16) -> std::path::PathBuf {
    let config = dir.join("probe.json");
    std::fs::write(&config, format!(r#"{{"count": 10, "probe_port": {port}}}"#)).unwrap();
    config
}

#[test]
fn hostile_plugins_are_denied_on_every_path_and_reported() {
    // (plugin, what the failure must say)
    let cases: [(&str, &[&str]); 4] = [
        (
            "broken-net-http-disallowed",
            &[
                "denied `127.0.0.1` port PORT over http during `check`: no entry allows it (the policy allows `https://api.vendor.example`)",
                "fix: 127.0.0.1 is a non-public address, which only the operator grants: if this run should reach it, pass --allow-host http://127.0.0.1:PORT",
            ],
        ),
        (
            "broken-net-tcp-loopback",
            &[
                "denied `127.0.0.1` port PORT over tcp during `check`",
                "pass --allow-host tcp://127.0.0.1:PORT",
            ],
        ),
        (
            "broken-net-dns-disallowed",
            &[
                "denied `exfiltrate.evil.example` (a name lookup) during `check`",
                "add `exfiltrate.evil.example`",
            ],
        ),
        (
            "broken-net-private-ip",
            &[
                "denied `169.254.169.254` port 80 over http during `check`",
                "169.254.169.254, a non-public address (loopback, private, link-local or metadata, or reserved), which only the operator grants",
                // DNS cannot steer a name `*` allows to a loopback address.
                "denied `localhost` port PORT over http during `check`: it is or resolves to 127.0.0.1",
            ],
        ),
    ];
    for (plugin, says) in cases {
        let (listener, port) = listener();
        let dir = tempfile::tempdir().unwrap();
        let config = probe_config(dir.path(), port);
        let run = run_plugin(
            plugin,
            &config,
            &["--run", "connection/check", "--http", "live"],
        );
        assert_eq!(run.code, 1, "{plugin}:\n{}{}", run.stdout, run.stderr);
        assert_eq!(run.with_status("FAIL"), ["connection/check"], "{plugin}");
        for needle in says {
            let needle = needle.replace("PORT", &port.to_string());
            assert!(
                run.stdout.contains(&needle),
                "{plugin}: expected {needle:?} in:\n{}",
                run.stdout
            );
        }
        // The plugin's own check reports anything that got through.
        assert!(
            !run.stdout.contains("let through"),
            "{plugin}:\n{}",
            run.stdout
        );
        assert!(
            listener.accept().is_err(),
            "{plugin}: a connection reached the listener"
        );
    }
}

#[test]
fn only_the_operator_widens_the_policy_and_then_the_connection_goes_through() {
    // The same TCP probe, with the operator's --allow-host: the listener now
    // sees the connection, so the denial above was the policy's doing.
    let (listener, port) = listener();
    let dir = tempfile::tempdir().unwrap();
    let config = probe_config(dir.path(), port);
    let entry = format!("tcp://127.0.0.1:{port}");
    let run = run_plugin(
        "broken-net-tcp-loopback",
        &config,
        &["--run", "connection/check", "--allow-host", &entry],
    );
    assert!(
        run.stdout
            .contains("the sandbox let through: connected to 127.0.0.1"),
        "{}",
        run.stdout
    );
    assert!(
        listener.accept().is_ok(),
        "the allowed connection did not arrive"
    );

    // A test configuration cannot widen: listing a host the spec lacks fails
    // the allowed-hosts test, and the plugin then gets no network at all.
    std::fs::write(
        dir.path().join("ctest.yaml"),
        format!("allowed_hosts: [\"{entry}\"]\n"),
    )
    .unwrap();
    let yaml = dir.path().join("ctest.yaml");
    let run = run_plugin(
        "broken-net-tcp-loopback",
        &config,
        &[
            "--test-config",
            yaml.to_str().unwrap(),
            "--run",
            "connection/check",
            "--run",
            "allowed_hosts",
        ],
    );
    assert_eq!(
        run.status_of("connector_attributes/allowed_hosts_declared"),
        Some("FAIL"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("the test configuration may only narrow that list"),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.status_of("connection/check"),
        Some("FAIL"),
        "{}",
        run.stdout
    );
    assert!(listener.accept().is_err());

    // A malformed --allow-host is a usage error.
    let run = run_plugin(
        "broken-net-tcp-loopback",
        &config,
        &["--allow-host", "ftp://x"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("--allow-host \"ftp://x\": unknown scheme `ftp`"),
        "{}",
        run.stderr
    );
}

const KEY: &str = "shop-key-5f2c9e71";

fn shop_config(dir: &Path, base_url: &str, page_size: u32) -> std::path::PathBuf {
    crate::support::shop_config(dir, base_url, KEY, page_size)
}

fn shop(options: shop_api::Options) -> shop_api::Server {
    shop_api::Server::start(shop_api::Options {
        api_key: KEY.into(),
        ..options
    })
    .unwrap()
}

/// Each test's verdict line, without its duration.
fn verdicts(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .filter(|l| l.starts_with("PASS ") || l.starts_with("FAIL ") || l.starts_with("SKIP "))
        .map(|l| l.split(" (").next().unwrap().to_string())
        .collect()
}

#[test]
fn source_shop_passes_live_records_cassettes_and_replays_with_the_server_stopped() {
    let server = shop(shop_api::Options::default());
    let dir = tempfile::tempdir().unwrap();
    let config = shop_config(dir.path(), &server.base_url(), 40);
    let cassettes = dir.path().join("cassettes");
    let cassette_dir = cassettes.to_str().unwrap();

    let live = run_shop(
        "source-shop",
        &config,
        &["--http", "record", "--cassette-dir", cassette_dir],
    );
    assert_eq!(live.code, 0, "{}{}", live.stdout, live.stderr);
    assert!(
        live.with_status("FAIL").is_empty() && live.with_status("SKIP").is_empty(),
        "{}",
        live.stdout
    );
    let served = server
        .stats
        .requests
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(served > 20, "only {served} requests reached the API");
    assert_eq!(
        server
            .stats
            .unauthorized
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );

    // One cassette per test that used HTTP; none holds the key.
    let mut files = Vec::new();
    for suite in std::fs::read_dir(&cassettes).unwrap() {
        for file in std::fs::read_dir(suite.unwrap().path()).unwrap() {
            files.push(file.unwrap().path());
        }
    }
    assert!(files.len() >= 8, "{files:?}");
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(!text.contains(KEY), "{} holds the API key", file.display());
        assert!(
            text.contains("\"x-api-key\": \"**********\""),
            "{}",
            file.display()
        );
    }
    server.stop();

    // Replay, with nothing listening: the same verdicts.
    let replay = run_shop(
        "source-shop",
        &config,
        &["--http", "replay", "--cassette-dir", cassette_dir],
    );
    assert_eq!(replay.code, 0, "{}", replay.stdout);
    assert_eq!(verdicts(&replay), verdicts(&live));
    // Accounting: each test's requests, live and replayed alike; in replay
    // every one is a cassette hit.
    let http = |run: &Run, key: &str| -> u64 {
        run.report.as_ref().unwrap()["tests"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["resources"][key].as_u64())
            .sum()
    };
    let requests = http(&live, "http_requests");
    assert!(requests > 10, "{requests} requests live");
    assert_eq!(http(&live, "cassette_hits"), 0);
    assert_eq!(http(&replay, "http_requests"), requests);
    assert_eq!(http(&replay, "cassette_hits"), requests);
    assert!(http(&live, "http_bytes") > 1000);
    // The default mode replays where a cassette exists.
    let auto = run_shop("source-shop", &config, &["--cassette-dir", cassette_dir]);
    assert_eq!(auto.code, 0, "{}", auto.stdout);
    assert_eq!(verdicts(&auto), verdicts(&live));

    cassettes_replay_only_what_they_were_recorded_under(&config, &cassettes, &live);
}

/// After source_shop_passes_live_records_cassettes_and_replays_with_the_server_stopped
/// (the server stopped, the cassettes of `config` in `cassettes`).
fn cassettes_replay_only_what_they_were_recorded_under(
    config: &Path,
    cassettes: &Path,
    live: &Run,
) {
    let dir = config.parent().unwrap();
    let cassette_dir = cassettes.to_str().unwrap();
    // Under another config, replay fails naming what changed, and how to
    // record again; auto goes live, saying why.
    let other_dir = dir.join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    let other = shop_config(&other_dir, &server_url_of(config), 25);
    let read = ["--run", "basic_read/read", "--cassette-dir", cassette_dir];
    let replay = run_shop(
        "source-shop",
        &other,
        &[&read[..], &["--http", "replay"]].concat(),
    );
    assert_eq!(replay.code, 1, "{}", replay.stdout);
    let message = replay.message_of("basic_read/read").unwrap();
    assert!(
        message.contains("does not fit this run: what it was recorded under differs: the config's `page_size` changed"),
        "{message}"
    );
    assert!(
        message.contains("fix: record it again with --http record"),
        "{message}"
    );
    let auto = run_shop("source-shop", &other, &read);
    assert_eq!(auto.code, 1, "the server is stopped: {}", auto.stdout);
    assert!(
        auto.stderr
            .contains("note: basic_read/read: not replaying ")
            && auto
                .stderr
                .contains("the config's `page_size` changed; going live"),
        "{}",
        auto.stderr
    );

    // Another build of the plugin: auto goes live, replay replays (CI checks
    // a new build against recorded traffic).
    let mut bytes = std::fs::read(plugin("source-shop")).unwrap();
    bytes.extend_from_slice(&[0, 5, 4, b'n', b'e', b'x', b't']);
    let rebuilt = dir.join("source-shop-next.wasm");
    std::fs::write(&rebuilt, bytes).unwrap();
    let run_rebuilt = |extra: &[&str]| {
        let mut args = vec![
            "run",
            rebuilt.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--allow-host",
        ];
        let url = server_url_of(config);
        args.push(&url);
        args.extend_from_slice(&read);
        args.extend_from_slice(extra);
        ctest(&args)
    };
    let auto = run_rebuilt(&[]);
    assert_eq!(auto.code, 1, "{}", auto.stdout);
    assert!(
        auto.stderr
            .contains("another build of the plugin recorded it (digest "),
        "{}",
        auto.stderr
    );
    let replay = run_rebuilt(&["--http", "replay"]);
    assert_eq!(replay.code, 0, "{}{}", replay.stdout, replay.stderr);
    assert_eq!(
        replay.status_of("basic_read/read"),
        live.status_of("basic_read/read")
    );

    // A request the cassette lacks is a miss, named as one with the closest
    // recorded request; the plugin's error does not call it a denial.
    let read_cassette = cassettes.join("basic_read/read.json");
    let text = std::fs::read_to_string(&read_cassette).unwrap();
    std::fs::write(&read_cassette, text.replace("page=2", "page=3")).unwrap();
    let miss = run_shop(
        "source-shop",
        config,
        &[&read[..], &["--http", "replay"]].concat(),
    );
    assert_eq!(miss.code, 1, "{}", miss.stdout);
    let message = miss.message_of("basic_read/read").unwrap();
    assert!(
        message.contains("in replay during `read (reader.next)`: the request GET http://")
            || message.contains("in replay during `read`: the request GET http://"),
        "{message}"
    );
    assert!(
        message.contains("page=2") && message.contains("is not in the cassette"),
        "{message}"
    );
    assert!(
        message.contains("the closest recorded request is GET http://"),
        "{message}"
    );
    assert!(
        message.contains("fix: record the cassette again with --http record"),
        "{message}"
    );
    assert!(!message.to_lowercase().contains("denied"), "{message}");

    // A cassette that was never recorded is said to be missing.
    let empty = dir.join("no-cassettes");
    let never = run_shop(
        "source-shop",
        config,
        &[
            "--run",
            "basic_read/read",
            "--http",
            "replay",
            "--cassette-dir",
            empty.to_str().unwrap(),
        ],
    );
    assert_eq!(never.code, 1);
    let message = never.message_of("basic_read/read").unwrap();
    assert!(
        message.contains("has no cassette to be replayed from"),
        "{message}"
    );
    assert!(message.contains("was never recorded"), "{message}");
}

fn server_url_of(config: &Path) -> String {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(config).unwrap()).unwrap();
    v["base_url"].as_str().unwrap().to_string()
}

#[test]
fn source_shop_waits_out_rate_limits() {
    shop_connector_waits_out_rate_limits("source-shop");
}

#[test]
fn a_wrong_api_key_fails_the_check_and_never_appears() {
    let server = shop(shop_api::Options::default());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"base_url": "{}", "api_key": "wrong-key-0d1e2f"}}"#,
            server.base_url()
        ),
    )
    .unwrap();
    let run = run_shop(
        "source-shop",
        &config,
        &["--http", "live", "--run", "connection/check"],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("the API refused the key (401)"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("wrong-key-0d1e2f"));
}

#[test]
fn a_response_larger_than_the_cap_fails_the_test() {
    let server = shop(shop_api::Options::default());
    let dir = tempfile::tempdir().unwrap();
    let config = shop_config(dir.path(), &server.base_url(), 50);
    let run = run_shop(
        "source-shop",
        &config,
        &[
            "--http",
            "live",
            "--run",
            "connection/check",
            "--max-response-size",
            "100",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("/v1/customers?page_size=1 during `check` is larger than 100 bytes"),
        "{}",
        run.stdout
    );
}
