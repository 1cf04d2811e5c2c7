//! full_refresh: two full-refresh reads, each on a fresh instance, agree. Every
//! record of the first read is in the second: matched by primary key where the
//! stream has one, else as a whole record. And `emitted_at` never goes backwards.
//!
//! The first read is kept as fixed-size digests, 24 bytes a record (a keyed
//! 64-bit hash of its key, a 64-bit digest of the record, its index), in one
//! vector sized from basic_read's count and sorted by key when the read ends;
//! the second is compared with it as it streams, and kept not at all.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use serde_json::Value;

use super::{DiscoveredStream, EXAMPLES, Run, Verdict};
use crate::checks::doc::{Doc, DocRef, Tree};
use crate::checks::records::{Directory, find_uniform};
use crate::checks::rules::Rules;
use crate::ops::read;
use crate::sandbox::Msg;
use crate::sandbox::bindings::ctest::connector::types as wit;
use crate::schema;
use crate::test_config::InputSet;

const SUITE: &str = "full_refresh";

/// The suite, as the registry ([`super::REGISTRY`]) holds it.
pub(super) const ENTRY: super::Suite = super::Suite {
    name: SUITE,
    tests: TESTS,
    input_keys: &[
        "configured_catalog_path",
        "ignored_fields",
        "bypassed_streams",
    ],
    time_limit: super::TimeLimit::Read,
    declared_when_strict: true,
    reads_records: true,
    check_set: super::no_set_checks,
    strict_input: None,
    reports: super::always_reported,
    run: |run, _| run_suite(run),
};

const TESTS: &[&str] = &["records_repeatable", "emitted_at_not_decreasing"];

fn run_suite(run: &mut Run<'_>) {
    let Some((streams, _)) = run.rereading_suite(SUITE, TESTS) else {
        return;
    };
    run.report_bypassed_streams(SUITE);
    let catalog = own_catalog(&streams, &run.set);
    let config_text = run.config_text.clone();
    let set = run.set.set.clone();

    let rules = Rules {
        streams: &streams,
        facts: run.facts.read.clone(),
    };
    // basic_read's read is this suite's first when it read the same (see
    // [`to_share`]): that read kept every rule (or basic_read reported the
    // ones it broke, which later reads are not failed for again).
    let shared = run
        .facts
        .first_full_refresh
        .take()
        .filter(|f| f.is_for(&config_text, &catalog, &set));
    let mut reads: Option<(Snapshot, Snapshot)> = None;
    run.step(SUITE, "records_repeatable", |ctx| {
        if catalog.streams.is_empty() {
            return Verdict::Skip("no stream supports full refresh".into());
        }
        let reads_first = shared.is_none();
        let mut first = match shared {
            Some(shared) => shared.snapshot,
            None => {
                let mut first = Snapshot::new(&streams, &set);
                first.reserve(&rules.facts.records_per_stream);
                first
            }
        };
        let mut second = Snapshot::new(&streams, &set);
        for which in ["first", "second"] {
            if which == "first" && !reads_first {
                continue;
            }
            let outcome = read::read_all(ctx, &config_text, &catalog, &[], Some(&rules), &mut |m| match which {
                "first" => first.observe(m, None),
                _ => second.observe(m, Some(&mut first)),
            });
            if let Err(e) = outcome {
                return Verdict::fail(format!(
                    "expected two full-refresh reads to complete, keeping the rules of every read; the {which} one did not: {e}"
                ));
            }
            if which == "first" {
                first.seal();
            }
        }
        let verdict = compare(&first, &second);
        reads = Some((first, second));
        verdict
    });

    let verdict = match &reads {
        None => Verdict::Skip("the two full-refresh reads did not complete".into()),
        Some((first, second)) => emitted_at_verdict(first, second),
    };
    run.finish(
        SUITE,
        "emitted_at_not_decreasing",
        verdict,
        Default::default(),
        Vec::new(),
        Default::default(),
    );
}

