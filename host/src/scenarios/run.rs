//! Running one case: each step's operation on a fresh instance (through the
//! ops library, under the test's limits, network policy and cassette), its
//! answer against `expect`, its result against `assert`, and its
//! `capture`s kept for the steps after it. Cleanup always runs.
//!
//! What a path reads, per operation:
//! - every step: `status` (`succeeded`, `failed`, `error`), `message`, and
//!   on an error `error.message`, `error.failure_type`, `error.internal_message`;
//! - spec: `name`, `version`, `connection_specification` (the schema),
//!   `allowed_hosts`, `features`, `documentation_url`;
//! - check: the above only;
//! - discover: `streams` (each `name`, `json_schema`, `supported_sync_modes`,
//!   `source_defined_cursor`, `default_cursor_field`,
//!   `source_defined_primary_key`, `ingestion_type`), `stream_names`;
//! - read: `records.STREAM` (lists), `counts.STREAM`, `record_count`,
//!   `states.STREAM` (every state), `state.STREAM` (the last), `statuses.STREAM`,
//!   `logs` (`level`, `message`), `errors` (`stream`, `message`,
//!   `failure_type`), `truncated`;
//! - write, delete: `table`, `rows`, `mapping` (field → record path),
//!   `row_count`, `tag`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::file::{Expect, ExpectStatus, FailureTypeName, OnFail, Op, Step, SyncModeName};
use super::load::{Case, Loaded, Phase, Planned};
use super::predicate::{Eval, show};
use super::template::Scope;
use crate::checks::{Failure, Verdict};
use crate::ops::TestCtx;
use crate::ops::read::{ReadError, read_answer};
use crate::sandbox::Msg;
use crate::sandbox::bindings::ctest::connector::types as wit;
use crate::sandbox::{Component, ConnectorError, PluginError};

/// The records a read keeps for assertions when the step does not say.
pub const DEFAULT_MAX_RECORDS: u64 = 10_000;
/// The log lines and error traces a read keeps.
const MAX_LOGS: usize = 1_000;
/// The problems a failed case lists.
const SHOWN_PROBLEMS: usize = 5;
/// The bytes of records and states a read keeps for assertions, at most.
const MAX_KEPT_BYTES: usize = 128 << 20;
/// The least time each cleanup step gets, even when the scenario's own has
/// run out (within the run's quota): what a scenario wrote is deleted also
/// after a timeout.
const CLEANUP_GRACE: Duration = Duration::from_secs(30);

/// What a case runs with.
pub struct CaseRun<'a> {
    pub loaded: &'a Loaded,
    pub case: &'a Case,
    /// The run's config.
    pub config: &'a Value,
    pub vars: &'a BTreeMap<String, Value>,
    /// What `write` and `delete` steps write with: the test-utils, else the
    /// connector's own write-back export.
    pub writer: Option<&'a Component>,
    /// Why the run may not change the source, if it may not.
    pub writes_refused: Option<&'a str>,
}

impl CaseRun<'_> {
    /// Whether any step writes to or deletes from the source.
    pub fn writes(&self) -> bool {
        self.case
            .steps
            .iter()
            .any(|s| matches!(s.step.op, Some(Op::Write | Op::Delete)))
    }
}

