//! JSON Schema helpers shared by the suites: compiling and meta-validating
//! schemas, finding secret properties, walking declared fields, and deriving
//! invalid configs from a spec.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::checks::doc::{Kind, Tree};

/// Why a schema is not usable, with the JSON path of the problem.
pub fn schema_problem(schema: &Value) -> Option<String> {
    if !schema.is_object() && !schema.is_boolean() {
        return Some(format!(
            "a JSON Schema must be an object, found {}",
            kind_of(schema)
        ));
    }
    if let Err(e) = jsonschema::draft7::meta::validate(schema) {
        return Some(format!(
            "at `{}`: {} (meta-schema rule {})",
            pointer_or_root(e.instance_path().as_str()),
            e,
            e.schema_path().as_str()
        ));
    }
    if let Some(problem) = complexity_problem(schema) {
        return Some(problem);
    }
    if let Err(e) = validator(schema) {
        return Some(format!("it does not compile: {e}"));
    }
    None
}

/// The most schema nodes one validation may visit, counting each `$ref`
/// followed as a copy of its target: a bound on the work per record.
/// Real schemas stay in the thousands; an `allOf` of two references to a
/// schema that does the same, thirty deep, is a billion.
pub const MAX_SCHEMA_NODES: usize = 100_000;

/// The longest `pattern` (or `patternProperties` key) compiled.
pub const MAX_PATTERN_LEN: usize = 1_000;

/// Why validating against `schema` could cost without bound: `$ref`/`allOf`
/// fan-out past [`MAX_SCHEMA_NODES`], or a pattern past [`MAX_PATTERN_LEN`].
/// Local references (`#/definitions/...`, `#/$defs/...`) are followed, each
/// once per path (a recursive schema is bounded by the record's depth).
pub fn complexity_problem(schema: &Value) -> Option<String> {
    fn visit<'a>(
        root: &'a Value,
        node: &'a Value,
        at: &str,
        stack: &mut Vec<&'a str>,
        count: &mut usize,
    ) -> Result<(), String> {
        *count += 1;
        if *count > MAX_SCHEMA_NODES {
            return Err(format!(
                "validating against it would visit more than {MAX_SCHEMA_NODES} schema nodes per record (`$ref`/`allOf` fan-out, here at `{}`)",
                pointer_or_root(at)
            ));
        }
        match node {
            Value::Object(map) => {
                if let Some(Value::String(p)) = map.get("pattern")
                    && p.len() > MAX_PATTERN_LEN
                {
                    return Err(format!(
                        "the pattern at `{at}/pattern` is {} characters long (at most {MAX_PATTERN_LEN})",
                        p.len()
                    ));
                }
                if let Some(Value::Object(props)) = map.get("patternProperties")
                    && let Some(long) = props.keys().find(|k| k.len() > MAX_PATTERN_LEN)
                {
                    return Err(format!(
                        "a pattern of `{at}/patternProperties` is {} characters long (at most {MAX_PATTERN_LEN})",
                        long.len()
                    ));
                }
                if let Some(Value::String(r)) = map.get("$ref")
                    && let Some(pointer) = r.strip_prefix('#')
                    && !stack.contains(&r.as_str())
                    && let Some(target) = root.pointer(pointer)
                {
                    stack.push(r);
                    visit(root, target, &format!("{at}/$ref"), stack, count)?;
                    stack.pop();
                }
                for (k, v) in map {
                    // Definitions are visited where they are referenced.
                    if k == "definitions"
                        || k == "$defs"
                        || k == "enum"
                        || k == "const"
                        || k == "default"
                        || k == "examples"
                    {
                        continue;
                    }
                    visit(root, v, &format!("{at}/{k}"), stack, count)?;
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    visit(root, v, &format!("{at}/{i}"), stack, count)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
    let mut count = 0;
    visit(schema, schema, "", &mut Vec::new(), &mut count).err()
}

/// A draft 7 validator of `schema`, with patterns under a backtracking limit
/// (patterns without look-around or back-references run on the linear-time
/// `regex` engine; the others stop after a bounded number of steps).
pub fn validator(schema: &Value) -> Result<jsonschema::Validator, String> {
    base_options().build(schema).map_err(|e| e.to_string())
}

fn base_options() -> jsonschema::ValidationOptions<'static> {
    base_options_for()
}

/// [`base_options`] for validating instances of the representation `F`.
fn base_options_for<F: jsonschema::json::Json>()
-> jsonschema::ValidationOptions<'static, std::sync::Arc<dyn jsonschema::Retrieve>, F> {
    jsonschema::options_for::<F>()
        .with_draft(jsonschema::Draft::Draft7)
        .with_pattern_options(
            jsonschema::PatternOptions::fancy_regex()
                .backtrack_limit(100_000)
                .size_limit(4 << 20),
        )
}

pub fn pointer_or_root(p: &str) -> &str {
    if p.is_empty() { "/" } else { p }
}

/// A value's JSON type in words, for messages ("an integer", "null").
pub(crate) fn kind_of<'a>(v: impl Tree<'a>) -> &'static str {
    match v.kind() {
        Kind::Null => "null",
        Kind::Bool(_) => "a boolean",
        Kind::Number(n) if n.is_f64() => "a number",
        Kind::Number(_) => "an integer",
        Kind::Str(_) => "a string",
        Kind::Array(_) => "an array",
        Kind::Object(_) => "an object",
    }
}

/// The JSON type of a value as a schema names it (`integer` for a number
/// without a fraction part).
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The words of a property name: split at `_`, `-`, `.`, spaces and
/// lower-to-upper case changes (`privateKey`, `private-key` and `PRIVATE_KEY`
/// are all `private key`), lowercase.
pub fn name_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Property names that usually hold credentials: a secret word (`password`,
/// `token`, `secret`, `dsn`, ...) or pair (`api key`, `private key`,
/// `connection string`, ...), unless the name ends in a word that says it
/// holds something else about the secret (`token_url`, `auth_type`,
/// `password_expires_at`).
pub fn looks_secret(name: &str) -> bool {
    let words = name_words(name);
    const NOT_SECRET_LAST: &[&str] = &[
        "url", "uri", "endpoint", "type", "method", "path", "name", "at", "expiry", "expires",
        "mode", "id", "count", "limit", "size", "length", "ttl", "header", "field", "prefix",
        "location", "file", "format", "kind", "enabled", "required",
    ];
    if words
        .last()
        .is_some_and(|w| NOT_SECRET_LAST.contains(&w.as_str()))
    {
        return false;
    }
    const WORDS: &[&str] = &[
        "password",
        "passwd",
        "passphrase",
        "pwd",
        "secret",
        "token",
        "apikey",
        "credential",
        "credentials",
        "dsn",
        "privatekey",
    ];
    const PAIRS: &[(&str, &str)] = &[
        ("api", "key"),
        ("private", "key"),
        ("access", "key"),
        ("auth", "key"),
        ("session", "key"),
        ("signing", "key"),
        ("secret", "key"),
        ("encryption", "key"),
        ("account", "key"),
        ("connection", "string"),
        ("conn", "string"),
        ("sas", "token"),
    ];
    words.iter().any(|w| WORDS.contains(&w.as_str()))
        || words
            .windows(2)
            .any(|p| PAIRS.contains(&(p[0].as_str(), p[1].as_str())))
}

/// Whether a property can hold a secret value: a string (or untyped)
/// property that is not an enumeration or a constant. An integer named
/// `max_tokens` or an enum named `credentials_mode` holds no secret.
pub fn can_hold_secret(schema: &Value) -> bool {
    let types = declared_types(schema);
    let stringy = types.is_empty() || types.contains(&"string");
    let container = types.iter().any(|t| *t == "object" || *t == "array")
        || schema.get("properties").is_some()
        || ["oneOf", "anyOf", "allOf"]
            .iter()
            .any(|k| schema.get(*k).is_some());
    stringy && !container && schema.get("enum").is_none() && schema.get("const").is_none()
}

pub fn is_marked_secret(schema: &Value) -> bool {
    let flag = |k: &str| schema.get(k).and_then(Value::as_bool).unwrap_or(false);
    flag("secret") || flag("airbyte_secret")
}

/// Calls `visit(path, property_name, property_schema)` for every property
/// declared in `schema`, descending into objects, arrays and combinators.
/// Array items appear as `*` in the path.
pub fn walk_properties(schema: &Value, visit: &mut dyn FnMut(&[String], &str, &Value)) {
    fn walk(
        schema: &Value,
        path: &mut Vec<String>,
        visit: &mut dyn FnMut(&[String], &str, &Value),
    ) {
        let Some(obj) = schema.as_object() else {
            return;
        };
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            for (name, sub) in props {
                visit(path, name, sub);
                path.push(name.clone());
                walk(sub, path, visit);
                path.pop();
            }
        }
        if let Some(items) = obj.get("items") {
            path.push("*".into());
            walk(items, path, visit);
            path.pop();
        }
        for key in ["oneOf", "anyOf", "allOf"] {
            if let Some(options) = obj.get(key).and_then(Value::as_array) {
                for option in options {
                    walk(option, path, visit);
                }
            }
        }
    }
    walk(schema, &mut Vec::new(), visit);
}

