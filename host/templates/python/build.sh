#!/usr/bin/env bash
# Builds {{name}}.wasm (a WebAssembly component) next to this script.
# The first run makes the virtual environment `.venv` and installs
# requirements.txt into it: the SDK, whose `ctest_sdk_build` runs
# componentize-py (it embeds CPython into the component).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ] || [ requirements.txt -nt .venv/.installed ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
  touch .venv/.installed
fi
{{python_path}}.venv/bin/python -m ctest_sdk_build app.py -o {{name}}.wasm
