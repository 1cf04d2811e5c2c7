//! full_refresh: two full-refresh reads, each on a fresh instance, agree. Every
//! record of the first read is in the second: matched by primary key where the
//! stream has one, else as a whole record. And `emitted_at` never goes backwards.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::Value;

use super::{DiscoveredStream, EXAMPLES, Run, Verdict, read, verdict};
use crate::sandbox::bindings::ctest::connector::types as wit;
use crate::schema;
use crate::test_config::InputSet;

const SUITE: &str = "full_refresh";

pub(super) fn run(run: &mut Run<'_>) {
    const TESTS: &[&str] = &["records_repeatable", "emitted_at_not_decreasing"];
    let Some((streams, _)) = run.rereading_suite(SUITE, TESTS) else {
        return;
    };
    run.report_bypassed_streams(SUITE);
    let catalog = read::configured_catalog(&streams, &run.set, |s| {
        s.info
            .supported_sync_modes
            .contains(&wit::SyncMode::FullRefresh)
            .then_some(wit::SyncMode::FullRefresh)
    });
    let config_text = run.config_text.clone();
    let set = run.set.set.clone();

    let rules = read::Rules {
        streams: &streams,
        facts: run.read_facts.clone(),
    };
    let mut reads: Option<(Snapshot, Snapshot)> = None;
    run.step(SUITE, "records_repeatable", |ctx| {
        if catalog.streams.is_empty() {
            return Verdict::Skip("no stream supports full refresh".into());
        }
        let mut snapshots = Vec::new();
        for which in ["first", "second"] {
            let mut snapshot = Snapshot::new(&streams, &set);
            if let Err(e) = read::stream_read(ctx, &config_text, &catalog, &[], Some(&rules), &mut |m| {
                snapshot.observe(m)
            }) {
                return Verdict::Fail(format!(
                    "expected two full-refresh reads to complete, keeping the rules of every read; the {which} one did not: {e}"
                ));
            }
            snapshots.push(snapshot);
        }
        let second = snapshots.pop().expect("two reads");
        let first = snapshots.pop().expect("two reads");
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
    );
    run.catalog = Some(streams);
}

/// What one read produced, per stream: a digest of each record by its key.
struct Snapshot {
    streams: HashMap<String, StreamSnapshot>,
    /// Stream names in catalog order, for stable messages.
    order: Vec<String>,
}

struct StreamSnapshot {
    primary_key: Vec<Vec<String>>,
    /// Fields left out of the comparison (the test configuration's `ignored_fields`).
    ignored: Vec<Vec<String>>,
    /// Digest of the key (the primary key's values, or the whole record) ->
    /// the record's digest, its index and (keyed streams) the key clipped for
    /// messages. No record is kept whole, whatever its size.
    records: HashMap<u128, Seen>,
    first_emitted_at: Option<i64>,
    last_emitted_at: Option<i64>,
    backwards: Vec<String>,
    backwards_count: u64,
    count: u64,
}

struct Seen {
    digest: u64,
    index: u64,
    key: Option<Box<str>>,
}

/// The longest key text kept for a message.
const KEY_TEXT: usize = 100;

/// A 128-bit digest of `text`: two SipHash passes with distinct prefixes.
fn digest128(text: &str) -> u128 {
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        text.hash(&mut h);
        h.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

impl Snapshot {
    /// `set`'s `ignored_fields` are left out of the comparison.
    fn new(streams: &[DiscoveredStream], set: &InputSet) -> Self {
        Snapshot {
            order: streams.iter().map(|s| s.info.name.clone()).collect(),
            streams: streams
                .iter()
                .map(|s| {
                    let primary_key = s.declared_primary_key();
                    (
                        s.info.name.clone(),
                        StreamSnapshot {
                            primary_key,
                            ignored: set.ignored_paths(&s.info.name),
                            records: HashMap::new(),
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

    fn observe(&mut self, message: wit::Message) {
        let wit::Message::Record(r) = message else {
            return;
        };
        // Records of unknown streams and records that are not JSON are the
        // basic_read suite's findings.
        let Some(s) = self.streams.get_mut(&r.stream) else {
            return;
        };
        let Ok(mut value) = serde_json::from_str::<Value>(&r.data) else {
            return;
        };
        for path in &s.ignored {
            schema::remove_at(&mut value, path);
        }
        let index = s.count;
        s.count += 1;
        if let Some(last) = s.last_emitted_at
            && r.emitted_at < last
        {
            s.backwards_count += 1;
            if s.backwards.len() < EXAMPLES {
                s.backwards.push(format!(
                    "record index {index} of stream `{}` has emitted_at {} after {last}",
                    r.stream, r.emitted_at
                ));
            }
        }
        s.first_emitted_at.get_or_insert(r.emitted_at);
        s.last_emitted_at = Some(r.emitted_at);
        // `Value`'s objects keep their keys sorted, so equal records print equally.
        let canonical = value.to_string();
        let mut hasher = DefaultHasher::new();
        canonical.hash(&mut hasher);
        let (key, text) = if s.primary_key.is_empty() {
            (digest128(&canonical), None)
        } else {
            let values: Vec<&Value> = s
                .primary_key
                .iter()
                .map(|p| schema::value_at(&value, p).unwrap_or(&Value::Null))
                .collect();
            let text = serde_json::to_string(&values).unwrap_or_default();
            (
                digest128(&text),
                Some(crate::sandbox::clip_to(&text, KEY_TEXT).into_boxed_str()),
            )
        };
        s.records.insert(
            key,
            Seen {
                digest: hasher.finish(),
                index,
                key: text,
            },
        );
    }
}

fn compare(first: &Snapshot, second: &Snapshot) -> Verdict {
    let mut problems = Vec::new();
    for name in &first.order {
        let (Some(a), Some(b)) = (first.streams.get(name), second.streams.get(name)) else {
            continue;
        };
        let keyed = !a.primary_key.is_empty();
        // Sorted, so that the examples shown are the same from run to run.
        let mut failing: Vec<(&Seen, bool)> = a
            .records
            .iter()
            .filter_map(|(key, seen)| match b.records.get(key) {
                None => Some((seen, true)),
                Some(other) if other.digest != seen.digest => Some((seen, false)),
                Some(_) => None,
            })
            .collect();
        failing.sort_by_key(|(seen, _)| seen.index);
        problems.extend(failing.into_iter().map(|(seen, missing)| {
            let key = seen.key.as_deref().unwrap_or_default();
            let index = seen.index;
            match (keyed, missing) {
                (true, true) => format!("stream `{name}`: the record with primary key {key} (record index {index} of the first read) is missing from the second read"),
                (true, false) => format!("stream `{name}`: the record with primary key {key} (record index {index} of the first read) differs between the two reads"),
                (false, _) => format!("stream `{name}`: the record at index {index} of the first read is missing from the second read"),
            }
        }));
    }
    verdict(
        problems,
        "expected every record of a first full-refresh read to appear, unchanged, in a second one",
        "make full-refresh reads repeatable: the same data gives the same records (no random or time-dependent values)",
    )
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
    Verdict::Fail(format!(
        "expected emitted_at never to go backwards, within a read or from one read to the next; {count} time(s) it did:\n  {}\n\
         fix: set emitted_at to the time the record was read, in milliseconds since the Unix epoch",
        problems.join("\n  ")
    ))
}