/// Runs the case on `ctx`.
pub fn run_case(ctx: &mut TestCtx<'_>, c: &CaseRun<'_>) -> Verdict {
    let scenario = &c.loaded.file.scenarios[c.case.scenario];
    if let Some(reason) = &scenario.skip {
        return Verdict::Skip(format!("skipped by the scenario file: {reason}"));
    }
    let unique = ctx.network.tag();
    let mut captures = BTreeMap::new();
    let secrets = ctx.secrets.clone();
    let eval = Eval::new(&c.loaded.records_files).masking(&secrets);
    if let Some(skip_if) = &scenario.skip_if {
        let scope = Scope {
            unique: &unique,
            vars: c.vars,
            each: &c.case.each,
            captures: &captures,
        };
        let value = skip_if.value.clone().unwrap_or(Value::Null);
        match scope.render(&value) {
            Ok(v) if eval.check(&skip_if.is, Some(&v)).is_ok() => {
                return Verdict::Skip(format!(
                    "skipped by the scenario file (skip_if): {}",
                    skip_if.reason
                ));
            }
            Ok(_) => {}
            Err(e) => return Verdict::fail(format!("skip_if: {e}")),
        }
    }
    if c.writes()
        && let Some(why) = c.writes_refused
    {
        return Verdict::Skip(format!("the scenario writes to the source, and {why}"));
    }
    let mut catalog: Option<Vec<wit::StreamInfo>> = None;
    let mut problems: Vec<String> = Vec::new();
    let mut stopped = false;
    for planned in &c.case.steps {
        if stopped && planned.phase != Phase::Cleanup {
            continue;
        }
        let scope = Scope {
            unique: &unique,
            vars: c.vars,
            each: &c.case.each,
            captures: &captures,
        };
        // Each step's calls have the test's time limit; cleanup at least its
        // grace (the run's quota still cuts both short).
        let time_limit = ctx.time_limit;
        if planned.phase == Phase::Cleanup {
            ctx.time_limit = time_limit.max(CLEANUP_GRACE);
        }
        let outcome = run_step(ctx, c, planned, &scope, &eval, &mut catalog);
        ctx.time_limit = time_limit;
        match outcome {
            Ok(kept) => captures.extend(kept),
            Err(found) => {
                problems.extend(found.into_iter().map(|p| format!("{}: {p}", planned.label)));
                if scenario.on_fail == OnFail::Stop || planned.phase == Phase::Setup {
                    stopped = true;
                }
            }
        }
    }
    if problems.is_empty() {
        return Verdict::Pass;
    }
    let count = problems.len() as u64;
    problems.truncate(SHOWN_PROBLEMS);
    Verdict::Fail(Failure::with_problems(
        &format!(
            "expected every step of scenario `{}` to answer as it expects and every assertion to hold",
            c.case.name
        ),
        count,
        problems,
        "if the connector is right, correct the scenario at that line; otherwise fix the connector's answer to that operation",
    ))
}

/// What an operation answered.
struct Answer {
    status: ExpectStatus,
    /// check's failure reason, or the connector error's message.
    message: Option<String>,
    failure_type: Option<String>,
    /// What paths read.
    result: Value,
}

impl Answer {
    fn succeeded(result: Value) -> Answer {
        Answer {
            status: ExpectStatus::Succeeded,
            message: None,
            failure_type: None,
            result,
        }
    }

    fn error(e: ConnectorError) -> Answer {
        Answer {
            status: ExpectStatus::Error,
            message: Some(e.message.clone()),
            failure_type: Some(e.failure_type.clone()),
            result: json!({"error": {
                "message": e.message,
                "failure_type": e.failure_type,
                "internal_message": e.internal_message,
            }}),
        }
    }

    /// The result with `status` and `message` at its top.
    fn document(mut self) -> Value {
        if let Value::Object(map) = &mut self.result {
            map.insert("status".into(), json!(status_name(self.status)));
            map.insert("message".into(), json!(self.message));
        }
        self.result
    }
}

fn status_name(s: ExpectStatus) -> &'static str {
    match s {
        ExpectStatus::Succeeded => "succeeded",
        ExpectStatus::Failed => "failed",
        ExpectStatus::Error => "error",
    }
}

/// Runs one step: `Ok` with its captures, or the problems found.
fn run_step(
    ctx: &mut TestCtx<'_>,
    c: &CaseRun<'_>,
    planned: &Planned,
    scope: &Scope<'_>,
    eval: &Eval<'_>,
    catalog: &mut Option<Vec<wit::StreamInfo>>,
) -> Result<BTreeMap<String, Value>, Vec<String>> {
    let step = &planned.step;
    let one = |e: String| vec![e];
    let op = step.op.ok_or_else(|| one("a step without `op`".into()))?;
    // A step's own limit narrows the test's per-call limit.
    let time_limit = ctx.time_limit;
    if let Some(seconds) = step.limits.as_ref().and_then(|l| l.timeout_seconds) {
        ctx.time_limit = time_limit.min(Duration::from_secs_f64(seconds));
    }
    let answer = answer(ctx, c, step, op, scope, catalog);
    ctx.time_limit = time_limit;
    let answer = answer.map_err(one)?;
    expect_holds(step.expect.as_ref(), op, &answer, scope, &ctx.secrets).map_err(one)?;
    let document = answer.document();
    let mut problems = Vec::new();
    for (path, predicate) in &step.assert {
        let parsed = super::path::parse(path).map_err(one)?;
        let value = parsed.resolve(&document);
        let predicate = match render_predicate(predicate, scope) {
            Ok(p) => p,
            Err(e) => {
                problems.push(format!("at `{path}`: {e}"));
                continue;
            }
        };
        if let Err(why) = eval.check(&predicate, value.as_ref()) {
            problems.push(format!("at `{path}`: {why}"));
        }
    }
    let mut kept = BTreeMap::new();
    for (name, path) in &step.capture {
        let parsed = super::path::parse(path).map_err(one)?;
        match parsed.resolve(&document) {
            Some(v) => {
                kept.insert(name.clone(), v);
            }
            None => problems.push(format!(
                "capture `{name}`: the result has nothing at `{path}`"
            )),
        }
    }
    if problems.is_empty() {
        Ok(kept)
    } else {
        Err(problems)
    }
}

