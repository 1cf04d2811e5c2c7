//! Project tasks:
//! - `cargo xtask plugins`: builds every first-party plugin and example into
//!   `target/plugins/NAME.wasm` (adding the wasm32-wasip2 target when missing,
//!   and installing the pinned componentize-py into `target/python-tools` for
//!   the Python examples, and `npm ci` of the TypeScript SDK's pinned tools for
//!   the TypeScript ones);
//! - `cargo xtask demo`: builds source-faker and runs `ctest run` on it;
//! - `cargo xtask test`: builds the plugins, installs `nats-server` (for the
//!   job-queue tests) and `chromium` (to render the HTML report), Debian's
//!   packages, when missing, and runs the whole test suite;
//! - `cargo xtask packages`: packs ctest and the SDKs, installs them from the
//!   packs outside the checkout and builds and tests a new project in each
//!   language with them (`packages.rs`).

mod packages;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "guest";
/// The runner of the Python examples' unit tests.
const PYTEST: &str = "pytest==9.2.0";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("plugins") => build_plugins().map(|_| ()),
        Some("test") => build_plugins()
            .and_then(|_| ensure_package("nats-server", "--version", "the job-queue tests"))
            .and_then(|_| ensure_package("chromium", "--version", "the HTML report's tests"))
            .and_then(|_| run_tests(&args[1..])),
        Some("demo") => demo(&args[1..]),
        Some("packages") => packages::prove(),
        _ => Err(
            "usage: cargo xtask plugins | cargo xtask demo [CTEST ARGS] | cargo xtask test [TEST RUNNER ARGS] | cargo xtask packages"
                .into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed with {status}"))
    }
}

/// Adds the wasm32-wasip2 target with rustup when it is missing.
fn ensure_target() -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("cannot run rustup to check for the {TARGET} target: {e}"))?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == TARGET)
    {
        return Ok(());
    }
    eprintln!("xtask: adding the {TARGET} target with rustup");
    run(Command::new("rustup").args(["target", "add", TARGET]))
}

/// A component to build: from a package's library, or from one of its examples.
struct Component {
    package: &'static str,
    example: Option<String>,
    plugin: String,
}

fn components(root: &Path) -> Result<Vec<Component>, String> {
    let mut out: Vec<Component> = ["source-faker", "source-numbers", "source-shop"]
        .into_iter()
        .map(|package| Component {
            package,
            example: None,
            plugin: package.into(),
        })
        .collect();
    let dir = root.join("plugins/broken/examples");
    let mut broken = list_examples(&dir)?;
    broken.sort();
    for example in broken {
        // `good_*`: a connector of a tricky but correct shape, which must pass.
        let plugin = match example.strip_prefix("good_") {
            Some(good) => format!("good-{}", good.replace('_', "-")),
            None => format!("broken-{}", example.replace('_', "-")),
        };
        out.push(Component {
            package: "broken-plugins",
            example: Some(example),
            plugin,
        });
    }
    // source-shop's test-utils, with and without the connector, and their
    // broken variants (`broken_wb_*`): each example is named as its plugin.
    let dir = root.join("plugins/shop-test-utils/examples");
    let mut utils = list_examples(&dir)?;
    utils.sort();
    for example in utils {
        out.push(Component {
            package: "shop-test-utils",
            plugin: example.replace('_', "-"),
            example: Some(example),
        });
    }
    Ok(out)
}

/// The examples of a crate: the `.rs` files of its `examples/` directory.
fn list_examples(dir: &Path) -> Result<Vec<String>, String> {
    Ok(std::fs::read_dir(dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_string_lossy()
                .strip_suffix(".rs")
                .map(str::to_string)
        })
        .collect())
}

