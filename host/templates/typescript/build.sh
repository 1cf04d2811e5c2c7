#!/usr/bin/env bash
# Builds {{name}}.wasm (a WebAssembly component) next to this script, with the
# TypeScript SDK's build (run `npm ci` once in {{sdk}}/typescript).
set -euo pipefail
cd "$(dirname "$0")"
node "{{sdk}}/typescript/build.mjs" app.ts {{name}}.wasm
echo "built {{name}}.wasm"
