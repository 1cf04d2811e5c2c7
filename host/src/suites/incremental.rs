//! incremental: for every stream that supports incremental reads, state is
//! emitted per stream, a read from a state returns only records at or after its
//! cursor, a state in the far future returns no records, and the state a read
//! ends with covers every record it returned.
//!
//! ctest finds a stream's cursor in its state under the cursor field's path (or
//! its last name), as Airbyte's acceptance tests do, and compares cursor values
//! by the type the schema gives the cursor field.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::Value;

use super::{DiscoveredStream, Run, TestCtx, Verdict, read, verdict};
use crate::cursor::{self, CursorKind};
use crate::sandbox::bindings::ctest::connector::types as wit;
use crate::schema;

const SUITE: &str = "incremental";
const TESTS: &[&str] = &[
    "first_read_emits_records_and_state",
    "state_per_stream",
    "second_read_respects_state",
    "sequential_slices",
    "future_state_yields_no_records",
    "final_state_adds_nothing",
];
/// The most intermediate states the slices test reads from, per stream.
const MAX_SLICES: usize = 5;

/// A stream read incrementally: its cursor and how cursor values compare.
struct Cursor {
    stream: String,
    path: Vec<String>,
    kind: CursorKind,
    /// The primary key's paths (those the schema declares); empty when none.
    primary_key: Vec<Vec<String>>,
}

