/**
 * What issue 11's design needs on every promise that a task's code makes, with nothing else: promise hooks
 * that keep the strand whose code runs (`before` reads it from the promise whose reaction starts, `after`
 * clears it) and tag every new promise with it (`init`: a symbol property holding the strand; a second one
 * on a promise without a parent, a root). The floor peers of the core and floor suites run raw code or the
 * minimal loop under them: whatever asyncio-ts does beyond them is its own cost; what they cost, no design
 * that knows which task's code made a promise avoids (bench/README.md, "The floor under issue 11's speed
 * criterion").
 *
 * Before 2026-12-06 the floor had the `init` hook only, tagging every promise with one constant strand:
 * cheaper, but no design could be built on it (a promise made in a reaction must be tagged with the strand
 * of that reaction's code, which only `before` tells). Measured on Node 24 (`floor-cases.mjs sleep0
 * minimalTagged 1000000 5`, 5 alternating runs, minimum of the rounds): 249 ns per hand-off with the three
 * hooks, the minimal loop alone 201.
 */
export async function installTaggingHook() {
  const { promiseHooks } = await import("node:v8");
  const TAG = Symbol("tag");
  const ROOT = Symbol("root");
  const outside = {};
  let current = null;
  promiseHooks.createHook({
    init(p, parent) {
      p[TAG] = current ?? outside;
      if (parent === undefined) p[ROOT] = true;
    },
    before(p) {
      current = p[TAG] ?? null;
    },
    after() {
      current = null;
    },
  });
}