/// Paths of the properties marked secret.
pub fn secret_paths(schema: &Value) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    walk_properties(schema, &mut |path, name, sub| {
        if is_marked_secret(sub) {
            let mut p = path.to_vec();
            p.push(name.to_string());
            out.push(p);
        }
    });
    out
}

/// Secret-looking properties that are not marked secret, as dotted paths:
/// string properties (not enumerations) whose name [`looks_secret`].
pub fn unmarked_secrets(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk_properties(schema, &mut |path, name, sub| {
        if looks_secret(name) && can_hold_secret(sub) && !is_marked_secret(sub) {
            let mut p = path.to_vec();
            p.push(name.to_string());
            out.push(p.join("."));
        }
    });
    out
}

/// Paths of the properties whose values are secret by name: what
/// [`unmarked_secrets`] would flag, marked or not.
pub fn secret_looking_paths(schema: &Value) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    walk_properties(schema, &mut |path, name, sub| {
        if looks_secret(name) && can_hold_secret(sub) {
            let mut p = path.to_vec();
            p.push(name.to_string());
            out.push(p);
        }
    });
    out
}

/// Every subschema of `schema` (objects reachable through any keyword, the
/// root included), with its JSON pointer. `enum`, `const`, `default` and
/// `examples` hold values, not schemas, and are not entered.
fn subschemas<'a>(schema: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
    match schema {
        Value::Object(map) => {
            out.push((at.clone(), schema));
            for (k, v) in map {
                if matches!(k.as_str(), "enum" | "const" | "default" | "examples") {
                    continue;
                }
                subschemas(v, format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                subschemas(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Each `default` and each `examples` entry that its own subschema refuses,
/// with where and why (formats checked; local `$ref`s resolved against the
/// root's definitions).
pub fn invalid_defaults(schema: &Value) -> Vec<String> {
    let mut nodes = Vec::new();
    subschemas(schema, String::new(), &mut nodes);
    let mut out = Vec::new();
    for (at, node) in nodes {
        let mut values: Vec<(String, &Value)> = Vec::new();
        if let Some(d) = node.get("default") {
            values.push((format!("{at}/default"), d));
        }
        if let Some(Value::Array(examples)) = node.get("examples") {
            values.extend(
                examples
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (format!("{at}/examples/{i}"), e)),
            );
        }
        if values.is_empty() {
            continue;
        }
        let mut standalone = node.clone();
        if let Some(map) = standalone.as_object_mut() {
            for key in ["definitions", "$defs"] {
                if let Some(defs) = schema.get(key) {
                    map.entry(key).or_insert_with(|| defs.clone());
                }
            }
        }
        let Ok(validator) = base_options()
            .should_validate_formats(true)
            .build(&standalone)
        else {
            continue;
        };
        for (place, value) in values {
            if let Some(e) = validator.iter_errors(value).next() {
                out.push(format!(
                    "`{place}` = {}: {}",
                    crate::sandbox::clip_to(&value.to_string(), 80),
                    e.masked()
                ));
            }
        }
    }
    out
}

/// Names in a `required` list that no `properties` declares: the node's own,
/// or, for a node without `properties` (a `oneOf` branch that only requires),
/// the nearest enclosing object's. With the JSON pointer of the list.
pub fn undeclared_required(schema: &Value) -> Vec<String> {
    fn walk<'a>(
        node: &'a Value,
        at: &str,
        outer: Option<&'a serde_json::Map<String, Value>>,
        out: &mut Vec<String>,
    ) {
        match node {
            Value::Object(map) => {
                let props = map.get("properties").and_then(Value::as_object).or(outer);
                if let Some(Value::Array(required)) = map.get("required") {
                    for name in required.iter().filter_map(Value::as_str) {
                        if !props.is_some_and(|p| p.contains_key(name)) {
                            out.push(format!(
                                "`{name}` (in `{}`)",
                                pointer_or_root(&format!("{at}/required"))
                            ));
                        }
                    }
                }
                for (k, v) in map {
                    if matches!(
                        k.as_str(),
                        "enum" | "const" | "default" | "examples" | "required"
                    ) {
                        continue;
                    }
                    // Only a combinator's branches describe the same object.
                    let inner = match k.as_str() {
                        "oneOf" | "anyOf" | "allOf" | "if" | "then" | "else" | "not" => props,
                        _ => None,
                    };
                    match (k.as_str(), v) {
                        ("properties", Value::Object(ps)) => {
                            for (name, sub) in ps {
                                walk(sub, &format!("{at}/properties/{name}"), None, out);
                            }
                        }
                        _ => walk(v, &format!("{at}/{k}"), inner, out),
                    }
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, &format!("{at}/{i}"), outer, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(schema, "", None, &mut out);
    out
}

/// Secret properties (marked, or secret-looking) whose `default` or
/// `examples` hold a value that looks real rather than a placeholder, with
/// the path and the keyword.
pub fn secret_defaults(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk_properties(schema, &mut |path, name, sub| {
        if !(is_marked_secret(sub) || (looks_secret(name) && can_hold_secret(sub))) {
            return;
        }
        let mut p = path.to_vec();
        p.push(name.to_string());
        let at = p.join(".");
        if sub.get("default").is_some_and(looks_real) {
            out.push(format!("`{at}` has a `default`"));
        }
        if let Some(examples) = sub.get("examples").and_then(Value::as_array)
            && examples.iter().any(looks_real)
        {
            out.push(format!("`{at}` has `examples`"));
        }
    });
    out
}

/// Whether a secret's default or example looks like a real value rather
/// than a placeholder (`""`, `<your key>`, `xxxx`, `${API_KEY}`, `changeme`).
fn looks_real(value: &Value) -> bool {
    let Some(text) = value.as_str() else {
        return !value.is_null();
    };
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let placeholder = t.len() < 4
        || t.chars().all(|c| c == t.chars().next().unwrap_or(' '))
        || [
            "<",
            "{{",
            "${",
            "your",
            "example",
            "placeholder",
            "changeme",
            "redacted",
            "xxx",
            "***",
            "...",
        ]
        .iter()
        .any(|m| lower.contains(m));
    !placeholder
}

/// The declared types of a schema (`type` as a string or a list).
pub fn declared_types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether a list of declared types accepts values of type `t`: an integer is
/// also a number.
pub fn types_accept(types: &[&str], t: &str) -> bool {
    types.contains(&t) || (t == "integer" && types.contains(&"number"))
}

/// The schema of the field at `path` (top-level property first), if declared.
pub fn field_schema<'a>(schema: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut current = schema;
    for name in path {
        current = current.get("properties")?.get(name)?;
    }
    Some(current)
}

/// The validator for a stream's records: draft 7 with formats checked, where
/// `date-time` also takes the lenient forms Airbyte accepts (a space for `T`, no
/// zone meaning UTC) and `date` is a calendar date `YYYY-MM-DD`. email, ipv4,
/// ipv6 and uri are jsonschema's own checks.
pub fn record_validator(schema: &Value) -> Result<jsonschema::Validator, String> {
    record_validator_for(schema)
}

/// [`record_validator`] for instances of the representation `F` (the checks
/// validate records parsed into a [`crate::checks::doc::Doc`]).
pub(crate) fn record_validator_for<F: jsonschema::json::Json>(
    schema: &Value,
) -> Result<jsonschema::Validator<F>, String> {
    if let Some(problem) = complexity_problem(schema) {
        return Err(problem);
    }
    base_options_for::<F>()
        .with_keyword("airbyte_type", airbyte_type_keyword::<F>)
        .should_validate_formats(true)
        .with_format("date-time", crate::cursor::is_date_time)
        .with_format("date", crate::cursor::is_date)
        .with_format("email", |s: &str| {
            plain_email(s) || email_as_jsonschema_says(s)
        })
        .build(schema)
        .map_err(|e| e.to_string())
}

/// Whether `s` is an address of the plainest form, `name@host.tld`: a local
/// part of letters and digits with single `.`, `_`, `+` or `-` between them,
/// a host of two or more labels of letters and digits with single inner `-`,
/// an alphabetic top-level label, within the lengths of RFC 5321. Every such
/// address is valid by jsonschema's own `email` format (a test holds it
/// to that), and telling it takes one pass; any other text is left to
/// jsonschema ([`email_as_jsonschema_says`]).
pub(crate) fn plain_email(s: &str) -> bool {
    let Some((local, host)) = s.split_once('@') else {
        return false;
    };
    let Some((_, tld)) = host.rsplit_once('.') else {
        return false;
    };
    // Runs of letters and digits, each pair of runs joined by one of `joins`.
    let runs = |part: &str, joins: &[u8]| {
        let b = part.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.windows(2).all(|w| {
                w[0].is_ascii_alphanumeric()
                    && (w[1].is_ascii_alphanumeric() || joins.contains(&w[1]))
                    || joins.contains(&w[0]) && w[1].is_ascii_alphanumeric()
            })
    };
    s.len() <= 254
        && local.len() <= 64
        && host.len() <= 253
        && runs(local, b"._+-")
        && host.split('.').all(|l| l.len() <= 63 && runs(l, b"-"))
        && tld.len() >= 2
        && tld.bytes().all(|c| c.is_ascii_alphabetic())
}

/// jsonschema's own `email` format (draft 7), for the addresses
/// [`plain_email`] does not tell.
fn email_as_jsonschema_says(s: &str) -> bool {
    static EMAIL: std::sync::LazyLock<Option<jsonschema::Validator>> =
        std::sync::LazyLock::new(|| {
            base_options()
                .should_validate_formats(true)
                .build(&serde_json::json!({"format": "email"}))
                .ok()
        });
    EMAIL
        .as_ref()
        .is_some_and(|v| v.is_valid(&Value::String(s.to_owned())))
}

/// `airbyte_type: timestamp_with_timezone`: a date-time that says it carries
/// a time zone must have one (`Z` or an offset); the lenient `date-time`
/// format alone lets a zone-less value through. Other `airbyte_type`s are
/// annotations ctest does not check.
#[allow(clippy::type_complexity)]
fn airbyte_type_keyword<'a, F: jsonschema::json::Json>(
    _parent: &'a serde_json::Map<String, Value>,
    value: &'a Value,
    _at: jsonschema::paths::Location,
) -> Result<Box<dyn for<'i> jsonschema::Keyword<'i, F>>, jsonschema::ValidationError<'a>> {
    Ok(Box::new(AirbyteType {
        with_timezone: value.as_str() == Some("timestamp_with_timezone"),
    }))
}

struct AirbyteType {
    with_timezone: bool,
}

impl<'i, F: jsonschema::json::Json> jsonschema::Keyword<'i, F> for AirbyteType {
    fn validate(&self, instance: F::Node<'i>) -> Result<(), jsonschema::ValidationError<'i>> {
        if <Self as jsonschema::Keyword<'i, F>>::is_valid(self, instance) {
            Ok(())
        } else {
            Err(jsonschema::ValidationError::custom(
                "a `timestamp_with_timezone` value must carry its time zone (`Z` or an offset such as `+02:00`)",
            ))
        }
    }

    fn is_valid(&self, instance: F::Node<'i>) -> bool {
        use jsonschema::json::Node;
        match instance.as_string() {
            Some(text) if self.with_timezone => has_zone(&text),
            _ => true,
        }
    }
}

/// Whether a date-time text names its zone: `Z`, or `+hh:mm` / `-hh:mm` (or
/// without the colon) after the time of day.
pub fn has_zone(text: &str) -> bool {
    let Some(time) = text
        .get(10..)
        .map(|t| t.trim_start_matches(['T', 't', ' ']))
    else {
        return false;
    };
    time.ends_with(['Z', 'z']) || time.contains(['+', '-'])
}

/// The fields a stream's schema declares, as a tree, for finding undeclared
/// fields and non-integral integers in records quickly.
#[derive(Debug, Clone, Default)]
pub struct FieldTree {
    /// `None`: the object accepts any field (no `properties` declared).
    fields: Option<BTreeMap<String, FieldTree>>,
    /// The [`crate::checks::doc::head_of`] of each field's name, in the
    /// fields' order: most names pair by comparing these alone.
    heads: Vec<u64>,
    items: Option<Box<FieldTree>>,
    /// The schema allows integers and no other numbers here.
    integer: bool,
    /// An object valid against the schema has no field but the declared
    /// ones here: the validator surely applies this node (no `$ref` here or
    /// above it, whose siblings draft 7 ignores), which says
    /// `additionalProperties: false` beside its `properties`, with no
    /// `patternProperties` (a combinator's fields merged in make a tree
    /// that is not closed).
    closed: bool,
    /// In a record valid against the schema, nothing here or below can be
    /// a finding: no integer field, and every object closed.
    clean: bool,
}

impl FieldTree {
    pub fn from_schema(schema: &Value) -> FieldTree {
        FieldTree::from_node(schema, true)
    }

    /// `applied`: the validator surely applies `schema` where it stands.
    fn from_node(schema: &Value, applied: bool) -> FieldTree {
        let mut tree = FieldTree::default();
        let Some(obj) = schema.as_object() else {
            tree.clean = true;
            return tree;
        };
        let applied = applied && !obj.contains_key("$ref");
        let types = declared_types(schema);
        tree.integer = types.contains(&"integer") && !types.contains(&"number");
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            tree.fields = Some(
                props
                    .iter()
                    .map(|(k, v)| (k.clone(), FieldTree::from_node(v, applied)))
                    .collect(),
            );
        }
        if let Some(items) = obj.get("items") {
            tree.items = Some(Box::new(FieldTree::from_node(items, applied)));
        }
        tree.closed = applied
            && tree.fields.is_some()
            && obj.get("additionalProperties") == Some(&Value::Bool(false))
            && !obj.contains_key("patternProperties");
        // Combinators may declare further fields: accept them all rather than
        // report a field one of the options declares.
        for key in ["oneOf", "anyOf", "allOf"] {
            if let Some(options) = obj.get(key).and_then(Value::as_array) {
                // Only allOf's options surely apply to a valid record.
                for option in options {
                    tree.merge(FieldTree::from_node(option, applied && key == "allOf"));
                }
            }
        }
        tree.note_heads();
        tree.clean = !tree.integer
            && tree.items.as_ref().is_none_or(|t| t.clean)
            && tree
                .fields
                .as_ref()
                .is_none_or(|f| tree.closed && f.values().all(|t| t.clean));
        tree
    }

    fn note_heads(&mut self) {
        self.heads = self
            .fields
            .iter()
            .flatten()
            .map(|(name, _)| crate::checks::doc::head_of(name))
            .collect();
    }

    fn merge(&mut self, other: FieldTree) {
        if let Some(other_fields) = other.fields {
            let fields = self.fields.get_or_insert_with(BTreeMap::new);
            for (k, v) in other_fields {
                match fields.get_mut(&k) {
                    Some(existing) => existing.merge(v),
                    None => {
                        fields.insert(k, v);
                    }
                }
            }
        }
        if let Some(items) = other.items {
            match &mut self.items {
                Some(existing) => existing.merge(*items),
                None => self.items = Some(items),
            }
        }
        self.note_heads();
        // A merged tree holds what several nodes declare: nothing is known
        // of it from one node's validity.
        self.closed = false;
        self.clean = false;
    }

    /// Finds, in one walk of a record, the first field the schema does not
    /// declare and the first value where the schema wants an integer but the
    /// record has a number with a fraction part, even `.0`. (JSON Schema counts
    /// 1.0 as an integer; ctest is strict, as a typed destination would be.)
    /// Both as JSON pointers.
    pub(crate) fn inspect<'v>(&'v self, value: impl Tree<'v>) -> FieldFindings {
        let mut findings = FieldFindings::default();
        self.walk(value, &mut Vec::new(), &mut findings, false);
        findings
    }

    /// [`FieldTree::inspect`] of a record the schema's validator accepts:
    /// the same findings, looking only where validity leaves one possible
    /// (the integer fields, and objects not [`FieldTree::closed`]).
    pub(crate) fn inspect_valid<'v>(&'v self, value: impl Tree<'v>) -> FieldFindings {
        let mut findings = FieldFindings::default();
        self.walk(value, &mut Vec::new(), &mut findings, true);
        findings
    }

    /// `path`: where `value` is, written out as a JSON pointer only for a
    /// finding (a record without one costs no text). `valid`: the record is
    /// valid against the schema.
    fn walk<'v>(
        &'v self,
        value: impl Tree<'v>,
        path: &mut Vec<Step<'v>>,
        found: &mut FieldFindings,
        valid: bool,
    ) {
        if found.undeclared.is_some() && found.non_integer.is_some() || valid && self.clean {
            return;
        }
        match value.kind() {
            Kind::Number(n) if self.integer && n.is_f64() => {
                found.non_integer.get_or_insert_with(|| pointer(path));
            }
            Kind::Object(_) if valid && self.closed => {
                // Every field of the record is declared: only the fields
                // that may hold a finding are looked at.
                for ((name, sub), &head) in self.fields.iter().flatten().zip(&self.heads) {
                    if let (false, Some(v)) = (sub.clean, value.get_headed(name, head)) {
                        path.push(Step::Field(name));
                        sub.walk(v, path, found, valid);
                        path.pop();
                    }
                }
            }
            Kind::Object(_) => {
                let Some(fields) = &self.fields else { return };
                // Both in key order: the record's fields pair with the
                // declared ones in one pass, no lookup per field.
                let mut declared = fields.iter().zip(&self.heads).peekable();
                let sorted = maps_iterate_in_key_order();
                for (k, head, v) in value.members_headed() {
                    let sub = if sorted {
                        while declared
                            .next_if(|((name, _), h)| (**h, name.as_str()) < (head, k))
                            .is_some()
                        {}
                        declared
                            .peek()
                            .filter(|((name, _), h)| **h == head && *name == k)
                            .map(|((_, sub), _)| *sub)
                    } else {
                        fields.get(k)
                    };
                    path.push(Step::Field(k));
                    match sub {
                        None => {
                            found.undeclared.get_or_insert_with(|| pointer(path));
                        }
                        Some(sub) => sub.walk(v, path, found, valid),
                    }
                    path.pop();
                }
            }
            Kind::Array(_) => {
                let Some(sub) = &self.items else { return };
                for (i, v) in value.items().enumerate() {
                    path.push(Step::Item(i));
                    sub.walk(v, path, found, valid);
                    path.pop();
                }
            }
            _ => {}
        }
    }
}

