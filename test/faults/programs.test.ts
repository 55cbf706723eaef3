/**
 * The fault and load suite (`programs.ts`): generated programs with random cancellations, timeouts in
 * every form, huge and tiny delays, queues, locks, semaphores and limiters, and faulty executor jobs;
 * each checks that every future settled, nothing was lost or duplicated, nothing leaked. A few hundred
 * programs here (bounded to a few seconds); `npm run soak` runs thousands.
 */
import { describe, expect, it } from "vitest";
import { runProgram, runRealClockProgram, runScaleProgram } from "./programs.js";

describe("fault and load programs keep every invariant", () => {
  it("300 programs on virtual time", async () => {
    const bad: string[] = [];
    for (let seed = 1; seed <= 300; seed++) {
      const r = await runProgram(seed);
      if (r.violations.length > 0) bad.push(`seed ${seed}: ${r.violations.join("; ")}`);
    }
    expect(bad).toEqual([]);
  }, 120_000);

  it("12 programs with faulty executor jobs (threads and processes)", async () => {
    const bad: string[] = [];
    for (let seed = 1; seed <= 12; seed++) {
      const r = await runProgram(10_000 + seed, true);
      if (r.violations.length > 0) bad.push(`seed ${10_000 + seed}: ${r.violations.join("; ")}`);
    }
    expect(bad).toEqual([]);
  }, 120_000);

  it("a scale program: 100,000 tasks, cancellations, a shut-down queue, leftovers for run() to cancel", async () => {
    const r = await runScaleProgram(20_000);
    expect(r.violations).toEqual([]);
  }, 60_000);

  it("real-clock programs: delays beyond Node's timers neither fire early nor keep the loop alive", async () => {
    const bad: string[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const r = await runRealClockProgram(30_000 + seed);
      if (r.violations.length > 0) bad.push(`seed ${30_000 + seed}: ${r.violations.join("; ")}`);
    }
    expect(bad).toEqual([]);
  }, 60_000);
});
