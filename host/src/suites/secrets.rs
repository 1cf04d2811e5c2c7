//! secrets: nothing the plugin returns or prints carries a secret config
//! value, as it is or in a form a connector or its HTTP library makes of it
//! (base64, also of `user:secret`; hex; URL-encoded; JSON-escaped; reversed;
//! 8 characters of a long one). Fed by every test that ran the plugin: its
//! spec, the messages of its results, every record, state, log line and
//! error of every read, and its log (also across two consecutive lines).

use super::{Run, Verdict};

const SUITE: &str = "secrets";

/// The suite, as the registry ([`super::REGISTRY`]) holds it.
pub(super) const ENTRY: super::Suite = super::Suite {
    name: SUITE,
    tests: &["no_secret_leaked"],
    input_keys: &[],
    time_limit: super::TimeLimit::Read,
    declared_when_strict: false,
    reads_records: false,
    check_set: super::no_set_checks,
    strict_input: None,
    reports: super::always_reported,
    run: |run, _| run_suite(run),
};

fn run_suite(run: &mut Run<'_>) {
    let finds = run.redactor.finds_leaks();
    let (leaks, count) = (run.leaks.clone(), run.leak_count);
    run.test(SUITE, "no_secret_leaked", |_| {
        if !finds {
            return Verdict::Skip(
                "the config holds no secret value of 8 characters or more to look for".into(),
            );
        }
        if count == 0 {
            return Verdict::Pass;
        }
        let more = match count.saturating_sub(leaks.len()) {
            0 => String::new(),
            n => format!("\n  ... and {n} more"),
        };
        Verdict::fail(format!(
            "expected no secret config value in anything the plugin returns or prints; {count} time(s) one was there:\n  {}{more}\n\
             fix: never log, return or put in a record a credential or anything derived from it (an auth header, a signed URL); log that a credential was used, not its value",
            leaks.join("\n  ")
        ))
    });
}