/// Whether a JSON object's fields iterate in key order, as a `BTreeMap`'s
/// do (serde_json's maps, unless a crate turns on its `preserve_order`).
fn maps_iterate_in_key_order() -> bool {
    static SORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SORTED.get_or_init(|| {
        let mut map = serde_json::Map::new();
        for key in ["b", "c", "a"] {
            map.insert(key.into(), Value::Null);
        }
        map.keys().map(String::as_str).eq(["a", "b", "c"])
    })
}

/// One step of [`FieldTree::walk`]'s path: into a field, or an array item.
enum Step<'v> {
    Field(&'v str),
    Item(usize),
}

/// `path` as a JSON pointer.
fn pointer(path: &[Step<'_>]) -> String {
    let mut out = String::new();
    for step in path {
        out.push('/');
        match step {
            Step::Field(name) => push_escaped(&mut out, name),
            Step::Item(i) => out.push_str(&i.to_string()),
        }
    }
    out
}

/// Field paths in dotted form, `[]` standing for "each item of the array":
/// `address.city`, `line_items[].sku`.
impl FieldTree {
    /// Every field the schema declares, nested ones included.
    pub fn declared_paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_paths("", &mut out);
        out
    }

    fn collect_paths(&self, prefix: &str, out: &mut Vec<String>) {
        if let Some(fields) = &self.fields {
            for (name, sub) in fields {
                let path = join_path(prefix, name);
                sub.collect_paths(&path, out);
                out.push(path);
            }
        }
        if let Some(items) = &self.items {
            items.collect_paths(&format!("{prefix}[]"), out);
        }
    }

    /// Adds to `present` each declared field that holds a non-null value in
    /// `value`.
    pub(crate) fn mark_present<'v>(
        &self,
        value: impl Tree<'v>,
        present: &mut std::collections::HashSet<String>,
    ) {
        self.mark("", value, present);
    }

    fn mark<'v>(
        &self,
        prefix: &str,
        value: impl Tree<'v>,
        present: &mut std::collections::HashSet<String>,
    ) {
        match value.kind() {
            Kind::Object(_) => {
                let Some(fields) = &self.fields else { return };
                for (name, v) in value.members() {
                    if let (Some(sub), false) = (fields.get(name), v.is_null()) {
                        let path = join_path(prefix, name);
                        sub.mark(&path, v, present);
                        present.insert(path);
                    }
                }
            }
            Kind::Array(_) => {
                if let Some(sub) = &self.items {
                    let path = format!("{prefix}[]");
                    for v in value.items() {
                        sub.mark(&path, v, present);
                    }
                }
            }
            _ => {}
        }
    }
}

