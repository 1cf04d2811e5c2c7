//! write_back: data written to the source shows up in the connector's reads
//! (Lakeflow's write-back testing): write -> read -> verify.
//!
//! The rows are written by the `write-back` export of the test-utils
//! component (`--test-utils`), or of the connector itself. The suite changes
//! the source, so it runs only when the operator allows it (`--allow-writes`)
//! or in replay, where the cassettes recorded with `--allow-writes --http
//! record` stand in for the source. Written rows carry the run's tag
//! (`ctest_` and a random suffix) so that parallel runs never collide.

use serde_json::Value;

use super::{DiscoveredStream, Run, Verdict, verdict};
use crate::checks::rules::Rules;
use crate::ops::write::{self, Changed};
use crate::ops::{TestCtx, read};
use crate::sandbox::Component;
use crate::sandbox::bindings::ctest::connector::types as wit;
use crate::schema;

const SUITE: &str = "write_back";

/// The suite, as the registry ([`super::REGISTRY`]) holds it.
pub(super) const ENTRY: super::Suite = super::Suite {
    name: SUITE,
    tests: TESTS,
    input_keys: &[],
    time_limit: super::TimeLimit::Read,
    declared_when_strict: false,
    reads_records: true,
    check_set: super::no_set_checks,
    strict_input: None,
    // Opt-in: reported with a writer, or to say why not when strict.
    reports: |run, _| run.strict || run.components.is_none_or(|c| c.writer),
    run: |run, peers| run_suite(run, peers.test_utils),
};
pub(super) const TESTS: &[&str] = &[
    "tables_discovered",
    "write_to_source",
    "incremental_after_write",
    "delete_and_read_deletes",
];

/// The field a delete record carries (see `record-message` in the contract).
const DELETED_AT: &str = "_ctest_deleted_at";

fn run_suite(run: &mut Run<'_>, test_utils: Option<&Component>) {
    if !TESTS.iter().any(|t| run.selected(SUITE, t)) {
        return;
    }
    // Opt-in: without a writer there is nothing to run, and nothing to say
    // unless the run is strict.
    let writer: &Component = match test_utils {
        Some(s) => s,
        None if run.component.has_write_back() => run.component,
        None => {
            if run.options.strict {
                run.skip_all(
                    SUITE,
                    TESTS,
                    "no write-back: the connector does not export it and no --test-utils was given",
                );
            }
            return;
        }
    };
    if run.bypass_suite.is_some() {
        run.skip_all(SUITE, TESTS, "bypassed");
        return;
    }
    if let Some(why) = &run.options.writes_refused {
        let why = why.clone();
        run.skip_all(SUITE, TESTS, &why);
        return;
    }
    let Some(streams) = run.facts.catalog.clone() else {
        run.skip_all(SUITE, TESTS, "discovery did not return a catalog");
        return;
    };
    let config = run.config_text.clone();

    let mut tables: Option<(Vec<String>, Vec<String>)> = None;
    run.step(SUITE, "tables_discovered", |ctx| {
        let mut utils = match ctx.instance_of(writer) {
            Ok(p) => p,
            Err(e) => return Verdict::fail(e.to_string()),
        };
        let listed = write::tables(&mut utils, &config);
        ctx.keep_logs(&utils);
        let (insertable, deletable) = match listed {
            Ok(t) => t,
            Err(e) => return Verdict::fail(format!("expected the test-utils to list their tables; {e}")),
        };
        let mut problems = Vec::new();
        for t in &insertable {
            if find(&streams, t).is_none() {
                problems.push(format!("insertable table `{t}` is not a stream `discover` returns"));
            }
        }
        for t in &deletable {
            match find(&streams, t) {
                None => problems.push(format!("deletable table `{t}` is not a stream `discover` returns")),
                Some(s) if s.info.ingestion_type != wit::IngestionType::CdcWithDeletes => problems.push(format!(
                    "deletable table `{t}` has ingestion type `{}`, not `cdc-with-deletes`, so its deletes cannot surface in reads",
                    super::ingestion_name(s.info.ingestion_type)
                )),
                Some(_) => {}
            }
        }
        tables = Some((insertable, deletable));
        verdict(
            problems,
            "expected every insertable table to be a discovered stream, and every deletable one a discovered stream of ingestion type `cdc-with-deletes`",
            "list only tables `discover` returns; declare deletable streams `cdc-with-deletes` (and surface deletes as records with `_ctest_deleted_at`)",
        )
    });
    let Some((insertable, deletable)) = tables else {
        run.skip_all(
            SUITE,
            &TESTS[1..],
            "the test-utils did not list their tables",
        );
        return;
    };

    run.test(SUITE, "write_to_source", |ctx| {
        if insertable.is_empty() {
            return Verdict::Skip("the test-utils offer no insertable table".into());
        }
        let tag = ctx.network.tag();
        let mut utils = match ctx.instance_of(writer) {
            Ok(p) => p,
            Err(e) => return Verdict::fail(e.to_string()),
        };
        let mut problems = Vec::new();
        for table in &insertable {
            match write::change_rows(&mut utils, false, &config, table, &tag) {
                Err(e) => problems.push(format!("writing to `{table}` failed: {e}")),
                Ok(c) => {
                    problems.extend(shape_problems(table, &c));
                    problems.extend(untagged(table, &c, &tag));
                    problems.extend(unmapped(table, &c));
                }
            }
        }
        ctx.keep_logs(&utils);
        verdict(
            problems,
            "expected writing one row to each insertable table to succeed and return the row (a JSON object) and a column mapping of its fields",
            "return the rows as written, and map each field to the record path where `read` returns it",
        )
    });

    let rules = Rules {
        streams: &streams,
        facts: run.facts.read.clone(),
    };
    run.test(SUITE, "incremental_after_write", |ctx| {
        let targets: Vec<&DiscoveredStream> = insertable
            .iter()
            .filter_map(|t| find(&streams, t))
            .filter(|s| s.info.supported_sync_modes.contains(&wit::SyncMode::Incremental))
            .collect();
        if targets.is_empty() {
            return Verdict::Skip("no insertable table is a stream that reads incrementally".into());
        }
        let mut problems = Vec::new();
        for stream in targets {
            if let Err(p) = write_then_read(ctx, &rules, writer, &config, stream, false) {
                problems.push(p);
            }
        }
        verdict(
            problems,
            "expected a row written to the source to appear, each mapped field equal, in an incremental read (on a fresh instance) from the state captured before the write",
            "read from the state's cursor, so rows changed after it are returned; and map each written field to the path where the record has it",
        )
    });

    run.test(SUITE, "delete_and_read_deletes", |ctx| {
        let target = deletable.iter().filter_map(|t| find(&streams, t)).find(|s| {
            s.info.ingestion_type == wit::IngestionType::CdcWithDeletes
                && s.info.supported_sync_modes.contains(&wit::SyncMode::Incremental)
        });
        let Some(stream) = target else {
            return Verdict::Skip(
                "no deletable table is an incremental `cdc-with-deletes` stream".into(),
            );
        };
        match write_then_read(ctx, &rules, writer, &config, stream, true) {
            Ok(()) => Verdict::Pass,
            Err(p) => verdict(
                vec![p],
                "expected a row deleted from the source to surface in the next incremental read as a record with its key and `_ctest_deleted_at`",
                "emit, for each row deleted after the state's cursor, a record of its primary key with `_ctest_deleted_at` (an RFC 3339 date-time)",
            ),
        }
    });
}

