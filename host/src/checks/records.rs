//! The rules of one read, checked message by message as it streams: records
//! valid against their stream's schema, fields declared, keys present (and,
//! in a full refresh, unique), only configured streams, `emitted_at` in the
//! read's window, every message of a stream between its `started` and
//! `complete`. basic_read reports each rule as a test of its own; every other
//! read the suites make must keep them too.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;

use serde_json::Value;

use super::doc::{Doc, DocRef, Kind, Tree};
use super::{EXAMPLES, Failure, Verdict};
use crate::catalog::DiscoveredStream;
use crate::sandbox::bindings::ctest::connector::types as wit;
use crate::sandbox::{Msg, Rec};
use crate::schema::{self, FieldTree};

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The most bytes of records kept for the expected_records comparison.
pub(crate) const KEPT_RECORDS_BUDGET: usize = 256 << 20;

/// The most of one log line or error trace a read keeps (each kept line is
/// one of at most 1,000, each trace one of [`EXAMPLES`]).
pub(crate) const KEPT_TEXT: usize = 4 << 10;

/// Where a stream is in its `started, running, complete` sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Pending,
    Started,
    Complete,
}

/// A cursor value's fixed-size rank ([`crate::cursor::CursorKind::rank`]).
type CursorRank = (i64, u32);

pub(crate) struct KeysSeen {
    /// Integer keys that came in increasing order, as most do, as runs of
    /// consecutive keys at consecutive record indexes: no hashing, no
    /// table; a stream whose ids count up, record after record, is one run
    /// of 16 bytes.
    runs: Vec<KeyRun>,
    /// For cdc streams, each record's cursor rank by its index (a repeat is
    /// judged by its cursor).
    ranks: Option<Ranks>,
    /// Every other key, by a 64-bit hash, with its latest record's index
    /// and rank. Keys are hashed with this process's random SipHash keys: a
    /// plugin cannot make its keys collide in the table (a quadratic insert).
    hashing: std::collections::hash_map::RandomState,
    seen: HashMap<u64, (u32, Option<CursorRank>), BuildHasherDefault<PrehashedKey>>,
    /// For cdc streams: where the cursor is, and how its values compare.
    cursor: Option<(Vec<String>, crate::cursor::CursorKind)>,
}

/// Cursor ranks by record index: the seconds, 8 bytes a record; the
/// nanoseconds only once a rank has some (whole-second cursors, and
/// numbers, have none), 4 more; the records without a rank by index.
#[derive(Default)]
struct Ranks {
    secs: Vec<i64>,
    /// Empty until a rank with nanoseconds comes, then one per record.
    nanos: Vec<u32>,
    /// The indexes of records without a rank, ascending.
    unranked: Vec<u32>,
}

/// The most records whose ranks are kept (8 to 12 bytes each); a later
/// record's repeat has no rank to be judged by and passes.
const MOST_RANKS: usize = 1 << 26;

impl Ranks {
    /// Notes the rank of record `index` (indexes grow; records in between
    /// without one get none).
    fn note(&mut self, index: u32, rank: Option<CursorRank>) {
        let at = index as usize;
        if at >= MOST_RANKS || at < self.secs.len() {
            return;
        }
        let from = self.secs.len() as u32;
        self.unranked.extend(from..index);
        self.secs.resize(at, 0);
        let (secs, nanos) = match rank {
            Some(r) => r,
            None => {
                self.unranked.push(index);
                (0, 0)
            }
        };
        if nanos != 0 || !self.nanos.is_empty() {
            self.nanos.resize(at, 0);
            self.nanos.push(nanos);
        }
        self.secs.push(secs);
    }

    fn of(&self, index: u32) -> Option<CursorRank> {
        let secs = *self.secs.get(index as usize)?;
        if self.unranked.binary_search(&index).is_ok() {
            return None;
        }
        Some((secs, self.nanos.get(index as usize).copied().unwrap_or(0)))
    }
}

/// Keys `key .. key + len` at record indexes `index .. index + len`.
#[derive(Clone, Copy)]
struct KeyRun {
    key: i64,
    index: u32,
    len: u32,
}

impl KeyRun {
    /// The key past the run's last.
    fn end(&self) -> i128 {
        i128::from(self.key) + i128::from(self.len)
    }
}