/// What this suite reads: the streams of `set` that support full refresh.
fn own_catalog(
    streams: &[DiscoveredStream],
    set: &crate::test_config::PreparedSet,
) -> wit::ConfiguredCatalog {
    read::configured_catalog(streams, set, |s| {
        s.info
            .supported_sync_modes
            .contains(&wit::SyncMode::FullRefresh)
            .then_some(wit::SyncMode::FullRefresh)
    })
}

/// basic_read's full-refresh read, kept as this suite's first read.
pub(super) struct SharedFirstRead {
    config_text: String,
    /// The catalog read: each stream's name and sync mode, in order.
    catalog: Vec<(String, wit::SyncMode)>,
    snapshot: Snapshot,
}

fn catalog_key(catalog: &wit::ConfiguredCatalog) -> Vec<(String, wit::SyncMode)> {
    catalog
        .streams
        .iter()
        .map(|s| (s.name.clone(), s.sync_mode))
        .collect()
}

impl SharedFirstRead {
    /// Whether this is the read this suite would make first: the same
    /// config and catalog, and the same fields left out.
    fn is_for(&self, config_text: &str, catalog: &wit::ConfiguredCatalog, set: &InputSet) -> bool {
        self.config_text == config_text
            && self.catalog == catalog_key(catalog)
            && self
                .snapshot
                .streams
                .iter()
                .all(|(name, s)| s.ignored == set.ignored_paths(name))
    }

    /// Notes a record of basic_read's read, parsed by its checks.
    pub(super) fn observe(&mut self, stream: &str, value: DocRef<'_>, emitted_at: i64) {
        self.snapshot.observe_value(stream, value, emitted_at, None);
    }

    /// basic_read's read ended and passed: it is kept for this suite.
    pub(super) fn keep(mut self, run: &mut Run<'_>) {
        self.snapshot.seal();
        run.facts.first_full_refresh = Some(self);
    }
}

/// For basic_read, about to read `catalog` with `run`'s config: a first
/// read for this suite to fill as it goes, when this suite would make that
/// very read next (its first input set, or the default one: the same config,
/// the same catalog, records_repeatable selected and not bypassed). The
/// suite then reads once instead of twice.
pub(super) fn to_share(
    run: &Run<'_>,
    streams: &[DiscoveredStream],
    catalog: &wit::ConfiguredCatalog,
) -> Option<SharedFirstRead> {
    let prepared = run.options.suites.get(SUITE);
    if prepared.is_some_and(|p| p.bypass_reason.is_some() || p.bypass.contains_key(TESTS[0])) {
        return None;
    }
    let default_set = crate::test_config::PreparedSet::default();
    let sets = prepared.map_or(&[][..], |p| &p.sets[..]);
    let set = sets.first().unwrap_or(&default_set);
    let suffix = if sets.len() > 1 { "#1" } else { "" };
    if run.stopped
        || !run
            .options
            .selection
            .selects(&format!("{SUITE}/{}{suffix}", TESTS[0]))
    {
        return None;
    }
    let config_text = match &set.config {
        Some((config, _)) => config.to_string(),
        None => run.options.config.to_string(),
    };
    let own = own_catalog(streams, set);
    if config_text != run.config_text
        || own.streams.is_empty()
        || catalog_key(&own) != catalog_key(catalog)
    {
        return None;
    }
    Some(SharedFirstRead {
        config_text,
        catalog: catalog_key(catalog),
        snapshot: Snapshot::new(streams, &set.set),
    })
}

/// What one read produced, per stream: a digest of each record by its key.
struct Snapshot {
    streams: HashMap<String, StreamSnapshot>,
    /// Keys and records are hashed with this process's random keys (ahash):
    /// a plugin, which never sees a hash, cannot aim two keys at one hash,
    /// and the hashes are uniform (the lookup below relies on it).
    hashing: ahash::RandomState,
    /// Stream names in catalog order, for stable messages.
    order: Vec<String>,
    /// Each record of the read parsed in turn.
    doc: Doc,
}

