/**
 * Which stack frames are asyncio-ts's own: the kernel's, which a task's stack leaves out, and the
 * library's, which are skipped when looking for the user's code (where a task was created, where it waits).
 *
 * ## Approach
 * From the sources and from the package's own files a frame is told by its file: the kernel is this
 * module's folder, the library the folder above it. In a program bundled with asyncio-ts inside (esbuild,
 * webpack, rollup) every frame names the bundle's file, and the folders would take all of the user's
 * frames for the library's (a task's stack came out empty); a CommonJS bundle has no `import.meta.url` at
 * all (loading it threw "Invalid URL"). So every file of the build starts with a function that makes an
 * `Error` and ends with a statement that calls it, makes one of its own, and keeps both under
 * `Symbol.for("asyncio-ts.code")` (`scripts/bundle.mjs`, `marks`). A bundler keeps each module's code in
 * one piece (a CommonJS bundle moves the functions of a module above the rest of its code, the first one
 * first), so the lines between the two are that file's code, wherever it ends up. The markers' stacks are formatted on first use, by the same formatter
 * (a source-map tool's, if one is installed) as the frames they are compared with; a bundle with source
 * maps then names the package's files again, and both rules agree.
 *
 * Rejected: the build's line counts, offset from one marker (a bundler reprints the code: esbuild's copy of
 * the kernel in a bundle has other line numbers than `core/index.js`); function names (the user's may be the
 * same); V8's script of a function (no API reads it without the inspector).
 *
 * @module
 */
const { fileURLToPath } = process.getBuiltinModule("node:url");

/** Which part of the package a marker's file holds. */
type Part = "kernel" | "library";

/** A file's markers, as its footer pushes them: an `Error` made by the function of its banner, and one of its own. */
type Mark = [part: Part, start: Error, end: Error];

/** `at [async] name (file:line:col)` or `at [async] file:line:col` */
const FRAME = /^\s*at (async )?(?:(.*?) \((.+):(\d+):(\d+)\)|(.+):(\d+):(\d+))\s*$/;

/** One line of a V8 stack, read. */
export interface ParsedFrame {
  isAsync: boolean;
  functionName: string | undefined;
  /** A path for files on disk (a `file:` URL is turned into one), else as V8 names it. */
  file: string;
  line: number;
  column: number;
}

/** A `file:` URL as a path; anything else as it is. @internal */
export function toPath(file: string): string {
  if (!file.startsWith("file://")) return file;
  try {
    return fileURLToPath(file);
  } catch {
    return file;
  }
}

/** One line of a V8 stack, or null if it is not a frame. @internal */
export function parseFrame(line: string): ParsedFrame | null {
  const m = FRAME.exec(line);
  if (m === null) return null;
  return {
    isAsync: m[1] !== undefined,
    functionName: m[2],
    file: toPath(m[3] ?? m[6] ?? ""),
    line: Number(m[4] ?? m[7]),
    column: Number(m[5] ?? m[8]),
  };
}

/**
 * The package's folders, when this code runs from its own files: the sources (`src/core/own-code.ts`) or
 * the build (`dist/src/core/index.js`); null inside somebody's bundle, whose folder is not ours.
 */
function ownFolders(): { kernel: string[]; library: string[] } | null {
  const here: unknown = import.meta.url; // undefined in a CommonJS bundle
  if (typeof here !== "string" || !/\/src\/core\/(?:own-code\.ts|index\.js)$/.test(here)) return null;
  const both = (rel: string): string[] => {
    const dir = fileURLToPath(new URL(rel, here));
    return [dir, dir.replace(/\\/g, "/")];
  };
  return { kernel: both("./"), library: both("../") };
}

const folders = ownFolders();

/** A file's lines that hold the package's code. */
interface Range {
  part: Part;
  file: string;
  from: number;
  to: number;
}

/** Invariant: null until the first question, then the ranges of the files whose markers were pushed by then. */
let ranges: Range[] | null = null;
/** The markers `ranges` was made from: how many, and the last (a file of the package loaded later adds one). */
let marksRead = 0;
let lastRead: Mark | undefined;

function markedRanges(): Range[] {
  const marks = (globalThis as { [k: symbol]: Mark[] | undefined })[Symbol.for("asyncio-ts.code")] ?? [];
  if (ranges !== null && marksRead === marks.length && lastRead === marks[marks.length - 1]) return ranges;
  const at = (e: Error): ParsedFrame | undefined => (e.stack ?? "").split("\n").map(parseFrame).find((f) => f !== null);
  const out: Range[] = [];
  for (const [part, start, end] of marks) {
    const from = at(start);
    const to = at(end);
    if (from !== undefined && to !== undefined && from.file === to.file) out.push({ part, file: from.file, from: from.line, to: to.line });
  }
  marksRead = marks.length;
  lastRead = marks[marks.length - 1];
  return (ranges = out);
}

function inFolder(file: string, dirs: string[] | undefined): boolean {
  return dirs !== undefined && (file.startsWith(dirs[0]!) || file.startsWith(dirs[1]!));
}

function inRanges(file: string, line: number, kernelOnly: boolean): boolean {
  for (const r of markedRanges()) {
    if ((!kernelOnly || r.part === "kernel") && r.file === file && line >= r.from && line <= r.to) return true;
  }
  return false;
}

/**
 * True for a frame of the kernel (this folder, or its lines in a bundle) or of Node's internals. @internal
 *
 * @example
 *   isKernelFrame("node:internal/process/task_queues", 95); // true
 */
export function isKernelFrame(file: string, line: number): boolean {
  return file.startsWith("node:") || inFolder(file, folders?.kernel) || inRanges(file, line, true);
}

/** True for a frame of asyncio-ts, any layer (its folder, or its lines in a bundle). @internal */
export function isLibraryFrame(file: string, line: number): boolean {
  return inFolder(file, folders?.library) || inRanges(file, line, false);
}
