// Acceptance 4 of issue 15: `npm pack` ships the built files and their types, nothing else
// (npm always adds package.json and the README).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { MODULE_DIR } from "../support/server.mjs";

test("npm pack contains only the built files, their types, package.json and the README", () => {
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const [pack] = JSON.parse(execFileSync(npm, ["pack", "--dry-run", "--json", "--ignore-scripts"],
    { cwd: MODULE_DIR, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }));
  const files = pack.files.map((f) => f.path).sort();
  const unexpected = files.filter((f) => !/^dist\/.+\.(js|d\.ts)$/.test(f) && f !== "package.json" && f !== "README.md");
  assert.deepEqual(unexpected, [], `files that are neither built code nor types: ${unexpected}`);
  for (const wanted of ["dist/index.js", "dist/index.d.ts", "dist/client.d.ts", "dist/browser/tether-client.js"]) {
    assert.ok(files.includes(wanted), `${wanted} is packed: ${files}`);
  }
  assert.ok(!files.some((f) => f.startsWith("src/") || f.startsWith("test/")), "no sources or tests");
});
