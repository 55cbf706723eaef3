/**
 * ExceptionGroup (PEP 654): split and subgroup by class or predicate, recursing into nested groups and
 * keeping their shape; derive; the message that lists the sub-errors. Cases from CPython's
 * `Lib/test/test_exception_group.py` (`ExceptionGroupSplitTests`, `test_basics_subgroup_split__bad_arg_type`,
 * `ExceptionGroupSubclassTests`), checked against CPython 3.13 by hand (the values in the comments).
 */
import { describe, expect, it } from "vitest";
import { ExceptionGroup } from "../../src/index.js";

class MyError extends Error {
  override name = "MyError";
}

/** The shape of a group: nested arrays of error messages. */
function shape(g: ExceptionGroup | null): unknown {
  if (g === null) return null;
  return g.exceptions.map((e) => (e instanceof ExceptionGroup ? shape(e) : (e as Error).message));
}

describe("ExceptionGroup", () => {
  // eg = ExceptionGroup("eg", [TypeError(1), ExceptionGroup("nested", [TypeError(2), ValueError(3)]), ValueError(4)])
  const make = (): ExceptionGroup =>
    new ExceptionGroup("eg", [new TypeError("1"), new ExceptionGroup("nested", [new TypeError("2"), new RangeError("3")]), new RangeError("4")]);

  it("split by class recurses into nested groups and keeps their shape (test_basics_split_by_type__match)", () => {
    const [match, rest] = make().split(TypeError);
    // CPython: match = EG("eg", [TypeError(1), EG("nested", [TypeError(2)])]); rest = EG("eg", [EG("nested", [ValueError(3)]), ValueError(4)])
    expect(shape(match)).toEqual(["1", ["2"]]);
    expect(shape(rest)).toEqual([["3"], "4"]);
    expect(match!.rawMessage).toBe("eg");
    expect((match!.exceptions[1] as ExceptionGroup).rawMessage).toBe("nested");
  });

  it("split by a predicate, including a plain function, not only an arrow (test_basics_split_by_predicate__match)", () => {
    const [match, rest] = make().split(function (e) {
      return e instanceof RangeError;
    });
    expect(shape(match)).toEqual([["3"], "4"]);
    expect(shape(rest)).toEqual(["1", ["2"]]);
  });

  it("a predicate sees the nested groups too, and a group that matches goes whole (test_basics_split_by_predicate__passthrough)", () => {
    const g = make();
    expect(g.split((e) => e instanceof ExceptionGroup && e.rawMessage === "eg")).toEqual([g, null]);
    const [match, rest] = g.split((e) => e instanceof ExceptionGroup && e.rawMessage === "nested");
    expect(shape(match)).toEqual([["2", "3"]]);
    expect(shape(rest)).toEqual(["1", "4"]);
    // nothing matches: (None, a copy of eg) in CPython (derived, not the same object)
    const [none, all] = g.split(SyntaxError);
    expect(none).toBeNull();
    expect(all).not.toBe(g);
    expect(shape(all)).toEqual(shape(g));
    expect(g.split(Error)).toEqual([g, null]);
  });

  it("subgroup is split's first half (test_basics_subgroup_split__bad_arg_type: bad matches are TypeErrors)", () => {
    expect(shape(make().subgroup(RangeError))).toEqual([["3"], "4"]);
    expect(make().subgroup(SyntaxError)).toBeNull();
    expect(() => make().subgroup("TypeError" as never)).toThrow("Expected match to be an error class or a predicate, got \"TypeError\" (string)");
  });

  it("the parts are made with derive() and keep the cause (ExceptionGroupSubclassTests)", () => {
    class Named extends ExceptionGroup {
      override derive(errors: readonly unknown[]): ExceptionGroup {
        return new Named(`derived ${this.rawMessage}`, errors, { cause: this.cause });
      }
    }
    const cause = new Error("because");
    const g = new Named("eg", [new MyError("a"), new TypeError("b")], { cause });
    const [match, rest] = g.split(MyError);
    expect(match).toBeInstanceOf(Named);
    expect(match!.rawMessage).toBe("derived eg");
    expect(match!.cause).toBe(cause);
    expect(rest!.cause).toBe(cause);
    expect(new ExceptionGroup("eg", [new Error("x")], { cause }).derive([new Error("y")]).cause).toBe(cause);
  });

  it("the message lists the sub-errors, nested groups indented, so that test runners show them", () => {
    const g = make();
    expect(g.message).toBe(
      [
        "eg (3 sub-exceptions)",
        "  [1] TypeError: 1",
        "  [2] ExceptionGroup: nested (2 sub-exceptions)",
        "      [1] TypeError: 2",
        "      [2] RangeError: 3",
        "  [3] RangeError: 4",
      ].join("\n"),
    );
    const many = new ExceptionGroup("many", Array.from({ length: 12 }, (_, i) => new Error(`e${i}`)));
    expect(many.message.split("\n").at(-1)).toBe("  ... and 2 more");
    expect(String(new ExceptionGroup("odd", [5, "x"]).message)).toBe('odd (2 sub-exceptions)\n  [1] 5 (number)\n  [2] "x" (string)');
  });

  it("bad arguments are TypeErrors naming them", () => {
    expect(() => new ExceptionGroup(5 as never, [new Error()])).toThrow("Expected message to be a string, got 5 (number)");
    expect(() => new ExceptionGroup("m", [])).toThrow("Expected errors to be a non-empty array, got an array (length 0)");
  });
});