fn join_path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Removes the field at `path` (field names from the root) from a record, if
/// it is there. A name with `*` (any characters) or `?` (one) is a pattern
/// matching every field it fits, as in Airbyte's `ignored_fields`
/// (`properties/hs_time_*`); `*` alone is every field of an object or item of
/// a list; a number is an item of a list.
pub fn remove_at(value: &mut Value, path: &[String]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let pattern = first.contains(['*', '?']);
    match value {
        Value::Object(map) if pattern => {
            if rest.is_empty() {
                map.retain(|k, _| !wildcard_match(first, k));
            } else {
                map.iter_mut()
                    .filter(|(k, _)| wildcard_match(first, k))
                    .for_each(|(_, v)| remove_at(v, rest));
            }
        }
        Value::Object(map) if rest.is_empty() => {
            map.remove(first);
        }
        Value::Object(map) => {
            if let Some(next) = map.get_mut(first) {
                remove_at(next, rest);
            }
        }
        Value::Array(items) if first == "*" && rest.is_empty() => items.clear(),
        Value::Array(items) if first == "*" => items.iter_mut().for_each(|v| remove_at(v, rest)),
        Value::Array(items) => {
            let Ok(i) = first.parse::<usize>() else {
                return;
            };
            if rest.is_empty() {
                if i < items.len() {
                    items.remove(i);
                }
            } else if let Some(next) = items.get_mut(i) {
                remove_at(next, rest);
            }
        }
        _ => {}
    }
}

