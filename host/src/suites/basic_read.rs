//! basic_read: a full-refresh read of every stream, checked record by record as
//! it streams through (nothing is kept but counts and the first examples of each
//! problem), then an unknown stream must be refused.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::time::Duration;

use serde_json::Value;

use super::{
    ALL_TESTS, DiscoveredStream, EXAMPLES, Run, TestCtx, Verdict, expected_records, read, verdict,
};
use crate::sandbox::PluginError;
use crate::sandbox::bindings::ctest::connector::types as wit;
use crate::schema::{self, FieldTree};
use crate::test_config::{Bypassed, PreparedSet};

const SUITE: &str = "basic_read";

/// The suite, as the registry ([`super::REGISTRY`]) holds it.
pub(super) const ENTRY: super::Suite = super::Suite {
    name: SUITE,
    tests: &[
        "read",
        "records_per_stream",
        "records_match_schema",
        "no_undeclared_fields",
        "only_configured_streams",
        "primary_key_not_null",
        "primary_key_unique",
        "emitted_at_in_read_window",
        "stream_status_order",
        "expected_records",
        "every_field_has_data",
        "unknown_stream_error",
    ],
    input_keys: &[
        "configured_catalog_path",
        "empty_streams",
        "ignored_fields",
        "fail_on_extra_columns",
        "validate_data_points",
        "expect_records",
        "bypassed_streams",
    ],
    time_limit: super::TimeLimit::Read,
    declared_when_strict: true,
    run: |run, _| run_suite(run),
};
const CHECKS: &[&str] = &[
    "records_per_stream",
    "records_match_schema",
    "no_undeclared_fields",
    "only_configured_streams",
    "primary_key_not_null",
    "primary_key_unique",
    "emitted_at_in_read_window",
    "stream_status_order",
    "expected_records",
    "every_field_has_data",
];

fn run_suite(run: &mut Run<'_>) {
    // The opt-in checks are reported only when the test configuration asks.
    let checks: Vec<&str> = CHECKS
        .iter()
        .copied()
        .filter(|c| match *c {
            "expected_records" => run.set.set.expect_records.is_some(),
            "every_field_has_data" => run.set.set.validate_data_points == Some(true),
            _ => true,
        })
        .collect();
    let Some(streams) = run.catalog.take() else {
        run.skip_all(
            SUITE,
            &[&["read"], &checks[..], &["unknown_stream_error"]].concat(),
            "discovery did not return a catalog",
        );
        return;
    };
    let config_text = run.config_text.clone();
    let catalog =
        read::configured_catalog(&streams, &run.set, |_| Some(wit::SyncMode::FullRefresh));
    let configured: Vec<&DiscoveredStream> = streams
        .iter()
        .filter(|s| catalog.streams.iter().any(|c| c.name == s.info.name))
        .collect();
    let allowed_empty = run.set.set.empty_streams.clone();
    let extra_columns_allowed = run.set.set.fail_on_extra_columns == Some(false);
    run.read_facts.extra_columns_allowed = extra_columns_allowed;
    let data_points = run.set.set.validate_data_points == Some(true);
    // Records are kept only for the streams the expected records name.
    let keep: HashSet<String> = run
        .set
        .expected_records
        .iter()
        .flat_map(|e| e.records.iter().map(|r| r.stream.clone()))
        .collect();
    run.report_bypassed_streams(SUITE);

    // Learning which records keep the rules pays only when later suites
    // read again.
    let reads_again = ALL_TESTS.iter().any(|t| {
        ["full_refresh/", "incremental/", "write_back/"]
            .iter()
            .any(|s| t.starts_with(s))
            && t.split_once('/')
                .is_some_and(|(suite, name)| run.selected(suite, name))
    });
    let mut findings = None;
    let mut read_passed = false;
    run.step(SUITE, "read", |ctx| {
        if catalog.streams.is_empty() {
            return Verdict::Skip("the catalog has no stream to read".into());
        }
        let mut checker = RecordChecker::new(configured.iter().copied(), &keep, data_points);
        if reads_again {
            checker.known = Known::Learning(KnownRecords::new());
        }
        let (verdict, ended) = read_all(ctx, &config_text, &catalog, &mut checker);
        // A read that ended, even with error traces, is checked: how the
        // streams ended after an error is one of the checks.
        if ended {
            findings = Some(checker.finish());
        }
        read_passed = matches!(verdict, Verdict::Pass);
        verdict
    });
    // Which streams this input set's read covered (the others, left out by
    // its catalog, are still the incremental suite's to test).
    run.streams_read = configured.iter().map(|s| s.info.name.clone()).collect();
    // The suites that read again start only from a read that passed.
    run.streams_with_records = findings.as_ref().filter(|_| read_passed).map(|f| {
        f.checker
            .streams
            .iter()
            .filter(|(_, s)| s.records > 0)
            .map(|(name, _)| name.clone())
            .collect()
    });
    match findings {
        None => run.skip_all(SUITE, &checks, "the full-refresh read did not complete"),
        Some(mut findings) => {
            if let Known::Learning(known) =
                std::mem::replace(&mut findings.checker.known, Known::Off)
            {
                run.read_facts.known = Some(std::sync::Arc::new(known));
            }
            findings
                .empty_streams
                .retain(|s| !allowed_empty.iter().any(|a| a.name == *s));
            let mut verdicts = findings.verdicts();
            // These two are opt-in: not reported unless configured.
            if let Some(v) = findings.expected_records(&run.set) {
                verdicts.push(("expected_records", v));
            }
            if data_points {
                verdicts.push((
                    "every_field_has_data",
                    findings.data_points(&run.set.set.ignored_fields),
                ));
            }
            for (name, verdict) in verdicts {
                if matches!(verdict, Verdict::Fail(_)) {
                    run.read_facts.broken_in_basic_read.insert(name);
                }
                let verdict = match (name, verdict) {
                    ("no_undeclared_fields", _) if extra_columns_allowed => Verdict::Skip(
                        "fail_on_extra_columns is false in the test configuration".into(),
                    ),
                    (_, verdict) => verdict,
                };
                run.finish(SUITE, name, verdict, Duration::ZERO, Vec::new());
            }
        }
    }

    run.test(SUITE, "unknown_stream_error", |ctx| {
        unknown_stream(ctx, &config_text)
    });
    run.catalog = Some(streams);
}

