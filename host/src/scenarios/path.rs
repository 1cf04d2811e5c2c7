//! Paths into an operation's result: names and indexes joined by dots
//! (`streams.0.name`), `*` for every element of a list (or value of an
//! object), a name holding dots in double quotes (`records."public.users"`),
//! and `$` for the whole result. A path that leads nowhere is missing, which
//! is not `null`.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// An object's key, or a list's index when it is a number.
    Key(String),
    /// Every element of a list, or every value of an object.
    All,
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    pub text: String,
    pub segments: Vec<Segment>,
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Parses `text`; `Err` says what is wrong with it.
pub fn parse(text: &str) -> Result<Path, String> {
    let path = Path {
        text: text.to_string(),
        segments: Vec::new(),
    };
    if text == "$" {
        return Ok(path);
    }
    if text.is_empty() {
        return Err("the path is empty (use `$` for the whole result)".into());
    }
    let mut segments = Vec::new();
    let mut rest = text;
    loop {
        let (segment, after) = if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or_else(|| format!("path `{text}`: a quoted name is not closed with `\"`"))?;
            (Segment::Key(quoted[..end].to_string()), &quoted[end + 1..])
        } else {
            let end = rest.find('.').unwrap_or(rest.len());
            let name = &rest[..end];
            if name.is_empty() {
                return Err(format!(
                    "path `{text}` has an empty name (two dots, or a dot at an end)"
                ));
            }
            let segment = if name == "*" {
                Segment::All
            } else {
                Segment::Key(name.to_string())
            };
            (segment, &rest[end..])
        };
        segments.push(segment);
        if after.is_empty() {
            break;
        }
        rest = after.strip_prefix('.').ok_or_else(|| {
            format!("path `{text}`: expected `.` after a quoted name, found `{after}`")
        })?;
        if rest.is_empty() {
            return Err(format!("path `{text}` ends with a dot"));
        }
    }
    Ok(Path {
        text: text.to_string(),
        segments,
    })
}

impl Path {
    /// What the path leads to in `root`: `None` when it leads nowhere. A path
    /// with `*` leads to the list of what each element leads to (those that
    /// lead nowhere left out).
    pub fn resolve(&self, root: &Value) -> Option<Value> {
        resolve(root, &self.segments)
    }

    pub fn has_wildcard(&self) -> bool {
        self.segments.contains(&Segment::All)
    }
}

fn resolve(value: &Value, segments: &[Segment]) -> Option<Value> {
    let Some((first, rest)) = segments.split_first() else {
        return Some(value.clone());
    };
    match first {
        Segment::Key(key) => resolve(step(value, key)?, rest),
        Segment::All => {
            let items: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                Value::Object(map) => map.values().collect(),
                _ => return None,
            };
            Some(Value::Array(
                items
                    .into_iter()
                    .filter_map(|item| resolve(item, rest))
                    .collect(),
            ))
        }
    }
}

/// One step down: an object's key, or a list's index.
fn step<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
    match value {
        Value::Object(map) => map.get(key),
        Value::Array(items) => {
            let index: i64 = key.parse().ok()?;
            // A negative index counts from the end: `-1` is the last.
            let at = if index < 0 {
                items.len().checked_sub(index.unsigned_abs() as usize)?
            } else {
                index as usize
            };
            items.get(at)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_lead_to_values_and_a_missing_value_is_not_null() {
        let doc = json!({
            "streams": [{"name": "customers", "key": null}, {"name": "invoices"}],
            "records": {"public.users": [{"id": 1}]}
        });
        let at = |p: &str| parse(p).unwrap().resolve(&doc);
        assert_eq!(at("streams.0.name"), Some(json!("customers")));
        assert_eq!(at("streams.-1.name"), Some(json!("invoices")));
        assert_eq!(at("streams.0.key"), Some(Value::Null));
        assert_eq!(at("streams.1.key"), None);
        assert_eq!(at("streams.9"), None);
        assert_eq!(at("streams.*.name"), Some(json!(["customers", "invoices"])));
        assert_eq!(at("streams.*.key"), Some(json!([null])));
        assert_eq!(at("records.\"public.users\".0.id"), Some(json!(1)));
        assert_eq!(at("$"), Some(doc.clone()));
        assert_eq!(at("streams.0.name.x"), None);
    }

    #[test]
    fn a_malformed_path_is_refused_with_why() {
        for (bad, says) in [
            ("", "empty"),
            ("a..b", "empty name"),
            ("a.", "ends with a dot"),
            ("\"a", "not closed"),
            ("\"a\"b", "expected `.`"),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
