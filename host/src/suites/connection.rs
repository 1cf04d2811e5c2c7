//! connection: `check` accepts the given config (or answers as the test
//! configuration's `status` says) and rejects invalid ones with a failed
//! outcome (an answer), not a trap and not success.

use serde_json::Value;

use super::{Run, TestCtx, Verdict};
use crate::sandbox::bindings::ctest::connector::types::CheckOutcome;
use crate::schema;
use serde::Deserialize;

const SUITE: &str = "connection";

/// The suite, as the registry ([`super::REGISTRY`]) holds it.
pub(super) const ENTRY: super::Suite = super::Suite {
    name: SUITE,
    tests: &[
        "check",
        "rejects_missing_required",
        "rejects_wrong_type",
        "rejects_constraint_violations",
    ],
    input_keys: &["status"],
    time_limit: super::TimeLimit::Connection,
    declared_when_strict: true,
    reads_records: false,
    check_set: super::no_set_checks,
    strict_input: None,
    // The invalid configs are derived from a config expected to succeed.
    reports: |run, name| {
        name == "check"
            || run.set.status.unwrap_or(ExpectedStatus::Succeed) == ExpectedStatus::Succeed
    },
    run: |run, _| run_suite(run),
};

fn run_suite(run: &mut Run<'_>) {
    let config_text = run.config_text.clone();
    let config_source = run.config_source.clone();
    let expected = run.set.set.status.unwrap_or(ExpectedStatus::Succeed);
    run.test(SUITE, "check", |ctx| {
        let mut plugin = match ctx.instance() {
            Ok(p) => p,
            Err(e) => return Verdict::fail(e.to_string()),
        };
        let result = plugin.check(&config_text);
        ctx.keep_logs(&plugin);
        // What came, as a status of the test configuration, and in words.
        let (came, what) = match &result {
            Ok(Ok(CheckOutcome::Succeeded)) => (ExpectedStatus::Succeed, "it succeeded".to_string()),
            Ok(Ok(CheckOutcome::Failed(reason))) => (ExpectedStatus::Failed, format!("it failed: {reason}")),
            Ok(Err(error)) => (
                ExpectedStatus::Exception,
                format!("it returned an error: {}", crate::sandbox::ConnectorError::from(error.clone())),
            ),
            Err(e) => (ExpectedStatus::Exception, e.to_string()),
        };
        if came == expected {
            return Verdict::Pass;
        }
        let fix = match expected {
            ExpectedStatus::Succeed => "correct the config (credentials, host), or the connector's check",
            ExpectedStatus::Failed => "answer `check-outcome::failed` with the reason when the config cannot be used",
            ExpectedStatus::Exception => "the test configuration expects `check` to return an error (`status: exception`) for this config",
        };
        Verdict::fail(format!(
            "expected `check` with the config from {config_source} to {}; {what}\nfix: {fix}",
            match expected {
                ExpectedStatus::Succeed => "succeed",
                ExpectedStatus::Failed => "answer `failed`",
                ExpectedStatus::Exception => "return an error",
            }
        ))
    });

    // The invalid configs are derived from a config the connector accepts.
    if expected != ExpectedStatus::Succeed {
        return;
    }
    let spec_schema = run.facts.spec.as_ref().and_then(|s| s.schema.clone());
    let config = run.config.clone();
    for (name, derive) in [
        (
            "rejects_missing_required",
            schema::configs_missing_required as fn(&Value, &Value) -> Vec<(String, Value)>,
        ),
        ("rejects_wrong_type", schema::configs_with_wrong_type),
        (
            "rejects_constraint_violations",
            schema::configs_breaking_constraints,
        ),
    ] {
        run.test(SUITE, name, |ctx| {
            let Some(spec) = &spec_schema else {
                return Verdict::Skip(
                    "the spec's connection specification is not available".into(),
                );
            };
            let invalid = derive(spec, &config);
            if invalid.is_empty() {
                return Verdict::Skip(match name {
                    "rejects_missing_required" => "the spec declares no required property".into(),
                    "rejects_wrong_type" => "the spec declares no typed property that the config sets".into(),
                    _ => "the spec states no bound, length, pattern, format, enum or const that a config can break (or the config does not keep them)".into(),
                });
            }
            expect_rejected(ctx, &invalid)
        });
    }
}

/// Checks each invalid config: every one must come back `failed`.
fn expect_rejected(ctx: &mut TestCtx<'_>, invalid: &[(String, Value)]) -> Verdict {
    let mut plugin = match ctx.instance() {
        Ok(p) => p,
        Err(e) => return Verdict::fail(e.to_string()),
    };
    let mut problems = Vec::new();
    for (what, config) in invalid {
        match plugin.check(&config.to_string()) {
            Ok(Ok(CheckOutcome::Failed(_))) => {}
            Ok(Ok(CheckOutcome::Succeeded)) => problems.push(format!(
                "`check` succeeded for the config {what}; expected `failed`"
            )),
            Ok(Err(error)) => problems.push(format!(
                "`check` returned an error for the config {what}: {}; expected the answer `failed`",
                crate::sandbox::ConnectorError::from(error)
            )),
            Err(e) => {
                problems.push(format!("for the config {what}: {e}"));
                // The instance cannot be used after a trap: go on with a fresh
                // one, made once the old is gone (a job holds one at a time).
                ctx.keep_logs(&plugin);
                drop(plugin);
                plugin = match ctx.instance() {
                    Ok(p) => p,
                    Err(e) => return Verdict::fail(e.to_string()),
                };
            }
        }
    }
    ctx.keep_logs(&plugin);
    if problems.is_empty() {
        Verdict::Pass
    } else {
        Verdict::fail(format!(
            "expected `check` to answer `failed` for configs that violate the spec:\n  {}\n\
             fix: validate the config in `check` and return `check-outcome::failed` with the reason",
            problems.join("\n  ")
        ))
    }
}

/// connection: what `check` must answer with an input set's config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpectedStatus {
    Succeed,
    Failed,
    Exception,
}