impl KeysSeen {
    fn new(cursor: Option<(Vec<String>, crate::cursor::CursorKind)>) -> Self {
        KeysSeen {
            runs: Vec::new(),
            ranks: cursor.is_some().then(Ranks::default),
            hashing: std::collections::hash_map::RandomState::new(),
            seen: HashMap::default(),
            cursor,
        }
    }

    /// Notes the key `values` of record `index` (its cursor ranked `rank`;
    /// every value there, the record being keyed):
    /// the index of an earlier record with the same key, when that is a
    /// problem (a repeat, or for a change stream a repeat with an earlier
    /// cursor).
    fn repeats<'a>(
        &mut self,
        values: &[Option<impl Tree<'a>>],
        index: u32,
        rank: Option<CursorRank>,
    ) -> Option<u32> {
        if let Some(ranks) = &mut self.ranks {
            ranks.note(index, rank);
        }
        let single = match values {
            [Some(single)] => single.as_i64(),
            _ => None,
        };
        let earlier = match single {
            Some(key) => {
                match self.runs.last_mut() {
                    Some(last) if i128::from(key) < last.end() => {}
                    Some(last)
                        if i128::from(key) == last.end()
                            && last.index.checked_add(last.len) == Some(index) =>
                    {
                        last.len += 1;
                        return None;
                    }
                    _ => {
                        self.runs.push(KeyRun { key, index, len: 1 });
                        return None;
                    }
                }
                // A key at or below the greatest so far. The table holds the
                // latest record of every key seen out of order, so it answers
                // first; else the runs tell whether the key came before.
                let in_table = self.insert_hashed(values, index, rank);
                in_table.or_else(|| {
                    let at = self.runs.partition_point(|r| r.end() <= i128::from(key));
                    let run = self.runs.get(at).filter(|r| r.key <= key)?;
                    let earlier = run.index + (key - run.key) as u32;
                    Some((earlier, self.ranks.as_ref().and_then(|r| r.of(earlier))))
                })
            }
            None => self.insert_hashed(values, index, rank),
        }?;
        let in_order =
            self.cursor.is_some() && (rank.is_none() || earlier.1.is_none() || rank >= earlier.1);
        (!in_order).then_some(earlier.0)
    }

