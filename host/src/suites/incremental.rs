//! incremental: for every stream that supports incremental reads, state is
//! emitted per stream, a read from a state returns only records at or after its
//! cursor, a state in the far future returns no records, and the state a read
//! ends with covers every record it returned.
//!
//! ctest finds a stream's cursor in its state where the test configuration's
//! `cursor_paths` says, else under the cursor field's path (or its last name),
//! as Airbyte's acceptance tests do. A state's cursor has the JSON type the
//! schema gives the cursor field, and cursor values compare by that type.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::Value;

use super::{DiscoveredStream, EXAMPLES, Run, TestCtx, Verdict, verdict};
use crate::checks::rules::Rules;
use crate::cursor::{self, CursorKind};
use crate::ops::read;
use crate::sandbox::Msg;
use crate::sandbox::bindings::ctest::connector::types as wit;
use crate::schema;

const SUITE: &str = "incremental";

/// The suite, as the registry ([`super::REGISTRY`]) holds it.
pub(super) const ENTRY: super::Suite = super::Suite {
    name: SUITE,
    tests: TESTS,
    input_keys: &[
        "configured_catalog_path",
        "future_state",
        "cursor_paths",
        "bypassed_streams",
    ],
    time_limit: super::TimeLimit::Read,
    declared_when_strict: true,
    reads_records: true,
    check_set,
    strict_input: Some(super::StrictInput {
        key: "future_state",
        form: "future_state: {future_state_path: abnormal_state.json}",
        given: |set| {
            set.future_state
                .as_ref()
                .is_some_and(|f| f.future_state_path.is_some() || f.bypass_reason.is_some())
        },
    }),
    reports: super::always_reported,
    run: |run, _| run_suite(run),
};
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
#[derive(Clone)]
struct Cursor {
    stream: String,
    path: Vec<String>,
    kind: CursorKind,
    /// The JSON types the schema gives the cursor field, but null (empty:
    /// the schema says none).
    types: Vec<String>,
    /// Where the cursor is in the stream's state, from the test
    /// configuration's `cursor_paths` (`None`: at `path`, or its last name).
    state_path: Option<Vec<String>>,
    /// The primary key's paths (those the schema declares); empty when none.
    primary_key: Vec<Vec<String>>,
}

impl Cursor {
    /// The cursor in one of the stream's states.
    fn in_state<'a>(&self, state: &'a Value) -> Option<&'a Value> {
        match &self.state_path {
            Some(path) => schema::value_at(state, path),
            None => cursor::in_state(state, &self.path),
        }
    }

    /// `state` with its cursor set to `value`.
    fn with_cursor(&self, state: &Value, value: Value) -> Value {
        match &self.state_path {
            Some(path) => cursor::with_value_at(state, path, value),
            None => cursor::with_cursor(state, &self.path, value),
        }
    }

    /// Where ctest looks for the cursor in a state, for messages.
    fn where_in_state(&self) -> String {
        match &self.state_path {
            Some(path) => format!("`{}` (cursor_paths)", path.join(".")),
            None => format!("`{}`", self.path.join(".")),
        }
    }

    /// Why `value`, the cursor of a state, does not have the cursor field's
    /// JSON type (an integer cursor saved as `"1042"`).
    fn type_problem(&self, value: &Value) -> Option<String> {
        let types: Vec<&str> = self.types.iter().map(String::as_str).collect();
        (!types.is_empty() && !schema::types_accept(&types, schema::json_type(value))).then(|| {
            format!(
                "holds the cursor {} as {} ({}), but the schema types the cursor field `{}` {}",
                self.where_in_state(),
                schema::kind_of(value),
                crate::sandbox::clip_to(&value.to_string(), 100),
                self.path.join("."),
                types.join(" or ")
            )
        })
    }
}

/// What is wrong with a state, for the fix that fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum StateIssue {
    NotAnObject,
    UnknownStream,
    NoCursor,
    WrongType,
    NotComparable,
}

impl StateIssue {
    fn fix(self) -> &'static str {
        match self {
            StateIssue::NotAnObject => {
                "emit each stream's state as a JSON object, for example {\"updated_at\": \"2024-05-01T00:00:00Z\"}"
            }
            StateIssue::UnknownStream => {
                "name in each state the stream it belongs to, one state per stream of the catalog (no global state)"
            }
            StateIssue::NoCursor => {
                "put the cursor in each state under the cursor field's name, or, if your state has its own shape, say where the cursor is with `cursor_paths` in the incremental input set of the test configuration"
            }
            StateIssue::WrongType => {
                "save the cursor with the JSON type the schema gives the cursor field (an integer cursor as 1042, not \"1042\")"
            }
            StateIssue::NotComparable => {
                "save in the state a cursor value of the cursor field's format (an RFC 3339 date-time for a date-time cursor)"
            }
        }
    }
}

/// The fixes for a list of issues, each once, most telling first.
fn fixes(issues: impl IntoIterator<Item = StateIssue>) -> String {
    let mut issues: Vec<StateIssue> = issues.into_iter().collect();
    issues.sort();
    issues.dedup();
    issues
        .iter()
        .map(|i| i.fix())
        .collect::<Vec<_>>()
        .join("; ")
}