/// Milliseconds since the Unix epoch, now.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The most bytes of records kept for the expected_records comparison.
const KEPT_RECORDS_BUDGET: usize = 256 << 20;

/// The most of one log line or error trace a read keeps (each kept line is
/// one of at most 1,000, each trace one of [`EXAMPLES`]).
const KEPT_TEXT: usize = 4 << 10;

/// Reads to the end, feeding every message to `checker`: the verdict, and
/// whether the read ended (even with error traces).
fn read_all(
    ctx: &mut TestCtx<'_>,
    config: &str,
    catalog: &wit::ConfiguredCatalog,
    checker: &mut RecordChecker,
) -> (Verdict, bool) {
    // basic_read checks the rules itself, each as its own test.
    let outcome = read::stream_read(ctx, config, catalog, &[], None, &mut |m| {
        checker.observe(&m)
    });
    ctx.logs.append(&mut checker.logs);
    let errors = std::mem::take(&mut checker.error_traces);
    let ended = outcome.is_ok();
    let verdict = match outcome {
        Err(e) => Verdict::Fail(format!(
            "expected a full-refresh read of every stream to complete; {e}{}",
            after_records(checker)
        )),
        Ok(()) if !errors.is_empty() => Verdict::Fail(format!(
            "expected the read to complete without errors; the connector reported {} error(s):\n  {}\n\
             fix: the connector's own error message says what went wrong",
            checker.error_count,
            errors.join("\n  ")
        )),
        Ok(()) => Verdict::Pass,
    };
    (verdict, ended)
}

fn after_records(checker: &RecordChecker) -> String {
    let total: u64 = checker.streams.values().map(|s| s.records).sum();
    format!(" (after {total} records)")
}

/// Where a stream is in its `started, running, complete` sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Pending,
    Started,
    Complete,
}

/// A cursor value's fixed-size rank ([`crate::cursor::CursorKind::rank`]).
type CursorRank = (i64, u32);

struct KeysSeen {
    /// Integer keys that came in increasing order, as most do, with their
    /// record index and cursor rank: appended, no hashing, no table.
    ascending: Vec<(i64, u32, Option<CursorRank>)>,
    /// Every other key, by a 64-bit hash. Keys are hashed with this
    /// process's random SipHash keys: a plugin cannot make its keys collide
    /// in the table (a quadratic insert).
    hashing: std::collections::hash_map::RandomState,
    seen: HashMap<u64, (u32, Option<CursorRank>), BuildHasherDefault<PrehashedKey>>,
    /// For cdc streams: where the cursor is, and how its values compare.
    cursor: Option<(Vec<String>, crate::cursor::CursorKind)>,
}

impl KeysSeen {
    fn new(cursor: Option<(Vec<String>, crate::cursor::CursorKind)>) -> Self {
        KeysSeen {
            ascending: Vec::new(),
            hashing: std::collections::hash_map::RandomState::new(),
            seen: HashMap::default(),
            cursor,
        }
    }

    /// Notes the key `values` of record `index` (its cursor ranked `rank`):
    /// the index of an earlier record with the same key, when that is a
    /// problem (a repeat, or for a change stream a repeat with an earlier
    /// cursor).
    fn repeats(&mut self, values: &[&Value], index: u32, rank: Option<CursorRank>) -> Option<u32> {
        let earlier = match values {
            [single] if single.as_i64().is_some() => {
                let key = single.as_i64().unwrap_or_default();
                if self.ascending.last().is_none_or(|(last, _, _)| key > *last) {
                    self.ascending.push((key, index, rank));
                    return None;
                }
                match self.ascending.binary_search_by_key(&key, |(k, _, _)| *k) {
                    Ok(at) => {
                        let earlier = self.ascending[at];
                        self.ascending[at] = (key, index, rank);
                        Some((earlier.1, earlier.2))
                    }
                    Err(_) => self.insert_hashed(values, index, rank),
                }
            }
            _ => self.insert_hashed(values, index, rank),
        }?;
        let in_order =
            self.cursor.is_some() && (rank.is_none() || earlier.1.is_none() || rank >= earlier.1);
        (!in_order).then_some(earlier.0)
    }

