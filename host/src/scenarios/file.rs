//! The scenario file (`*.scenarios.yaml`) as Rust types. They are the one
//! source of its format: serde reads a file into them, and [`schema`]
//! generates from them the JSON Schema that ctest checks every file against
//! (every error at once, each at its line and column) and that editors
//! validate with (`schemas/ctest-scenarios.schema.json`, checked by a test
//! to be up to date; `ctest schema scenarios` prints it).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A file of scenarios: a connector's own tests, declared.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "ctest scenarios")]
pub struct ScenarioFile {
    /// Files of shared steps (`*.steps.yaml`, relative to this one) whose
    /// `shared_steps` lists this file's scenarios may `include` too: a login
    /// or a setup written once for every scenario file of a project.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<String>,
    /// Variables the scenarios use as `{{ vars.NAME }}`. A value comes from
    /// `--var NAME=VALUE`, else the test configuration's `vars`, else the
    /// environment variable `env` names, else `default`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, VarDecl>,
    /// Step lists written once and used by scenarios with `include: NAME`
    /// (a login, a setup).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub shared_steps: BTreeMap<String, Vec<Step>>,
    /// The scenarios, each a test `scenario/<file>/<name>` (none in a file
    /// of shared steps).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scenarios: Vec<Scenario>,
}

/// A variable.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VarDecl {
    /// What it is, for the reader.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its value when nothing else gives one.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub default: Option<Value>,
    /// The environment variable its value may come from. No other variable
    /// of ctest's environment is read.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub env: Option<String>,
    /// Mask its value everywhere (reports, logs, cassettes, messages).
    #[serde(default, skip_serializing_if = "is_false")]
    pub secret: bool,
}

/// A scenario: named steps, their setup and cleanup.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Its test name: `scenario/<file>/<name>`, with the values of its
    /// `for_each` row or `matrix` cell in brackets.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,100}$"))]
    pub name: String,
    /// What it checks and why, for the reader.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Steps run first; a failure fails the scenario, and `steps` do not run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub setup: Vec<Step>,
    /// The steps under test, in order.
    #[schemars(length(min = 1))]
    pub steps: Vec<Step>,
    /// Steps that always run last, also after a failure (deleting what the
    /// scenario wrote). Their own failure fails the scenario.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cleanup: Vec<Step>,
    /// Run the scenario once per row, its values as `{{ each.KEY }}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub for_each: Vec<BTreeMap<String, Value>>,
    /// Run the scenario once per combination of these values (with each
    /// `for_each` row, if any), as `{{ each.KEY }}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub matrix: BTreeMap<String, Vec<Value>>,
    /// Do not run it, for this reason (required).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub skip: Option<String>,
    /// Do not run it when a value meets a predicate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_if: Option<SkipIf>,
    /// After a failed step: `stop` (the default; cleanup still runs) or
    /// `continue` with the next step, to see every failure at once.
    #[serde(default)]
    pub on_fail: OnFail,
    /// Run it at the same time as the other parallel scenarios (it must not
    /// share data with them).
    #[serde(default, skip_serializing_if = "is_false")]
    pub parallel: bool,
    /// The time limit of the whole scenario, in seconds (default: the run's
    /// limit for reads).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.001))]
    pub timeout_seconds: Option<f64>,
}

/// `skip_if`: skip when `value` (a template, such as `{{ vars.mode }}`)
/// meets `is`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SkipIf {
    #[serde(deserialize_with = "present")]
    #[schemars(required)]
    pub value: Option<Value>,
    pub is: Predicate,
    /// Why (required).
    #[schemars(length(min = 1))]
    pub reason: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnFail {
    #[default]
    Stop,
    Continue,
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Spec,
    Check,
    Discover,
    Read,
    Write,
    Delete,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Spec => "spec",
            Op::Check => "check",
            Op::Discover => "discover",
            Op::Read => "read",
            Op::Write => "write",
            Op::Delete => "delete",
        }
    }
}

/// A step: one operation on the connector, what it must answer, what must
/// hold of its result, and what to keep of it for later steps. Or
/// `include: NAME`, the shared step list of that name, alone.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The `shared_steps` list to run here (then no other key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub op: Option<Op>,
    /// A label for messages (default: the operation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A JSON merge patch (RFC 7396) over the config: keys set, `null`
    /// removes one.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub config: Option<Value>,
    /// Another config file instead of the run's (relative to this file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_file: Option<String>,
    /// An environment variable holding the config instead of the run's.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub config_env: Option<String>,
    /// read: the streams to read and how (default: every stream, full
    /// refresh). Keys and primary keys are discovery's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalog: Option<BTreeMap<String, SyncModeName>>,
    /// read: the state to start from, per stream (inline, or a capture:
    /// `"{{ captures.NAME }}"`).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub state: Option<Value>,
    /// write, delete: the table (stream).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// write, delete: how many rows (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10000))]
    pub count: Option<u32>,
    /// write, delete: the tag of the rows (default `{{ unique }}`, unique to
    /// the run, so that reruns never collide).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<StepLimits>,
    /// What the operation must answer (default: it succeeds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
    /// Path into the result → what must hold there.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub assert: BTreeMap<String, Predicate>,
    /// Name → path into the result: kept for later steps as
    /// `{{ captures.NAME }}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub capture: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncModeName {
    FullRefresh,
    Incremental,
}