struct StreamSnapshot {
    primary_key: Vec<Vec<String>>,
    /// Fields left out of the comparison (the test configuration's `ignored_fields`).
    ignored: Vec<Vec<String>>,
    /// The first read: per key (the primary key's values, or the whole
    /// record), its hash, the record's digest and index, and whether the
    /// second read had it. No record or key is kept, only digests. In read
    /// order while the first read goes on, then sorted by key hash, each key
    /// once ([`Snapshot::seal`]).
    records: Vec<Seen>,
    /// Where each part of the key space starts in `records`, once sealed.
    directory: Option<Directory>,
    /// The second read: records whose key the first read had with another
    /// record (the first few, described), and how many.
    changed: Vec<String>,
    changed_count: u64,
    /// The second read: the keys the first read repeated, compared whole at
    /// the end (a change stream emits a key again).
    repeated: HashMap<u64, Repeated>,
    first_emitted_at: Option<i64>,
    last_emitted_at: Option<i64>,
    backwards: Vec<String>,
    backwards_count: u64,
    count: u64,
}

#[derive(Clone, Copy)]
struct Seen {
    /// The key's keyed hash. Two keys of one read share it with a chance of
    /// about n²/2^65 (n keys); they would then be compared as one repeated
    /// key: the same records, as many, in both reads.
    key: u64,
    /// The record's digest; for a key the read repeats (a change stream),
    /// the wrapping sum of its records' digests.
    digest: u64,
    /// The index of the key's first record (saturating).
    index: u32,
    /// How many records of the read had this key; the top bit: the second
    /// read returned a record with this key.
    occurrences: u32,
}

const MATCHED: u32 = 1 << 31;

impl Seen {
    fn occurrences(&self) -> u32 {
        self.occurrences & !MATCHED
    }
    fn matched(&self) -> bool {
        self.occurrences & MATCHED != 0
    }
}

/// A key the first read repeated, as the second read returned it: the sum
/// of its records' digests, how many, the key clipped, and the first index.
struct Repeated {
    digest: u64,
    occurrences: u32,
    key: Box<str>,
    index: u64,
}

/// The longest key text kept for a message.
const KEY_TEXT: usize = 100;

impl Snapshot {
    /// `set`'s `ignored_fields` are left out of the comparison.
    fn new(streams: &[DiscoveredStream], set: &InputSet) -> Self {
        Snapshot {
            hashing: ahash::RandomState::new(),
            order: streams.iter().map(|s| s.info.name.clone()).collect(),
            doc: Doc::default(),
            streams: streams
                .iter()
                .map(|s| {
                    let primary_key = s.declared_primary_key();
                    (
                        s.info.name.clone(),
                        StreamSnapshot {
                            primary_key,
                            ignored: set.ignored_paths(&s.info.name),
                            records: Vec::new(),
                            directory: None,
                            changed: Vec::new(),
                            changed_count: 0,
                            repeated: HashMap::new(),
                            first_emitted_at: None,
                            last_emitted_at: None,
                            backwards: Vec::new(),
                            backwards_count: 0,
                            count: 0,
                        },
                    )
                })
                .collect(),
        }
    }

    /// Notes a record of the first read (`first`: `None`), or compares one of
    /// the second with the first read's.
    fn observe(&mut self, message: Msg<'_>, first: Option<&mut Snapshot>) {
        let Msg::Record(r) = message else {
            return;
        };
        // Records of unknown streams and records that are not JSON are the
        // basic_read suite's findings.
        if !self.streams.contains_key(r.stream) {
            return;
        }
        let mut doc = std::mem::take(&mut self.doc);
        if let Ok(value) = doc.parse(r.data) {
            self.observe_value(r.stream, value, r.emitted_at, first);
        }
        self.doc = doc;
    }

