// In [8]: createTask schedules foo; main goes on and prints "finished" first
import { createTask, run, sleep } from "asyncio-ts";
import { isScript } from "../is-script.js";

export async function main(): Promise<void> {
  console.log("hello");
  createTask(() => foo("text"));
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
