//! `ctest snapshot`: basic_read writes an input set's expected records file
//! from its read, instead of comparing with it, so that teams stop keeping
//! expected records by hand.
//!
//! The file is written as basic_read/expected_records reads it: one
//! `{"stream": ..., "data": {...}}` per line, the input set's
//! `ignored_fields` left out, each stream's records sorted by primary key (in
//! the read's order when `exact_order` is set, or the stream has no key).
//! What changed against the file that was there is said per stream: records
//! added, removed and changed (told apart by primary key), and unchanged.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::Value;

use super::expected_records::{ExpectRecords, ReadStream};
use super::{Verdict, verdict};
use crate::schema;
use crate::test_config::{ExpectedRecords, InputSet};

/// How many changed records a summary names per stream.
const NAMED: usize = 3;

/// Writes `path` from `read` (every stream of the input set's read, with its
/// records); `old` is the file as it was, if it could be read. The verdict,
/// and the summary for the person who asked.
pub(super) fn write(
    path: &Path,
    old: Option<&ExpectedRecords>,
    options: &ExpectRecords,
    read: HashMap<String, ReadStream>,
    set: &InputSet,
) -> (Verdict, String) {
    let file = path.display().to_string();
    let mut streams: Vec<(String, ReadStream)> = read.into_iter().collect();
    streams.sort_by(|a, b| a.0.cmp(&b.0));
    let mut text = String::new();
    let mut total = 0usize;
    let mut written: BTreeMap<String, (Vec<Vec<String>>, Vec<Value>)> = BTreeMap::new();
    for (name, mut stream) in streams {
        for path in set.ignored_paths(&name) {
            stream
                .records
                .iter_mut()
                .for_each(|r| schema::remove_at(r, &path));
        }
        if !options.exact_order && !stream.primary_key.is_empty() {
            let key = |r: &Value| key_values(r, &stream.primary_key);
            stream
                .records
                .sort_by(|a, b| compare_keys(&key(a), &key(b)));
        }
        // `stream` first, as people write these files.
        let stream_field = Value::from(name.as_str()).to_string();
        for record in &stream.records {
            text.push_str(&format!(
                "{{\"stream\":{stream_field},\"data\":{record}}}\n"
            ));
        }
        total += stream.records.len();
        written.insert(name, (stream.primary_key, stream.records));
    }
    if total == 0 {
        return (
            verdict(
                vec![format!(
                    "{file}: the read produced no records, so the file was left as it was"
                )],
                "expected records to write",
                "give the input set a config whose account has data, or bypass expect_records with a reason",
            ),
            format!("{file}: not written: the read produced no records"),
        );
    }
    if let Err(e) = write_atomically(path, &text) {
        return (
            Verdict::fail(format!(
                "{file}: cannot write the expected records: {e}\n  fix: make the directory writable"
            )),
            format!("{file}: not written: {e}"),
        );
    }
    let summary = changes(old, &written);
    (
        Verdict::Pass,
        format!("{file}: wrote {total} records\n{summary}"),
    )
}

/// Writes through a file beside it, renamed over it: a reader never sees
/// half a file.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)?;
    }
    let mut temp = tempfile::NamedTempFile::new_in(dir.unwrap_or(Path::new(".")))?;
    std::io::Write::write_all(&mut temp, text.as_bytes())?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The values of a record's key fields (`Null` for one it lacks).
fn key_values(record: &Value, key: &[Vec<String>]) -> Vec<Value> {
    key.iter()
        .map(|p| schema::value_at(record, p).cloned().unwrap_or(Value::Null))
        .collect()
}