/// Whether `name` fits `pattern`, where `*` is any characters and `?` one.
/// Only the last `*` is retried, so the work is at most the product of the
/// two lengths (no exponential backtracking on hostile patterns).
pub fn wildcard_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

/// What [`FieldTree::inspect`] found in a record.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FieldFindings {
    pub undeclared: Option<String>,
    pub non_integer: Option<String>,
}

/// Appends `key` to a JSON pointer, escaped.
fn push_escaped(path: &mut String, key: &str) {
    for c in key.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
}

/// The values at `paths` in the JSON text `text`, each as [`value_at`]
/// finds it in the parsed text (`None` where it is absent; a field named
/// twice: its last value), building a `Value` only of those: the rest of
/// the text is checked as JSON and skipped. `Err` when the text is not JSON.
/// For a read that needs a record's cursor and key, not the record.
pub fn values_at(text: &str, paths: &[&[String]]) -> serde_json::Result<Vec<Option<Value>>> {
    let mut found = vec![None; paths.len()];
    let mut de = serde_json::Deserializer::from_str(text);
    let active: Vec<usize> = (0..paths.len()).collect();
    serde::de::DeserializeSeed::deserialize(
        Picker {
            paths,
            depth: 0,
            active: &active,
            found: &mut found,
        },
        &mut de,
    )?;
    de.end()?;
    Ok(found)
}

/// [`values_at`] at one place of the text: `active`, the paths that lead
/// through it (their first `depth` names led here).
struct Picker<'p, 'f> {
    paths: &'p [&'p [String]],
    depth: usize,
    active: &'p [usize],
    found: &'f mut Vec<Option<Value>>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Picker<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self
            .active
            .iter()
            .any(|&i| self.paths[i].len() == self.depth)
        {
            // A path ends here: this value whole, and the paths that go on
            // from it found in it.
            let value = <Value as serde::Deserialize>::deserialize(d)?;
            for &i in self.active {
                self.found[i] = value_at(&value, &self.paths[i][self.depth..]).cloned();
            }
            return Ok(());
        }
        d.deserialize_any(self)
    }
}

/// The visit methods of a visitor that keeps nothing of arrays and
/// scalars (each array item parsed by [`Skip`]).
macro_rules! keep_no_arrays_or_scalars {
    () => {
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(Skip)?.is_some() {}
            Ok(())
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
    };
}

/// A value [`values_at`] needs nothing of, parsed as strictly as into a
/// `Value` (numbers in range, strings valid, nesting within the parser's
/// limit) but kept nowhere: the text is JSON for one exactly when it is
/// for the other. (serde's `IgnoredAny` checks numbers and escapes less.)
struct Skip;

impl<'de> serde::de::DeserializeSeed<'de> for Skip {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Skip {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(SkipName)?.is_some() {
            map.next_value_seed(Skip)?;
        }
        Ok(())
    }
    keep_no_arrays_or_scalars!();
}

/// A field name [`Skip`] passes over, read as a string (escapes checked).
struct SkipName;

impl<'de> serde::de::DeserializeSeed<'de> for SkipName {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(Skip)
    }
}

/// A field's name in [`Picker`]'s object: `through` gets the active paths
/// that go on through it (compared in place, the name not copied).
struct FieldName<'p, 't> {
    paths: &'p [&'p [String]],
    depth: usize,
    active: &'p [usize],
    through: &'t mut Vec<usize>,
}

impl<'de> serde::de::DeserializeSeed<'de> for FieldName<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for FieldName<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E>(self, name: &str) -> Result<(), E> {
        self.through.clear();
        self.through.extend(
            self.active
                .iter()
                .copied()
                .filter(|&i| self.paths[i][self.depth] == name),
        );
        Ok(())
    }
}

impl<'de> serde::de::Visitor<'de> for Picker<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut through = Vec::new();
        while map
            .next_key_seed(FieldName {
                paths: self.paths,
                depth: self.depth,
                active: self.active,
                through: &mut through,
            })?
            .is_some()
        {
            if through.is_empty() {
                map.next_value_seed(Skip)?;
                continue;
            }
            // A field named again replaces what its first value gave.
            for &i in &through {
                self.found[i] = None;
            }
            map.next_value_seed(Picker {
                paths: self.paths,
                depth: self.depth + 1,
                active: &through,
                found: &mut *self.found,
            })?;
        }
        Ok(())
    }

    // Anything but an object has no fields: the paths end nowhere.
    keep_no_arrays_or_scalars!();
}

/// The value at a field path of a record.
pub(crate) fn value_at<'a, T: Tree<'a>>(record: T, path: &[String]) -> Option<T> {
    let mut current = record;
    for name in path {
        current = current.get(name)?;
    }
    Some(current)
}

/// Configs that violate the spec, each with a description: the valid config
/// with one required field removed, or one typed field given a wrong type.
pub fn configs_missing_required(spec: &Value, config: &Value) -> Vec<(String, Value)> {
    let Some(config) = config.as_object() else {
        return Vec::new();
    };
    spec.get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|field| {
            let mut broken: Map<String, Value> = config.clone();
            broken.remove(field);
            (
                format!("without the required field `{field}`"),
                Value::Object(broken),
            )
        })
        .collect()
}

pub fn configs_with_wrong_type(spec: &Value, config: &Value) -> Vec<(String, Value)> {
    let Some(config) = config.as_object() else {
        return Vec::new();
    };
    let Some(props) = spec.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (field, sub) in props {
        let types = declared_types(sub);
        if types.is_empty() || !config.contains_key(field) {
            continue;
        }
        // A value of a type the property does not allow.
        let candidates = [
            ("string", Value::String("ctest-not-a-valid-value".into())),
            ("integer", Value::from(-424242)),
            ("boolean", Value::Bool(true)),
            ("object", Value::Object(Map::new())),
            ("array", Value::Array(Vec::new())),
        ];
        let Some((kind, wrong)) = candidates.into_iter().find(|(kind, _)| {
            // An integer is a number: it would not be wrong where a number is expected.
            !types_accept(&types, kind)
        }) else {
            continue;
        };
        let mut broken = config.clone();
        broken.insert(field.clone(), wrong);
        out.push((
            format!(
                "with `{field}` set to {} ({kind}) where the spec says {}",
                broken[field],
                types.join(" or ")
            ),
            Value::Object(broken),
        ));
    }
    out
}

