//! What the console says while and after a run: liveness (compiles,
//! progress, heartbeats, SLOW), colour, `-q` and `-v`.

use std::process::Command;

use crate::support::*;

/// A faker config whose read lasts a few seconds here.
fn long_config(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("long.json");
    std::fs::write(&path, r#"{"count": 100000, "seed": 7}"#).unwrap();
    path
}

#[test]
fn a_long_read_says_what_it_is_doing_in_a_ci_log() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--run",
        "basic_read/read",
        "--heartbeat-seconds",
        "0.3",
        "--slow-seconds",
        "1",
    ];
    let run = run_plugin("source-faker", &long_config(dir.path()), &args);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // Heartbeats on stderr name the test, its time, and per stream the
    // records and records per second.
    let beat =
        regex::Regex::new(r"(?m)^     … basic_read/read \d+ s: users [\d,]+ \([\d,]+/s\)").unwrap();
    assert!(beat.is_match(&run.stderr), "{}", run.stderr);
    assert!(
        run.stderr.contains("SLOW [> 1 s] basic_read/read\n"),
        "{}",
        run.stderr
    );
    // Stdout keeps only the verdicts.
    assert!(!run.stdout.contains('…') && !run.stdout.contains("SLOW"));
    assert_eq!(run.with_status("PASS"), ["basic_read/read"]);

    // Quiet says none of it.
    let quiet = run_plugin(
        "source-faker",
        &long_config(dir.path()),
        &[&["-q"], &args[..]].concat(),
    );
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);
    assert_eq!(quiet.stdout, "1 passed, 0 failed, 0 skipped\n");
}

#[test]
fn a_first_compile_says_so_and_a_cached_one_does_not() {
    let cache = tempfile::tempdir().unwrap();
    let args = [
        "--run",
        "spec/metadata",
        "--cache-dir",
        cache.path().to_str().unwrap(),
    ];
    let first = run_plugin("source-faker", &faker_config(), &args);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first
            .stderr
            .contains("compiling source-faker.wasm (first run; cached afterwards)…\n"),
        "{}",
        first.stderr
    );
    let done = regex::Regex::new(r"(?m)^compiled source-faker\.wasm in \d+\.\d s$").unwrap();
    assert!(done.is_match(&first.stderr), "{}", first.stderr);
    let again = run_plugin("source-faker", &faker_config(), &args);
    assert!(!again.stderr.contains("compil"), "{}", again.stderr);
    // Without a cache it says it will compile every time.
    let uncached = run_plugin(
        "source-faker",
        &faker_config(),
        &["--run", "spec/metadata", "--no-cache"],
    );
    assert!(
        uncached
            .stderr
            .contains("compiling source-faker.wasm (not cached: --no-cache"),
        "{}",
        uncached.stderr
    );
}

/// `ctest ARGS` on a pseudo-terminal (util-linux `script`): what the
/// terminal got, stdout and stderr together.
fn on_a_terminal(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut line = String::from(env!("CARGO_BIN_EXE_ctest"));
    for a in args {
        line.push_str(&format!(" '{a}'"));
    }
    let mut cmd = Command::new("script");
    cmd.args(["-qefc", &line, "/dev/null"])
        .env("CTEST_CACHE_DIR", cache_dir())
        .env_remove("NO_COLOR")
        .env("TERM", "xterm");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("util-linux `script` runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn on_a_terminal_verdicts_are_coloured_and_a_progress_line_is_drawn() {
    let dir = tempfile::tempdir().unwrap();
    let faker = plugin("source-faker");
    let config = long_config(dir.path());
    let args = [
        "run",
        faker.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--run",
        "basic_read/read",
    ];
    let shown = on_a_terminal(&args, &[]);
    assert!(
        shown.contains("\x1b[32mPASS\x1b[0m basic_read/read"),
        "{shown:?}"
    );
    assert!(
        shown.contains("\x1b[32m1 passed, 0 failed, 0 skipped"),
        "{shown:?}"
    );
    // The progress line, redrawn in place, with records per stream; cleared
    // before the verdict.
    let progress =
        regex::Regex::new(r"\r\x1b\[2K. basic_read/read \d+ s: users [\d,]+ \(").unwrap();
    assert!(progress.is_match(&shown), "{shown:?}");
    assert!(shown.contains("\r\x1b[2K\x1b[32mPASS"), "{shown:?}");

    // NO_COLOR and --color never turn colour off; --color always wins over
    // NO_COLOR, and over a pipe.
    let no_color = on_a_terminal(&args, &[("NO_COLOR", "1")]);
    assert!(no_color.contains("PASS basic_read/read"), "{no_color:?}");
    assert!(!no_color.contains("\x1b[32m"), "{no_color:?}");
    let never = on_a_terminal(&[&args[..], &["--color", "never"]].concat(), &[]);
    assert!(!never.contains("\x1b[32m"), "{never:?}");
    let spec = ["--run", "spec/metadata", "--color", "always"];
    let piped = run_plugin("source-faker", &faker_config(), &spec);
    assert!(
        piped.stdout.contains("\x1b[32mPASS\x1b[0m spec/metadata"),
        "{:?}",
        piped.stdout
    );
}

#[test]
fn quiet_says_only_failures_and_verbose_says_what_each_test_used() {
    let quiet = run_plugin("broken-check-fails", &faker_config(), &["-q"]);
    assert_eq!(quiet.code, 1);
    let lines: Vec<&str> = quiet.stdout.lines().collect();
    assert!(
        lines[0].starts_with("FAIL connection/check ("),
        "{}",
        quiet.stdout
    );
    assert!(!quiet.stdout.contains("PASS"), "{}", quiet.stdout);
    assert!(quiet.stdout.contains("     fix: "), "{}", quiet.stdout);
    assert_eq!(quiet.report.as_ref().unwrap()["summary"]["failed"], 1);
    let summary = regex::Regex::new(r"^\d+ passed, 1 failed, \d+ skipped$").unwrap();
    assert!(summary.is_match(quiet.last_line()), "{}", quiet.stdout);

    let verbose = run_plugin(
        "broken-check-fails",
        &faker_config(),
        &["-v", "--run", "connection/check"],
    );
    let used =
        regex::Regex::new(r"(?m)^     used: \d+ ms CPU in the plugin, \d+ ms checking, [\d.]+ MiB peak memory, 1 instance\(s\)")
            .unwrap();
    assert!(used.is_match(&verbose.stdout), "{}", verbose.stdout);
}