/// The predicate with its templates replaced (when it has any).
fn render_predicate(
    p: &super::file::Predicate,
    scope: &Scope<'_>,
) -> Result<super::file::Predicate, String> {
    let value = serde_json::to_value(p).map_err(|e| e.to_string())?;
    if !value.to_string().contains("{{") {
        return Ok(p.clone());
    }
    let rendered = scope.render(&value)?;
    serde_json::from_value(rendered).map_err(|e| format!("after its templates: {e}"))
}

/// Whether the answer is what `expect` (default: success) wants.
fn expect_holds(
    expect: Option<&Expect>,
    op: Op,
    answer: &Answer,
    scope: &Scope<'_>,
    mask: &crate::redact::Redactor,
) -> Result<(), String> {
    let want = expect.map_or(ExpectStatus::Succeeded, |e| e.status);
    let verb = match want {
        ExpectStatus::Succeeded => "succeed",
        ExpectStatus::Failed => "fail (a failed outcome)",
        ExpectStatus::Error => "return a connector error",
    };
    if answer.status != want {
        let came = match answer.status {
            ExpectStatus::Succeeded => "it succeeded".to_string(),
            ExpectStatus::Failed => format!(
                "it failed: {}",
                show(&json!(answer.message.clone().unwrap_or_default()))
            ),
            ExpectStatus::Error => format!(
                "it returned an error ({}): {}",
                answer.failure_type.as_deref().unwrap_or("?"),
                show(&json!(answer.message.clone().unwrap_or_default()))
            ),
        };
        return Err(format!("expected `{}` to {verb}; {came}", op.name()));
    }
    let Some(expect) = expect else {
        return Ok(());
    };
    if let Some(pattern) = &expect.message {
        let message = answer.message.clone().unwrap_or_default();
        let pattern = &scope.render_text(pattern)?;
        let re = super::predicate::compile(pattern)?;
        if !re.is_match(&message) {
            return Err(format!(
                "expected the message of `{}` to match `{}`; it was {}",
                op.name(),
                mask.redact(pattern),
                show(&json!(message))
            ));
        }
    }
    if let Some(t) = expect.failure_type {
        let want = match t {
            FailureTypeName::SystemError => "system_error",
            FailureTypeName::ConfigError => "config_error",
            FailureTypeName::TransientError => "transient_error",
        };
        let got = answer.failure_type.as_deref().unwrap_or("?");
        if got != want {
            return Err(format!(
                "expected the error of `{}` to be a `{want}`; it was a `{got}`",
                op.name()
            ));
        }
    }
    Ok(())
}

/// The config a step runs with: the run's (or `config_file`'s, or
/// `config_env`'s), with the step's merge patch.
fn step_config(c: &CaseRun<'_>, step: &Step, scope: &Scope<'_>) -> Result<Value, String> {
    let mut config = if let Some(file) = &step.config_file {
        let path = c.loaded.config_files.get(file).ok_or_else(|| {
            format!("config_file `{file}` was not found when the file was loaded")
        })?;
        read_json_object(
            &std::fs::read_to_string(path)
                .map_err(|e| format!("config_file `{}`: {e}", path.display()))?,
            &format!("config_file `{}`", path.display()),
        )?
    } else if let Some(var) = &step.config_env {
        let text = std::env::var(var).map_err(|_| {
            format!("config_env: the environment variable `{var}` is not set (fix: set it to the config's JSON)")
        })?;
        read_json_object(&text, &format!("config_env `${var}`"))?
    } else {
        c.config.clone()
    };
    if let Some(patch) = &step.config {
        let patch = scope.render(patch)?;
        merge_patch(&mut config, &patch);
    }
    Ok(config)
}