    fn insert_hashed(
        &mut self,
        values: &[&Value],
        index: u32,
        rank: Option<CursorRank>,
    ) -> Option<(u32, Option<CursorRank>)> {
        let mut hasher = std::hash::BuildHasher::build_hasher(&self.hashing);
        for v in values {
            hash_value(v, &mut hasher);
        }
        self.seen
            .insert(std::hash::Hasher::finish(&hasher), (index, rank))
    }
}

/// Records that kept every record-level rule (a JSON object valid against
/// its schema, its fields declared, its key present) in basic_read's read,
/// by a keyed 64-bit hash of stream and text. Those rules depend on nothing
/// but the record, so a later read returning the same text need not check
/// it again; a record of any other text is checked in full. The hash keys
/// are random per process (ahash): a plugin, which never sees a hash, cannot
/// aim an invalid record at a known one.
pub(super) struct KnownRecords {
    hashing: ahash::RandomState,
    hashes: HashSet<u64, BuildHasherDefault<PrehashedKey>>,
}

/// The most records [`KnownRecords`] holds (about 16 bytes each); past it
/// records are checked in every read.
const MOST_KNOWN: usize = 2_000_000;

impl KnownRecords {
    fn new() -> Self {
        KnownRecords {
            hashing: ahash::RandomState::new(),
            hashes: HashSet::default(),
        }
    }

    fn hash(&self, stream: &str, data: &str) -> u64 {
        use std::hash::{BuildHasher, Hash, Hasher};
        let mut hasher = self.hashing.build_hasher();
        stream.hash(&mut hasher);
        data.hash(&mut hasher);
        hasher.finish()
    }

    fn learn(&mut self, hash: u64) {
        if self.hashes.len() < MOST_KNOWN {
            self.hashes.insert(hash);
        }
    }
}

/// How a checker uses [`KnownRecords`].
enum Known {
    Off,
    /// basic_read's read: notes the records that keep the rules.
    Learning(KnownRecords),
    /// A later read: skips the records basic_read's read found keeping them.
    Using(std::sync::Arc<KnownRecords>),
}

/// The keys of [`KeysSeen`] are hashes already.
#[derive(Default)]
struct PrehashedKey(u64);

impl std::hash::Hasher for PrehashedKey {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Hashes a key value: scalars directly, anything else as its JSON text.
fn hash_value(v: &Value, hasher: &mut std::collections::hash_map::DefaultHasher) {
    use std::hash::Hash;
    match v {
        Value::String(s) => (1u8, s.as_str()).hash(hasher),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => (2u8, i).hash(hasher),
            (None, Some(u)) => (3u8, u).hash(hasher),
            _ => (4u8, n.as_f64().unwrap_or_default().to_bits()).hash(hasher),
        },
        Value::Bool(b) => (5u8, *b).hash(hasher),
        Value::Null => 6u8.hash(hasher),
        other => {
            7u8.hash(hasher);
            let _ = serde_json::to_writer(HashWriter(hasher), other);
        }
    }
}

/// Feeds serialized JSON to a hasher without building the text.
struct HashWriter<'a>(&'a mut std::collections::hash_map::DefaultHasher);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        std::hash::Hasher::write(self.0, bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct StreamCheck {
    validator: Option<std::sync::Arc<jsonschema::Validator>>,
    fields: Option<FieldTree>,
    primary_key: Vec<Vec<String>>,
    /// Each primary key seen (a 64-bit hash) with the index of its record
    /// and, for change streams (cdc), its cursor's rank: a full-refresh read
    /// emits an append stream's key once, a cdc stream's again only later in
    /// cursor order.
    keys: Option<KeysSeen>,
    records: u64,
    phase: Phase,
    /// The records, kept for the expected records comparison.
    kept: Option<Vec<Value>>,
    /// With `validate_data_points`: the declared fields seen with a value.
    present: Option<HashSet<String>>,
    /// The stream had an error trace: it may not end `complete`.
    errored: bool,
}

#[derive(Default)]
pub(super) struct Problems {
    pub count: u64,
    pub examples: Vec<String>,
}

impl Problems {
    fn add(&mut self, example: impl FnOnce() -> String) {
        self.count += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push(example());
        }
    }

    fn verdict(&self, expected: &str, fix: &str) -> Verdict {
        if self.count == 0 {
            return Verdict::Pass;
        }
        let more = if self.count > self.examples.len() as u64 {
            format!(
                "\n  ... and {} more",
                self.count - self.examples.len() as u64
            )
        } else {
            String::new()
        };
        Verdict::Fail(format!(
            "{expected}; {} problem(s):\n  {}{more}\nfix: {fix}",
            self.count,
            self.examples.join("\n  ")
        ))
    }
}

