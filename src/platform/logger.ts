import { mkdirSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { isSpanContextValid, trace } from "@opentelemetry/api";
import { configure } from "safe-stable-stringify";
import winston from "winston";
import type { LoggingConfig } from "../config/schema.js";
import { ConsoleTransport, prettyFormat, type ConsoleStreams } from "./console-transport.js";
import { BatchedFileTransport } from "./file-transport.js";
import { LokiTransport } from "./loki-transport.js";
import { isSecretKey } from "./secrets.js";
import { MESSAGE } from "./log-keys.js";

export type Logger = winston.Logger;

/** Keys whose values never reach a log line. */
const REDACTED = "[redacted]";
/** Least time between two reports of a failing file output. */
const PROBLEM_REPORT_INTERVAL_MS = 60_000;
/** How long `close()` waits for Loki and the log file when given no deadline. */
const DEFAULT_CLOSE_DEADLINE_MS = 2_000;

/** Replaces the values of secret-looking keys, at any depth, before a line is written. */
const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    info[key] = redactValue(key, info[key], 0);
  }
  return info;
});

function redactValue(key: string, value: unknown, depth: number): unknown {
  if (isSecretKey(key) && value !== undefined && value !== null) return REDACTED;
  // An Error has no enumerable fields: as such it would be written as `{}`.
  if (value instanceof Error && depth < 4) {
    return redactValue(key, { name: value.name, message: value.message, stack: value.stack }, depth);
  }
  if (depth > 4 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => redactValue("", item, depth + 1));
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, redactValue(k, v, depth + 1)]),
  );
}

/**
 * Adds `trace_id` and `span_id` of the active span. Logger-level formats run inside the
 * `logger.info(...)` call as long as every transport acknowledges at once (all of ours do), so
 * the active span is the caller's.
 */
const addTraceContext = winston.format((info) => {
  const span = trace.getActiveSpan()?.spanContext();
  if (span && isSpanContextValid(span)) {
    info.trace_id = span.traceId;
    info.span_id = span.spanId;
  }
  return info;
});

/** Writes what `JSON.stringify` cannot: cycles as "[Circular]", BigInts as strings. */
const stringifyAnything = configure({ deterministic: false, bigint: false });

/**
 * The line's JSON, in insertion order as {@link shapeLine} left it. Hand-written in place of
 * winston's `format.json()`, which writes every line with safe-stable-stringify (and builds a new
 * one for each line): native `JSON.stringify` writes the same text and allocates a fraction of
 * it (measured with bench/allocations.ts: a submit allocated 119 KB, about 7 KB of it for its two
 * lines' JSON, and 113 KB with this). The rare line it cannot write (a cycle, a BigInt) goes
 * through the safe one.
 */
const jsonLine = winston.format((info) => {
  let text: string;
  try {
    text = JSON.stringify(info);
  } catch {
    text = stringifyAnything(info, (_key, value: unknown) =>
      typeof value === "bigint" ? value.toString() : value,
    )!;
  }
  info[MESSAGE] = text;
  return info;
});

/** Renames winston's `message` to `msg` and puts the fields a reader scans for first. */
const shapeLine = winston.format((info) => {
  const { message, ...fields } = info;
  const line: Record<string | symbol, unknown> = {
    timestamp: fields.timestamp,
    level: fields.level,
    msg: message,
  };
  for (const key of ["event", "trace_id", "span_id"]) {
    if (fields[key] !== undefined) line[key] = fields[key];
  }
  // Object rest keeps winston's symbol keys (level, splat), which transports read.
  return Object.assign(line, fields) as winston.Logform.TransformableInfo;
});

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  level: string;
  /** @default "opsguard" */
  service?: string;
  env: string;
  /** Where lines go. @default JSON lines on stdout, errors and warnings on stderr */
  transports?: winston.transport[];
  /** Called once per line written, with its level; feeds `opsguard_log_messages_total`. */
  onLine?: (level: string) => void;
}

/**
 * A logger of JSON lines with `timestamp`, `level`, `msg`, a stable `event`, and `trace_id` and
 * `span_id` inside a span; secrets are redacted. Call as
 * `logger.info("operation opened", { event: "operation.opened", operationId })`.
 * {@link createLogging} builds one with the outputs of the config.
 */
export function createLogger({
  level,
  service = "opsguard",
  env,
  transports,
  onLine,
}: LoggerOptions): Logger {
  // Lines below the level are dropped here, before counting: winston itself filters them only
  // in each transport, after the logger's format has run (and counted them).
  const enabled = winston.format((info) => (logger.isLevelEnabled(info.level) ? info : false));
  const count = winston.format((info) => {
    onLine?.(info.level);
    return info;
  });
  const logger = winston.createLogger({
    level,
    defaultMeta: { service, env },
    format: winston.format.combine(
      enabled(),
      count(),
      winston.format.errors({ stack: true }),
      addTraceContext(),
      redact(),
      winston.format.timestamp(),
      shapeLine(),
      jsonLine(),
    ),
    transports: transports ?? [new ConsoleTransport({ stdout: process.stdout, stderr: process.stderr })],
  });
  return logger;
}

/** Options of {@link createLogging}. */
export interface LoggingOptions {
  config: LoggingConfig;
  /** Base of a relative `file.dir`. */
  dataDir: string;
  /** The `env` field and Loki label. */
  env: string;
  /** The `service` field and Loki label. @default "opsguard" */
  service?: string;
  /** Called once per line written, with its level; feeds `opsguard_log_messages_total`. */
  onLine?: (level: string) => void;
  /** Called with lines that will never reach Loki; feeds `opsguard_telemetry_dropped_total{signal="logs"}`. */
  onDropped?: (lines: number) => void;
  /** Outputs added to those of the config (tests pass a stream). */
  transports?: winston.transport[];
  /** The console's streams, and whether stdout is a terminal (`format: auto`). @default the process's */
  console?: ConsoleStreams & { isTTY?: boolean };
}

