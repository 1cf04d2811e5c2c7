"""`ctest-sdk-build APP.py [-o OUT.wasm]`: a Python connector made into a
WebAssembly component that ctest can test.

It runs componentize-py (a dependency of this package) against the contract
this package carries (`wit/`), with the contract's `connector-http` world, or
`connector-http-with-write-back` when the app calls `export_write_back(`.

The app's directory and the SDK are copied into a temporary directory first:
the build writes nothing next to the app but the component, nothing into the
SDK, and never bundles a virtual environment that lives in the project.
"""

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, Optional

__all__ = ["main", "build"]

WIT = Path(__file__).resolve().parent / "wit"

# Directories of a project that are not the connector's code.
_SKIPPED_DIRS = {"__pycache__", "node_modules", "target", "dist", "build", "tests"}


def _is_venv(path: Path) -> bool:
    return (path / "pyvenv.cfg").exists()


def _stage_app(app_dir: Path, stage: Path) -> None:
    """Copies the project's files, without hidden and tool directories,
    virtual environments and built components."""
    for root, dirs, files in os.walk(app_dir):
        here = Path(root)
        dirs[:] = sorted(
            d for d in dirs
            if not d.startswith(".") and d not in _SKIPPED_DIRS and not _is_venv(here / d)
        )
        target = stage / here.relative_to(app_dir)
        target.mkdir(parents=True, exist_ok=True)
        for name in files:
            if name.endswith((".wasm", ".pyc")) or name.startswith("."):
                continue
            shutil.copy2(here / name, target / name)


def _sdk_dir() -> Path:
    """The `ctest_sdk` package, found without importing it (it imports the
    component's bindings, which exist only inside the component)."""
    spec = importlib.util.find_spec("ctest_sdk")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "ctest-sdk-build: cannot find the `ctest_sdk` package\n"
            "  fix: pip install ctest-sdk (in the environment that runs this command)"
        )
    return Path(list(spec.submodule_search_locations)[0])


# Imports the app under this CPython (as componentize-py does when it makes
# the component) and lists the native extension modules it loaded from
# outside the standard library: CPython in the component cannot load them.
_PROBE = r"""
import importlib.machinery, json, sys
stage, app = sys.argv[1], sys.argv[2]
sys.path.insert(0, stage)
try:
    __import__(app)
except BaseException as e:
    print(json.dumps({"skipped": f"{type(e).__name__}: {e}"}))
    raise SystemExit(0)
suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
native = {}
for name, module in list(sys.modules.items()):
    where = getattr(module, "__file__", None) or ""
    # The standard library's own (lib-dynload) are in the component's CPython.
    if where.endswith(suffixes) and ("-packages" in where or where.startswith(stage)):
        native[name] = where
loaded = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps({"native": native, "loaded": loaded}))
"""

# Packages whose HTTP goes through sockets and native code, and what to use.
_HTTP_LIBRARIES = ("requests", "httpx", "aiohttp", "urllib3")


def native_modules(stage: Path, app: str) -> Optional[str]:
    """Why the app cannot run in a component, when it loads native
    extension modules; None when it loads none (or cannot be imported here,
    which componentize-py then reports)."""
    import json

    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    # Outside a component the SDK makes the contract's bindings with
    # componentize-py (native) the first time it is imported on a machine:
    # made here first, so the probe sees only what the app loads.
    subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import ctest_sdk",
         str(stage)],
        capture_output=True, env=env,
    )
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(stage), app],
        capture_output=True, text=True, env=env,
    )
    try:
        found = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    native = found.get("native") or {}
    if not native:
        return None
    # One line per file (a package may be imported under several names).
    files: dict = {}
    for name, path in native.items():
        if path not in files or len(name) < len(files[path]):
            files[path] = name
    lines = [f"  {name}: {path}" for path, name in sorted(files.items(), key=lambda f: f[1])]
    http = [lib for lib in _HTTP_LIBRARIES if lib in found.get("loaded", [])]
    if http:
        fix = (
            f"`{http[0]}` cannot run in the sandbox (its dependencies are native code, and it "
            "opens sockets itself): use `ctest_sdk.http` (wasi:http: ctest's network policy "
            "and cassettes apply to it), or `urllib.request`"
        )
    else:
        fix = (
            "use a pure-Python package instead, or one built for WebAssembly "
            "(componentize-py cannot load a native module built for this machine)"
        )
    return (
        f"{app}.py imports native extension modules, which CPython in the component cannot load:\n"
        + "\n".join(lines)
        + f"\n  fix: {fix}"
    )


def world_of(app_source: str) -> str:
    """The contract's world an app needs: write-back only when it exports it."""
    if re.search(r"\bexport_write_back\s*\(", app_source):
        return "connector-http-with-write-back"
    return "connector-http"


def build(app: Path, out: Path, quiet: bool = False) -> int:
    app = app.resolve()
    if not app.is_file() or app.suffix != ".py":
        print(
            f"ctest-sdk-build: {app}: not a Python file\n"
            "  fix: name the module that exports `Source`, for example `app.py`",
            file=sys.stderr,
        )
        return 2
    if not (WIT / "connector.wit").exists():
        print(f"ctest-sdk-build: the contract is missing from this package ({WIT})", file=sys.stderr)
        return 2
    world = world_of(app.read_text(encoding="utf-8", errors="replace"))
    out = out.resolve()
    with tempfile.TemporaryDirectory(prefix="ctest-sdk-build-") as work:
        stage = Path(work) / "app"
        _stage_app(app.parent, stage)
        shutil.copytree(
            _sdk_dir(), stage / "ctest_sdk",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True,
        )
        problem = native_modules(stage, app.stem)
        if problem is not None:
            print(f"ctest-sdk-build: {problem}", file=sys.stderr)
            return 1
        command = [
            sys.executable, "-c",
            "import sys; from componentize_py import script; "
            "sys.argv[0] = 'componentize-py'; sys.exit(script())",
            "-d", str(WIT), "-w", world, "componentize", app.stem,
            "-p", str(stage), "-o", str(out),
        ]
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        # componentize-py adds the `site-packages` of $VIRTUAL_ENV (else of
        # the first python3 on PATH): the SDK's dependencies and the app's are
        # in this environment's.
        if sys.prefix != sys.base_prefix:
            env["VIRTUAL_ENV"] = sys.prefix
        done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        print(f"ctest-sdk-build: componentize-py failed (above); no component was built", file=sys.stderr)
        return 1
    if not quiet:
        print(f"built {out.name} ({world})")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ctest-sdk-build",
        description="Build a Python ctest connector into a WebAssembly component.",
    )
    parser.add_argument("app", type=Path, help="the module that exports `Source`, e.g. app.py")
    parser.add_argument("-o", "--output", type=Path, help="the component to write (default: APP.wasm)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing when it works")
    args = parser.parse_args(argv)
    out = args.output or args.app.with_suffix(".wasm")
    return build(args.app, out, args.quiet)


if __name__ == "__main__":
    sys.exit(main())