/// Checks each message of a read as it arrives.
pub(super) struct RecordChecker {
    streams: HashMap<String, StreamCheck>,
    /// Stream names in catalog order, for stable messages.
    order: Vec<String>,
    schema: Problems,
    undeclared: Problems,
    unconfigured: Problems,
    pk_null: Problems,
    pk_repeated: Problems,
    /// When the read started (ms since the epoch), and the earliest and
    /// latest `emitted_at` seen, with where: checked against the read's own
    /// time window when it ends.
    started_ms: i64,
    earliest: Option<(i64, String)>,
    latest: Option<(i64, String)>,
    emitted_at: Problems,
    status: Problems,
    error_traces: Vec<String>,
    error_count: u64,
    /// Bytes of the records kept for expected_records, against
    /// [`KEPT_RECORDS_BUDGET`], and the stream that went over it.
    kept_bytes: usize,
    kept_budget: usize,
    over_budget: Option<String>,
    logs: Vec<crate::sandbox::LogLine>,
    known: Known,
}

pub(super) struct Findings {
    empty_streams: Vec<String>,
    checker: RecordChecker,
}

impl RecordChecker {
    /// `keep`: the streams whose records are kept; `data_points`: whether to
    /// note which declared fields hold values.
    pub(super) fn new<'s>(
        streams: impl IntoIterator<Item = &'s DiscoveredStream>,
        keep: &HashSet<String>,
        data_points: bool,
    ) -> Self {
        let mut map = HashMap::new();
        let mut order = Vec::new();
        for s in streams {
            order.push(s.info.name.clone());
            map.insert(
                s.info.name.clone(),
                StreamCheck {
                    validator: s.record_validator(),
                    fields: s.schema.as_ref().map(FieldTree::from_schema),
                    primary_key: s.declared_primary_key(),
                    keys: (!s.declared_primary_key().is_empty()).then(|| {
                        let change = matches!(
                            s.info.ingestion_type,
                            wit::IngestionType::Cdc | wit::IngestionType::CdcWithDeletes
                        );
                        KeysSeen::new(change.then(|| {
                            let path = s.info.default_cursor_field.clone();
                            let kind = s
                                .schema
                                .as_ref()
                                .map_or(crate::cursor::CursorKind::Text, |sc| {
                                    crate::cursor::CursorKind::of(sc, &path)
                                });
                            (path, kind)
                        }))
                    }),
                    records: 0,
                    phase: Phase::Pending,
                    kept: keep.contains(&s.info.name).then(Vec::new),
                    present: data_points.then(HashSet::new),
                    errored: false,
                },
            );
        }
        RecordChecker {
            streams: map,
            order,
            schema: Problems::default(),
            undeclared: Problems::default(),
            unconfigured: Problems::default(),
            pk_null: Problems::default(),
            pk_repeated: Problems::default(),
            started_ms: now_ms(),
            earliest: None,
            latest: None,
            emitted_at: Problems::default(),
            status: Problems::default(),
            error_traces: Vec::new(),
            error_count: 0,
            kept_bytes: 0,
            kept_budget: KEPT_RECORDS_BUDGET,
            over_budget: None,
            logs: Vec::new(),
            known: Known::Off,
        }
    }

    /// A checker of the rules every read keeps ([`super::read::Rules`]):
    /// no key uniqueness (basic_read's alone), and the records `known` holds
    /// are not checked again.
    pub(super) fn for_rules<'s>(
        streams: impl IntoIterator<Item = &'s DiscoveredStream>,
        known: Option<std::sync::Arc<KnownRecords>>,
    ) -> Self {
        let mut checker = RecordChecker::new(streams, &HashSet::new(), false);
        for check in checker.streams.values_mut() {
            check.keys = None;
        }
        checker.known = known.map_or(Known::Off, Known::Using);
        checker
    }

    pub(super) fn observe(&mut self, message: &wit::Message) {
        match message {
            wit::Message::Record(r) => self.record(r),
            wit::Message::State(s) => match self.streams.get(&s.stream) {
                None => self.unconfigured.add(|| {
                    format!(
                        "a state message for stream `{}`, which the catalog does not configure",
                        s.stream
                    )
                }),
                Some(check) => self.out_of_phase(check.phase, "a state", &s.stream),
            },
            wit::Message::Log(l) => {
                if self.logs.len() < 1000 {
                    self.logs.push(crate::sandbox::LogLine {
                        level: crate::sandbox::level_name(l.level).to_string(),
                        message: crate::sandbox::clip_to(&l.message, KEPT_TEXT),
                    });
                }
            }
            wit::Message::Trace(wit::TraceMessage::Error(e)) => {
                if let Some(stream) = &e.stream
                    && let Some(check) = self.streams.get_mut(stream)
                {
                    check.errored = true;
                    let phase = check.phase;
                    // Before `started` an error may say why the stream
                    // could not start; after `complete` it comes too late.
                    if phase == Phase::Complete {
                        self.out_of_phase(phase, "an error trace", stream);
                    }
                }
                let on = e
                    .stream
                    .as_ref()
                    .map(|s| format!(" (stream `{s}`)"))
                    .unwrap_or_default();
                // Counted, and the first few kept clipped: a plugin may send
                // millions of traces.
                self.error_count += 1;
                if self.error_traces.len() < EXAMPLES {
                    self.error_traces.push(crate::sandbox::clip_to(
                        &format!(
                            "{}{on}",
                            crate::sandbox::ConnectorError::from(e.error.clone())
                        ),
                        KEPT_TEXT,
                    ));
                }
            }
            wit::Message::Trace(wit::TraceMessage::StreamStatus(s)) => self.stream_status(s),
            // `Plugin::next_batch` hands each batch on as its `record`s.
            wit::Message::Records(_) => {}
        }
    }

    /// A message of `stream` (`what`: "a state") outside the stream's
    /// `started` .. `complete`.
    fn out_of_phase(&mut self, phase: Phase, what: &str, stream: &str) {
        let when = match phase {
            Phase::Started => return,
            Phase::Pending => "before its `started` status",
            Phase::Complete => "after its `complete` status",
        };
        self.status
            .add(|| format!("{what} of stream `{stream}` came {when}"));
    }

    fn stream_status(&mut self, s: &wit::StreamStatusTrace) {
        let Some(check) = self.streams.get_mut(&s.stream) else {
            self.unconfigured.add(|| {
                format!(
                    "a stream status for stream `{}`, which the catalog does not configure",
                    s.stream
                )
            });
            return;
        };
        let name = &s.stream;
        let (next, problem) = match (check.phase, s.status) {
            (Phase::Pending, wit::StreamStatus::Started) => (Phase::Started, None),
            (Phase::Started, wit::StreamStatus::Running) => (Phase::Started, None),
            (Phase::Started, wit::StreamStatus::Complete) if check.errored => (
                Phase::Complete,
                Some(format!(
                    "stream `{name}` reported `complete` after an error trace for it; a stream that failed ends `incomplete`"
                )),
            ),
            (Phase::Started, wit::StreamStatus::Complete) => (Phase::Complete, None),
            // After its error trace, `incomplete` is how a stream ends.
            (Phase::Started, wit::StreamStatus::Incomplete) if check.errored => {
                (Phase::Complete, None)
            }
            (phase, wit::StreamStatus::Incomplete) => (
                phase,
                Some(format!(
                    "stream `{name}` reported `incomplete` in a read that ended normally"
                )),
            ),
            (Phase::Pending, status) => (
                Phase::Pending,
                Some(format!(
                    "stream `{name}` reported `{}` before `started`",
                    status_name(status)
                )),
            ),
            (Phase::Started, wit::StreamStatus::Started) => (
                Phase::Started,
                Some(format!("stream `{name}` reported `started` twice")),
            ),
            (Phase::Complete, status) => (
                Phase::Complete,
                Some(format!(
                    "stream `{name}` reported `{}` after `complete`",
                    status_name(status)
                )),
            ),
        };
        check.phase = next;
        if let Some(p) = problem {
            self.status.add(|| p);
        }
    }

    fn record(&mut self, r: &wit::RecordMessage) {
        let Some(check) = self.streams.get_mut(&r.stream) else {
            self.unconfigured.add(|| {
                format!(
                    "a record for stream `{}`, which the catalog does not configure",
                    r.stream
                )
            });
            return;
        };
        let index = check.records;
        check.records += 1;
        let data_len = r.data.len();
        let at = r.emitted_at;
        if self.earliest.as_ref().is_none_or(|(e, _)| at < *e) {
            self.earliest = Some((at, format!("record index {index} of stream `{}`", r.stream)));
        }
        if self.latest.as_ref().is_none_or(|(l, _)| at > *l) {
            self.latest = Some((at, format!("record index {index} of stream `{}`", r.stream)));
        }
        let stream = &r.stream;
        match check.phase {
            Phase::Started => {}
            Phase::Pending => self.status.add(|| {
                format!(
                    "record index {index} of stream `{stream}` came before its `started` status"
                )
            }),
            Phase::Complete => self.status.add(|| {
                format!(
                    "record index {index} of stream `{stream}` came after its `complete` status"
                )
            }),
        }
        let learning = match &self.known {
            Known::Off => None,
            Known::Learning(k) => Some(k.hash(stream, &r.data)),
            Known::Using(k) => {
                if k.hashes.contains(&k.hash(stream, &r.data)) {
                    return;
                }
                None
            }
        };
        let problems_before = self.schema.count + self.undeclared.count + self.pk_null.count;
        let value: Value = match serde_json::from_str(&r.data) {
            Ok(v) => v,
            Err(e) => {
                self.schema
                    .add(|| format!("record index {index} of stream `{stream}` is not JSON: {e}"));
                return;
            }
        };
        if !value.is_object() {
            self.schema.add(|| {
                format!(
                    "record index {index} of stream `{stream}` is {}, not a JSON object",
                    schema::kind_of(&value)
                )
            });
            return;
        }
        if let Some(validator) = &check.validator
            && !validator.is_valid(&value)
        {
            let detail = validator
                .iter_errors(&value)
                .next()
                .map(|e| {
                    format!(
                        "at `{}`: {} (schema rule {})",
                        schema::pointer_or_root(e.instance_path().as_str()),
                        e,
                        e.schema_path().as_str()
                    )
                })
                .unwrap_or_default();
            self.schema
                .add(|| format!("record index {index} of stream `{stream}` {detail}"));
        }
        let findings = check
            .fields
            .as_ref()
            .map(|f| f.inspect(&value))
            .unwrap_or_default();
        if let Some(path) = findings.non_integer {
            let found = value
                .pointer(&path)
                .map(Value::to_string)
                .unwrap_or_default();
            self.schema.add(|| {
                format!(
                    "record index {index} of stream `{stream}` at `{path}`: {found} is not an integer \
                     (ctest is strict: a number with a fraction part, even .0, is not an integer)"
                )
            });
        }
        if let Some(path) = findings.undeclared {
            self.undeclared.add(|| {
                format!("record index {index} of stream `{stream}` has the field `{path}`, which its schema does not declare")
            });
        }
        // The key's values, without allocating for the common single key.
        let mut one = [&Value::Null];
        let many: Vec<&Value>;
        let values: &[&Value] = if let [path] = check.primary_key.as_slice() {
            one[0] = schema::value_at(&value, path).unwrap_or(&Value::Null);
            &one
        } else {
            many = check
                .primary_key
                .iter()
                .map(|k| schema::value_at(&value, k).unwrap_or(&Value::Null))
                .collect();
            &many
        };
        // A record without its key is primary_key_not_null's finding, not
        // primary_key_unique's.
        let mut keyed = true;
        for (key, v) in check.primary_key.iter().zip(values) {
            if v.is_null() {
                keyed = false;
                self.pk_null.add(|| {
                    format!(
                        "record index {index} of stream `{stream}` has no value at primary key field `{}`",
                        key.join(".")
                    )
                });
            }
        }
        if let Some(keys) = check.keys.as_mut().filter(|_| keyed) {
            let rank = keys
                .cursor
                .as_ref()
                .and_then(|(path, kind)| schema::value_at(&value, path).and_then(|c| kind.rank(c)));
            let index32 = u32::try_from(index).unwrap_or(u32::MAX);
            if let Some(first) = keys.repeats(values, index32, rank) {
                let key_text: Vec<String> = values
                    .iter()
                    .map(|v| crate::sandbox::clip_to(&v.to_string(), 100))
                    .collect();
                let order = if keys.cursor.is_some() {
                    " with an earlier cursor"
                } else {
                    ""
                };
                self.pk_repeated.add(|| {
                    format!(
                        "record index {index} of stream `{stream}` repeats the primary key [{}] of record index {first}{order}",
                        key_text.join(", ")
                    )
                });
            }
        }
        if let (Some(present), Some(fields)) = (&mut check.present, &check.fields) {
            fields.mark_present(&value, present);
        }
        if let (Some(hash), Known::Learning(known)) = (learning, &mut self.known)
            && self.schema.count + self.undeclared.count + self.pk_null.count == problems_before
        {
            known.learn(hash);
        }
        if let Some(kept) = &mut check.kept {
            self.kept_bytes += data_len;
            if self.kept_bytes > self.kept_budget {
                // Past the budget nothing more is kept; the comparison says so.
                check.kept = None;
                self.over_budget.get_or_insert_with(|| stream.to_string());
            } else {
                kept.push(value);
            }
        }
    }

    pub(super) fn finish(mut self) -> Findings {
        // The window of this read, a second of clock slack on either side.
        let (from, to) = (self.started_ms - 1_000, now_ms() + 1_000);
        for (seen, edge) in [
            (self.earliest.take(), "earliest"),
            (self.latest.take(), "latest"),
        ] {
            if let Some((at, place)) = seen
                && !(from..=to).contains(&at)
            {
                let unit = if at > 0 && at < from / 100 {
                    " (it looks like seconds, not milliseconds)"
                } else {
                    ""
                };
                self.emitted_at.add(|| {
                    format!(
                        "the {edge} emitted_at, {at} at {place}, is outside the read's time window {from}..{to}{unit}"
                    )
                });
            }
        }
        let mut empty_streams = Vec::new();
        for name in &self.order {
            let Some(check) = self.streams.get(name) else {
                continue;
            };
            if check.records == 0 {
                empty_streams.push(name.clone());
            }
            match check.phase {
                Phase::Complete => {}
                Phase::Pending => self
                    .status
                    .add(|| format!("stream `{name}` never reported `started` (nor `complete`)")),
                Phase::Started => self
                    .status
                    .add(|| format!("stream `{name}` never reported `complete`")),
            }
        }
        Findings {
            empty_streams,
            checker: self,
        }
    }
}

