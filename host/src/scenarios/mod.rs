//! Scenarios: a connector's own tests, declared in `*.scenarios.yaml` files
//! next to the test configuration (or those its `scenarios:` key names).
//! A scenario is named steps, each an operation (spec, check, discover,
//! read, write, delete) with what it must answer (`expect`), what must hold
//! of its result (`assert`: path → predicate) and what to keep for later
//! steps (`capture`); `setup` and `cleanup` around them; `for_each` and
//! `matrix` to run it once per row or combination; `include` of shared step
//! lists; variables, `{{ unique }}` values and captures as templates.
//! Each case is a test `scenario/<file>/<name>` like any other, reported by
//! every reporter, selected by `--run`, under the run's network policy,
//! cassettes (one per case) and quotas.
//!
//! - [`file`]: the format, as Rust types (and the JSON Schema made from them);
//! - [`load`]: reading and checking files, every error at once;
//! - [`path`], [`predicate`], [`template`]: the vocabulary;
//! - [`run`]: running one case through the ops library.

pub mod file;
pub mod load;
pub mod path;
pub mod predicate;
pub mod run;
pub mod template;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

pub use load::{Case, Loaded};

/// The scenarios of a run: their files, each with its variables' values,
/// and the values to mask.
#[derive(Debug, Default)]
pub struct Scenarios {
    pub files: Vec<Prepared>,
    /// The values of variables marked `secret`.
    pub secrets: Vec<String>,
}

/// A file and the values of its variables.
#[derive(Debug)]
pub struct Prepared {
    pub loaded: Arc<Loaded>,
    pub vars: BTreeMap<String, Value>,
}

impl Scenarios {
    /// Every case's name as its test name: `<file>/<case>` (the suite is
    /// `scenario`).
    pub fn names(&self) -> Vec<String> {
        self.files
            .iter()
            .flat_map(|f| {
                f.loaded
                    .cases
                    .iter()
                    .map(move |c| format!("{}/{}", f.loaded.stem, c.name))
            })
            .collect()
    }

    /// Every case's test id, `scenario/<file>/<case>`.
    pub fn ids(&self) -> Vec<String> {
        self.names()
            .into_iter()
            .map(|n| format!("{SUITE}/{n}"))
            .collect()
    }
}

/// The suite name of scenario tests.
pub const SUITE: &str = "scenario";

/// A `--var NAME=VALUE`: the value is JSON when it parses as JSON (`3`,
/// `true`, `{"a": 1}`), else the text.
pub fn parse_var(arg: &str) -> Result<(String, Value), String> {
    let (name, value) = arg.split_once('=').ok_or_else(|| {
        format!("--var {arg:?}: expected NAME=VALUE\n  fix: for example `--var region=eu`")
    })?;
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
    Ok((name.to_string(), value))
}

/// Reads the scenario files of the test configuration at `test_config`
/// (`globs`: its `scenarios:` key), and gives each variable its value:
/// `--var` (`cli`), else the test configuration's `vars`, else the
/// environment variable the declaration names, else its default.
pub fn prepare(
    test_config: &Path,
    globs: Option<&[String]>,
    config_vars: &BTreeMap<String, Value>,
    cli: &[(String, Value)],
    allowed: &[PathBuf],
) -> Result<Scenarios, String> {
    let base = test_config.parent().unwrap_or(Path::new("."));
    let paths =
        load::files(base, globs, allowed).map_err(|e| format!("{}: {e}", test_config.display()))?;
    let mut errors = Vec::new();
    let mut loaded = Vec::new();
    for path in &paths {
        match load::load(path, allowed) {
            Ok(l) => loaded.push(l),
            Err(e) => errors.push(e),
        }
    }
    let mut stems = BTreeMap::new();
    for l in &loaded {
        if let Some(other) = stems.insert(l.stem.clone(), l.path.clone()) {
            errors.push(format!(
                "{} and {} both give the scenario file name `{}`\n  fix: rename one: the name is part of their test ids",
                other.display(),
                l.path.display(),
                l.stem
            ));
        }
    }
    let declared: Vec<&str> = loaded
        .iter()
        .flat_map(|l| l.file.vars.keys().map(String::as_str))
        .collect();
    let undeclared = |name: &str, from: &str| {
        let hint = load::did_you_mean(name, declared.iter().copied())
            .map(|d| format!("did you mean `{d}`? "))
            .unwrap_or_default();
        format!(
            "{from}: no scenario file declares the variable `{name}`\n  fix: {hint}declare it under `vars:` in a scenario file, or take it out"
        )
    };
    // Which variables exist is known once every file is read.
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    for (name, _) in cli {
        if !declared.contains(&name.as_str()) {
            errors.push(undeclared(name, &format!("--var {name}")));
        }
    }
    for name in config_vars.keys() {
        if !declared.contains(&name.as_str()) {
            errors.push(undeclared(
                name,
                &format!("{}: vars.{name}", test_config.display()),
            ));
        }
    }
    let mut files = Vec::new();
    let mut secrets = Vec::new();
    for l in loaded {
        let mut vars = BTreeMap::new();
        for (name, decl) in &l.file.vars {
            let value = cli
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .or_else(|| config_vars.get(name).cloned())
                .or_else(|| {
                    decl.env
                        .as_ref()
                        .and_then(|e| std::env::var(e).ok())
                        .map(Value::String)
                })
                .or_else(|| decl.default.clone());
            match value {
                Some(v) => {
                    if decl.secret {
                        secrets.push(v.as_str().map_or_else(|| v.to_string(), str::to_string));
                    }
                    vars.insert(name.clone(), v);
                }
                None => errors.push(format!(
                    "{}: the variable `{name}` has no value\n  fix: pass --var {name}=VALUE{}, or give it a `default`",
                    l.path.display(),
                    decl.env
                        .as_ref()
                        .map(|e| format!(", or set the environment variable {e}"))
                        .unwrap_or_default()
                )),
            }
        }
        files.push(Prepared {
            loaded: Arc::new(l),
            vars,
        });
    }
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    Ok(Scenarios { files, secrets })
}
