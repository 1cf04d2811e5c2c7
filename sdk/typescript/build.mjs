// Builds a TypeScript connector into a component:
//
//   node sdk/typescript/build.mjs examples/ts-numbers/app.ts out.wasm
//
// 1. TypeScript types of the contract, generated from wit/ by jco
//    (into sdk/typescript/generated/);
// 2. a type check of the SDK and the connector (tsc);
// 3. one JavaScript module, the connector and the SDK bundled (rolldown);
// 4. the component (componentize-js), of the contract's `connector` world, or
//    `connector-with-write-back` when the module exports `writeBack`.
//
// The tools are pinned in package.json (`npm ci` in sdk/typescript).

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { rolldown } from "rolldown";

const sdk = dirname(fileURLToPath(import.meta.url));
const root = resolve(sdk, "../..");
const bin = (tool) => join(sdk, "node_modules", ".bin", tool);
const [entry, out] = process.argv.slice(2);
if (!entry || !out) {
  console.error("usage: node sdk/typescript/build.mjs CONNECTOR.ts OUT.wasm");
  process.exit(2);
}
// Each tool's complaints are shown; a failing step ends the build.
const run = (tool, args, quiet = true) => {
  try {
    execFileSync(bin(tool), args, { cwd: root, stdio: ["ignore", quiet ? "ignore" : "inherit", "inherit"] });
  } catch {
    console.error(`build.mjs: ${tool} failed (see above); no component was built`);
    process.exit(1);
  }
};

// jco reads the WIT only through a path relative to its working directory.
run("jco", ["guest-types", "wit", "--world-name", "connector", "-o", join(sdk, "generated")]);
const work = mkdtempSync(join(tmpdir(), "ctest-ts-"));
try {
  // The SDK's settings, checking this connector with the SDK and the types.
  const tsconfig = join(work, "tsconfig.json");
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(sdk, "tsconfig.json"),
      include: [join(sdk, "src"), join(sdk, "generated"), resolve(entry)],
    }),
  );
  run("tsc", ["-p", tsconfig], false);

  const bundle = await rolldown({
    input: resolve(entry),
    external: [/^ctest:/, /^wasi:/],
    resolve: { alias: { "@ctest/sdk": join(sdk, "src", "index.ts") } },
    logLevel: "warn",
  });
  const js = join(work, "connector.js");
  await bundle.write({ file: js, format: "esm" });
  // A module that exports `writeBack` (the SDK's `exportWriteBack`) needs
  // the world that exports the write-back interface.
  const bundled = readFileSync(js, "utf8");
  const exportsWriteBack =
    /^export\s+(const|let|var|function)\s+writeBack\b/m.test(bundled) ||
    /^export\s*\{[^}]*\bwriteBack\b[^}]*\}/m.test(bundled);
  const world = exportsWriteBack ? "connector-with-write-back" : "connector";
  run("componentize-js", [js, "--wit", join(root, "wit"), "--world-name", world, "-o", resolve(out)]);
} finally {
  rmSync(work, { recursive: true, force: true });
}
