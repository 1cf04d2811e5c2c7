//! basic_read/expected_records: the read produced the records of the test
//! configuration's expected records file, under its options (Airbyte's
//! `expect_records`):
//! - `extra_fields`: a record read may have fields the expected one lacks (at
//!   any depth of nested objects);
//! - `exact_order`: a stream's records come in the file's order;
//! - `extra_records` (default true): the read may produce records the file
//!   does not list.
//!
//! Records are told apart by primary key where the stream has one, so every
//! combination of the options works (Airbyte supports four of the eight).
//! Without a key, an expected record matches the first record not yet matched
//! that it equals. Ignored fields are left out on both sides.

use std::collections::HashMap;

use serde_json::Value;

use super::{Verdict, verdict};
use crate::schema;
use std::path::PathBuf;

use serde::Deserialize;

use crate::test_config::{ExpectedRecord, ExpectedRecords, InputSet};

/// A value in a message: its JSON, cut short.
fn clip(value: &Value) -> String {
    crate::sandbox::clip_to(&value.to_string(), 200)
}

/// How many records a missing record is compared with to name the closest.
const CLOSEST_AMONG: usize = 10_000;

/// What the read produced for one stream the file names.
pub(super) struct ReadStream {
    pub primary_key: Vec<Vec<String>>,
    pub records: Vec<Value>,
}

/// `read` holds every stream the read included (with no records when it was
/// not asked to keep them); the file's streams among them kept their records.
pub(super) fn compare(
    file: &ExpectedRecords,
    options: &ExpectRecords,
    mut read: HashMap<String, ReadStream>,
    set: &InputSet,
) -> Verdict {
    let mut by_stream: Vec<(&str, Vec<ExpectedRecord>)> = Vec::new();
    for record in &file.records {
        match by_stream.iter_mut().find(|(s, _)| *s == record.stream) {
            Some((_, list)) => list.push(record.clone()),
            None => by_stream.push((&record.stream, vec![record.clone()])),
        }
    }
    let mut problems = Vec::new();
    for (stream, mut expected) in by_stream {
        let Some(mut actual) = read.remove(stream) else {
            problems.push(format!(
                "{}:{} names stream `{stream}`, which the read did not include (not discovered, not in the configured catalog, or bypassed)",
                file.file, expected[0].line
            ));
            continue;
        };
        for path in &set.ignored_paths(stream) {
            expected
                .iter_mut()
                .for_each(|e| schema::remove_at(&mut e.data, path));
            actual
                .records
                .iter_mut()
                .for_each(|r| schema::remove_at(r, path));
        }
        let mut matcher = Matcher {
            file: &file.file,
            stream,
            options,
            actual: &actual,
            used: vec![false; actual.records.len()],
            problems: &mut problems,
        };
        if options.exact_order {
            matcher.in_order(&expected);
        } else {
            matcher.in_any_order(&expected);
        }
    }
    verdict(
        problems,
        &format!(
            "expected the read to produce the records in {} (extra_fields: {}, exact_order: {}, extra_records: {})",
            file.file, options.extra_fields, options.exact_order, options.extra_records
        ),
        "if the connector is right and the data changed, update the expected records file; otherwise make the connector emit these records",
    )
}

struct Matcher<'a> {
    file: &'a str,
    stream: &'a str,
    options: &'a ExpectRecords,
    actual: &'a ReadStream,
    /// Which records read are matched to an expected one.
    used: Vec<bool>,
    problems: &'a mut Vec<String>,
}

