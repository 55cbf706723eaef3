/**
 * One empty promise `init` hook, installed before the program runs (`node --import
 * ./bench/lib/empty-init-hook.mjs ...`): the least any design that knows a promise's parent must install.
 * `bench/compare-builds.mjs NAME=DIST+inithook` measures a build with it (the floor under issue 11's speed
 * criterion: bench/README.md, "The floor under issue 11's speed criterion").
 */
import { promiseHooks } from "node:v8";

promiseHooks.onInit(() => {});
