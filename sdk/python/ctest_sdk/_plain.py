"""`ctest_sdk` under plain CPython (unit tests, tools), outside a component.

Inside a component, componentize-py provides the contract's bindings
(`wit_world`). Outside, this module makes the same bindings from the contract
this package carries (`ctest_sdk_build/wit`), with componentize-py's
`bindings` command, once per contract: they are cached under
`$XDG_CACHE_HOME/ctest-sdk/` (or `~/.cache`, or the temporary directory),
keyed by a hash of the WIT files. The host's functions there raise
NotImplementedError; `host.log` is replaced by one that keeps the lines (see
`ctest_sdk.testing`).
"""

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, List, Optional, Tuple

# The widest world: the contract's types, wasi:http and write-back.
WORLD = "connector-http-with-write-back"

# Where `log` lines go outside a component: a callback, or stderr.
log_sink: Optional[Callable[[str, str], None]] = None


def _wit() -> Path:
    from ctest_sdk_build import WIT  # the standard library only
    return WIT


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    root = Path(base) / "ctest-sdk"
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=root)
        probe.close()
        return root
    except OSError:
        return Path(tempfile.gettempdir()) / f"ctest-sdk-{os.getuid()}"


def bindings_dir() -> Path:
    wit = _wit()
    files: List[Tuple[str, bytes]] = sorted(
        (str(f.relative_to(wit)), f.read_bytes()) for f in wit.rglob("*.wit")
    )
    if not files:
        raise ImportError(f"ctest_sdk: the contract is missing from this package ({wit})")
    digest = hashlib.sha256(WORLD.encode())
    for name, data in files:
        digest.update(name.encode() + b"\0" + data)
    cache = _cache_root() / f"bindings-{digest.hexdigest()[:16]}"
    if not (cache / "wit_world" / "__init__.py").exists():
        _generate(wit, cache)
    return cache


def _generate(wit: Path, cache: Path) -> None:
    try:
        import componentize_py  # noqa: F401
    except ImportError:
        raise ImportError(
            "ctest_sdk: outside a component the SDK needs componentize-py to make the "
            "contract's bindings\n  fix: pip install ctest-sdk (it depends on componentize-py) "
            "in the environment that runs your tests"
        ) from None
    cache.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=cache.name + ".", dir=cache.parent))
    command = [
        sys.executable, "-c",
        "import sys; from componentize_py import script; "
        "sys.argv[0] = 'componentize-py'; sys.exit(script())",
        "-d", str(wit), "-w", WORLD, "bindings", str(work / "out"),
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise ImportError(f"ctest_sdk: componentize-py could not make the bindings:\n{done.stderr}")
    try:
        os.replace(work / "out", cache)
    except OSError:
        if not (cache / "wit_world" / "__init__.py").exists():
            raise
    finally:
        import shutil
        shutil.rmtree(work, ignore_errors=True)


def load() -> None:
    """Puts the bindings first on `sys.path` and gives the host a `log`."""
    path = str(bindings_dir())
    if path not in sys.path:
        sys.path.insert(0, path)
    from wit_world.imports import host

    def log(level, message: str) -> None:
        name = getattr(level, "name", str(level)).lower()
        if log_sink is not None:
            log_sink(name, message)
        else:
            print(f"[{name}] {message}", file=sys.stderr)

    host.log = log
