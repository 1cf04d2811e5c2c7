//! discovery: the catalog is well formed, and its keys and cursors exist.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{DiscoveredStream, Run, Verdict, verdict};
use crate::sandbox::bindings::ctest::connector::types::{StreamInfo, SyncMode};
use crate::schema;

const SUITE: &str = "discovery";

/// The suite, as the registry ([`super::REGISTRY`]) holds it.
pub(super) const ENTRY: super::Suite = super::Suite {
    name: SUITE,
    tests: TESTS,
    input_keys: &[],
    time_limit: super::TimeLimit::Discovery,
    declared_when_strict: true,
    reads_records: false,
    check_set: super::no_set_checks,
    strict_input: None,
    reports: super::always_reported,
    run: |run, _| run_suite(run),
};
const TESTS: &[&str] = &[
    "discover_call",
    "catalog_has_streams",
    "unique_stream_names",
    "schemas_valid",
    "sync_modes_declared",
    "cursor_in_schema",
    "primary_key_in_schema",
    "primary_key_scalar",
];

/// The tests after the call, which need its answer.
const AFTER_CALL: &[&str] = TESTS.split_at(1).1;

fn run_suite(run: &mut Run<'_>) {
    let config_text = run.config_text.clone();
    let mut catalog = None;
    run.step(SUITE, "discover_call", |ctx| {
        let mut plugin = match ctx.instance() {
            Ok(p) => p,
            Err(e) => return Verdict::fail(e.to_string()),
        };
        let result = plugin.discover(&config_text);
        ctx.keep_logs(&plugin);
        match result {
            Ok(Ok(c)) => {
                catalog = Some(c);
                Verdict::Pass
            }
            Ok(Err(error)) => Verdict::fail(format!(
                "expected `discover` to return the catalog; it returned an error: {}",
                crate::sandbox::ConnectorError::from(error)
            )),
            Err(e) => Verdict::fail(format!("expected `discover` to return the catalog; {e}")),
        }
    });
    let Some(catalog) = catalog else {
        run.skip_all(SUITE, AFTER_CALL, "`discover` did not return a catalog");
        return;
    };
    let streams: Vec<DiscoveredStream> = catalog
        .streams
        .into_iter()
        .map(|info| {
            let schema = serde_json::from_str::<Value>(&info.json_schema)
                .ok()
                .filter(|s| schema::schema_problem(s).is_none());
            DiscoveredStream::new(info, schema)
        })
        .collect();

    run.test(SUITE, "catalog_has_streams", |_| {
        if streams.is_empty() {
            Verdict::fail(
                "expected the catalog to offer at least one stream; it is empty\n\
                 fix: return the streams the config gives access to from `discover`",
            )
        } else {
            Verdict::Pass
        }
    });

    run.test(SUITE, "unique_stream_names", |_| {
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for s in &streams {
            *seen.entry(s.info.name.as_str()).or_default() += 1;
        }
        let dupes: Vec<String> = seen
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(name, n)| format!("`{name}` ({n} times)"))
            .collect();
        let empty = streams.iter().any(|s| s.info.name.trim().is_empty());
        if !dupes.is_empty() {
            Verdict::fail(format!(
                "expected stream names to be unique; repeated: {}\nfix: give each stream its own name",
                dupes.join(", ")
            ))
        } else if empty {
            Verdict::fail("expected every stream to have a name; one has an empty name")
        } else {
            Verdict::Pass
        }
    });

    run.test(SUITE, "schemas_valid", |_| {
        let problems: Vec<String> = streams
            .iter()
            .filter_map(|s| {
                let problem = match serde_json::from_str::<Value>(&s.info.json_schema) {
                    Err(e) => format!("not JSON: {e}"),
                    Ok(schema) => schema::schema_problem(&schema)?,
                };
                Some(format!("stream `{}`: {problem}", s.info.name))
            })
            .collect();
        verdict(
            problems,
            "expected every stream's `json-schema` to be a valid JSON Schema (draft 7)",
            "correct the schema `discover` returns for each stream named",
        )
    });

    run.test(SUITE, "sync_modes_declared", |_| {
        let problems: Vec<String> = streams
            .iter()
            .filter_map(|s| {
                let info = &s.info;
                if info.supported_sync_modes.is_empty() {
                    return Some(format!("stream `{}` declares no sync mode", info.name));
                }
                if info.supported_sync_modes.contains(&SyncMode::Incremental)
                    && info.source_defined_cursor
                    && info.default_cursor_field.is_empty()
                {
                    return Some(format!(
                        "stream `{}` is incremental with a source-defined cursor but names no default cursor field",
                        info.name
                    ));
                }
                None
            })
            .collect();
        verdict(
            problems,
            "expected every stream to declare its supported sync modes",
            "list `full-refresh` (and `incremental`, with its cursor) in `supported-sync-modes`",
        )
    });

    run.test(SUITE, "cursor_in_schema", |_| {
        let problems: Vec<String> = streams
            .iter()
            .filter_map(|s| {
                let schema = s.schema.as_ref()?;
                let cursor = &s.info.default_cursor_field;
                if cursor.is_empty() || schema::field_schema(schema, cursor).is_some() {
                    return None;
                }
                Some(format!(
                    "stream `{}`: cursor field `{}` is not a property of its schema{}",
                    s.info.name,
                    cursor.join("."),
                    known_fields(schema)
                ))
            })
            .collect();
        verdict(
            problems,
            "expected each stream's default cursor field to exist in its schema",
            "name a declared field as the cursor, or declare the field",
        )
    });

    run.test(SUITE, "primary_key_in_schema", |_| {
        let problems: Vec<String> = streams
            .iter()
            .flat_map(|s| missing_keys(s).into_iter())
            .collect();
        verdict(
            problems,
            "expected each primary key field to exist in its stream's schema",
            "name declared fields in `source-defined-primary-key`, or declare them",
        )
    });

    run.test(SUITE, "primary_key_scalar", |_| {
        let problems: Vec<String> = streams
            .iter()
            .flat_map(|s| {
                let Some(schema) = &s.schema else { return Vec::new() };
                s.info
                    .source_defined_primary_key
                    .iter()
                    .filter_map(|path| {
                        let field = schema::field_schema(schema, path)?;
                        let types = schema::declared_types(field);
                        let bad: Vec<&str> = types
                            .iter()
                            .copied()
                            .filter(|t| *t == "object" || *t == "array")
                            .collect();
                        (!bad.is_empty()).then(|| {
                            format!(
                                "stream `{}`: primary key field `{}` is of type {}",
                                s.info.name,
                                path.join("."),
                                bad.join(" or ")
                            )
                        })
                    })
                    .collect()
            })
            .collect();
        verdict(
            problems,
            "expected primary key fields to be scalars (string, integer, number, boolean)",
            "key the stream on scalar fields; name a nested scalar with a path such as [\"owner\", \"id\"]",
        )
    });

    run.facts.catalog = Some(streams.into());
}

fn missing_keys(s: &DiscoveredStream) -> Vec<String> {
    let Some(schema) = &s.schema else {
        return Vec::new();
    };
    let StreamInfo {
        name,
        source_defined_primary_key,
        ..
    } = &s.info;
    source_defined_primary_key
        .iter()
        .filter(|path| path.is_empty() || schema::field_schema(schema, path).is_none())
        .map(|path| {
            format!(
                "stream `{name}`: primary key field `{}` is not a property of its schema{}",
                path.join("."),
                known_fields(schema)
            )
        })
        .collect()
}

fn known_fields(schema: &Value) -> String {
    match schema.get("properties").and_then(Value::as_object) {
        Some(props) if !props.is_empty() => format!(
            " (declared: {})",
            props
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => String::new(),
    }
}
