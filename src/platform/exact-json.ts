import { parse, type ValueNode } from "@humanwhocodes/momoa";
import type { ProblemDetail } from "./errors.js";

/** Objects and arrays nested deeper than this are refused: no request of opsguard needs more. */
export const MAX_JSON_DEPTH = 32;

/** A request body read exactly, or every reason it cannot be. */
export type ExactJson = { ok: true; value: unknown } | { ok: false; problems: ProblemDetail[] };

/**
 * Parses JSON the way a risk gateway must read money: a number means exactly what its digits say,
 * and the same key twice is an error, not "the last one wins". `JSON.parse` can do neither (it
 * rounds `0.10000000000000000001` to `0.1` and silently keeps the last duplicate), so the text is
 * parsed by momoa, whose syntax tree keeps each number's source text and every member.
 *
 * A number whose digits a double cannot hold exactly (more than about 17 significant digits, or
 * beyond 2^53 for an integer) is refused with its path: send it as a decimal string instead.
 * Problems are reported with paths such as `body.size`, all of them, not only the first.
 */
export function parseExactJson(text: string): ExactJson {
  let root: ValueNode;
  try {
    root = parse(text, { mode: "json" }).body;
  } catch (error) {
    // momoa's messages carry the line and column; a RangeError is nesting too deep for the stack.
    const message =
      error instanceof RangeError
        ? `nested more than ${MAX_JSON_DEPTH} levels deep`
        : (error as Error).message;
    return {
      ok: false,
      problems: [{ code: "MALFORMED_BODY", path: "body", message: `malformed JSON: ${message}` }],
    };
  }
  const problems: ProblemDetail[] = [];
  const value = build(root, text, "body", 0, problems);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value };
}

function build(
  node: ValueNode,
  text: string,
  path: string,
  depth: number,
  problems: ProblemDetail[],
): unknown {
  switch (node.type) {
    case "Object": {
      if (depth >= MAX_JSON_DEPTH) return tooDeep(path, problems);
      const object: Record<string, unknown> = {};
      for (const member of node.members) {
        const key = member.name.type === "String" ? member.name.value : member.name.name;
        const at = `${path}.${key}`;
        if (Object.hasOwn(object, key)) {
          problems.push({ code: "DUPLICATE_KEY", path: at, message: `"${key}" appears more than once` });
          continue;
        }
        // An own property even for "__proto__", which plain assignment would turn into a prototype.
        Object.defineProperty(object, key, {
          value: build(member.value, text, at, depth + 1, problems),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return object;
    }
    case "Array":
      if (depth >= MAX_JSON_DEPTH) return tooDeep(path, problems);
      return node.elements.map((element, i) =>
        build(element.value, text, `${path}.${i}`, depth + 1, problems),
      );
    case "Number": {
      const source = text.slice(node.loc.start.offset, node.loc.end.offset);
      if (!holdsExactly(source, node.value)) {
        const message = Number.isFinite(node.value)
          ? `${source} has more digits than a JSON number can hold exactly; send it as a decimal string`
          : `${source} is beyond the range of a JSON number`;
        problems.push({ code: "INEXACT_NUMBER", path, message });
      }
      return node.value;
    }
    case "String":
    case "Boolean":
      return node.value;
    case "Null":
      return null;
    default:
      // NaN, Infinity and identifiers exist only in JSON5 mode, which is not used.
      problems.push({ code: "MALFORMED_BODY", path, message: "not a JSON value" });
      return undefined;
  }
}

function tooDeep(path: string, problems: ProblemDetail[]): undefined {
  problems.push({ code: "MALFORMED_BODY", path, message: `nested more than ${MAX_JSON_DEPTH} levels deep` });
  return undefined;
}

/**
 * Whether the double `value` is exactly the number written as `source`: both reduced to digits and
 * a power of ten, compared as text. `String(value)` is the shortest text that reads back as
 * `value`, so a source with more significant digits than that was rounded on the way in.
 */
export function holdsExactly(source: string, value: number): boolean {
  if (!Number.isFinite(value)) return false;
  const a = decimalParts(source);
  const b = decimalParts(String(value));
  return (
    a !== undefined &&
    b !== undefined &&
    a.digits === b.digits &&
    a.exponent === b.exponent &&
    a.negative === b.negative
  );
}

/** `source` as sign, significant digits (no leading or trailing zeros) and a power of ten. */
export function decimalParts(
  source: string,
): { negative: boolean; digits: string; exponent: number } | undefined {
  const match = /^(-)?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(source);
  if (!match) return undefined;
  const [, minus, whole = "", fraction = "", exponentText = "0"] = match;
  const all = whole + fraction;
  const leading = all.length - all.replace(/^0+/, "").length;
  const significant = all.slice(leading).replace(/0+$/, "");
  if (significant === "") return { negative: false, digits: "0", exponent: 0 };
  // int(all) is significant × 10^trailing, and the value is int(all) × 10^(exponent − fraction length).
  const trailing = all.length - leading - significant.length;
  const exponent = Number(exponentText) - fraction.length + trailing;
  return { negative: minus === "-", digits: significant, exponent };
}
