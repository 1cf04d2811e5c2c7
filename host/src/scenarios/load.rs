//! Reading scenario files: which files, each checked against the generated
//! JSON Schema and then against what a schema cannot say (an `include` of a
//! list that does not exist, a template naming an unknown variable, a key
//! that does not fit the step's operation…). Every error of a file is
//! reported at once, each at its line and column with its fix. A file that
//! passes becomes its cases: one per scenario, `for_each` row and `matrix`
//! cell, with every `include` in place.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use serde_json::Value;

use super::file::{ExpectStatus, Op, Predicate, ScenarioFile, Step};
use super::template::{self, Root};

/// The largest scenario file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// The largest records file read, in bytes.
pub const MAX_RECORDS_FILE_BYTES: u64 = 64 << 20;
/// The most cases one scenario may expand to (`for_each` × `matrix`).
pub const MAX_CASES: usize = 1000;
/// The most errors shown for one file.
const MAX_ERRORS: usize = 50;

/// A scenario file, read and checked.
#[derive(Debug)]
pub struct Loaded {
    pub path: PathBuf,
    /// Its name in test ids: the file name without `.scenarios.yaml`.
    pub stem: String,
    pub file: ScenarioFile,
    /// The records files its `records_file` predicates name, read.
    pub records_files: HashMap<String, Arc<Vec<Value>>>,
    /// `config_file` paths as given → the file, confined to the project.
    pub config_files: HashMap<String, PathBuf>,
    pub cases: Vec<Case>,
}

/// One test: a scenario with one `for_each` row / `matrix` cell.
#[derive(Debug, Clone)]
pub struct Case {
    /// `name` or `name[key=value,…]`.
    pub name: String,
    /// Its scenario, in the file's list.
    pub scenario: usize,
    pub each: BTreeMap<String, Value>,
    pub steps: Vec<Planned>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Setup,
    Steps,
    Cleanup,
}

/// A step in its place: which phase, and a label that finds it in the file.
#[derive(Debug, Clone)]
pub struct Planned {
    pub step: Step,
    pub phase: Phase,
    /// For example `steps[2] (read, line 14)`.
    pub label: String,
}

/// One problem of a file, at a place.
struct Problem {
    line: usize,
    column: usize,
    what: String,
    fix: String,
}

/// The scenario files of a project: those `globs` name (relative to the test
/// configuration's directory `base`), else every `*.scenarios.yaml` in it.
pub fn files(
    base: &Path,
    globs: Option<&[String]>,
    allowed: &[PathBuf],
) -> Result<Vec<PathBuf>, String> {
    let dir = if base.as_os_str().is_empty() {
        Path::new(".")
    } else {
        base
    };
    let patterns: Vec<String> = match globs {
        Some(g) => g.to_vec(),
        None => vec!["*.scenarios.yaml".into()],
    };
    let mut out = BTreeSet::new();
    for pattern in &patterns {
        crate::test_config::confine(dir, "scenarios", Path::new(pattern), allowed)?;
        let full = dir.join(pattern);
        let matches = glob::glob(&full.to_string_lossy()).map_err(|e| {
            format!("scenarios: `{pattern}` is not a valid glob: {e}\n  fix: use `*` and `?` in file names, for example `tests/*.scenarios.yaml`")
        })?;
        let mut any = false;
        for path in matches.flatten() {
            if path.is_file() {
                let relative = path.strip_prefix(dir).unwrap_or(&path).to_path_buf();
                out.insert(crate::test_config::confine(
                    dir,
                    "scenarios",
                    &relative,
                    allowed,
                )?);
                any = true;
            }
        }
        if !any && globs.is_some() {
            return Err(format!(
                "scenarios: `{pattern}` names no file in `{}`\n  fix: correct the path or glob, relative to the test configuration",
                dir.display()
            ));
        }
    }
    Ok(out.into_iter().collect())
}

/// The checker of scenario files: the generated schema, compiled once.
static CHECKER: LazyLock<(Value, jsonschema::Validator)> = LazyLock::new(|| {
    let schema = super::file::schema();
    let validator = jsonschema::draft7::new(&schema).expect("the generated schema compiles");
    (schema, validator)
});

