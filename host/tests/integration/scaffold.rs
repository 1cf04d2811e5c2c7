//! `ctest new`: a project in each language builds with its own build script
//! and passes every suite as made. These use the checkout's SDKs (`--sdk`);
//! `cargo xtask packages` proves the same of projects that depend on the
//! packed SDKs by version.

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
        "--sdk",
        root().join("sdk").to_str().unwrap(),
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
    // The README points to the language's guide, which ctest prints.
    let readme = std::fs::read_to_string(project.join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("`ctest guide {lang}`")),
        "{readme}"
    );
    let guide = ctest(&["guide", lang]);
    assert_eq!(guide.code, 0);
    let own = std::fs::read_to_string(root().join(format!("sdk/{lang}/README.md"))).unwrap();
    assert_eq!(guide.stdout, own);
    // The SDK's build tools: the TypeScript SDK's installed and built by
    // `cargo xtask plugins`; the Python project's build.sh makes `.venv`.
    let built = Command::new(project.join("build.sh"))
        .env("CARGO_TARGET_DIR", root().join("target/scaffold"))
        .output()
        .expect("run build.sh");
    assert!(
        built.status.success(),
        "{lang}: build.sh failed:\n{}{}",
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );
    // The project's unit tests (none in Rust's template) pass as made.
    let tests = match lang {
        "python" => Some(Command::new(project.join("test.sh")).output()),
        "typescript" => Some(
            Command::new("npm")
                .args(["test", "--silent"])
                .current_dir(&project)
                .output(),
        ),
        _ => None,
    };
    if let Some(tests) = tests {
        let tests = tests.expect("run the project's tests");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&tests.stdout),
            String::from_utf8_lossy(&tests.stderr)
        );
        assert!(tests.status.success(), "{lang}: unit tests failed:\n{text}");
        assert!(
            text.contains("3 passed") || text.contains("# pass 3"),
            "{lang}: {text}"
        );
    }
    // No build writes into the SDK: its files are git's, or ignored by it.
    let status = Command::new("git")
        .current_dir(root())
        .args([
            "status",
            "--porcelain",
            "--ignored",
            "--untracked-files=all",
            "sdk",
        ])
        .output()
        .expect("git status");
    let changed: Vec<String> = String::from_utf8_lossy(&status.stdout)
        .lines()
        .filter(|l| l.starts_with("!!"))
        .filter(|l| {
            !["node_modules/", "dist/", "types/", "wit/"]
                .iter()
                .any(|kept| l.contains(&format!("sdk/typescript/{kept}")))
        })
        .map(str::to_string)
        .collect();
    assert!(
        changed.is_empty(),
        "{lang}: the build wrote into the SDK: {changed:?}"
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