    /// [`Snapshot::observe`] of a record already parsed.
    fn observe_value(
        &mut self,
        stream: &str,
        value: DocRef<'_>,
        emitted_at: i64,
        first: Option<&mut Snapshot>,
    ) {
        let Some(s) = self.streams.get_mut(stream) else {
            return;
        };
        if s.ignored.is_empty() {
            return s.note(stream, value, emitted_at, &self.hashing, first);
        }
        let mut value = value.to_value();
        for path in &s.ignored {
            schema::remove_at(&mut value, path);
        }
        s.note(stream, &value, emitted_at, &self.hashing, first);
    }
}

impl StreamSnapshot {
    /// A record of this stream (`stream`), its ignored fields left out.
    fn note<'v>(
        &mut self,
        stream: &str,
        value: impl Tree<'v>,
        emitted_at: i64,
        hashing: &ahash::RandomState,
        first: Option<&mut Snapshot>,
    ) {
        let s = self;
        let index = s.count;
        s.count += 1;
        if let Some(last) = s.last_emitted_at
            && emitted_at < last
        {
            s.backwards_count += 1;
            if s.backwards.len() < EXAMPLES {
                s.backwards.push(format!(
                    "record index {index} of stream `{}` has emitted_at {} after {last}",
                    stream, emitted_at
                ));
            }
        }
        s.first_emitted_at.get_or_insert(emitted_at);
        s.last_emitted_at = Some(emitted_at);
        // Both reads hash with the first read's keys; equal records hash
        // equally whatever the order of their fields' text.
        let hashing = first.as_deref().map_or(hashing, |f| &f.hashing);
        let digest = {
            let mut h = hashing.build_hasher();
            crate::checks::records::hash_value(value, &mut h);
            h.finish()
        };
        // The key's values, looked up again only for a message.
        let primary_key = &s.primary_key;
        let values = || primary_key.iter().map(|p| schema::value_at(value, p));
        // Without a primary key, a record is its own key.
        let key = if primary_key.is_empty() {
            digest
        } else {
            let mut h = hashing.build_hasher();
            for v in values() {
                match v {
                    Some(v) => crate::checks::records::hash_value(v, &mut h),
                    None => crate::checks::records::hash_value(&Value::Null, &mut h),
                }
            }
            h.finish()
        };
        // The key as messages show it: written only for one.
        let text = || match primary_key.is_empty() {
            true => String::new(),
            false => {
                let values: Vec<Value> = values()
                    .map(|v| v.map_or(Value::Null, Tree::to_value))
                    .collect();
                crate::sandbox::clip_to(
                    &serde_json::to_string(&values).unwrap_or_default(),
                    KEY_TEXT,
                )
            }
        };
        let Some(first) = first else {
            s.records.push(Seen {
                key,
                digest,
                index: u32::try_from(index).unwrap_or(u32::MAX),
                occurrences: 1,
            });
            return;
        };
        // A record the first read did not have is no problem: the second
        // read may find new data. (Both reads hash with the first's keys.)
        let Some(seen) = first.streams.get_mut(stream).and_then(|f| f.find(key)) else {
            return;
        };
        seen.occurrences |= MATCHED;
        if seen.occurrences() > 1 {
            let r = s.repeated.entry(key).or_insert_with(|| Repeated {
                digest: 0,
                occurrences: 0,
                key: text().into_boxed_str(),
                index,
            });
            r.digest = r.digest.wrapping_add(digest);
            r.occurrences = r.occurrences.saturating_add(1);
            return;
        }
        if seen.digest != digest {
            s.changed_count += 1;
            if s.changed.len() < EXAMPLES {
                s.changed.push(format!(
                    "stream `{}`: the record with primary key {} (record index {} of the first read, {index} of the second) differs between the two reads",
                    stream,
                    text(),
                    seen.index
                ));
            }
        }
    }
}

impl Snapshot {
    /// Room for each stream's records at once, from basic_read's counts
    /// (capped: a count is a guess).
    fn reserve(&mut self, counts: &HashMap<String, u64>) {
        for (name, s) in &mut self.streams {
            let n = counts.get(name).copied().unwrap_or(0).min(1 << 24);
            s.records.reserve_exact(n as usize);
        }
    }

