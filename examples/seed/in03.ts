// In [3]: a coroutine awaited inline, run with loop.runUntilComplete
import { getEventLoop, sleep } from "asyncio-ts";
import { isScript } from "../is-script.js";

export async function main(): Promise<void> {
  console.log("abc");
  await foo("text");
}

async function foo(text: string): Promise<void> {
  console.log(text);
  await sleep(1000);
}

export const entry = "loop";
if (isScript(import.meta.url)) {
  const loop = getEventLoop();
  await loop.runUntilComplete(main);
}
