import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decimalParts, holdsExactly, MAX_JSON_DEPTH, parseExactJson } from "./exact-json.js";
import { parseExactJsonByTree } from "./exact-json.reference.fixture.js";

const problemsOf = (text: string) => {
  const parsed = parseExactJson(text);
  return parsed.ok ? [] : parsed.problems;
};

describe("parseExactJson", () => {
  it("reads what JSON.parse reads when every number is exact", () => {
    const text = '{"a":0.1,"b":[1,-2.5,1e2,0],"c":"x","d":true,"e":null,"f":{"g":65000.25}}';
    expect(parseExactJson(text)).toEqual({ ok: true, value: JSON.parse(text) });
  });

  it.each([
    ["0.10000000000000000001", "body.size"],
    ["60000.000000000001", "body.size"],
    ["9007199254740993", "body.size"],
    ["3600.0000000000001", "body.size"],
    ["123456789012345678", "body.size"],
  ])("refuses %s, which a double would round, naming the field", (number, path) => {
    expect(problemsOf(`{"size":${number}}`)).toEqual([
      {
        code: "INEXACT_NUMBER",
        path,
        message: `${number} has more digits than a JSON number can hold exactly; send it as a decimal string`,
      },
    ]);
  });

  it("refuses a number beyond the range of a double", () => {
    expect(problemsOf('{"takeProfit":1e999}')).toEqual([
      {
        code: "INEXACT_NUMBER",
        path: "body.takeProfit",
        message: "1e999 is beyond the range of a JSON number",
      },
    ]);
  });

  it("refuses a key given twice, wherever it is, and reports every problem", () => {
    expect(problemsOf('{"size":"100","size":"0.01","x":{"a":1,"a":2},"y":0.30000000000000000004}')).toEqual([
      { code: "DUPLICATE_KEY", path: "body.size", message: '"size" appears more than once' },
      { code: "DUPLICATE_KEY", path: "body.x.a", message: '"a" appears more than once' },
      expect.objectContaining({ code: "INEXACT_NUMBER", path: "body.y" }),
    ]);
  });

  it("reports malformed JSON with its line and column", () => {
    const [problem] = problemsOf('{\n  "size": 0.1,\n}');
    expect(problem).toMatchObject({ code: "MALFORMED_BODY", path: "body" });
    expect(problem?.message).toMatch(/^malformed JSON: .*\(line 3 column 1\)$/);
  });

  it("refuses nesting deeper than it needs, however deep, without overflowing the stack", () => {
    expect(problemsOf("[".repeat(MAX_JSON_DEPTH + 1) + "]".repeat(MAX_JSON_DEPTH + 1))).toEqual([
      expect.objectContaining({
        code: "MALFORMED_BODY",
        message: `nested more than ${MAX_JSON_DEPTH} levels deep`,
      }),
    ]);
    expect(problemsOf("[".repeat(200_000) + "]".repeat(200_000))).toEqual([
      expect.objectContaining({ code: "MALFORMED_BODY" }),
    ]);
  });

  it("keeps __proto__ an ordinary key, never the prototype", () => {
    const parsed = parseExactJson('{"__proto__":{"admin":true}}');
    expect(parsed.ok).toBe(true);
    const value = (parsed as { value: Record<string, unknown> }).value;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});

describe("parseExactJson against a reading of the syntax tree", () => {
  /** JSON text with what makes a body inexact: long numbers, keys given twice, escaped keys, deep nesting. */
  const tricky = fc.letrec<{ value: string; array: string; object: string }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small" },
      fc.constantFrom(
        "0.10000000000000000001",
        "9007199254740993",
        "1e999",
        "-0",
        "1E5",
        "0.5e-3",
        "65000.25",
      ),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
      fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }).map(String),
      fc.string().map((s) => JSON.stringify(s)),
      fc.constantFrom("true", "false", "null"),
      tie("array"),
      tie("object"),
    ),
    array: fc.array(tie("value"), { maxLength: 4 }).map((items) => `[${items.join(",")}]`),
    object: fc
      .array(
        fc.tuple(fc.constantFrom("a", "b", "size", "a\\u0062", "\\u0061", "__proto__", "x y"), tie("value")),
        { maxLength: 5 },
      )
      .map((members) => `{${members.map(([k, v]) => `"${k}" : ${v}`).join(" ,\n")}}`),
  })).value;

  it("agrees on what is exact, on the value, and finds every problem the tree finds", () => {
    fc.assert(
      fc.property(tricky, (text) => {
        const fast = parseExactJson(text);
        const tree = parseExactJsonByTree(text);
        if (tree.ok) {
          expect(fast).toEqual(tree);
          return;
        }
        expect(fast.ok).toBe(false);
        const paths = (fast as { problems: { code: string; path?: string }[] }).problems.map(
          (p) => `${p.code} ${p.path}`,
        );
        // The tree skips the value of a duplicate key; the scan also reports what is inside it.
        for (const p of tree.problems) expect(paths).toContain(`${p.code} ${p.path}`);
      }),
      { numRuns: 3_000 },
    );
  });
});

describe("holdsExactly", () => {
  it("holds every double, written as JavaScript writes it", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        expect(holdsExactly(String(value), value)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it("holds a decimal exactly when its significant digits survive the round trip", () => {
    // A decimal with up to 15 significant digits always survives a double; 17 or more often not.
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 15n - 1n }),
        fc.integer({ min: -20, max: 20 }),
        (digits, exponent) => {
          const text = `${digits}e${exponent}`;
          expect(holdsExactly(text, Number(text))).toBe(true);
        },
      ),
      { numRuns: 2_000 },
    );
    expect(holdsExactly("0.1", 0.1)).toBe(true);
    expect(holdsExactly("0.100", 0.1)).toBe(true);
    expect(holdsExactly("100e-3", 0.1)).toBe(true);
    expect(holdsExactly("0.1000000000000000055511151231257827", 0.1)).toBe(false);
  });

  it("reduces equal decimals to the same parts", () => {
    expect(decimalParts("065000.2500")).toEqual({ negative: false, digits: "6500025", exponent: -2 });
    expect(decimalParts("6500025e-2")).toEqual({ negative: false, digits: "6500025", exponent: -2 });
    expect(decimalParts("-0.000")).toEqual({ negative: false, digits: "0", exponent: 0 });
    expect(decimalParts("1.5E+3")).toEqual({ negative: false, digits: "15", exponent: 2 });
    expect(decimalParts("0x10")).toBeUndefined();
  });
});
