//! Whether a value meets a [`Predicate`], and if not, what was expected and
//! what came, in words.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::file::{Predicate, RecordsFile, TypeName};

/// How much of a value a message shows.
const SHOWN: usize = 160;

/// A value as a message shows it: JSON, clipped.
pub fn show(value: &Value) -> String {
    crate::sandbox::clip_to(&value.to_string(), SHOWN)
}

fn shown(value: Option<&Value>) -> String {
    match value {
        Some(v) => show(v),
        None => "nothing (the path leads nowhere)".into(),
    }
}

/// What evaluating needs besides the predicate: the records files the
/// scenario file names (read when it was loaded), and compiled patterns.
pub struct Eval<'a> {
    pub records_files: &'a HashMap<String, Arc<Vec<Value>>>,
    /// Masks what the scenario itself expects (a secret variable in an
    /// `equals`), so that only what the plugin returned can count as its leak.
    mask: Option<&'a crate::redact::Redactor>,
    regexes: RefCell<HashMap<String, Arc<regex::Regex>>>,
    validators: RefCell<HashMap<String, Arc<jsonschema::Validator>>>,
}

impl<'a> Eval<'a> {
    pub fn new(records_files: &'a HashMap<String, Arc<Vec<Value>>>) -> Eval<'a> {
        Eval {
            records_files,
            mask: None,
            regexes: RefCell::default(),
            validators: RefCell::default(),
        }
    }

    /// Masks, with `mask`, the secrets in what the scenario expects.
    pub fn masking(mut self, mask: &'a crate::redact::Redactor) -> Eval<'a> {
        self.mask = Some(mask);
        self
    }

    fn masked(&self, text: String) -> String {
        match self.mask {
            Some(m) => m.redact(&text),
            None => text,
        }
    }

    fn regex(&self, pattern: &str) -> Result<Arc<regex::Regex>, String> {
        if let Some(r) = self.regexes.borrow().get(pattern) {
            return Ok(r.clone());
        }
        let r = Arc::new(compile(pattern)?);
        self.regexes
            .borrow_mut()
            .insert(pattern.to_string(), r.clone());
        Ok(r)
    }

    fn validator(&self, schema: &Value) -> Result<Arc<jsonschema::Validator>, String> {
        let key = schema.to_string();
        if let Some(v) = self.validators.borrow().get(&key) {
            return Ok(v.clone());
        }
        let v = Arc::new(
            crate::schema::validator(schema)
                .map_err(|e| format!("the `schema` is not a valid JSON Schema: {e}"))?,
        );
        self.validators.borrow_mut().insert(key, v.clone());
        Ok(v)
    }

    /// `Ok` when `value` (`None`: missing) meets `p`; else why not.
    pub fn check(&self, p: &Predicate, value: Option<&Value>) -> Result<(), String> {
        let expected = |what: String| {
            Err(format!(
                "expected {}; got {}",
                self.masked(what),
                shown(value)
            ))
        };
        let present = |key: &str| -> Result<&Value, String> {
            value.ok_or_else(|| format!("expected `{key}`; got {}", shown(None)))
        };
        if let Some(want) = p.exists
            && value.is_some() != want
        {
            return expected(if want {
                "a value (`exists`)".into()
            } else {
                "nothing (`exists: false`)".into()
            });
        }
        if let Some(want) = p.absent
            && value.is_none() != want
        {
            return expected(if want {
                "nothing (`absent`)".into()
            } else {
                "a value (`absent: false`)".into()
            });
        }
        if let Some(want) = &p.equals
            && !value.is_some_and(|v| same(v, want))
        {
            return expected(format!("`equals: {}`", show(want)));
        }
        if let Some(unwanted) = &p.not_equals
            && value.is_none_or(|v| same(v, unwanted))
        {
            return expected(format!("`not_equals: {}`", show(unwanted)));
        }
        for (key, want, wanted) in [
            ("is_null", p.is_null, Value::Null),
            ("is_true", p.is_true, Value::Bool(true)),
            ("is_false", p.is_false, Value::Bool(false)),
        ] {
            if let Some(want) = want {
                let v = present(key)?;
                if (*v == wanted) != want {
                    return expected(format!("`{key}: {want}`"));
                }
            }
        }
        if let Some(options) = &p.one_of
            && !value.is_some_and(|v| options.iter().any(|o| same(v, o)))
        {
            return expected(format!("`one_of: {}`", show(&Value::from(options.clone()))));
        }
        if let Some(options) = &p.not_one_of
            && value.is_none_or(|v| options.iter().any(|o| same(v, o)))
        {
            return expected(format!(
                "`not_one_of: {}`",
                show(&Value::from(options.clone()))
            ));
        }
        for (key, part, want) in [
            ("contains", &p.contains, true),
            ("not_contains", &p.not_contains, false),
        ] {
            if let Some(part) = part {
                let v = present(key)?;
                let holds = match (v, part) {
                    (Value::String(s), Value::String(t)) => s.contains(t.as_str()),
                    (Value::String(_), other) => {
                        return Err(format!(
                            "`{key}: {}` on a string needs a string; got {}",
                            show(other),
                            show(v)
                        ));
                    }
                    (Value::Array(items), part) => items.iter().any(|i| same(i, part)),
                    (Value::Object(map), Value::String(k)) => map.contains_key(k),
                    _ => {
                        return Err(format!(
                            "`{key}` applies to a string, a list or an object (keys); got {}",
                            show(v)
                        ));
                    }
                };
                if holds != want {
                    return expected(format!("`{key}: {}`", show(part)));
                }
            }
        }
        if let Some(n) = p.has_length {
            let v = present("has_length")?;
            match length(v) {
                Some(len) if len == n => {}
                Some(len) => return expected(format!("`has_length: {n}` (length {len})")),
                None => return expected(format!("`has_length: {n}` on a string, list or object")),
            }
        }
        for (key, want, empty) in [
            ("is_empty", p.is_empty, true),
            ("is_not_empty", p.is_not_empty, false),
        ] {
            if let Some(want) = want {
                let v = present(key)?;
                let Some(len) = length(v) else {
                    return expected(format!("`{key}` on a string, list or object"));
                };
                if ((len == 0) == empty) != want {
                    return expected(format!("`{key}: {want}`"));
                }
            }
        }
        for (key, bound, holds) in [
            (
                "greater_than",
                &p.greater_than,
                std::cmp::Ordering::is_gt as fn(std::cmp::Ordering) -> bool,
            ),
            ("greater_than_or_equal", &p.greater_than_or_equal, |o| {
                o.is_ge()
            }),
            ("less_than", &p.less_than, |o| o.is_lt()),
            ("less_than_or_equal", &p.less_than_or_equal, |o| o.is_le()),
        ] {
            if let Some(bound) = bound {
                let v = present(key)?;
                if !holds(compare(v, bound, key)?) {
                    return expected(format!("`{key}: {}`", show(bound)));
                }
            }
        }
        if let Some(range) = &p.between {
            let v = present("between")?;
            let [low, high] = range.as_slice() else {
                return Err(format!(
                    "`between` takes [low, high]; it was given {}",
                    show(&Value::from(range.clone()))
                ));
            };
            if !(compare(v, low, "between")?.is_ge() && compare(v, high, "between")?.is_le()) {
                return expected(format!("`between: [{}, {}]`", show(low), show(high)));
            }
        }
        for (key, arg) in [
            ("matches", &p.matches),
            ("starts_with", &p.starts_with),
            ("ends_with", &p.ends_with),
        ] {
            if let Some(arg) = arg {
                let Some(Value::String(s)) = value else {
                    return expected(format!("a string for `{key}: {arg:?}`"));
                };
                let holds = match key {
                    "matches" => self.regex(arg)?.is_match(s),
                    "starts_with" => s.starts_with(arg.as_str()),
                    _ => s.ends_with(arg.as_str()),
                };
                if !holds {
                    return expected(format!("`{key}: {arg:?}`"));
                }
            }
        }
        if let Some(t) = p.is_type {
            let v = present("is_type")?;
            if !is_type(v, t) {
                return expected(format!(
                    "`is_type: {}` (it is {})",
                    t.name(),
                    crate::schema::kind_of(v)
                ));
            }
        }
        if let Some(all) = &p.all_of {
            for (i, q) in all.iter().enumerate() {
                self.check(q, value)
                    .map_err(|e| format!("`all_of` item {i}: {e}"))?;
            }
        }
        if let Some(any) = &p.any_of {
            let mut whys = Vec::new();
            for q in any {
                match self.check(q, value) {
                    Ok(()) => {
                        whys.clear();
                        break;
                    }
                    Err(e) => whys.push(e),
                }
            }
            if !whys.is_empty() {
                return Err(format!("`any_of`: none holds: {}", whys.join("; ")));
            }
        }
        if let Some(none) = &p.none_of {
            for (i, q) in none.iter().enumerate() {
                if self.check(q, value).is_ok() {
                    return Err(format!(
                        "`none_of` item {i} holds, and none may; got {}",
                        shown(value)
                    ));
                }
            }
        }
        if let Some(q) = &p.each {
            let items = list(value, "each")?;
            let failures: Vec<(usize, String)> = items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| self.check(q, Some(item)).err().map(|e| (i, e)))
                .collect();
            if let Some((i, why)) = failures.first() {
                return Err(format!(
                    "`each`: {} of {} elements do not hold; the first, element {i}: {why}",
                    failures.len(),
                    items.len()
                ));
            }
        }
        if let Some(q) = &p.any {
            let items = list(value, "any")?;
            if !items.iter().any(|item| self.check(q, Some(item)).is_ok()) {
                let first = items
                    .first()
                    .map(|i| self.check(q, Some(i)).err().unwrap_or_default())
                    .unwrap_or_else(|| "the list is empty".into());
                return Err(format!(
                    "`any`: none of the {} elements holds (the first: {first})",
                    items.len()
                ));
            }
        }
        if let Some(count) = &p.count {
            let items = list(value, "count")?;
            let n = items
                .iter()
                .filter(|item| self.check(&count.matching, Some(item)).is_ok())
                .count();
            self.check(&count.is, Some(&Value::from(n)))
                .map_err(|e| format!("`count` of the elements that hold `where`: {e}"))?;
        }
        if let Some(at) = &p.at {
            let v = present("at")?;
            for (path, q) in at {
                let parsed = super::path::parse(path)?;
                let inner = parsed.resolve(v);
                self.check(q, inner.as_ref())
                    .map_err(|e| format!("at `{path}`: {e}"))?;
            }
        }
        if let Some(schema) = &p.schema {
            let v = present("schema")?;
            let validator = self.validator(schema)?;
            let errors: Vec<String> = validator
                .iter_errors(v)
                .take(3)
                .map(|e| {
                    format!(
                        "at `{}`: {}",
                        crate::schema::pointer_or_root(e.instance_path().as_str()),
                        e.masked()
                    )
                })
                .collect();
            if !errors.is_empty() {
                return Err(format!(
                    "expected a value valid against the `schema`; {}",
                    errors.join("; ")
                ));
            }
        }
        if let Some(file) = &p.records_file {
            self.records(file, value)?;
        }
        Ok(())
    }

    /// `records_file`: every record of the file is in the list (once per
    /// line), and, unless `extra_records`, nothing else.
    fn records(&self, file: &RecordsFile, value: Option<&Value>) -> Result<(), String> {
        let items = list(value, "records_file")?;
        let expected = self.records_files.get(&file.path).ok_or_else(|| {
            format!(
                "the records file `{}` was not read when the scenario file was loaded",
                file.path
            )
        })?;
        let ignored: Vec<super::path::Path> = file
            .ignored_fields
            .iter()
            .filter_map(|f| super::path::parse(f).ok())
            .collect();
        let key = |v: &Value| {
            let mut v = v.clone();
            for path in &ignored {
                remove(&mut v, &path.segments);
            }
            v.to_string()
        };
        let mut have: HashMap<String, usize> = HashMap::new();
        for item in items {
            *have.entry(key(item)).or_default() += 1;
        }
        let mut missing = Vec::new();
        for (line, record) in expected.iter().enumerate() {
            match have.get_mut(&key(record)) {
                Some(n) if *n > 0 => *n -= 1,
                _ => missing.push(format!("line {} {}", line + 1, show(record))),
            }
        }
        let extra: usize = have.values().sum();
        if missing.is_empty() && (file.extra_records || extra == 0) {
            return Ok(());
        }
        let mut why = format!(
            "expected the {} records of `{}`{}; ",
            expected.len(),
            file.path,
            if file.extra_records {
                " among those read"
            } else {
                " and no others"
            }
        );
        if !missing.is_empty() {
            why.push_str(&format!(
                "{} of them did not come (the first: {})",
                missing.len(),
                missing[..missing.len().min(3)].join(", ")
            ));
        }
        if !file.extra_records && extra > 0 {
            if !missing.is_empty() {
                why.push_str("; and ");
            }
            let first = items
                .iter()
                .find(|i| have.get(&key(i)).is_some_and(|n| *n > 0))
                .map(show)
                .unwrap_or_default();
            why.push_str(&format!(
                "{extra} record(s) came that the file does not hold (the first: {first})"
            ));
        }
        Err(why)
    }
}

/// A pattern for `matches`, `expect.message`: linear-time, bounded in size.
pub fn compile(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("`{pattern}` is not a valid regular expression: {e}"))
}

