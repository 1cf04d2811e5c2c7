//! `ctest new`: a project in each language builds with its own build script
//! and passes every suite as made.

use std::process::Command;

use crate::support::*;

fn scaffold_builds_and_passes(lang: &str) {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("source-new-{lang}");
    let made = ctest(&[
        "new",
        &name,
        "--lang",
        lang,
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(made.code, 0, "{}{}", made.stdout, made.stderr);
    assert!(
        made.stdout.contains("./build.sh && ctest run"),
        "{}",
        made.stdout
    );
    let project = dir.path().join(&name);
    for file in ["build.sh", "config.json", "README.md"] {
        assert!(project.join(file).exists(), "{file} missing");
    }
    // The README points to the language's guide, which exists.
    let readme = std::fs::read_to_string(project.join("README.md")).unwrap();
    let guide = readme
        .lines()
        .last()
        .and_then(|l| l.rsplit(": ").next())
        .unwrap();
    assert!(
        guide.ends_with(&format!("sdk/{lang}/README.md")),
        "{readme}"
    );
    assert!(std::path::Path::new(guide).exists(), "{guide}");
    // The tools `cargo xtask plugins` installed for the examples.
    let built = Command::new(project.join("build.sh"))
        .env("CARGO_TARGET_DIR", root().join("target/scaffold"))
        .env(
            "COMPONENTIZE_PY",
            root().join("target/python-tools/bin/componentize-py"),
        )
        .output()
        .expect("run build.sh");
    assert!(
        built.status.success(),
        "{lang}: build.sh failed:\n{}{}",
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );
    let wasm = project.join(format!("{name}.wasm"));
    let config = project.join("config.json");
    let run = ctest(&[
        "run",
        wasm.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{lang}:\n{}", run.stdout);
    let expected = default_tests_without_secrets()
        .into_iter()
        .filter(|t| !t.starts_with("backward_compatibility/"))
        .count();
    assert_eq!(
        run.last_line(),
        format!("{expected} passed, 0 failed, 1 skipped"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_new_rust_connector_builds_and_passes() {
    scaffold_builds_and_passes("rust");
}

#[test]
fn a_new_python_connector_builds_and_passes() {
    scaffold_builds_and_passes("python");
}

#[test]
fn a_new_typescript_connector_builds_and_passes() {
    scaffold_builds_and_passes("typescript");
}

#[test]
fn new_refuses_a_bad_name_and_an_existing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let bad = ctest(&["new", "Bad_Name", "--dir", d]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("`Bad_Name` is not a connector name"),
        "{}",
        bad.stderr
    );
    assert_eq!(ctest(&["new", "source-x", "--dir", d]).code, 0);
    let again = ctest(&["new", "source-x", "--dir", d]);
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
}
