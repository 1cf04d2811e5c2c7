//! Connectors written in other languages pass the standard suites: the
//! Python examples (componentize-py and the Python SDK) and the TypeScript
//! examples (componentize-js and the TypeScript SDK), the `numbers` ones and
//! the HTTP ones (`-shop`: live, replayed, throttled, and denied a host), and
//! every record arrives through the SDKs' `records` batches.

use crate::support::*;

fn passes_every_suite(plugin: &str, example: &str) {
    let config = root().join(format!("examples/{example}/config.json"));
    let run = run_plugin(plugin, &config, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let expected: Vec<&str> = default_tests_without_secrets()
        .into_iter()
        .filter(|t| !t.starts_with("backward_compatibility/"))
        .collect();
    assert_eq!(run.with_status("PASS"), expected, "{}", run.stdout);
}

/// A config that breaks the spec: the SDK answers `check` with the schema's
/// message before the connector sees the config (as airbyte-cdk does).
fn a_config_error_is_an_answer_not_a_crash(plugin: &str, message: &str) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("zero.json");
    std::fs::write(&config, r#"{"count": 0}"#).unwrap();
    let run = run_plugin(plugin, &config, &["--run", "connection/check"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!(
            "it failed: the config does not match the spec: {message}"
        )),
        "{}",
        run.stdout
    );
}

#[test]
fn the_python_example_passes_every_suite() {
    passes_every_suite("python-numbers", "python-numbers");
}

#[test]
fn a_python_config_error_is_an_answer_not_a_crash() {
    a_config_error_is_an_answer_not_a_crash(
        "python-numbers",
        "config.count must be bigger than or equal to 1",
    );
}

#[test]
fn the_typescript_example_passes_every_suite() {
    passes_every_suite("ts-numbers", "ts-numbers");
}

#[test]
fn a_typescript_config_error_is_an_answer_not_a_crash() {
    a_config_error_is_an_answer_not_a_crash("ts-numbers", "`count`: 0 is less than 1");
}

/// An HTTP example (`ts-shop`: `fetch`; `python-shop`: `ctest_sdk.http`),
/// both over wasi:http: live against the shop API while recording, then
/// replayed with the server stopped; the key is in no cassette.
fn http_example_passes_live_and_in_replay(plugin: &str) {
    let server = shop_api::Server::start(shop_api::Options::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = shop_config(dir.path(), &server.base_url(), "shop-test-key", 40);
    let cassettes = dir.path().join("cassettes");
    let cassette_dir = cassettes.to_str().unwrap();
    let live = run_shop(
        plugin,
        &config,
        &["--http", "record", "--cassette-dir", cassette_dir],
    );
    assert_eq!(live.code, 0, "{}\n{}", live.stdout, live.stderr);
    let expected: Vec<&str> = default_tests()
        .into_iter()
        .filter(|t| !t.starts_with("backward_compatibility/"))
        .collect();
    assert_eq!(live.with_status("PASS"), expected, "{}", live.stdout);
    assert!(
        server
            .stats
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
            > 20
    );
    let mut recorded = 0;
    for suite in std::fs::read_dir(&cassettes).unwrap() {
        for file in std::fs::read_dir(suite.unwrap().path()).unwrap() {
            let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
            assert!(!text.contains("shop-test-key"), "{text}");
            recorded += text.matches("/v1/customers").count();
        }
    }
    assert!(recorded > 10, "{recorded} customer requests recorded");
    server.stop();
    let replay = run_shop(
        plugin,
        &config,
        &["--http", "replay", "--cassette-dir", cassette_dir],
    );
    assert_eq!(replay.code, 0, "{}", replay.stdout);
    assert_eq!(replay.with_status("PASS"), live.with_status("PASS"));
    // Both examples export write-back: the live run without --allow-writes
    // wrote nothing, so there is nothing to replay, and the suite says so.
    assert_eq!(
        replay.status_of("write_back/write_to_source"),
        Some("SKIP"),
        "{}",
        replay.stdout
    );
    assert!(
        replay.stdout.contains("no write_back cassette in `")
            && replay.stdout.contains("--http record --allow-writes"),
        "{}",
        replay.stdout
    );
}

#[test]
fn the_typescript_http_example_passes_live_and_in_replay() {
    http_example_passes_live_and_in_replay("ts-shop");
}

#[test]
fn the_python_http_example_passes_live_and_in_replay() {
    http_example_passes_live_and_in_replay("python-shop");
}

#[test]
fn the_python_http_example_waits_out_rate_limits() {
    shop_connector_waits_out_rate_limits("python-shop");
}

#[test]
fn the_typescript_http_example_waits_out_rate_limits() {
    shop_connector_waits_out_rate_limits("ts-shop");
}

/// The network policy holds for each language's HTTP client: the spec allows
/// only the configured API, and a test configuration whose `allowed_hosts`
/// keeps none of it leaves the plugin no host; the request is denied, ctest
/// reports it, and the server sees nothing.
fn a_request_to_a_host_the_policy_lacks_is_denied(plugin: &str) {
    let server = shop_api::Server::start(shop_api::Options::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = shop_config(dir.path(), &server.base_url(), "shop-test-key", 50);
    let test_config = dir.path().join("ctest.yaml");
    std::fs::write(&test_config, "allowed_hosts: [\"api.example.com\"]\n").unwrap();
    let run = run_plugin(
        plugin,
        &config,
        &[
            "--http",
            "live",
            "--run",
            "connection/check",
            "--test-config",
            test_config.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!(
            "the network policy denied `127.0.0.1` port {} over http during `check`",
            server.base_url().rsplit(':').next().unwrap()
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("the test configuration's `allowed_hosts` left no host"),
        "{}",
        run.stdout
    );
    assert_eq!(
        server
            .stats
            .requests
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

#[test]
fn a_python_request_to_a_host_the_policy_lacks_is_denied() {
    a_request_to_a_host_the_policy_lacks_is_denied("python-shop");
}

#[test]
fn a_typescript_request_to_a_host_the_policy_lacks_is_denied() {
    a_request_to_a_host_the_policy_lacks_is_denied("ts-shop");
}

/// The Python and TypeScript SDKs hand records over in `records` batches (JSON
/// lines as bytes, cut at each state message and at the host's batch size):
/// every record arrives, once, in order, with its exact value.
fn every_record_arrives_through_the_sdk_batches(plugin: &str) {
    let count = 2345;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(&config, format!(r#"{{"count": {count}}}"#)).unwrap();
    let epoch = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap();
    let expected = |wrong: Option<u64>| -> String {
        (1..=count)
            .map(|n: u64| {
                let at = epoch + chrono::Duration::minutes(n as i64);
                let square = if Some(n) == wrong { n * n + 1 } else { n * n };
                format!(
                    "{{\"stream\": \"numbers\", \"data\": {{\"n\": {n}, \"square\": {square}, \"updated_at\": \"{}\"}}}}\n",
                    at.format("%Y-%m-%dT%H:%M:%SZ")
                )
            })
            .collect()
    };
    let yaml = dir.path().join("ctest.yaml");
    std::fs::write(
        &yaml,
        "acceptance_tests:\n  basic_read:\n    tests:\n      - expect_records: {path: expected.jsonl, exact_order: true}\n",
    )
    .unwrap();
    let args = [
        "--test-config",
        yaml.to_str().unwrap(),
        "--run",
        "basic_read/expected_records",
    ];
    std::fs::write(dir.path().join("expected.jsonl"), expected(None)).unwrap();
    let run = run_plugin(plugin, &config, &args);
    assert_eq!(
        run.status_of("basic_read/expected_records"),
        Some("PASS"),
        "{}",
        run.stdout
    );
    // The same comparison sees one value off among the 2,345.
    std::fs::write(dir.path().join("expected.jsonl"), expected(Some(1500))).unwrap();
    let run = run_plugin(plugin, &config, &args);
    assert_eq!(
        run.status_of("basic_read/expected_records"),
        Some("FAIL"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("/square"), "{}", run.stdout);
}

#[test]
fn every_python_record_arrives_through_the_sdk_batches() {
    every_record_arrives_through_the_sdk_batches("python-numbers");
}

#[test]
fn every_typescript_record_arrives_through_the_sdk_batches() {
    every_record_arrives_through_the_sdk_batches("ts-numbers");
}

/// The examples' own unit tests, under plain CPython and Node: the SDKs'
/// harnesses (a fake host) and HTTP mocks. The tools are `cargo xtask
/// plugins`'s: pytest in `target/python-tools`, rolldown in the TypeScript SDK.
fn unit_tests_pass(example: &str, command: &mut std::process::Command) {
    let out = command
        .current_dir(root().join("examples").join(example))
        .output()
        .unwrap_or_else(|e| panic!("{example}: cannot run its unit tests: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{example}: unit tests failed:\n{text}"
    );
    // They ran: pytest and node:test both count what passed.
    assert!(
        text.contains(" passed") || text.contains("# pass "),
        "{example}: no test ran:\n{text}"
    );
    assert!(
        !text.contains("# pass 0"),
        "{example}: no test ran:\n{text}"
    );
}

/// The Python of `cargo xtask plugins`'s tools (componentize-py, the SDK's
/// dependencies, pytest) with the checkout's SDK and `extra` on its path,
/// writing no bytecode into the SDK, run in `dir`.
fn tools_python(dir: &std::path::Path, extra: &str) -> std::process::Command {
    let mut python = std::process::Command::new(root().join("target/python-tools/bin/python"));
    python
        .current_dir(dir)
        .env(
            "PYTHONPATH",
            format!("{}{extra}", root().join("sdk/python").display()),
        )
        .env("PYTHONDONTWRITEBYTECODE", "1");
    python
}

fn python_unit_tests(example: &str) {
    let dir = root().join("examples").join(example);
    unit_tests_pass(
        example,
        tools_python(&dir, ":.").args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]),
    );
}

fn typescript_unit_tests(example: &str) {
    unit_tests_pass(
        example,
        std::process::Command::new("node").arg(root().join("sdk/typescript/test.mjs")),
    );
}

#[test]
fn the_python_examples_pass_their_unit_tests() {
    python_unit_tests("python-numbers");
    python_unit_tests("python-shop");
}

#[test]
fn the_typescript_examples_pass_their_unit_tests() {
    typescript_unit_tests("ts-numbers");
    typescript_unit_tests("ts-shop");
}

/// The Python build refuses an app that imports native extension modules
/// (CPython in the component cannot load them), naming each, and for an
/// HTTP library says what to use instead. The native module here is
/// componentize-py's own, in the build environment; `requests` is a stand-in
/// package that imports it, as the real one imports charset_normalizer's.
#[test]
fn the_python_build_names_native_modules_and_what_to_use_instead() {
    let dir = tempfile::tempdir().unwrap();
    let app = "import ctest_sdk\nfrom ctest_sdk import Connector, Spec\nimport IMPORT\n\n\
               class A(Connector):\n    def spec(self):\n        return Spec(\"a\", \"0.1.0\", {\"type\": \"object\"}).no_network()\n\n\
               Source = ctest_sdk.export(A)\n";
    std::fs::create_dir(dir.path().join("requests")).unwrap();
    std::fs::write(
        dir.path().join("requests/__init__.py"),
        "import componentize_py  # native, as charset_normalizer is\n",
    )
    .unwrap();
    let build = |import: &str| {
        std::fs::write(dir.path().join("app.py"), app.replace("IMPORT", import)).unwrap();
        let out = tools_python(dir.path(), "")
            .args(["-m", "ctest_sdk_build", "app.py", "-o", "app.wasm"])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = build("componentize_py");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "app.py imports native extension modules, which CPython in the component cannot load:"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("componentize_py.componentize_py: "),
        "{stderr}"
    );
    assert!(
        stderr.contains("fix: use a pure-Python package instead"),
        "{stderr}"
    );
    let (code, stderr) = build("requests");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("fix: `requests` cannot run in the sandbox")
            && stderr.contains("use `ctest_sdk.http`"),
        "{stderr}"
    );
    assert!(!dir.path().join("app.wasm").exists());
}

/// On a machine where the SDK has never made its bindings (an empty cache),
/// importing it outside a component loads componentize-py, which is native:
/// the build's probe must not count that against a pure-Python app (every
/// Python build on a fresh CI machine failed so).
#[test]
fn the_python_build_on_a_fresh_machine_finds_no_native_module_in_a_pure_app() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("app.py"),
        "import ctest_sdk\nfrom ctest_sdk import Connector, Spec\n\n\
         class A(Connector):\n    def spec(self):\n        return Spec(\"a\", \"0.1.0\", {\"type\": \"object\"}).no_network()\n\n\
         Source = ctest_sdk.export(A)\n",
    )
    .unwrap();
    let out = tools_python(dir.path(), "")
        .env("XDG_CACHE_HOME", cache.path())
        .args([
            "-c",
            "import sys; from pathlib import Path; from ctest_sdk_build import native_modules; \
             print(native_modules(Path(sys.argv[1]), 'app'))",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), "None", "the probe found native modules");
    // The cache was empty, and the SDK made its bindings there.
    assert!(
        std::fs::read_dir(cache.path().join("ctest-sdk"))
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("bindings-")),
        "the SDK made no bindings in the empty cache"
    );
}

/// The TypeScript build type-checks the connector where the author is, so
/// tsc names the file as they wrote it, and a type error stops the build.
#[test]
fn a_typescript_type_error_names_the_authors_file_and_stops_the_build() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(
        dir.path().join("src/app.ts"),
        "import { Spec } from \"@ctest/sdk\";\nconst n: number = \"not a number\";\nexport const spec = new Spec(\"a\", \"0.1.0\", { n });\n",
    )
    .unwrap();
    let out = std::process::Command::new("node")
        .arg(root().join("sdk/typescript/build.mjs"))
        .args(["src/app.ts", "app.wasm"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("src/app.ts(2,7): error TS2322"),
        "tsc should name src/app.ts as written:\n{text}"
    );
    assert!(text.contains("no component was built"), "{text}");
    assert!(!dir.path().join("app.wasm").exists());
}

/// Python's own `urllib` goes through wasi:sockets, not wasi:http: the
/// network policy holds for it too (ctest cannot record it). A `check` that
/// asks the shop API with urllib passes when the operator grants the API's
/// address, and without that grant is denied before anything reaches it.
#[test]
fn python_urllib_reaches_a_granted_host_and_is_denied_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("app.py"),
        r#"import encodings.idna  # urllib imports it lazily: at the top (see the guide)
import json
import urllib.request

import ctest_sdk
from ctest_sdk import Connector, Spec, Stream


class Urllib(Connector):
    def spec(self):
        return Spec("source-urllib", "0.1.0", {
            "type": "object",
            "required": ["base_url", "api_key"],
            "properties": {"base_url": {"type": "string"}, "api_key": {"type": "string", "secret": True},
                           "page_size": {"type": "integer"}},
        }).allowed_hosts(["${base_url}"])

    def check(self, config):
        request = urllib.request.Request(
            config["base_url"] + "/v1/customers?page_size=1", headers={"X-Api-Key": config["api_key"]})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                body = json.loads(response.read())
        except Exception as e:
            return f"urllib: {type(e).__name__}: {e}"
        return None if body["data"] else "no customers"

    def discover(self, config):
        return [Stream("customers", {"type": "object"}).primary_key("id")]

    def read(self, config, catalog, state):
        return iter(())


Source = ctest_sdk.export(Urllib)
"#,
    )
    .unwrap();
    let built = tools_python(dir.path(), "")
        .args([
            "-m",
            "ctest_sdk_build",
            "app.py",
            "-o",
            "urllib.wasm",
            "--quiet",
        ])
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let server = shop_api::Server::start(shop_api::Options::default()).unwrap();
    let config = shop_config(dir.path(), &server.base_url(), "shop-test-key", 50);
    let wasm = dir.path().join("urllib.wasm");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            wasm.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--run",
            "connection/check",
        ];
        args.extend_from_slice(extra);
        ctest(&args)
    };
    let denied = run(&[]);
    assert_eq!(denied.code, 1, "{}", denied.stdout);
    // Denied at the name lookup, before any connection.
    assert!(
        denied
            .stdout
            .contains("the network policy denied `127.0.0.1` (a name lookup) during `check`"),
        "{}",
        denied.stdout
    );
    let requests = || {
        server
            .stats
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    assert_eq!(requests(), 0);
    // urllib opens a TCP connection: a grant with the `http://` scheme is
    // for wasi:http only; one without a scheme (or `tcp://`) covers it.
    let address = server.base_url().trim_start_matches("http://").to_string();
    let http_only = run(&["--allow-host", &server.base_url()]);
    assert_eq!(http_only.code, 1, "{}", http_only.stdout);
    assert!(
        http_only.stdout.contains(&format!(
            "the network policy denied `127.0.0.1` port {} over tcp during `check`",
            address.rsplit(':').next().unwrap()
        )) && http_only
            .stdout
            .contains(&format!("pass --allow-host tcp://{address}")),
        "{}",
        http_only.stdout
    );
    assert_eq!(requests(), 0);
    let granted = run(&["--allow-host", &address]);
    assert_eq!(granted.code, 0, "{}", granted.stdout);
    assert_eq!(granted.status_of("connection/check"), Some("PASS"));
    assert!(requests() >= 1);
}
