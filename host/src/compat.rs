//! Breaking changes between two JSON Schemas (a connector's previous and new
//! config spec, or a stream's previous and new schema), as readable findings.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::schema;

/// Every declared property by its dotted path (`*` for array items).
pub fn properties(schema: &Value) -> BTreeMap<String, &Value> {
    // `walk_properties` hands out borrows of `schema` through a `&Value` whose
    // lifetime the callback cannot name; collect paths, then look them up.
    let mut paths = Vec::new();
    schema::walk_properties(schema, &mut |path, name, _| {
        let mut p = path.to_vec();
        p.push(name.to_string());
        paths.push(p);
    });
    paths
        .into_iter()
        .filter_map(|p| Some((p.join("."), lookup(schema, &p)?)))
        .collect()
}

/// The schema at a property path, descending `properties`, `items` (`*`) and
/// combinators.
fn lookup<'a>(schema: &'a Value, path: &[String]) -> Option<&'a Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(schema);
    };
    let obj = schema.as_object()?;
    if first == "*"
        && let Some(items) = obj.get("items")
    {
        return lookup(items, rest);
    }
    if let Some(sub) = obj.get("properties").and_then(|p| p.get(first))
        && let Some(found) = lookup(sub, rest)
    {
        return Some(found);
    }
    ["oneOf", "anyOf", "allOf"]
        .iter()
        .filter_map(|k| obj.get(*k).and_then(Value::as_array))
        .flatten()
        .find_map(|option| lookup(option, path))
}

fn required(schema: &Value) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn label(path: &str) -> String {
    if path.is_empty() {
        "the root".into()
    } else {
        format!("`{path}`")
    }
}

/// Fields that became required: a config valid before may now be refused.
pub fn added_required(old: &Value, new: &Value) -> Vec<String> {
    let mut objects: Vec<(String, &Value, &Value)> = vec![(String::new(), old, new)];
    let (old_props, new_props) = (properties(old), properties(new));
    for (path, o) in &old_props {
        if let Some(n) = new_props.get(path) {
            objects.push((path.clone(), o, n));
        }
    }
    let mut out = Vec::new();
    for (path, o, n) in objects {
        let before = required(o);
        for field in required(n).into_iter().filter(|f| !before.contains(f)) {
            let full = if path.is_empty() {
                field.to_string()
            } else {
                format!("{path}.{field}")
            };
            out.push(format!("`{full}` is now required (in {})", label(&path)));
        }
    }
    out
}

/// Properties of the old schema that the new one lacks (removed or renamed).
pub fn removed_properties(old: &Value, new: &Value) -> Vec<String> {
    let (old_props, new_props) = (properties(old), properties(new));
    let added: Vec<String> = new_props
        .keys()
        .filter(|n| !old_props.contains_key(*n))
        .map(|a| format!("`{a}`"))
        .collect();
    let hint = if added.is_empty() {
        String::new()
    } else {
        format!(" (new: {})", added.join(", "))
    };
    old_props
        .keys()
        .filter(|p| !new_props.contains_key(*p))
        .map(|p| format!("`{p}` was removed or renamed{hint}"))
        .collect()
}

/// Properties whose accepted values shrank: a type dropped, or an enum narrowed.
pub fn narrowed_types(old: &Value, new: &Value) -> Vec<String> {
    let new_props = properties(new);
    let mut out = Vec::new();
    for (path, o) in properties(old) {
        let Some(n) = new_props.get(&path) else {
            continue;
        };
        let (ot, nt) = (schema::declared_types(o), schema::declared_types(n));
        // No `type` accepts every type.
        let lost: Vec<&str> = if nt.is_empty() {
            Vec::new()
        } else if ot.is_empty() {
            vec!["any type"]
        } else {
            ot.iter()
                .copied()
                .filter(|t| !schema::types_accept(&nt, t))
                .collect()
        };
        if !lost.is_empty() {
            out.push(format!(
                "`{path}`: type {} became {} (no longer accepts {})",
                type_list(&ot),
                type_list(&nt),
                lost.join(", ")
            ));
        }
        match (
            o.get("enum").and_then(Value::as_array),
            n.get("enum").and_then(Value::as_array),
        ) {
            (Some(before), Some(after)) => {
                let dropped: Vec<String> = before
                    .iter()
                    .filter(|v| !after.contains(v))
                    .map(Value::to_string)
                    .collect();
                if !dropped.is_empty() {
                    out.push(format!(
                        "`{path}`: the enum no longer allows {}",
                        dropped.join(", ")
                    ));
                }
            }
            (None, Some(after)) => out.push(format!(
                "`{path}`: now limited to the enum {}",
                Value::Array(after.clone())
            )),
            _ => {}
        }
        out.extend(narrowed_bounds(&path, o, n));
    }
    out
}