fn run_suite(run: &mut Run<'_>) {
    let Some((streams, with_records)) = run.rereading_suite(SUITE, TESTS) else {
        return;
    };
    run.report_bypassed_streams(SUITE);
    // A stream basic_read read without finding records is its finding
    // (records_per_stream), reported here as a skip with that reason; one its
    // input set left out is tested all the same.
    let cursor_paths = run.set.set.cursor_paths.clone();
    let (cursors, empty): (Vec<Cursor>, Vec<Cursor>) = incremental_streams(&streams, &cursor_paths)
        .into_iter()
        .filter(|c| run.set.includes(&c.stream))
        .partition(|c| {
            with_records.contains(&c.stream) || !run.facts.streams_read.contains(&c.stream)
        });
    for c in &empty {
        run.finish(
            SUITE,
            &format!("stream:{}", c.stream),
            Verdict::Skip(
                "the stream yielded no records in basic_read's full-refresh read, so there is nothing to read incrementally".into(),
            ),
            std::time::Duration::ZERO,
            Vec::new(),
            Default::default(),
        );
    }
    if cursors.is_empty() {
        run.skip_all(
            SUITE,
            TESTS,
            "no stream with records supports incremental reads with a cursor in its schema",
        );
        return;
    }
    let catalog = read::configured_catalog(&streams, &run.set, |s| {
        cursors
            .iter()
            .any(|c| c.stream == s.info.name)
            .then_some(wit::SyncMode::Incremental)
    });
    let config = run.config_text.clone();
    let rules = Rules {
        streams: &streams,
        facts: run.facts.read.clone(),
    };
    let expected = &rules.facts.records_per_stream;

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
        let plan = ReadPlan { keep: Keep::KeysAndCursors, outside: None, expected };
        let collected = match read_from(ctx, &rules, &config, &catalog, &cursors, Vec::new(), plan) {
            Ok(c) => c,
            Err(e) => return Verdict::fail(format!("expected an incremental read from no state to complete, keeping the rules of every read; {e}")),
        };
        let mut issues = Vec::new();
        let problems: Vec<String> = cursors
            .iter()
            .filter_map(|c| {
                let s = &collected.streams[&c.stream];
                match (s.count, s.states.len(), &s.without_cursor) {
                    (0, _, _) => Some(format!("stream `{}` emitted no record", c.stream)),
                    (n, 0, Some((count, example))) => {
                        issues.push(StateIssue::NoCursor);
                        Some(format!(
                            "stream `{}` emitted {n} records and {count} states without the cursor at {}, the first: {example}",
                            c.stream,
                            c.where_in_state()
                        ))
                    }
                    (n, 0, None) => Some(format!("stream `{}` emitted {n} records and no state", c.stream)),
                    _ => None,
                }
            })
            .collect();
        first = Some(collected);
        let fix = if issues.is_empty() {
            "emit a state message for each stream after its records (and at checkpoints in between)".to_string()
        } else {
            fixes(issues)
        };
        verdict(
            problems,
            "expected a first incremental read to emit records and at least one state (holding the cursor) for each stream",
            &fix,
        )
    });
    let Some(first) = first else {
        run.skip_all(
            SUITE,
            &TESTS[1..],
            "the first incremental read did not complete",
        );
        return;
    };

    // A `cursor_paths` entry for a stream that is not read incrementally is
    // a mistake in the test configuration (a typo would leave the stream's
    // own entry unused).
    let unused_paths: Vec<String> = cursor_paths
        .keys()
        .filter(|name| !cursors.iter().any(|c| &c.stream == *name))
        .map(|name| {
            format!(
                "the test configuration's cursor_paths names `{name}`, which is not a stream read incrementally here (those are {})",
                cursors.iter().map(|c| format!("`{}`", c.stream)).collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    run.test(SUITE, "state_per_stream", |_| {
        let mut problems = unused_paths.clone();
        problems.extend(first.state_problems.iter().map(|(_, p)| p.clone()));
        let mut fix = fixes(first.state_problems.iter().map(|(i, _)| *i));
        if !unused_paths.is_empty() {
            let unused = "name in `cursor_paths` only streams read incrementally, as the catalog spells them";
            fix = if fix.is_empty() { unused.to_string() } else { format!("{fix}; {unused}") };
        }
        verdict(
            problems,
            "expected every state message to name a stream of the catalog and to hold a JSON object with the stream's cursor, of the cursor field's type",
            &fix,
        )
    });

    let mut second = None;
    let first_states = first.last_states(&cursors);
    run.step(SUITE, "second_read_respects_state", |ctx| {
        if first_states.is_empty() {
            return Verdict::Skip("the first read emitted no usable state".into());
        }
        let plan = ReadPlan { keep: Keep::Nothing, outside: Some((Ordering::Less, "the second read")), expected };
        let mut collected = match read_from(ctx, &rules, &config, &catalog, &cursors, first_states.clone(), plan) {
            Ok(c) => c,
            Err(e) => return Verdict::fail(format!("expected an incremental read from the first read's state to complete, keeping the rules of every read; {e}")),
        };
        let outside = collected.outside(&cursors);
        second = Some(collected);
        outside.verdict(
            "expected a read from a state to return only records whose cursor is at or after the state's cursor",
        )
    });

    run.test(SUITE, "sequential_slices", |ctx| {
        sequential_slices(ctx, &rules, &config, &cursors, &first)
    });

    run.test(SUITE, "future_state_yields_no_records", |ctx| {
        if !uncovered.is_empty() {
            return Verdict::fail(format!(
                "expected the future state file to hold a state for every incremental stream (test_strictness_level is high); it has none for {}\n\
                 fix: add a far-future state for each to the file, or list them under `future_state.missing_streams` with a `bypass_reason`",
                uncovered.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
            ));
        }
        // A stream whose first read saved states without the cursor gets no
        // made-up far-future state (it would not be of the connector's shape):
        // state_per_stream has its finding.
        let (tested, untested): (Vec<&Cursor>, Vec<&Cursor>) = cursors.iter().partition(|c| {
            file_state.iter().flatten().any(|(name, _)| *name == c.stream)
                || first.streams[&c.stream].without_cursor.is_none()
                || first_states.iter().any(|s| s.stream == c.stream)
        });
        if tested.is_empty() {
            return Verdict::Skip(format!(
                "the first read's states of {} hold no cursor, so ctest cannot make a far-future state of their shape; say where the cursor is with `cursor_paths`, or give one with `future_state.future_state_path`",
                untested.iter().map(|c| format!("`{}`", c.stream)).collect::<Vec<_>>().join(", ")
            ));
        }
        let tested: Vec<Cursor> = tested.into_iter().cloned().collect();
        let future: Vec<wit::StreamState> = tested
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
                // Of the type the connector saves (state_per_stream judges it).
                let far = match (c.in_state(&base), c.kind.far_future()) {
                    (Some(Value::String(_)), Value::Number(n)) => Value::String(n.to_string()),
                    (_, far) => far,
                };
                wit::StreamState {
                    stream: c.stream.clone(),
                    data: c.with_cursor(&base, far).to_string(),
                }
            })
            .collect();
        let mut catalog = catalog.clone();
        catalog.streams.retain(|s| tested.iter().any(|c| c.stream == s.name));
        let plan = ReadPlan { keep: Keep::Nothing, outside: None, expected };
        let collected = match read_from(ctx, &rules, &config, &catalog, &tested, future.clone(), plan) {
            Ok(c) => c,
            Err(e) => return Verdict::fail(format!("expected an incremental read from a state in the far future to complete, keeping the rules of every read; {e}")),
        };
        let mut problems = Vec::new();
        for c in &tested {
            let s = &collected.streams[&c.stream];
            let state = &future.iter().find(|f| f.stream == c.stream).expect("one per stream").data;
            if s.count > 0 {
                problems.push(format!("stream `{}` returned {} records from the state {state}", c.stream, s.count));
            }
            if s.states.is_empty() {
                problems.push(format!("stream `{}` emitted no state when read from {state}", c.stream));
            }
            // The state the read ends with is never behind the one it started
            // from: a connector that resets its cursor when nothing is new
            // re-reads everything at the next sync.
            let given = serde_json::from_str::<Value>(state).ok();
            let given_cursor = given.as_ref().and_then(|g| c.in_state(g));
            if let (Some(last), Some(given_cursor)) = (s.states.last(), given_cursor)
                && let Some(last_cursor) = c.in_state(last)
                && c.kind.compare(last_cursor, given_cursor) == Ok(Ordering::Less)
            {
                problems.push(format!(
                    "stream `{}` ended the read from {state} with the state {}, whose cursor at {} ({last_cursor}) is behind the one it was given ({given_cursor}): the next sync would read everything again",
                    c.stream,
                    crate::sandbox::clip_to(&last.to_string(), 200),
                    c.where_in_state()
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
        let read = "the read from the second read's final state";
        let plan = ReadPlan { keep: Keep::Nothing, outside: Some((Ordering::Greater, read)), expected };
        let mut collected = match read_from(ctx, &rules, &config, &catalog, &cursors, states.clone(), plan) {
            Ok(c) => c,
            Err(e) => return Verdict::fail(format!("expected an incremental read from the second read's final state to complete, keeping the rules of every read; {e}")),
        };
        let outside = collected.outside(&cursors);
        outside.verdict(
            "expected a read from the state a read ended with to return nothing new (no record after that state's cursor)",
        )
    });
}

/// The streams that support incremental reads and whose cursor the schema
/// declares; `cursor_paths`: where the test configuration says a stream's
/// cursor sits in its state.
fn incremental_streams(
    streams: &[DiscoveredStream],
    cursor_paths: &std::collections::BTreeMap<String, Vec<String>>,
) -> Vec<Cursor> {
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
            let field = schema::field_schema(schema, &path).filter(|_| !path.is_empty())?;
            Some(Cursor {
                stream: s.info.name.clone(),
                kind: CursorKind::of(schema, &path),
                types: schema::declared_types(field)
                    .into_iter()
                    .filter(|t| *t != "null")
                    .map(str::to_string)
                    .collect(),
                state_path: cursor_paths.get(&s.info.name).cloned(),
                path,
                primary_key: s.declared_primary_key(),
            })
        })
        .collect()
}

/// What a read keeps of each record of a stream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Nothing but the count (and the checks against the state read from).
    Nothing,
    /// Each record's primary key, as a fixed-size code (a slice's read).
    Keys,
    /// Each record's key and cursor, fixed-size (the first read, for the slices).
    KeysAndCursors,
}

#[derive(Default)]
struct StreamRead {
    /// How many records (that are JSON) the read returned.
    count: usize,
    /// What the slices need of each record, in order (see [`Keep`]).
    kept: Kept,
    /// Each state's data, in order.
    states: Vec<Value>,
    /// How many records of the stream came before each state.
    state_positions: Vec<usize>,
    /// The greatest cursor among the records before each state (the first
    /// read only): why a slice missed records.
    latest_before: Vec<Option<Value>>,
    /// The greatest cursor so far, with its rank.
    latest: Option<(Option<(i64, u32)>, Value)>,
    /// States without the cursor: how many, and the first (clipped).
    without_cursor: Option<(u64, String)>,
    /// Records outside the state the read started from, as they came.
    outside: Option<OutsideTally>,
}

/// Per record, fixed-size: its primary key's code ([`key_code`]) and its
/// cursor's rank ([`CursorKind::rank`]); a cursor without a rank (text, or
/// a value of another type) is kept whole beside them. 16 bytes a record,
/// 20 once a rank has nanoseconds or a cursor is missing or unranked.
#[derive(Default)]
struct Kept {
    keys: Vec<u64>,
    /// Seconds (or a number's order) of each record's cursor rank.
    ranks: Vec<i64>,
    /// Nanoseconds of the rank, or [`NO_CURSOR`] / [`OTHER_CURSOR`]: empty
    /// while all are 0 (whole-second cursors, numbers), then one a record.
    nanos: Vec<u32>,
    /// Cursors without a rank: (record index, value), in index order.
    others: Vec<(usize, Value)>,
    /// Every key so far was one integer, kept as itself (so it can be shown).
    integer_keys: bool,
}

const NO_CURSOR: u32 = u32::MAX;
const OTHER_CURSOR: u32 = u32::MAX - 1;

/// A cursor as [`Kept`] holds it.
enum KeptCursor<'a> {
    Missing,
    Rank((i64, u32)),
    Value(&'a Value),
}

impl Kept {
    /// Keeps the next record's cursor rank (seconds, nanoseconds or
    /// [`NO_CURSOR`] / [`OTHER_CURSOR`]).
    fn push_rank(&mut self, secs: i64, nanos: u32) {
        if nanos != 0 || !self.nanos.is_empty() {
            if self.nanos.is_empty() {
                self.nanos.reserve_exact(self.ranks.capacity());
            }
            self.nanos.resize(self.ranks.len(), 0);
            self.nanos.push(nanos);
        }
        self.ranks.push(secs);
    }

    fn cursor(&self, index: usize) -> KeptCursor<'_> {
        match self.nanos.get(index).copied().unwrap_or(0) {
            NO_CURSOR => KeptCursor::Missing,
            OTHER_CURSOR => match self.others.binary_search_by_key(&index, |(i, _)| *i) {
                Ok(at) => KeptCursor::Value(&self.others[at].1),
                Err(_) => KeptCursor::Missing,
            },
            nanos => KeptCursor::Rank((self.ranks[index], nanos)),
        }
    }

    /// How record `index`'s cursor compares to `bound` (ranked `bound_rank`).
    fn compare(
        &self,
        kind: CursorKind,
        index: usize,
        bound: &Value,
        bound_rank: Option<(i64, u32)>,
    ) -> Option<Ordering> {
        match self.cursor(index) {
            KeptCursor::Missing => None,
            KeptCursor::Rank(r) => bound_rank.map(|b| r.cmp(&b)),
            KeptCursor::Value(v) => kind.compare(v, bound).ok(),
        }
    }

    /// The key of record `index`, for messages, where it was kept as itself.
    fn key_text(&self, index: usize) -> Option<String> {
        self.integer_keys
            .then(|| format!("[{}]", self.keys[index] as i64))
    }
}