    /// The first read is over: each stream's records sorted by key hash,
    /// the records of a key the read repeated made one entry (their
    /// digests summed, counted, the first index kept).
    fn seal(&mut self) {
        for s in self.streams.values_mut() {
            s.records
                .sort_unstable_by_key(|seen| (seen.key, seen.index));
            s.records.dedup_by(|later, kept| {
                if later.key != kept.key {
                    return false;
                }
                kept.digest = kept.digest.wrapping_add(later.digest);
                kept.occurrences = (kept.occurrences() + 1).min(MATCHED - 1);
                true
            });
            s.directory = Directory::new(&s.records, |seen| seen.key);
        }
    }
}

impl StreamSnapshot {
    /// The first read's entry of the key hashed `key` (the records sorted).
    fn find(&mut self, key: u64) -> Option<&mut Seen> {
        let at = find_uniform(&self.records, self.directory.as_ref(), key, |s| s.key)?;
        Some(&mut self.records[at])
    }
}

fn compare(first: &Snapshot, second: &Snapshot) -> Verdict {
    let (mut problems, mut count) = (Vec::new(), 0u64);
    for name in &first.order {
        let (Some(a), Some(b)) = (first.streams.get(name), second.streams.get(name)) else {
            continue;
        };
        count += b.changed_count;
        problems.extend(b.changed.iter().cloned());
        // The keys the first read repeated: the same records, as many.
        let mut differing: Vec<(u32, &Repeated, u32)> = a
            .records
            .iter()
            .filter(|seen| seen.occurrences() > 1)
            .filter_map(|seen| {
                let r = b.repeated.get(&seen.key)?;
                (r.digest != seen.digest || r.occurrences != seen.occurrences()).then_some((
                    seen.index,
                    r,
                    seen.occurrences(),
                ))
            })
            .collect();
        differing.sort_by_key(|(index, _, _)| *index);
        count += differing.len() as u64;
        problems.extend(differing.iter().take(EXAMPLES).map(|(index, r, times)| {
            format!(
                "stream `{name}`: the {times} records with primary key {} (the first at record index {index} of the first read, {} of the second) differ between the two reads ({} there)",
                r.key, r.index, r.occurrences
            )
        }));
        // By index, so that the examples shown are the same from run to run.
        let mut missing: Vec<u32> = a
            .records
            .iter()
            .filter(|seen| !seen.matched())
            .map(|seen| seen.index)
            .collect();
        missing.sort_unstable();
        count += missing.len() as u64;
        let keyed = !a.primary_key.is_empty();
        problems.extend(missing.iter().take(EXAMPLES).map(|index| {
            if keyed {
                format!("stream `{name}`: record index {index} of the first read is missing from the second read (no record there has its primary key)")
            } else {
                format!("stream `{name}`: record index {index} of the first read is missing from the second read (no record there is equal to it)")
            }
        }));
    }
    if count == 0 {
        return Verdict::Pass;
    }
    problems.truncate(EXAMPLES);
    let more = match count.saturating_sub(problems.len() as u64) {
        0 => String::new(),
        n => format!("\n  ... and {n} more"),
    };
    Verdict::fail(format!(
        "expected every record of a first full-refresh read to appear, unchanged, in a second one; {count} problem(s):\n  {}{more}\n\
         fix: make full-refresh reads repeatable: the same data gives the same records (no random or time-dependent values)",
        problems.join("\n  ")
    ))
}

