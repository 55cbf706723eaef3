// In [13]: as In [12], but main awaits the task before finishing
import { createTask, run, sleep } from "asyncio-ts";
import { isScript } from "../is-script.js";

export async function main(): Promise<void> {
  console.log("hello");
  const task = createTask(() => foo("text"));
  await sleep(500);
  await task;
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