/// The limits of one step.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepLimits {
    /// The step's time limit, in seconds (within the scenario's).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.001))]
    pub timeout_seconds: Option<f64>,
    /// read: the most records (and states) kept for assertions (default
    /// 10000; and at most 128 MiB of them); past it, records are counted,
    /// not kept, and `truncated` is true.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000000))]
    pub max_records: Option<u64>,
}

/// What the operation must answer.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub status: ExpectStatus,
    /// A regular expression the answer's message must match (`failed`,
    /// `error`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `error`: the connector error's failure type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_type: Option<FailureTypeName>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExpectStatus {
    /// It succeeds (for check: the outcome is `succeeded`).
    Succeeded,
    /// check: the outcome is `failed`.
    Failed,
    /// It returns a connector error.
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureTypeName {
    SystemError,
    ConfigError,
    TransientError,
}

/// What must hold of a value. Every key given must hold. A value that is
/// missing (the path leads nowhere) is not `null`: only `exists: false`
/// and `absent: true` accept it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("minProperties" = 1))]
pub struct Predicate {
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub equals: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub not_equals: Option<Value>,
    /// The path leads to a value (`null` included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
    /// The path leads nowhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub absent: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_null: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_true: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_false: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_one_of: Option<Vec<Value>>,
    /// A string holds this text; a list, this element; an object, this key.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub contains: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub not_contains: Option<Value>,
    /// The length of a string (characters), list or object (keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_length: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_empty: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_not_empty: Option<bool>,
    /// Numbers compare as numbers, strings (such as RFC 3339 times in one
    /// zone) as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub greater_than: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub greater_than_or_equal: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub less_than: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub less_than_or_equal: Option<Value>,
    /// `[low, high]`, both included.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 2))]
    pub between: Option<Vec<Value>>,
    /// A regular expression the string matches (anywhere; anchor with `^…$`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starts_with: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends_with: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_type: Option<TypeName>,
    /// Every predicate holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_of: Option<Vec<Predicate>>,
    /// At least one holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub any_of: Option<Vec<Predicate>>,
    /// None holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub none_of: Option<Vec<Predicate>>,
    /// A list whose every element meets this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub each: Option<Box<Predicate>>,
    /// A list with at least one element that meets this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub any: Option<Box<Predicate>>,
    /// A list: the number of its elements that meet `where` meets `is`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<Box<Count>>,
    /// Paths inside the value → what holds there (`{id: {is_type: integer}}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<BTreeMap<String, Predicate>>,
    /// The value is valid against this JSON Schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// The value, a list of records, holds the records of a JSON Lines file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records_file: Option<RecordsFile>,
}

/// `count`: how many elements of a list meet `where`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Count {
    #[serde(rename = "where")]
    pub matching: Predicate,
    pub is: Predicate,
}

/// `records_file`: expected records, one JSON object per line.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordsFile {
    /// The file, relative to the scenario file.
    pub path: String,
    /// Fields left out on both sides (dot paths), such as `updated_at`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored_fields: Vec<String>,
    /// Whether the value may hold records the file does not (default false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub extra_records: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TypeName {
    String,
    Number,
    Integer,
    Boolean,
    Object,
    Array,
    Null,
}

impl TypeName {
    pub fn name(self) -> &'static str {
        match self {
            TypeName::String => "string",
            TypeName::Number => "number",
            TypeName::Integer => "integer",
            TypeName::Boolean => "boolean",
            TypeName::Object => "object",
            TypeName::Array => "array",
            TypeName::Null => "null",
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A key given with any value, `null` included, is `Some`: `equals: null`
/// is a predicate, not an absent one.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// The JSON Schema of a scenario file (draft 7). An optional key is left
/// out, never `null`: the generated `null` alternatives are taken out again.
pub fn schema() -> Value {
    let schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<ScenarioFile>();
    let mut value = schema.to_value();
    drop_null(&mut value);
    if let Value::Object(map) = &mut value {
        map.insert(
            "$id".into(),
            Value::String("https://ctest.dev/schemas/ctest-scenarios.schema.json".into()),
        );
    }
    value
}

/// Takes `null` out of every `type` list, and unwraps every `anyOf` of a
/// schema and `{"type": "null"}`.
fn drop_null(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(alternatives)) = map.get("anyOf") {
                let rest: Vec<Value> = alternatives
                    .iter()
                    .filter(|a| **a != serde_json::json!({"type": "null"}))
                    .cloned()
                    .collect();
                if rest.len() == 1 && alternatives.len() == 2 {
                    map.remove("anyOf");
                    if let Value::Object(inner) = &rest[0] {
                        for (k, v) in inner {
                            map.entry(k.clone()).or_insert(v.clone());
                        }
                    }
                }
            }
            map.values_mut().for_each(drop_null);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null),
        _ => {}
    }
}
