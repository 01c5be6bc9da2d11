// winston's own base class of transports (its `winston.transport` re-export is typed as a namespace).
import winston from "winston";
import Transport from "winston-transport";
import { LEVEL, MESSAGE } from "./log-keys.js";

/** Where console lines go: the process's own streams, or a test's. */
export interface ConsoleStreams {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/**
 * Writes each formatted line to stdout, errors and warnings to stderr (so a supervisor or a
 * shell can tell them apart). Unlike winston's Console it takes its streams, which tests need.
 */
export class ConsoleTransport extends Transport {
  constructor(
    private readonly streams: ConsoleStreams,
    options?: Transport.TransportStreamOptions,
  ) {
    super(options);
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    const level = info[LEVEL];
    const stream = level === "error" || level === "warn" ? this.streams.stderr : this.streams.stdout;
    stream.write(`${String(info[MESSAGE])}\n`);
    next();
  }
}

/** ANSI SGR codes of each level; anything else is left plain. */
const LEVEL_COLOURS: Readonly<Record<string, number>> = { error: 31, warn: 33, info: 32, debug: 34 };
const DIM = 2;
const CYAN = 36;
/** Shown in the head of the line, or constant for the process (service, env), or printed below it (stack). */
const NOT_LISTED = new Set(["timestamp", "level", "event", "msg", "message", "service", "env", "stack"]);

/**
 * One readable line for a terminal: UTC time, level, event, message, then `key=value` for every
 * other field. Stacks (the line's own, or of an error in a field) follow on indented lines: a
 * stack squeezed onto one line is not readable.
 */
export function formatPretty(info: Readonly<Record<string, unknown>>, colors: boolean): string {
  const paint = (code: number | undefined, text: string): string =>
    colors && code !== undefined ? `\u001b[${code}m${text}\u001b[0m` : text;
  const level = String(info.level);
  const stacks = typeof info.stack === "string" ? [info.stack] : [];
  const head = [
    typeof info.timestamp === "string" ? paint(DIM, info.timestamp.slice(11, 23)) : undefined,
    paint(LEVEL_COLOURS[level], level.toUpperCase().padEnd(5)),
    typeof info.event === "string" ? paint(CYAN, info.event) : undefined,
    typeof info.msg === "string" || info.msg === undefined ? info.msg : formatValue(info.msg),
  ];
  const fields = Object.entries(info)
    .filter(([key, value]) => !NOT_LISTED.has(key) && value !== undefined)
    .map(([key, value]) => {
      if (isSerializedError(value)) {
        stacks.push(value.stack);
        value = `${value.name}: ${value.message}`;
      }
      return `${paint(DIM, `${key}=`)}${formatValue(value)}`;
    });
  const line = [...head, ...fields].filter((part) => part !== undefined).join(" ");
  return [line, ...stacks.map((stack) => stack.replace(/^/gm, "    "))].join("\n");
}

/** An Error as the logger writes it (see `redact` in logger.ts). */
function isSerializedError(value: unknown): value is { name: string; message: string; stack: string } {
  if (typeof value !== "object" || value === null) return false;
  const { name, message, stack } = value as Record<string, unknown>;
  return typeof name === "string" && typeof message === "string" && typeof stack === "string";
}

/** Bare when unambiguous, JSON (quoted, escaped) otherwise, so `key=value` pairs split cleanly. */
function formatValue(value: unknown): string {
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") {
    return String(value);
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return "[unserialisable]";
  }
}

/** The winston format of the `pretty` console: replaces the JSON line with {@link formatPretty}. */
export const prettyFormat = winston.format((info, options: unknown) => {
  const { colors = true } = (options ?? {}) as { colors?: boolean };
  info[MESSAGE] = formatPretty(info, colors);
  return info;
});
