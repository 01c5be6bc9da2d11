/**
 * One line of the service's own JSON log, as the log report reads it back from the rotated files
 * or from Loki. Both sources parse with {@link parseLogLine}, so a line means the same wherever it
 * was read.
 */

/** The levels the service writes, most severe first; anything else is reported under its own name. */
export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The event of a line that has none, so that it is still counted and grouped. */
export const NO_EVENT = "(none)";

/** Why a line could not be used. */
export const LINE_PROBLEMS = ["not_json", "no_timestamp", "truncated"] as const;
export type LineProblem = (typeof LINE_PROBLEMS)[number];

/** A parsed log line. */
export interface LogLine {
  /** Milliseconds since the Unix epoch, from the line's `timestamp`. */
  timeMs: number;
  /** `level` as written (`error`, `warn`, `info`, `debug`), or `unknown` when absent. */
  level: string;
  /** `msg`, or `""` when absent. */
  msg: string;
  /** `event`, or {@link NO_EVENT}. */
  event: string;
  /** Every field of the line, `timestamp`, `level`, `msg` and `event` included. */
  fields: Readonly<Record<string, unknown>>;
}

/** What a source yields: a line, or the reason one could not be read (its text is not kept). */
export type LogEntry = { kind: "line"; line: LogLine } | { kind: "unparseable"; problem: LineProblem };

/** Log entries of a window from some store, in time order, and what reading them met. */
export interface LogSource<Stats> extends AsyncIterable<LogEntry> {
  /** Filled while iterating, final once the iteration ends; each new iteration starts it afresh. */
  readonly stats: Stats;
}

/**
 * Parses one JSON log line. A line that is not a JSON object is `not_json`; one without a valid
 * `timestamp` is `no_timestamp` unless `fallbackTimeMs` (Loki's own time of the entry) is given.
 * Never throws.
 */
export function parseLogLine(text: string, fallbackTimeMs?: number): LogEntry {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: "unparseable", problem: "not_json" };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { kind: "unparseable", problem: "not_json" };
  }
  const fields = value as Record<string, unknown>;
  const timeMs = readTime(fields.timestamp) ?? fallbackTimeMs;
  if (timeMs === undefined) return { kind: "unparseable", problem: "no_timestamp" };
  return {
    kind: "line",
    line: {
      timeMs,
      level: typeof fields.level === "string" && fields.level !== "" ? fields.level : "unknown",
      msg:
        typeof fields.msg === "string"
          ? fields.msg
          : fields.msg === undefined
            ? ""
            : JSON.stringify(fields.msg),
      event: typeof fields.event === "string" && fields.event !== "" ? fields.event : NO_EVENT,
      fields,
    },
  };
}

/** An ISO 8601 string (winston's `timestamp` format) or epoch milliseconds. */
function readTime(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value !== "string" || value === "") return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Counts by level as a plain object in a fixed order: {@link LOG_LEVELS} first, then others by name. */
export function orderLevels(levels: ReadonlyMap<string, number>): Record<string, number> {
  const rank = (level: string): number => {
    const i = (LOG_LEVELS as readonly string[]).indexOf(level);
    return i === -1 ? LOG_LEVELS.length : i;
  };
  return Object.fromEntries([...levels].sort(([a], [b]) => rank(a) - rank(b) || compareText(a, b)));
}

/** Code-unit order, independent of the locale. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
