/**
 * Rounds that allocate about as much as V8's young generation holds lock onto a phase of its scavenges:
 * in one child process every scavenge falls between rounds, when the round's tasks are dead (about 1 ms
 * each), in the next it falls in the middle of rounds and copies 100,000 live tasks (15-45 ms, and their
 * promotion brings mark-compacts after). A spawn child then settles into a fast or a slow mode (Node 24:
 * about 370 or 600-1,000 ns a task, `--trace-gc` shows the two patterns) and the peers' ratios depend on
 * which modes their children drew. `shiftNurseryPhase()`, called before each round (untimed), allocates
 * short-lived garbage of a random size up to the young generation's, so that the rounds meet the
 * scavenges at random phases and a mean over rounds is the cost averaged over them, in every child.
 * A seeded generator keeps runs repeatable.
 */
const { getHeapSpaceStatistics } = process.getBuiltinModule("node:v8");

let seed = 0x2545f491;
/** xorshift32: a repeatable uniform number in [0, 1). */
function random() {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
}

/** The young generation's capacity in bytes (its semi-space, as V8 reports it now). */
function nurseryBytes() {
  const s = getHeapSpaceStatistics().find((x) => x.space_name === "new_space");
  return s === undefined ? 16 * 2 ** 20 : s.space_size;
}

/** Keeps the last array alive until the next call, so that the engine cannot skip the allocations. */
let sink = null;

/** Allocate garbage of a random size in [0, the young generation's capacity). */
export function shiftNurseryPhase() {
  const bytes = random() * nurseryBytes();
  const arrays = Math.floor(bytes / 1040); // an array of 128 smis is ~1,040 bytes with its header
  for (let i = 0; i < arrays; i++) sink = new Array(128).fill(i);
  return sink.length;
}