/// A fixed-size code of a record's primary key: a single integer key as
/// itself, any other key as a keyed 64-bit hash of its values (random per
/// process, so a plugin cannot aim two keys at one code; two distinct keys
/// share a code with a chance of about one in 2^64 per pair looked up).
fn key_code(values: &[&Value]) -> (u64, bool) {
    use std::hash::{BuildHasher, Hasher};
    // One set of keys for the process: the first read's codes and a slice's
    // must agree.
    static HASHING: std::sync::OnceLock<std::collections::hash_map::RandomState> =
        std::sync::OnceLock::new();
    let hashing = HASHING.get_or_init(std::collections::hash_map::RandomState::new);
    if let [single] = values
        && let Some(i) = single.as_i64()
    {
        return (i as u64, true);
    }
    let mut h = hashing.build_hasher();
    for &v in values {
        crate::checks::records::hash_value(v, &mut h);
    }
    (h.finish(), false)
}

/// Records of a read from a state that fall outside its cursor, counted as
/// they come: the first few described, and what the diagnosis needs.
struct OutsideTally {
    bound: Value,
    bound_rank: Option<(i64, u32)>,
    /// Less: records before the bound are the problem; Greater: after it.
    outside: Ordering,
    /// "the second read (from the state {...})", for messages.
    from: String,
    problems: Vec<String>,
    problem_count: u64,
    first_outside: Option<usize>,
    last_outside: usize,
    count: usize,
    /// The widest gap (seconds) between a record outside and the bound.
    widest: i64,
    unzoned: bool,
}

