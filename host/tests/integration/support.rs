//! Shared by the end-to-end tests: builds the plugins once, and runs the real
//! `ctest` binary against them.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::Ordering;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `target/plugins`, after `cargo xtask plugins` has brought it up to date.
/// `cargo xtask test` builds them before the tests and says so in
/// `CTEST_PLUGINS_BUILT`; a plain `cargo test` builds them here, once per process.
pub fn plugins_dir() -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        if std::env::var_os("CTEST_PLUGINS_BUILT").is_some() {
            return;
        }
        let status = Command::new(env!("CARGO"))
            .current_dir(root())
            .args(["run", "--quiet", "--package", "xtask", "--", "plugins"])
            .status()
            .expect("run cargo xtask plugins");
        assert!(status.success(), "cargo xtask plugins failed");
    });
    root().join("target/plugins")
}

pub fn plugin(name: &str) -> PathBuf {
    let path = plugins_dir().join(format!("{name}.wasm"));
    assert!(path.exists(), "{} was not built", path.display());
    path
}

pub fn faker_config() -> PathBuf {
    root().join("plugins/source-faker/config.json")
}

/// A compile cache shared by the tests (entries are written atomically).
pub fn cache_dir() -> PathBuf {
    root().join("target/test-cache")
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The JSON report of a `ctest run` that got as far as running tests.
    pub report: Option<serde_json::Value>,
}

/// A console status word for a JSON report's status.
fn word_of(status: &str) -> &'static str {
    match status {
        "passed" => "PASS",
        "failed" => "FAIL",
        "skipped" => "SKIP",
        other => panic!("a status the report should not have: {other}"),
    }
}

impl Run {
    /// The tests of the JSON report: (`suite/name`, status word, message).
    fn tests(&self) -> Vec<(String, &'static str, Option<&str>)> {
        let Some(report) = &self.report else {
            return Vec::new();
        };
        report["tests"]
            .as_array()
            .expect("the report lists its tests")
            .iter()
            .map(|t| {
                (
                    format!(
                        "{}/{}",
                        t["suite"].as_str().unwrap(),
                        t["name"].as_str().unwrap()
                    ),
                    word_of(t["status"].as_str().unwrap()),
                    t["message"].as_str(),
                )
            })
            .collect()
    }

    /// The tests the JSON report has (`suite/name`), in the order they ran.
    pub fn reported(&self) -> Vec<String> {
        self.tests().into_iter().map(|(id, _, _)| id).collect()
    }

    /// The status word of a test in the JSON report: PASS, FAIL or SKIP.
    pub fn status_of(&self, id: &str) -> Option<&'static str> {
        self.tests()
            .into_iter()
            .find_map(|(test, word, _)| (test == id).then_some(word))
    }

    /// The message of a test in the JSON report.
    pub fn message_of(&self, id: &str) -> Option<String> {
        self.tests()
            .into_iter()
            .find_map(|(test, _, message)| (test == id).then(|| message.map(str::to_string)))
            .flatten()
    }

    /// Every message of the JSON report.
    pub fn messages(&self) -> Vec<String> {
        self.tests()
            .into_iter()
            .filter_map(|(_, _, message)| message.map(str::to_string))
            .collect()
    }

    /// Ids of the tests with this status word, in the JSON report.
    pub fn with_status(&self, word: &str) -> Vec<String> {
        self.tests()
            .into_iter()
            .filter(|(_, w, _)| *w == word)
            .map(|(id, _, _)| id)
            .collect()
    }

    pub fn last_line(&self) -> &str {
        self.stdout.lines().last().unwrap_or("")
    }

    /// The console's verdicts must be the JSON report's, test for test
    /// (when the run wrote one).
    fn check_console_agrees(&self) {
        if self.report.is_none() {
            return;
        }
        let console: Vec<(String, &str)> = self
            .stdout
            .lines()
            .filter_map(|l| {
                let (word, rest) = l.split_once(' ')?;
                let word = ["PASS", "FAIL", "SKIP"].into_iter().find(|w| *w == word)?;
                Some((rest.split_once(" (")?.0.to_string(), word))
            })
            .collect();
        let report: Vec<(String, &str)> = self
            .tests()
            .into_iter()
            .map(|(id, word, _)| (id, word))
            .collect();
        assert_eq!(console, report, "the console and the JSON report disagree");
    }
}

pub fn ctest(args: &[&str]) -> Run {
    ctest_with_env(args, &[])
}