pub(super) fn run(run: &mut Run<'_>) {
    let Some((streams, with_records)) = run.rereading_suite(SUITE, TESTS) else {
        return;
    };
    run.report_bypassed_streams(SUITE);
    // A stream basic_read read without finding records is its finding
    // (records_per_stream), reported here as a skip with that reason; one its
    // input set left out is tested all the same.
    let (cursors, empty): (Vec<Cursor>, Vec<Cursor>) = incremental_streams(&streams)
        .into_iter()
        .filter(|c| run.set.includes(&c.stream))
        .partition(|c| with_records.contains(&c.stream) || !run.streams_read.contains(&c.stream));
    for c in &empty {
        run.finish(
            SUITE,
            &format!("stream:{}", c.stream),
            Verdict::Skip(
                "the stream yielded no records in basic_read's full-refresh read, so there is nothing to read incrementally".into(),
            ),
            std::time::Duration::ZERO,
            Vec::new(),
        );
    }
    if cursors.is_empty() {
        run.skip_all(
            SUITE,
            TESTS,
            "no stream with records supports incremental reads with a cursor in its schema",
        );
        run.catalog = Some(streams);
        return;
    }
    let catalog = read::configured_catalog(&streams, &run.set, |s| {
        cursors
            .iter()
            .any(|c| c.stream == s.info.name)
            .then_some(wit::SyncMode::Incremental)
    });
    let config = run.config_text.clone();

    let file_state = run.set.future_state.clone();
    // With `test_strictness_level: high`, the file must cover every stream
    // (save those listed with a reason), unless the file itself is bypassed.
    let uncovered: Vec<String> = match &run.set.set.future_state {
        Some(f) if run.options.strict && f.bypass_reason.is_none() => cursors
            .iter()
            .map(|c| &c.stream)
            .filter(|s| !file_state.iter().flatten().any(|(name, _)| name == *s))
            .filter(|s| !f.missing_streams.iter().any(|m| m.name == **s))
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    let mut first = None;
    run.step(SUITE, "first_read_emits_records_and_state", |ctx| {
        let collected = match read_from(ctx, &config, &catalog, &cursors, Vec::new()) {
            Ok(c) => c,
            Err(e) => return Verdict::Fail(format!("expected an incremental read from no state to complete; {e}")),
        };
        let problems: Vec<String> = cursors
            .iter()
            .filter_map(|c| {
                let s = &collected.streams[&c.stream];
                match (s.records.len(), s.states.len()) {
                    (0, _) => Some(format!("stream `{}` emitted no record", c.stream)),
                    (_, 0) => Some(format!("stream `{}` emitted {} records and no state", c.stream, s.records.len())),
                    _ => None,
                }
            })
            .collect();
        first = Some(collected);
        verdict(
            problems,
            "expected a first incremental read to emit records and at least one state for each stream",
            "emit a state message for each stream after its records (and at checkpoints in between)",
        )
    });
    let Some(first) = first else {
        run.skip_all(
            SUITE,
            &TESTS[1..],
            "the first incremental read did not complete",
        );
        run.catalog = Some(streams);
        return;
    };

    run.test(SUITE, "state_per_stream", |_| {
        verdict(
            first.state_problems.clone(),
            "expected every state message to name a stream of the catalog and to hold a JSON object with the stream's cursor",
            "emit one state per stream, for example {\"updated_at\": \"2024-05-01T00:00:00Z\"} for the cursor `updated_at`",
        )
    });

    let mut second = None;
    let first_states = first.last_states(&cursors);
    run.step(SUITE, "second_read_respects_state", |ctx| {
        if first_states.is_empty() {
            return Verdict::Skip("the first read emitted no usable state".into());
        }
        let collected = match read_from(ctx, &config, &catalog, &cursors, first_states.clone()) {
            Ok(c) => c,
            Err(e) => return Verdict::Fail(format!("expected an incremental read from the first read's state to complete; {e}")),
        };
        let problems = collected.records_outside(&cursors, &first_states, Ordering::Less);
        second = Some(collected);
        verdict(
            problems,
            "expected a read from a state to return only records whose cursor is at or after the state's cursor",
            "start the read from the cursor in the state the host passes to `read`",
        )
    });

    run.test(SUITE, "sequential_slices", |ctx| {
        sequential_slices(ctx, &config, &cursors, &first)
    });

    run.test(SUITE, "future_state_yields_no_records", |ctx| {
        if !uncovered.is_empty() {
            return Verdict::Fail(format!(
                "expected the future state file to hold a state for every incremental stream (test_strictness_level is high); it has none for {}\n\
                 fix: add a far-future state for each to the file, or list them under `future_state.missing_streams` with a `bypass_reason`",
                uncovered.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
            ));
        }
        let future: Vec<wit::StreamState> = cursors
            .iter()
            .map(|c| {
                // The test configuration's future state, where it has one.
                if let Some((_, state)) = file_state.iter().flatten().find(|(name, _)| *name == c.stream) {
                    return wit::StreamState { stream: c.stream.clone(), data: state.to_string() };
                }
                let base = first_states
                    .iter()
                    .find(|s| s.stream == c.stream)
                    .and_then(|s| serde_json::from_str(&s.data).ok())
                    .unwrap_or(Value::Null);
                wit::StreamState {
                    stream: c.stream.clone(),
                    data: cursor::with_cursor(&base, &c.path, c.kind.far_future()).to_string(),
                }
            })
            .collect();
        let collected = match read_from(ctx, &config, &catalog, &cursors, future.clone()) {
            Ok(c) => c,
            Err(e) => return Verdict::Fail(format!("expected an incremental read from a state in the far future to complete; {e}")),
        };
        let mut problems = Vec::new();
        for c in &cursors {
            let s = &collected.streams[&c.stream];
            let state = &future.iter().find(|f| f.stream == c.stream).expect("one per stream").data;
            if !s.records.is_empty() {
                problems.push(format!("stream `{}` returned {} records from the state {state}", c.stream, s.records.len()));
            }
            if s.states.is_empty() {
                problems.push(format!("stream `{}` emitted no state when read from {state}", c.stream));
            }
            // The state the read ends with is never behind the one it started
            // from: a connector that resets its cursor when nothing is new
            // re-reads everything at the next sync.
            let given = serde_json::from_str::<Value>(state).ok();
            let given_cursor = given.as_ref().and_then(|g| cursor::in_state(g, &c.path));
            if let (Some(last), Some(given_cursor)) = (s.states.last(), given_cursor)
                && let Some(last_cursor) = cursor::in_state(last, &c.path)
                && c.kind.compare(last_cursor, given_cursor) == Ok(Ordering::Less)
            {
                problems.push(format!(
                    "stream `{}` ended the read from {state} with the state {}, whose `{}` ({last_cursor}) is behind the one it was given ({given_cursor}): the next sync would read everything again",
                    c.stream,
                    crate::sandbox::clip_to(&last.to_string(), 200),
                    c.path.join(".")
                ));
            }
        }
        verdict(
            problems,
            "expected a read from a state whose cursors lie far in the future to return no records and still emit a state for each stream, never behind the state it was given",
            "return only records at or after the state's cursor, and always emit the stream's state; when nothing is new, emit the state you were given, never an older cursor",
        )
    });

    run.test(SUITE, "final_state_adds_nothing", |ctx| {
        let Some(second) = &second else {
            return Verdict::Skip("the second incremental read did not complete".into());
        };
        // The state each stream ended the second read with (or started it from).
        let mut states = second.last_states(&cursors);
        for s in &first_states {
            if !states.iter().any(|t| t.stream == s.stream) {
                states.push(s.clone());
            }
        }
        let collected = match read_from(ctx, &config, &catalog, &cursors, states.clone()) {
            Ok(c) => c,
            Err(e) => return Verdict::Fail(format!("expected an incremental read from the second read's final state to complete; {e}")),
        };
        let problems = collected.records_outside(&cursors, &states, Ordering::Greater);
        verdict(
            problems,
            "expected a read from the state a read ended with to return nothing new (no record after that state's cursor)",
            "emit, at the end of each stream, a state whose cursor covers every record the read returned",
        )
    });

    run.catalog = Some(streams);
}

/// The streams that support incremental reads and whose cursor the schema declares.
fn incremental_streams(streams: &[DiscoveredStream]) -> Vec<Cursor> {
    let mut seen = std::collections::HashSet::new();
    streams
        .iter()
        .filter(|s| seen.insert(s.info.name.as_str()))
        .filter(|s| {
            s.info
                .supported_sync_modes
                .contains(&wit::SyncMode::Incremental)
        })
        .filter_map(|s| {
            let schema = s.schema.as_ref()?;
            let path = s.info.default_cursor_field.clone();
            schema::field_schema(schema, &path).filter(|_| !path.is_empty())?;
            Some(Cursor {
                stream: s.info.name.clone(),
                kind: CursorKind::of(schema, &path),
                path,
                primary_key: s.declared_primary_key(),
            })
        })
        .collect()
}

#[derive(Default)]
struct StreamRead {
    /// The cursor value of each record, in order (`None`: the record has none).
    records: Vec<Option<Value>>,
    /// The primary key of each record as JSON text, in order (streams with a key).
    keys: Vec<String>,
    /// Each state's data, in order.
    states: Vec<Value>,
    /// How many records of the stream came before each state.
    state_positions: Vec<usize>,
}

struct Collected {
    streams: HashMap<String, StreamRead>,
    state_problems: Vec<String>,
    /// Bytes of the states kept, against [`STATE_BUDGET`].
    state_bytes: usize,
    /// Bytes of the cursors and keys kept per record, against [`KEPT_BUDGET`].
    kept_bytes: usize,
}

/// The most bytes of cursor values and primary keys one read may make ctest
/// keep (one of each per record, for the slices).
const KEPT_BUDGET: usize = 256 << 20;

/// About how many bytes a cursor value takes.
fn approx_size(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len() + 24,
        Value::Array(_) | Value::Object(_) => value.to_string().len() + 24,
        _ => 16,
    }
}

