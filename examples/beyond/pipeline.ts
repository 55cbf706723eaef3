// Beyond the seed: two processes in a pipeline, the pump between them a task, all under one timeout
import { createSubprocessExec, createTask, PIPE, run, timeout } from "asyncio-ts";
import { isScript } from "../is-script.js";

const PRODUCER = "for w in pear apple fig; do echo $w; sleep 0.1; done";

export async function main(): Promise<void> {
  await timeout(5000, async () => {
    const producer = await createSubprocessExec("sh", ["-c", PRODUCER], { stdout: PIPE });
    const sorter = await createSubprocessExec("sort", [], { stdin: PIPE, stdout: PIPE });
    const pump = createTask(async () => {
      for await (const line of producer.stdout!) {
        console.log(`pump: ${line.toString().trim()}`);
        sorter.stdin!.write(line);
        await sorter.stdin!.drain();
      }
      sorter.stdin!.close();
    });
    for await (const line of sorter.stdout!) console.log(`sorted: ${line.toString().trim()}`);
    await pump;
    console.log(`exit codes: ${await producer.wait()}, ${await sorter.wait()}`);
  });
}

export const entry = "run";
if (isScript(import.meta.url)) {
  await run(main);
}
