/**
 * What the benchmark suites that start servers and workers share: a free loopback port, waiting for a
 * child process to print that it is ready, and the CPU time a process has used, from /proc (the redis
 * and redis-cluster suites).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** The kernel's clock ticks per second, the unit of /proc's CPU times (100 where getconf cannot tell). */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU ms (user + system) process `pid` has used so far, or null where /proc cannot tell. */
export function procCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields from the 3rd on
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK; // utime, stime (14th, 15th)
  } catch {
    return null;
  }
}

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