fn list<'v>(value: Option<&'v Value>, key: &str) -> Result<&'v Vec<Value>, String> {
    match value {
        Some(Value::Array(items)) => Ok(items),
        other => Err(format!("expected a list for `{key}`; got {}", shown(other))),
    }
}

fn length(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => Some(s.chars().count() as u64),
        Value::Array(a) => Some(a.len() as u64),
        Value::Object(m) => Some(m.len() as u64),
        _ => None,
    }
}

/// Equal as JSON, numbers by their value (`1` is `1.0`).
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || matches!((x.as_f64(), y.as_f64()), (Some(p), Some(q)) if p == q)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn compare(v: &Value, bound: &Value, key: &str) -> Result<std::cmp::Ordering, String> {
    match (v, bound) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(p), Some(q)) = (x.as_i64(), y.as_i64()) {
                return Ok(p.cmp(&q));
            }
            let (p, q) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            p.partial_cmp(&q)
                .ok_or_else(|| format!("`{key}`: {p} and {q} do not compare"))
        }
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        _ => Err(format!(
            "`{key}: {}` compares numbers with numbers and strings with strings; got {}",
            show(bound),
            show(v)
        )),
    }
}

fn is_type(v: &Value, t: TypeName) -> bool {
    match t {
        TypeName::String => v.is_string(),
        TypeName::Number => v.is_number(),
        TypeName::Integer => {
            v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        TypeName::Boolean => v.is_boolean(),
        TypeName::Object => v.is_object(),
        TypeName::Array => v.is_array(),
        TypeName::Null => v.is_null(),
    }
}

/// Takes the field at `segments` out of `v`.
fn remove(v: &mut Value, segments: &[super::path::Segment]) {
    use super::path::Segment;
    let Some((first, rest)) = segments.split_first() else {
        return;
    };
    match (v, first) {
        (Value::Object(map), Segment::Key(k)) if rest.is_empty() => {
            map.remove(k);
        }
        (Value::Object(map), Segment::Key(k)) => {
            if let Some(inner) = map.get_mut(k) {
                remove(inner, rest);
            }
        }
        (Value::Array(items), Segment::All) => items.iter_mut().for_each(|i| remove(i, rest)),
        (Value::Object(map), Segment::All) => map.values_mut().for_each(|i| remove(i, rest)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(yaml: &str) -> Predicate {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    fn holds(pred: &str, value: Option<Value>) -> Result<(), String> {
        let files = HashMap::new();
        Eval::new(&files).check(&p(pred), value.as_ref())
    }

    #[test]
    fn every_predicate_holds_and_fails_where_it_should() {
        let cases: &[(&str, Option<Value>, bool)] = &[
            ("equals: 3", Some(json!(3.0)), true),
            ("equals: 3", Some(json!("3")), false),
            ("equals: null", Some(Value::Null), true),
            ("equals: null", None, false),
            ("not_equals: a", Some(json!("b")), true),
            ("not_equals: a", Some(json!("a")), false),
            ("exists: true", Some(Value::Null), true),
            ("exists: true", None, false),
            ("exists: false", None, true),
            ("absent: true", None, true),
            ("absent: true", Some(json!(1)), false),
            ("is_null: true", Some(Value::Null), true),
            ("is_null: true", None, false),
            ("is_true: true", Some(json!(true)), true),
            ("is_false: true", Some(json!(true)), false),
            ("one_of: [a, b]", Some(json!("b")), true),
            ("one_of: [a, b]", Some(json!("c")), false),
            ("not_one_of: [a, b]", Some(json!("c")), true),
            ("not_one_of: [a, b]", Some(json!("a")), false),
            ("contains: ell", Some(json!("hello")), true),
            ("contains: 2", Some(json!([1, 2])), true),
            ("contains: id", Some(json!({"id": 1})), true),
            ("contains: x", Some(json!({"id": 1})), false),
            ("not_contains: error", Some(json!("all good")), true),
            ("not_contains: error", Some(json!("an error")), false),
            ("has_length: 2", Some(json!([1, 2])), true),
            ("has_length: 2", Some(json!("abc")), false),
            ("is_empty: true", Some(json!([])), true),
            ("is_empty: true", Some(json!({"a": 1})), false),
            ("is_not_empty: true", Some(json!("x")), true),
            ("is_not_empty: true", Some(json!("")), false),
            ("greater_than: 0", Some(json!(1)), true),
            ("greater_than: 0", Some(json!(0)), false),
            ("greater_than_or_equal: 0", Some(json!(0)), true),
            ("less_than: 2.5", Some(json!(2)), true),
            ("less_than_or_equal: 2", Some(json!(3)), false),
            (
                "greater_than_or_equal: '2024-05-01'",
                Some(json!("2024-05-02T00:00:00Z")),
                true,
            ),
            ("greater_than: 1", Some(json!("2")), false),
            ("between: [1, 3]", Some(json!(3)), true),
            ("between: [1, 3]", Some(json!(4)), false),
            ("matches: '^c[a-z]+s$'", Some(json!("customers")), true),
            ("matches: '^c'", Some(json!("invoices")), false),
            ("starts_with: cu", Some(json!("customers")), true),
            ("ends_with: rs", Some(json!("invoices")), false),
            ("is_type: integer", Some(json!(3)), true),
            ("is_type: string", Some(json!(3)), false),
            ("is_type: object", Some(json!({})), true),
            (
                "all_of: [{exists: true}, {is_type: string}]",
                Some(json!("a")),
                true,
            ),
            (
                "all_of: [{exists: true}, {is_type: string}]",
                Some(json!(1)),
                false,
            ),
            ("any_of: [{equals: a}, {equals: b}]", Some(json!("b")), true),
            (
                "any_of: [{equals: a}, {equals: b}]",
                Some(json!("c")),
                false,
            ),
            ("none_of: [{contains: error}]", Some(json!("ok")), true),
            ("none_of: [{contains: error}]", Some(json!("error!")), false),
            ("each: {greater_than: 0}", Some(json!([1, 2])), true),
            ("each: {greater_than: 0}", Some(json!([1, 0])), false),
            ("each: {greater_than: 0}", Some(json!({"a": 1})), false),
            ("any: {equals: 2}", Some(json!([1, 2])), true),
            ("any: {equals: 3}", Some(json!([1, 2])), false),
            (
                "count: {where: {greater_than: 1}, is: {equals: 2}}",
                Some(json!([1, 2, 3])),
                true,
            ),
            (
                "count: {where: {greater_than: 1}, is: {equals: 1}}",
                Some(json!([1, 2, 3])),
                false,
            ),
            ("at: {id: {is_type: integer}}", Some(json!({"id": 1})), true),
            ("at: {id: {exists: true}}", Some(json!({"name": 1})), false),
            (
                "schema: {type: object, required: [id]}",
                Some(json!({"id": 1})),
                true,
            ),
            (
                "schema: {type: object, required: [id]}",
                Some(json!({})),
                false,
            ),
            ("greater_than: 0\nless_than: 10", Some(json!(5)), true),
            ("greater_than: 0\nless_than: 10", Some(json!(50)), false),
        ];
        for (pred, value, want) in cases {
            let got = holds(pred, value.clone());
            assert_eq!(got.is_ok(), *want, "{pred} on {value:?}: {got:?}");
        }
    }

    #[test]
    fn a_failure_says_what_was_expected_and_what_came() {
        let e = holds("greater_than: 5", Some(json!(3))).unwrap_err();
        assert_eq!(e, "expected `greater_than: 5`; got 3");
        let e = holds("equals: 1", None).unwrap_err();
        assert!(e.contains("got nothing (the path leads nowhere)"), "{e}");
        let e = holds(
            "each: {at: {updated_at: {greater_than_or_equal: '2024-05-01'}}}",
            Some(json!([{"updated_at": "2024-06-01"}, {"updated_at": "2024-04-30"}])),
        )
        .unwrap_err();
        assert!(
            e.contains("1 of 2 elements do not hold; the first, element 1: at `updated_at`: expected `greater_than_or_equal: \"2024-05-01\"`; got \"2024-04-30\""),
            "{e}"
        );
        let long = json!("x".repeat(1000));
        let e = holds("equals: y", Some(long)).unwrap_err();
        assert!(e.len() < 300 && e.contains("[842 more bytes cut]"), "{e}");
    }

    #[test]
    fn records_file_matches_records_as_a_multiset_leaving_ignored_fields_out() {
        let files = HashMap::from([(
            "exp.jsonl".to_string(),
            Arc::new(vec![
                json!({"id": 1, "at": "x"}),
                json!({"id": 2, "at": "y"}),
            ]),
        )]);
        let eval = Eval::new(&files);
        let pred = p("records_file: {path: exp.jsonl, ignored_fields: [at]}");
        let read = json!([{"id": 2, "at": "later"}, {"id": 1, "at": "later"}]);
        eval.check(&pred, Some(&read)).unwrap();
        let extra = json!([{"id": 2}, {"id": 1}, {"id": 3}]);
        let e = eval.check(&pred, Some(&extra)).unwrap_err();
        assert!(
            e.contains("1 record(s) came that the file does not hold (the first: {\"id\":3})"),
            "{e}"
        );
        let lenient =
            p("records_file: {path: exp.jsonl, ignored_fields: [at], extra_records: true}");
        eval.check(&lenient, Some(&extra)).unwrap();
        let e = eval.check(&lenient, Some(&json!([{"id": 1}]))).unwrap_err();
        assert!(
            e.contains("1 of them did not come (the first: line 2 {\"at\":\"y\",\"id\":2})"),
            "{e}"
        );
    }
}