impl OutsideTally {
    fn new(c: &Cursor, state: &str, outside: Ordering, read: &str) -> Option<Self> {
        let bound = serde_json::from_str::<Value>(state)
            .ok()
            .and_then(|v| c.in_state(&v).cloned())?;
        Some(OutsideTally {
            bound_rank: c.kind.rank(&bound),
            bound,
            outside,
            from: format!(
                "{read} (from the state {})",
                crate::sandbox::clip_to(state, 200)
            ),
            problems: Vec::new(),
            problem_count: 0,
            first_outside: None,
            last_outside: 0,
            count: 0,
            widest: 0,
            unzoned: false,
        })
    }

    /// Counts a problem, and describes it when it is one of the first few.
    fn note(problems: &mut Vec<String>, count: &mut u64, text: impl FnOnce() -> String) {
        *count += 1;
        if problems.len() < EXAMPLES {
            problems.push(text());
        }
    }

    /// Record `index` of `c`'s stream, its cursor `value` (ranked `rank`).
    fn observe(
        &mut self,
        c: &Cursor,
        index: usize,
        value: Option<&Value>,
        rank: Option<(i64, u32)>,
    ) {
        let Some(v) = value else {
            let from = &self.from;
            Self::note(&mut self.problems, &mut self.problem_count, || {
                format!(
                    "record index {index} of stream `{}` in {from} has no cursor value at `{}`",
                    c.stream,
                    c.path.join(".")
                )
            });
            return;
        };
        // Ranks order as `compare` does; values without one are compared whole.
        let order = match (rank, self.bound_rank) {
            (Some(a), Some(b)) => Ok(a.cmp(&b)),
            _ => c.kind.compare(v, &self.bound),
        };
        match order {
            Err(e) => {
                let from = &self.from;
                Self::note(&mut self.problems, &mut self.problem_count, || {
                    format!(
                        "record index {index} of stream `{}` in {from}: {e}",
                        c.stream
                    )
                });
            }
            Ok(o) if o == self.outside => {
                self.first_outside.get_or_insert(index);
                (self.last_outside, self.count) = (index, self.count + 1);
                if let (Some(a), Some(b)) = (rank, self.bound_rank) {
                    self.widest = self.widest.max((a.0 - b.0).abs());
                }
                self.unzoned |= v.as_str().is_some_and(|t| !cursor::has_zone(t));
                let word = if self.outside == Ordering::Less {
                    "before"
                } else {
                    "after"
                };
                let (from, bound) = (&self.from, &self.bound);
                Self::note(&mut self.problems, &mut self.problem_count, || {
                    format!(
                        "record index {index} of stream `{}` in {from} has `{}` {v}, {word} the state's cursor {bound} (compared as {})",
                        c.stream,
                        c.path.join("."),
                        c.kind.name()
                    )
                });
            }
            Ok(_) => {}
        }
    }

