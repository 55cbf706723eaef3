#!/usr/bin/env node
/**
 * The `aio` command.
 *
 *   aio tour [--fast] [--cell <id>]   the seed notebook's programs, run and explained
 *   aio --help
 *
 * @module
 */
import { runTour } from "./tour-main.js";

const HELP = `aio: asyncio-ts's command

Usage:
  aio tour [--fast] [--cell <n>]   Run the seed notebook's programs on asyncio-ts and show their output as it
                                   happens (about 40 s on the real clock).
      --fast                       Run them on virtual time: instantly, with CPython's exact timer order.
      --cell <n>                   Only the cell In [n] (e.g. --cell 22).
      --no-timeline                Do not draw the timeline under each cell.
  aio --help                       This text.
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === "--help" || cmd === "-h" || cmd === "help") {
    process.stdout.write(HELP);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === "tour") {
    let fast = false;
    let cell: string | undefined;
    let timeline = true;
    for (let i = 0; i < rest.length; i++) {
      const a = rest[i]!;
      if (a === "--fast") fast = true;
      else if (a === "--no-timeline") timeline = false;
      else if (a === "--cell") {
        cell = rest[++i];
        if (cell === undefined || !/^\d+$/.test(cell)) {
          process.stderr.write(`aio tour: --cell needs a cell number such as 22, got ${cell ?? "nothing"}\n`);
          return 2;
        }
      } else if (a === "--help" || a === "-h") {
        process.stdout.write(HELP);
        return 0;
      } else {
        process.stderr.write(`aio tour: unknown option ${a}\n\n${HELP}`);
        return 2;
      }
    }
    return await runTour({ fast, cell, timeline });
  }
  process.stderr.write(`aio: unknown command ${cmd}\n\n${HELP}`);
  return 2;
}

process.exitCode = await main(process.argv.slice(2));