/// Bounds that accept less than before: a lower bound raised or added, an
/// upper bound lowered or added, a `pattern` or `format` added or changed.
fn narrowed_bounds(path: &str, o: &Value, n: &Value) -> Vec<String> {
    let num = |s: &Value, k: &str| s.get(k).and_then(Value::as_f64);
    let mut out = Vec::new();
    for (key, lower) in [
        ("minimum", true),
        ("exclusiveMinimum", true),
        ("minLength", true),
        ("minItems", true),
        ("minProperties", true),
        ("maximum", false),
        ("exclusiveMaximum", false),
        ("maxLength", false),
        ("maxItems", false),
        ("maxProperties", false),
    ] {
        let narrower = match (num(o, key), num(n, key)) {
            (None, Some(_)) => true,
            (Some(a), Some(b)) if lower => b > a,
            (Some(a), Some(b)) => b < a,
            _ => false,
        };
        if narrower {
            out.push(format!(
                "`{path}`: `{key}` went from {} to {}",
                o.get(key).map_or("none".into(), Value::to_string),
                n.get(key).map_or("none".into(), Value::to_string)
            ));
        }
    }
    for key in ["pattern", "format"] {
        if let Some(after) = n.get(key)
            && o.get(key) != Some(after)
        {
            out.push(format!(
                "`{path}`: `{key}` went from {} to {after}",
                o.get(key).map_or("none".into(), Value::to_string)
            ));
        }
    }
    out
}

/// A stream's fields whose type widened, or whose `airbyte_type` changed: no
/// value is refused, but a destination typed its column from the old type
/// (integer to number changes an `INTEGER` column's values).
pub fn changed_field_types(old: &Value, new: &Value) -> Vec<String> {
    let new_props = properties(new);
    properties(old)
        .into_iter()
        .filter_map(|(path, o)| {
            let n = new_props.get(&path)?;
            let (a, b) = (field_kind(o), field_kind(n));
            // Narrowing (and format changes) are `narrowed_types`' findings;
            // here, what accepts as much as before yet types a column anew.
            let widened = a.0 != b.0
                && !a.0.is_empty()
                && !b.0.is_empty()
                && a.0.iter().all(|t| schema::types_accept(&b.0, t));
            (widened || a.2 != b.2).then(|| {
                format!(
                    "`{path}`: type {} became {}, which changes the type of a destination's column",
                    describe(&a),
                    describe(&b)
                )
            })
        })
        .collect()
}

/// What a destination types a column from: the declared types (null aside),
/// the format and the `airbyte_type`.
type FieldKind<'a> = (Vec<&'a str>, Option<Value>, Option<Value>);

fn field_kind(s: &Value) -> FieldKind<'_> {
    let mut t: Vec<&str> = schema::declared_types(s)
        .into_iter()
        .filter(|t| *t != "null")
        .collect();
    t.sort_unstable();
    (t, s.get("format").cloned(), s.get("airbyte_type").cloned())
}

fn describe((types, format, airbyte): &FieldKind<'_>) -> String {
    let mut d = type_list(types);
    if let Some(f) = format {
        d.push_str(&format!(" (format {f})"));
    }
    if let Some(a) = airbyte {
        d.push_str(&format!(" (airbyte_type {a})"));
    }
    d
}

/// `schema` with its local `$ref`s (`#/definitions/...`, `#/$defs/...`)
/// replaced by what they point to, so that a property moved into a definition
/// compares as itself. A reference on its own path again (recursion) is left
/// as it is, and so is everything past a depth of 16.
pub fn resolve_local_refs(schema: &Value) -> Value {
    fn resolve(root: &Value, node: &Value, stack: &mut Vec<String>) -> Value {
        match node {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref")
                    && let Some(pointer) = r.strip_prefix('#')
                    && !stack.contains(r)
                    && stack.len() < 16
                    && let Some(target) = root.pointer(pointer)
                {
                    stack.push(r.clone());
                    let mut resolved = resolve(root, target, stack);
                    stack.pop();
                    // Keywords beside the `$ref` (a description, a default) stay.
                    if let Value::Object(out) = &mut resolved {
                        for (k, v) in map {
                            if k != "$ref" {
                                out.insert(k.clone(), resolve(root, v, stack));
                            }
                        }
                    }
                    return resolved;
                }
                Value::Object(
                    map.iter()
                        .map(|(k, v)| (k.clone(), resolve(root, v, stack)))
                        .collect(),
                )
            }
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| resolve(root, v, stack)).collect())
            }
            other => other.clone(),
        }
    }
    resolve(schema, schema, &mut Vec::new())
}

fn type_list(types: &[&str]) -> String {
    if types.is_empty() {
        "any".into()
    } else {
        types.join(" or ")
    }
}

/// Properties whose default changed (a config relying on it changes meaning).
pub fn changed_defaults(old: &Value, new: &Value) -> Vec<String> {
    let new_props = properties(new);
    properties(old)
        .into_iter()
        .filter_map(|(path, o)| {
            let n = new_props.get(&path)?;
            let (a, b) = (o.get("default"), n.get("default"));
            (a.is_some() && a != b).then(|| {
                format!(
                    "`{path}`: the default changed from {} to {}",
                    a.map_or("none".into(), Value::to_string),
                    b.map_or("none".into(), Value::to_string)
                )
            })
        })
        .collect()
}