fn read_json_object(text: &str, what: &str) -> Result<Value, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("{what} is not JSON: {e}"))?;
    if !v.is_object() {
        return Err(format!("{what} is not a JSON object"));
    }
    Ok(v)
}

/// RFC 7396: `patch`'s keys set, `null` removes one, objects merge.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let Value::Object(map) = target else { return };
    for (k, v) in patch {
        if v.is_null() {
            map.remove(k);
        } else {
            merge_patch(map.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// The configs a case's steps will run with, as far as they are known
/// before it runs (captures aside): their secrets are masked from the start.
pub fn configs_of(c: &CaseRun<'_>, unique: &str) -> Vec<Value> {
    let captures = BTreeMap::new();
    let scope = Scope {
        unique,
        vars: c.vars,
        each: &c.case.each,
        captures: &captures,
    };
    c.case
        .steps
        .iter()
        .filter(|s| {
            s.step.config.is_some() || s.step.config_file.is_some() || s.step.config_env.is_some()
        })
        .filter_map(|s| step_config(c, &s.step, &scope).ok())
        .collect()
}

fn plugin_error(e: PluginError) -> String {
    e.to_string()
}

/// Runs the operation and says what it answered. `Err`: it could not be
/// asked (a trap, a time limit, a quota, a bad template…).
fn answer(
    ctx: &mut TestCtx<'_>,
    c: &CaseRun<'_>,
    step: &Step,
    op: Op,
    scope: &Scope<'_>,
    catalog: &mut Option<Vec<wit::StreamInfo>>,
) -> Result<Answer, String> {
    if op == Op::Spec {
        let mut plugin = ctx.instance().map_err(plugin_error)?;
        let spec = plugin.spec();
        ctx.keep_logs(&plugin);
        let spec = spec.map_err(plugin_error)?;
        return Ok(Answer::succeeded(spec_document(&spec)));
    }
    let config = step_config(c, step, scope)?;
    let config_text = config.to_string();
    match op {
        Op::Spec => unreachable!("answered above"),
        Op::Check => {
            let mut plugin = ctx.instance().map_err(plugin_error)?;
            let outcome = plugin.check(&config_text);
            ctx.keep_logs(&plugin);
            Ok(match outcome.map_err(plugin_error)? {
                Ok(wit::CheckOutcome::Succeeded) => Answer::succeeded(json!({})),
                Ok(wit::CheckOutcome::Failed(message)) => Answer {
                    status: ExpectStatus::Failed,
                    message: Some(message),
                    failure_type: None,
                    result: json!({}),
                },
                Err(e) => Answer::error(e.into()),
            })
        }
        Op::Discover => match discover(ctx, &config_text)? {
            Ok(streams) => {
                let document = catalog_document(&streams);
                *catalog = Some(streams);
                Ok(Answer::succeeded(document))
            }
            Err(e) => Ok(Answer::error(e)),
        },
        Op::Read => read(ctx, step, scope, &config_text, catalog),
        Op::Write | Op::Delete => {
            let writer = c.writer.ok_or_else(|| {
                "no write-back: the connector does not export it and no --test-utils was given (fix: pass --test-utils UTILS.wasm, or export write-back from the connector)".to_string()
            })?;
            let table = scope.render_text(step.table.as_deref().unwrap_or_default())?;
            let tag = match &step.tag {
                Some(t) => scope.render_text(t)?,
                None => scope.unique.to_string(),
            };
            let count = step.count.unwrap_or(1);
            let mut utils = ctx.instance_of(writer).map_err(plugin_error)?;
            let changed = utils.change_rows(op == Op::Delete, &config_text, &table, count, &tag);
            ctx.keep_logs(&utils);
            Ok(match changed.map_err(plugin_error)? {
                Err(e) => Answer::error(e.into()),
                Ok(changed) => {
                    let rows: Vec<Value> = changed
                        .rows
                        .iter()
                        .map(|r| serde_json::from_str(r).unwrap_or_else(|_| json!(r)))
                        .collect();
                    let mapping: serde_json::Map<String, Value> = changed
                        .column_mapping
                        .into_iter()
                        .map(|(field, path)| (field, json!(path)))
                        .collect();
                    Answer::succeeded(json!({
                        "table": table,
                        "tag": tag,
                        "row_count": rows.len(),
                        "rows": rows,
                        "mapping": mapping,
                    }))
                }
            })
        }
    }
}

fn discover(
    ctx: &mut TestCtx<'_>,
    config: &str,
) -> Result<Result<Vec<wit::StreamInfo>, ConnectorError>, String> {
    let mut plugin = ctx.instance().map_err(plugin_error)?;
    let catalog = plugin.discover(config);
    ctx.keep_logs(&plugin);
    Ok(match catalog.map_err(plugin_error)? {
        Ok(c) => Ok(c.streams),
        Err(e) => Err(e.into()),
    })
}

fn json_or_text(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

fn spec_document(spec: &wit::ConnectorSpec) -> Value {
    json!({
        "name": spec.name,
        "version": spec.version,
        "connection_specification": json_or_text(&spec.connection_specification),
        "allowed_hosts": spec.allowed_hosts,
        "features": spec.features.iter().map(|f| match f {
            wit::Feature::Incremental => "incremental",
            wit::Feature::WriteBack => "write-back",
        }).collect::<Vec<_>>(),
        "documentation_url": spec.documentation_url,
    })
}

fn mode_name(m: &wit::SyncMode) -> &'static str {
    match m {
        wit::SyncMode::FullRefresh => "full_refresh",
        wit::SyncMode::Incremental => "incremental",
    }
}

fn catalog_document(streams: &[wit::StreamInfo]) -> Value {
    json!({
        "stream_names": streams.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        "streams": streams.iter().map(|s| json!({
            "name": s.name,
            "json_schema": json_or_text(&s.json_schema),
            "supported_sync_modes": s.supported_sync_modes.iter().map(mode_name).collect::<Vec<_>>(),
            "source_defined_cursor": s.source_defined_cursor,
            "default_cursor_field": s.default_cursor_field,
            "source_defined_primary_key": s.source_defined_primary_key,
            "ingestion_type": crate::suites::ingestion_name(s.ingestion_type),
        })).collect::<Vec<_>>(),
    })
}

/// What a read keeps for its document.
#[derive(Default)]
struct Kept {
    records: BTreeMap<String, Vec<Value>>,
    counts: BTreeMap<String, u64>,
    states: BTreeMap<String, Vec<Value>>,
    statuses: BTreeMap<String, Vec<&'static str>>,
    logs: Vec<Value>,
    errors: Vec<Value>,
    kept: u64,
    bytes: usize,
    truncated: bool,
}

fn read(
    ctx: &mut TestCtx<'_>,
    step: &Step,
    scope: &Scope<'_>,
    config: &str,
    catalog: &mut Option<Vec<wit::StreamInfo>>,
) -> Result<Answer, String> {
    if catalog.is_none() {
        match discover(ctx, config)? {
            Ok(streams) => *catalog = Some(streams),
            Err(e) => {
                return Err(format!(
                    "the read needs discover's catalog, and `discover` returned an error: {e}"
                ));
            }
        }
    }
    let streams = catalog.as_deref().unwrap_or_default();
    let configured = match &step.catalog {
        None => streams
            .iter()
            .map(|s| configured_stream(s, wit::SyncMode::FullRefresh))
            .collect(),
        Some(wanted) => {
            let mut out = Vec::new();
            for (name, mode) in wanted {
                let name = scope.render_text(name)?;
                let info = streams.iter().find(|s| s.name == name).ok_or_else(|| {
                    format!(
                        "the step's catalog names `{name}`, which discover does not list (it lists {})",
                        streams.iter().map(|s| format!("`{}`", s.name)).collect::<Vec<_>>().join(", ")
                    )
                })?;
                out.push(configured_stream(
                    info,
                    match mode {
                        SyncModeName::FullRefresh => wit::SyncMode::FullRefresh,
                        SyncModeName::Incremental => wit::SyncMode::Incremental,
                    },
                ));
            }
            out
        }
    };
    let state = match &step.state {
        None => Vec::new(),
        Some(state) => match scope.render(state)? {
            Value::Object(map) => map
                .into_iter()
                .map(|(stream, data)| wit::StreamState {
                    stream,
                    data: data.to_string(),
                })
                .collect(),
            Value::Null => Vec::new(),
            other => {
                return Err(format!(
                    "`state` must be an object of stream → state; it is {}",
                    show(&other)
                ));
            }
        },
    };
    let max = step
        .limits
        .as_ref()
        .and_then(|l| l.max_records)
        .unwrap_or(DEFAULT_MAX_RECORDS);
    let mut kept = Kept::default();
    for s in &configured {
        kept.records.entry(s.name.clone()).or_default();
        kept.counts.entry(s.name.clone()).or_default();
    }
    let catalog = wit::ConfiguredCatalog {
        streams: configured,
    };
    let outcome = {
        let kept = &mut kept;
        read_answer(ctx, config, &catalog, &state, &mut |m| keep(kept, m, max))
    };
    let error = match outcome {
        Ok(()) => None,
        Err(ReadError::Refused(e) | ReadError::Failed(e)) => Some(e),
        Err(ReadError::Other(why)) => return Err(why),
    };
    let last: BTreeMap<String, Value> = kept
        .states
        .iter()
        .filter_map(|(s, all)| Some((s.clone(), all.last()?.clone())))
        .collect();
    let total: u64 = kept.counts.values().sum();
    let document = json!({
        "records": kept.records,
        "counts": kept.counts,
        "record_count": total,
        "states": kept.states,
        "state": last,
        "statuses": kept.statuses,
        "logs": kept.logs,
        "errors": kept.errors,
        "truncated": kept.truncated,
    });
    Ok(match error {
        None => Answer::succeeded(document),
        Some(e) => {
            let mut answer = Answer::error(e);
            // What came before the error stays readable.
            if let (Value::Object(into), Value::Object(from)) = (&mut answer.result, document) {
                into.extend(from);
            }
            answer
        }
    })
}

fn configured_stream(s: &wit::StreamInfo, mode: wit::SyncMode) -> wit::ConfiguredStream {
    wit::ConfiguredStream {
        name: s.name.clone(),
        sync_mode: mode,
        cursor_field: s.default_cursor_field.clone(),
        primary_key: s.source_defined_primary_key.clone(),
    }
}

/// Keeps one message of a read, within the bounds.
fn keep(kept: &mut Kept, message: Msg<'_>, max: u64) {
    let room = |kept: &mut Kept, bytes: usize| {
        if kept.kept < max && kept.bytes + bytes <= MAX_KEPT_BYTES {
            kept.kept += 1;
            kept.bytes += bytes;
            true
        } else {
            kept.truncated = true;
            false
        }
    };
    let message = match message {
        Msg::Record(r) => {
            *kept.counts.entry(r.stream.to_string()).or_default() += 1;
            if room(kept, r.data.len()) {
                kept.records
                    .entry(r.stream.to_string())
                    .or_default()
                    .push(json_or_text(r.data));
            }
            return;
        }
        Msg::Other(message) => message.clone(),
    };
    match message {
        wit::Message::State(s) => {
            if room(kept, s.data.len()) {
                kept.states
                    .entry(s.stream)
                    .or_default()
                    .push(json_or_text(&s.data));
            }
        }
        wit::Message::Log(l) => {
            if kept.logs.len() < MAX_LOGS {
                kept.logs.push(json!({
                    "level": crate::sandbox::level_name(l.level),
                    "message": l.message,
                }));
            }
        }
        wit::Message::Trace(wit::TraceMessage::StreamStatus(s)) => {
            let status = crate::checks::records::status_name(s.status);
            let list = kept.statuses.entry(s.stream).or_default();
            if list.len() < MAX_LOGS {
                list.push(status);
            }
        }
        wit::Message::Trace(wit::TraceMessage::Error(e)) => {
            if kept.errors.len() < MAX_LOGS {
                let error = ConnectorError::from(e.error);
                kept.errors.push(json!({
                    "stream": e.stream,
                    "message": error.message,
                    "failure_type": error.failure_type,
                }));
            }
        }
        // A batch hands records out as `Msg::Record`.
        wit::Message::Record(_) | wit::Message::Records(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_merge_patch_sets_removes_and_merges_keys() {
        let mut config = json!({"api_key": "k", "page_size": 50, "nested": {"a": 1, "b": 2}});
        merge_patch(
            &mut config,
            &json!({"api_key": "expired", "page_size": null, "nested": {"b": 3}}),
        );
        assert_eq!(
            config,
            json!({"api_key": "expired", "nested": {"a": 1, "b": 3}})
        );
    }
}
