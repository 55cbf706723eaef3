/**
 * What the benchmark suites that start servers and workers share: a free loopback port, and waiting for a
 * child process to print that it is ready (the redis and redis-cluster suites).
 */
import { createServer } from "node:net";

/** A TCP port free on 127.0.0.1 now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once `child` prints something matching `re` (stdout or stderr); rejects if it exits first. */
export function waitFor(child, re, what) {
  return new Promise((resolve, reject) => {
    let out = "";
    const on = (b) => {
      out += b.toString();
      if (re.test(out)) {
        child.off("exit", onExit);
        resolve();
      }
    };
    const onExit = (code) => reject(new Error(`${what} exited (${code}):\n${out}`));
    child.stdout.on("data", on);
    child.stderr.on("data", on);
    child.once("exit", onExit);
  });
}
