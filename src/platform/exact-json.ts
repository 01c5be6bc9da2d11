import type { ProblemDetail } from "./errors.js";

/** Objects and arrays nested deeper than this are refused: no request of opsguard needs more. */
export const MAX_JSON_DEPTH = 32;

/** A request body read exactly, or every reason it cannot be. */
export type ExactJson = { ok: true; value: unknown } | { ok: false; problems: ProblemDetail[] };

/**
 * Parses JSON the way a risk gateway must read money: a number means exactly what its digits say,
 * and the same key twice is an error, not "the last one wins". `JSON.parse` alone can do neither
 * (it rounds `0.10000000000000000001` to `0.1` and silently keeps the last duplicate).
 *
 * So the text is parsed twice, cheaply: `JSON.parse` checks the syntax and builds the value, then
 * {@link scan} walks the (now known valid) text once for what `JSON.parse` loses: each number's
 * digits, each object's keys, the depth. Hand-written because the syntax tree of a JSON parser
 * library (momoa, used before) allocated about 10 KB per submit body and took most of the parse
 * time; the scan allocates little beyond the keys it compares (BENCHMARKS.md, "exact JSON").
 *
 * A number whose digits a double cannot hold exactly (more than about 17 significant digits, or
 * beyond 2^53 for an integer) is refused with its path: send it as a decimal string instead.
 * Problems are reported with paths such as `body.size`, all of them, not only the first.
 */
export function parseExactJson(text: string): ExactJson {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      problems: [
        { code: "MALFORMED_BODY", path: "body", message: `malformed JSON: ${(error as Error).message}` },
      ],
    };
  }
  const problems = scan(text);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value };
}

/** Where the scan is inside one object or array. */
interface Frame {
  /** The keys seen so far (an object), or undefined (an array). */
  keys: string[] | undefined;
  /** The member's key, or the element's index, the scan is in. */
  at: string | number;
}

const QUOTE = 34; // "
const BACKSLASH = 92; // \
const COLON = 58; // :

/**
 * The problems `JSON.parse` does not see in `text`, which must be valid JSON: inexact numbers,
 * duplicate keys, nesting beyond {@link MAX_JSON_DEPTH}.
 */
function scan(text: string): ProblemDetail[] {
  const problems: ProblemDetail[] = [];
  const stack: Frame[] = [];
  const pathOf = (): string => {
    let path = "body";
    for (const frame of stack) path += `.${frame.at}`;
    return path;
  };
  let i = 0;
  const end = text.length;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === 123 /* { */ || c === 91 /* [ */) {
      if (stack.length >= MAX_JSON_DEPTH) {
        problems.push({
          code: "MALFORMED_BODY",
          path: pathOf(),
          message: `nested more than ${MAX_JSON_DEPTH} levels deep`,
        });
        return problems;
      }
      stack.push({ keys: c === 123 ? [] : undefined, at: c === 123 ? "" : 0 });
      i++;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      stack.pop();
      i++;
    } else if (c === 44 /* , */) {
      const frame = stack[stack.length - 1]!;
      if (frame.keys === undefined) frame.at = (frame.at as number) + 1;
      i++;
    } else if (c === QUOTE) {
      const start = i;
      let escaped = false;
      i++;
      for (let d = text.charCodeAt(i); d !== QUOTE; d = text.charCodeAt(i)) {
        if (d === BACKSLASH) {
          escaped = true;
          i++;
        }
        i++;
      }
      i++;
      const frame = stack[stack.length - 1];
      // A string is a key when a colon follows it (after whitespace); any other is a value.
      let next = i;
      while (isSpace(text.charCodeAt(next))) next++;
      if (frame?.keys !== undefined && text.charCodeAt(next) === COLON) {
        const key = escaped ? (JSON.parse(text.slice(start, i)) as string) : text.slice(start + 1, i - 1);
        frame.at = key;
        if (frame.keys.includes(key)) {
          problems.push({
            code: "DUPLICATE_KEY",
            path: pathOf(),
            message: `"${key}" appears more than once`,
          });
        } else {
          frame.keys.push(key);
        }
        i = next + 1;
      }
    } else if (c === 45 /* - */ || (c >= 48 && c <= 57) /* 0-9 */) {
      const start = i;
      i++;
      while (i < end && isNumberChar(text.charCodeAt(i))) i++;
      const source = text.slice(start, i);
      const number = Number(source);
      // The common case, in one comparison: the digits are the shortest text of the double.
      if (String(number) !== source && !holdsExactly(source, number)) {
        const message = Number.isFinite(number)
          ? `${source} has more digits than a JSON number can hold exactly; send it as a decimal string`
          : `${source} is beyond the range of a JSON number`;
        problems.push({ code: "INEXACT_NUMBER", path: pathOf(), message });
      }
    } else {
      // Whitespace, a colon, true, false, null: nothing to check.
      i++;
    }
  }
  return problems;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/** Digits, `.`, `e`, `E`, `+`, `-`: what a JSON number is made of. */
function isNumberChar(c: number): boolean {
  return (c >= 48 && c <= 57) || c === 46 || c === 101 || c === 69 || c === 43 || c === 45;
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