fn find<'a>(streams: &'a [DiscoveredStream], name: &str) -> Option<&'a DiscoveredStream> {
    streams.iter().find(|s| s.info.name == name)
}

/// Written rows that do not carry the run's tag: the tag is how a run tells
/// its own rows from real data (deleted rows may be keys alone).
fn untagged(table: &str, c: &Changed, tag: &str) -> Vec<String> {
    c.rows
        .iter()
        .enumerate()
        .filter(|(_, row)| !row.to_string().contains(tag))
        .map(|(i, row)| {
            format!(
                "row {i} written to `{table}` does not carry the run's tag `{tag}`: {}",
                crate::sandbox::clip_to(&row.to_string(), 300)
            )
        })
        .collect()
}

/// Fields a written row sets that the column mapping leaves out: the read
/// after the write could not compare them, so a writer whose rows come back
/// changed (a field dropped or rewritten) would pass.
fn unmapped(table: &str, c: &Changed) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, row) in c.rows.iter().enumerate() {
        let Some(fields) = row.as_object() else {
            continue;
        };
        let left_out: Vec<&String> = fields
            .keys()
            .filter(|f| !c.mapping.iter().any(|(m, _)| m == *f))
            .collect();
        if !left_out.is_empty() {
            problems.push(format!(
                "row {i} written to `{table}` sets {}, which the column mapping does not map to a record path (it maps {})",
                left_out.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", "),
                c.mapping.iter().map(|(f, _)| format!("`{f}`")).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    problems
}

fn shape_problems(table: &str, c: &Changed) -> Vec<String> {
    let mut problems = Vec::new();
    if c.rows.is_empty() {
        problems.push(format!("writing to `{table}` returned no rows"));
    }
    if c.mapping.is_empty() {
        problems.push(format!("writing to `{table}` returned no column mapping"));
    }
    for (i, row) in c.rows.iter().enumerate() {
        let Some(fields) = row.as_object() else {
            problems.push(format!(
                "row {i} written to `{table}` is not a JSON object: {row}"
            ));
            continue;
        };
        for (field, _) in &c.mapping {
            if !fields.contains_key(field) {
                problems.push(format!(
                    "the column mapping of `{table}` names the field `{field}`, which row {i} lacks: {row}"
                ));
            }
        }
    }
    problems
}

/// Captures the state, writes (or deletes) a row, reads from the state on a
/// fresh instance, and finds the row. `Err` says what went wrong.
fn write_then_read(
    ctx: &mut TestCtx<'_>,
    rules: &Rules<'_>,
    writer: &Component,
    config: &str,
    stream: &DiscoveredStream,
    delete: bool,
) -> Result<(), String> {
    let name = &stream.info.name;
    let (before, state) = read::read_stream_from(ctx, rules, config, stream, Vec::new())
        .map_err(|e| format!("`{name}`: the read before the write did not complete: {e}"))?;
    let state = state.ok_or_else(|| {
        format!("`{name}`: the read before the write emitted no state to read from")
    })?;
    let tag = ctx.network.tag();
    let changed = {
        let mut utils = ctx.instance_of(writer).map_err(|e| e.to_string())?;
        let changed = write::change_rows(&mut utils, delete, config, name, &tag);
        ctx.keep_logs(&utils);
        changed.map_err(|e| format!("`{name}`: {e}"))?
    };
    let mut problems = shape_problems(name, &changed);
    if !delete {
        problems.extend(untagged(name, &changed, &tag));
        problems.extend(unmapped(name, &changed));
    }
    if let Some(p) = problems.into_iter().next() {
        return Err(p);
    }
    // A row this run wrote (or wrote to delete) is new: its key was not in
    // the read before the write.
    if let Some(p) = existing_keys(stream, &before, &changed).into_iter().next() {
        return Err(format!("`{name}`: {p}"));
    }
    let (records, _) = read::read_stream_from(ctx, rules, config, stream, vec![state.clone()])
        .map_err(|e| format!("`{name}`: the read after the write did not complete: {e}"))?;
    for row in &changed.rows {
        let candidates: Vec<&Value> = records
            .iter()
            .filter(|r| !delete || r.get(DELETED_AT).is_some_and(|v| !v.is_null()))
            .collect();
        let found = candidates
            .iter()
            .any(|r| mismatches(row, r, &changed.mapping).is_empty());
        if found {
            continue;
        }
        let what = if delete {
            "the deleted row"
        } else {
            "the written row"
        };
        let closest = candidates
            .iter()
            .map(|r| mismatches(row, r, &changed.mapping))
            .min_by_key(Vec::len);
        let detail = match closest {
            None if delete => format!(
                "none of its {} records is a delete (a record with `{DELETED_AT}`)",
                records.len()
            ),
            None => "it returned no record".to_string(),
            Some(m) => format!(
                "of its {} records the closest differs: {}",
                candidates.len(),
                m.join("; ")
            ),
        };
        return Err(format!(
            "`{name}`: {what} {} did not come back in the incremental read from the state {}; {detail}",
            crate::sandbox::clip_to(&row.to_string(), 300),
            state.data
        ));
    }
    Ok(())
}

/// Rows `changed` returned whose primary key (found through the column
/// mapping) a record read before the write already had.
fn existing_keys(stream: &DiscoveredStream, before: &[Value], changed: &Changed) -> Vec<String> {
    let pk = stream.declared_primary_key();
    // The row field each key path is written from.
    let fields: Option<Vec<&String>> = pk
        .iter()
        .map(|path| {
            changed
                .mapping
                .iter()
                .find(|(_, p)| p == path)
                .map(|(field, _)| field)
        })
        .collect();
    let Some(fields) = fields.filter(|f| !f.is_empty()) else {
        return Vec::new();
    };
    let existing: std::collections::HashSet<String> = before
        .iter()
        .map(|r| {
            let key: Vec<&Value> = pk
                .iter()
                .map(|p| schema::value_at(r, p).unwrap_or(&Value::Null))
                .collect();
            serde_json::to_string(&key).unwrap_or_default()
        })
        .collect();
    changed
        .rows
        .iter()
        .filter_map(|row| {
            let key: Vec<&Value> = fields
                .iter()
                .map(|f| row.get(f.as_str()).unwrap_or(&Value::Null))
                .collect();
            let key = serde_json::to_string(&key).unwrap_or_default();
            existing.contains(&key).then(|| {
                format!(
                    "the row {} has the primary key {key}, which a read before the write already returned: it is not a row this run wrote (a writer that returns an existing row fails silently, and deleting it removes real data)",
                    crate::sandbox::clip_to(&row.to_string(), 300)
                )
            })
        })
        .collect()
}

/// Where `record` departs from `row` under `mapping`.
fn mismatches(row: &Value, record: &Value, mapping: &[(String, Vec<String>)]) -> Vec<String> {
    mapping
        .iter()
        .filter_map(|(field, path)| {
            let wrote = row.get(field)?;
            let read = schema::value_at(record, path);
            (read != Some(wrote)).then(|| {
                format!(
                    "field `{field}` (at `{}`): wrote {wrote}, read {}",
                    path.join("."),
                    read.map(Value::to_string)
                        .unwrap_or_else(|| "nothing".into())
                )
            })
        })
        .collect()
}
