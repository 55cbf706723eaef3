// In [10]: main sleeps 2 s; the task's 1 s sleep ends first
import { createTask, run, sleep } from "asyncio-ts";
import { isScript } from "../is-script.js";

export async function main(): Promise<void> {
  console.log("hello");
  createTask(() => foo("text"));
  await sleep(2000);
  console.log("finished");
}

async function foo(text: string): Promise<void> {
  console.log(text);
  await sleep(1000);
}

export const entry = "run";
if (isScript(import.meta.url)) {
  await run(main);
}
