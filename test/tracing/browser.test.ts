/**
 * The HTML timeline in a real headless Chromium (Debian's `chromium`, driven by playwright-core): for
 * each of the seed's programs, load the page and check that every lane, every await label and every
 * printed line is there; take a screenshot (test/tracing/__screenshots__/, not committed).
 *
 * Without Chromium the test is skipped locally and fails in CI (CI=true), where .ci/run installs it.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type BrowserContext } from "playwright-core";
import { renderHtmlTimeline } from "../../src/tracing/index.js";
import { TraceRecorder, installTracer, instrumentNewLoops, type ExecutorJob } from "../../src/tracing/index.js";
import { Kernel, runCellNotebook } from "../../src/cli/tour.js";
import { createTask, getRunningLoop, run, sleep } from "../../src/index.js";
import { EXPECTED, resolveWaits, seedCells, traceCell } from "./seed-traces.js";

/** The DOM properties the checks read (the test is compiled without the DOM library). */
type El = { offsetWidth: number; scrollWidth: number; clientWidth: number; innerText: string; value: string };

const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
const available = existsSync(CHROMIUM);
const inCI = process.env["CI"] === "true";
const shots = fileURLToPath(new URL("./__screenshots__/", import.meta.url));

if (!available && inCI) {
  describe("HTML timeline in Chromium", () => {
    it("needs Chromium", () => {
      throw new Error(`Chromium is missing at ${CHROMIUM} (apt-get install chromium; .ci/run does it)`);
    });
  });
}

