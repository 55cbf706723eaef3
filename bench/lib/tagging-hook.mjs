/**
 * What issue 11's design needs on every promise that a task's code makes, with nothing else: a promise
 * `init` hook that tags the promise (a symbol property holding the strand; a second one on a promise
 * without a parent, a root). The floor peers of the core and floor suites run raw code or the minimal
 * loop under it: whatever asyncio-ts does beyond it is its own cost; what it costs itself, no design that
 * knows promises' parents avoids (bench/README.md, "The floor under issue 11's speed criterion").
 */
export async function installTaggingHook() {
  const { promiseHooks } = await import("node:v8");
  const TAG = Symbol("tag");
  const ROOT = Symbol("root");
  const strand = {};
  promiseHooks.onInit((p, parent) => {
    p[TAG] = strand;
    if (parent === undefined) p[ROOT] = true;
  });
}