fn status_name(s: wit::StreamStatus) -> &'static str {
    match s {
        wit::StreamStatus::Started => "started",
        wit::StreamStatus::Running => "running",
        wit::StreamStatus::Complete => "complete",
        wit::StreamStatus::Incomplete => "incomplete",
    }
}

impl Findings {
    /// basic_read/every_field_has_data: each field a stream's schema declares
    /// holds a non-null value in at least one of its records.
    fn data_points(&self, ignored: &std::collections::BTreeMap<String, Vec<Bypassed>>) -> Verdict {
        let mut problems = Vec::new();
        for name in &self.checker.order {
            let check = &self.checker.streams[name];
            let (Some(present), Some(fields), true) =
                (&check.present, &check.fields, check.records > 0)
            else {
                continue;
            };
            let skipped = ignored.get(name).map(Vec::as_slice).unwrap_or_default();
            for path in fields.declared_paths() {
                let is_ignored = skipped.iter().any(|i| {
                    path == i.name
                        || path
                            .strip_prefix(i.name.as_str())
                            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
                });
                if !present.contains(&path) && !is_ignored {
                    problems.push(format!(
                        "stream `{name}`: field `{path}` is null or absent in all {} records",
                        check.records
                    ));
                }
            }
        }
        verdict(
            problems,
            "expected every field a stream's schema declares to hold a value in at least one record (validate_data_points)",
            "fill the field, stop declaring fields the connector never fills, or list it under `ignored_fields` with a reason",
        )
    }

