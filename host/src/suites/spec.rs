//! spec: the connector describes itself and its config correctly.

use serde_json::Value;

use super::{Run, Spec, Verdict};
use crate::redact::Redactor;
use crate::schema;

const SUITE: &str = "spec";
const AFTER_CALL: &[&str] = &[
    "connection_specification_valid",
    "secrets_marked",
    "config_matches_spec",
    "metadata",
];

pub(super) fn run(run: &mut Run<'_>) {
    let mut spec = None;
    run.step(SUITE, "spec_call", |ctx| {
        let mut plugin = match ctx.instance() {
            Ok(p) => p,
            Err(e) => return Verdict::Fail(e.to_string()),
        };
        let result = plugin.spec();
        ctx.keep_logs(&plugin);
        match result {
            Ok(s) => {
                spec = Some(s);
                Verdict::Pass
            }
            Err(e) => Verdict::Fail(format!(
                "expected `spec` to return the connector's specification; {e}"
            )),
        }
    });
    let Some(raw) = spec else {
        run.skip_all(SUITE, AFTER_CALL, "`spec` did not return a specification");
        return;
    };
    let parsed: Result<Value, String> =
        serde_json::from_str(&raw.connection_specification).map_err(|e| e.to_string());
    let schema = parsed.as_ref().ok().cloned();
    if let Some(schema) = &schema {
        run.redactor = Redactor::new(&run.config, Some(schema));
    }

    run.test(SUITE, "connection_specification_valid", |_| match &parsed {
        Err(e) => Verdict::Fail(format!(
            "expected `connection-specification` to be a JSON Schema as JSON text; it is not JSON: {e}"
        )),
        Ok(schema) => match schema::schema_problem(schema) {
            Some(problem) => Verdict::Fail(format!(
                "expected `connection-specification` to be a valid JSON Schema (draft 7); {problem}\n\
                 fix: correct the schema the connector's `spec` returns"
            )),
            None if schema.get("type").and_then(Value::as_str) != Some("object") => Verdict::Fail(format!(
                "expected the config's schema to have `\"type\": \"object\"` at the root; found {}\n\
                 fix: describe the config as an object with `properties`",
                schema.get("type").map_or("no type".to_string(), |t| t.to_string())
            )),
            None => Verdict::Pass,
        },
    });

    run.test(SUITE, "secrets_marked", |_| {
        let Some(schema) = &schema else {
            return Verdict::Skip("the connection specification is not JSON".into());
        };
        let unmarked = schema::unmarked_secrets(schema);
        if unmarked.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail(format!(
                "expected properties that look like secrets to be marked `\"secret\": true`; not marked: {}\n\
                 fix: add `\"secret\": true` to each, so that ctest and the platforms that run the connector hide their values",
                unmarked.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
            ))
        }
    });

    let config = run.config.clone();
    let config_source = run.config_source.clone();
    run.test(SUITE, "config_matches_spec", |_| {
        let Some(schema) = &schema else {
            return Verdict::Skip("the connection specification is not JSON".into());
        };
        let validator = match crate::schema::validator(schema) {
            Ok(v) => v,
            Err(_) => return Verdict::Skip("the connection specification is not a valid JSON Schema".into()),
        };
        let problems: Vec<String> = validator
            .iter_errors(&config)
            .take(5)
            // Masked: the message must not echo config values, which may be secret.
            .map(|e| format!("at `{}`: {}", schema::pointer_or_root(e.instance_path().as_str()), e.masked()))
            .collect();
        if problems.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail(format!(
                "expected the config from {config_source} to match the spec's schema; it does not:\n  {}\n\
                 fix: correct the config, or the spec if the config is right",
                problems.join("\n  ")
            ))
        }
    });

    run.test(SUITE, "metadata", |_| {
        let mut problems = Vec::new();
        if raw.name.trim().is_empty() {
            problems.push("`name` is empty".to_string());
        }
        if !is_semver(&raw.version) {
            problems.push(format!("`version` is {:?}, not a semantic version like 1.2.3", raw.version));
        }
        if problems.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail(format!(
                "expected the spec to name the connector and give its version; {}\nfix: set them in the connector's `spec`",
                problems.join("; ")
            ))
        }
    });

    run.spec = Some(Spec { raw, schema });
}

/// `MAJOR.MINOR.PATCH` with an optional `-pre` or `+build` suffix.
fn is_semver(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn semver() {
        assert!(super::is_semver("1.2.3"));
        assert!(super::is_semver("0.1.0-beta.1"));
        assert!(!super::is_semver("1.2"));
        assert!(!super::is_semver("v1.2.3"));
        assert!(!super::is_semver("01.2.3"));
    }
}
