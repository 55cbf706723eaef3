/**
 * asyncio-ts inside real test runners: a vitest process, a jest process (ESM, through Node's
 * `--experimental-vm-modules`, as jest documents) and a `node --test` process run the fixture projects of
 * test/runners/fixtures against the build (dist/, `npm test` builds first), and this test reads what they
 * report. vitest runs twice: with asyncio-ts through its module runner (a library linked into a
 * monorepo) and loaded by Node (a package installed in node_modules).
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { node, root, runVitest, type VitestRun } from "./spawn.js";

const fixtures = join(root, "test", "runners", "fixtures");
const vitestRuns = new Map<string, Promise<VitestRun>>();

/** The fixture project run once by vitest with `config` (the tests of one config share the run). */
function vitest(config: string): Promise<VitestRun> {
  let r = vitestRuns.get(config);
  if (r === undefined) vitestRuns.set(config, (r = runVitest(join(fixtures, "vitest"), config)));
  return r;
}

describe.concurrent.each([
  ["through vitest's module runner", "vitest.config.mjs"],
  ["loaded by Node, as from node_modules", "vitest.external.config.mjs"],
])("a real vitest run, asyncio-ts %s", (_how, config) => {
  it("fake timers: every test passes, none hangs", { timeout: 120_000 }, async () => {
    const { tests, child } = await vitest(config);
    const mine = [...tests].filter(([name]) => name.startsWith("fake-timers.spec.ts") || name.startsWith("late-import.spec.ts"));
    expect(mine.length, child.out).toBe(9);
    for (const [name, t] of mine) expect(t.status, `${name}\n${t.failureMessages.join("\n")}`).toBe("passed");
  });

  it("strict mode: an unawaited task's failed expect fails its test; the reporter shows a TaskGroup child's", { timeout: 120_000 }, async () => {
    const { tests, child } = await vitest(config);
    expect(child.code, child.out).toBe(1);
    const strict = [...tests].filter(([name]) => name.startsWith("strict.spec.ts"));
    expect(strict.length, child.out).toBe(5);
    for (const [name, t] of strict) expect(t.status, name).toBe(name.startsWith("strict.spec.ts > FAILS:") ? "failed" : "passed");
    const message = (title: string): string => tests.get(`strict.spec.ts > ${title}`)!.failureMessages.join("\n");
    expect(message("FAILS: strict: a failing expect in a task nobody awaits fails the test")).toMatch(/^AssertionError: expected 'unawaited' to be 'checked'/);
    const group = message("FAILS: strict: two such tasks fail it with an ExceptionGroup naming both");
    expect(group).toMatch(/^ExceptionGroup: task exceptions nobody retrieved \(strict mode\) \(2 sub-exceptions\)/);
    expect(group).toContain("[1] AssertionError: expected 1 to be 2");
    expect(group).toContain("[2] AssertionError: expected 3 to be 4");
    // What the person reading the run sees (the default reporter), for the failures inside tasks:
    expect(child.out).toContain("AssertionError: expected 'unawaited' to be 'checked'");
    expect(child.out).toContain("[1] AssertionError: expected 'from the group child' to be 'expected value'");
    expect(child.out).toContain("Tests  3 failed | 11 passed (14)");
  });
});

describe("a real jest run", () => {
  it("jest.useFakeTimers(): virtual time, the real clock, the test's own fakes, deadlock reports, a thread pool and strict mode work", { timeout: 120_000 }, async () => {
    const out = join(mkdtempSync(join(tmpdir(), "asyncio-ts-jest-")), "report.json");
    const jest = join(root, "node_modules", "jest", "bin", "jest.js");
    const r = await node(["--experimental-vm-modules", jest, "--config", join(fixtures, "jest", "jest.config.mjs"), "--ci", "--json", "--outputFile", out]);
    const report = JSON.parse(readFileSync(out, "utf8")) as { numTotalTests: number; numPassedTests: number; testResults: { assertionResults: { title: string; status: string; failureMessages: string[] }[] }[] };
    const results = report.testResults.flatMap((f) => f.assertionResults);
    for (const t of results) expect(t.status, `${t.title}\n${t.failureMessages.join("\n")}`).toBe("passed");
    expect(report.numTotalTests, r.out).toBe(6);
    expect(r.code, r.out).toBe(0);
  });
});

describe("a real node --test run", () => {
  it("mock.timers.enable(): virtual time, the real clock, the helpers and strict mode work", { timeout: 120_000 }, async () => {
    const r = await node(["--test", "--test-reporter=tap", join(fixtures, "node-test", "mock-timers.mjs")]);
    expect(r.out).toMatch(/^# pass 5$/m);
    expect(r.out).toMatch(/^# fail 0$/m);
    expect(r.code, r.out).toBe(0);
  });

  it("asyncio-ts loaded after mock.timers.enable(): run() fails at once and says what to do", { timeout: 120_000 }, async () => {
    const r = await node(["--test", "--test-reporter=tap", join(fixtures, "node-test", "late-import.mjs")]);
    expect(r.out).toMatch(/^# pass 1$/m);
    expect(r.code, r.out).toBe(0);
  });
});