    /// basic_read/expected_records: the records the test configuration
    /// expects. `None` when it expects none.
    fn expected_records(&mut self, set: &PreparedSet) -> Option<Verdict> {
        let options = set.set.expect_records.as_ref()?;
        let (Some(file), None) = (&set.expected_records, &options.bypass_reason) else {
            return Some(Verdict::Skip(format!(
                "bypassed by the test configuration: {}",
                options.bypass_reason.as_deref().unwrap_or_default()
            )));
        };
        if let Some(stream) = &self.checker.over_budget {
            return Some(Verdict::Fail(format!(
                "the records of the streams in the expected records file add up to more than {} MiB (stream `{stream}` went over), the most ctest keeps to compare\n                 fix: give the input set a smaller config (fewer records), or compare a configured catalog of fewer streams",
                KEPT_RECORDS_BUDGET >> 20
            )));
        }
        let read = self
            .checker
            .streams
            .iter_mut()
            .map(|(name, check)| {
                (
                    name.clone(),
                    expected_records::ReadStream {
                        primary_key: check.primary_key.clone(),
                        records: check.kept.take().unwrap_or_default(),
                    },
                )
            })
            .collect();
        Some(expected_records::compare(file, options, read, &set.set))
    }

    pub(super) fn verdicts(&self) -> Vec<(&'static str, Verdict)> {
        let c = &self.checker;
        let counts: Vec<String> = c
            .order
            .iter()
            .map(|n| format!("`{n}`: {}", c.streams[n].records))
            .collect();
        let records_per_stream = if self.empty_streams.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail(format!(
                "expected every stream to yield records in a full-refresh read; no records from: {}\n  records per stream: {}\n\
                 fix: check that the config's account has data for these streams, or that the connector reads them",
                self.empty_streams
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                counts.join(", ")
            ))
        };
        let mut verdicts = vec![("records_per_stream", records_per_stream)];
        verdicts.extend(
            self.rules()
                .into_iter()
                .map(|r| (r.name, r.problems.verdict(r.expected, r.fix))),
        );
        verdicts
    }

    /// The rules every read keeps, with what this read found of each.
    pub(super) fn rules(&self) -> Vec<Rule<'_>> {
        let c = &self.checker;
        let rule = |name, problems, expected, fix| Rule {
            name,
            problems,
            expected,
            fix,
        };
        vec![
            rule(
                "records_match_schema",
                &c.schema,
                "expected every record to be a JSON object valid against its stream's schema",
                "emit values of the declared types, or correct the stream's schema in `discover`",
            ),
            rule(
                "no_undeclared_fields",
                &c.undeclared,
                "expected every field of a record to be declared in its stream's schema",
                "declare the field in the stream's schema, or stop emitting it",
            ),
            rule(
                "only_configured_streams",
                &c.unconfigured,
                "expected messages only for the streams the catalog configures",
                "read only the streams in the configured catalog",
            ),
            rule(
                "primary_key_not_null",
                &c.pk_null,
                "expected every record to have a non-null value at each primary key field",
                "emit the key on every record, or declare a key the data always has",
            ),
            rule(
                "primary_key_unique",
                &c.pk_repeated,
                "expected a full-refresh read to emit each primary key once per stream (a change stream of ingestion type `cdc` again only later in cursor order)",
                "emit each row once: check pagination (an overlapping page, a page read twice) and joins that multiply rows; or declare the key the data really has",
            ),
            rule(
                "emitted_at_in_read_window",
                &c.emitted_at,
                "expected each record's emitted_at to be the time it was read, in milliseconds since the Unix epoch, within the read's own time window",
                "set emitted_at when the record is read (the SDKs' `now_millis()`), in milliseconds, not the record's own timestamp and not seconds",
            ),
            rule(
                "stream_status_order",
                &c.status,
                "expected each stream's statuses to go `started`, (`running`), `complete`, with its records, states and error traces between",
                "emit `started` before a stream's first record or state, its last state before `complete`, and nothing of the stream after it",
            ),
        ]
    }
}