    /// The problems found, and the fix that fits what they show.
    fn finish(self, c: &Cursor, found: &mut Outside) {
        found.more += self.problem_count - self.problems.len() as u64;
        found.problems.extend(self.problems);
        let Some(first) = self.first_outside else {
            return;
        };
        let unzoned = self.unzoned || self.bound.as_str().is_some_and(|t| !cursor::has_zone(t));
        // Within a day's worth of zone offsets, a cursor without a zone
        // read in another zone explains the difference.
        let zone = c.kind == CursorKind::DateTime && unzoned && self.widest <= 14 * 3600;
        // One run of records in a row, or records here and there.
        let (count, last) = (self.count, self.last_outside);
        let run = count >= 2 && last + 1 - first == count;
        found.fixes.push((c.stream.clone(), if zone {
            "a date-time without a time zone is read as UTC, so a cursor written in local time lands hours off; write the cursor in records and in the state with its offset (RFC 3339, for example 2024-05-01T10:00:00+02:00 or ...Z)".to_string()
        } else if self.outside == Ordering::Greater {
            "the state the read ended with is behind its own records; end each stream with a state whose cursor is the greatest cursor among the records it returned".to_string()
        } else if run && first == 0 {
            format!(
                "the read starts from the beginning, as if it had no state; read the cursor from the state passed to `read` (at {}) and return only records at or after it",
                c.where_in_state()
            )
        } else if run {
            format!(
                "the first {first} record(s) respected the state, then record index {first} and those after it did not: the filter is lost on a later page; send the state's cursor with every page's request, not only the first"
            )
        } else {
            format!(
                "the read respects the state but for {count} record(s), the first at index {first}: a record the state already covers is sent again (a retry, a re-sent change, a lookup outside the filtered query); filter every record the read emits by the state's cursor"
            )
        }));
    }
}

struct Collected {
    streams: HashMap<String, StreamRead>,
    state_problems: Vec<(StateIssue, String)>,
    /// Bytes of the states kept, against [`STATE_BUDGET`].
    state_bytes: usize,
    /// Bytes kept per record (keys, cursors), against [`KEPT_BUDGET`].
    kept_bytes: usize,
    /// The read made HTTP requests (live or replayed).
    used_network: bool,
}

/// The most bytes one read may make ctest keep of its records (a key and a
/// cursor per record, for the slices): about 13 million records.
const KEPT_BUDGET: usize = 256 << 20;

/// Bytes [`Kept`] takes per record, whatever it holds.
const KEPT_PER_RECORD: usize = 8 + 8 + 4;

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

/// How a read is judged as it streams: `keep` says what it keeps of each
/// record; `outside`, when given, how records compare to the cursor of
/// the state each stream started from, which are a problem ("Less": before
/// it), and the read's name for messages.
struct ReadPlan<'a> {
    keep: Keep,
    outside: Option<(Ordering, &'a str)>,
    /// How many records each stream is expected to hold (basic_read's
    /// read), to size what is kept at once.
    expected: &'a HashMap<String, u64>,
}