/// Runs `ctest ARGS`. A `ctest run` that names no JSON report gets one, read
/// into [`Run::report`]: the tests assert verdicts on it.
pub fn ctest_with_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let report_dir = tempfile::tempdir().expect("a temporary directory");
    let given = args
        .iter()
        .position(|a| *a == "--report-json")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let report_path = given
        .clone()
        .unwrap_or_else(|| report_dir.path().join("report.json"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ctest"));
    cmd.args(args).env("CTEST_CACHE_DIR", cache_dir());
    if matches!(args.first(), Some(&"run" | &"snapshot")) && given.is_none() {
        cmd.arg("--report-json").arg(&report_path);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run ctest");
    let report = std::fs::read_to_string(&report_path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok());
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        report,
    };
    // (Quiet leaves passes out, and colour wraps the words.)
    if !args.iter().any(|a| ["-q", "--quiet", "always"].contains(a)) {
        run.check_console_agrees();
    }
    // Every test a run plans (its start event, `--list`) it reports, unless
    // --fail-fast stops it.
    if let Some(report) = &run.report
        && !args.contains(&"--fail-fast")
    {
        assert!(
            report["summary"].get("not_run").is_none(),
            "the run planned tests it did not report: {}",
            report["summary"]
        );
    }
    run
}

/// `ctest run PLUGIN --config CONFIG ARGS...`
pub fn run_plugin(plugin_name: &str, config: &Path, extra: &[&str]) -> Run {
    let plugin = plugin(plugin_name);
    let mut args = vec![
        "run",
        plugin.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ctest(&args)
}

/// The tests a run without a test configuration reports (given --previous):
/// all but the opt-in ones (those the test configuration must ask for, and
/// write_back).
pub fn default_tests() -> Vec<&'static str> {
    ctest::suites::ALL_TESTS
        .iter()
        .copied()
        .filter(|t| {
            ![
                "basic_read/expected_records",
                "basic_read/every_field_has_data",
            ]
            .contains(t)
        })
        // write_back runs only with a writer and --allow-writes (or replay).
        .filter(|t| !t.starts_with("write_back/"))
        .collect()
}

/// `run_plugin` with the operator's grant of the shop API the config points
/// at (`--allow-host BASE_URL`): the test servers listen on loopback, which a
/// spec's `${base_url}` never grants by itself.
pub fn run_shop(plugin_name: &str, config: &Path, extra: &[&str]) -> Run {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(config).unwrap()).unwrap();
    let url = v["base_url"].as_str().unwrap().to_string();
    let mut args = vec!["--allow-host", url.as_str()];
    args.extend_from_slice(extra);
    run_plugin(plugin_name, config, &args)
}

/// [`default_tests`] for a config that holds no secret: the secrets suite
/// is then skipped (it has nothing to look for).
pub fn default_tests_without_secrets() -> Vec<&'static str> {
    default_tests()
        .into_iter()
        .filter(|t| !t.starts_with("secrets/"))
        .collect()
}

/// A config for the shop connectors (source-shop, ts-shop): `DIR/shop.json`.
pub fn shop_config(dir: &Path, base_url: &str, api_key: &str, page_size: u32) -> PathBuf {
    let config = dir.join("shop.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"base_url": "{base_url}", "api_key": "{api_key}", "page_size": {page_size}}}"#
        ),
    )
    .unwrap();
    config
}

/// A connector of the shop API (source-shop, python-shop, ts-shop) waits out
/// a 429 for its Retry-After (a sleep in the sandbox: Rust's, Python's
/// `time.sleep`, JavaScript's `setTimeout`), and passes a run throttled
/// throughout.
pub fn shop_connector_waits_out_rate_limits(plugin: &str) {
    let server = shop_api::Server::start(shop_api::Options {
        throttle_first: 1,
        retry_after_seconds: 1,
        ..Default::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = shop_config(dir.path(), &server.base_url(), "shop-test-key", 50);
    let run = run_shop(
        plugin,
        &config,
        &["--http", "live", "--run", "connection/check"],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    let arrivals = server.stats.arrivals.lock().unwrap().clone();
    assert!(arrivals.len() >= 2, "one throttled request and its retry");
    assert_eq!(server.stats.throttled.load(Ordering::Relaxed), 1);
    assert!(
        arrivals[1] - arrivals[0] >= std::time::Duration::from_millis(900),
        "the retry came after {:?}",
        arrivals[1] - arrivals[0]
    );

    let server = shop_api::Server::start(shop_api::Options {
        throttle_every: Some(4),
        retry_after_seconds: 0,
        ..Default::default()
    })
    .unwrap();
    let config = shop_config(dir.path(), &server.base_url(), "shop-test-key", 30);
    let run = run_shop(plugin, &config, &["--http", "live"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(server.stats.throttled.load(Ordering::Relaxed) > 5);
}

/// A JetStream server on a free port, its store in a temporary directory;
/// killed when dropped.
pub struct Nats {
    child: Option<std::process::Child>,
    port: u16,
    store: tempfile::TempDir,
}

impl Nats {
    pub fn start() -> Nats {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut nats = Nats {
            child: None,
            port,
            store: tempfile::tempdir().unwrap(),
        };
        nats.launch();
        nats
    }

    pub fn launch(&mut self) {
        let child = std::process::Command::new("nats-server")
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(self.store.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nats-server is not installed: `apt-get install nats-server` (.ci/run does)");
        self.child = Some(child);
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "nats-server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(std::process::Child::id)
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The batch id `ctest submit` printed (`batch ID: …`).
pub fn batch_id(submit_stdout: &str) -> String {
    submit_stdout
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .trim_end_matches(':')
        .to_string()
}
