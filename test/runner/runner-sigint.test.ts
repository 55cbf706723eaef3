/**
 * Ctrl-C while run() is running: the main task is cancelled, its cleanup runs, and run() throws
 * KeyboardInterrupt (CPython's asyncio.Runner does the same). Runs a real child process on the built
 * library; waits for events (a printed line, the exit), never for a duration.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const dist = fileURLToPath(new URL("../../dist/src/index.js", import.meta.url));

const program = `
import { run, sleep, KeyboardInterrupt } from ${JSON.stringify(dist)};
try {
  await run(async () => {
    try {
      console.log("started");
      await sleep(60_000);
    } finally {
      console.log("cleanup ran");
    }
  });
} catch (e) {
  console.log(e instanceof KeyboardInterrupt ? "KeyboardInterrupt" : "other: " + e);
  process.exitCode = 130;
}
`;

describe("run() and SIGINT", () => {
  it("cancels the main task, runs its cleanup, and throws KeyboardInterrupt", async () => {
    expect(existsSync(dist), "build first (npm test does)").toBe(true);
    const child = spawn(process.execPath, ["--input-type=module", "-e", program], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    await new Promise<void>((resolve) => {
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("started")) resolve();
      });
    });
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    expect(out.trim().split("\n")).toEqual(["started", "cleanup ran", "KeyboardInterrupt"]);
    expect(code).toBe(130);
  });
});