fn read_from(
    ctx: &mut TestCtx<'_>,
    rules: &Rules<'_>,
    config: &str,
    catalog: &wit::ConfiguredCatalog,
    cursors: &[Cursor],
    state: Vec<wit::StreamState>,
    plan: ReadPlan<'_>,
) -> Result<Collected, String> {
    // Per stream, its cursor and what the read needs of each record: the
    // cursor's value, and the key's when keys are kept. Only those are
    // parsed of a record ([`schema::values_at`]).
    let paths: HashMap<&str, (&Cursor, Vec<&[String]>)> = cursors
        .iter()
        .map(|c| {
            let mut wanted = vec![c.path.as_slice()];
            if plan.keep != Keep::Nothing {
                wanted.extend(c.primary_key.iter().map(Vec::as_slice));
            }
            (c.stream.as_str(), (c, wanted))
        })
        .collect();
    let mut collected = Collected {
        streams: cursors
            .iter()
            .map(|c| {
                let mut s = StreamRead::default();
                if let Some((outside, read)) = plan.outside
                    && let Some(st) = state.iter().find(|st| st.stream == c.stream)
                {
                    s.outside = OutsideTally::new(c, &st.data, outside, read);
                }
                if plan.keep != Keep::Nothing && !c.primary_key.is_empty() {
                    // Sized once, from basic_read's count (capped: a count is
                    // a guess, and the budget below still holds).
                    let expected = plan.expected.get(&c.stream).copied().unwrap_or(0);
                    let size = (expected as usize).min(KEPT_BUDGET / KEPT_PER_RECORD);
                    s.kept.keys.reserve_exact(size);
                    if plan.keep == Keep::KeysAndCursors {
                        s.kept.ranks.reserve_exact(size);
                    }
                    s.kept.integer_keys = true;
                }
                (c.stream.clone(), s)
            })
            .collect(),
        state_problems: Vec::new(),
        state_bytes: 0,
        kept_bytes: 0,
        used_network: false,
    };
    let requests_before = ctx.network.usage().resources().http_requests;
    let (mut first_error, mut error_count) = (None, 0u64);
    let mut over_budget = false;
    read::read_all(
        ctx,
        config,
        catalog,
        &state,
        Some(rules),
        &mut |message| match message {
            Msg::Record(r) => {
                // Records that are not JSON are basic_read's finding.
                let (Some(s), Some((c, wanted))) =
                    (collected.streams.get_mut(r.stream), paths.get(r.stream))
                else {
                    return;
                };
                let Ok(picked) = schema::values_at(r.data, wanted) else {
                    return;
                };
                let index = s.count;
                s.count += 1;
                let cursor = picked[0].as_ref();
                let rank = cursor.and_then(|v| c.kind.rank(v));
                if let Some(tally) = &mut s.outside {
                    tally.observe(c, index, cursor, rank);
                }
                if plan.keep == Keep::KeysAndCursors
                    && let Some(v) = cursor
                {
                    let greater = match &s.latest {
                        None => true,
                        Some((Some(latest), _)) if rank.is_some() => rank > Some(*latest),
                        Some((_, latest)) => c.kind.compare(v, latest) == Ok(Ordering::Greater),
                    };
                    if greater {
                        s.latest = Some((rank, v.clone()));
                    }
                }
                if plan.keep == Keep::Nothing || c.primary_key.is_empty() || over_budget {
                    return;
                }
                let key: Vec<&Value> = picked[1..]
                    .iter()
                    .map(|v| v.as_ref().unwrap_or(&Value::Null))
                    .collect();
                let (code, integer) = key_code(&key);
                s.kept.integer_keys &= integer;
                s.kept.keys.push(code);
                collected.kept_bytes += 8;
                if plan.keep == Keep::KeysAndCursors {
                    let (secs, nanos) = match (cursor, rank) {
                        (None, _) => (0, NO_CURSOR),
                        (Some(_), Some(r)) => r,
                        (Some(v), None) => {
                            collected.kept_bytes += approx_size(v);
                            s.kept.others.push((index, v.clone()));
                            (0, OTHER_CURSOR)
                        }
                    };
                    s.kept.push_rank(secs, nanos);
                    collected.kept_bytes += 12;
                }
                over_budget = collected.kept_bytes > KEPT_BUDGET;
            }
            Msg::Other(wit::Message::State(st)) => {
                let problem = match (
                    collected.streams.get_mut(&st.stream),
                    paths.get(st.stream.as_str()),
                ) {
                    (Some(s), Some((c, _))) => match serde_json::from_str::<Value>(&st.data) {
                        Ok(v) if v.is_object() => {
                            let text = || crate::sandbox::clip_to(&v.to_string(), 200);
                            let problem = match c.in_state(&v) {
                                None => {
                                    let (count, _) =
                                        s.without_cursor.get_or_insert_with(|| (0, text()));
                                    *count += 1;
                                    Some((
                                        StateIssue::NoCursor,
                                        format!(
                                            "the state {} of stream `{}` has no cursor at {}",
                                            text(),
                                            st.stream,
                                            c.where_in_state()
                                        ),
                                    ))
                                }
                                Some(value) => match c.kind.compare(value, value) {
                                    Err(e) => Some((
                                        StateIssue::NotComparable,
                                        format!(
                                            "the state {} of stream `{}`: {e}",
                                            text(),
                                            st.stream
                                        ),
                                    )),
                                    Ok(_) => c.type_problem(value).map(|p| {
                                        (
                                            StateIssue::WrongType,
                                            format!(
                                                "the state {} of stream `{}` {p}",
                                                text(),
                                                st.stream
                                            ),
                                        )
                                    }),
                                },
                            };
                            // A cursor of the wrong JSON type still orders (and
                            // the connector reads its own states back): the state
                            // is kept for the reads that follow.
                            let usable = problem
                                .as_ref()
                                .is_none_or(|(i, _)| *i == StateIssue::WrongType);
                            if usable && collected.state_bytes <= STATE_BUDGET {
                                let latest = (plan.keep == Keep::KeysAndCursors)
                                    .then(|| s.latest.as_ref().map(|(_, v)| v.clone()))
                                    .flatten();
                                collected.state_bytes +=
                                    st.data.len() + latest.as_ref().map_or(0, approx_size);
                                if collected.state_bytes <= STATE_BUDGET {
                                    s.states.push(v);
                                    s.state_positions.push(s.count);
                                    s.latest_before.push(latest);
                                }
                            }
                            problem
                        }
                        Ok(v) => Some((
                            StateIssue::NotAnObject,
                            format!(
                                "the state of stream `{}` is {}, not a JSON object",
                                st.stream,
                                crate::sandbox::clip_to(&v.to_string(), 200)
                            ),
                        )),
                        Err(e) => Some((
                            StateIssue::NotAnObject,
                            format!("the state of stream `{}` is not JSON: {e}", st.stream),
                        )),
                    },
                    _ => Some((
                        StateIssue::UnknownStream,
                        format!(
                            "a state names the stream {:?}, which the catalog does not configure (state: {})",
                            st.stream, st.data
                        ),
                    )),
                };
                // Bounded: a broken connector may emit a bad state per record.
                if let Some((issue, p)) = problem
                    && collected.state_problems.len() < 1000
                {
                    collected
                        .state_problems
                        .push((issue, crate::sandbox::clip_to(&p, PROBLEM_TEXT)));
                }
            }
            Msg::Other(wit::Message::Trace(wit::TraceMessage::Error(e))) => {
                error_count += 1;
                first_error.get_or_insert_with(|| {
                    crate::sandbox::clip_to(
                        &crate::sandbox::ConnectorError::from(e.error.clone()).to_string(),
                        PROBLEM_TEXT,
                    )
                });
            }
            _ => {}
        },
    )?;
    collected.used_network = ctx.network.usage().resources().http_requests > requests_before;
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

    /// The records found outside the cursor of the state each stream was
    /// read from (see [`ReadPlan::outside`]), with the fixes that fit.
    fn outside(&mut self, cursors: &[Cursor]) -> Outside {
        let mut found = Outside::default();
        for c in cursors {
            if let Some(tally) = self
                .streams
                .get_mut(&c.stream)
                .and_then(|s| s.outside.take())
            {
                tally.finish(c, &mut found);
            }
        }
        found
    }
}

/// Records a read returned outside its state's cursor, and the fixes that
/// fit, each with its stream.
#[derive(Default)]
struct Outside {
    /// The first few problems of each stream.
    problems: Vec<String>,
    /// How many more there were.
    more: u64,
    fixes: Vec<(String, String)>,
}