impl Matcher<'_> {
    fn matches(&self, expected: &Value, actual: &Value) -> bool {
        matches(expected, actual, self.options.extra_fields)
    }

    fn label(&self, e: &ExpectedRecord) -> String {
        format!("{}:{} (stream `{}`)", self.file, e.line, self.stream)
    }

    /// The primary key of a record as JSON text; `None` without a key or
    /// when the record lacks a key field.
    fn key(&self, record: &Value) -> Option<String> {
        if self.actual.primary_key.is_empty() {
            return None;
        }
        let values: Option<Vec<&Value>> = self
            .actual
            .primary_key
            .iter()
            .map(|p| schema::value_at(record, p))
            .collect();
        values.map(|v| Value::from(v.into_iter().cloned().collect::<Vec<_>>()).to_string())
    }

    fn in_any_order(&mut self, expected: &[ExpectedRecord]) {
        let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in self.actual.records.iter().enumerate() {
            if let Some(k) = self.key(r) {
                by_key.entry(k).or_default().push(i);
            }
        }
        for e in expected {
            if let Some(k) = self.key(&e.data) {
                let found = by_key
                    .get(&k)
                    .and_then(|list| list.iter().copied().find(|&i| !self.used[i]));
                match found {
                    None => self.problems.push(format!(
                        "{} was not read: no record has the primary key {k}",
                        self.label(e)
                    )),
                    Some(i) => {
                        self.used[i] = true;
                        if !self.matches(&e.data, &self.actual.records[i]) {
                            let diff = self.differences(&e.data, &self.actual.records[i]);
                            self.problems.push(format!(
                                "{}: record index {i}, which has the primary key {k}, differs: {diff}",
                                self.label(e)
                            ));
                        }
                    }
                }
                continue;
            }
            let found = (0..self.actual.records.len())
                .find(|&i| !self.used[i] && self.matches(&e.data, &self.actual.records[i]));
            match found {
                Some(i) => self.used[i] = true,
                None => {
                    let closest = self.closest(&e.data);
                    self.problems
                        .push(format!("{} was not read{closest}", self.label(e)));
                }
            }
        }
        self.extra_records();
    }

    fn in_order(&mut self, expected: &[ExpectedRecord]) {
        let records = &self.actual.records;
        if !self.options.extra_records {
            for (i, e) in expected.iter().enumerate() {
                match records.get(i) {
                    None => {
                        self.problems.push(format!(
                            "{} was not read: the stream has only {} records, and this is expected as record index {i}",
                            self.label(e),
                            records.len()
                        ));
                        break;
                    }
                    Some(r) if !self.matches(&e.data, r) => {
                        let diff = self.differences(&e.data, r);
                        self.problems.push(format!(
                            "{}: expected as record index {i}, which differs: {diff}",
                            self.label(e)
                        ));
                    }
                    Some(_) => {}
                }
            }
            for (i, record) in records.iter().enumerate().skip(expected.len()) {
                self.problems.push(format!(
                    "record index {i} of stream `{}` is not in {} (extra_records is false): {}",
                    self.stream,
                    self.file,
                    clip(record)
                ));
            }
            return;
        }
        // The expected records must appear as a subsequence of those read.
        let mut next = 0;
        for e in expected {
            match (next..records.len()).find(|&i| self.matches(&e.data, &records[i])) {
                Some(i) => next = i + 1,
                None => match (0..next).find(|&i| self.matches(&e.data, &records[i])) {
                    Some(i) => self.problems.push(format!(
                        "{} came out of order: it was read as record index {i}, before record index {} that matched the line before it",
                        self.label(e),
                        next - 1
                    )),
                    None => {
                        let closest = self.closest(&e.data);
                        self.problems
                            .push(format!("{} was not read{closest}", self.label(e)));
                    }
                },
            }
        }
    }

    /// With `extra_records: false`, every record read must be matched.
    fn extra_records(&mut self) {
        if self.options.extra_records {
            return;
        }
        for (i, used) in self.used.iter().enumerate() {
            if !used {
                self.problems.push(format!(
                    "record index {i} of stream `{}` is not in {} (extra_records is false): {}",
                    self.stream,
                    self.file,
                    clip(&self.actual.records[i])
                ));
            }
        }
    }

    /// The record read that differs least from `expected`, and how.
    fn closest(&self, expected: &Value) -> String {
        let best = self
            .actual
            .records
            .iter()
            .enumerate()
            .take(CLOSEST_AMONG)
            .map(|(i, r)| (i, self.differences_list(expected, r)))
            .min_by_key(|(_, d)| d.len());
        match best {
            None => "; the stream has no records".to_string(),
            Some((i, d)) => format!(
                "; the closest record read, index {i}, differs: {}",
                d.join("; ")
            ),
        }
    }

    fn differences(&self, expected: &Value, actual: &Value) -> String {
        self.differences_list(expected, actual).join("; ")
    }

    fn differences_list(&self, expected: &Value, actual: &Value) -> Vec<String> {
        let mut out = Vec::new();
        differences(
            expected,
            actual,
            self.options.extra_fields,
            &mut String::new(),
            &mut out,
        );
        out
    }
}