describe.skipIf(!available)("HTML timeline in Chromium", () => {
  let browser: BrowserContext;
  let profile: string;
  const cellsP = seedCells();

  beforeAll(async () => {
    profile = mkdtempSync(join(tmpdir(), "aio-chromium-"));
    // a new empty profile (playwright passes it as --user-data-dir)
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    mkdirSync(shots, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    rmSync(profile, { recursive: true, force: true });
  });

  /** Load `html` (no network: every request other than the page itself fails the test). */
  async function open(html: string, width = 1200) {
    const page = await browser.newPage();
    await page.setViewportSize({ width, height: 600 });
    const requests: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith("data:") && !r.url().startsWith("about:")) requests.push(r.url());
    });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.setContent(html, { waitUntil: "load" });
    return { page, requests, errors };
  }

  it("shows every seed program's lanes, await labels and printed lines", async () => {
    for (const { cell, main } of await cellsP) {
      const { trace, lines } = await traceCell(main);
      const html = renderHtmlTimeline(trace, { title: `${cell.id}: ${cell.title}` });
      const { page, requests, errors } = await open(html);
      try {
        const lanes = await page.$$eval(".lane.task", (els) =>
          els.map((e) => ({
            name: e.getAttribute("data-name"),
            label: (e.querySelector(".label") as unknown as El).innerText.trim(),
            waits: [...e.querySelectorAll(".wait")].map((w) => w.getAttribute("data-label")),
            steps: e.querySelectorAll(".step").length,
            printed: [...e.querySelectorAll(".mark")].reduce((n, m) => n + Number(m.getAttribute("data-count")), 0),
            tips: [...e.querySelectorAll(".mark")].map((m) => m.getAttribute("title")).join("\n"),
          })),
        );
        const spec = EXPECTED[cell.id]!;
        expect(lanes.map((l) => l.name), cell.id).toEqual(trace.tasks.map((t) => t.name));
        spec.forEach((s, i) => {
          const lane = lanes[i]!;
          expect(lane.label, cell.id).toContain(s.fn === "" ? trace.tasks[i]!.name : s.fn);
          expect(lane.waits, `${cell.id} lane ${lane.name}`).toEqual(resolveWaits(s, trace));
          expect(lane.steps).toBe(trace.tasks[i]!.steps.length);
          expect(lane.printed, `${cell.id} lane ${lane.name} printed`).toBe(s.prints.length);
          for (const p of s.prints) expect(lane.tips).toContain(p);
        });
        // the transcript lists every printed line, in order
        const transcript = await page.$$eval("table.transcript tbody tr td.text", (tds) => tds.map((td) => td.textContent));
        expect(transcript).toEqual(lines);
        // a time axis with units
        const ticks = await page.$$eval(".axis .tick span", (s) => s.map((x) => x.textContent ?? ""));
        expect(ticks.length).toBeGreaterThanOrEqual(3);
        expect(ticks.every((t) => /^\d+(\.\d+)? (ms|s|µs)$/.test(t))).toBe(true);
        // the longest await's label is readable: its box is wider than its text needs
        const wide = await page.$$eval(".wait", (ws) =>
          ws.filter((w) => (w as unknown as El).offsetWidth > 200).map((w) => (w as unknown as El).scrollWidth <= (w as unknown as El).clientWidth),
        );
        expect(wide.length).toBeGreaterThan(0);
        expect(wide.every(Boolean)).toBe(true);
        expect(requests).toEqual([]);
        expect(errors).toEqual([]);
        const file = cell.id.replace(/[^\d]/g, "");
        await page.screenshot({ path: join(shots, `in${file.padStart(2, "0")}.png`), fullPage: true });
      } finally {
        await page.close();
      }
    }
  }, 120_000);

  it("shows executor workers as lanes, with their jobs", async () => {
    const rec = new TraceRecorder();
    const stop = instrumentNewLoops(() => rec.instrument());
    const origLog = console.log;
    console.log = () => {};
    const restore = rec.captureConsole();
    try {
      await run(async () => {
        const loop = getRunningLoop();
        let seq = 0;
        const job = async (worker: string, startAt: number, ms: number): Promise<void> => {
          const j: ExecutorJob = { loop, executor: "ThreadPoolExecutor-1", id: ++seq, fn: "blocking", task: null };
          loop._tracer?.onExecutorJobQueued(j);
          loop.callLater(startAt, () => loop._tracer?.onExecutorJobStarted(j, worker));
          const f = loop.createFuture<void>();
          (f as { _label?: string })._label = `executor job ${j.id} on ${worker}`;
          loop.callLater(startAt + ms, () => {
            loop._tracer?.onExecutorJobFinished(j, worker, "ok");
            f.setResult();
          });
          await f;
          console.log(`job ${j.id} done`);
        };
        // two workers: jobs 1 and 3 run one after the other on worker _0, jobs 2 and 4 on worker _1
        const plan: Array<[number, number]> = [[0, 500], [0, 750], [500, 300], [750, 300]];
        await Promise.all(plan.map(([at, ms], i) => createTask(() => job(`ThreadPoolExecutor-1_${i % 2}`, at, ms), { name: `submitter-${i}` })));
        await sleep(100);
      }, { virtualTime: true });
    } finally {
      console.log = origLog;
      restore();
      stop();
    }
    const { page, errors } = await open(renderHtmlTimeline(rec.trace(), { title: "executor jobs" }));
    try {
      const workers = await page.$$eval(".lane.worker", (els) =>
        els.map((e) => ({ name: e.getAttribute("data-name"), jobs: [...e.querySelectorAll(".job")].map((j) => j.getAttribute("data-label")) })),
      );
      expect(workers).toEqual([
        { name: "ThreadPoolExecutor-1_0", jobs: ["blocking #1", "blocking #3"] },
        { name: "ThreadPoolExecutor-1_1", jobs: ["blocking #2", "blocking #4"] },
      ]);
      const waits = await page.$$eval(".lane.task .wait", (ws) => ws.map((w) => w.getAttribute("data-label")));
      expect(waits).toContain("executor job 4 on ThreadPoolExecutor-1_1");
      expect(errors).toEqual([]);
      await page.screenshot({ path: join(shots, "executor.png"), fullPage: true });
    } finally {
      await page.close();
    }
  }, 60_000);

  it("shows the seed's In [34] as it ran: the main task and one lane per pool thread with its jobs", async () => {
    // The real program on real threads (about 5 s), recorded on the real clock as the tour does.
    const { main } = await import("../../examples/seed/in34.js");
    const kernel = new Kernel({ virtualTime: false });
    const rec = new TraceRecorder({ time: "real" });
    const remove = installTracer(kernel.loop, rec.instrument());
    try {
      await runCellNotebook(kernel, main, (text) => rec.mark(undefined, text));
    } finally {
      remove();
      kernel.close();
    }
    const trace = rec.trace();
    trace.tasks = trace.tasks.filter((t) => t.fn !== "drainLeftovers");
    const { page, errors, requests } = await open(renderHtmlTimeline(trace, { title: "In [34]" }));
    try {
      const workers = await page.$$eval(".lane.worker", (els) =>
        els.map((e) => ({ name: e.getAttribute("data-name") ?? "", jobs: e.querySelectorAll(".job").length })),
      );
      expect(workers.map((w) => w.name.replace(/-\d+_/, "-k_")).sort()).toEqual(
        ["ThreadPoolExecutor-k_0", "ThreadPoolExecutor-k_1", "ThreadPoolExecutor-k_2", "ThreadPoolExecutor-k_3"],
      );
      expect(workers.reduce((n, w) => n + w.jobs, 0)).toBe(20);
      const tasks = await page.$$eval(".lane.task", (els) => els.map((e) => e.getAttribute("data-name")));
      expect(tasks).toEqual(trace.tasks.map((t) => t.name));
      const waits = await page.$$eval(".lane.task .wait", (ws) => ws.map((w) => w.getAttribute("data-label") ?? ""));
      expect(waits.some((w) => /^shutdown of ThreadPoolExecutor-\d+$/.test(w))).toBe(true);
      const transcript = await page.$$eval("table.transcript tbody tr td.text", (tds) => tds.map((td) => td.textContent));
      expect(transcript).toContain("Finished processing, got results: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]");
      expect(requests).toEqual([]);
      expect(errors).toEqual([]);
      await page.screenshot({ path: join(shots, "in34.png"), fullPage: true });
    } finally {
      await page.close();
    }
  }, 60_000);

  it("zooms with the slider", async () => {
    const { trace } = await traceCell((await cellsP).find((c) => c.cell.id === "In [22]")!.main);
    const { page } = await open(renderHtmlTimeline(trace));
    try {
      const before = await page.$eval(".inner", (e) => (e as unknown as El).offsetWidth);
      await page.$eval("#zoom", (z) => {
        (z as unknown as El).value = "4";
        z.dispatchEvent(new Event("input"));
      });
      const after = await page.$eval(".inner", (e) => (e as unknown as El).offsetWidth);
      expect(after).toBeGreaterThan(before * 3);
    } finally {
      await page.close();
    }
  }, 60_000);
});

// keep the file self-contained for writing a page by hand while debugging
export function writePage(path: string, html: string): void {
  writeFileSync(path, html);
}
