/**
 * Child test-runner processes for the tests of test/runners and test/testing: `node` with a clean
 * environment, and a whole vitest run of a fixture project read through its JSON report.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("../..", import.meta.url));

export interface Child {
  /** The exit code; null when the child was killed (its timeout). */
  code: number | null;
  /** stdout, then stderr. */
  out: string;
}

/** Run `node args` (this process's Node) in `cwd`, without the environment of the vitest running us. */
export function node(args: string[], { cwd = root, timeoutMs = 90_000 } = {}): Promise<Child> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith("VITEST") && k !== "NODE_OPTIONS" && k !== "TEST" && k !== "NODE_ENV") env[k] = v;
  }
  env["NO_COLOR"] = "1";
  env["FORCE_COLOR"] = "0";
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, env, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : null;
      resolve({ code, out: `${stdout}\n${stderr}` });
    });
  });
}

export interface TestResult {
  title: string;
  status: string;
  failureMessages: string[];
}

export interface VitestRun {
  child: Child;
  /** Every test by `file > title`, the file relative to the project's root. */
  tests: Map<string, TestResult>;
}

/** `vitest run` of the project in `dir` with its config file `config` (default and JSON reporters). */
export async function runVitest(dir: string, config: string): Promise<VitestRun> {
  const tmp = mkdtempSync(join(tmpdir(), "asyncio-ts-vitest-"));
  try {
    const json = join(tmp, "report.json");
    const child = await node([
      join(root, "node_modules", "vitest", "vitest.mjs"),
      "run",
      "--root",
      dir,
      "--config",
      join(dir, config),
      "--reporter=default",
      "--reporter=json",
      `--outputFile.json=${json}`,
    ]);
    let report: { testResults: Array<{ name: string; assertionResults: TestResult[] }> };
    try {
      report = JSON.parse(readFileSync(json, "utf8"));
    } catch {
      throw new Error(`vitest wrote no report (exit code ${child.code}):\n${child.out}`);
    }
    const tests = new Map<string, TestResult>();
    for (const file of report.testResults) {
      for (const a of file.assertionResults) tests.set(`${file.name.slice(dir.length + 1)} > ${a.title}`, a);
    }
    return { child, tests };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
