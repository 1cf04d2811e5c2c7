#!/usr/bin/env node
// `ctest-sdk-test [FILE...]`: a connector's unit tests under Node (node:test).
//
// Each test file (default: every `*.test.ts`, `*.test.mts` and `*.test.js`
// below the current directory, outside node_modules and hidden directories)
// is bundled with the connector it imports (rolldown), with `@ctest/sdk` and
// `@ctest/sdk/testing` this package's and the contract's host
// (`ctest:connector/host@…`) a fake that keeps log lines; then
// `node --test` runs the bundles. Types are not checked here: the build
// checks the connector's.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { rolldown } from "rolldown";

const sdk = dirname(fileURLToPath(import.meta.url));
const dist = join(sdk, "dist");

function find(dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) find(path, out);
    else if (/\.test\.(ts|mts|js|mjs)$/.test(entry.name)) out.push(path);
  }
  return out.sort();
}

const args = process.argv.slice(2);
if (args.some((a) => a.startsWith("-"))) {
  console.error("usage: ctest-sdk-test [FILE...]   (default: every *.test.ts below this directory)");
  process.exit(2);
}
const files = args.length > 0 ? args.map((f) => resolve(f)) : find(process.cwd());
if (files.length === 0) {
  console.error("ctest-sdk-test: no *.test.ts file below this directory\n  fix: add one (node:test), or name the files to run");
  process.exit(2);
}

const sdkModules = {
  "@ctest/sdk": join(dist, "index.js"),
  "@ctest/sdk/testing": join(dist, "testing.js"),
};
const fakeHost = {
  name: "ctest-sdk-test",
  resolveId(id) {
    if (id in sdkModules) return sdkModules[id];
    if (id.startsWith("ctest:connector/host@")) return join(dist, "fake-host.js");
    return null;
  },
};

const work = mkdtempSync(join(tmpdir(), "ctest-sdk-test-"));
let status = 1;
try {
  const bundles = [];
  for (const [i, file] of files.entries()) {
    const bundle = await rolldown({
      input: file,
      platform: "node",
      plugins: [fakeHost],
      external: [/^node:/],
      logLevel: "warn",
    });
    // Named as the test file (node:test reports by file name).
    const out = join(work, String(i), relative(process.cwd(), file).replace(/\.(ts|mts|js|mjs)$/, ".mjs"));
    await bundle.write({ file: out, format: "esm", sourcemap: "inline" });
    bundles.push(out);
  }
  const run = spawnSync(process.execPath, ["--enable-source-maps", "--test", ...bundles], { stdio: "inherit" });
  status = run.status ?? 1;
} catch (e) {
  console.error(`ctest-sdk-test: ${e.message ?? e}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(status);