    fn insert_hashed<'a>(
        &mut self,
        values: &[Option<impl Tree<'a>>],
        index: u32,
        rank: Option<CursorRank>,
    ) -> Option<(u32, Option<CursorRank>)> {
        let mut hasher = std::hash::BuildHasher::build_hasher(&self.hashing);
        for &v in values.iter().flatten() {
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
pub(crate) struct KnownRecords {
    hashing: ahash::RandomState,
    /// The hashes, sorted once the read is over ([`KnownRecords::seal`]):
    /// 8 bytes a record, and a lookup goes through their [`Directory`]
    /// (the hashes are uniform), made then.
    hashes: Vec<u64>,
    directory: Option<Directory>,
    sealed: bool,
}

/// The most records [`KnownRecords`] holds (8 bytes each); past it
/// records are checked in every read.
const MOST_KNOWN: usize = 4_000_000;

impl KnownRecords {
    pub(crate) fn new() -> Self {
        KnownRecords {
            hashing: ahash::RandomState::new(),
            hashes: Vec::new(),
            directory: None,
            sealed: false,
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
            self.hashes.push(hash);
        }
    }

    /// Ready for lookups: sorted, each hash once, no spare room.
    pub(crate) fn seal(mut self) -> Self {
        self.hashes.sort_unstable();
        self.hashes.dedup();
        // Growth leaves at most twice the room needed; giving back less
        // than half would copy the table at the read's peak.
        if self.hashes.capacity() > 2 * self.hashes.len() {
            self.hashes.shrink_to_fit();
        }
        self.directory = Directory::new(&self.hashes, |h| *h);
        self.sealed = true;
        self
    }

    fn contains(&self, hash: u64) -> bool {
        debug_assert!(self.sealed, "looked up before it was sealed");
        find_uniform(&self.hashes, self.directory.as_ref(), hash, |h| *h).is_some()
    }
}

/// Where each part of the key space starts in a vector sorted by uniform
/// 64-bit keys (keyed hashes): 2^bits buckets of about 4 to 8 entries, the
/// directory 0.5 to 1 byte an entry. A lookup reads one directory entry and
/// then the one bucket, a cache line or two: against a vector larger than
/// the caches, one memory access where a search of the vector itself
/// (interpolation or binary) makes several, each waiting for the last.
pub(crate) struct Directory {
    /// 64 - bits: a key's bucket is `key >> shift`.
    shift: u32,
    /// Where each bucket starts, and after the last, the vector's length.
    starts: Vec<u32>,
}

impl Directory {
    /// The directory of `v`, sorted by `key_of`; `None` past `u32::MAX`
    /// entries (then [`find_uniform`]).
    pub(crate) fn new<T>(v: &[T], key_of: impl Fn(&T) -> u64) -> Option<Self> {
        let len = u32::try_from(v.len()).ok()?;
        let bits = (len / 4).max(2).ilog2().clamp(1, 31);
        let shift = 64 - bits;
        let buckets = 1usize << bits;
        let mut starts = Vec::with_capacity(buckets + 1);
        let mut at = 0usize;
        for bucket in 0..buckets as u64 {
            while at < v.len() && key_of(&v[at]) >> shift < bucket {
                at += 1;
            }
            starts.push(at as u32);
        }
        starts.push(len);
        Some(Directory { shift, starts })
    }

    /// Where `hash` is in `v` (the vector this directory was made of).
    pub(crate) fn find<T>(&self, v: &[T], hash: u64, key_of: impl Fn(&T) -> u64) -> Option<usize> {
        let bucket = (hash >> self.shift) as usize;
        let (lo, hi) = (
            self.starts[bucket] as usize,
            self.starts[bucket + 1] as usize,
        );
        v[lo..hi]
            .iter()
            .position(|e| key_of(e) == hash)
            .map(|at| lo + at)
    }
}

/// Where `hash` is in `v`, sorted by `key_of`, whose keys are uniform
/// (keyed hashes): with the vector's [`Directory`] when it has one, else an
/// interpolation search. That starts where a uniform key would sit, widens
/// in doubling steps to a window that holds it, then searches the window:
/// never worse than about twice a binary search.
pub(crate) fn find_uniform<T>(
    v: &[T],
    directory: Option<&Directory>,
    hash: u64,
    key_of: impl Fn(&T) -> u64,
) -> Option<usize> {
    if let Some(d) = directory {
        return d.find(v, hash, key_of);
    }
    if v.is_empty() {
        return None;
    }
    let guess = ((u128::from(hash) * v.len() as u128) >> 64) as usize;
    let (mut lo, mut hi) = (guess, guess + 1);
    let mut step = 1;
    while lo > 0 && key_of(&v[lo]) > hash {
        lo = lo.saturating_sub(step);
        step *= 2;
    }
    step = 1;
    while hi < v.len() && key_of(&v[hi - 1]) < hash {
        hi = (hi + step).min(v.len());
        step *= 2;
    }
    v[lo..hi]
        .binary_search_by_key(&hash, key_of)
        .ok()
        .map(|at| lo + at)
}

/// How a checker uses [`KnownRecords`].
pub(crate) enum Known {
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

/// Hashes a JSON value by its tree: scalars by kind and value, arrays and
/// objects by length and members, objects in key order (a [`Tree`] gives
/// its members sorted), so that equal values hash equally whatever order
/// their text gave the fields. No text is written.
pub(crate) fn hash_value<'a, H: std::hash::Hasher>(v: impl Tree<'a>, hasher: &mut H) {
    use std::hash::Hash;
    match v.kind() {
        Kind::Str(s) => (1u8, s).hash(hasher),
        Kind::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => (2u8, i).hash(hasher),
            (None, Some(u)) => (3u8, u).hash(hasher),
            _ => (4u8, n.as_f64().unwrap_or_default().to_bits()).hash(hasher),
        },
        Kind::Bool(b) => (5u8, b).hash(hasher),
        Kind::Null => 6u8.hash(hasher),
        Kind::Array(len) => {
            (7u8, len).hash(hasher);
            for item in v.items() {
                hash_value(item, hasher);
            }
        }
        Kind::Object(len) => {
            (8u8, len).hash(hasher);
            for (name, value) in v.members() {
                name.hash(hasher);
                hash_value(value, hasher);
            }
        }
    }
}

pub(crate) struct StreamCheck {
    pub(crate) validator: Option<std::sync::Arc<jsonschema::Validator<super::doc::DocJson>>>,
    pub(crate) fields: Option<FieldTree>,
    pub(crate) primary_key: Vec<Vec<String>>,
    /// Each primary key seen (a 64-bit hash) with the index of its record
    /// and, for change streams (cdc), its cursor's rank: a full-refresh read
    /// emits an append stream's key once, a cdc stream's again only later in
    /// cursor order.
    pub(crate) keys: Option<KeysSeen>,
    pub(crate) records: u64,
    pub(crate) phase: Phase,
    /// The records, kept for the expected records comparison.
    pub(crate) kept: Option<Vec<Value>>,
    /// With `validate_data_points`: the declared fields seen with a value.
    pub(crate) present: Option<HashSet<String>>,
    /// The stream had an error trace: it may not end `complete`.
    pub(crate) errored: bool,
}

#[derive(Default)]
pub(crate) struct Problems {
    pub count: u64,
    pub examples: Vec<String>,
}

impl Problems {
    pub(crate) fn add(&mut self, example: impl FnOnce() -> String) {
        self.count += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push(example());
        }
    }

    pub(crate) fn verdict(&self, expected: &str, fix: &str) -> Verdict {
        if self.count == 0 {
            return Verdict::Pass;
        }
        Verdict::Fail(Failure::with_problems(
            expected,
            self.count,
            self.examples.clone(),
            fix,
        ))
    }
}

/// Checks each message of a read as it arrives.
pub(crate) struct RecordChecker {
    /// By name, looked up for every record: hashed with ahash (the names
    /// are the catalog's, fixed before the read).
    pub(crate) streams: HashMap<String, StreamCheck, ahash::RandomState>,
    /// Stream names in catalog order, for stable messages.
    pub(crate) order: Vec<String>,
    pub(crate) schema: Problems,
    pub(crate) undeclared: Problems,
    pub(crate) unconfigured: Problems,
    pub(crate) pk_null: Problems,
    pub(crate) pk_repeated: Problems,
    /// When the read started (ms since the epoch), and the earliest and
    /// latest `emitted_at` seen, with where: checked against the read's own
    /// time window when it ends.
    pub(crate) started_ms: i64,
    pub(crate) earliest: Option<(i64, String)>,
    pub(crate) latest: Option<(i64, String)>,
    pub(crate) emitted_at: Problems,
    pub(crate) status: Problems,
    pub(crate) error_traces: Vec<String>,
    pub(crate) error_count: u64,
    /// Bytes of the records kept for expected_records, against
    /// [`KEPT_RECORDS_BUDGET`], and the stream that went over it.
    pub(crate) kept_bytes: usize,
    pub(crate) kept_budget: usize,
    pub(crate) over_budget: Option<String>,
    pub(crate) logs: Vec<crate::sandbox::LogLine>,
    pub(crate) known: Known,
    /// Each record parsed in turn.
    doc: Doc,
}

pub(crate) struct Findings {
    pub(crate) empty_streams: Vec<String>,
    pub(crate) checker: RecordChecker,
}

impl RecordChecker {
    /// `keep`: the streams whose records are kept; `data_points`: whether to
    /// note which declared fields hold values.
    pub(crate) fn new<'s>(
        streams: impl IntoIterator<Item = &'s DiscoveredStream>,
        keep: &HashSet<String>,
        data_points: bool,
    ) -> Self {
        let mut map = HashMap::default();
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
            doc: Doc::default(),
        }
    }

    /// A checker of the rules every read keeps ([`crate::suites`]' read rules):
    /// no key uniqueness (basic_read's alone), and the records `known` holds
    /// are not checked again.
    pub(crate) fn for_rules<'s>(
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

    pub(crate) fn observe(&mut self, message: Msg<'_>) {
        self.observe_with(message, &mut |_, _| {});
    }

    /// [`RecordChecker::observe`], handing `tap` each record this checker
    /// parsed (one that is JSON), so that a second look at the record need
    /// not parse it again.
    pub(crate) fn observe_with(
        &mut self,
        message: Msg<'_>,
        tap: &mut dyn FnMut(&Rec<'_>, DocRef<'_>),
    ) {
        let message = match message {
            Msg::Record(r) => return self.record(&r, tap),
            Msg::Other(message) => message,
        };
        match message {
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
            // A batch hands each record out as `Msg::Record`.
            wit::Message::Record(_) | wit::Message::Records(_) => {}
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

    fn record(&mut self, r: &Rec<'_>, tap: &mut dyn FnMut(&Rec<'_>, DocRef<'_>)) {
        let Some(check) = self.streams.get_mut(r.stream) else {
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
            Known::Learning(k) => Some(k.hash(stream, r.data)),
            Known::Using(k) => {
                if k.contains(k.hash(stream, r.data)) {
                    return;
                }
                None
            }
        };
        let problems_before = self.schema.count + self.undeclared.count + self.pk_null.count;
        let value = match self.doc.parse(r.data) {
            Ok(v) => v,
            Err(e) => {
                self.schema
                    .add(|| format!("record index {index} of stream `{stream}` is not JSON: {e}"));
                return;
            }
        };
        tap(r, value);
        if !matches!(value.kind(), Kind::Object(_)) {
            self.schema.add(|| {
                format!(
                    "record index {index} of stream `{stream}` is {}, not a JSON object",
                    schema::kind_of(value)
                )
            });
            return;
        }
        let valid = check.validator.as_ref().map(|v| v.is_valid(value));
        if let (Some(validator), Some(false)) = (&check.validator, valid) {
            let detail = validator
                .iter_errors(value)
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
            .map(|f| match valid {
                Some(true) => f.inspect_valid(value),
                _ => f.inspect(value),
            })
            .unwrap_or_default();
        if let Some(path) = findings.non_integer {
            let found = value
                .to_value()
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
        let mut one = [None];
        let many: Vec<Option<DocRef<'_>>>;
        let values: &[Option<DocRef<'_>>] = if let [path] = check.primary_key.as_slice() {
            one[0] = schema::value_at(value, path);
            &one
        } else {
            many = check
                .primary_key
                .iter()
                .map(|k| schema::value_at(value, k))
                .collect();
            &many
        };
        // A record without its key is primary_key_not_null's finding, not
        // primary_key_unique's.
        let mut keyed = true;
        for (key, v) in check.primary_key.iter().zip(values) {
            if v.is_none_or(Tree::is_null) {
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
                .and_then(|(path, kind)| schema::value_at(value, path).and_then(|c| kind.rank(c)));
            let index32 = u32::try_from(index).unwrap_or(u32::MAX);
            if let Some(first) = keys.repeats(values, index32, rank) {
                let key_text: Vec<String> = values
                    .iter()
                    .flatten()
                    .map(|v| crate::sandbox::clip_to(&v.to_value().to_string(), 100))
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
            fields.mark_present(value, present);
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
                kept.push(value.to_value());
            }
        }
    }

    pub(crate) fn finish(mut self) -> Findings {
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

/// A stream status as the contract spells it.
pub(crate) fn status_name(s: wit::StreamStatus) -> &'static str {
    match s {
        wit::StreamStatus::Started => "started",
        wit::StreamStatus::Running => "running",
        wit::StreamStatus::Complete => "complete",
        wit::StreamStatus::Incomplete => "incomplete",
    }
}

impl Findings {
    /// The rules every read keeps, with what this read found of each.
    pub(crate) fn rules(&self) -> Vec<Rule<'_>> {
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
pub(crate) struct Rule<'a> {
    pub name: &'static str,
    pub problems: &'a Problems,
    pub expected: &'static str,
    pub fix: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream `users` without a schema or a key.
    fn users() -> DiscoveredStream {
        DiscoveredStream::for_tests("users", &[], None)
    }

    /// Increasing integer keys are kept as runs: a stream counting up is
    /// one run, and a key repeated later (once, twice, out of order, within
    /// or between runs) names the record that last had it.
    #[test]
    fn ascending_keys_are_runs_and_repeats_name_the_last_record() {
        let mut keys = KeysSeen::new(None);
        let n = |i: i64| Value::from(i);
        let mut note = |key: i64, index: u32| keys.repeats(&[Some(&n(key))], index, None);
        for i in 0..1000 {
            assert_eq!(note(i + 1, i as u32), None);
        }
        // A gap starts a second run; a string key goes to the table.
        assert_eq!(note(5000, 1000), None);
        assert_eq!(note(5001, 1001), None);
        assert_eq!(note(7, 1002), Some(6));
        assert_eq!(note(7, 1003), Some(1002));
        assert_eq!(note(5000, 1004), Some(1000));
        assert_eq!(note(3000, 1005), None);
        assert_eq!(note(3000, 1006), Some(1005));
        assert_eq!(note(i64::MIN, 1007), None);
        assert_eq!(note(i64::MAX, 1008), None);
        assert_eq!(note(i64::MAX, 1009), Some(1008));
        assert_eq!(keys.runs.len(), 3, "1..=1000, 5000..=5001, i64::MAX");
        let s = Value::from("a");
        assert_eq!(keys.repeats(&[Some(&s)], 1010, None), None);
        assert_eq!(keys.repeats(&[Some(&s)], 1011, None), Some(1010));
    }

    /// A change stream (cdc) may emit a key again only with a later cursor:
    /// a repeat is judged against the rank of the key's latest record,
    /// whether that came in an ascending run or out of order, across
    /// records without a key (their indexes have no rank) and gapped keys.
    #[test]
    fn a_change_stream_repeats_keys_only_later_in_cursor_order() {
        let mut keys = KeysSeen::new(Some((
            vec!["updated_at".to_string()],
            crate::cursor::CursorKind::Integer,
        )));
        let n = |i: i64| Value::from(i);
        let rank = |r: i64| Some((r, 0));
        let mut note =
            |key: i64, index: u32, r: Option<CursorRank>| keys.repeats(&[Some(&n(key))], index, r);
        // Keys 1..=1000 at indexes 0..1000 with ranks 10..; index 1000 has
        // no key; keys 2000, 2002 (gapped) at 1001, 1002.
        for i in 0..1000u32 {
            assert_eq!(note(i64::from(i) + 1, i, rank(10 + i64::from(i))), None);
        }
        assert_eq!(note(2000, 1001, rank(5000)), None);
        assert_eq!(note(2002, 1002, rank(5001)), None);
        // Key 5 (index 4, rank 14) again with a later cursor: fine; then
        // with one before that later record's: the repeat names it.
        assert_eq!(note(5, 1003, rank(6000)), None);
        assert_eq!(note(5, 1004, rank(5999)), Some(1003));
        // Key 6 (index 5, rank 15) with an earlier cursor, and an equal one.
        assert_eq!(note(6, 1005, rank(14)), Some(5));
        assert_eq!(note(7, 1006, rank(16)), None);
        assert_eq!(note(2002, 1007, rank(5000)), Some(1002));
        // Without a rank on either side, the order is unknown: no finding.
        assert_eq!(note(8, 1008, None), None);
        assert_eq!(note(8, 1009, rank(1)), None);
        assert_eq!(keys.runs.len(), 3, "1..=1000, 2000, 2002");
        let ranks = keys.ranks.as_ref().unwrap();
        assert_eq!(ranks.of(4), Some((14, 0)));
        assert_eq!(ranks.of(1000), None, "the record without a key");
        assert_eq!(ranks.of(1008), None);
        assert_eq!(ranks.of(5000), None);
        assert!(ranks.nanos.is_empty(), "whole ranks keep no nanoseconds");
        // Sub-second ranks: the first keeps the nanoseconds from then on.
        assert_eq!(keys.repeats(&[Some(&n(3000))], 1010, Some((6000, 5))), None);
        assert_eq!(keys.repeats(&[Some(&n(3001))], 1011, Some((6001, 0))), None);
        assert_eq!(
            keys.repeats(&[Some(&n(3000))], 1012, Some((6000, 4))),
            Some(1010)
        );
        assert_eq!(keys.repeats(&[Some(&n(3001))], 1013, Some((6001, 0))), None);
        let ranks = keys.ranks.as_ref().unwrap();
        assert_eq!(ranks.of(1010), Some((6000, 5)));
        assert_eq!(ranks.of(1011), Some((6001, 0)));
        assert_eq!(ranks.of(4), Some((14, 0)));
        assert_eq!(ranks.of(1000), None);
    }

    /// The records basic_read found keeping the rules are found again, and
    /// no others, whatever the table's size.
    #[test]
    fn known_records_find_exactly_what_they_learned() {
        for size in [0u64, 1, 2, 3, 100, 10_000] {
            let mut known = KnownRecords::new();
            let mut learned = Vec::new();
            for i in 0..size {
                let h = known.hash("users", &format!("{{\"id\": {i}}}"));
                known.learn(h);
                learned.push(h);
            }
            let known = known.seal();
            for h in &learned {
                assert!(known.contains(*h), "{size}: a learned hash");
            }
            for i in 0..1000u64 {
                let h = known.hash("other", &i.to_string());
                assert_eq!(known.contains(h), learned.contains(&h), "{size}");
            }
            assert!(!known.contains(0) || learned.contains(&0));
            assert!(!known.contains(u64::MAX) || learned.contains(&u64::MAX));
        }
    }

    /// A directory's lookup answers as a search of the whole vector does:
    /// for uniform keys, keys all in one bucket, the first and last keys
    /// of the space, and vectors of 0 to 100,000 entries.
    #[test]
    fn the_directory_finds_what_a_search_finds() {
        let mut random = crate::test_random(0x5eed);
        let uniform = |n: usize, random: &mut dyn FnMut() -> u64| {
            let mut v: Vec<u64> = (0..n).map(|_| random()).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let mut cases: Vec<Vec<u64>> = [0, 1, 2, 7, 8, 9, 1000, 100_000]
            .iter()
            .map(|&n| uniform(n, &mut random))
            .collect();
        cases.push((0..1000).collect());
        cases.push(vec![0, 1, u64::MAX - 1, u64::MAX]);
        for v in &cases {
            let directory = Directory::new(v, |k| *k).expect("fewer than 2^32 entries");
            let mut probes: Vec<u64> = v.clone();
            probes.extend((0..1000).map(|_| random()));
            probes.extend([0, 1, 500, u64::MAX / 2, u64::MAX - 1, u64::MAX]);
            for p in probes {
                let expected = v.binary_search(&p).ok();
                assert_eq!(
                    directory.find(v, p, |k| *k),
                    expected,
                    "{} entries, {p}",
                    v.len()
                );
                assert_eq!(
                    find_uniform(v, None, p, |k| *k),
                    expected,
                    "{} entries, {p}",
                    v.len()
                );
            }
        }
    }

    /// A record's hash is of its tree: the same whatever the order of its
    /// fields' text, different for a change of value, kind, order of array
    /// items or nesting.
    #[test]
    fn values_hash_by_their_tree() {
        use std::hash::BuildHasher;
        let hashing = ahash::RandomState::new();
        let hash = |text: &str| {
            let v: Value = serde_json::from_str(text).unwrap();
            let mut h = hashing.build_hasher();
            hash_value(&v, &mut h);
            std::hash::Hasher::finish(&h)
        };
        assert_eq!(
            hash(r#"{"id": 1, "name": "a", "tags": [1, {"x": null, "y": true}]}"#),
            hash(r#"{"tags": [1, {"y": true, "x": null}], "name": "a", "id": 1}"#),
        );
        let distinct = [
            r#"{"id": 1}"#,
            r#"{"id": "1"}"#,
            r#"{"id": 1.0}"#,
            r#"{"id": -1}"#,
            r#"{"id": true}"#,
            r#"{"id": null}"#,
            r#"{"id": [1]}"#,
            r#"{"id": {"id": 1}}"#,
            r#"{"ID": 1}"#,
            r#"{"id": 1, "x": null}"#,
            r#"{"a": [1, 2]}"#,
            r#"{"a": [2, 1]}"#,
            r#"{"a": [[1], 2]}"#,
            r#"{"a": [1, [2]]}"#,
            r#"{"a": "", "b": "x"}"#,
            r#"{"a": "x", "b": ""}"#,
            r#"{}"#,
            r#"[]"#,
        ];
        let hashes: HashSet<u64> = distinct.iter().map(|t| hash(t)).collect();
        assert_eq!(hashes.len(), distinct.len());
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
            checker.observe(Msg::from(&record(i)));
        }
        assert!(checker.over_budget.is_none());
        assert_eq!(
            checker.streams["users"].kept.as_ref().map(Vec::len),
            Some(5)
        );
        for i in 5..1000 {
            checker.observe(Msg::from(&record(i)));
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
            checker.observe(Msg::from(&status(wit::StreamStatus::Started)));
            if with_error {
                checker.observe(Msg::from(&error()));
            }
            checker.observe(Msg::from(&status(end)));
            assert_eq!(checker.status.count, problems, "{with_error} {end:?}");
        }
    }
}
