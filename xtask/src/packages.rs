//! `cargo xtask packages`: proves that ctest and its SDKs work from their
//! packages alone, as an author outside this repository gets them.
//!
//! 1. Packs each: the crates `ctest-sdk` and `ctest` (`cargo package`), the
//!    Python wheel `ctest-sdk` (`pip wheel`), the npm package `@ctest/sdk`
//!    (`npm pack`).
//! 2. Unpacks the crates into an empty temporary directory and installs
//!    ctest from its unpacked crate into a temporary root (`cargo install`).
//! 3. In an empty directory, for each language: `ctest new` (that ctest),
//!    the project's `build.sh` against the packed SDK only, `ctest run` on
//!    what it built, which must pass, and the project's unit tests
//!    (`test.sh`, `npm test`), on the packed SDK's testing support.
//!
//! The projects depend on the SDKs by version, as `ctest new` writes them;
//! what a registry would serve comes from the packs: a `[patch.crates-io]`
//! of `ctest-sdk` to its unpacked crate (in the directory's
//! `.cargo/config.toml`), `PIP_FIND_LINKS` for the wheel, and the npm tarball
//! installed into the project. Nothing the builds see is under the checkout:
//! the check fails when a project file, or the installed ctest, names it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, python_tools, root, run, typescript_sdk};

const LANGUAGES: [&str; 3] = ["rust", "python", "typescript"];