/// A config that the schema accepts, using every top-level property: its
/// default, else its first example or enum value, else a value of its type.
pub fn sample_config(spec: &Value) -> Value {
    fn sample(schema: &Value) -> Value {
        if let Some(v) = schema.get("default") {
            return v.clone();
        }
        if let Some(v) = schema
            .get("examples")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
        {
            return v.clone();
        }
        if let Some(v) = schema
            .get("enum")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
        {
            return v.clone();
        }
        let minimum = schema
            .get("minimum")
            .and_then(Value::as_f64)
            .unwrap_or(1.0)
            .max(1.0);
        // A string in its declared format, which the previous spec checks.
        let formatted = match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => Some("2024-01-01T00:00:00Z"),
            Some("date") => Some("2024-01-01"),
            Some("time") => Some("00:00:00Z"),
            Some("email") => Some("ctest@example.com"),
            Some("uri" | "url" | "uri-reference" | "iri") => Some("https://example.com/"),
            Some("hostname") => Some("example.com"),
            Some("ipv4") => Some("192.0.2.1"),
            Some("ipv6") => Some("2001:db8::1"),
            Some("uuid") => Some("00000000-0000-4000-8000-000000000000"),
            _ => None,
        };
        match schema::declared_types(schema)
            .iter()
            .find(|t| **t != "null")
        {
            Some(&"integer") => Value::from(minimum as i64),
            Some(&"number") => Value::from(minimum),
            Some(&"boolean") => Value::Bool(true),
            Some(&"array") => Value::Array(Vec::new()),
            Some(&"object") => {
                let mut map = Map::new();
                if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                    for (k, v) in props {
                        map.insert(k.clone(), sample(v));
                    }
                }
                Value::Object(map)
            }
            _ => Value::from(formatted.unwrap_or("ctest-sample")),
        }
    }
    let mut config = Map::new();
    if let Some(props) = spec.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            config.insert(k.clone(), sample(v));
        }
    }
    Value::Object(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn old() -> Value {
        json!({"type": "object", "required": ["count"], "properties": {
            "count": {"type": "integer", "default": 10},
            "mode": {"type": "string", "enum": ["a", "b"]},
            "auth": {"type": "object", "required": ["user"], "properties": {
                "user": {"type": "string"}, "token": {"type": "string"}
            }},
            "ratio": {"type": ["number", "null"]}
        }})
    }

    #[test]
    fn an_identical_schema_has_no_breaking_change() {
        let s = old();
        assert!(added_required(&s, &s).is_empty());
        assert!(removed_properties(&s, &s).is_empty());
        assert!(narrowed_types(&s, &s).is_empty());
        assert!(changed_defaults(&s, &s).is_empty());
    }

    #[test]
    fn each_kind_of_breaking_change_is_found() {
        let mut new = old();
        new["properties"]["auth"]["required"] = json!(["user", "token"]);
        new["required"] = json!(["count", "region"]);
        new["properties"]["region"] = json!({"type": "string"});
        new["properties"]["mode"]["enum"] = json!(["a"]);
        new["properties"]["ratio"]["type"] = json!("integer");
        new["properties"]["count"]["default"] = json!(20);
        new["properties"].as_object_mut().unwrap().remove("auth");
        new["properties"]["credentials"] = json!({"type": "object"});
        let o = old();
        assert_eq!(
            added_required(&o, &new),
            ["`region` is now required (in the root)"]
        );
        let removed = removed_properties(&o, &new);
        assert!(
            removed
                .iter()
                .any(|r| r.starts_with("`auth` was removed or renamed")
                    && r.contains("`credentials`")),
            "{removed:?}"
        );
        assert!(
            removed.iter().any(|r| r.starts_with("`auth.token`")),
            "{removed:?}"
        );
        let narrowed = narrowed_types(&o, &new);
        assert!(
            narrowed.contains(&"`mode`: the enum no longer allows \"b\"".to_string()),
            "{narrowed:?}"
        );
        assert!(
            narrowed
                .iter()
                .any(|n| n.starts_with("`ratio`: type number or null became integer")),
            "{narrowed:?}"
        );
        assert_eq!(
            changed_defaults(&o, &new),
            ["`count`: the default changed from 10 to 20"]
        );
    }

    #[test]
    fn widening_is_not_breaking() {
        let mut new = old();
        new["properties"]["count"]["type"] = json!("number");
        new["properties"]["mode"]
            .as_object_mut()
            .unwrap()
            .remove("enum");
        new["properties"]["extra"] = json!({"type": "string"});
        assert!(narrowed_types(&old(), &new).is_empty());
        assert!(removed_properties(&old(), &new).is_empty());
    }

    #[test]
    fn the_sample_config_is_valid_for_its_schema() {
        let o = old();
        let config = sample_config(&o);
        assert!(jsonschema::draft7::is_valid(&o, &config), "{config}");
        assert_eq!(config["count"], json!(10));
        assert_eq!(config["mode"], json!("a"));
    }
}
