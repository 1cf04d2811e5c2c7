#!/usr/bin/env bash
# Builds {{name}}.wasm (a WebAssembly component) next to this script.
# The first run installs package.json's dependencies: the SDK, whose
# `ctest-sdk-build` type-checks, bundles and runs componentize-js.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules/@ctest/sdk ] || [ package.json -nt node_modules/.package-lock.json ]; then
  npm install --silent --no-audit --no-fund
fi
node_modules/.bin/ctest-sdk-build app.ts {{name}}.wasm