/// Reads and checks one file. `Err` holds every problem, each
/// `file:line:column: what` and its fix.
pub fn load(path: &Path, allowed: &[PathBuf]) -> Result<Loaded, String> {
    let name = path.display().to_string();
    let Parsed {
        mut file,
        places,
        spans,
        mut problems,
    } = parse(path)?;
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    if file.scenarios.is_empty() && problems.is_empty() {
        problems.push(Problem {
            line: 1,
            column: 1,
            what: "the file has no scenarios".into(),
            fix: "add `scenarios:`; a file that only shares steps is a `*.steps.yaml` that scenario files list under `imports:`".into(),
        });
    }
    // The imported lists, checked in their own files, then usable here.
    let mut errors = Vec::new();
    let mut origins: HashMap<String, (String, Arc<Spans>)> = HashMap::new();
    let mut records_files = HashMap::new();
    let mut config_files = HashMap::new();
    for (i, import) in file.imports.clone().iter().enumerate() {
        let at = format!("/imports/{i}");
        let problem = |what: String, fix: &str| {
            let (line, column) = spans.at(&at);
            Problem {
                line,
                column,
                what,
                fix: fix.into(),
            }
        };
        let imported_path =
            match crate::test_config::confine(&dir, "imports", Path::new(import), allowed) {
                Ok(p) => p,
                Err(e) => {
                    problems.push(problem(e, "import files inside the project"));
                    continue;
                }
            };
        let imported = match import_steps(&imported_path, allowed) {
            Ok(i) => i,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        for (list, steps) in imported.file.shared_steps {
            if file.shared_steps.contains_key(&list) {
                problems.push(problem(
                    format!("`{import}` shares a step list `{list}`, and so does this file or an earlier import"),
                    "give every shared list its own name",
                ));
                continue;
            }
            file.shared_steps.insert(list.clone(), steps);
            origins.insert(
                list,
                (imported_path.display().to_string(), imported.spans.clone()),
            );
        }
        records_files.extend(imported.records_files);
        config_files.extend(imported.config_files);
    }
    let imported: BTreeSet<String> = origins.keys().cloned().collect();
    let (found, (records_files, config_files)) = check_file(
        &file,
        &places,
        &spans,
        &dir,
        allowed,
        &imported,
        (records_files, config_files),
    );
    problems.extend(found);
    let cases = if problems.is_empty() && errors.is_empty() {
        expand(&file, &spans, &origins, &mut problems)
    } else {
        Vec::new()
    };
    if !problems.is_empty() {
        problems.sort_by_key(|p| (p.line, p.column));
        errors.insert(0, render(&name, problems));
    }
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let stem = file_name
        .strip_suffix(".scenarios.yaml")
        .or_else(|| file_name.strip_suffix(".yaml"))
        .or_else(|| file_name.strip_suffix(".yml"))
        .unwrap_or(&file_name)
        .to_string();
    Ok(Loaded {
        path: path.to_path_buf(),
        stem,
        file,
        records_files,
        config_files,
        cases,
    })
}

/// The records files and config files a file's steps name, read or found.
type Named = (HashMap<String, Arc<Vec<Value>>>, HashMap<String, PathBuf>);

/// Checks `file` (in `dir`) past its schema, `imported` being the shared
/// lists it took from other files, `named` what those files named: the
/// problems, and every records file and config file named.
fn check_file(
    file: &ScenarioFile,
    places: &[usize],
    spans: &Spans,
    dir: &Path,
    allowed: &[PathBuf],
    imported: &BTreeSet<String>,
    named: Named,
) -> (Vec<Problem>, Named) {
    let (records_files, config_files) = named;
    let mut checker = Checker {
        file,
        places,
        spans,
        dir,
        allowed,
        imported,
        problems: Vec::new(),
        records_files,
        config_files,
    };
    checker.check();
    (
        checker.problems,
        (checker.records_files, checker.config_files),
    )
}

/// A file of shared steps, read and checked in its own right.
struct Imported {
    file: ScenarioFile,
    spans: Arc<Spans>,
    records_files: HashMap<String, Arc<Vec<Value>>>,
    config_files: HashMap<String, PathBuf>,
}

fn import_steps(path: &Path, allowed: &[PathBuf]) -> Result<Imported, String> {
    let name = path.display().to_string();
    let Parsed {
        file,
        places,
        spans,
        mut problems,
    } = parse(path)?;
    for (key, given) in [
        ("scenarios", !file.scenarios.is_empty()),
        ("imports", !file.imports.is_empty()),
        ("vars", !file.vars.is_empty()),
    ] {
        if given {
            let (line, column) = spans.at(&format!("/{key}"));
            problems.push(Problem {
                line,
                column,
                what: format!("a file of shared steps has `{key}`"),
                fix: "keep only `shared_steps` here; declare variables and write scenarios in the scenario files that import it".into(),
            });
        }
    }
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let (found, (records_files, config_files)) = check_file(
        &file,
        &places,
        &spans,
        &dir,
        allowed,
        &BTreeSet::new(),
        Default::default(),
    );
    problems.extend(found);
    if !problems.is_empty() {
        problems.sort_by_key(|p| (p.line, p.column));
        return Err(render(&name, problems));
    }
    Ok(Imported {
        file,
        spans: Arc::new(spans),
        records_files,
        config_files,
    })
}

/// A file read and checked against the schema: what is well formed of it,
/// where each of its values is, and its problems of form.
struct Parsed {
    file: ScenarioFile,
    /// Each scenario's index in the file.
    places: Vec<usize>,
    spans: Spans,
    problems: Vec<Problem>,
}

fn parse(path: &Path) -> Result<Parsed, String> {
    let name = path.display().to_string();
    let fail = |problems: Vec<Problem>| Err(render(&name, problems));
    let size = std::fs::metadata(path)
        .map_err(|e| format!("{name}: cannot read the scenario file: {e}"))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(format!(
            "{name}: the scenario file has {size} bytes, more than ctest reads ({MAX_FILE_BYTES})\n  fix: split it into several `*.scenarios.yaml` files, and share steps with `shared_steps`"
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{name}: cannot read the scenario file: {e}"))?;
    let document: Value = match serde_yaml_ng::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            return fail(vec![Problem {
                line,
                column,
                what: format!("not valid YAML: {e}"),
                fix: "correct the YAML at that place".into(),
            }]);
        }
    };
    let spans = Spans::of(&text);
    let (schema, validator) = &*CHECKER;
    let problems: Vec<Problem> = validator
        .iter_errors(&document)
        .map(|e| schema_problem(schema, &spans, &e))
        .collect();
    // With errors of form, the parts that are well formed are still checked
    // for the rest, so that every error of the file is found at once.
    let (file, places) = if problems.is_empty() {
        match serde_json::from_value::<ScenarioFile>(document) {
            Ok(f) => {
                let places = (0..f.scenarios.len()).collect();
                (f, places)
            }
            Err(e) => {
                return fail(vec![Problem {
                    line: 1,
                    column: 1,
                    what: e.to_string(),
                    fix: "correct that value".into(),
                }]);
            }
        }
    } else {
        well_formed_parts(&document)
    };
    Ok(Parsed {
        file,
        places,
        spans,
        problems,
    })
}

/// The parts of a file that is not well formed that are: every variable
/// (one that is not well formed as a bare declaration, so that it still
/// counts as declared), every shared list (empty when not well formed), and
/// the scenarios that are.
/// Each scenario kept comes with its index in the file.
fn well_formed_parts(document: &Value) -> (ScenarioFile, Vec<usize>) {
    let entries = |key: &str| {
        document
            .get(key)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let mut file = ScenarioFile {
        imports: Vec::new(),
        vars: entries("vars")
            .into_iter()
            .map(|(k, v)| (k, serde_json::from_value(v).unwrap_or_default()))
            .collect(),
        shared_steps: entries("shared_steps")
            .into_iter()
            .map(|(k, v)| (k, serde_json::from_value(v).unwrap_or_default()))
            .collect(),
        scenarios: Vec::new(),
    };
    let mut places = Vec::new();
    for (i, s) in document
        .get("scenarios")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Ok(scenario) = serde_json::from_value(s.clone()) {
            file.scenarios.push(scenario);
            places.push(i);
        }
    }
    (file, places)
}

fn render(name: &str, mut problems: Vec<Problem>) -> String {
    let count = problems.len();
    problems.truncate(MAX_ERRORS);
    let mut out = format!("{name}: {count} problem(s) in the scenario file:");
    for p in &problems {
        out.push_str(&format!(
            "\n{name}:{}:{}: {}\n  fix: {}",
            p.line, p.column, p.what, p.fix
        ));
    }
    if count > problems.len() {
        out.push_str(&format!("\n… and {} more", count - problems.len()));
    }
    out
}

/// Where each value of a YAML document starts: JSON pointer → (line,
/// column), a mapping's value at its key.
struct Spans(HashMap<String, (usize, usize)>);

impl Spans {
    fn of(text: &str) -> Spans {
        use saphyr_parser::{Event, Parser};
        enum Frame {
            Map {
                key: Option<String>,
            },
            Seq {
                index: usize,
            },
            /// A node used as a mapping key (not a string): not tracked.
            Skip,
        }
        let mut map = HashMap::new();
        map.insert(String::new(), (1, 1));
        let mut frames: Vec<Frame> = Vec::new();
        // The pointer of each open container.
        let mut pointers: Vec<String> = vec![String::new()];
        let mut parser = Parser::new_from_str(text);
        // Which pointer the node starting now has, and whether it is a key.
        fn place(frames: &mut [Frame], pointers: &[String]) -> Option<(String, bool)> {
            let parent = pointers.last().cloned().unwrap_or_default();
            match frames.last_mut() {
                None => Some((parent, false)),
                Some(Frame::Map { key: None }) => None,
                Some(Frame::Map { key: Some(k) }) => {
                    Some((format!("{parent}/{}", escape(k)), false))
                }
                Some(Frame::Seq { index }) => Some((format!("{parent}/{index}"), false)),
                Some(Frame::Skip) => Some((String::from("\u{0}"), false)),
            }
        }
        // A node has ended: the next one in its parent is the next key or item.
        fn done(frames: &mut [Frame]) {
            match frames.last_mut() {
                Some(Frame::Map { key }) => *key = None,
                Some(Frame::Seq { index }) => *index += 1,
                _ => {}
            }
        }
        while let Some(Ok((event, span))) = parser.next_event() {
            let at = (span.start.line(), span.start.col() + 1);
            let in_key = matches!(frames.last(), Some(Frame::Map { key: None }));
            match event {
                Event::Scalar(value, ..) => {
                    if in_key {
                        let pointer = format!(
                            "{}/{}",
                            pointers.last().cloned().unwrap_or_default(),
                            escape(&value)
                        );
                        map.entry(pointer).or_insert(at);
                        if let Some(Frame::Map { key }) = frames.last_mut() {
                            *key = Some(value.to_string());
                        }
                    } else {
                        if let Some((pointer, _)) = place(&mut frames, &pointers) {
                            map.entry(pointer).or_insert(at);
                        }
                        done(&mut frames);
                    }
                }
                Event::Alias(_) => {
                    if in_key {
                        if let Some(Frame::Map { key }) = frames.last_mut() {
                            *key = Some("*".into());
                        }
                    } else {
                        done(&mut frames);
                    }
                }
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    let is_map = matches!(event, Event::MappingStart(..));
                    if in_key {
                        frames.push(Frame::Skip);
                        pointers.push("\u{0}".into());
                        continue;
                    }
                    let pointer = place(&mut frames, &pointers).map_or_else(String::new, |p| p.0);
                    map.entry(pointer.clone()).or_insert(at);
                    pointers.push(pointer);
                    frames.push(if is_map {
                        Frame::Map { key: None }
                    } else {
                        Frame::Seq { index: 0 }
                    });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    let skipped = matches!(frames.pop(), Some(Frame::Skip));
                    pointers.pop();
                    if skipped {
                        if let Some(Frame::Map { key }) = frames.last_mut() {
                            *key = Some("?".into());
                        }
                    } else {
                        done(&mut frames);
                    }
                }
                Event::DocumentEnd => break,
                _ => {}
            }
        }
        Spans(map)
    }

    /// The line and column of the value at `pointer`, else of the nearest
    /// enclosing one.
    fn at(&self, pointer: &str) -> (usize, usize) {
        let mut p = pointer;
        loop {
            if let Some(at) = self.0.get(p) {
                return *at;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return (1, 1),
            }
        }
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A JSON pointer as a reader finds it: `scenarios[0].steps[2].op`.
fn readable(pointer: &str) -> String {
    let mut out = String::new();
    for part in pointer.split('/').skip(1) {
        let part = part.replace("~1", "/").replace("~0", "~");
        if part.parse::<usize>().is_ok() {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&part);
        }
    }
    if out.is_empty() {
        "the file".into()
    } else {
        out
    }
}

/// The closest of `options` to `word`, if one is close.
pub(crate) fn did_you_mean<'o>(
    word: &str,
    options: impl IntoIterator<Item = &'o str>,
) -> Option<&'o str> {
    options
        .into_iter()
        .map(|o| (strsim::jaro_winkler(word, o), o))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, o)| o)
}