/// Configs that break one constraint the spec states besides type and
/// `required` (`minimum`, `maximum`, their exclusive forms, `minLength`,
/// `maxLength`, `pattern`, `format`, `enum`, `const`), each the valid config
/// with one property changed, described: for every property the spec
/// declares at the top level and in the nested objects the config sets.
/// Each is confirmed against the spec (formats asserted) to be invalid, and
/// keeps a type the property allows: a wrong type is
/// [`configs_with_wrong_type`]'s. Empty when `config` itself is invalid.
pub fn configs_breaking_constraints(spec: &Value, config: &Value) -> Vec<(String, Value)> {
    let Ok(check) = base_options().should_validate_formats(true).build(spec) else {
        return Vec::new();
    };
    if !check.is_valid(config) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut path = Vec::new();
    breaking_at(spec, config, config, &mut path, &check, &mut out);
    out
}

fn breaking_at(
    schema: &Value,
    at: &Value,
    config: &Value,
    path: &mut Vec<String>,
    check: &jsonschema::Validator,
    out: &mut Vec<(String, Value)>,
) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (field, sub) in props {
        path.push(field.clone());
        let types = declared_types(sub);
        // One config per constraint: the first candidate that breaks it.
        let mut done: Vec<String> = Vec::new();
        for (constraint, value) in breaking_values(sub) {
            let kind = json_type(&value);
            if done.contains(&constraint) || (!types.is_empty() && !types_accept(&types, kind)) {
                continue;
            }
            let mut broken = config.clone();
            let mut slot = &mut broken;
            for (i, name) in path.iter().enumerate() {
                let Some(map) = slot.as_object_mut() else {
                    break;
                };
                if i + 1 == path.len() {
                    map.insert(name.clone(), value.clone());
                    break;
                }
                slot = map.entry(name.clone()).or_insert(Value::Null);
            }
            if !check.is_valid(&broken) {
                done.push(constraint.clone());
                out.push((
                    format!(
                        "with `{}` set to {} (breaking its {constraint})",
                        path.join("."),
                        crate::sandbox::clip_to(&value.to_string(), 60)
                    ),
                    broken,
                ));
            }
        }
        if let Some(nested) = at.get(field).filter(|v| v.is_object()) {
            breaking_at(sub, nested, config, path, check, out);
        }
        path.pop();
    }
}

