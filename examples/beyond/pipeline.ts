// Beyond the seed: two processes in a pipeline, the pump between them a task, all under one timeout
import { createSubprocessExec, createTask, PIPE, run, timeout } from "asyncio-ts";
import { isScript } from "../is-script.js";

const PRODUCER = "for (const w of ['pear', 'apple', 'fig']) { console.log(w); await new Promise((r) => setTimeout(r, 100)); }";

export async function main(): Promise<void> {
  await timeout(5000, async () => {
    const producer = await createSubprocessExec(process.execPath, ["--input-type=module", "-e", PRODUCER], { stdout: PIPE });
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