/// Keys in order: numbers by value, then strings, then the rest by their JSON.
fn compare_keys(a: &[Value], b: &[Value]) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            _ => 4,
        }
    }
    for (x, y) in a.iter().zip(b) {
        let order = match (x, y) {
            (Value::Number(m), Value::Number(n)) => m
                .as_f64()
                .partial_cmp(&n.as_f64())
                .unwrap_or(Ordering::Equal),
            (Value::String(m), Value::String(n)) => m.cmp(n),
            (Value::Bool(m), Value::Bool(n)) => m.cmp(n),
            _ => rank(x)
                .cmp(&rank(y))
                .then_with(|| x.to_string().cmp(&y.to_string())),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

/// Per stream: added, removed, changed, unchanged; the changed records named
/// by key with the fields that changed.
fn changes(
    old: Option<&ExpectedRecords>,
    written: &BTreeMap<String, (Vec<Vec<String>>, Vec<Value>)>,
) -> String {
    let Some(old) = old else {
        return format!(
            "  (a new file: {})",
            written
                .iter()
                .map(|(s, (_, r))| format!("{s}: {}", r.len()))
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let mut before: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for r in &old.records {
        before.entry(r.stream.as_str()).or_default().push(&r.data);
    }
    let mut lines = Vec::new();
    for (stream, (key, records)) in written {
        let was = before.remove(stream.as_str()).unwrap_or_default();
        let (mut added, mut changed, mut unchanged) = (0, Vec::new(), 0);
        let mut removed;
        if key.is_empty() {
            // Without a key, records are only equal or not.
            let mut left: Vec<String> = was.iter().map(|v| v.to_string()).collect();
            for r in records {
                let text = r.to_string();
                match left.iter().position(|l| *l == text) {
                    Some(i) => {
                        left.swap_remove(i);
                        unchanged += 1;
                    }
                    None => added += 1,
                }
            }
            removed = left.len();
        } else {
            let mut by_key: HashMap<String, &Value> = was
                .iter()
                .map(|v| (Value::from(key_values(v, key)).to_string(), *v))
                .collect();
            removed = 0;
            for r in records {
                let k = Value::from(key_values(r, key)).to_string();
                match by_key.remove(&k) {
                    None => added += 1,
                    Some(v) if v == r => unchanged += 1,
                    Some(v) => changed.push(format!("{k}: {}", changed_fields(v, r))),
                }
            }
            removed += by_key.len();
        }
        let mut line = format!(
            "  {stream}: {added} added, {removed} removed, {} changed, {unchanged} unchanged",
            changed.len()
        );
        if !changed.is_empty() {
            let shown: Vec<&str> = changed.iter().take(NAMED).map(String::as_str).collect();
            line.push_str(&format!(" (key {}", shown.join("; key ")));
            if changed.len() > NAMED {
                line.push_str(&format!("; … {} more", changed.len() - NAMED));
            }
            line.push(')');
        }
        lines.push(line);
    }
    for (stream, was) in before {
        lines.push(format!(
            "  {stream}: {} removed (the read no longer includes the stream)",
            was.len()
        ));
    }
    lines.join("\n")
}

/// The top-level fields whose values differ, by name.
fn changed_fields(before: &Value, after: &Value) -> String {
    let (Some(b), Some(a)) = (before.as_object(), after.as_object()) else {
        return "the value".into();
    };
    let mut names: Vec<&str> = b
        .keys()
        .chain(a.keys())
        .filter(|k| b.get(*k) != a.get(*k))
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    names.dedup();
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_config::ExpectedRecord;
    use serde_json::json;

    fn stream(key: bool, records: Vec<Value>) -> ReadStream {
        ReadStream {
            primary_key: if key { vec![vec!["id".into()]] } else { vec![] },
            records,
        }
    }

    fn options(exact_order: bool) -> ExpectRecords {
        ExpectRecords {
            path: None,
            bypass_reason: None,
            extra_fields: false,
            exact_order,
            extra_records: true,
        }
    }

    #[test]
    fn writes_sorted_records_without_ignored_fields_and_says_what_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/expected.jsonl");
        let set: InputSet = serde_json::from_value(json!({
            "ignored_fields": {"users": [{"name": "seen_at"}]}
        }))
        .unwrap();
        let read = |records: Vec<Value>| {
            HashMap::from([
                ("users".to_string(), stream(true, records)),
                ("tags".to_string(), stream(false, vec![json!({"t": "a"})])),
            ])
        };
        let (v, summary) = write(
            &path,
            None,
            &options(false),
            read(vec![
                json!({"id": 10, "name": "b", "seen_at": 1}),
                json!({"id": 9, "name": "a", "seen_at": 2}),
            ]),
            &set,
        );
        assert_eq!(v, Verdict::Pass);
        assert!(
            summary.contains("wrote 3 records")
                && summary.contains("a new file: tags: 1, users: 2"),
            "{summary}"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "{\"stream\":\"tags\",\"data\":{\"t\":\"a\"}}\n{\"stream\":\"users\",\"data\":{\"id\":9,\"name\":\"a\"}}\n{\"stream\":\"users\",\"data\":{\"id\":10,\"name\":\"b\"}}\n"
        );

        let old = ExpectedRecords {
            file: "f".into(),
            records: text
                .lines()
                .enumerate()
                .map(|(i, l)| {
                    let v: Value = serde_json::from_str(l).unwrap();
                    ExpectedRecord {
                        stream: v["stream"].as_str().unwrap().into(),
                        data: v["data"].clone(),
                        line: i + 1,
                    }
                })
                .chain([ExpectedRecord {
                    stream: "gone".into(),
                    data: json!({"x": 1}),
                    line: 4,
                }])
                .collect(),
        };
        let (_, summary) = write(
            &path,
            Some(&old),
            &options(false),
            read(vec![
                json!({"id": 9, "name": "A"}),
                json!({"id": 11, "name": "c"}),
            ]),
            &set,
        );
        assert!(
            summary.contains("users: 1 added, 1 removed, 1 changed, 0 unchanged (key [9]: `name`)")
                && summary.contains("tags: 0 added, 0 removed, 0 changed, 1 unchanged")
                && summary.contains("gone: 1 removed (the read no longer includes the stream)"),
            "{summary}"
        );

        // exact_order keeps the read's order.
        let (_, _) = write(
            &path,
            None,
            &options(true),
            read(vec![json!({"id": 2}), json!({"id": 1})]),
            &set,
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.find("\"id\":2").unwrap() < text.find("\"id\":1").unwrap(),
            "{text}"
        );
    }

    #[test]
    fn an_empty_read_leaves_the_file_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.jsonl");
        std::fs::write(&path, "keep me\n").unwrap();
        let (v, summary) = write(
            &path,
            None,
            &options(false),
            HashMap::from([("users".to_string(), stream(true, vec![]))]),
            &InputSet::default(),
        );
        assert!(matches!(v, Verdict::Fail(_)), "{v:?}");
        assert!(summary.contains("not written"), "{summary}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me\n");
    }

    #[test]
    fn keys_sort_numbers_by_value_and_mixed_kinds_stably() {
        let mut keys = vec![
            vec![json!("b")],
            vec![json!(10)],
            vec![json!(9.5)],
            vec![Value::Null],
            vec![json!("a")],
        ];
        keys.sort_by(|a, b| compare_keys(a, b));
        assert_eq!(
            keys,
            [
                vec![Value::Null],
                vec![json!(9.5)],
                vec![json!(10)],
                vec![json!("a")],
                vec![json!("b")]
            ]
        );
    }
}