/** A logger with the outputs of the config, and what shutdown needs. */
export interface Logging {
  logger: Logger;
  /** Pushes the lines buffered for Loki; resolves within `deadlineMs` even when Loki hangs. */
  flush(deadlineMs: number): Promise<void>;
  /**
   * The last call at shutdown: writes the log file out and pushes what Loki holds, within
   * `deadlineMs` (@default 2000), then leaves only the console. What Loki still holds then is
   * counted as dropped. (`flush` alone cannot vouch for the file: its writes are asynchronous, and
   * only ending the file waits for them.)
   */
  close(deadlineMs?: number): Promise<void>;
}

/**
 * Builds the logger and its outputs from the config: the console (JSON or readable lines), rotated
 * JSON files under the data folder, and Loki. Problems of the file and Loki outputs go to the
 * console only, at most once a minute each, even when the console is off for ordinary lines: a
 * failing Loki must never feed itself, and an operator must see it somewhere.
 */
export function createLogging(options: LoggingOptions): Logging {
  const { config, dataDir, env, service = "opsguard", onLine, onDropped } = options;
  const streams = options.console ?? {
    stdout: process.stdout,
    stderr: process.stderr,
    isTTY: process.stdout.isTTY,
  };
  const pretty =
    config.console.format === "pretty" || (config.console.format === "auto" && streams.isTTY === true);
  const consoleFormat = pretty ? prettyFormat({ colors: true }) : undefined;
  const problems = createLogger({
    level: "info",
    service,
    env,
    onLine,
    transports: [new ConsoleTransport(streams, { format: consoleFormat })],
  });

  const transports = [...(options.transports ?? [])];
  if (config.console.enabled) transports.push(new ConsoleTransport(streams, { format: consoleFormat }));
  const file = config.file.enabled ? createFileTransport(config.file, dataDir) : undefined;
  if (file) transports.push(file);
  const loki = config.loki.url
    ? new LokiTransport({
        ...config.loki,
        url: config.loki.url,
        labels: { service, env },
        onDropped,
        onReport: (level, msg, fields) => problems.log(level, msg, fields),
      })
    : undefined;
  if (loki) transports.push(loki);
  // winston warns on every line written to no transport at all.
  if (transports.length === 0) transports.push(new ConsoleTransport(streams, { silent: true }));

  const logger = createLogger({ level: config.level, service, env, onLine, transports });
  // winston re-emits a transport's error (disk full, folder removed) on the logger, where an
  // unhandled 'error' event would crash the process.
  let lastProblemAt = Number.NEGATIVE_INFINITY;
  logger.on("error", (error: unknown) => {
    if (Date.now() - lastProblemAt < PROBLEM_REPORT_INTERVAL_MS) return;
    lastProblemAt = Date.now();
    problems.warn("log output failed", {
      event: "logs.output_failed",
      error: error instanceof Error ? error.message : String(error),
    });
  });

  let closing: Promise<void> | undefined;
  return {
    logger,
    flush: (deadlineMs) => loki?.flush(deadlineMs) ?? Promise.resolve(),
    close(deadlineMs = DEFAULT_CLOSE_DEADLINE_MS) {
      closing ??= (async () => {
        // Let lines still in winston's stream reach the outputs before they are taken away.
        await new Promise((resolve) => setImmediate(resolve));
        // Removing a transport unpipes it, which calls its close(): the file ends, Loki stops.
        // The file is local and quick: end it first, and let it finish while Loki is pushed.
        const written = file ? waitForFinish(file, deadlineMs) : Promise.resolve();
        if (file) logger.remove(file);
        await loki?.flush(deadlineMs);
        if (loki) logger.remove(loki);
        await written;
      })();
      return closing;
    },
  };
}

/** JSON lines in `<dir>/opsguard-<UTC date>.log`, then `.1.log`, `.2.log`… past `maxSize`. */
function createFileTransport(file: LoggingConfig["file"], dataDir: string): BatchedFileTransport {
  const dirname = isAbsolute(file.dir) ? file.dir : join(dataDir, file.dir);
  // Lines carry account ids and amounts: only the service's user may read them. The library
  // would create the folder with the default mode, so make it first (an existing one is kept).
  mkdirSync(dirname, { recursive: true, mode: 0o700 });
  return new BatchedFileTransport({
    dirname,
    filename: "opsguard-%DATE%",
    extension: ".log",
    datePattern: "YYYY-MM-DD",
    utc: true,
    maxSize: file.maxSize,
    maxFiles: `${file.maxAgeDays}d`,
    auditFile: join(dirname, ".opsguard-audit.json"),
    // Passed to fs.createWriteStream: each new file is created 0600.
    options: { flags: "a", mode: 0o600 },
  });
}

/** Resolves when the file transport has written everything out, or after a bound. */
function waitForFinish(file: BatchedFileTransport, deadlineMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, deadlineMs);
    file.once("finish", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** A logger that writes nothing, for tests that do not look at logs. */
export function createSilentLogger(): Logger {
  return winston.createLogger({
    silent: true,
    transports: [new ConsoleTransport({ stdout: process.stdout, stderr: process.stderr }, { silent: true })],
  });
}
