// Starts and stops the Java JsTestServer for Node (and browser) integration tests. Reusable:
// `const server = await startServer(); ... await server.stop();`
// Needs `mvn -pl client-js -am process-test-classes` first (target/test-classes and target/classpath.txt).
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The client-js directory. */
export const MODULE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

/** The java command: $TETHER_JAVA (set by the Maven build), else $JAVA_HOME/bin/java, else `java`. */
function javaCommand() {
  if (process.env.TETHER_JAVA) {
    return process.env.TETHER_JAVA;
  }
  if (process.env.JAVA_HOME) {
    return join(process.env.JAVA_HOME, "bin", "java");
  }
  return "java";
}

/**
 * Starts JsTestServer on 127.0.0.1 and a free port; `queue` sets its queue, volatile and replay
 * bounds (default: JsTestServer's small ones, which overflow on purpose).
 *
 * @returns {Promise<{port: number, url: string, pid: number, output: () => string, stop: () => Promise<void>}>}
 *   `url` is the WebSocket address `ws://127.0.0.1:<port>/tether`; `stop()` closes the server's
 *   stdin (it stops on EOF) and kills it by PID if it has not exited within 10 s.
 */
export async function startServer({ queue } = {}) {
  const target = join(MODULE_DIR, "target");
  const classpathFile = join(target, "classpath.txt");
  if (!existsSync(classpathFile) || !existsSync(join(target, "test-classes"))) {
    throw new Error(`${classpathFile} or target/test-classes missing: run mvn -o -pl client-js -am process-test-classes first`);
  }
  const classpath = [join(target, "test-classes"), readFileSync(classpathFile, "utf8").trim()].join(delimiter);
  const args = ["-cp", classpath, "dev.tether.clientjs.JsTestServer", ...(queue ? ["--queue", String(queue)] : [])];
  const child = spawn(javaCommand(), args, {
    cwd: MODULE_DIR,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let output = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (s) => { output += s; });
  child.stdout.setEncoding("utf8");
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));

  const port = await new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => fail(new Error(`JsTestServer printed no PORT within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS);
    const onData = (s) => {
      seen += s;
      output += s;
      const match = /^PORT (\d+)$/m.exec(seen);
      if (match) {
        clearTimeout(timer);
        child.stdout.off("data", onData);
        child.stdout.on("data", (more) => { output += more; });
        resolve(Number(match[1]));
      }
    };
    const fail = (error) => {
      clearTimeout(timer);
      killByPid(child.pid);
      reject(new Error(`${error.message}\n${output}`));
    };
    child.stdout.on("data", onData);
    child.once("error", fail);
    exited.then(({ code, signal }) => fail(new Error(`JsTestServer exited (${signal ?? code}) before printing its port`)));
  });

  let stopping;
  return {
    port,
    url: `ws://127.0.0.1:${port}/tether`,
    pid: child.pid,
    output: () => output,
    stop() {
      stopping ??= (async () => {
        child.stdin.end();
        let timer;
        const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve("timeout"), STOP_TIMEOUT_MS); });
        const outcome = await Promise.race([exited, timeout]);
        clearTimeout(timer);
        if (outcome === "timeout") {
          killByPid(child.pid);
          await exited;
        }
      })();
      return stopping;
    },
  };
}

function killByPid(pid) {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}
