/**
 * Which frames are asyncio-ts's own (src/core/own-code.ts): by folder from the package's files, and by the
 * lines between a file's markers inside somebody's bundle. The bundles themselves, ES module and CommonJS,
 * are run in test/package/bundle.test.ts; here the rules are asked directly.
 */
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { isKernelFrame, isLibraryFrame, parseFrame } from "../../src/core/index.js";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));
const HERE = fileURLToPath(import.meta.url);
const KEY = Symbol.for("asyncio-ts.code");
type Marks = Array<[string, Error, Error]>;
const registry = (): Marks => ((globalThis as { [k: symbol]: Marks | undefined })[KEY] ??= []);

function codeStart(): Error {
  return new Error();
}
/** The line of this file that calls it. */
function lineHere(): number {
  return parseFrame((new Error().stack ?? "").split("\n")[2] ?? "")!.line;
}

describe("own-code: the package's frames", () => {
  let pushed: Marks[number] | undefined;
  afterEach(() => {
    const r = registry();
    if (pushed !== undefined) r.splice(r.indexOf(pushed), 1);
    pushed = undefined;
  });

  it("from the package's files: the kernel's folder and Node's internals are the kernel's; the folder above is the library's", () => {
    expect(isKernelFrame(`${SRC}core/task.ts`, 10)).toBe(true);
    expect(isKernelFrame("node:internal/process/task_queues", 95)).toBe(true);
    expect(isKernelFrame(`${SRC}sync/lock.ts`, 10)).toBe(false);
    expect(isLibraryFrame(`${SRC}sync/lock.ts`, 10)).toBe(true);
    expect(isLibraryFrame(`${SRC}core/task.ts`, 10)).toBe(true);
    expect(isKernelFrame(HERE, 10)).toBe(false);
    expect(isLibraryFrame(HERE, 10)).toBe(false);
  });

  it("in a file that is not the package's, the lines between a file's two markers are its code (both rules read at each question)", () => {
    const before = lineHere();
    const start = codeStart(); // the marker's line is codeStart's body, above
    const inside = lineHere();
    const end = new Error();
    const after = lineHere();
    expect(isLibraryFrame(HERE, inside)).toBe(false);
    pushed = ["library", start, end];
    registry().push(pushed);
    expect(isLibraryFrame(HERE, inside)).toBe(true);
    expect(isLibraryFrame(HERE, before)).toBe(true); // codeStart is above `before`
    expect(isLibraryFrame(HERE, after)).toBe(false);
    expect(isKernelFrame(HERE, inside)).toBe(false); // a library file's lines are not the kernel's
    expect(isLibraryFrame(`${HERE}.other.js`, inside)).toBe(false);
    // taken back: the ranges are made again
    registry().splice(registry().indexOf(pushed), 1);
    pushed = ["kernel", start, end];
    registry().push(pushed);
    expect(isKernelFrame(HERE, inside)).toBe(true);
    expect(isKernelFrame(HERE, after)).toBe(false);
  });

  it("markers in two files are no range; a marker without a stack is none", () => {
    const start = codeStart();
    const end = new Error();
    end.stack = "Error\n    at file:///elsewhere/bundle.js:900:1";
    pushed = ["library", start, end];
    registry().push(pushed);
    expect(isLibraryFrame(HERE, lineHere())).toBe(false);
    expect(isLibraryFrame("/elsewhere/bundle.js", 500)).toBe(false);
    registry().splice(registry().indexOf(pushed), 1);
    const blank = new Error();
    blank.stack = "Error";
    pushed = ["library", blank, end];
    registry().push(pushed);
    expect(isLibraryFrame("/elsewhere/bundle.js", 900)).toBe(false);
  });

  it("parseFrame reads both forms of V8's frames, and a file: URL as a path", () => {
    expect(parseFrame("    at async main (file:///a/b.js:3:4)")).toEqual({ isAsync: true, functionName: "main", file: "/a/b.js", line: 3, column: 4 });
    expect(parseFrame("    at /a/b.js:5:6")).toEqual({ isAsync: false, functionName: undefined, file: "/a/b.js", line: 5, column: 6 });
    expect(parseFrame("    at ../x.js (/app/out.cjs:7:8)")).toMatchObject({ functionName: "../x.js", file: "/app/out.cjs", line: 7 });
    expect(parseFrame("Error: boom")).toBeNull();
  });
});