/// Values that break one constraint of a property's schema, each with the
/// constraint named.
fn breaking_values(sub: &Value) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = Vec::new();
    let integer = declared_types(sub).contains(&"integer");
    let number = |x: f64| {
        if integer && x.fract() == 0.0 && x.abs() < 9.0e15 {
            Value::from(x as i64)
        } else {
            Value::from(x)
        }
    };
    let bound = |key: &str| sub.get(key).and_then(Value::as_f64);
    if let Some(m) = bound("minimum") {
        let below = if integer { m.ceil() - 1.0 } else { m - 1.0 };
        out.push((format!("`minimum` {m}"), number(below)));
    }
    if let Some(m) = bound("exclusiveMinimum") {
        out.push((format!("`exclusiveMinimum` {m}"), number(m)));
    }
    if let Some(m) = bound("maximum") {
        let above = if integer { m.floor() + 1.0 } else { m + 1.0 };
        out.push((format!("`maximum` {m}"), number(above)));
    }
    if let Some(m) = bound("exclusiveMaximum") {
        out.push((format!("`exclusiveMaximum` {m}"), number(m)));
    }
    let length = |key: &str| sub.get(key).and_then(Value::as_u64);
    if let Some(n) = length("minLength").filter(|n| (1..=10_000).contains(n)) {
        out.push((
            format!("`minLength` {n}"),
            Value::from("x".repeat(n as usize - 1)),
        ));
    }
    if let Some(n) = length("maxLength").filter(|n| *n < 10_000) {
        out.push((
            format!("`maxLength` {n}"),
            Value::from("x".repeat(n as usize + 1)),
        ));
    }
    if let Some(p) = sub.get("pattern").and_then(Value::as_str) {
        // The first that does not match stays (the spec's validator decides).
        for candidate in ["ctest: not a match !", "", "0", "ctest"] {
            out.push((
                format!("`pattern` {}", crate::sandbox::clip_to(p, 60)),
                Value::from(candidate),
            ));
        }
    }
    if let Some(f) = sub.get("format").and_then(Value::as_str) {
        let bad = match f {
            "date-time" => "yesterday at noon",
            "date" => "2024-13-45",
            "time" => "25:99",
            "email" => "not-an-email",
            "uri" | "url" => "not a uri",
            "ipv4" => "999.1.1.1",
            "ipv6" => "not:an:ipv6",
            "hostname" => "-not a host-",
            "uuid" => "not-a-uuid",
            _ => "",
        };
        if !bad.is_empty() {
            out.push((format!("`format` {f}"), Value::from(bad)));
        }
    }
    if sub.get("enum").is_some() || sub.get("const").is_some() {
        let constraint = if sub.get("enum").is_some() {
            "`enum`"
        } else {
            "`const`"
        };
        let largest = sub
            .get("enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .chain(sub.get("const"))
            .filter_map(Value::as_f64)
            .fold(0.0f64, f64::max);
        for candidate in [
            Value::from("ctest-not-one-of-the-values"),
            number(largest.floor() + 1.0),
            Value::Bool(false),
        ] {
            out.push((constraint.to_string(), candidate));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    /// `values_at` finds what `value_at` finds in the parsed text, for
    /// nested paths, a path and one through it, fields named twice, escaped
    /// names, arrays and scalars on the way, and roots that are not
    /// objects; text that is not JSON is an error for both.
    #[test]
    fn values_at_finds_what_the_parsed_record_holds() {
        use super::{value_at, values_at};
        let path = |p: &str| -> Vec<String> {
            p.split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let paths: Vec<Vec<String>> = ["id", "a/b", "a", "a/b/c", "x/0", "ab", "k\"/y", "e"]
            .iter()
            .map(|p| path(p))
            .collect();
        let paths: Vec<&[String]> = paths.iter().map(Vec::as_slice).collect();
        let texts = [
            r#"{"id": 7, "a": {"b": {"c": "2024-01-01"}}, "x": [1, 2], "e": [{"id": 1}]}"#,
            r#"{"a": {"b": 1}, "a": 5, "id": "x"}"#,
            r#"{"a": 5, "a": {"b": {"c": null}}}"#,
            r#"{"a": {"b": 1, "b": {"c": true}}, "id": 1e300, "z": [1e-400]}"#,
            r#"{"a\u0062": 3, "a": {"\u0062": 4}, "k\"": {"y": -1.5}}"#,
            r#"{"id": {"deep": [[{"z": 1}]]}, "x": {"0": "zero"}}"#,
            r#"{}"#,
            r#"[1, {"id": 2}]"#,
            r#""text""#,
            r#"null"#,
            r#"12"#,
        ];
        for text in texts {
            let parsed: serde_json::Value = serde_json::from_str(text).unwrap();
            let expected: Vec<Option<serde_json::Value>> = paths
                .iter()
                .map(|p| value_at(&parsed, p).cloned())
                .collect();
            assert_eq!(values_at(text, &paths).unwrap(), expected, "{text}");
            // The empty path: the whole record.
            assert_eq!(values_at(text, &[&[]]).unwrap(), [Some(parsed)], "{text}");
        }
        let deep = format!("{{\"skip\": {}{}}}", "[".repeat(200), "]".repeat(200));
        for bad in [
            r#"{"skip": 1e400}"#,
            r#"{"id": 1e400}"#,
            r#"{"skip": "\ud800"}"#,
            r#"{"\ud800": 1}"#,
            r#"{"skip": "\x"}"#,
            "{\"skip\": \"\u{1}\"}",
            &deep,
            r#"{"id": 1"#,
            r#"{"id": 1} x"#,
            r#"{"id": tru}"#,
            r#"{"skipped": [1,]}"#,
            r#"{"a": {"b": 1,}}"#,
            "",
        ] {
            assert!(
                serde_json::from_str::<serde_json::Value>(bad).is_err(),
                "{bad}"
            );
            assert!(values_at(bad, &paths).is_err(), "{bad}");
        }
    }

    #[test]
    fn removing_fields_takes_airbyte_paths_patterns_and_indexes() {
        use serde_json::json;
        let path = |p: &str| p.split('/').map(str::to_string).collect::<Vec<_>>();
        let mut record = json!({
            "properties": {"hs_time_in_a": 1, "hs_time_in_b": 2, "name": "x"},
            "steps": [{"started_at": 1, "id": 1}, {"started_at": 2, "id": 2}],
            "charges": {"data": [{"receipt_url": "u", "amount": 3}]},
            "list": [10, 20, 30],
            "keep": true
        });
        for p in [
            "properties/hs_time_*",
            "steps/*/started_at",
            "charges/data/*/receipt_url",
            "list/1",
            "missing/field",
            "keep/deeper",
        ] {
            super::remove_at(&mut record, &path(p));
        }
        assert_eq!(
            record,
            json!({
                "properties": {"name": "x"},
                "steps": [{"id": 1}, {"id": 2}],
                "charges": {"data": [{"amount": 3}]},
                "list": [10, 30],
                "keep": true
            })
        );
        assert!(super::wildcard_match("a*b?d", "aXXbcd"));
        assert!(!super::wildcard_match("a*b?d", "aXXbd"));
        assert!(super::wildcard_match("*", ""));
        // A hostile pattern ends quickly.
        let long = "a".repeat(5000);
        assert!(!super::wildcard_match(
            &format!("{}b", "*a".repeat(2000)),
            &long
        ));
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn secret_names() {
        for s in [
            "password",
            "api_key",
            "apiKey",
            "client_secret",
            "access_token",
            "private_key",
            "db-passwd",
        ] {
            assert!(looks_secret(s), "{s}");
        }
        for s in [
            "count",
            "username",
            "token_url",
            "seed",
            "auth_type",
            "host",
            "tokenizer",
            "password_expires_at",
            "keyword",
        ] {
            assert!(!looks_secret(s), "{s}");
        }
        for s in [
            "privateKey",
            "private-key",
            "PRIVATE_KEY",
            "connection_string",
            "connectionString",
            "dsn",
            "db_dsn",
            "clientSecret",
            "secretAccessKey",
            "sasToken",
        ] {
            assert!(looks_secret(s), "{s}");
        }
        assert_eq!(name_words("secretAccessKey"), ["secret", "access", "key"]);
        assert_eq!(name_words("HTTP_proxy-URL"), ["http", "proxy", "url"]);
    }

    #[test]
    fn configs_break_each_constraint_once_keeping_the_type() {
        let spec = json!({
            "type": "object",
            "properties": {
                "page_size": {"type": "integer", "minimum": 1, "maximum": 100},
                "region": {"type": "string", "enum": ["eu", "us"]},
                "code": {"type": "string", "pattern": "^[A-Z]{3}$", "minLength": 3},
                "start": {"type": "string", "format": "date-time"},
                "auth": {"type": "object", "properties": {"token": {"type": "string", "maxLength": 4}}},
                "free": {"type": "string"}
            }
        });
        let config =
            json!({"page_size": 10, "region": "eu", "code": "ABC", "auth": {"token": "t"}});
        let broken = configs_breaking_constraints(&spec, &config);
        let names: Vec<&str> = broken.iter().map(|(d, _)| d.as_str()).collect();
        assert_eq!(
            names,
            [
                "with `auth.token` set to \"xxxxx\" (breaking its `maxLength` 4)",
                "with `code` set to \"xx\" (breaking its `minLength` 3)",
                "with `code` set to \"ctest: not a match !\" (breaking its `pattern` ^[A-Z]{3}$)",
                "with `page_size` set to 0 (breaking its `minimum` 1)",
                "with `page_size` set to 101 (breaking its `maximum` 100)",
                "with `region` set to \"ctest-not-one-of-the-values\" (breaking its `enum`)",
                "with `start` set to \"yesterday at noon\" (breaking its `format` date-time)",
            ]
        );
        assert_eq!(
            broken[0].1,
            json!({"page_size": 10, "region": "eu", "code": "ABC", "auth": {"token": "xxxxx"}})
        );
        // Nothing is derived from a config that is invalid already.
        assert!(configs_breaking_constraints(&spec, &json!({"page_size": 0})).is_empty());
    }

    #[test]
    fn data_points_are_noted_per_declared_path() {
        let tree = FieldTree::from_schema(&json!({
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "address": {"type": ["null", "object"], "properties": {"city": {"type": "string"}}},
                "items": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}}}}
            }
        }));
        let mut paths = tree.declared_paths();
        paths.sort();
        assert_eq!(
            paths,
            ["address", "address.city", "id", "items", "items[].sku"]
        );
        let mut present = std::collections::HashSet::new();
        tree.mark_present(
            &json!({"id": 1, "address": null, "items": [{"sku": null}, {}], "other": 3}),
            &mut present,
        );
        let mut seen: Vec<_> = present.into_iter().collect();
        seen.sort();
        assert_eq!(seen, ["id", "items"]);
    }

    #[test]
    fn undeclared_fields_are_found_with_their_path() {
        let schema = json!({"type": "object", "properties": {
            "id": {"type": "integer"},
            "address": {"type": "object", "properties": {"city": {"type": "string"}}},
            "tags": {"type": "array", "items": {"type": "object", "properties": {"name": {}}}},
            "free": {"type": "object"}
        }});
        let tree = FieldTree::from_schema(&schema);
        assert_eq!(
            tree.inspect(&json!({"id": 1, "free": {"x": 1}})).undeclared,
            None
        );
        assert_eq!(
            tree.inspect(&json!({"id": 1, "zip": 2})).undeclared,
            Some("/zip".into())
        );
        assert_eq!(
            tree.inspect(&json!({"address": {"city": "x", "zip": 1}}))
                .undeclared,
            Some("/address/zip".into())
        );
        assert_eq!(
            tree.inspect(&json!({"tags": [{"name": 1}, {"name": 2, "color": 3}]}))
                .undeclared,
            Some("/tags/1/color".into())
        );
        // A pointer escapes `~` and `/` in a field's name.
        assert_eq!(
            tree.inspect(&json!({"address": {"a/b~c": 1}})).undeclared,
            Some("/address/a~1b~0c".into())
        );
    }

    /// Every address [`plain_email`] takes is valid by jsonschema's own
    /// `email` format: random addresses of its form (and of near forms,
    /// which it must leave to jsonschema) are checked against a validator
    /// without ctest's quick path.
    #[test]
    fn plain_emails_are_emails_by_jsonschema_too() {
        let jsonschema_email = base_options()
            .should_validate_formats(true)
            .build(&json!({"format": "email"}))
            .unwrap();
        let ours = record_validator(&json!({"format": "email"})).unwrap();
        let alphabet = b"abcxyzABZ019.-_+@.-";
        let mut next = crate::test_random(0x9e37_79b9_7f4a_7c15u64);
        let mut plain = 0;
        for round in 0..60_000u64 {
            let mut text = match round % 3 {
                0 => "jane.doe+tag@mail-1.example.com".to_string(),
                1 => "a@b.co".to_string(),
                _ => format!(
                    "{}@{}.{}",
                    "x".repeat((next() % 70) as usize),
                    "y".repeat((next() % 70) as usize),
                    "zz"
                ),
            };
            let mut bytes = std::mem::take(&mut text).into_bytes();
            for _ in 0..(next() % 3) {
                let at = (next() % bytes.len() as u64) as usize;
                bytes[at] = alphabet[(next() % alphabet.len() as u64) as usize];
            }
            let text = String::from_utf8(bytes).unwrap();
            let value = Value::String(text.clone());
            let theirs = jsonschema_email.is_valid(&value);
            if plain_email(&text) {
                plain += 1;
                assert!(theirs, "{text:?}: plain, but not an email to jsonschema");
            }
            assert_eq!(ours.is_valid(&value), theirs, "{text:?}");
        }
        assert!(plain > 10_000, "{plain} plain addresses");
        for not_plain in [
            "a@b",
            "a..b@c.com",
            ".a@b.com",
            "a@b.c",
            "a@-b.com",
            "a@b.c0m",
            "a@b..com",
            "\"a b\"@c.com",
            "ü@b.com",
        ] {
            assert!(!plain_email(not_plain), "{not_plain}");
        }
    }

    /// The one-pass pairing of a record's fields with the declared ones
    /// finds what a lookup of each field finds: every set of declared
    /// fields against every record over the same six names.
    #[test]
    fn undeclared_fields_are_paired_in_one_pass() {
        let names = ["a", "b", "bb", "c", "d", "e"];
        let pick = |bits: u32| -> Vec<&str> {
            names
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, n)| *n)
                .collect()
        };
        for declared in 0..64u32 {
            let declared = pick(declared);
            let properties: serde_json::Map<String, Value> = declared
                .iter()
                .map(|n| (n.to_string(), json!({"type": "integer"})))
                .collect();
            let tree = FieldTree::from_schema(&json!({"type": "object", "properties": properties}));
            for record in 0..64u32 {
                let fields = pick(record);
                let value: serde_json::Map<String, Value> =
                    fields.iter().map(|n| (n.to_string(), json!(1))).collect();
                let expected = fields
                    .iter()
                    .find(|f| !declared.contains(f))
                    .map(|f| format!("/{f}"));
                assert_eq!(
                    tree.inspect(&Value::Object(value)).undeclared,
                    expected,
                    "declared {declared:?}, record {fields:?}"
                );
            }
        }
    }

    #[test]
    fn derived_invalid_configs() {
        let spec = json!({"type": "object", "required": ["count"], "properties": {
            "count": {"type": "integer"}, "name": {"type": "string"}, "ratio": {"type": "number"}
        }});
        let config = json!({"count": 3, "name": "x", "ratio": 0.5});
        let missing = configs_missing_required(&spec, &config);
        assert_eq!(missing.len(), 1);
        assert!(missing[0].1.get("count").is_none());
        let wrong = configs_with_wrong_type(&spec, &config);
        assert_eq!(wrong.len(), 3);
        for (_, c) in &wrong {
            assert!(!jsonschema::draft7::is_valid(&spec, c), "{c}");
        }
    }

    #[test]
    fn record_formats_are_checked_with_airbyte_lenient_date_times() {
        let schema = json!({"type": "object", "properties": {
            "t": {"type": "string", "format": "date-time"},
            "d": {"type": "string", "format": "date"},
            "e": {"type": "string", "format": "email"},
            "v4": {"type": "string", "format": "ipv4"},
            "v6": {"type": "string", "format": "ipv6"},
            "u": {"type": "string", "format": "uri"}
        }});
        let v = record_validator(&schema).unwrap();
        for good in [
            json!({"t": "2024-05-01T10:00:00Z"}),
            json!({"t": "2024-05-01T10:00:00.123+02:00"}),
            json!({"t": "2024-05-01 10:00:00"}),
            json!({"t": "2024-05-01T10:00:00"}),
            json!({"d": "2024-05-01"}),
            json!({"e": "ada@example.com"}),
            json!({"v4": "10.0.0.1", "v6": "::1", "u": "https://example.com/a?b=c"}),
        ] {
            assert!(v.is_valid(&good), "{good}");
        }
        for bad in [
            json!({"t": "yesterday"}),
            json!({"t": "2024-05-01"}),
            json!({"t": "2024-13-01T00:00:00Z"}),
            json!({"d": "2024-02-30"}),
            json!({"d": "2024-05-01T00:00:00Z"}),
            json!({"e": "not an email"}),
            json!({"v4": "300.1.1.1"}),
            json!({"v6": "::g"}),
            json!({"u": "not a uri"}),
        ] {
            assert!(!v.is_valid(&bad), "{bad}");
        }
    }

    #[test]
    fn integers_are_strict() {
        let schema = json!({"type": "object", "properties": {
            "n": {"type": ["null", "integer"]},
            "x": {"type": "number"},
            "list": {"type": "array", "items": {"type": "integer"}}
        }});
        let tree = FieldTree::from_schema(&schema);
        let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap();
        assert_eq!(
            tree.inspect(&parse(r#"{"n": 1, "x": 1.5, "list": [1, 2]}"#))
                .non_integer,
            None
        );
        assert_eq!(
            tree.inspect(&parse(r#"{"n": 1.0}"#)).non_integer,
            Some("/n".into())
        );
        assert_eq!(
            tree.inspect(&parse(r#"{"list": [1, 2.0]}"#)).non_integer,
            Some("/list/1".into())
        );
    }

    #[test]
    fn schema_problems_are_reported() {
        assert!(schema_problem(&json!({"type": "object"})).is_none());
        assert!(schema_problem(&json!({"type": "objekt"})).is_some());
        assert!(schema_problem(&json!([1])).is_some());
    }
}

#[cfg(test)]
mod hostile_schemas {
    use super::*;
    use serde_json::json;

    /// Hostile: each definition is an `allOf` of two references to the next,
    /// thirty deep: a billion schema nodes per record.
    #[test]
    fn ref_fan_out_is_refused_and_recursion_is_not() {
        let mut defs = serde_json::Map::new();
        for i in 0..30 {
            defs.insert(
                format!("d{i}"),
                json!({"allOf": [{"$ref": format!("#/definitions/d{}", i + 1)}, {"$ref": format!("#/definitions/d{}", i + 1)}]}),
            );
        }
        defs.insert("d30".into(), json!({"type": "object"}));
        let bomb = json!({"definitions": defs, "$ref": "#/definitions/d0"});
        let problem = complexity_problem(&bomb).unwrap();
        assert!(
            problem.contains("more than 100000 schema nodes"),
            "{problem}"
        );
        assert!(schema_problem(&bomb).unwrap().contains("schema nodes"));
        assert!(record_validator(&bomb).is_err());

        // A recursive schema (a tree) is bounded by the record, not refused.
        let tree = json!({
            "definitions": {"node": {"type": "object", "properties": {
                "children": {"type": "array", "items": {"$ref": "#/definitions/node"}}
            }}},
            "$ref": "#/definitions/node"
        });
        assert_eq!(complexity_problem(&tree), None);
        assert!(record_validator(&tree).is_ok());
    }

    /// Hostile: a pattern that backtracks catastrophically on a backtracking
    /// engine, and one that needs backtracking (a back-reference): both end.
    #[test]
    fn patterns_cannot_take_unbounded_time() {
        let schema = json!({"type": "object", "properties": {
            "a": {"type": "string", "pattern": "^(a+)+$"},
            "b": {"type": "string", "pattern": "^(a|a)*(x)\\1$"}
        }});
        let v = record_validator(&schema).unwrap();
        let long = format!("{}b", "a".repeat(50_000));
        assert!(!v.is_valid(&json!({"a": long})));
        assert!(!v.is_valid(&json!({"b": format!("{}!", "a".repeat(5_000))})));
        let too_long = json!({"type": "string", "pattern": "a".repeat(2_000)});
        assert!(
            complexity_problem(&too_long)
                .unwrap()
                .contains("characters long")
        );
    }
}
