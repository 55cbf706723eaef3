// In [12]: main returns at 0.5 s while the task still sleeps 10 s
import { createTask, run, sleep } from "asyncio-ts";
import { isScript } from "../is-script.js";

export async function main(): Promise<void> {
  console.log("hello");
  createTask(() => foo("text"));
  await sleep(500);
  console.log("finished");
}

async function foo(text: string): Promise<void> {
  console.log(text);
  await sleep(10_000);
  console.log(text);
}

export const entry = "run";
if (isScript(import.meta.url)) {
  await run(main);
}
