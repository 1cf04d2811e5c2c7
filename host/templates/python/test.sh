#!/usr/bin/env bash
# Runs the unit tests (tests/, pytest) under plain CPython: the SDK's Harness
# runs the connector as ctest does, with a fake host and MockHttp.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ] || [ requirements.txt -nt .venv/.installed ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
  touch .venv/.installed
fi
{{python_path}}.venv/bin/python -m pytest -q -p no:cacheprovider tests "$@"
