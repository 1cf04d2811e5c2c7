#!/usr/bin/env bash
# Builds {{name}}.wasm (a WebAssembly component) next to this script.
# The first run makes the virtual environment `.venv` (venv.sh) with
# requirements.txt in it: the SDK, whose `ctest_sdk_build` runs
# componentize-py (it embeds CPython into the component).
set -euo pipefail
cd "$(dirname "$0")"
source ./venv.sh
{{python_path}}.venv/bin/python -m ctest_sdk_build app.py -o {{name}}.wasm
