/**
 * Masks the variable parts of a log message (ids, numbers, times, addresses, quoted values, paths)
 * with named placeholders before template clustering. Drain assumes the tokens it descends its tree
 * by are constants; a raw id or number there would give every line its own branch and cluster.
 */

/** One mask: what it finds and the placeholder it leaves. Applied in the order of {@link MASKS}. */
export interface Mask {
  name: string;
  pattern: RegExp;
  placeholder: string;
}

// Ids and numbers glued to letters stay (`sha256`, `v2`, `S01`, `ipv4`): they are names, not values.
// Lookarounds rather than \b, so that an id after `op_` or `run-` is still found.
const NOT_ALNUM_BEFORE = "(?<![0-9A-Za-z])";
const NOT_ALNUM_AFTER = "(?![0-9A-Za-z])";

/**
 * The masks, in order: an earlier mask wins over a later one (a quoted string is masked whole,
 * a timestamp before its numbers, a ULID before it could look like hex).
 */
export const MASKS: readonly Mask[] = [
  { name: "double-quoted", pattern: /"(?:[^"\\\n]|\\.)*"/g, placeholder: "<str>" },
  // An apostrophe inside a word (can't) opens no quote.
  { name: "single-quoted", pattern: /(?<!\w)'[^'\n]*'(?!\w)/g, placeholder: "<str>" },
  { name: "backquoted", pattern: /`[^`\n]*`/g, placeholder: "<str>" },
  { name: "url", pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, placeholder: "<url>" },
  // Two segments at least: `/health` reads as a name, `/var/lib/opsguard` as a value.
  { name: "path", pattern: /(?<![\w/.~-])(?:~|\.{1,2})?(?:\/[\w.@%+=,-]+){2,}\/?/g, placeholder: "<path>" },
  {
    name: "timestamp",
    pattern:
      /\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?!\d|:\d)/g,
    placeholder: "<ts>",
  },
  {
    name: "uuid",
    pattern: new RegExp(
      `${NOT_ALNUM_BEFORE}[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}${NOT_ALNUM_AFTER}`,
      "gi",
    ),
    placeholder: "<id>",
  },
  // Crockford base32, 26 characters, the first at most 7 (a 48-bit time): no English word matches.
  {
    name: "ulid",
    pattern: new RegExp(`${NOT_ALNUM_BEFORE}[0-7][0-9A-HJKMNP-TV-Z]{25}${NOT_ALNUM_AFTER}`, "g"),
    placeholder: "<id>",
  },
  { name: "ip", pattern: /(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?(?!\.?\d)/g, placeholder: "<ip>" },
  {
    name: "hex",
    // 0x…, or 8+ hex digits holding both a digit and a letter (trace ids, hashes, snapshot ids).
    pattern: new RegExp(
      `${NOT_ALNUM_BEFORE}(?:0x[0-9a-f]+|(?=[0-9a-f]*\\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,})${NOT_ALNUM_AFTER}`,
      "gi",
    ),
    placeholder: "<hex>",
  },
  // Integers, decimals, negatives, versions (1.2.3) and exponents; a unit after it stays (250ms).
  { name: "number", pattern: /(?<![\w.-])[-+]?\d+(?:\.\d+)*(?:e[-+]?\d+)?/g, placeholder: "<num>" },
];

/** Replaces the variable parts of `text` with the placeholders of {@link MASKS}. */
export function maskVariables(text: string, masks: readonly Mask[] = MASKS): string {
  let masked = text;
  for (const { pattern, placeholder } of masks) masked = masked.replace(pattern, placeholder);
  return masked;
}