/// `expected` equals `actual`, or with `extra_fields`, every field of
/// `expected` (at any depth of objects) is in `actual` with an equal value.
fn matches(expected: &Value, actual: &Value, extra_fields: bool) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) if extra_fields => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|av| matches(v, av, true))),
        _ => expected == actual,
    }
}

/// Where `actual` departs from `expected`, as JSON pointers with both values.
fn differences(
    expected: &Value,
    actual: &Value,
    extra_fields: bool,
    path: &mut String,
    out: &mut Vec<String>,
) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                let len = path.len();
                path.push('/');
                path.push_str(k);
                match a.get(k) {
                    None => out.push(format!(
                        "at `{path}`: expected {}, the record has no such field",
                        clip(v)
                    )),
                    Some(av) => differences(v, av, extra_fields, path, out),
                }
                path.truncate(len);
            }
            if !extra_fields {
                for (k, v) in a.iter().filter(|(k, _)| !e.contains_key(*k)) {
                    out.push(format!(
                        "at `{path}/{k}`: not expected (extra_fields is false), read {}",
                        clip(v)
                    ));
                }
            }
        }
        _ if expected != actual => out.push(format!(
            "at `{}`: expected {}, read {}",
            schema::pointer_or_root(path),
            clip(expected),
            clip(actual)
        )),
        _ => {}
    }
}

/// basic_read's own check of an input set: `expect_records` gives a file
/// or a reason, not both and not neither.
pub(super) fn check_set(set: &InputSet, place: &str) -> Result<(), String> {
    if let Some(e) = &set.expect_records
        && e.path.is_some() == e.bypass_reason.is_some()
    {
        return Err(format!(
            "{place}.expect_records: give either `path` (a JSON Lines file of expected records) or `bypass_reason`\n  fix: for example `expect_records: {{path: expected_records.jsonl}}`"
        ));
    }
    Ok(())
}

/// Records the read must produce: a JSON Lines file of
/// `{"stream": ..., "data": {...}}` (an `emitted_at` is ignored).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectRecords {
    pub path: Option<PathBuf>,
    /// No expected records, for this reason (with `test_strictness_level: high`).
    pub bypass_reason: Option<String>,
    /// A record read may have fields the expected one lacks.
    #[serde(default)]
    pub extra_fields: bool,
    /// The records of a stream come in the file's order.
    #[serde(default)]
    pub exact_order: bool,
    /// The read may produce records the file does not list (default true).
    #[serde(default = "yes")]
    pub extra_records: bool,
}

fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_config::Bypassed;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn file(records: &[Value]) -> ExpectedRecords {
        ExpectedRecords {
            file: "expected.jsonl".into(),
            records: records
                .iter()
                .enumerate()
                .map(|(i, d)| ExpectedRecord {
                    stream: "users".into(),
                    data: d.clone(),
                    line: i + 1,
                })
                .collect(),
        }
    }

    fn options(extra_fields: bool, exact_order: bool, extra_records: bool) -> ExpectRecords {
        ExpectRecords {
            path: Some("expected.jsonl".into()),
            bypass_reason: None,
            extra_fields,
            exact_order,
            extra_records,
        }
    }

    fn run(expected: &[Value], read: &[Value], key: bool, o: ExpectRecords) -> Option<String> {
        let streams = HashMap::from([(
            "users".to_string(),
            ReadStream {
                primary_key: if key { vec![vec!["id".into()]] } else { vec![] },
                records: read.to_vec(),
            },
        )]);
        match compare(&file(expected), &o, streams, &InputSet::default()) {
            Verdict::Pass => None,
            Verdict::Fail(m) => Some(m.message()),
            Verdict::Skip(m) => panic!("skipped: {m}"),
        }
    }

    #[test]
    fn every_option_combination_with_and_without_a_key() {
        let a = json!({"id": 1, "name": "ann", "age": 30});
        let b = json!({"id": 2, "name": "bob", "age": 40});
        let c = json!({"id": 3, "name": "cy", "age": 50});
        let a_part = json!({"id": 1, "name": "ann"});
        let b_part = json!({"id": 2, "name": "bob"});
        for key in [true, false] {
            // Exact records, any order, extras allowed.
            assert_eq!(
                run(
                    &[b.clone(), a.clone()],
                    &[a.clone(), b.clone(), c.clone()],
                    key,
                    options(false, false, true)
                ),
                None
            );
            // Extras refused.
            let m = run(
                &[a.clone(), b.clone()],
                &[a.clone(), b.clone(), c.clone()],
                key,
                options(false, false, false),
            )
            .unwrap();
            assert!(m.contains("record index 2 of stream `users` is not in expected.jsonl (extra_records is false)"), "{m}");
            // Order required.
            let m = run(
                &[b.clone(), a.clone()],
                &[a.clone(), b.clone(), c.clone()],
                key,
                options(false, true, true),
            )
            .unwrap();
            assert!(m.contains("expected.jsonl:2 (stream `users`) came out of order: it was read as record index 0"), "{m}");
            assert_eq!(
                run(
                    &[a.clone(), c.clone()],
                    &[a.clone(), b.clone(), c.clone()],
                    key,
                    options(false, true, true)
                ),
                None
            );
            // Order and no extras: the same sequence.
            let m = run(
                &[a.clone(), b.clone()],
                &[a.clone(), b.clone(), c.clone()],
                key,
                options(false, true, false),
            )
            .unwrap();
            assert!(
                m.contains("record index 2 of stream `users` is not in"),
                "{m}"
            );
            // Partial expected records need extra_fields.
            let m = run(
                std::slice::from_ref(&a_part),
                &[a.clone(), b.clone()],
                key,
                options(false, false, true),
            )
            .unwrap();
            assert!(
                m.contains("at `/age`: not expected (extra_fields is false), read 30"),
                "{m}"
            );
            assert_eq!(
                run(
                    &[b_part.clone(), a_part.clone()],
                    &[a.clone(), b.clone()],
                    key,
                    options(true, false, false)
                ),
                None
            );
            assert_eq!(
                run(
                    &[a_part.clone(), b_part.clone()],
                    &[a.clone(), b.clone()],
                    key,
                    options(true, true, false)
                ),
                None
            );
        }
    }

    #[test]
    fn a_changed_value_is_reported_at_its_path() {
        let read = [json!({"id": 1, "address": {"city": "Oslo", "zip": "0150"}})];
        let expected = [json!({"id": 1, "address": {"city": "Bergen", "zip": "0150"}})];
        // With a key, the record with that key is compared.
        let m = run(&expected, &read, true, options(false, false, true)).unwrap();
        assert!(m.contains("expected.jsonl:1 (stream `users`): record index 0, which has the primary key [1], differs: at `/address/city`: expected \"Bergen\", read \"Oslo\""), "{m}");
        // Without, the closest record is.
        let m = run(&expected, &read, false, options(false, false, true)).unwrap();
        assert!(
            m.contains(
                "was not read; the closest record read, index 0, differs: at `/address/city`"
            ),
            "{m}"
        );
        // A record never read.
        let m = run(
            &[json!({"id": 9})],
            &read,
            true,
            options(false, false, true),
        )
        .unwrap();
        assert!(
            m.contains("was not read: no record has the primary key [9]"),
            "{m}"
        );
        // 1.0 is not 1.
        assert!(
            run(
                &[json!({"id": 1.0})],
                &[json!({"id": 1})],
                false,
                options(false, false, true)
            )
            .is_some()
        );
    }

    #[test]
    fn ignored_fields_are_left_out_on_both_sides() {
        let set = InputSet {
            ignored_fields: BTreeMap::from([(
                "users".to_string(),
                vec![Bypassed {
                    name: "seen.at".into(),
                    bypass_reason: Some("changes".into()),
                }],
            )]),
            ..InputSet::default()
        };
        let streams = HashMap::from([(
            "users".to_string(),
            ReadStream {
                primary_key: vec![],
                records: vec![json!({"id": 1, "seen": {"at": 5}})],
            },
        )]);
        let f = file(&[json!({"id": 1, "seen": {"at": 4}})]);
        assert!(matches!(
            compare(&f, &options(false, false, false), streams, &set),
            Verdict::Pass
        ));
    }

    #[test]
    fn a_stream_the_read_did_not_include_is_named() {
        let m = match compare(
            &file(&[json!({"id": 1})]),
            &options(false, false, true),
            HashMap::new(),
            &InputSet::default(),
        ) {
            Verdict::Fail(m) => m.message(),
            _ => panic!("passed"),
        };
        assert!(
            m.contains("expected.jsonl:1 names stream `users`, which the read did not include"),
            "{m}"
        );
    }
}