/// A rule every read keeps: what one read found of it.
pub(super) struct Rule<'a> {
    pub name: &'static str,
    pub problems: &'a Problems,
    pub expected: &'static str,
    pub fix: &'static str,
}

/// A catalog naming a stream the connector does not have must be refused with an
/// error, not read silently.
fn unknown_stream(ctx: &mut TestCtx<'_>, config: &str) -> Verdict {
    let name = format!("ctest_unknown_stream_{}", std::process::id());
    let catalog = wit::ConfiguredCatalog {
        streams: vec![wit::ConfiguredStream {
            name: name.clone(),
            sync_mode: wit::SyncMode::FullRefresh,
            cursor_field: Vec::new(),
            primary_key: Vec::new(),
        }],
    };
    let mut plugin = match ctx.instance() {
        Ok(p) => p,
        Err(e) => return Verdict::Fail(e.to_string()),
    };
    let result = (|| -> Result<Verdict, PluginError> {
        let mut session = match plugin.read(config, &catalog, &[])? {
            Err(_) => return Ok(Verdict::Pass),
            Ok(s) => s,
        };
        let mut records = 0u64;
        let mut errored = false;
        loop {
            match plugin.next_batch(&mut session) {
                Ok(Some(batch)) => {
                    for m in batch {
                        match m {
                            wit::Message::Record(_) => records += 1,
                            wit::Message::Trace(wit::TraceMessage::Error(_)) => errored = true,
                            _ => {}
                        }
                    }
                }
                Ok(None) => break,
                Err(PluginError::ReadFailed(_)) => {
                    errored = true;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(if records > 0 {
            Verdict::Fail(format!(
                "expected an error for the unknown stream `{name}`; the connector emitted {records} records for it\n\
                 fix: refuse streams that `discover` does not offer"
            ))
        } else if errored {
            Verdict::Pass
        } else {
            Verdict::Fail(format!(
                "expected an error (from `read`, or an error trace) for a catalog naming the unknown stream `{name}`; the read ended silently\n\
                 fix: return a config error for streams that `discover` does not offer"
            ))
        })
    })();
    ctx.keep_logs(&plugin);
    result.unwrap_or_else(|e| {
        Verdict::Fail(format!(
            "expected an error for the unknown stream `{name}`, returned cleanly; {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream `users` without a schema or a key.
    fn users() -> DiscoveredStream {
        DiscoveredStream::new(
            wit::StreamInfo {
                name: "users".into(),
                json_schema: "{}".into(),
                supported_sync_modes: vec![wit::SyncMode::FullRefresh],
                source_defined_cursor: false,
                default_cursor_field: Vec::new(),
                source_defined_primary_key: Vec::new(),
                ingestion_type: wit::IngestionType::Append,
            },
            None,
        )
    }

    /// Hostile: a stream named by the expected records that sends more than
    /// the budget: the records stop being kept, and the stream is named.
    #[test]
    fn records_kept_for_expected_records_stay_within_the_budget() {
        let stream = users();
        let keep: HashSet<String> = ["users".to_string()].into();
        let mut checker = RecordChecker::new([&stream], &keep, false);
        checker.kept_budget = 10_000;
        let record = |i: u32| {
            wit::Message::Record(wit::RecordMessage {
                stream: "users".into(),
                data: format!(r#"{{"id": {i}, "pad": "{}"}}"#, "x".repeat(1000)),
                emitted_at: 0,
            })
        };
        for i in 0..5 {
            checker.observe(&record(i));
        }
        assert!(checker.over_budget.is_none());
        assert_eq!(
            checker.streams["users"].kept.as_ref().map(Vec::len),
            Some(5)
        );
        for i in 5..1000 {
            checker.observe(&record(i));
        }
        assert_eq!(checker.over_budget.as_deref(), Some("users"));
        assert!(checker.streams["users"].kept.is_none());
        assert!(checker.kept_bytes < 1_000 * 1_100);
    }

    /// After an error trace for a stream, `incomplete` ends it and `complete`
    /// is a problem; without one, the reverse.
    #[test]
    fn a_stream_with_an_error_ends_incomplete() {
        let stream = users();
        let status = |s| {
            wit::Message::Trace(wit::TraceMessage::StreamStatus(wit::StreamStatusTrace {
                stream: "users".into(),
                status: s,
            }))
        };
        let error = || {
            wit::Message::Trace(wit::TraceMessage::Error(wit::ErrorTrace {
                stream: Some("users".into()),
                error: wit::ConnectorError {
                    message: "timed out".into(),
                    internal_message: None,
                    failure_type: wit::FailureType::TransientError,
                },
            }))
        };
        for (with_error, end, problems) in [
            (true, wit::StreamStatus::Incomplete, 0),
            (true, wit::StreamStatus::Complete, 1),
            (false, wit::StreamStatus::Complete, 0),
            (false, wit::StreamStatus::Incomplete, 1),
        ] {
            let mut checker = RecordChecker::new([&stream], &HashSet::new(), false);
            checker.observe(&status(wit::StreamStatus::Started));
            if with_error {
                checker.observe(&error());
            }
            checker.observe(&status(end));
            assert_eq!(checker.status.count, problems, "{with_error} {end:?}");
        }
    }
}
