//! Every check of ctest is proven by a plugin that breaks it: each broken plugin
//! must fail exactly the tests it names, with a message that says what it
//! names, and every other test must pass or be skipped for a stated reason.
//!
//! Each plugin of `plugins/broken/examples/` states what it expects in its own
//! header (as wasmtime's test programs do), read here:
//!
//! ```text
//! //! ctest: fails incremental/state_per_stream   (one line per test that must fail)
//! //! ctest: passes                               (or: nothing may fail)
//! //! ctest: says text a test's message holds      (in the JSON report; `\n` for a line break)
//! //! ctest: args --timeout 2                     (extra arguments of the run)
//! //! ctest: tested-in host/tests/integration/network.rs   (its own set-up is there)
//! ```

use std::path::PathBuf;

use crate::support::*;

/// What a broken plugin's header says it expects.
struct Case {
    /// The built plugin's name without `broken-` (`incremental-no-state`).
    plugin: String,
    /// The file the header is in.
    file: PathBuf,
    /// The tests that must fail, and nothing else.
    fails: Vec<String>,
    /// Text the output must contain.
    says: Vec<String>,
    extra_args: Vec<String>,
    /// Whether the header says `passes` (no test may fail).
    passes: bool,
    /// Test files that prove it instead, with a set-up of their own.
    tested_in: Vec<String>,
}

/// The header of every example of `plugins/broken` (the `good_*` ones are
/// built as `good-*`, and tested where their header says).
fn cases() -> Vec<Case> {
    let dir = root().join("plugins/broken/examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let stem = file
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .replace('_', "-");
            let text = std::fs::read_to_string(&file).unwrap();
            let mut case = Case {
                plugin: stem,
                file,
                fails: Vec::new(),
                says: Vec::new(),
                extra_args: Vec::new(),
                passes: false,
                tested_in: Vec::new(),
            };
            for line in text.lines().take_while(|l| l.starts_with("//!")) {
                let Some(rest) = line.strip_prefix("//! ctest: ") else {
                    continue;
                };
                let (word, value) = rest.split_once(' ').unwrap_or((rest, ""));
                match word {
                    "fails" => case.fails.push(value.to_string()),
                    "says" => case.says.push(value.replace("\\n", "\n")),
                    "args" => {
                        case.extra_args = value.split_whitespace().map(str::to_string).collect()
                    }
                    "passes" => case.passes = true,
                    "tested-in" => case.tested_in.push(value.to_string()),
                    other => panic!(
                        "{}: unknown header word `ctest: {other}`",
                        case.file.display()
                    ),
                }
            }
            case
        })
        .collect()
}

fn check_case(case: &Case) -> Result<(), String> {
    let args: Vec<&str> = case.extra_args.iter().map(String::as_str).collect();
    let run = run_plugin(&format!("broken-{}", case.plugin), &faker_config(), &args);
    let context = || {
        format!(
            "plugin broken-{}:\n{}\n{}",
            case.plugin, run.stdout, run.stderr
        )
    };
    let expected_code = if case.fails.is_empty() { 0 } else { 1 };
    if run.code != expected_code {
        return Err(format!(
            "expected exit code {expected_code}, got {}: {}",
            run.code,
            context()
        ));
    }
    let failed = run.with_status("FAIL");
    if failed != case.fails {
        return Err(format!(
            "expected exactly {:?} to fail, got {failed:?}: {}",
            case.fails,
            context()
        ));
    }
    // What it says is in the report: a test's message (`\n` as in the
    // console, the message's own line breaks).
    let messages = run.messages();
    for needle in &case.says {
        if !messages.iter().any(|m| m.contains(needle.as_str())) {
            return Err(format!(
                "expected a message of the JSON report to say {needle:?}: {}",
                context()
            ));
        }
    }
    // A skip must say why.
    for id in run.with_status("SKIP") {
        if run.message_of(&id).is_none_or(|m| m.trim().is_empty()) {
            return Err(format!("{id} was skipped with no reason: {}", context()));
        }
    }
    Ok(())
}

/// A plugin written without the SDK answers `reader.next(1024)` with one
/// `records` batch of five million empty lines (5 MB in the guest). The host
/// counts the lines before it allocates a record, and fails the read.
#[test]
fn a_records_batch_larger_than_asked_for_fails_the_read_unexpanded() {
    let run = run_plugin(
        "broken-read-batch-too-many",
        &faker_config(),
        &["--run", "basic_read/read"],
    );
    assert_eq!(
        run.status_of("basic_read/read"),
        Some("FAIL"),
        "{}",
        run.stdout
    );
    for says in [
        "the read broke the contract: one `reader.next(1024)` call returned 5000000 messages, counting each line of its `records` batches as one",
        "fix: return at most the 1024 messages asked for",
    ] {
        assert!(run.stdout.contains(says), "{says:?} in:\n{}", run.stdout);
    }
}

/// Every plugin's header says what it expects, and its expectation is
/// consistent: a verdict (`fails` or `passes`) or a test file that holds it.
#[test]
fn every_broken_plugin_states_its_expectations() {
    for case in cases() {
        let verdicts = !case.fails.is_empty() || case.passes;
        assert!(
            verdicts == case.tested_in.is_empty(),
            "{}: the header needs `ctest: fails ...` or `ctest: passes`, or else `ctest: tested-in FILE`",
            case.file.display()
        );
        assert!(
            !case.passes || case.fails.is_empty(),
            "{}: both passes and fails",
            case.file.display()
        );
        for test in &case.fails {
            assert!(
                ctest::suites::ALL_TESTS.contains(&test.as_str()),
                "{}: `{test}` is not a test of ctest",
                case.file.display()
            );
        }
        let built = if case.plugin.starts_with("good-") {
            case.plugin.clone()
        } else {
            format!("broken-{}", case.plugin)
        };
        for file in &case.tested_in {
            let text = std::fs::read_to_string(root().join(file))
                .unwrap_or_else(|e| panic!("{}: tested-in {file}: {e}", case.file.display()));
            assert!(
                // (backward_compatibility.rs names its plugins without `broken-`.)
                text.contains(&format!("\"{built}\""))
                    || text.contains(&format!("\"{}\"", case.plugin)),
                "{}: {file} does not run {built}",
                case.file.display()
            );
        }
    }
}

/// Each plugin with a verdict in its header, run with faker's config: it
/// fails exactly what it names and says what it names. They run on as many
/// threads as the machine has, and every failure names its plugin.
#[test]
fn each_broken_plugin_fails_exactly_what_its_header_names() {
    let cases: Vec<Case> = cases()
        .into_iter()
        .filter(|c| c.tested_in.is_empty())
        .collect();
    assert!(cases.len() > 50, "the headers were read: {}", cases.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let errors = std::sync::Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    if let Err(e) = check_case(case) {
                        errors
                            .lock()
                            .unwrap()
                            .push(format!("{}: {e}", case.file.display()));
                    }
                }
            });
        }
    });
    let errors = errors.into_inner().unwrap();
    assert!(errors.is_empty(), "{}", errors.join("\n\n"));
}
