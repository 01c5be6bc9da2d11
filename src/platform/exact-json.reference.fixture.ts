import { parse, type ValueNode } from "@humanwhocodes/momoa";
import type { ProblemDetail } from "./errors.js";
import { holdsExactly, MAX_JSON_DEPTH, type ExactJson } from "./exact-json.js";

/**
 * A reference for {@link parseExactJson}'s tests: the same reading built on momoa's syntax tree
 * (which keeps each number's source text and every member), slower but simple enough to trust.
 */
export function parseExactJsonByTree(text: string): ExactJson {
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
