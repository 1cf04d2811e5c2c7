//! `ctest new NAME --lang rust|python|typescript`: a connector project that
//! builds and passes `ctest run` as it is: its source (one incremental stream
//! to replace), a build script, the manifest that names the SDK, a sample
//! config and a README. `ctest guide LANG` prints the language's guide.
//!
//! The project depends on the SDK package of the contract this ctest speaks,
//! by version (crate `ctest-sdk`, Python package `ctest-sdk`, npm package
//! `@ctest/sdk`), so it builds on any machine; `--sdk DIR` makes it use the
//! SDKs of a ctest checkout instead, for working on the SDKs themselves.
//!
//! The templates are in `host/templates/` and inside the crate, so that an
//! installed ctest carries them; the Python and TypeScript sources there are
//! the examples' (`examples/python-numbers`, `examples/ts-numbers`, linked),
//! with the connector's name put in.

use std::path::{Path, PathBuf};

use crate::sandbox::CONTRACT_VERSION;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Language {
    Rust,
    Python,
    Typescript,
}

impl Language {
    fn id(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::Typescript => "typescript",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Language::Rust => "Rust",
            Language::Python => "Python",
            Language::Typescript => "TypeScript",
        }
    }
}

/// The version of every SDK package: the contract's.
pub const SDK_VERSION: &str = CONTRACT_VERSION;

/// The guide of a language: the SDK's README, as shipped with the SDK.
pub fn guide(language: Language) -> &'static str {
    match language {
        Language::Rust => include_str!("../templates/guides/rust.md"),
        Language::Python => include_str!("../templates/guides/python.md"),
        Language::Typescript => include_str!("../templates/guides/typescript.md"),
    }
}

/// The names the examples' specs carry, replaced by the project's.
const EXAMPLE_NAMES: [&str; 2] = ["source-numbers-python", "source-numbers-ts"];

/// (path in the project, template text)
fn templates(language: Language) -> Vec<(&'static str, &'static str)> {
    let common = [
        ("README.md", include_str!("../templates/README.md")),
        (".gitignore", include_str!("../templates/gitignore")),
    ];
    let own = match language {
        Language::Rust => vec![
            (
                "Cargo.toml",
                include_str!("../templates/rust/Cargo.toml.tmpl"),
            ),
            ("src/lib.rs", include_str!("../templates/rust/src/lib.rs")),
            ("build.sh", include_str!("../templates/rust/build.sh")),
            ("config.json", include_str!("../templates/rust/config.json")),
        ],
        Language::Python => vec![
            ("app.py", include_str!("../templates/python/app.py")),
            (
                "requirements.txt",
                include_str!("../templates/python/requirements.txt"),
            ),
            ("build.sh", include_str!("../templates/python/build.sh")),
            ("test.sh", include_str!("../templates/python/test.sh")),
            ("venv.sh", include_str!("../templates/python/venv.sh")),
            (
                "tests/test_app.py",
                include_str!("../templates/python/tests/test_app.py"),
            ),
            (
                "config.json",
                include_str!("../templates/python/config.json"),
            ),
        ],
        Language::Typescript => vec![
            ("app.ts", include_str!("../templates/typescript/app.ts")),
            (
                "app.test.ts",
                include_str!("../templates/typescript/app.test.ts"),
            ),
            (
                "package.json",
                include_str!("../templates/typescript/package.json"),
            ),
            (
                "tsconfig.json",
                include_str!("../templates/typescript/tsconfig.json"),
            ),
            ("build.sh", include_str!("../templates/typescript/build.sh")),
            (
                "config.json",
                include_str!("../templates/typescript/config.json"),
            ),
        ],
    };
    own.into_iter().chain(common).collect()
}

/// Where the project gets its SDK from.
enum SdkSource {
    /// The published packages, by version.
    Packages,
    /// The `sdk` directory of a checkout (canonical), for SDK work.
    Checkout(PathBuf),
}