fn emitted_at_verdict(first: &Snapshot, second: &Snapshot) -> Verdict {
    let mut problems = Vec::new();
    let mut count = 0u64;
    for name in &first.order {
        let (Some(a), Some(b)) = (first.streams.get(name), second.streams.get(name)) else {
            continue;
        };
        for (which, s) in [("first", a), ("second", b)] {
            count += s.backwards_count;
            problems.extend(s.backwards.iter().map(|p| format!("{which} read: {p}")));
        }
        if let (Some(a_start), Some(b_start)) = (a.first_emitted_at, b.first_emitted_at)
            && b_start < a_start
        {
            count += 1;
            problems.push(format!(
                "stream `{name}`: the second read's first record has emitted_at {b_start}, before the first read's {a_start}"
            ));
        }
    }
    if count == 0 {
        return Verdict::Pass;
    }
    problems.truncate(EXAMPLES);
    Verdict::fail(format!(
        "expected emitted_at never to go backwards, within a read or from one read to the next; {count} time(s) it did:\n  {}\n\
         fix: set emitted_at to the time the record was read, in milliseconds since the Unix epoch",
        problems.join("\n  ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn users() -> DiscoveredStream {
        DiscoveredStream::for_tests(
            "users",
            &["id"],
            Some(
                json!({"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}),
            ),
        )
    }

    fn record(id: u64, name: &str) -> wit::Message {
        wit::Message::Record(wit::RecordMessage {
            stream: "users".into(),
            data: json!({"id": id, "name": name}).to_string(),
            emitted_at: 1,
        })
    }

    /// The second read is compared as it streams: a record changed under its
    /// key is named with its key and both indexes; one missing by its index
    /// in the first read; a new one is no problem; and the second read keeps
    /// no record.
    #[test]
    fn the_second_read_is_compared_as_it_streams() {
        let streams = [users()];
        let set = InputSet::default();
        let (mut first, mut second) =
            (Snapshot::new(&streams, &set), Snapshot::new(&streams, &set));
        for (id, name) in [(1, "a"), (2, "b"), (3, "c")] {
            first.observe(Msg::from(&record(id, name)), None);
        }
        first.seal();
        for (id, name) in [(1, "a"), (3, "C"), (4, "d")] {
            second.observe(Msg::from(&record(id, name)), Some(&mut first));
        }
        assert!(second.streams["users"].records.is_empty());
        let Verdict::Fail(message) = compare(&first, &second) else {
            panic!("a changed and a missing record");
        };
        let message = message.message();
        assert!(message.contains("2 problem(s)"), "{message}");
        assert!(
            message.contains("the record with primary key [3] (record index 2 of the first read, 1 of the second) differs"),
            "{message}"
        );
        assert!(
            message.contains("record index 1 of the first read is missing from the second read (no record there has its primary key)"),
            "{message}"
        );

        let (mut first, mut second) =
            (Snapshot::new(&streams, &set), Snapshot::new(&streams, &set));
        first.observe(Msg::from(&record(1, "a")), None);
        first.seal();
        second.observe(Msg::from(&record(1, "a")), Some(&mut first));
        assert!(matches!(compare(&first, &second), Verdict::Pass));
    }

    /// A key a read repeats (a change stream) compares as the whole set of
    /// its records: the same ones pass, in any order; a changed one fails.
    #[test]
    fn a_repeated_key_compares_all_its_records() {
        let streams = [users()];
        let set = InputSet::default();
        let reads = |second_names: [&str; 2]| {
            let (mut first, mut second) =
                (Snapshot::new(&streams, &set), Snapshot::new(&streams, &set));
            for name in ["a", "b"] {
                first.observe(Msg::from(&record(1, name)), None);
            }
            first.seal();
            for name in second_names {
                second.observe(Msg::from(&record(1, name)), Some(&mut first));
            }
            compare(&first, &second)
        };
        assert!(matches!(reads(["a", "b"]), Verdict::Pass));
        assert!(matches!(reads(["b", "a"]), Verdict::Pass));
        let Verdict::Fail(message) = reads(["a", "c"]) else {
            panic!("a changed repeat");
        };
        let message = message.message();
        assert!(
            message.contains("the 2 records with primary key [1] (the first at record index 0 of the first read, 0 of the second) differ between the two reads (2 there)"),
            "{message}"
        );
    }
}