/// The schema at `path` (an evaluation path, through `$ref`s).
fn schema_at<'s>(root: &'s Value, path: &str) -> Option<&'s Value> {
    let mut node = root;
    for part in path.split('/').skip(1) {
        let part = part.replace("~1", "/").replace("~0", "~");
        if part == "$ref" {
            let target = node.get("$ref")?.as_str()?.strip_prefix('#')?;
            node = root.pointer(target)?;
        } else {
            node = match node {
                Value::Object(m) => m.get(&part)?,
                Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
    }
    Some(node)
}

fn schema_problem(schema: &Value, spans: &Spans, e: &jsonschema::ValidationError<'_>) -> Problem {
    use jsonschema::error::ValidationErrorKind as K;
    let pointer = e.instance_path().as_str().to_string();
    let place = readable(&pointer);
    let (line, column) = spans.at(&pointer);
    let schema_path = e.schema_path().as_str().to_string();
    let parent = schema_path.rsplit_once('/').map_or("", |(p, _)| p);
    let problem = |what: String, fix: String| Problem {
        line,
        column,
        what,
        fix,
    };
    match e.kind() {
        K::AdditionalProperties { unexpected } => {
            let allowed: Vec<&str> = schema_at(schema, parent)
                .and_then(|s| s.get("properties"))
                .and_then(Value::as_object)
                .map(|p| p.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let key = unexpected.first().cloned().unwrap_or_default();
            let (line, column) = spans.at(&format!("{pointer}/{}", escape(&key)));
            let hint = did_you_mean(&key, allowed.iter().copied())
                .map(|m| format!("did you mean `{m}`? "))
                .unwrap_or_default();
            Problem {
                line,
                column,
                what: format!("unknown key `{key}` in {place}"),
                fix: format!("{hint}the keys allowed here are: {}", allowed.join(", ")),
            }
        }
        K::Enum { options } => {
            let words: Vec<String> = options
                .as_array()
                .map(|o| o.iter().map(|v| v.as_str().map_or(v.to_string(), str::to_string)).collect())
                .unwrap_or_default();
            let given = e.instance().as_str().unwrap_or_default().to_string();
            let hint = did_you_mean(&given, words.iter().map(String::as_str))
                .map(|m| format!("did you mean `{m}`? "))
                .unwrap_or_default();
            problem(
                format!("{place}: `{}` is not one of {}", predicate_text(e.instance()), words.join(", ")),
                format!("{hint}use one of those"),
            )
        }
        K::Required { property } => problem(
            format!("{place} lacks `{}`", property.as_str().unwrap_or_default()),
            format!("add `{}`", property.as_str().unwrap_or_default()),
        ),
        K::MinProperties { .. } if schema_path.contains("Predicate") || place.contains("assert") => {
            problem(
                format!("{place}: an empty predicate"),
                "give what must hold, for example `{equals: 3}` or `{exists: true}`".into(),
            )
        }
        K::Pattern { pattern } if place.ends_with("name") => problem(
            format!("{place}: `{}` is not a scenario name", predicate_text(e.instance())),
            format!("use letters, digits, `_` and `-` only (the pattern `{pattern}`): it is part of the test id and of the cassette's file name"),
        ),
        _ => problem(format!("{place}: {}", e.masked()), "correct that value (the schema `schemas/ctest-scenarios.schema.json` documents every key)".into()),
    }
}

fn predicate_text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// The checks past the schema's.
struct Checker<'a> {
    file: &'a ScenarioFile,
    /// Each scenario's index in the file.
    places: &'a [usize],
    spans: &'a Spans,
    dir: &'a Path,
    allowed: &'a [PathBuf],
    /// The shared lists imported from other files (checked there).
    imported: &'a BTreeSet<String>,
    problems: Vec<Problem>,
    records_files: HashMap<String, Arc<Vec<Value>>>,
    config_files: HashMap<String, PathBuf>,
}

impl Checker<'_> {
    fn problem(&mut self, pointer: &str, what: impl Into<String>, fix: impl Into<String>) {
        let (line, column) = self.spans.at(pointer);
        self.problems.push(Problem {
            line,
            column,
            what: what.into(),
            fix: fix.into(),
        });
    }

    fn check(&mut self) {
        for (name, steps) in &self.file.shared_steps {
            if self.imported.contains(name) {
                continue;
            }
            let pointer = format!("/shared_steps/{}", escape(name));
            for (i, step) in steps.iter().enumerate() {
                let at = format!("{pointer}/{i}");
                if step.include.is_some() {
                    self.problem(
                        &format!("{at}/include"),
                        format!("shared_steps.{name}[{i}] includes another list"),
                        "write the steps of a shared list out: shared lists do not include others",
                    );
                }
                // Which keys `each.` may name depends on the scenario: checked there.
                self.step(&at, step, None, &mut BTreeSet::new());
            }
        }
        let mut names = HashMap::new();
        for (s, scenario) in self.file.scenarios.iter().enumerate() {
            let pointer = format!("/scenarios/{}", self.places[s]);
            if let Some(first) = names.insert(scenario.name.clone(), s) {
                self.problem(
                    &format!("{pointer}/name"),
                    format!(
                        "two scenarios are named `{}` (scenarios[{}] and scenarios[{}])",
                        scenario.name, self.places[first], self.places[s]
                    ),
                    "give each scenario its own name: it is its test id",
                );
            }
            let keys = self.each_keys(s);
            let mut captured = BTreeSet::new();
            for (phase, steps) in [
                ("setup", &scenario.setup),
                ("steps", &scenario.steps),
                ("cleanup", &scenario.cleanup),
            ] {
                for (i, step) in steps.iter().enumerate() {
                    let at = format!("{pointer}/{phase}/{i}");
                    match &step.include {
                        Some(list) => match self.file.shared_steps.get(list) {
                            None => {
                                let hint = did_you_mean(
                                    list,
                                    self.file.shared_steps.keys().map(String::as_str),
                                )
                                .map(|m| format!("did you mean `{m}`? "))
                                .unwrap_or_default();
                                let known: Vec<&str> =
                                    self.file.shared_steps.keys().map(String::as_str).collect();
                                self.problem(
                                    &format!("{at}/include"),
                                    format!("`include: {list}` names no list of `shared_steps`"),
                                    format!(
                                        "{hint}the lists are: {}",
                                        if known.is_empty() {
                                            "none".to_string()
                                        } else {
                                            known.join(", ")
                                        }
                                    ),
                                );
                            }
                            Some(shared) => {
                                let shared = shared.clone();
                                for (j, inner) in shared.iter().enumerate() {
                                    // Placed at the include, naming the shared step.
                                    self.step_in_scenario(
                                        &at,
                                        &format!("shared_steps.{list}[{j}]"),
                                        inner,
                                        &keys,
                                        &mut captured,
                                    );
                                }
                            }
                        },
                        None => self.step(&at, step, Some(&keys), &mut captured),
                    }
                }
            }
            if let Some(skip_if) = &scenario.skip_if {
                let value = skip_if.value.clone().unwrap_or(Value::Null);
                self.templates(
                    &format!("{pointer}/skip_if/value"),
                    &value,
                    Some(&keys),
                    &BTreeSet::new(),
                );
            }
        }
    }

    /// The `each.` keys of scenario `s`: every row's and the matrix's.
    fn each_keys(&mut self, s: usize) -> BTreeSet<String> {
        let scenario = &self.file.scenarios[s];
        let s = self.places[s];
        let mut keys: BTreeSet<String> = scenario.matrix.keys().cloned().collect();
        if let Some(first) = scenario.for_each.first() {
            let first_keys: BTreeSet<String> = first.keys().cloned().collect();
            for (i, row) in scenario.for_each.iter().enumerate().skip(1) {
                let row_keys: BTreeSet<String> = row.keys().cloned().collect();
                if row_keys != first_keys {
                    self.problem(
                        &format!("/scenarios/{s}/for_each/{i}"),
                        format!("for_each[{i}] has the keys {row_keys:?}, for_each[0] has {first_keys:?}"),
                        "give every row the same keys",
                    );
                }
            }
            for k in &first_keys {
                if scenario.matrix.contains_key(k) {
                    self.problem(
                        &format!("/scenarios/{s}/matrix/{}", escape(k)),
                        format!("`{k}` is both a for_each key and a matrix key"),
                        "name it once",
                    );
                }
            }
            keys.extend(first_keys);
        }
        for (k, values) in &scenario.matrix {
            if values.is_empty() {
                self.problem(
                    &format!("/scenarios/{s}/matrix/{}", escape(k)),
                    format!("matrix `{k}` has no values, so the scenario would never run"),
                    "give it at least one value, or skip the scenario with `skip: REASON`",
                );
            }
        }
        keys
    }

    /// A shared step as used by a scenario: its templates checked against
    /// the scenario's keys and captures.
    fn step_in_scenario(
        &mut self,
        at: &str,
        label: &str,
        step: &Step,
        keys: &BTreeSet<String>,
        captured: &mut BTreeSet<String>,
    ) {
        let before = self.problems.len();
        self.step(at, step, Some(keys), captured);
        for p in &mut self.problems[before..] {
            p.what = format!("{label} (included here): {}", p.what);
        }
    }

    /// One step: `keys` are the scenario's `each.` keys (`None`: not known
    /// here), `captured` the captures of the steps before it.
    fn step(
        &mut self,
        at: &str,
        step: &Step,
        keys: Option<&BTreeSet<String>>,
        captured: &mut BTreeSet<String>,
    ) {
        let Some(op) = step.op else {
            if step.include.is_none() {
                self.problem(
                    at,
                    "a step without `op` (or `include`)",
                    "add `op: spec | check | discover | read | write | delete`, or `include: NAME`",
                );
            } else {
                let extra = others_than_include(step);
                if !extra.is_empty() {
                    self.problem(
                        at,
                        format!(
                            "a step with `include` has other keys too: {}",
                            extra.join(", ")
                        ),
                        "make `include` a step of its own",
                    );
                }
            }
            return;
        };
        if step.include.is_some() {
            self.problem(
                &format!("{at}/include"),
                "a step has both `op` and `include`",
                "make `include` a step of its own",
            );
        }
        let on = |ops: &[Op]| ops.contains(&op);
        let misplaced: &[(&str, bool, &[Op])] = &[
            ("table", step.table.is_some(), &[Op::Write, Op::Delete]),
            ("count", step.count.is_some(), &[Op::Write, Op::Delete]),
            ("tag", step.tag.is_some(), &[Op::Write, Op::Delete]),
            ("catalog", step.catalog.is_some(), &[Op::Read]),
            ("state", step.state.is_some(), &[Op::Read]),
            (
                "limits.max_records",
                step.limits
                    .as_ref()
                    .is_some_and(|l| l.max_records.is_some()),
                &[Op::Read],
            ),
            (
                "config",
                step.config.is_some() || step.config_file.is_some() || step.config_env.is_some(),
                &[Op::Check, Op::Discover, Op::Read, Op::Write, Op::Delete],
            ),
        ];
        for (key, given, ops) in misplaced {
            if *given && !on(ops) {
                let names: Vec<&str> = ops.iter().map(|o| o.name()).collect();
                self.problem(
                    &format!("{at}/{}", key.split('.').next().unwrap_or(key)),
                    format!("`{key}` does not apply to `op: {}`", op.name()),
                    format!(
                        "`{key}` belongs to {}; take it out of this step",
                        names.join(", ")
                    ),
                );
            }
        }
        if on(&[Op::Write, Op::Delete]) && step.table.is_none() {
            self.problem(
                at,
                format!("`op: {}` needs `table`", op.name()),
                "name the table (stream) to change, for example `table: customers`",
            );
        }
        if step.config_file.is_some() && step.config_env.is_some() {
            self.problem(
                &format!("{at}/config_env"),
                "a step gives both `config_file` and `config_env`",
                "keep one: the config comes from one place",
            );
        }
        if let Some(file) = &step.config_file {
            match crate::test_config::confine(
                self.dir,
                "config_file",
                Path::new(file),
                self.allowed,
            ) {
                Ok(path) if path.is_file() => {
                    self.config_files.insert(file.clone(), path);
                }
                Ok(path) => self.problem(
                    &format!("{at}/config_file"),
                    format!("config_file `{}` does not exist", path.display()),
                    "give the path of a JSON config, relative to the scenario file",
                ),
                Err(e) => self.problem(
                    &format!("{at}/config_file"),
                    e,
                    "keep config files inside the project",
                ),
            }
        }
        if let Some(expect) = &step.expect {
            if expect.status == ExpectStatus::Failed && op != Op::Check {
                self.problem(
                    &format!("{at}/expect/status"),
                    format!(
                        "`op: {}` cannot answer `failed`: only check has a failed outcome",
                        op.name()
                    ),
                    "expect `error` (the connector returned an error), or `succeeded`",
                );
            }
            if expect.failure_type.is_some() && expect.status != ExpectStatus::Error {
                self.problem(
                    &format!("{at}/expect/failure_type"),
                    "`failure_type` is the type of a connector error",
                    "use it with `status: error`",
                );
            }
            if expect.message.is_some() && expect.status == ExpectStatus::Succeeded {
                self.problem(
                    &format!("{at}/expect/message"),
                    "a step that succeeds has no message to match",
                    "use `message` with `status: failed` or `status: error`",
                );
            }
            if let Some(m) = &expect.message {
                self.pattern(&format!("{at}/expect/message"), m);
            }
        }
        for (path, predicate) in &step.assert {
            let pointer = format!("{at}/assert/{}", escape(path));
            if let Err(e) = super::path::parse(path) {
                self.problem(
                    &pointer,
                    e,
                    "write a path such as `streams.0.name`, `records.customers.*.id` or `$`",
                );
            }
            self.predicate(&pointer, predicate);
        }
        for (name, path) in &step.capture {
            if let Err(e) = super::path::parse(path) {
                self.problem(
                    &format!("{at}/capture/{}", escape(name)),
                    e,
                    "write a path such as `state` or `rows.0.email`",
                );
            }
        }
        // The templates of every value the step renders.
        let rendered = serde_json::to_value(Step {
            capture: BTreeMap::new(),
            ..step.clone()
        })
        .unwrap_or(Value::Null);
        for (key, value) in rendered.as_object().into_iter().flatten() {
            self.templates(&format!("{at}/{key}"), value, keys, captured);
        }
        captured.extend(step.capture.keys().cloned());
    }

    fn templates(
        &mut self,
        at: &str,
        value: &Value,
        keys: Option<&BTreeSet<String>>,
        captured: &BTreeSet<String>,
    ) {
        for reference in template::references(value) {
            let reference = match reference {
                Ok(r) => r,
                Err(e) => {
                    self.problem(at, e, "use `{{ unique }}`, `{{ vars.NAME }}`, `{{ each.KEY }}` or `{{ captures.NAME }}`");
                    continue;
                }
            };
            let name = &reference.name;
            match reference.root {
                Root::Unique => {}
                // A list of a file of shared steps is checked where it is
                // included, against that file's variables.
                Root::Vars if keys.is_some() && !self.file.vars.contains_key(name) => {
                    let hint = did_you_mean(name, self.file.vars.keys().map(String::as_str))
                        .map(|m| format!("did you mean `{m}`? "))
                        .unwrap_or_default();
                    self.problem(
                        at,
                        format!("`{{{{ vars.{name} }}}}`: the file declares no variable `{name}`"),
                        format!(
                            "{hint}declare it under `vars:` (with `env`, `default` or `secret`)"
                        ),
                    );
                }
                Root::Each if keys.is_some_and(|k| !k.contains(name)) => {
                    self.problem(at, format!("`{{{{ each.{name} }}}}`: the scenario has no for_each or matrix key `{name}`"), "add the key to every `for_each` row, or to `matrix`");
                }
                Root::Captures if keys.is_some() && !captured.contains(name) => {
                    self.problem(
                        at,
                        format!(
                            "`{{{{ captures.{name} }}}}`: no step before this one captures `{name}`"
                        ),
                        format!("capture it in an earlier step: `capture: {{{name}: PATH}}`"),
                    );
                }
                _ => {}
            }
        }
    }

    /// A regular expression: it must compile, unless templates make it at
    /// run time.
    fn pattern(&mut self, at: &str, pattern: &str) {
        if !pattern.contains("{{")
            && let Err(e) = super::predicate::compile(pattern)
        {
            self.problem(at, e, "write a regular expression (Rust `regex` syntax)");
        }
    }

    fn predicate(&mut self, at: &str, p: &Predicate) {
        if let Some(m) = &p.matches {
            self.pattern(&format!("{at}/matches"), m);
        }
        if let Some(schema) = &p.schema
            && let Err(e) = crate::schema::validator(schema)
        {
            self.problem(
                &format!("{at}/schema"),
                format!("the `schema` is not a valid JSON Schema: {e}"),
                "correct the schema (draft 7)",
            );
        }
        if let Some(file) = &p.records_file {
            self.records_file(&format!("{at}/records_file/path"), file);
        }
        if let Some(at_paths) = &p.at {
            for (path, inner) in at_paths {
                let pointer = format!("{at}/at/{}", escape(path));
                if let Err(e) = super::path::parse(path) {
                    self.problem(&pointer, e, "write a path such as `id` or `address.city`");
                }
                self.predicate(&pointer, inner);
            }
        }
        for (key, list) in [
            ("all_of", &p.all_of),
            ("any_of", &p.any_of),
            ("none_of", &p.none_of),
        ] {
            for (i, inner) in list.iter().flatten().enumerate() {
                self.predicate(&format!("{at}/{key}/{i}"), inner);
            }
        }
        for (key, inner) in [("each", &p.each), ("any", &p.any)] {
            if let Some(inner) = inner {
                self.predicate(&format!("{at}/{key}"), inner);
            }
        }
        if let Some(count) = &p.count {
            self.predicate(&format!("{at}/count/where"), &count.matching);
            self.predicate(&format!("{at}/count/is"), &count.is);
        }
    }

    fn records_file(&mut self, at: &str, file: &super::file::RecordsFile) {
        if self.records_files.contains_key(&file.path) {
            return;
        }
        for field in &file.ignored_fields {
            if let Err(e) = super::path::parse(field) {
                self.problem(
                    at,
                    e,
                    "write each ignored field as a dot path, such as `updated_at`",
                );
            }
        }
        let path = match crate::test_config::confine(
            self.dir,
            "records_file",
            Path::new(&file.path),
            self.allowed,
        ) {
            Ok(p) => p,
            Err(e) => return self.problem(at, e, "keep records files inside the project"),
        };
        match read_records(&path) {
            Ok(records) => {
                self.records_files
                    .insert(file.path.clone(), Arc::new(records));
            }
            Err(e) => self.problem(
                at,
                e,
                "give a JSON Lines file, one JSON object per line, relative to the scenario file",
            ),
        }
    }
}