impl Outside {
    /// The verdict, streams with the same fix named together.
    fn verdict(self, expected: &str) -> Verdict {
        let mut grouped: Vec<(Vec<String>, String)> = Vec::new();
        for (stream, fix) in self.fixes {
            match grouped.iter_mut().find(|(_, f)| *f == fix) {
                Some((streams, _)) if streams.contains(&stream) => {}
                Some((streams, _)) => streams.push(stream),
                None => grouped.push((vec![stream], fix)),
            }
        }
        let fix = grouped
            .iter()
            .map(|(streams, fix)| {
                let names: Vec<String> = streams.iter().map(|s| format!("`{s}`")).collect();
                let word = if names.len() == 1 {
                    "stream"
                } else {
                    "streams"
                };
                format!("{word} {}: {fix}", names.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ");
        let fix = if fix.is_empty() {
            "each problem above says what went wrong and how to fix it".to_string()
        } else {
            fix
        };
        super::counted_verdict(self.problems, self.more, expected, &fix)
    }
}

/// The intermediate states (indexes into `s.states`) the slices read from:
/// of the distinct states before the last record, the first (a record out
/// of order early on), then the first at or after half the stream's
/// records, three quarters, seven eighths, ... (pagination lost late), at
/// most [`MAX_SLICES`]. A correct connector's slices so return at most
/// twice the records of the first read in all (the whole stream, then a
/// half, a quarter, an eighth, ...), whatever the stream's size.
fn slice_states(s: &StreamRead) -> Vec<usize> {
    let total = s.count;
    let mut seen = std::collections::HashSet::new();
    let intermediate: Vec<usize> = (0..s.states.len())
        .filter(|&i| s.state_positions[i] < total && seen.insert(s.states[i].to_string()))
        .collect();
    let mut chosen: Vec<usize> = intermediate.first().copied().into_iter().collect();
    for k in 1..MAX_SLICES as u32 {
        let target = total - (total >> k);
        let after = chosen.last().map(|&i| s.state_positions[i]);
        if let Some(&i) = intermediate.iter().find(|&&i| {
            s.state_positions[i] >= target && after.is_none_or(|p| s.state_positions[i] > p)
        }) {
            chosen.push(i);
        }
    }
    chosen
}

/// From intermediate states of the first read (see [`slice_states`]), a
/// fresh read of that stream must return every record the first read emitted
/// after the state (by primary key), and none before the state's cursor.
///
/// The reads are independent: when the first read made no HTTP request,
/// they run side by side on the machine's cores ([`TestCtx::side_by_side`]);
/// a connector that talks to a service reads one slice at a time, as it
/// would in production (its rate limits, and a cassette's order, stay as
/// they were). Either way the findings are reported in slice order.
fn sequential_slices(
    ctx: &mut TestCtx<'_>,
    rules: &Rules<'_>,
    config: &str,
    cursors: &[Cursor],
    first: &Collected,
) -> Verdict {
    let slices: Vec<(&Cursor, usize)> = cursors
        .iter()
        .filter(|c| !c.primary_key.is_empty())
        .flat_map(|c| {
            slice_states(&first.streams[&c.stream])
                .into_iter()
                .map(move |i| (c, i))
        })
        .collect();
    if slices.is_empty() {
        return Verdict::Skip(
            "the first read emitted no intermediate state (a state before the last record) for a stream with a primary key".into(),
        );
    }
    let mut found = Outside::default();
    for slice in ctx.side_by_side(&slices, !first.used_network, |ctx, &(c, i)| {
        read_slice(ctx, rules, config, c, &first.streams[&c.stream], i)
    }) {
        found.problems.extend(slice.problems);
        found.more += slice.more;
        found.fixes.extend(slice.fixes);
    }
    found.verdict(
        "expected a read from each intermediate state of the first read to return the records that came after it, and none before its cursor",
    )
}

/// One slice of [`sequential_slices`]: a read of `c`'s stream from the
/// first read's `i`th state (`s`: that stream in the first read), and what
/// it found.
fn read_slice(
    ctx: &mut TestCtx<'_>,
    rules: &Rules<'_>,
    config: &str,
    c: &Cursor,
    s: &StreamRead,
    i: usize,
) -> Outside {
    let mut found = Outside::default();
    let total = s.count;
    let state = wit::StreamState {
        stream: c.stream.clone(),
        data: s.states[i].to_string(),
    };
    let position = s.state_positions[i];
    let read = format!(
        "the read from the first read's checkpoint after its record index {}",
        position.saturating_sub(1)
    );
    let catalog = wit::ConfiguredCatalog {
        streams: vec![wit::ConfiguredStream {
            name: c.stream.clone(),
            sync_mode: wit::SyncMode::Incremental,
            cursor_field: c.path.clone(),
            primary_key: c.primary_key.clone(),
        }],
    };
    let remaining: HashMap<String, u64> = [(c.stream.clone(), (total - position) as u64)].into();
    let plan = ReadPlan {
        keep: Keep::Keys,
        outside: Some((Ordering::Less, &read)),
        expected: &remaining,
    };
    let mut slice = match read_from(
        ctx,
        rules,
        config,
        &catalog,
        std::slice::from_ref(c),
        vec![state.clone()],
        plan,
    ) {
        Ok(slice) => slice,
        Err(e) => {
            found.problems.push(format!(
                "stream `{}`, {read} (the state {}): {e}",
                c.stream, state.data
            ));
            return found;
        }
    };
    let got = {
        let mut keys =
            std::mem::take(&mut slice.streams.get_mut(&c.stream).expect("read").kept.keys);
        keys.sort_unstable();
        keys
    };
    // The keys are codes of one process's hash: the same key has the same code.
    let missing: Vec<usize> = (position..total)
        .filter(|&k| got.binary_search(&s.kept.keys[k]).is_err())
        .collect();
    drop(got);
    if let Some(&k) = missing.first() {
        let key = s
            .kept
            .key_text(k)
            .map(|t| format!(", primary key {t}"))
            .unwrap_or_default();
        found.problems.push(format!(
            "stream `{}`, {read} (the state {}): {} record(s) the first read emitted after it are missing, the first its record index {k}{key}",
            c.stream,
            state.data,
            missing.len(),
        ));
        found
            .fixes
            .push((c.stream.clone(), why_missing(c, s, i, &missing)));
    }
    let outside = slice.outside(std::slice::from_ref(c));
    found.problems.extend(outside.problems);
    found.more += outside.more;
    found.fixes.extend(outside.fixes);
    found
}

/// Why a read from the first read's `i`th state of `c` missed the records
/// at `missing` (indexes in the first read), as the fix that fits: a
/// checkpoint ahead of the records before it, records out of cursor order,
/// records sharing the checkpoint's cursor skipped, or records after it
/// skipped.
fn why_missing(c: &Cursor, s: &StreamRead, i: usize, missing: &[usize]) -> String {
    let Some(bound) = c.in_state(&s.states[i]) else {
        return "make each checkpoint state cover exactly the records emitted before it"
            .to_string();
    };
    let bound_rank = c.kind.rank(bound);
    let latest_before = s.latest_before[i].as_ref();
    let ahead = latest_before.is_some_and(|l| c.kind.compare(bound, l) == Ok(Ordering::Greater));
    let orders: Vec<Option<Ordering>> = missing
        .iter()
        .map(|&k| s.kept.compare(c.kind, k, bound, bound_rank))
        .collect();
    if ahead {
        format!(
            "the checkpoint's cursor {bound} is ahead of every record emitted before it (the latest: {}); a checkpoint saves the cursor of the last record emitted, never more",
            latest_before.map(Value::to_string).unwrap_or_default()
        )
    } else if orders.contains(&Some(Ordering::Less)) {
        format!(
            "records after the checkpoint have a cursor before its {bound}: the stream is not emitted in cursor order; sort the records by the cursor, or checkpoint only at the end of the stream"
        )
    } else if orders.contains(&Some(Ordering::Equal)) {
        format!(
            "records sharing the checkpoint's cursor {bound} were skipped; read from the state's cursor inclusively (>=, not >)"
        )
    } else {
        format!(
            "the read from the checkpoint skipped records after its cursor {bound}; return every record at or after the state's cursor"
        )
    }
}

/// incremental's own check of an input set: each `cursor_paths` entry is a
/// path of field names.
fn check_set(set: &crate::test_config::InputSet, place: &str) -> Result<(), String> {
    for (stream, path) in &set.cursor_paths {
        if path.is_empty() || path.iter().any(String::is_empty) {
            return Err(format!(
                "{place}.cursor_paths.{stream}: {path:?} is not a path in the stream's state\n  fix: list the field names from the state's root to its cursor, for example `{stream}: [checkpoint, updated_at]`"
            ));
        }
    }
    Ok(())
}

/// The far-future state (Airbyte's form).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FutureState {
    /// JSON: a list of `{"stream": ..., "data": {...}}`, or an object stream ->
    /// state. Streams it leaves out get a state generated from their cursor.
    pub future_state_path: Option<std::path::PathBuf>,
    /// With `test_strictness_level: high`: incremental streams the file may
    /// leave out, with why.
    #[serde(default)]
    pub missing_streams: Vec<crate::test_config::Bypassed>,
    /// With `test_strictness_level: high`: no file, for this reason.
    pub bypass_reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_with_states(total: usize, every: usize) -> StreamRead {
        let mut s = StreamRead {
            count: total,
            ..Default::default()
        };
        for position in (every..=total).step_by(every) {
            s.states.push(serde_json::json!({ "n": position }));
            s.state_positions.push(position);
        }
        s
    }

    /// The slices start at the first checkpoint, then at half, three
    /// quarters, ... of the stream: what a correct connector returns to them
    /// stays under twice the stream, at any size; the last state (at the
    /// end) is not a slice.
    #[test]
    fn slices_read_at_most_twice_the_stream() {
        for (total, every) in [
            (1000, 250),
            (100_000, 1000),
            (1_000_000, 1000),
            (1_000_000, 7),
            (10, 1),
        ] {
            let s = read_with_states(total, every);
            let chosen = slice_states(&s);
            let positions: Vec<usize> = chosen.iter().map(|&i| s.state_positions[i]).collect();
            assert!(
                !positions.is_empty() && positions.len() <= MAX_SLICES,
                "{positions:?}"
            );
            assert_eq!(positions[0], every, "the first checkpoint");
            assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
            assert!(positions.iter().all(|&p| p < total));
            let read: usize = positions.iter().map(|&p| total - p).sum();
            assert!(read <= 2 * total, "{total}: {read} records in slices");
        }
        let s = read_with_states(1000, 250);
        let positions: Vec<usize> = slice_states(&s)
            .iter()
            .map(|&i| s.state_positions[i])
            .collect();
        assert_eq!(positions, [250, 500, 750]);
        // One state only, at the end: no intermediate state, no slice.
        assert!(slice_states(&read_with_states(100, 100)).is_empty());
    }

    /// A record's cursor kept by rank compares with a bound as the values
    /// do; one without a rank is kept whole; a missing one compares to
    /// nothing. Integer keys are shown; hashed ones are not.
    #[test]
    fn kept_cursors_compare_as_their_values() {
        let kind = CursorKind::DateTime;
        let mut kept = Kept {
            integer_keys: true,
            ..Default::default()
        };
        let values = [
            Some(Value::from("2024-01-01T00:00:00Z")),
            None,
            Some(Value::from("2024-01-01T02:00:00+02:00")),
            Some(Value::from(17)),
        ];
        for (i, v) in values.iter().enumerate() {
            let (secs, nanos) = match v.as_ref().map(|v| (v, kind.rank(v))) {
                None => (0, NO_CURSOR),
                Some((_, Some(r))) => r,
                Some((v, None)) => {
                    kept.others.push((i, v.clone()));
                    (0, OTHER_CURSOR)
                }
            };
            kept.push_rank(secs, nanos);
            kept.keys.push(i as u64);
        }
        let bound = Value::from("2024-01-01T00:00:00Z");
        let rank = kind.rank(&bound);
        assert_eq!(kept.compare(kind, 0, &bound, rank), Some(Ordering::Equal));
        assert_eq!(kept.compare(kind, 1, &bound, rank), None);
        assert_eq!(kept.compare(kind, 2, &bound, rank), Some(Ordering::Equal));
        assert_eq!(
            kept.compare(kind, 3, &bound, rank),
            kind.compare(&Value::from(17), &bound).ok()
        );
        assert_eq!(kept.key_text(3).as_deref(), Some("[3]"));
        let (a, int_a) = key_code(&[&Value::from("x")]);
        let (b, _) = key_code(&[&Value::from("x")]);
        assert!(!int_a);
        assert_eq!(a, b, "one key, one code, read after read");
        assert_eq!(key_code(&[&Value::from(-5)]), (-5i64 as u64, true));

        // Whole seconds keep no nanoseconds until one has some; those before
        // still compare as whole.
        let mut kept = Kept::default();
        let texts = [
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:00:01Z",
            "2024-01-01T00:00:00.000000001Z",
        ];
        for (i, text) in texts.iter().enumerate() {
            let (secs, nanos) = kind.rank(&Value::from(*text)).unwrap();
            kept.push_rank(secs, nanos);
            assert_eq!(kept.nanos.is_empty(), i < 2, "{i}");
        }
        let expected = [Ordering::Equal, Ordering::Greater, Ordering::Greater];
        for (i, e) in expected.into_iter().enumerate() {
            assert_eq!(kept.compare(kind, i, &bound, rank), Some(e), "{i}");
        }
    }
}
