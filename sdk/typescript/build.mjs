#!/usr/bin/env node
// `ctest-sdk-build APP.ts [OUT.wasm]`: a TypeScript (or JavaScript) connector
// made into a WebAssembly component that ctest can test.
//
// 1. a type check of the connector against this SDK and the contract (tsc,
//    run where you are, so its messages name your files as you wrote them);
// 2. one JavaScript module, the connector and this SDK bundled (rolldown);
// 3. the component (componentize-js), of the contract's `connector` world, or
//    `connector-with-write-back` when the module exports `writeBack`.
//
// `@ctest/sdk` is always this package's, so the SDK and its build tool never
// disagree. Nothing is written but the component (the work is in a
// temporary directory).

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { rolldown } from "rolldown";
import { toolPath } from "./tools.mjs";

const sdk = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
if (args.length < 1 || args.length > 2 || args[0].startsWith("-")) {
  console.error("usage: ctest-sdk-build APP.ts [OUT.wasm]   (OUT defaults to APP.wasm)");
  process.exit(2);
}
const entry = resolve(args[0]);
const out = resolve(args[1] ?? args[0].replace(/\.[cm]?[jt]s$/, "") + ".wasm");
if (!existsSync(entry)) {
  console.error(`ctest-sdk-build: ${args[0]}: no such file\n  fix: name the module that exports \`source\`, for example app.ts`);
  process.exit(2);
}
const sdkModule = join(sdk, "dist", "index.js");
if (!existsSync(sdkModule) || !existsSync(join(sdk, "wit", "connector.wit"))) {
  console.error(`ctest-sdk-build: the SDK at ${sdk} is not built\n  fix: run \`npm run build\` there (a packed @ctest/sdk comes built)`);
  process.exit(2);
}

// Each tool's complaints are shown; a failing step ends the build.
const run = (pkg, bin, toolArgs, quiet = true) => {
  try {
    execFileSync(process.execPath, [toolPath(sdk, pkg, bin), ...toolArgs], {
      stdio: ["ignore", quiet ? "ignore" : "inherit", "inherit"],
    });
  } catch (e) {
    console.error(`ctest-sdk-build: ${bin} failed${e.status === undefined ? `: ${e.message}` : " (see above)"}; no component was built`);
    process.exit(1);
  }
};

const work = mkdtempSync(join(tmpdir(), "ctest-sdk-build-"));
try {
  const tsconfig = join(work, "tsconfig.json");
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(sdk, "tsconfig.base.json"),
      compilerOptions: { noEmit: true, paths: { "@ctest/sdk": [join(sdk, "dist", "index.d.ts")] } },
      files: [entry],
    }),
  );
  run("typescript", "tsc", ["-p", tsconfig], false);

  const bundle = await rolldown({
    input: entry,
    external: [/^ctest:/, /^wasi:/],
    resolve: { alias: { "@ctest/sdk": sdkModule } },
    // A component has no page location, and StarlingMonkey throws when
    // `location` is read while the component is made (the SDK's JSON Schema
    // validator reads it when loaded).
    transform: { define: { "self.location": "undefined" } },
    logLevel: "warn",
  });
  const js = join(work, `${basename(out, ".wasm")}.js`);
  await bundle.write({ file: js, format: "esm" });
  // A module that exports `writeBack` (the SDK's `exportWriteBack`) needs
  // the world that exports the write-back interface.
  const bundled = readFileSync(js, "utf8");
  const exportsWriteBack =
    /^export\s+(const|let|var|function)\s+writeBack\b/m.test(bundled) ||
    /^export\s*\{[^}]*\bwriteBack\b[^}]*\}/m.test(bundled);
  const world = exportsWriteBack ? "connector-with-write-back" : "connector";
  run("@bytecodealliance/componentize-js", "componentize-js", [
    js, "--wit", join(sdk, "wit"), "--world-name", world, "-o", out,
  ]);
  console.log(`built ${basename(out)} (${world})`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