fn build_plugins() -> Result<Vec<PathBuf>, String> {
    ensure_target()?;
    let root = root();
    let components = components(&root)?;
    let mut packages: Vec<&str> = components.iter().map(|c| c.package).collect();
    packages.dedup();
    let mut build = cargo();
    build
        .current_dir(&root)
        .args(["build", "--quiet", "--target", TARGET, "--profile", PROFILE])
        .args(["--lib", "--examples"]);
    for package in packages {
        build.args(["--package", package]);
    }
    run(&mut build)?;

    let built = root.join("target").join(TARGET).join(PROFILE);
    let out_dir = root.join("target/plugins");
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let mut outputs = Vec::new();
    for Component {
        package,
        example,
        plugin,
    } in components
    {
        let from = match example {
            Some(example) => built.join("examples").join(format!("{example}.wasm")),
            None => built.join(format!("{}.wasm", package.replace('-', "_"))),
        };
        let to = out_dir.join(format!("{plugin}.wasm"));
        copy_if_changed(&from, &to)?;
        outputs.push(to);
    }
    outputs.extend(build_python_plugins(&root, &out_dir)?);
    outputs.extend(build_typescript_plugins(&root, &out_dir)?);
    eprintln!("xtask: {} plugins in {}", outputs.len(), out_dir.display());
    Ok(outputs)
}

/// The Python SDK's dependencies as its `pyproject.toml` pins them
/// (componentize-py among them), and pytest, in a virtual environment of its
/// own under `target/`; its componentize-py is returned.
fn python_tools(root: &Path) -> Result<PathBuf, String> {
    let pyproject = root.join("sdk/python/pyproject.toml");
    let text = std::fs::read_to_string(&pyproject)
        .map_err(|e| format!("cannot read {}: {e}", pyproject.display()))?;
    // Its dependencies: the build tool (componentize-py), the config check.
    let deps: Vec<&str> = text
        .lines()
        .find_map(|l| l.strip_prefix("dependencies = ["))
        .map(|list| list.split('"').skip(1).step_by(2).collect())
        .unwrap_or_default();
    if !deps.iter().any(|d| d.starts_with("componentize-py==")) {
        return Err(format!(
            "{}: no `dependencies = [...]` line with componentize-py",
            pyproject.display()
        ));
    }
    // With the runner of the examples' unit tests.
    let wanted: Vec<&str> = deps.into_iter().chain([PYTEST]).collect();
    let tools = root.join("target/python-tools");
    let marker = tools.join("installed.txt");
    let tool = tools.join("bin/componentize-py");
    let installed = wanted.join("\n");
    if tool.exists() && std::fs::read_to_string(&marker).ok() == Some(installed.clone()) {
        return Ok(tool);
    }
    eprintln!(
        "xtask: installing {} into {}",
        wanted.join(", "),
        tools.display()
    );
    run(Command::new("python3").args(["-m", "venv"]).arg(&tools))
        .map_err(|e| format!("{e}\n  (the Python examples need python3 with its venv module)"))?;
    run(Command::new(tools.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(&wanted))?;
    std::fs::write(&marker, installed)
        .map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
    Ok(tool)
}

/// The newest modification time of the files below `dir` (recursively;
/// Python's `__pycache__` left out).
fn newest(dir: &Path) -> std::time::SystemTime {
    let mut newest = std::time::SystemTime::UNIX_EPOCH;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let time = if path.ends_with("__pycache__") {
            continue;
        } else if path.is_dir() {
            self::newest(&path)
        } else {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(newest)
        };
        newest = newest.max(time);
    }
    newest
}