/// The words each template's `{{key}}` stands for, beyond the name.
fn values(language: Language, sdk: &SdkSource) -> Result<Vec<(&'static str, String)>, String> {
    let v = SDK_VERSION;
    let mut values = vec![("lang", language.id().to_string())];
    match (language, sdk) {
        (Language::Rust, SdkSource::Packages) => {
            values.push(("rust_sdk", format!("\"{v}\"")));
        }
        (Language::Rust, SdkSource::Checkout(dir)) => {
            values.push(("rust_sdk", format!("{{ path = {:?} }}", dir.join("rust"))));
        }
        (Language::Python, SdkSource::Packages) => {
            values.push(("python_requirements", format!("ctest-sdk=={v}")));
            values.push(("python_path", String::new()));
        }
        (Language::Python, SdkSource::Checkout(dir)) => {
            // The checkout's SDK is used where it is (on PYTHONPATH, no
            // bytecode written into it); the environment gets its
            // dependencies (the build tool, the config check).
            let pyproject = dir.join("python/pyproject.toml");
            let text = std::fs::read_to_string(&pyproject)
                .map_err(|e| format!("{}: cannot read: {e}", pyproject.display()))?;
            let pin = text
                .lines()
                .find_map(|l| l.strip_prefix("dependencies = ["))
                .map(|list| {
                    list.split('"')
                        .skip(1)
                        .step_by(2)
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .filter(|deps| deps.contains("componentize-py=="))
                .ok_or_else(|| {
                    format!(
                        "{}: no `dependencies = [...]` line with componentize-py",
                        pyproject.display()
                    )
                })?;
            values.push(("python_requirements", pin.to_string()));
            values.push((
                "python_path",
                format!(
                    "PYTHONDONTWRITEBYTECODE=1 PYTHONPATH={} ",
                    shell_quote(&dir.join("python"))
                ),
            ));
        }
        (Language::Typescript, SdkSource::Packages) => {
            values.push(("ts_sdk", v.to_string()));
        }
        (Language::Typescript, SdkSource::Checkout(dir)) => {
            let path = dir.join("typescript").display().to_string();
            values.push(("ts_sdk", format!("file:{}", path.replace('"', "\\\""))));
        }
    }
    let (from, python_where) = match sdk {
        SdkSource::Packages => (format!("version {v}"), "requirements.txt"),
        SdkSource::Checkout(dir) => (
            format!("the checkout's, {}", dir.display()),
            "on PYTHONPATH in build.sh",
        ),
    };
    let note = match language {
        Language::Rust => format!(
            "The SDK is the crate `ctest-sdk`, {from} (Cargo.toml). `build.sh` adds the\n\
             `wasm32-wasip2` target with rustup and runs `cargo build --release`."
        ),
        Language::Python => format!(
            "The SDK is the Python package `ctest-sdk`, {from} ({python_where}).\n\
             On its first run `build.sh` makes the virtual environment `.venv` (Python 3.10\n\
             or newer, with `venv`) and installs requirements.txt; then\n\
             `python -m ctest_sdk_build` makes the component with componentize-py. The connector runs on the CPython inside the\n\
             component, not on yours."
        ),
        Language::Typescript => format!(
            "The SDK is the npm package `@ctest/sdk`, {from} (package.json). On its\n\
             first run `build.sh` runs `npm install` (Node.js 18 or newer); then\n\
             `ctest-sdk-build` type-checks `app.ts`, bundles it and makes the component\n\
             with componentize-js."
        ),
    };
    values.push(("build_note", note));
    let test = match language {
        Language::Rust => "`cargo test` (natively; the SDK's `http::mock` answers HTTP requests).",
        Language::Python => {
            "`./test.sh` (pytest on `tests/`; `ctest_sdk.testing` has the `Harness` that runs\n\
             the connector as ctest does, with a fake host, and `MockHttp`)."
        }
        Language::Typescript => {
            "`npm test` (node:test on `*.test.ts`; `@ctest/sdk/testing` has the harness\n\
             that runs the connector as ctest does, with a fake host, and `mockHttp`)."
        }
    };
    values.push(("test_note", test.to_string()));
    Ok(values)
}

/// `path` as one word for bash.
fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// Writes the project `parent/name` and returns its directory. `sdk`: the
/// `sdk` directory of a ctest checkout to use instead of the packages.
pub fn new_project(
    name: &str,
    language: Language,
    parent: &Path,
    sdk: Option<&Path>,
) -> Result<PathBuf, String> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(format!(
            "`{name}` is not a connector name\n  fix: use lowercase letters, digits and dashes, starting with a letter, for example `source-shop`"
        ));
    }
    let dir = parent.join(name);
    if dir.exists() {
        return Err(format!(
            "{}: already exists\n  fix: choose another name, or remove it",
            dir.display()
        ));
    }
    let source = match sdk {
        None => SdkSource::Packages,
        Some(sdk) => {
            let found = sdk.canonicalize().ok().filter(|d| {
                [
                    "rust/Cargo.toml",
                    "python/pyproject.toml",
                    "typescript/package.json",
                ]
                .iter()
                .all(|f| d.join(f).is_file())
            });
            SdkSource::Checkout(found.ok_or_else(|| {
                format!(
                    "{}: not the `sdk` directory of a ctest checkout (it holds rust/Cargo.toml, python/pyproject.toml and typescript/package.json)\n  fix: pass --sdk with a checkout's `sdk` directory, or leave --sdk out to use the published SDK packages",
                    sdk.display()
                )
            })?)
        }
    };
    let values = values(language, &source)?;
    for (path, template) in templates(language) {
        let mut text = EXAMPLE_NAMES
            .iter()
            .fold(template.to_string(), |t, example| t.replace(example, name))
            .replace("{{name}}", name)
            .replace("{{crate}}", &name.replace('-', "_"))
            .replace("{{language}}", language.name());
        for (key, value) in &values {
            text = text.replace(&format!("{{{{{key}}}}}"), value);
        }
        let file = dir.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("{}: cannot create: {e}", parent.display()))?;
        }
        std::fs::write(&file, text)
            .map_err(|e| format!("{}: cannot write: {e}", file.display()))?;
        if path.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| format!("{}: cannot make it executable: {e}", file.display()))?;
        }
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// The version field of a manifest, the first `version` key of it.
    fn version_in(path: &str, key: &str) -> String {
        let text = std::fs::read_to_string(root().join(path)).unwrap();
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(key))
            .unwrap_or_else(|| panic!("{path}: no {key}"));
        line.split('"').nth_back(1).unwrap().to_string()
    }

    #[test]
    fn every_sdk_package_has_the_contracts_version() {
        let wit = std::fs::read_to_string(root().join("wit/connector.wit")).unwrap();
        assert!(
            wit.contains(&format!("package ctest:connector@{SDK_VERSION};")),
            "wit/connector.wit is not at {SDK_VERSION}"
        );
        assert_eq!(version_in("sdk/rust/Cargo.toml", "version ="), SDK_VERSION);
        assert_eq!(
            version_in("sdk/python/pyproject.toml", "version ="),
            SDK_VERSION
        );
        assert_eq!(
            version_in("sdk/typescript/package.json", "\"version\""),
            SDK_VERSION
        );
    }

    /// Made from the packages, a project names no path of this machine;
    /// made with `--sdk`, its manifest names the checkout's SDK.
    #[test]
    fn every_placeholder_is_filled_and_only_sdk_projects_name_a_checkout() {
        let checkout = root().join("sdk").canonicalize().unwrap();
        let manifests = [
            (Language::Rust, &["Cargo.toml"][..]),
            (Language::Python, &["build.sh", "test.sh"][..]),
            (Language::Typescript, &["package.json"][..]),
        ];
        for (language, manifest) in manifests {
            for sdk in [None, Some(checkout.as_path())] {
                let dir = tempfile::tempdir().unwrap();
                let project = new_project("source-x", language, dir.path(), sdk).unwrap();
                let mut named = Vec::new();
                let files = glob::glob(&format!("{}/**/*", project.display())).unwrap();
                for file in files.flatten().filter(|f| f.is_file()) {
                    let text = std::fs::read_to_string(&file).unwrap();
                    assert!(!text.contains("{{"), "{}:\n{text}", file.display());
                    let rel = file.strip_prefix(&project).unwrap().display().to_string();
                    if text.contains(&*checkout.display().to_string())
                        && !rel.ends_with("README.md")
                    {
                        named.push(rel);
                    }
                }
                named.sort();
                let expected: &[&str] = if sdk.is_some() { manifest } else { &[] };
                assert_eq!(named, expected, "{language:?}, --sdk {sdk:?}");
            }
        }
    }
}
