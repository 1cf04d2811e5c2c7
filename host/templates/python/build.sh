#!/usr/bin/env bash
# Builds {{name}}.wasm (a WebAssembly component) next to this script, with
# componentize-py (pip install componentize-py==0.25.1, or set COMPONENTIZE_PY).
set -euo pipefail
cd "$(dirname "$0")"
"${COMPONENTIZE_PY:-componentize-py}" -d "{{wit}}" -w connector-http componentize app \
  -p . -p "{{sdk}}/python" -o {{name}}.wasm >/dev/null
echo "built {{name}}.wasm"
