// In [9]: await the task before printing "finished"
import { createTask, run, sleep } from "asyncio-ts";
import { isScript } from "../is-script.js";

export async function main(): Promise<void> {
  console.log("hello");
  const task = createTask(() => foo("text"));
  await task;
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
