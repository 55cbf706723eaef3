// In [21]: the same program, run with loop.runUntilComplete
import { createTask, getEventLoop, sleep } from "asyncio-ts";
import { isScript } from "../is-script.js";

async function fetchData(): Promise<{ data: number }> {
  console.log("start fetching");
  await sleep(2000);
  console.log("done fetching");
  return { data: 1 };
}

async function printNumbers(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    console.log(i);
    await sleep(250);
  }
}

export async function main(): Promise<void> {
  const task1 = createTask(fetchData);
  const task2 = createTask(printNumbers);

  const value = await task1;
  console.log(value);
  await task2;
}

export const entry = "loop";
if (isScript(import.meta.url)) {
  const loop = getEventLoop();
  await loop.runUntilComplete(main);
}