/// The examples `examples/PREFIX*` that have `file`, sorted.
fn example_dirs(root: &Path, prefix: &str, file: &str) -> Result<Vec<PathBuf>, String> {
    let examples = root.join("examples");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&examples)
        .map_err(|e| format!("cannot list {}: {e}", examples.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.join(file).exists()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// Whether `out` is missing or older than `inputs`.
fn stale(out: &Path, inputs: std::time::SystemTime) -> bool {
    std::fs::metadata(out)
        .and_then(|m| m.modified())
        .map_or(true, |built| built < inputs)
}

/// The TypeScript SDK, ready to build connectors: its pinned tools installed
/// with `npm ci` when the lock file changed, and the SDK itself built
/// (`npm run build`: `dist/`, `types/`, `wit/`) when its sources or the
/// contract changed.
fn typescript_sdk(root: &Path) -> Result<PathBuf, String> {
    let sdk = root.join("sdk/typescript");
    let lock = std::fs::read_to_string(sdk.join("package-lock.json"))
        .map_err(|e| format!("cannot read the TypeScript SDK's package-lock.json: {e}"))?;
    let marker = sdk.join("node_modules/.ctest-installed-lock");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(lock.as_str()) {
        eprintln!("xtask: installing the TypeScript SDK's tools (npm ci)");
        run(Command::new("npm").current_dir(&sdk).args([
            "ci",
            "--silent",
            "--no-audit",
            "--no-fund",
        ]))
        .map_err(|e| format!("{e}\n  (the TypeScript SDK needs Node.js and npm)"))?;
        std::fs::write(&marker, &lock)
            .map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
    }
    let sources = newest(&sdk.join("src"))
        .max(newest(&sdk.join("scripts")))
        .max(newest(&root.join("wit")))
        .max(modified(&sdk.join("tsconfig.build.json")))
        .max(modified(&sdk.join("tsconfig.base.json")));
    if stale(&sdk.join("dist/index.js"), sources) {
        eprintln!("xtask: building the TypeScript SDK (npm run build)");
        run(Command::new("npm")
            .current_dir(&sdk)
            .args(["run", "--silent", "build"])
            .stdout(std::process::Stdio::null()))?;
    }
    Ok(sdk)
}

fn modified(path: &Path) -> std::time::SystemTime {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(std::time::SystemTime::UNIX_EPOCH)
}

/// Each `examples/ts-*` (an `app.ts` exporting `source`) built by the
/// TypeScript SDK's build tool, into `target/plugins/ts-*.wasm`.
fn build_typescript_plugins(root: &Path, out_dir: &Path) -> Result<Vec<PathBuf>, String> {
    let dirs = example_dirs(root, "ts-", "app.ts")?;
    if dirs.is_empty() {
        return Ok(Vec::new());
    }
    let sdk = typescript_sdk(root)?;
    let inputs = newest(&sdk.join("dist")).max(modified(&sdk.join("build.mjs")));
    build_examples(dirs, out_dir, inputs, |dir, out| {
        run(Command::new("node")
            .current_dir(root)
            .arg(sdk.join("build.mjs"))
            .arg(dir.join("app.ts"))
            .arg(out))
    })
}

/// Each `examples/python-*` (an `app.py` exporting `Source`, and maybe
/// `WriteBack`) built by the Python SDK's build tool (`python -m
/// ctest_sdk_build`, as an author's project does, with the checkout's SDK on
/// PYTHONPATH), into `target/plugins/python-*.wasm`. Skipped when nothing it
/// is made of changed.
fn build_python_plugins(root: &Path, out_dir: &Path) -> Result<Vec<PathBuf>, String> {
    let dirs = example_dirs(root, "python-", "app.py")?;
    if dirs.is_empty() {
        return Ok(Vec::new());
    }
    let tool = python_tools(root)?;
    let python = tool.with_file_name("python");
    let (sdk, wit) = (root.join("sdk/python"), root.join("wit"));
    let inputs = newest(&sdk).max(newest(&wit));
    build_examples(dirs, out_dir, inputs, |dir, out| {
        run(Command::new(&python)
            .current_dir(dir)
            .args(["-m", "ctest_sdk_build", "app.py", "--quiet", "-o"])
            .arg(out)
            .env("PYTHONPATH", &sdk)
            .env("PYTHONDONTWRITEBYTECODE", "1"))
    })
}

/// Builds each example directory into `OUT_DIR/NAME.wasm` with `build(dir,
/// file)` (through a temporary file, so a test never reads half a component),
/// unless the component is newer than `inputs` and the directory.
fn build_examples(
    dirs: Vec<PathBuf>,
    out_dir: &Path,
    inputs: std::time::SystemTime,
    build: impl Fn(&Path, &Path) -> Result<(), String>,
) -> Result<Vec<PathBuf>, String> {
    let mut outputs = Vec::new();
    for dir in dirs {
        let name = dir
            .file_name()
            .expect("a directory name")
            .to_string_lossy()
            .into_owned();
        let out = out_dir.join(format!("{name}.wasm"));
        if stale(&out, inputs.max(newest(&dir))) {
            let tmp = out.with_extension("wasm.tmp");
            build(&dir, &tmp)?;
            std::fs::rename(&tmp, &out)
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
        }
        outputs.push(out);
    }
    Ok(outputs)
}

fn copy_if_changed(from: &Path, to: &Path) -> Result<(), String> {
    let new = std::fs::read(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    if std::fs::read(to).ok().as_deref() == Some(new.as_slice()) {
        return Ok(());
    }
    // Write then rename, so a test reading the plugin never sees half a file.
    let tmp = to.with_extension("wasm.tmp");
    std::fs::write(&tmp, &new).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, to).map_err(|e| format!("cannot write {}: {e}", to.display()))
}

/// `ctest run` on source-faker with its sample config.
/// Builds what the demo needs, and no more (the full plugin build, with the
/// Python and TypeScript tools, stays with `plugins` and `test`): the
/// reference connector's component, then ctest, then runs one on the other.
fn demo(extra: &[String]) -> Result<(), String> {
    ensure_target()?;
    let root = root();
    eprintln!("xtask: demo: building the reference connector source-faker for {TARGET}");
    run(cargo()
        .current_dir(&root)
        .args(["build", "--quiet", "--target", TARGET, "--profile", PROFILE])
        .args(["--lib", "--package", "source-faker"]))?;
    let out_dir = root.join("target/plugins");
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    copy_if_changed(
        &root
            .join("target")
            .join(TARGET)
            .join(PROFILE)
            .join("source_faker.wasm"),
        &out_dir.join("source-faker.wasm"),
    )?;
    eprintln!("xtask: demo: building ctest, then running it on target/plugins/source-faker.wasm");
    run(cargo()
        .current_dir(&root)
        .args([
            "run",
            "--quiet",
            "--package",
            "ctest",
            "--",
            "run",
            "target/plugins/source-faker.wasm",
        ])
        .args(["--config", "plugins/source-faker/config.json"])
        .args(extra))
}

/// A program the tests run, from the Debian package of the same name,
/// installed with apt-get when missing (and this is root): `nats-server`
/// (the job-queue tests start a real one, with JetStream) and `chromium`
/// (the HTML report is rendered in it).
fn ensure_package(program: &str, version_flag: &str, for_what: &str) -> Result<(), String> {
    let present = || {
        Command::new(program)
            .arg(version_flag)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if present() {
        return Ok(());
    }
    eprintln!("xtask: installing {program} (apt-get) for {for_what}");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-q", program])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    if !install() {
        // The package lists may be missing on a fresh machine.
        let _ = Command::new("apt-get").args(["update", "-q"]).status();
        install();
    }
    if present() {
        Ok(())
    } else {
        Err(format!(
            "{program} is missing and could not be installed: install it (Debian: `apt-get install {program}`)"
        ))
    }
}

/// Runs the test suite with nextest when installed, else `cargo test`.
fn run_tests(extra: &[String]) -> Result<(), String> {
    let root = root();
    let has_nextest = cargo()
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    let mut cmd = cargo();
    cmd.current_dir(&root);
    if has_nextest {
        cmd.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        cmd.args(["test", "--workspace", "--no-fail-fast"]);
    }
    // The components are built for wasm above and tested through ctest; the
    // libraries (the SDK, faker) also run their own tests natively.
    for g in [
        "source-faker",
        "source-numbers",
        "source-shop",
        "broken-plugins",
        "shop-test-utils",
    ] {
        cmd.args(["--exclude", g]);
    }
    cmd.args(extra).env("CTEST_PLUGINS_BUILT", "1");
    run(&mut cmd)
}
