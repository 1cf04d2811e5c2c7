//! Reads a test configuration as teams write it: ctest's own keys, and
//! Airbyte's `acceptance-test-config.yml` as it is — every key of any of its
//! versions accepted, used where ctest has a meaning for it and otherwise
//! listed once as not used, with why.
//!
//! The reader walks the YAML tree ([`super::yaml`]) with what each key
//! expects, so that
//! - every mistake of the file is found in one pass, each at its line and
//!   column, with a fix;
//! - a scalar is read as the key wants it: `yes`/`no`/`on`/`off` are
//!   booleans where a boolean is expected (YAML 1.1, as PyYAML reads
//!   Airbyte's files), `300` and `"300"` are both a number of seconds;
//! - Airbyte's shapes become ctest's: plain-string list entries for
//!   `empty_streams` and `ignored_fields`, an optional `bypass_reason`, the
//!   flat `future_state_path`, the legacy (before 0.2.12) top-level
//!   `tests:`.
//!
//! Its output is the JSON form of [`super::TestConfig`], which serde then
//! takes as it is.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};

use super::yaml::{Kind, Node};

/// One mistake in the file.
#[derive(Debug, Clone)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    /// Where in the file's structure: `acceptance_tests.basic_read.tests[0]`.
    pub place: String,
    pub what: String,
    pub fix: String,
}

/// A key ctest accepts and does not use, or reads differently from what its
/// name says: said once per key, at its first place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub line: usize,
    pub key: String,
    /// The whole sentence.
    pub text: String,
}

/// What the reader made of a file.
#[derive(Debug, Default)]
pub struct Read {
    /// The configuration in [`super::TestConfig`]'s serde form.
    pub value: Value,
    pub problems: Vec<Problem>,
    pub notes: Vec<Note>,
    /// Where each place of the structure is (`acceptance_tests.x.tests[0]`
    /// → line, column), for the checks that come after the reader.
    pub places: HashMap<String, (usize, usize)>,
}

/// The top-level keys: ctest's, then Airbyte's.
const TOP: &[&str] = &[
    "test_strictness_level",
    "config_path",
    "custom_environment_variables",
    "allowed_hosts",
    "cassette_dir",
    "ignored_query_parameters",
    "acceptance_tests",
    "scenarios",
    "vars",
    "base_path",
    "connector_image",
    "cached_discovered_catalog",
    "tests",
];

/// The keys of a suite's entry.
const SUITE: &[&str] = &["bypass_reason", "bypass", "tests"];

/// The keys of an input set that ctest uses.
const INPUT: &[&str] = &[
    "config_path",
    "status",
    "configured_catalog_path",
    "timeout_seconds",
    "empty_streams",
    "ignored_fields",
    "fail_on_extra_columns",
    "validate_data_points",
    "expect_records",
    "future_state",
    "cursor_paths",
    "bypassed_streams",
    "streams_without_primary_key",
    // Airbyte's, given a meaning here.
    "future_state_path",
    "skip_comprehensive_incremental_tests",
    "backward_compatibility_tests_config",
];

/// Airbyte's keys of an input set that ctest does not use, and why.
const INPUT_UNUSED: &[(&str, &str)] = &[
    (
        "spec_path",
        "ctest checks the spec the connector returns against the contract (spec suite); it compares with no expected spec file",
    ),
    (
        "deployment_mode",
        "ctest runs a connector one way; there are no cloud and OSS modes",
    ),
    (
        "auth_default_method",
        "ctest does not check which authentication method a spec offers first",
    ),
    (
        "validate_schema",
        "ctest always checks every record against its stream's schema (basic_read/records_match_schema); bypass that test to turn it off",
    ),
    (
        "validate_stream_statuses",
        "the contract has no stream status messages",
    ),
    (
        "validate_state_messages",
        "ctest always checks state messages (the incremental suite)",
    ),
    (
        "validate_primary_keys_data_type",
        "ctest always checks primary keys against the schema (discovery and connector_attributes)",
    ),
    (
        "expect_trace_message_on_failure",
        "a connector's failure reaches ctest as its error result or an error message; the contract has no trace messages",
    ),
    ("file_types", "ctest has no file-based connector tests"),
    (
        "client_container_config",
        "ctest starts no containers around tests; prepare the source system before `ctest run`, or with a scenario's steps",
    ),
    (
        "threshold_days",
        "ctest compares cursor values exactly; there is no threshold",
    ),
    (
        "allowed_hosts",
        "ctest takes the hosts a connector may reach from its spec's `allowed-hosts` (and --allow-host); there is no metadata.yaml to check",
    ),
    ("suggested_streams", "ctest reads no metadata.yaml"),
    (
        "validate_output_from_all_streams",
        "ctest's basic_read always wants records from every stream not listed in `empty_streams`",
    ),
];

