#!/usr/bin/env bash
# Runs the unit tests (tests/, pytest) under plain CPython: the SDK's Harness
# runs the connector as ctest does, with a fake host and MockHttp.
set -euo pipefail
cd "$(dirname "$0")"
source ./venv.sh
{{python_path}}.venv/bin/python -m pytest -q -p no:cacheprovider tests "$@"
