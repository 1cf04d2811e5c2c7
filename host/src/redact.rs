//! Keeps secret config values out of everything ctest prints or writes.
//!
//! A value is secret when the spec marks its property secret, or when the
//! property's name looks like a secret (so a connector that forgot to mark its
//! password still does not leak it). Every message and log line passes through
//! [`Redactor::redact`] before it reaches a reporter.

use serde_json::Value;

use crate::schema;

pub const MASK: &str = "**********";

/// Secrets shorter than this are not masked: masking one or two characters
/// everywhere would garble every message without protecting anything real.
const MIN_SECRET_LEN: usize = 3;

#[derive(Debug, Default, Clone)]
pub struct Redactor {
    /// Longest first, so that a secret containing another is masked whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// Collects the secret values of `config`, guided by the spec's schema when
    /// there is one.
    pub fn new(config: &Value, spec_schema: Option<&Value>) -> Self {
        let mut secrets = Vec::new();
        if let Some(schema) = spec_schema {
            for path in schema::secret_paths(schema) {
                collect_at(config, &path, &mut secrets);
            }
        }
        collect_by_name(config, &mut secrets);
        secrets.retain(|s| s.len() >= MIN_SECRET_LEN);
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        secrets.dedup();
        // A secret also appears JSON-escaped inside JSON text.
        let escaped: Vec<String> = secrets
            .iter()
            .filter_map(|s| {
                let quoted = serde_json::to_string(s).ok()?;
                let inner = quoted[1..quoted.len() - 1].to_string();
                (inner != *s).then_some(inner)
            })
            .collect();
        secrets.extend(escaped);
        // And URL-encoded inside a query string or a form body.
        let encoded: Vec<String> = secrets
            .iter()
            .flat_map(|s| {
                let form: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
                let percent = form.replace('+', "%20");
                [form, percent]
            })
            .filter(|e| !secrets.contains(e))
            .collect();
        secrets.extend(encoded);
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        secrets.dedup();
        Redactor { secrets }
    }

    /// Adds another redactor's secrets.
    pub fn extend(&mut self, other: Redactor) {
        self.secrets.extend(other.secrets);
        self.secrets
            .sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        self.secrets.dedup();
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        out
    }
}

fn push_value(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|v| push_value(v, out)),
        Value::Object(map) => map.values().for_each(|v| push_value(v, out)),
        Value::Bool(_) | Value::Null => {}
    }
}

/// The value at `path` (property names; `*` for every array item).
fn collect_at(value: &Value, path: &[String], out: &mut Vec<String>) {
    let Some((first, rest)) = path.split_first() else {
        push_value(value, out);
        return;
    };
    match value {
        Value::Object(map) => {
            if let Some(v) = map.get(first) {
                collect_at(v, rest, out);
            }
        }
        Value::Array(items) if first == "*" => {
            items.iter().for_each(|v| collect_at(v, rest, out));
        }
        _ => {}
    }
}

fn collect_by_name(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if schema::looks_secret(key) && !v.is_object() {
                    push_value(v, out);
                } else {
                    collect_by_name(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_by_name(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_marked_and_secret_looking_values() {
        let schema = json!({
            "type": "object",
            "properties": {
                "key": {"type": "string", "secret": true},
                "nested": {"type": "object", "properties": {"pin": {"type": "string", "airbyte_secret": true}}},
                "name": {"type": "string"}
            }
        });
        let config = json!({
            "key": "k-123456",
            "nested": {"pin": "9876"},
            "password": "hunter22",
            "name": "visible"
        });
        let r = Redactor::new(&config, Some(&schema));
        let out = r.redact("k-123456 9876 hunter22 visible");
        assert_eq!(out, format!("{MASK} {MASK} {MASK} visible"));
    }

    #[test]
    fn masks_json_escaped_forms() {
        let config = json!({"password": "a\"b\\c"});
        let r = Redactor::new(&config, None);
        let as_json = serde_json::to_string(&config).unwrap();
        assert!(!r.redact(&as_json).contains("a\\\"b"));
    }
}
