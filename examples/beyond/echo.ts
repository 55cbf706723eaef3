// Beyond the seed: an echo server, and a client that waits at most 500 ms for each reply
import { openConnection, run, sleep, startServer, timeout, TimeoutError, type StreamReader, type StreamWriter } from "asyncio-ts";
import { isScript } from "../is-script.js";

async function handle(reader: StreamReader, writer: StreamWriter): Promise<void> {
  for await (const line of reader) {
    const word = line.toString().trim();
    if (word === "slow") await sleep(1000);
    writer.write(`echo: ${word}\n`);
    await writer.drain();
  }
  writer.close();
}

export async function main(): Promise<void> {
  await using server = await startServer(handle, "127.0.0.1", 0);
  const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0]!.port);
  for (const word of ["hello", "slow"]) {
    console.log(`client sends ${word}`);
    writer.write(`${word}\n`);
    try {
      const reply = await timeout(500, () => reader.readline());
      console.log(`client got "${reply.toString().trim()}"`);
    } catch (e) {
      if (!(e instanceof TimeoutError)) throw e;
      console.log(`no reply to ${word} within 500 ms`);
    }
  }
  // the late reply was not lost: a timed-out read leaves the bytes for the next one
  console.log(`client got "${(await reader.readline()).toString().trim()}" (late)`);
  writer.close();
  await writer.waitClosed();
}

export const entry = "run";
if (isScript(import.meta.url)) {
  await run(main);
}
