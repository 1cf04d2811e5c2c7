// Where the SDK's build tools are: each package looked up as Node does (in
// `node_modules` of the directory and of each one above it, so that a
// hoisted install is found), and the script its `bin` names.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

export function toolPath(from, pkg, bin) {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, "node_modules", pkg, "package.json");
    if (existsSync(manifest)) {
      const bins = JSON.parse(readFileSync(manifest, "utf8")).bin;
      return join(dirname(manifest), typeof bins === "string" ? bins : bins[bin]);
    }
    if (dirname(dir) === dir) {
      throw new Error(`${pkg} is not installed next to the SDK (${from}); run \`npm install\``);
    }
  }
}
