/** The parts of a JSON Schema (as `z.toJSONSchema` writes it) that the references read. */
export interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  $ref?: string;
  /** Added by the generator: the URL schemes a `z.url({ protocol })` accepts. */
  "x-protocol"?: string;
}

import { code } from "./markdown.js";

/** Patterns of `src/config/schema.ts` said in words; any other pattern is shown as it is. */
const PATTERN_WORDS: Record<string, string> = {
  "^\\d+(\\.\\d+)?$": "decimal",
  "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$":
    "name (up to 64 letters, digits, `_`, `.`, `:` or `-`, starting with a letter or digit)",
  "^\\d+[kmg]$": "size: digits and `k`, `m` or `g`",
};
const DECIMAL_PATTERN = "^\\d+(\\.\\d+)?$";

/** zod puts these bounds on every `.int()`: they say nothing to a reader. */
const SAFE_INTEGER_BOUNDS = new Set([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]);

/** A short description of what a value may be, e.g. "integer from 0 to 65535". */
export function describeType(schema: JsonSchema): string {
  if (schema.$ref) throw new Error(`unexpected $ref ${schema.$ref}: inline the schema`);
  if (schema.anyOf) {
    const decimal = schema.anyOf.find((s) => s.type === "string" && s.pattern === DECIMAL_PATTERN);
    const number = schema.anyOf.find((s) => s.type === "number");
    if (schema.anyOf.length === 2 && decimal && number) {
      return joinWords(["decimal, as a string or a number", range(number)]);
    }
    return schema.anyOf.map(describeType).join(" or ");
  }
  if (schema.enum) return `one of ${schema.enum.map(literal).join(", ")}`;
  if (schema.const !== undefined) return literal(schema.const);
  switch (schema.type) {
    case "boolean":
      return "boolean";
    case "integer":
    case "number":
      return joinWords([schema.type, range(schema)]);
    case "string":
      return describeString(schema);
    case "array": {
      const items = schema.items ? `, each a ${describeType(schema.items)}` : "";
      const count =
        schema.minItems !== undefined && schema.minItems > 0
          ? `at least ${schema.minItems} ${schema.minItems === 1 ? "item" : "items"}`
          : undefined;
      return joinWords([`list${items}`, count]);
    }
    case "object": {
      const values = schema.additionalProperties;
      const keys = schema.propertyNames ? describeType(schema.propertyNames) : "string";
      if (values && typeof values === "object" && values.properties)
        return `map of ${keys} to the keys below`;
      if (values && typeof values === "object") return `map of ${keys} to ${describeType(values)}`;
      return "mapping";
    }
    default:
      return "any value";
  }
}

/** A value of an enum as it is written in YAML: strings bare, anything else as JSON. */
function literal(value: unknown): string {
  return code(typeof value === "string" ? value : JSON.stringify(value));
}

function describeString(schema: JsonSchema): string {
  if (schema.format === "uri") {
    const protocol = schema["x-protocol"];
    if (protocol === "^https?$") return "http:// or https:// URL";
    return protocol ? `URL with a scheme matching \`${protocol}\`` : "URL";
  }
  if (schema.format === "starts_with" && schema.pattern) {
    const prefix = /^\^(.*)\.\*$/.exec(schema.pattern)?.[1];
    if (prefix !== undefined) return `string starting with \`${prefix.replace(/\\(.)/g, "$1")}\``;
  }
  if (schema.pattern) return PATTERN_WORDS[schema.pattern] ?? `string matching \`${schema.pattern}\``;
  const length = [
    schema.minLength !== undefined && schema.minLength > 0 ? `at least ${schema.minLength}` : undefined,
    schema.maxLength !== undefined ? `at most ${schema.maxLength}` : undefined,
  ].filter((part) => part !== undefined);
  if (schema.minLength === 1 && schema.maxLength === undefined) return "non-empty string";
  return length.length > 0 ? `string of ${length.join(" and ")} characters` : "string";
}

function range(schema: JsonSchema): string | undefined {
  const min = bound(schema.minimum);
  const max = bound(schema.maximum);
  const exclusiveMin = bound(schema.exclusiveMinimum);
  const exclusiveMax = bound(schema.exclusiveMaximum);
  if (min !== undefined && max !== undefined) return `from ${min} to ${max}`;
  const parts = [
    min !== undefined ? `≥ ${min}` : undefined,
    exclusiveMin !== undefined ? `> ${exclusiveMin}` : undefined,
    max !== undefined ? `≤ ${max}` : undefined,
    exclusiveMax !== undefined ? `< ${exclusiveMax}` : undefined,
  ].filter((part) => part !== undefined);
  return parts.length > 0 ? parts.join(", ") : undefined;
}

function bound(value: number | undefined): number | undefined {
  return value === undefined || SAFE_INTEGER_BOUNDS.has(value) ? undefined : value;
}

function joinWords(parts: (string | undefined)[]): string {
  return parts.filter((part) => part !== undefined).join(", ");
}