fn others_than_include(step: &Step) -> Vec<String> {
    match serde_json::to_value(step) {
        Ok(Value::Object(map)) => map
            .keys()
            .filter(|k| *k != "include" && *k != "on_fail")
            .cloned()
            .collect(),
        _ => Vec::new(),
    }
}

/// A JSON Lines file of records.
fn read_records(path: &Path) -> Result<Vec<Value>, String> {
    let name = path.display();
    let size = std::fs::metadata(path)
        .map_err(|e| format!("records_file `{name}`: {e}"))?
        .len();
    if size > MAX_RECORDS_FILE_BYTES {
        return Err(format!(
            "records_file `{name}` has {size} bytes, more than ctest reads ({MAX_RECORDS_FILE_BYTES})"
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("records_file `{name}`: {e}"))?;
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line)
            .map_err(|e| format!("records_file `{name}` line {}: not JSON: {e}", i + 1))?;
        if !value.is_object() {
            return Err(format!(
                "records_file `{name}` line {}: not a JSON object",
                i + 1
            ));
        }
        records.push(value);
    }
    Ok(records)
}

/// The cases of a file: each scenario times its `for_each` rows times its
/// `matrix` cells, with includes in place.
/// `origins`: the imported lists, with their file and its spans.
fn expand(
    file: &ScenarioFile,
    spans: &Spans,
    origins: &HashMap<String, (String, Arc<Spans>)>,
    problems: &mut Vec<Problem>,
) -> Vec<Case> {
    let mut cases = Vec::new();
    for (s, scenario) in file.scenarios.iter().enumerate() {
        let mut rows: Vec<BTreeMap<String, Value>> = if scenario.for_each.is_empty() {
            vec![BTreeMap::new()]
        } else {
            scenario.for_each.clone()
        };
        for (key, values) in &scenario.matrix {
            rows = rows
                .into_iter()
                .flat_map(|row| {
                    values.iter().map(move |v| {
                        let mut row = row.clone();
                        row.insert(key.clone(), v.clone());
                        row
                    })
                })
                .take(MAX_CASES + 1)
                .collect();
        }
        if rows.len() > MAX_CASES || rows.is_empty() {
            if !rows.is_empty() {
                let (line, column) = spans.at(&format!("/scenarios/{s}"));
                problems.push(Problem {
                    line,
                    column,
                    what: format!(
                        "scenario `{}` expands to more than {MAX_CASES} cases",
                        scenario.name
                    ),
                    fix: "use fewer for_each rows or matrix values".into(),
                });
            }
            continue;
        }
        let mut steps = Vec::new();
        for (phase, list, key) in [
            (Phase::Setup, &scenario.setup, "setup"),
            (Phase::Steps, &scenario.steps, "steps"),
            (Phase::Cleanup, &scenario.cleanup, "cleanup"),
        ] {
            for (i, step) in list.iter().enumerate() {
                let (line, _) = spans.at(&format!("/scenarios/{s}/{key}/{i}"));
                match &step.include {
                    Some(name) => {
                        for (j, inner) in file
                            .shared_steps
                            .get(name)
                            .into_iter()
                            .flatten()
                            .enumerate()
                        {
                            let pointer = format!("/shared_steps/{}/{j}", escape(name));
                            // An imported list is placed in its own file.
                            let (from, (inner_line, _)) = match origins.get(name) {
                                Some((file, spans)) => (format!("{file}: "), spans.at(&pointer)),
                                None => (String::new(), spans.at(&pointer)),
                            };
                            steps.push(Planned {
                                step: inner.clone(),
                                phase,
                                label: format!(
                                    "{key}[{i}] → {from}shared_steps.{name}[{j}] ({}, line {inner_line})",
                                    inner
                                        .name
                                        .as_deref()
                                        .unwrap_or(inner.op.map_or("?", Op::name))
                                ),
                            });
                        }
                    }
                    None => steps.push(Planned {
                        step: step.clone(),
                        phase,
                        label: format!(
                            "{key}[{i}] ({}, line {line})",
                            step.name
                                .as_deref()
                                .unwrap_or(step.op.map_or("?", Op::name))
                        ),
                    }),
                }
            }
        }
        let parameterised = !scenario.for_each.is_empty() || !scenario.matrix.is_empty();
        for row in rows {
            let name = if parameterised {
                let parts: Vec<String> = row
                    .iter()
                    .map(|(k, v)| {
                        format!(
                            "{k}={}",
                            v.as_str().map_or_else(|| v.to_string(), str::to_string)
                        )
                    })
                    .collect();
                format!("{}[{}]", scenario.name, parts.join(","))
            } else {
                scenario.name.clone()
            };
            cases.push(Case {
                name,
                scenario: s,
                each: row,
                steps: steps.clone(),
            });
        }
    }
    let mut seen = HashMap::new();
    for case in &cases {
        if let Some(first) = seen.insert(case.name.clone(), case.scenario)
            && first != case.scenario
        {
            let (line, column) = spans.at(&format!("/scenarios/{}", case.scenario));
            problems.push(Problem {
                line,
                column,
                what: format!("two cases are named `{}`", case.name),
                fix: "make the scenario names, or their for_each/matrix values, differ".into(),
            });
        }
    }
    cases
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Loaded, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.scenarios.yaml");
        std::fs::write(&path, text).unwrap();
        std::fs::write(dir.path().join("exp.jsonl"), "{\"id\": 1}\n").unwrap();
        load(&path, &[])
    }

    fn errors(text: &str) -> String {
        match load_text(text) {
            Ok(l) => panic!("loaded: {:?}", l.cases),
            Err(e) => e,
        }
    }

    #[test]
    fn every_error_of_a_file_is_reported_at_once_at_its_line_and_column() {
        let e = errors(
            "shared_steps:\n  login:\n    - op: check\nscenarios:\n  - name: a\n    steps:\n      - op: reed\n      - op: check\n        asert: {status: {equals: succeeded}}\n  - name: b\n    steps:\n      - include: logn\n      - op: check\n        expect: {status: failed, message: '(unclosed'}\n  - name: c\n    description: no steps\n",
        );
        assert!(e.contains("5 problem(s)"), "{e}");
        assert!(e.contains("t.scenarios.yaml:7:9: scenarios[0].steps[0].op: `reed` is not one of spec, check, discover, read, write, delete\n  fix: did you mean `read`?"), "{e}");
        assert!(e.contains("t.scenarios.yaml:9:9: unknown key `asert` in scenarios[0].steps[1]\n  fix: did you mean `assert`? the keys allowed here are: "), "{e}");
        assert!(e.contains("t.scenarios.yaml:12:9: `include: logn` names no list of `shared_steps`\n  fix: did you mean `login`?"), "{e}");
        assert!(
            e.contains("t.scenarios.yaml:14:34: `(unclosed` is not a valid regular expression"),
            "{e}"
        );
        assert!(
            e.contains("t.scenarios.yaml:15:5: scenarios[2] lacks `steps`"),
            "{e}"
        );
    }

    #[test]
    fn what_a_schema_cannot_say_is_checked_too() {
        let e = errors(
            "vars:\n  region: {default: eu}\nscenarios:\n  - name: a\n    for_each: [{key: x}]\n    steps:\n      - op: read\n        table: customers\n        state: '{{ captures.cursor }}'\n      - op: write\n      - op: discover\n        expect: {status: failed}\n        assert:\n          'streams..name': {equals: x}\n          stream_names: {contains: '{{ vars.regoin }}'}\n          streams: {each: {matches: '[', schema: {type: 5}}}\n      - op: check\n        config: {key: '{{ each.nope }}'}\n        capture: {c: 'a.'}\n  - name: a\n    matrix: {n: []}\n    steps: [{op: spec, config: {a: 1}}]\n",
        );
        for says in [
            "`table` does not apply to `op: read`",
            "`{{ captures.cursor }}`: no step before this one captures `cursor`",
            "`op: write` needs `table`",
            "`op: discover` cannot answer `failed`",
            "path `streams..name` has an empty name",
            "the file declares no variable `regoin`\n  fix: did you mean `region`?",
            "`[` is not a valid regular expression",
            "the `schema` is not a valid JSON Schema",
            "`{{ each.nope }}`: the scenario has no for_each or matrix key `nope`",
            "path `a.` ends with a dot",
            "two scenarios are named `a`",
            "matrix `n` has no values",
            "`config` does not apply to `op: spec`",
        ] {
            assert!(e.contains(says), "{says}:\n{e}");
        }
        // Each at the line of its place.
        assert!(e.contains(":8:9: `table` does not apply"), "{e}");
        assert!(e.contains(":20:5: two scenarios are named `a`"), "{e}");
        assert!(e.contains(":9:9: `{{ captures.cursor }}`"), "{e}");
    }

    #[test]
    fn cases_expand_for_each_rows_and_matrix_cells_with_includes_in_place() {
        let l = load_text(
            "shared_steps:\n  login: [{op: check}, {op: discover}]\nscenarios:\n  - name: rejects\n    for_each: [{key: expired}, {key: revoked}]\n    matrix: {page: [1, 2]}\n    setup: [{include: login}]\n    steps:\n      - op: check\n        config: {api_key: '{{ each.key }}', page_size: '{{ each.page }}'}\n        expect: {status: failed}\n        assert: {'$': {records_file: {path: exp.jsonl}}}\n",
        )
        .unwrap();
        let names: Vec<&str> = l.cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "rejects[key=expired,page=1]",
                "rejects[key=expired,page=2]",
                "rejects[key=revoked,page=1]",
                "rejects[key=revoked,page=2]"
            ]
        );
        let labels: Vec<&str> = l.cases[0].steps.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "setup[0] → shared_steps.login[0] (check, line 2)",
                "setup[0] → shared_steps.login[1] (discover, line 2)",
                "steps[0] (check, line 9)"
            ]
        );
        assert_eq!(l.stem, "t");
        assert_eq!(l.records_files["exp.jsonl"].len(), 1);
    }

    #[test]
    fn imported_step_lists_are_checked_in_their_file_and_placed_there() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        write(
            "common.steps.yaml",
            "# shared\nshared_steps:\n  login:\n    - op: check\n      config: {api_key: '{{ vars.key }}'}\n",
        );
        let main = write(
            "a.scenarios.yaml",
            "imports: [common.steps.yaml]\nvars: {key: {default: k}}\nscenarios:\n  - name: a\n    setup: [{include: login}]\n    steps: [{op: spec}]\n",
        );
        let loaded = load(&main, &[]).unwrap();
        let label = &loaded.cases[0].steps[0].label;
        assert!(
            label.starts_with("setup[0] → ")
                && label.ends_with("common.steps.yaml: shared_steps.login[0] (check, line 4)"),
            "{label}"
        );
        // A variable the including file does not declare, at the include.
        let bad = write(
            "b.scenarios.yaml",
            "imports: [common.steps.yaml]\nscenarios:\n  - name: a\n    steps: [{include: login}]\n",
        );
        let e = load(&bad, &[]).unwrap_err();
        assert!(e.contains("b.scenarios.yaml:4:13: shared_steps.login[0] (included here): `{{ vars.key }}`: the file declares no variable `key`"), "{e}");
        // A file of shared steps with more than shared steps, or an unknown
        // key: its own errors, in its own name.
        write(
            "bad.steps.yaml",
            "vars: {x: {default: 1}}\nshared_steps:\n  login: [{op: check, asert: {}}]\n",
        );
        let c = write(
            "c.scenarios.yaml",
            "imports: [bad.steps.yaml, ../outside.steps.yaml]\nshared_steps: {x: [{op: spec}]}\nscenarios: [{name: a, steps: [{op: spec}]}]\n",
        );
        let e = load(&c, &[]).unwrap_err();
        assert!(
            e.contains("c.scenarios.yaml:1:27: imports: `../outside.steps.yaml` climbs out"),
            "{e}"
        );
        assert!(
            e.contains("bad.steps.yaml:1:1: a file of shared steps has `vars`"),
            "{e}"
        );
        assert!(
            e.contains("bad.steps.yaml:3:23: unknown key `asert`"),
            "{e}"
        );
        // Two lists of one name; a scenario file without scenarios.
        let d = write(
            "d.scenarios.yaml",
            "imports: [common.steps.yaml]\nshared_steps: {login: [{op: spec}]}\nscenarios: [{name: a, steps: [{op: spec}]}]\n",
        );
        let e = load(&d, &[]).unwrap_err();
        assert!(
            e.contains("`common.steps.yaml` shares a step list `login`, and so does this file"),
            "{e}"
        );
        let e = load(
            &write("e.scenarios.yaml", "shared_steps: {x: [{op: spec}]}\n"),
            &[],
        )
        .unwrap_err();
        assert!(e.contains("the file has no scenarios"), "{e}");
    }

    #[test]
    fn hostile_files_are_refused_without_hanging_or_growing() {
        // Aliases that would expand to a billion elements.
        let mut laughs = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (i, c) in ('b'..='j').enumerate() {
            let prev = (b'a' + i as u8) as char;
            laughs.push_str(&format!(
                "{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        laughs.push_str("scenarios: [{name: x, steps: [{op: spec}]}]\n");
        let started = std::time::Instant::now();
        let e = errors(&laughs);
        assert!(
            e.contains("not valid YAML") || e.contains("unknown key"),
            "{e}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // Nesting deeper than the parser goes.
        let deep = format!("scenarios: {}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(errors(&deep).contains("not valid YAML"));
        // Too big to read.
        let big = format!("# {}\nscenarios: []\n", "x".repeat(MAX_FILE_BYTES as usize));
        assert!(errors(&big).contains("more than ctest reads"));
        // A records file outside the project.
        let e = errors(
            "scenarios:\n  - name: a\n    steps:\n      - op: read\n        assert: {records.x: {records_file: {path: ../../etc/passwd}}}\n",
        );
        assert!(e.contains("climbs out with `..`"), "{e}");
        // Too many cases.
        let e = errors(
            "scenarios:\n  - name: a\n    matrix: {x: [1,2,3,4,5,6,7,8,9,10], y: [1,2,3,4,5,6,7,8,9,10], z: [1,2,3,4,5,6,7,8,9,10, 11]}\n    steps: [{op: spec}]\n",
        );
        assert!(e.contains("more than 1000 cases"), "{e}");
    }

    #[test]
    fn the_shipped_schema_is_the_one_the_types_make() {
        let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../schemas/ctest-scenarios.schema.json");
        let shipped: Value =
            serde_json::from_str(&std::fs::read_to_string(&shipped).unwrap()).unwrap();
        assert!(
            shipped == super::super::file::schema(),
            "schemas/ctest-scenarios.schema.json is stale: regenerate it with `cargo run -p ctest -- schema scenarios > schemas/ctest-scenarios.schema.json`"
        );
    }
}