pub fn prove() -> Result<(), String> {
    let root = root();
    let version = sdk_version(&root)?;
    let work = tempfile::Builder::new()
        .prefix("ctest-packages-")
        .tempdir()
        .map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    let work = work.path();
    eprintln!("xtask: packages: working in {}", work.display());
    let dist = work.join("dist");
    std::fs::create_dir_all(&dist).map_err(|e| e.to_string())?;

    // 1. The packs.
    let crates = pack_crates(&root, &dist)?;
    let wheel = pack_wheel(&root, &dist, &version)?;
    let tarball = pack_npm(&root, &dist, &version)?;

    // 2. Unpacked into an empty directory; ctest installed from its crate.
    let unpacked = work.join("unpacked");
    std::fs::create_dir_all(&unpacked).map_err(|e| e.to_string())?;
    for krate in &crates {
        // `-m`: the files get the time of unpacking, not the pack's fixed
        // one, so that the kept target directory sees them as changed.
        run(Command::new("tar")
            .arg("xzmf")
            .arg(krate)
            .arg("-C")
            .arg(&unpacked))?;
    }
    let ctest_src = only_dir(&unpacked, "ctest-0")?;
    let sdk_src = only_dir(&unpacked, &format!("ctest-sdk-{version}"))?;
    let bin = work.join("root/bin/ctest");
    eprintln!("xtask: packages: cargo install ctest from its unpacked crate");
    run(cargo()
        .current_dir(work)
        .args(["install", "--locked", "--quiet"])
        // What is proven here is that ctest builds and works from its crate
        // alone, not how fast it runs: basic optimizations build in about
        // half the time of the release profile's, and keep the compiles of
        // the Python and TypeScript components the runs below make quick.
        .args(["--config", "profile.release.opt-level=1"])
        .args(["--config", "profile.release.debug=false"])
        .arg("--path")
        .arg(&ctest_src)
        .arg("--root")
        .arg(work.join("root"))
        // Outside the checkout, and kept between runs of this task on one
        // machine (a first build takes minutes).
        .env(
            "CARGO_TARGET_DIR",
            std::env::temp_dir().join("ctest-xtask-packages-target"),
        ))?;
    let exe = std::fs::read(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    if contains(&exe, root.display().to_string().as_bytes()) {
        return Err(format!(
            "the installed ctest names the checkout ({})",
            root.display()
        ));
    }

    // 3. A project per language, in an empty directory outside the checkout.
    let projects = work.join("projects");
    std::fs::create_dir_all(projects.join(".cargo")).map_err(|e| e.to_string())?;
    std::fs::write(
        projects.join(".cargo/config.toml"),
        format!(
            "# What a registry would serve: the packed ctest-sdk.\n[patch.crates-io]\nctest-sdk = {{ path = {:?} }}\n",
            sdk_src.display().to_string()
        ),
    )
    .map_err(|e| e.to_string())?;
    for lang in LANGUAGES {
        let name = format!("source-packaged-{lang}");
        eprintln!("xtask: packages: {lang}: ctest new, build.sh, ctest run");
        run(isolated(&bin, &root)
            .current_dir(&projects)
            .args(["new", &name, "--lang", lang]))?;
        let project = projects.join(&name);
        for file in walk(&project) {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            if text.contains(&*root.display().to_string()) {
                return Err(format!("{} names the checkout", file.display()));
            }
        }
        if lang == "typescript" {
            // The registry's copy: the tarball, installed without touching
            // package.json (which keeps `"@ctest/sdk": "VERSION"`).
            run(isolated("npm", &root)
                .current_dir(&project)
                .args([
                    "install",
                    "--no-save",
                    "--silent",
                    "--no-audit",
                    "--no-fund",
                ])
                .arg(&tarball))?;
        }
        run(isolated(project.join("build.sh"), &root)
            .current_dir(&project)
            .env("PIP_FIND_LINKS", &dist))?;
        let wasm = project.join(format!("{name}.wasm"));
        let out = isolated(&bin, &root)
            .current_dir(&project)
            .arg("run")
            .arg(&wasm)
            .args(["--config", "config.json"])
            .output()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let last = stdout.lines().last().unwrap_or_default().to_string();
        if !out.status.success() || !last.contains(" passed, 0 failed") {
            return Err(format!(
                "{lang}: `ctest run` of the packaged project failed:\n{stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        eprintln!("xtask: packages: {lang}: {last}");
        // The project's unit tests, on the packed SDK's testing support.
        let tests = match lang {
            "python" => Some(isolated(project.join("test.sh"), &root)),
            "typescript" => {
                let mut npm = isolated("npm", &root);
                npm.args(["test", "--silent"]);
                Some(npm)
            }
            _ => None,
        };
        if let Some(mut tests) = tests {
            run(tests.current_dir(&project).env("PIP_FIND_LINKS", &dist))?;
            eprintln!("xtask: packages: {lang}: the project's unit tests pass");
        }
    }
    let guide = isolated(&bin, &root)
        .args(["guide", "python"])
        .output()
        .map_err(|e| e.to_string())?;
    if !guide.status.success() || !String::from_utf8_lossy(&guide.stdout).contains("ctest_sdk") {
        return Err("`ctest guide python` of the installed ctest printed no guide".into());
    }
    eprintln!(
        "xtask: packages: ctest {}, ctest-sdk {version} (crate, {}, {}) work from their packages",
        ctest_src
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .trim_start_matches("ctest-"),
        file_name(&wheel),
        file_name(&tarball)
    );
    Ok(())
}

/// The SDK packages' version: the contract's, from `wit/connector.wit`.
fn sdk_version(root: &Path) -> Result<String, String> {
    let wit = std::fs::read_to_string(root.join("wit/connector.wit"))
        .map_err(|e| format!("cannot read wit/connector.wit: {e}"))?;
    wit.lines()
        .find_map(|l| l.strip_prefix("package ctest:connector@"))
        .map(|v| v.trim_end_matches(';').trim().to_string())
        .ok_or_else(|| "wit/connector.wit: no `package ctest:connector@VERSION;`".into())
}

/// `cargo package` of the two crates (not verified here: their unpacked
/// copies are built below, which is the verification).
fn pack_crates(root: &Path, dist: &Path) -> Result<Vec<PathBuf>, String> {
    let out = root.join("target/package");
    run(cargo().current_dir(root).args([
        "package",
        "--quiet",
        "--no-verify",
        "--allow-dirty",
        "-p",
        "ctest-sdk",
        "-p",
        "ctest",
    ]))?;
    let mut crates = Vec::new();
    for entry in std::fs::read_dir(&out)
        .map_err(|e| e.to_string())?
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".crate")
            && (name.starts_with("ctest-sdk-") || name.starts_with("ctest-0"))
        {
            let to = dist.join(&name);
            std::fs::copy(entry.path(), &to).map_err(|e| e.to_string())?;
            crates.push(to);
        }
    }
    if crates.len() != 2 {
        return Err(format!(
            "expected 2 crates in {}, found {crates:?}",
            out.display()
        ));
    }
    Ok(crates)
}

/// The wheel, built from a copy of `sdk/python` with its links resolved (the
/// contract inside), so the build writes nothing into the SDK.
fn pack_wheel(root: &Path, dist: &Path, version: &str) -> Result<PathBuf, String> {
    let tools = python_tools(root)?;
    let src = dist.join("python-src");
    run(Command::new("cp")
        .arg("-rL")
        .arg(root.join("sdk/python"))
        .arg(&src))?;
    run(Command::new(tools.with_file_name("pip"))
        .args([
            "wheel",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "-w",
        ])
        .arg(dist)
        .arg(&src))?;
    let wheel = dist.join(format!("ctest_sdk-{version}-py3-none-any.whl"));
    if !wheel.exists() {
        return Err(format!("pip made no {}", wheel.display()));
    }
    Ok(wheel)
}

/// `npm pack` of the TypeScript SDK (its `prepack` builds it).
fn pack_npm(root: &Path, dist: &Path, version: &str) -> Result<PathBuf, String> {
    let sdk = typescript_sdk(root)?;
    run(Command::new("npm")
        .current_dir(&sdk)
        .args(["pack", "--silent", "--pack-destination"])
        .arg(dist)
        .stdout(std::process::Stdio::null()))?;
    let tarball = dist.join(format!("ctest-sdk-{version}.tgz"));
    if !tarball.exists() {
        return Err(format!("npm made no {}", tarball.display()));
    }
    Ok(tarball)
}

/// A command without what `cargo xtask` put in the environment (cargo's
/// variables, a shared target directory).
fn isolated(program: impl AsRef<std::ffi::OsStr>, root: &Path) -> Command {
    let mut cmd = Command::new(program);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_") && key != "CARGO_HOME" || key == "RUSTUP_TOOLCHAIN" {
            cmd.env_remove(&*key);
        }
    }
    // PATH without the checkout's directories (for example target/debug).
    let path = std::env::var_os("PATH").unwrap_or_default();
    let kept: Vec<PathBuf> = std::env::split_paths(&path)
        .filter(|p| !p.starts_with(root))
        .collect();
    if let Ok(path) = std::env::join_paths(kept) {
        cmd.env("PATH", path);
    }
    cmd
}

fn only_dir(dir: &Path, prefix: &str) -> Result<PathBuf, String> {
    std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .ok_or_else(|| format!("no {prefix}* in {}", dir.display()))
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}
