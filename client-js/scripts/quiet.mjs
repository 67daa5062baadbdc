// Runs a command for the Maven build and prints its output only if it fails, so that a green
// build stays quiet and a red one shows everything. Usage: node scripts/quiet.mjs <label> <cmd> [args...]
import { spawn } from "node:child_process";

const [label, command, ...args] = process.argv.slice(2);
const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], shell: process.platform === "win32" });
const chunks = [];
child.stdout.on("data", (c) => chunks.push(c));
child.stderr.on("data", (c) => chunks.push(c));
child.on("error", (e) => {
  process.stderr.write(`${label}: cannot run ${command}: ${e.message}\n`);
  process.exit(1);
});
child.on("close", (code, signal) => {
  if (code === 0) {
    const summary = Buffer.concat(chunks).toString("utf8").match(/^# (tests|pass|fail) \d+$/gm);
    process.stdout.write(`${label}: ok${summary ? ` (${summary.map((s) => s.slice(2)).join(", ")})` : ""}\n`);
    return;
  }
  process.stdout.write(Buffer.concat(chunks));
  process.stderr.write(`${label}: FAILED (${signal ?? `exit ${code}`})\n`);
  process.exit(code || 1);
});
