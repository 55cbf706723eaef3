/**
 * Hand-written conformance programs: one per behaviour worth pinning by name (the generator covers the
 * combinations). Each is compared against CPython's trace like the generated ones.
 *
 * @module
 */
import type { Program } from "./program.js";
import {
  awaitT,
  cancel,
  cancelSelf,
  cancelling,
  except,
  gather,
  print,
  raise,
  shield,
  sleep,
  spawn,
  tg,
  timeout,
  tryCatch,
  uncancel,
  wait,
  waitFor,
} from "./dsl.js";

const H = (name: string, main: Program["main"]): Program => ({ id: `hand/${name}`, main });

export const handwritten: Program[] = [
  H("create-task-runs-after-caller", [print("hello"), spawn("t1", [print("text"), sleep(1000)]), print("finished"), awaitT("t1")]),
  H("sleep-zero-round-robin", [
    spawn("a", [print("1"), sleep(0), print("2"), sleep(0), print("3")]),
    spawn("b", [print("1"), sleep(0), print("2"), sleep(0), print("3")]),
    sleep(0),
    print("after one yield"),
    gather(["a", "b"]),
  ]),
  H("timer-ties-fire-in-scheduling-order", [
    spawn("a", [sleep(250), print("woke")]),
    spawn("b", [sleep(125), sleep(125), print("woke")]),
    spawn("c", [sleep(250), print("woke")]),
    gather(["a", "b", "c"]),
  ]),
  H("cancel-with-message-at-sleep", [
    spawn("t1", [tryCatch([sleep(1000)], [except("CancelledError", [cancelling()], true)])]),
    sleep(125),
    cancel("t1", "stop now"),
    tryCatch([awaitT("t1")], [except("CancelledError")]),
  ]),
  H("cancel-before-start", [spawn("t1", [print("never")]), cancel("t1", "early"), tryCatch([awaitT("t1")], [except("CancelledError")])]),
  H("cancel-twice-counts", [
    spawn("t1", [tryCatch([sleep(1000)], [except("CancelledError", [cancelling(), uncancel(), uncancel()], false)]), sleep(125), print("survived")]),
    sleep(0),
    cancel("t1", "one"),
    cancel("t1", "two"),
    awaitT("t1"),
  ]),
  H("swallowed-cancel-then-next-await", [
    spawn("t1", [
      tryCatch([sleep(500)], [except("CancelledError", [print("swallowed")])]),
      sleep(125),
      print("still running"),
    ]),
    sleep(125),
    cancel("t1"),
    awaitT("t1"),
  ]),
  H("cancel-self", [spawn("t1", [cancelSelf("me"), print("no await yet"), sleep(0), print("unreachable")]), tryCatch([awaitT("t1")], [except("CancelledError")])]),
  H("gather-first-error-others-continue", [
    spawn("a", [sleep(125), raise("ValueError")]),
    spawn("b", [sleep(250), print("b done")]),
    tryCatch([gather(["a", "b"])], [except("ValueError")]),
    awaitT("b"),
  ]),
  H("gather-return-exceptions", [
    spawn("a", [sleep(125), raise("KeyError")]),
    spawn("b", [sleep(250)]),
    spawn("c", [sleep(500)]),
    sleep(125),
    cancel("c", "bye"),
    gather(["a", "b", "c"], true),
  ]),
  H("gather-cancelled-from-outside", [
    spawn("a", [tryCatch([sleep(500)], [except("CancelledError", [], true)])]),
    spawn("b", [sleep(250)]),
    spawn("g", [gather(["a", "b"], true)]),
    sleep(125),
    cancel("g", "outer"),
    tryCatch([awaitT("g")], [except("CancelledError")]),
    gather(["a", "b"], true),
  ]),
  H("wait-first-completed-and-timeout", [
    spawn("a", [sleep(250)]),
    spawn("b", [sleep(500)]),
    wait(["a", "b"], null, "FIRST_COMPLETED"),
    wait(["b"], 125),
    wait(["a", "b"]),
  ]),
  H("wait-first-exception", [spawn("a", [sleep(125), raise("ValueError")]), spawn("b", [sleep(500)]), wait(["a", "b"], null, "FIRST_EXCEPTION"), cancel("b")]),
  H("wait-for-timeout-cancels-task", [
    spawn("t1", [tryCatch([sleep(1000)], [except("CancelledError", [print("cleanup"), sleep(125)], true)])]),
    tryCatch([waitFor("t1", 250)], [except("TimeoutError")]),
    print("after"),
  ]),
  H("wait-for-inline-and-zero", [
    waitFor([sleep(125), print("inline")], 250),
    spawn("t1", [print("never starts")]),
    tryCatch([waitFor("t1", 0)], [except("TimeoutError")]),
    tryCatch([waitFor([sleep(500)], 0)], [except("TimeoutError")]),
  ]),
  H("timeout-expires-and-tie", [
    tryCatch([timeout(250, [sleep(250), print("tie: body first?")])], [except("TimeoutError")]),
    tryCatch([timeout(250, [sleep(125), sleep(500)])], [except("TimeoutError")]),
    timeout(null, [sleep(125)]),
  ]),
  H("nested-timeouts-outer-fires", [
    tryCatch([timeout(250, [tryCatch([timeout(500, [sleep(1000)])], [except("TimeoutError", [print("inner")])])])], [except("TimeoutError", [print("outer")])]),
  ]),
  H("timeout-swallowed-cancel", [
    tryCatch([timeout(125, [tryCatch([sleep(500)], [except("CancelledError", [print("swallowed")])]), cancelling(), sleep(125), print("after")])], [except("TimeoutError")]),
    cancelling(),
  ]),
  H("shield-keeps-inner-running", [
    spawn("inner", [sleep(500), print("inner done")]),
    spawn("outer", [shield("inner")]),
    sleep(125),
    cancel("outer", "x"),
    tryCatch([awaitT("outer")], [except("CancelledError")]),
    awaitT("inner"),
  ]),
  H("task-group-failure-cancels-siblings", [
    tryCatch(
      [
        tg(1, [
          spawn("a", [sleep(125), raise("ValueError")], 1),
          spawn("b", [tryCatch([sleep(1000)], [except("CancelledError", [print("b cancelled")], true)])], 1),
          spawn("c", [sleep(125), raise("KeyError")], 1),
          sleep(500),
          print("body unreachable"),
        ]),
      ],
      [except("ExceptionGroup")],
    ),
    cancelling(),
  ]),
  H("task-group-cancelled-from-outside", [
    spawn("p", [
      tg(1, [spawn("a", [sleep(1000)], 1), spawn("b", [sleep(125), print("b")], 1)]),
      print("unreachable"),
    ]),
    sleep(250),
    cancel("p", "stop"),
    tryCatch([awaitT("p")], [except("CancelledError")]),
  ]),
  H("task-group-body-raises", [
    tryCatch([tg(1, [spawn("a", [sleep(500)], 1), sleep(125), raise("KeyError")])], [except("ExceptionGroup")]),
  ]),
  H("task-group-spawn-after-abort", [
    tryCatch(
      [
        tg(1, [
          spawn("a", [raise("ValueError")], 1),
          tryCatch([sleep(125)], [except("CancelledError")]),
          spawn("b", [print("never")], 1),
        ]),
      ],
      [except("ExceptionGroup"), except("RuntimeError")],
    ),
  ]),
  H("cancelled-task-awaited-twice", [
    spawn("t1", [sleep(500)]),
    sleep(0),
    cancel("t1", "msg"),
    tryCatch([awaitT("t1")], [except("CancelledError")]),
    tryCatch([awaitT("t1")], [except("CancelledError")]),
    gather(["t1"], true),
  ]),
];