/// The most bytes of states one read may make ctest keep (the slices need
/// them): a connector that checkpoints with huge states, or millions of
/// times, fails the test instead of growing the host.
const STATE_BUDGET: usize = 64 << 20;

/// The most of one state problem's text kept.
const PROBLEM_TEXT: usize = 1 << 10;

fn read_from(
    ctx: &mut TestCtx<'_>,
    config: &str,
    catalog: &wit::ConfiguredCatalog,
    cursors: &[Cursor],
    state: Vec<wit::StreamState>,
) -> Result<Collected, String> {
    let paths: HashMap<&str, &Cursor> = cursors.iter().map(|c| (c.stream.as_str(), c)).collect();
    let mut collected = Collected {
        streams: cursors
            .iter()
            .map(|c| (c.stream.clone(), StreamRead::default()))
            .collect(),
        state_problems: Vec::new(),
        state_bytes: 0,
        kept_bytes: 0,
    };
    let (mut first_error, mut error_count) = (None, 0u64);
    let mut over_budget = false;
    read::stream_read(ctx, config, catalog, &state, &mut |message| match message {
        wit::Message::Record(r) => {
            // Records that are not JSON are basic_read's finding.
            if let (Some(s), Some(c), Ok(value)) = (
                collected.streams.get_mut(&r.stream),
                paths.get(r.stream.as_str()),
                serde_json::from_str::<Value>(&r.data),
            ) {
                if over_budget {
                    return;
                }
                let cursor = schema::value_at(&value, &c.path).cloned();
                collected.kept_bytes += cursor.as_ref().map_or(0, approx_size);
                s.records.push(cursor);
                if !c.primary_key.is_empty() {
                    let key: Vec<&Value> = c
                        .primary_key
                        .iter()
                        .map(|p| schema::value_at(&value, p).unwrap_or(&Value::Null))
                        .collect();
                    let key = serde_json::to_string(&key).unwrap_or_default();
                    collected.kept_bytes += key.len();
                    s.keys.push(key);
                }
                over_budget = collected.kept_bytes > KEPT_BUDGET;
            }
        }
        wit::Message::State(st) => {
            let problem = match (
                collected.streams.get_mut(&st.stream),
                paths.get(st.stream.as_str()),
            ) {
                (Some(s), Some(c)) => match serde_json::from_str::<Value>(&st.data) {
                    Ok(v) if v.is_object() => {
                        let problem = match cursor::in_state(&v, &c.path) {
                            None => Some(format!(
                                "the state {v} of stream `{}` has no `{}`",
                                st.stream,
                                c.path.join(".")
                            )),
                            Some(value) => c
                                .kind
                                .compare(value, value)
                                .err()
                                .map(|e| format!("the state of stream `{}`: {e}", st.stream)),
                        };
                        if problem.is_none() && collected.state_bytes <= STATE_BUDGET {
                            collected.state_bytes += st.data.len();
                            if collected.state_bytes <= STATE_BUDGET {
                                s.states.push(v);
                                s.state_positions.push(s.records.len());
                            }
                        }
                        problem
                    }
                    Ok(v) => Some(format!(
                        "the state of stream `{}` is {v}, not a JSON object",
                        st.stream
                    )),
                    Err(e) => Some(format!(
                        "the state of stream `{}` is not JSON: {e}",
                        st.stream
                    )),
                },
                _ => Some(format!(
                    "a state names the stream {:?}, which the catalog does not configure (state: {})",
                    st.stream, st.data
                )),
            };
            // Bounded: a broken connector may emit a bad state per record.
            if let Some(p) = problem
                && collected.state_problems.len() < 1000
            {
                collected
                    .state_problems
                    .push(crate::sandbox::clip_to(&p, PROBLEM_TEXT));
            }
        }
        wit::Message::Trace(wit::TraceMessage::Error(e)) => {
            error_count += 1;
            first_error.get_or_insert_with(|| {
                crate::sandbox::clip_to(
                    &crate::sandbox::ConnectorError::from(e.error).to_string(),
                    PROBLEM_TEXT,
                )
            });
        }
        _ => {}
    })?;
    if let Some(e) = first_error {
        let more = match error_count {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        return Err(format!("the connector reported an error: {e}{more}"));
    }
    if collected.state_bytes > STATE_BUDGET {
        return Err(format!(
            "the read's states add up to more than {} MiB, the most ctest keeps of one read; fix: checkpoint less often, or keep states small (a cursor, not the data)",
            STATE_BUDGET >> 20
        ));
    }
    if over_budget {
        return Err(format!(
            "the read's cursor values and primary keys add up to more than {} MiB, the most ctest keeps of one read; fix: test with a config that reads fewer records, or keep cursors and keys small",
            KEPT_BUDGET >> 20
        ));
    }
    Ok(collected)
}

impl Collected {
    /// The last valid state of each stream, as the host passes states to `read`.
    fn last_states(&self, cursors: &[Cursor]) -> Vec<wit::StreamState> {
        cursors
            .iter()
            .filter_map(|c| {
                let last = self.streams[&c.stream].states.last()?;
                Some(wit::StreamState {
                    stream: c.stream.clone(),
                    data: last.to_string(),
                })
            })
            .collect()
    }

    /// Records whose cursor compares `outside` (Less: before; Greater: after)
    /// to the cursor of the state the read started from.
    fn records_outside(
        &self,
        cursors: &[Cursor],
        states: &[wit::StreamState],
        outside: Ordering,
    ) -> Vec<String> {
        let mut problems = Vec::new();
        let word = if outside == Ordering::Less {
            "before"
        } else {
            "after"
        };
        for c in cursors {
            let Some(state) = states.iter().find(|s| s.stream == c.stream) else {
                continue;
            };
            let Some(bound) = serde_json::from_str::<Value>(&state.data)
                .ok()
                .and_then(|v| cursor::in_state(&v, &c.path).cloned())
            else {
                continue;
            };
            let field = c.path.join(".");
            for (index, value) in self.streams[&c.stream].records.iter().enumerate() {
                let problem = match value {
                    None => Some(format!(
                        "record index {index} of stream `{}` has no cursor value at `{field}`",
                        c.stream
                    )),
                    Some(v) => match c.kind.compare(v, &bound) {
                        Err(e) => Some(format!(
                            "record index {index} of stream `{}`: {e}",
                            c.stream
                        )),
                        Ok(o) if o == outside => Some(format!(
                            "record index {index} of stream `{}` has `{field}` {v}, {word} the state's cursor {bound} (compared as {})",
                            c.stream,
                            c.kind.name()
                        )),
                        Ok(_) => None,
                    },
                };
                if let Some(p) = problem {
                    problems.push(p);
                }
            }
        }
        problems
    }
}

/// From each distinct intermediate state of the first read (at most
/// [`MAX_SLICES`] per stream, spread over the read), a fresh read of that stream
/// must return every record the first read emitted after the state (by primary
/// key), and none before the state's cursor.
fn sequential_slices(
    ctx: &mut TestCtx<'_>,
    config: &str,
    cursors: &[Cursor],
    first: &Collected,
) -> Verdict {
    let mut problems = Vec::new();
    let mut slices = 0;
    for c in cursors.iter().filter(|c| !c.primary_key.is_empty()) {
        let s = &first.streams[&c.stream];
        let total = s.records.len();
        let mut seen = std::collections::HashSet::new();
        let intermediate: Vec<usize> = (0..s.states.len())
            .filter(|&i| s.state_positions[i] < total && seen.insert(s.states[i].to_string()))
            .collect();
        let step = intermediate.len().div_ceil(MAX_SLICES).max(1);
        for &i in intermediate.iter().step_by(step) {
            slices += 1;
            let state = wit::StreamState {
                stream: c.stream.clone(),
                data: s.states[i].to_string(),
            };
            let catalog = wit::ConfiguredCatalog {
                streams: vec![wit::ConfiguredStream {
                    name: c.stream.clone(),
                    sync_mode: wit::SyncMode::Incremental,
                    cursor_field: c.path.clone(),
                    primary_key: c.primary_key.clone(),
                }],
            };
            let slice = match read_from(
                ctx,
                config,
                &catalog,
                std::slice::from_ref(c),
                vec![state.clone()],
            ) {
                Ok(slice) => slice,
                Err(e) => {
                    problems.push(format!(
                        "stream `{}`, from the state {}: the read did not complete: {e}",
                        c.stream, state.data
                    ));
                    continue;
                }
            };
            let got: std::collections::HashSet<&String> =
                slice.streams[&c.stream].keys.iter().collect();
            let position = s.state_positions[i];
            let missing: Vec<&String> = s.keys[position..]
                .iter()
                .filter(|k| !got.contains(k))
                .collect();
            if let Some(key) = missing.first() {
                problems.push(format!(
                    "stream `{}`, from the state {} (after record index {}): {} record(s) the first read emitted after it are missing, the first with primary key {key}",
                    c.stream,
                    state.data,
                    position.saturating_sub(1),
                    missing.len()
                ));
            }
            problems.extend(slice.records_outside(
                std::slice::from_ref(c),
                std::slice::from_ref(&state),
                Ordering::Less,
            ));
        }
    }
    if slices == 0 {
        return Verdict::Skip(
            "the first read emitted no intermediate state (a state before the last record) for a stream with a primary key".into(),
        );
    }
    verdict(
        problems,
        "expected a read from each intermediate state of the first read to return the records that came after it, and none before its cursor",
        "make each checkpoint state cover exactly the records emitted before it",
    )
}