/// Airbyte's suites that ctest does not have.
const SUITE_UNUSED: &[(&str, &str)] = &[(
    "connector_documentation",
    "ctest does not check a connector's documentation",
)];

/// The booleans YAML 1.1 knows, as Airbyte's PyYAML reads them.
fn boolean_of(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "on" => Some(true),
        "false" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

/// Reads the document `root`.
pub fn read(root: &Node) -> Read {
    let mut r = Reader::default();
    let value = r.top(root);
    let mut notes: Vec<Note> = r.notes.into_values().collect();
    notes.sort_by_key(|n| n.line);
    Read {
        value,
        problems: r.problems,
        notes,
        places: r.places,
    }
}

#[derive(Default)]
struct Reader {
    problems: Vec<Problem>,
    /// By key, so that each is said once.
    notes: BTreeMap<String, Note>,
    places: HashMap<String, (usize, usize)>,
}

/// `place` with `key` appended.
fn join(place: &str, key: &str) -> String {
    if place.is_empty() {
        key.to_string()
    } else {
        format!("{place}.{key}")
    }
}

impl Reader {
    fn problem(&mut self, node: &Node, place: &str, what: String, fix: impl Into<String>) {
        self.problems.push(Problem {
            line: node.line,
            column: node.column,
            place: place.to_string(),
            what,
            fix: fix.into(),
        });
    }

    /// Says `text` about `key`, once.
    fn note(&mut self, node: &Node, key: &str, text: impl Into<String>) {
        self.notes.entry(key.to_string()).or_insert(Note {
            line: node.line,
            key: key.to_string(),
            text: text.into(),
        });
    }

    /// Says that `key` is accepted and not used, and why, once.
    fn unused(&mut self, node: &Node, key: &str, why: &str) {
        self.note(node, key, format!("`{key}` is not used by ctest: {why}"));
    }

    /// A map's entries with string keys; a duplicate key, a key that is not
    /// text, or a value that is not a map is a problem. Null is an empty map.
    fn entries<'n>(&mut self, node: &'n Node, place: &str) -> Vec<(&'n str, &'n Node, &'n Node)> {
        self.places
            .entry(place.to_string())
            .or_insert((node.line, node.column));
        match &node.kind {
            Kind::Map(entries) => {
                let mut seen: HashMap<&str, usize> = HashMap::new();
                let mut out = Vec::new();
                for (key, value) in entries {
                    let Some(name) = key.text() else {
                        self.problem(
                            key,
                            place,
                            format!("a key must be text, not {}", key.describe()),
                            "write the key as a plain name",
                        );
                        continue;
                    };
                    if let Some(first) = seen.insert(name, key.line) {
                        // PyYAML, which reads Airbyte's files, keeps the last.
                        self.note(
                            key,
                            &format!("{} (twice)", join(place, name)),
                            format!(
                                "`{}` is given twice (lines {first} and {}); the last is used, as Airbyte's reader does",
                                join(place, name),
                                key.line
                            ),
                        );
                        out.retain(|(n, _, _)| *n != name);
                    }
                    self.places
                        .entry(join(place, name))
                        .or_insert((value.line, value.column));
                    out.push((name, key, value));
                }
                out
            }
            _ if node.is_null() => Vec::new(),
            _ => {
                self.problem(
                    node,
                    place,
                    format!(
                        "expected a map of keys to values, found {}",
                        node.describe()
                    ),
                    "write it as `key: value` lines, indented under its key",
                );
                Vec::new()
            }
        }
    }

    /// A list's items; null is an empty list.
    fn items<'n>(&mut self, node: &'n Node, place: &str, fix: &str) -> Vec<&'n Node> {
        match &node.kind {
            Kind::Seq(items) => items.iter().collect(),
            _ if node.is_null() => Vec::new(),
            _ => {
                self.problem(
                    node,
                    place,
                    format!("expected a list, found {}", node.describe()),
                    fix,
                );
                Vec::new()
            }
        }
    }

    fn unknown(&mut self, node: &Node, place: &str, key: &str, allowed: &[&str]) {
        let suggestion = crate::scenarios::load::did_you_mean(key, allowed.iter().copied())
            .map(|s| format!("did you mean `{s}`? "))
            .unwrap_or_default();
        self.problem(
            node,
            &join(place, key),
            format!("unknown key `{key}`"),
            format!("{suggestion}the keys here are: {}", allowed.join(", ")),
        );
    }

    /// An unknown key of an input set: the fix lists ctest's keys, and
    /// suggests from Airbyte's too.
    fn unknown_input(&mut self, node: &Node, place: &str, key: &str) {
        let all = INPUT
            .iter()
            .copied()
            .chain(INPUT_UNUSED.iter().map(|(k, _)| *k));
        let suggestion = crate::scenarios::load::did_you_mean(key, all)
            .map(|s| format!("did you mean `{s}`? "))
            .unwrap_or_default();
        self.problem(
            node,
            &join(place, key),
            format!("unknown key `{key}`"),
            format!(
                "{suggestion}the keys of an input set are: {}; Airbyte's other keys are accepted too (README, \"Coming from Airbyte\")",
                INPUT.join(", ")
            ),
        );
    }

    /// A scalar `parse` makes a value of; else a problem saying what was
    /// `expected`, with `fix`.
    fn scalar(
        &mut self,
        node: &Node,
        place: &str,
        expected: &str,
        fix: &str,
        parse: impl FnOnce(&Node) -> Option<Value>,
    ) -> Option<Value> {
        let value = parse(node);
        if value.is_none() {
            self.problem(
                node,
                place,
                format!("expected {expected}, found {}", node.describe()),
                fix,
            );
        }
        value
    }

    fn text(&mut self, node: &Node, place: &str) -> Option<Value> {
        self.scalar(
            node,
            place,
            "text",
            "write a single value, for example `key: some text`",
            |n| {
                n.text()
                    .filter(|_| !n.is_null())
                    .map(|t| Value::String(t.to_string()))
            },
        )
    }

    fn boolean(&mut self, node: &Node, place: &str) -> Option<Value> {
        self.scalar(
            node,
            place,
            "true or false",
            "write `true` or `false`",
            |n| n.text().and_then(boolean_of).map(Value::Bool),
        )
    }

    fn seconds(&mut self, node: &Node, place: &str) -> Option<Value> {
        self.scalar(
            node,
            place,
            "a positive number of seconds",
            "for example `timeout_seconds: 60`",
            |n| {
                n.text()
                    .and_then(|t| t.trim().parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s > 0.0)
                    .map(|s| json!(s))
            },
        )
    }

    fn choice(&mut self, node: &Node, place: &str, options: &[&str]) -> Option<Value> {
        self.scalar(
            node,
            place,
            &format!("one of {}", options.join(", ")),
            &format!("write one of: {}", options.join(", ")),
            |n| {
                n.text()
                    .filter(|t| options.contains(t))
                    .map(|t| Value::String(t.to_string()))
            },
        )
    }

    fn texts(&mut self, node: &Node, place: &str) -> Option<Value> {
        let items = self.items(
            node,
            place,
            "write a list: `[a, b]`, or one `- a` line each",
        );
        let out: Vec<Option<Value>> = items
            .into_iter()
            .enumerate()
            .map(|(i, item)| self.text(item, &format!("{place}[{i}]")))
            .collect();
        out.into_iter()
            .collect::<Option<Vec<_>>>()
            .map(Value::Array)
    }

    /// A map of names to text (numbers and booleans as written).
    fn text_map(&mut self, node: &Node, place: &str) -> Option<Value> {
        let mut out = Map::new();
        let mut ok = true;
        for (key, _, value) in self.entries(node, place) {
            match self.text(value, &join(place, key)) {
                Some(v) => drop(out.insert(key.to_string(), v)),
                None => ok = false,
            }
        }
        ok.then_some(Value::Object(out))
    }

    /// Any value, with YAML 1.2's core types (for `vars`).
    fn any(&mut self, node: &Node, place: &str) -> Value {
        match &node.kind {
            Kind::Scalar { text, plain: false } => Value::String(text.clone()),
            Kind::Scalar { text, plain: true } => {
                if node.is_null() {
                    Value::Null
                } else if let Ok(b) = text.parse::<bool>() {
                    Value::Bool(b)
                } else if let Ok(i) = text.parse::<i64>() {
                    json!(i)
                } else if let Some(f) = text.parse::<f64>().ok().filter(|f| f.is_finite()) {
                    json!(f)
                } else {
                    Value::String(text.clone())
                }
            }
            Kind::Seq(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, n)| self.any(n, &format!("{place}[{i}]")))
                    .collect(),
            ),
            Kind::Map(_) => {
                let mut out = Map::new();
                for (k, _, v) in self.entries(node, place) {
                    let value = self.any(v, &join(place, k));
                    out.insert(k.to_string(), value);
                }
                Value::Object(out)
            }
        }
    }

    /// A list of names, each plain (`- users`, Airbyte's legacy form) or
    /// `{name, bypass_reason}` (the reason optional, as in Airbyte).
    fn named(&mut self, node: &Node, place: &str) -> Option<Value> {
        let items = self.items(
            node,
            place,
            "write one `- name: x` (with an optional `bypass_reason: why`) per entry",
        );
        let mut out = Vec::new();
        let mut ok = true;
        for (i, item) in items.into_iter().enumerate() {
            let at = format!("{place}[{i}]");
            match &item.kind {
                Kind::Scalar { text, .. } if !item.is_null() => out.push(json!({"name": text})),
                Kind::Map(_) => {
                    let mut entry = Map::new();
                    let mut named = false;
                    for (key, key_at, value) in self.entries(item, &at) {
                        match key {
                            // Optional in Airbyte, so an empty one is none.
                            "bypass_reason" if value.is_null() => {}
                            "name" | "bypass_reason" => {
                                named |= key == "name";
                                if let Some(v) = self.text(value, &join(&at, key)) {
                                    entry.insert(key.to_string(), v);
                                }
                            }
                            _ => self.unknown(key_at, &at, key, &["name", "bypass_reason"]),
                        }
                    }
                    if entry.contains_key("name") {
                        out.push(Value::Object(entry));
                    } else if named {
                        // Its `name` is wrong, and said so.
                        ok = false;
                    } else {
                        ok = false;
                        self.problem(
                            item,
                            &at,
                            "the entry has no `name`".into(),
                            "add `name: <the stream or field>`",
                        );
                    }
                }
                _ => {
                    ok = false;
                    self.problem(
                        item,
                        &at,
                        format!(
                            "expected a name or `{{name, bypass_reason}}`, found {}",
                            item.describe()
                        ),
                        "write `- name: x` (with an optional `bypass_reason: why`), or `- x`",
                    );
                }
            }
        }
        ok.then_some(Value::Array(out))
    }

    fn top(&mut self, root: &Node) -> Value {
        let mut out = Map::new();
        let entries = self.entries(root, "");
        let current = entries.iter().any(|(k, _, _)| *k == "acceptance_tests");
        for (key, key_at, value) in entries {
            let place = key.to_string();
            let v = match key {
                "test_strictness_level" => self.choice(value, &place, &["low", "high"]),
                "config_path" | "cassette_dir" | "base_path" => self.text(value, &place),
                "custom_environment_variables" => self.text_map(value, &place),
                "allowed_hosts" | "ignored_query_parameters" | "scenarios" => {
                    self.texts(value, &place)
                }
                "vars" => {
                    let v = self.any(value, &place);
                    if !v.is_object() && !v.is_null() {
                        self.problem(
                            value,
                            &place,
                            format!(
                                "expected a map of names to values, found {}",
                                value.describe()
                            ),
                            "write `vars:` with one `name: value` line each under it",
                        );
                    }
                    v.is_object().then_some(v)
                }
                "acceptance_tests" => Some(self.suites(value, &place, false)),
                "tests" if current => {
                    self.problem(
                        value,
                        &place,
                        "both the legacy `tests:` layout and `acceptance_tests:` are given".into(),
                        "move the suites of `tests:` under `acceptance_tests:` (each as `suite: {tests: [...]}`)",
                    );
                    None
                }
                "tests" => {
                    self.note(
                        value,
                        "tests",
                        "`tests` (Airbyte's layout before 0.2.12) is read as `acceptance_tests`; to migrate, write each `suite: [sets]` as `suite: {tests: [sets]}` under `acceptance_tests`",
                    );
                    out.insert("acceptance_tests".into(), self.suites(value, "tests", true));
                    continue;
                }
                "cached_discovered_catalog" => {
                    self.unused(
                        value,
                        key,
                        "ctest discovers once per run and every suite uses that catalog",
                    );
                    continue;
                }
                "connector_image" => {
                    self.unused(
                        value,
                        key,
                        "ctest runs the component given on its command line, not an image",
                    );
                    continue;
                }
                _ => {
                    self.unknown(key_at, "", key, TOP);
                    continue;
                }
            };
            if let Some(v) = v {
                out.insert(key.to_string(), v);
            }
        }
        Value::Object(out)
    }

    /// `acceptance_tests` (or the legacy `tests`, whose suites are lists of
    /// input sets).
    fn suites(&mut self, node: &Node, place: &str, legacy: bool) -> Value {
        let mut out = Map::new();
        for (key, key_at, value) in self.entries(node, place) {
            let at = join(place, key);
            let Some(entry) = crate::suites::suite(key) else {
                if let Some((_, why)) = SUITE_UNUSED.iter().find(|(k, _)| *k == key) {
                    self.unused(value, key, why);
                } else {
                    let names: Vec<&str> = crate::suites::REGISTRY
                        .iter()
                        .map(|s| s.name)
                        .chain(SUITE_UNUSED.iter().map(|(k, _)| *k))
                        .collect();
                    self.unknown(key_at, place, key, &names);
                }
                continue;
            };
            let suite = if legacy || matches!(value.kind, Kind::Seq(_)) {
                if !legacy {
                    self.problem(
                        value,
                        &at,
                        "a list of input sets directly under the suite is the legacy layout".into(),
                        format!("write `{key}: {{tests: [...]}}`, the list under `tests`"),
                    );
                }
                let mut suite = Map::new();
                let mut bypass = Map::new();
                suite.insert(
                    "tests".into(),
                    self.sets(value, &at, entry.name, &mut bypass),
                );
                if !bypass.is_empty() {
                    suite.insert("bypass".into(), Value::Object(bypass));
                }
                suite
            } else {
                self.suite(value, &at, entry.name)
            };
            out.insert(entry.name.to_string(), Value::Object(suite));
        }
        Value::Object(out)
    }

    fn suite(&mut self, node: &Node, place: &str, suite: &str) -> Map<String, Value> {
        let mut out = Map::new();
        let mut bypass = Map::new();
        for (key, key_at, value) in self.entries(node, place) {
            let at = join(place, key);
            match key {
                "bypass_reason" => {
                    if let Some(v) = self.text(value, &at) {
                        out.insert(key.into(), v);
                    }
                }
                "bypass" => {
                    if let Some(Value::Object(m)) = self.text_map(value, &at) {
                        bypass.extend(m);
                    }
                }
                "tests" => {
                    let sets = self.sets(value, &at, suite, &mut bypass);
                    out.insert(key.into(), sets);
                }
                _ => self.unknown(key_at, place, key, SUITE),
            }
        }
        if !bypass.is_empty() {
            out.insert("bypass".into(), Value::Object(bypass));
        }
        out
    }

    /// A suite's input sets. Keys that bypass a test (Airbyte's
    /// `skip_comprehensive_incremental_tests`) add to `bypass`.
    fn sets(
        &mut self,
        node: &Node,
        place: &str,
        suite: &str,
        bypass: &mut Map<String, Value>,
    ) -> Value {
        let items = self.items(
            node,
            place,
            "write the input sets as a list: `tests: [{...}]`",
        );
        Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, n)| Value::Object(self.set(n, &format!("{place}[{i}]"), suite, bypass)))
                .collect(),
        )
    }

    fn set(
        &mut self,
        node: &Node,
        place: &str,
        suite: &str,
        bypass: &mut Map<String, Value>,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        for (key, key_at, value) in self.entries(node, place) {
            let at = join(place, key);
            let v = match key {
                "config_path" | "configured_catalog_path" => self.text(value, &at),
                "status" => self.choice(value, &at, &["succeed", "failed", "exception"]),
                "timeout_seconds" => self.seconds(value, &at),
                "empty_streams" | "bypassed_streams" | "streams_without_primary_key" => {
                    self.named(value, &at)
                }
                "ignored_fields" => {
                    let mut fields = Map::new();
                    for (stream, _, list) in self.entries(value, &at) {
                        if let Some(v) = self.named(list, &join(&at, stream)) {
                            fields.insert(stream.to_string(), v);
                        }
                    }
                    Some(Value::Object(fields))
                }
                "cursor_paths" => {
                    let mut paths = Map::new();
                    for (stream, _, path) in self.entries(value, &at) {
                        if let Some(v) = self.texts(path, &join(&at, stream)) {
                            paths.insert(stream.to_string(), v);
                        }
                    }
                    Some(Value::Object(paths))
                }
                "fail_on_extra_columns" | "validate_data_points" => self.boolean(value, &at),
                "expect_records" => Some(self.expect_records(value, &at)),
                "future_state" => {
                    let mut f = self.future_state(value, &at);
                    if let Some(Value::Object(flat)) = out.get("future_state") {
                        f.extend(flat.clone());
                    }
                    Some(Value::Object(f))
                }
                "future_state_path" => {
                    // Airbyte's legacy place for it.
                    if let Some(p) = self.text(value, &at) {
                        let f = out
                            .entry("future_state")
                            .or_insert_with(|| json!({}))
                            .as_object_mut()
                            .expect("future_state is an object");
                        f.insert("future_state_path".into(), p);
                    }
                    continue;
                }
                "skip_comprehensive_incremental_tests" => {
                    if self.boolean(value, &at) == Some(Value::Bool(true)) {
                        if suite == "incremental" {
                            bypass.insert(
                                "sequential_slices".into(),
                                "skip_comprehensive_incremental_tests is set in the test configuration".into(),
                            );
                        } else {
                            self.problem(
                                value,
                                &at,
                                format!("`{key}` applies to the incremental suite, not {suite}"),
                                "move it to an input set of acceptance_tests.incremental",
                            );
                        }
                    }
                    continue;
                }
                "backward_compatibility_tests_config" => {
                    self.backward_compatibility(value, &at);
                    continue;
                }
                _ => {
                    if let Some((_, why)) = INPUT_UNUSED.iter().find(|(k, _)| *k == key) {
                        self.unused(value, key, why);
                    } else {
                        self.unknown_input(key_at, place, key);
                    }
                    continue;
                }
            };
            if let Some(v) = v {
                out.insert(key.to_string(), v);
            }
        }
        out
    }

    fn expect_records(&mut self, node: &Node, place: &str) -> Value {
        let mut out = Map::new();
        for (key, key_at, value) in self.entries(node, place) {
            let at = join(place, key);
            let v = match key {
                "path" | "bypass_reason" => self.text(value, &at),
                "extra_fields" | "exact_order" | "extra_records" => self.boolean(value, &at),
                _ => {
                    self.unknown(
                        key_at,
                        place,
                        key,
                        &[
                            "path",
                            "bypass_reason",
                            "extra_fields",
                            "exact_order",
                            "extra_records",
                        ],
                    );
                    None
                }
            };
            if let Some(v) = v {
                out.insert(key.to_string(), v);
            }
        }
        Value::Object(out)
    }

    fn future_state(&mut self, node: &Node, place: &str) -> Map<String, Value> {
        let mut out = Map::new();
        for (key, key_at, value) in self.entries(node, place) {
            let at = join(place, key);
            let v = match key {
                "future_state_path" | "bypass_reason" => self.text(value, &at),
                "missing_streams" => self.named(value, &at),
                "cursor_format" => {
                    self.unused(
                        value,
                        "future_state.cursor_format",
                        "ctest builds far-future cursor values from each cursor's schema type and format",
                    );
                    None
                }
                _ => {
                    self.unknown(
                        key_at,
                        place,
                        key,
                        &[
                            "future_state_path",
                            "missing_streams",
                            "bypass_reason",
                            "cursor_format",
                        ],
                    );
                    None
                }
            };
            if let Some(v) = v {
                out.insert(key.to_string(), v);
            }
        }
        out
    }

    fn backward_compatibility(&mut self, node: &Node, place: &str) {
        for (key, key_at, value) in self.entries(node, place) {
            let at = join(place, key);
            match key {
                "previous_connector_version" => {
                    if let Some(Value::String(v)) = self.text(value, &at) {
                        self.note(
                            value,
                            "backward_compatibility_tests_config.previous_connector_version",
                            format!(
                                "`previous_connector_version: {v}`: ctest's backward_compatibility suite compares with the component you pass: `ctest run NEW.wasm --previous <version {v}'s .wasm>`"
                            ),
                        );
                    }
                }
                "disable_for_version" => {
                    self.unused(
                        value,
                        "backward_compatibility_tests_config.disable_for_version",
                        "ctest runs backward_compatibility only when --previous is given; leave it out for that version",
                    );
                }
                _ => self.unknown(
                    key_at,
                    place,
                    key,
                    &["previous_connector_version", "disable_for_version"],
                ),
            }
        }
    }
}
