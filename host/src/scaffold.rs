//! `ctest new NAME --lang rust|python|typescript`: a connector project that
//! builds and passes `ctest run` as it is: its source (one incremental stream
//! to replace), a build script, a sample config and a README.
//!
//! The templates are in `host/templates/`; the Python and TypeScript sources
//! are the examples' (`examples/python-numbers`, `examples/ts-numbers`), with
//! the connector's name put in. The project refers to this checkout's SDKs
//! and contract (`--sdk` to use others).

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Language {
    Rust,
    Python,
    Typescript,
}

/// The names the examples' specs carry, replaced by the project's.
const EXAMPLE_NAMES: [&str; 2] = ["source-numbers-python", "source-numbers-ts"];

/// (path in the project, template text)
fn templates(language: Language) -> Vec<(&'static str, &'static str)> {
    let readme = ("README.md", include_str!("../templates/README.md"));
    match language {
        Language::Rust => vec![
            ("Cargo.toml", include_str!("../templates/rust/Cargo.toml")),
            ("src/lib.rs", include_str!("../templates/rust/src/lib.rs")),
            ("build.sh", include_str!("../templates/rust/build.sh")),
            ("config.json", include_str!("../templates/rust/config.json")),
            readme,
        ],
        Language::Python => vec![
            (
                "app.py",
                include_str!("../../examples/python-numbers/app.py"),
            ),
            ("build.sh", include_str!("../templates/python/build.sh")),
            (
                "config.json",
                include_str!("../../examples/python-numbers/config.json"),
            ),
            readme,
        ],
        Language::Typescript => vec![
            ("app.ts", include_str!("../../examples/ts-numbers/app.ts")),
            ("build.sh", include_str!("../templates/typescript/build.sh")),
            (
                "config.json",
                include_str!("../../examples/ts-numbers/config.json"),
            ),
            readme,
        ],
    }
}

/// The SDKs of the checkout ctest was built from.
pub fn default_sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk")
}

/// Writes the project `parent/name` and returns its directory.
pub fn new_project(
    name: &str,
    language: Language,
    parent: &Path,
    sdk: &Path,
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
    let sdk = sdk.canonicalize().map_err(|e| {
        format!(
            "{}: cannot find ctest's SDKs: {e}\n  fix: pass --sdk with the `sdk` directory of a ctest checkout",
            sdk.display()
        )
    })?;
    let wit = sdk.join("../wit").canonicalize().map_err(|e| {
        format!(
            "{}: cannot find the contract next to the SDKs: {e}\n  fix: pass --sdk with the `sdk` directory of a ctest checkout",
            sdk.join("../wit").display()
        )
    })?;
    let (language_name, sdk_dir) = match language {
        Language::Rust => ("Rust", "rust"),
        Language::Python => ("Python", "python"),
        Language::Typescript => ("TypeScript", "typescript"),
    };
    for (path, template) in templates(language) {
        let text = EXAMPLE_NAMES
            .iter()
            .fold(template.to_string(), |t, example| t.replace(example, name))
            .replace("{{name}}", name)
            .replace("{{crate}}", &name.replace('-', "_"))
            .replace("{{sdk}}", &sdk.display().to_string())
            .replace("{{wit}}", &wit.display().to_string())
            .replace("{{language}}", language_name)
            .replace(
                "{{guide}}",
                &sdk.join(sdk_dir).join("README.md").display().to_string(),
            );
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
