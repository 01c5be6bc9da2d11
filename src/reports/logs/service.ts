import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { Config } from "../../config/schema.js";
import { runOffThread } from "../../maintenance/off-thread.js";
import type { Clock } from "../../platform/clock.js";
import { DomainError } from "../../platform/errors.js";
import { analyzeLogs } from "./analyze.js";
import { readLogFiles, type FileSourceStats } from "./file-source.js";
import type { LogSource } from "./log-line.js";
import { readLokiLines, type LokiSourceStats } from "./loki-source.js";
import type { LogReport } from "./report.js";

/** The windows a log report is asked for by name, and their length. */
export const LOG_WINDOWS = {
  "15m": 15 * 60_000,
  "1h": 3_600_000,
  "6h": 6 * 3_600_000,
  "24h": 86_400_000,
  "7d": 7 * 86_400_000,
} as const;
export type LogWindowName = keyof typeof LOG_WINDOWS;
const MAX_WINDOW_MS = 31 * 86_400_000;

/** How a request names a log window: by name (ending now), or by its bounds. */
export interface LogWindowQuery {
  window?: string;
  from?: string;
  to?: string;
}

/** Everything a worker needs to read and analyse the lines of a window (plain values: it crosses threads). */
export interface LogReportTask {
  from: number;
  to: number;
  source:
    | { kind: "file"; dir: string }
    | { kind: "loki"; url: string; env: string; token?: string; tenant?: string; timeoutMs: number };
  trendFactor: number;
  trendMinCount: number;
}

/** The log report, with where its lines came from and what the source met. */
export type LogReportWithSource = LogReport & {
  kind: "logs";
  generatedAt: string;
  source:
    | { kind: "file"; dir: string; current: FileSourceStats; previous: FileSourceStats }
    | { kind: "loki"; url: string; current: LokiSourceStats; previous: LokiSourceStats };
};

const invalid = (path: string, message: string) =>
  new DomainError("VALIDATION_FAILED", `${path}: ${message}`, [{ code: "INVALID_WINDOW", path, message }]);

/** The window `[from, to)` in milliseconds that the query names; refused with the field named. */
export function parseLogWindow(query: LogWindowQuery, now: number): { from: number; to: number } {
  if (query.from !== undefined || query.to !== undefined) {
    if (query.window !== undefined) throw invalid("window", "give window, or from and to, not both");
    if (query.from === undefined) throw invalid("from", "from is needed with to");
    const from = Date.parse(query.from);
    const to = query.to === undefined ? now : Date.parse(query.to);
    if (Number.isNaN(from)) throw invalid("from", `${JSON.stringify(query.from)} is not an ISO 8601 time`);
    if (Number.isNaN(to)) throw invalid("to", `${JSON.stringify(query.to)} is not an ISO 8601 time`);
    if (to <= from) throw invalid("from", "from must be before to");
    if (to - from > MAX_WINDOW_MS) throw invalid("from", "a window is 31 days at most");
    return { from, to };
  }
  const name = query.window ?? "1h";
  if (!(name in LOG_WINDOWS))
    throw invalid("window", `window must be one of ${Object.keys(LOG_WINDOWS).join(", ")}`);
  return { from: now - LOG_WINDOWS[name as LogWindowName], to: now };
}

/** The folder the log files are written to (as the logger resolves `logging.file.dir`). */
export function logFolder(config: Config): string {
  const dir = config.logging.file.dir;
  return isAbsolute(dir) ? dir : join(config.dataDir, dir);
}

/** The task of a log report over the window the query names, from the source the config picks. */
export function logReportTask(config: Config, query: LogWindowQuery, now: number): LogReportTask {
  const { from, to } = parseLogWindow(query, now);
  const { logs } = config.reports;
  const loki = config.logging.loki;
  const useLoki = logs.source === "loki" || (logs.source === "auto" && loki.url !== undefined);
  if (useLoki && loki.url === undefined)
    throw new DomainError("VALIDATION_FAILED", "reports.logs.source is loki but logging.loki.url is not set");
  return {
    from,
    to,
    source: useLoki
      ? {
          kind: "loki",
          url: loki.url!,
          env: config.env,
          // Read here, not in the worker, so a missing file is the caller's error; never logged.
          ...(loki.tokenFile ? { token: readFileSync(loki.tokenFile, "utf8").trim() } : {}),
          ...(loki.tenant ? { tenant: loki.tenant } : {}),
          timeoutMs: logs.lokiTimeoutMs,
        }
      : { kind: "file", dir: logFolder(config) },
    trendFactor: logs.trendFactor,
    trendMinCount: logs.trendMinCount,
  };
}

/**
 * Reads the lines of the window and of the one before it and analyses them. A worker task: a day
 * of lines is seconds of parsing and clustering, which the service's event loop must not spend.
 */
export async function runLogReport(task: LogReportTask): Promise<LogReportWithSource> {
  const previousFrom = task.from - (task.to - task.from);
  const open = (from: number, to: number): LogSource<FileSourceStats | LokiSourceStats> =>
    task.source.kind === "file"
      ? readLogFiles({ dir: task.source.dir, from, to })
      : readLokiLines({ ...task.source, from, to });
  const current = open(task.from, task.to);
  const previous = open(previousFrom, task.from);
  const report = await analyzeLogs(current, previous, {
    from: task.from,
    to: task.to,
    trendFactor: task.trendFactor,
    trendMinCount: task.trendMinCount,
  });
  const source =
    task.source.kind === "file"
      ? {
          kind: "file" as const,
          dir: task.source.dir,
          current: current.stats as FileSourceStats,
          previous: previous.stats as FileSourceStats,
        }
      : {
          kind: "loki" as const,
          url: task.source.url,
          current: current.stats as LokiSourceStats,
          previous: previous.stats as LokiSourceStats,
        };
  return { kind: "logs", generatedAt: new Date().toISOString(), ...report, source };
}

/** The log report the query asks for, made in a worker thread. */
export function logReport(config: Config, query: LogWindowQuery, clock: Clock): Promise<LogReportWithSource> {
  return runOffThread("logReport", logReportTask(config, query, clock.now()));
}
