// In [34]: 20 blocking tasks on a ThreadPoolExecutor with 4 workers, through loop.runInExecutor,
// collected with gather. Each task prints the name of the thread it runs on; about 5 s of wall time.
import { ThreadPoolExecutor, currentThread, gather, getRunningLoop, moduleFunction, run, sleepSync } from "asyncio-ts";
import { isScript } from "../is-script.js";

const MAX_WORKERS = 4;

/** Runs on a worker thread: the worker imports this module and calls this export. */
export function executeHello(ind: number): number {
  console.log(`Thread ${currentThread().name}: Starting task: ${ind}...`);
  sleepSync(1000);
  console.log(`Thread ${currentThread().name}: Finished task ${ind}!`);
  return ind;
}

export async function main(tasks = 20): Promise<void> {
  let futures;
  {
    // Python's `with ThreadPoolExecutor(...) as pool:` waits for the pool at the end of the block.
    await using pool = new ThreadPoolExecutor({ maxWorkers: MAX_WORKERS });
    const loop = getRunningLoop();
    const hello = moduleFunction(import.meta.url, executeHello);
    futures = Array.from({ length: tasks }, (_, task) => loop.runInExecutor(pool, hello, task));
  }
  let results: number[];
  try {
    results = await gather(...futures);
  } catch (ex) {
    console.log("Caught error executing task", ex);
    throw ex;
  }
  console.log(`Finished processing, got results: [${results.join(", ")}]`);
}

export const entry = "run";
if (isScript(import.meta.url)) {
  await run(main);
}
