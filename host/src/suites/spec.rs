//! spec: the connector describes itself and its config correctly.

use serde_json::Value;

use super::{Run, Spec, Verdict};
use crate::redact::Redactor;
use crate::schema;

const SUITE: &str = "spec";

/// The suite, as the registry ([`super::REGISTRY`]) holds it.
pub(super) const ENTRY: super::Suite = super::Suite {
    name: SUITE,
    tests: TESTS,
    input_keys: &[],
    time_limit: super::TimeLimit::Spec,
    declared_when_strict: true,
    reads_records: false,
    check_set: super::no_set_checks,
    strict_input: None,
    reports: super::always_reported,
    run: |run, _| run_suite(run),
};
const TESTS: &[&str] = &[
    "spec_call",
    "connection_specification_valid",
    "secrets_marked",
    "secrets_without_defaults",
    "defaults_valid",
    "required_declared",
    "config_matches_spec",
    "metadata",
];

/// The tests after the call, which need its answer.
const AFTER_CALL: &[&str] = TESTS.split_at(1).1;

fn run_suite(run: &mut Run<'_>) {
    let mut spec = None;
    run.step(SUITE, "spec_call", |ctx| {
        let mut plugin = match ctx.instance() {
            Ok(p) => p,
            Err(e) => return Verdict::fail(e.to_string()),
        };
        let result = plugin.spec();
        ctx.keep_logs(&plugin);
        match result {
            Ok(s) => {
                spec = Some(s);
                Verdict::Pass
            }
            Err(e) => Verdict::fail(format!(
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
    if let Some(how) = run.redactor.leak(&raw.connection_specification) {
        run.leaked(|| format!("the spec carries a secret {how} (spec/spec_call)"));
    }

    run.test(SUITE, "connection_specification_valid", |_| match &parsed {
        Err(e) => Verdict::fail(format!(
            "expected `connection-specification` to be a JSON Schema as JSON text; it is not JSON: {e}"
        )),
        Ok(schema) => match schema::schema_problem(schema) {
            Some(problem) => Verdict::fail(format!(
                "expected `connection-specification` to be a valid JSON Schema (draft 7); {problem}\n\
                 fix: correct the schema the connector's `spec` returns"
            )),
            None if schema.get("type").and_then(Value::as_str) != Some("object") => Verdict::fail(format!(
                "expected the config's schema to have `\"type\": \"object\"` at the root; found {}\n\
                 fix: describe the config as an object with `properties`",
                schema.get("type").map_or("no type".to_string(), |t| t.to_string())
            )),
            None => Verdict::Pass,
        },
    });

    let config_for_secrets = run.config.clone();
    run.test(SUITE, "secrets_marked", |_| {
        let Some(schema) = &schema else {
            return Verdict::Skip("the connection specification is not JSON".into());
        };
        let mut unmarked = schema::unmarked_secrets(schema);
        unmarked.extend(credentials_in_unmarked_urls(schema, &config_for_secrets));
        if unmarked.is_empty() {
            Verdict::Pass
        } else {
            Verdict::fail(format!(
                "expected properties that look like secrets to be marked `\"secret\": true`; not marked: {}\n\
                 fix: add `\"secret\": true` to each, so that ctest and the platforms that run the connector hide their values",
                unmarked.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
            ))
        }
    });

    run.test(SUITE, "secrets_without_defaults", |_| {
        findings(&schema, schema::secret_defaults, |found| format!(
            "expected secret properties to carry no real-looking `default` or `examples` (they are published with the spec, and a default is used when the user gives none); {}\n\
             fix: remove them, or use a placeholder such as \"<your API key>\"",
            found.join("; ")
        ))
    });

    run.test(SUITE, "defaults_valid", |_| {
        findings(&schema, schema::invalid_defaults, |invalid| format!(
            "expected each `default` and `examples` entry to be valid against its own schema; {} are not:\n  {}\n\
             fix: correct the value, or the property's schema if the value is right",
            invalid.len(),
            invalid.iter().take(super::EXAMPLES).cloned().collect::<Vec<_>>().join("\n  ")
        ))
    });

    run.test(SUITE, "required_declared", |_| {
        findings(&schema, schema::undeclared_required, |undeclared| format!(
            "expected every name in a `required` list to be a declared property; not declared: {}\n\
             fix: declare the property under `properties`, or correct the name in `required` (a typo makes the field impossible to satisfy)",
            undeclared.join(", ")
        ))
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
            Verdict::fail(format!(
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
            Verdict::fail(format!(
                "expected the spec to name the connector and give its version; {}\nfix: set them in the connector's `spec`",
                problems.join("; ")
            ))
        }
    });

    // Who the connector is, for reports (JUnit's classname).
    let clip = |text: &str| {
        let text: String = text.chars().take(128).collect();
        crate::report::clean(&run.redactor, &text)
    };
    let (name, version) = (clip(&raw.name), clip(&raw.version));
    let _ = run.reporter.event(&crate::report::Event::Connector {
        run: run.run_id.clone(),
        name,
        version,
    });
    run.facts.spec = Some(Spec { raw, schema });
}

/// Config properties holding a URL with a password (a DSN, a connection
/// string) whose schema does not mark them secret, as dotted paths.
fn credentials_in_unmarked_urls(schema: &Value, config: &Value) -> Vec<String> {
    fn walk(value: &Value, schema: Option<&Value>, path: &mut Vec<String>, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let sub = schema
                        .and_then(|s| s.get("properties"))
                        .and_then(|p| p.get(k));
                    path.push(k.clone());
                    walk(v, sub, path, out);
                    path.pop();
                }
            }
            Value::String(text) if text.contains("://") && text.contains('@') => {
                let has_password = url::Url::parse(text).is_ok_and(|u| u.password().is_some());
                if has_password && !schema.is_some_and(schema::is_marked_secret) {
                    out.push(format!(
                        "{} (its value is a URL with a password)",
                        path.join(".")
                    ));
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(config, Some(schema), &mut Vec::new(), &mut out);
    out
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

/// What `find` finds in the connection specification: a pass when nothing,
/// else the failure `fail` words; a skip when the specification is not JSON.
fn findings(
    schema: &Option<Value>,
    find: fn(&Value) -> Vec<String>,
    fail: impl FnOnce(Vec<String>) -> String,
) -> Verdict {
    let Some(schema) = schema else {
        return Verdict::Skip("the connection specification is not JSON".into());
    };
    let found = find(schema);
    if found.is_empty() {
        Verdict::Pass
    } else {
        Verdict::fail(fail(found))
    }
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
