//! Listing and selecting tests: `--list`, `--run` with the names a run
//! prints and globs, `--skip`, `--exact`, `--fail-fast`, `--no-tests`.

use crate::support::*;

/// source-faker's own strict test configuration: connection has two input
/// sets, so its tests are numbered `#1`, `#2`.
fn strict_args() -> Vec<String> {
    let faker = plugin("source-faker");
    let yaml = root().join("plugins/source-faker/ctest.yaml");
    vec![
        "run".into(),
        faker.display().to_string(),
        "--test-config".into(),
        yaml.display().to_string(),
    ]
}

fn with(base: &[String], extra: &[&str]) -> Run {
    let mut args: Vec<&str> = base.iter().map(String::as_str).collect();
    args.extend_from_slice(extra);
    ctest(&args)
}

#[test]
fn list_prints_the_tests_a_run_reports_named_as_it_prints_them() {
    let base = strict_args();
    let listed = with(&base, &["--list"]);
    assert_eq!(listed.code, 0, "{}{}", listed.stdout, listed.stderr);
    let names: Vec<&str> = listed.stdout.lines().collect();
    assert!(names.contains(&"connection/check#2"), "{}", listed.stdout);
    assert!(!names.contains(&"connection/check"), "{}", listed.stdout);

    // A run reports exactly these, in this order.
    let run = with(&base, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(names, run.reported());

    // Listing does not load the connector: a file that is not one lists too.
    let dir = tempfile::tempdir().unwrap();
    let not_wasm = dir.path().join("not.wasm");
    std::fs::write(&not_wasm, "not a component").unwrap();
    let mut args = base.clone();
    args[1] = not_wasm.display().to_string();
    let listed_again = with(&args, &["--list", "--run", "spec/"]);
    assert_eq!(listed_again.code, 0, "{}", listed_again.stderr);
    assert!(listed_again.stdout.lines().all(|l| l.starts_with("spec/")));
    assert!(listed_again.stdout.lines().count() >= 3);

    // Listing checks its flags as a run does: a usage error, not a panic.
    let bad = with(&base, &["--list", "--compile-timeout", "nan"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr
            .contains("--compile-timeout NaN: expected a positive number of seconds"),
        "{}",
        bad.stderr
    );
}

#[test]
fn a_printed_name_a_glob_skip_and_exact_select_what_they_say() {
    let base = strict_args();
    let run = with(&base, &["--run", "connection/check#2"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.reported(), ["connection/check#2"]);

    let run = with(
        &base,
        &["--run", "connection/*#1", "--skip", "rejects_wrong_type"],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.reported(),
        [
            "connection/check#1",
            "connection/rejects_missing_required#1",
            "connection/rejects_constraint_violations#1",
        ]
    );

    // --exact takes the whole name: the unnumbered name selects nothing
    // here, and the message lists the names there are.
    let run = with(&base, &["--exact", "--run", "connection/check"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("--run `connection/check` selects no test"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("\n    connection/check#2\n"),
        "{}",
        run.stderr
    );
    let run = with(&base, &["--exact", "--run", "connection/check#1"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.reported(), ["connection/check#1"]);
}

#[test]
fn no_tests_decides_what_a_filter_that_selects_nothing_means() {
    let base = strict_args();
    let fail = with(&base, &["--run", "spec/", "--run", "conection/check"]);
    assert_eq!(fail.code, 2, "{}", fail.stdout);
    assert!(
        fail.stderr.contains("`conection/check` selects no test"),
        "{}",
        fail.stderr
    );
    assert!(fail.stdout.is_empty(), "nothing ran: {}", fail.stdout);

    let warn = with(
        &base,
        &[
            "--run",
            "spec/",
            "--run",
            "conection/check",
            "--no-tests",
            "warn",
        ],
    );
    assert_eq!(warn.code, 0, "{}{}", warn.stdout, warn.stderr);
    assert!(
        warn.stderr
            .contains("note: --run `conection/check` selects no test (--no-tests warn)"),
        "{}",
        warn.stderr
    );
    assert!(warn.reported().iter().all(|id| id.starts_with("spec/")));
    assert!(!warn.reported().is_empty());

    // Skipping everything leaves nothing: a failure unless passed.
    let empty = with(&base, &["--skip", "/"]);
    assert_eq!(empty.code, 2, "{}", empty.stdout);
    assert!(
        empty.stderr.contains("leaves no test to run"),
        "{}",
        empty.stderr
    );
    let pass = with(&base, &["--skip", "/", "--no-tests", "pass"]);
    assert_eq!(pass.code, 0, "{}{}", pass.stdout, pass.stderr);
    assert_eq!(pass.last_line(), "0 passed, 0 failed, 0 skipped");
}

#[test]
fn fail_fast_stops_at_the_first_failure_and_counts_what_did_not_run() {
    let full = run_plugin("broken-check-fails", &faker_config(), &[]);
    assert_eq!(full.code, 1);
    // Without --fail-fast, the tests after the failure run.
    let all = full.reported();
    let first_failure = all.iter().position(|id| id == "connection/check").unwrap();
    assert!(all.len() > first_failure + 10, "{}", full.stdout);

    let run = run_plugin("broken-check-fails", &faker_config(), &["--fail-fast"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let reported = run.reported();
    assert_eq!(
        run.with_status("FAIL"),
        ["connection/check"],
        "{}",
        run.stdout
    );
    // The tests up to the failure ran as in the full run, and nothing after.
    assert_eq!(reported, all[..=first_failure], "{}", run.stdout);
    let report = run.report.as_ref().unwrap();
    let not_run = report["summary"]["not_run"].as_u64().unwrap() as usize;
    assert_eq!(reported.len() + not_run, full.reported().len());
    assert!(
        run.last_line().ends_with(&format!(
            "{not_run} not run (--fail-fast stopped at the first failure)"
        )),
        "{}",
        run.last_line()
    );
}
