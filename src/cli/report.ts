import { existsSync, writeFileSync } from "node:fs";
import { databasePath } from "../app.js";
import type { Config } from "../config/schema.js";
import { SYSTEM_CLOCK, type Clock } from "../platform/clock.js";
import { formatReport, REPORT_FORMATS, type ReportFormat } from "../reports/format.js";
import { logsDocument } from "../reports/logs/document.js";
import { logReportTask, runLogReport } from "../reports/logs/service.js";
import { performanceDocument } from "../reports/performance/document.js";
import { loadPerformance } from "../reports/performance/load.js";
import { performanceReport } from "../reports/performance/service.js";
import { systemDocument } from "../reports/system/document.js";
import { loadSystemSamples } from "../reports/system/load.js";
import { systemReport, systemWindow } from "../reports/system/service.js";
import type { CommandOutput } from "./backup.js";
import { UsageError } from "./usage-error.js";

/** `opsguard report …` usage, for the CLI's help. */
export const REPORT_USAGE = `opsguard report performance [--timeframe day|week|month|all] [--from DATE] [--to DATE]
                                         statistics, risk and recommendations over whole UTC days
opsguard report system [--timeframe day|week|month|all] [--from DATE] [--to DATE]
                                         CPU, memory, event loop, database and disk, with a forecast
opsguard report logs [--window 15m|1h|6h|24h|7d] [--from TIME] [--to TIME]
                                         error rates, common issues and trends of the log lines
  --format table|json|markdown|html      how to print it (default table; html draws the charts)
  --out FILE                             write it to FILE (mode 0600) instead of stdout`;

/** What a CLI report is given besides the config; tests substitute the clock. */
export interface ReportCommandOptions {
  timeframe?: string;
  window?: string;
  from?: string;
  to?: string;
  format?: string;
  json?: boolean;
  out?: string;
  clock?: Clock;
  /** Terminal width for the table format. */
  columns?: number;
}

/**
 * Runs `opsguard report <sub>` in this process, beside a service that may be running: the
 * database is read on a read-only connection, the log files as they are. Returns the exit status.
 */
export async function runReportCommand(
  sub: string | undefined,
  config: Config,
  options: ReportCommandOptions,
  output: CommandOutput,
): Promise<number> {
  // An option of another report is refused rather than ignored: the report printed would not be
  // the one asked for.
  if (sub === "logs" && options.timeframe !== undefined)
    throw new UsageError(
      "--timeframe is for report performance and system; report logs takes --window, or --from and --to",
    );
  if ((sub === "performance" || sub === "system") && options.window !== undefined)
    throw new UsageError(`--window is for report logs; report ${sub} takes --timeframe, or --from and --to`);
  const format = (options.json ? "json" : (options.format ?? "table")) as ReportFormat;
  if (!REPORT_FORMATS.includes(format))
    throw new UsageError(`--format must be one of ${REPORT_FORMATS.join(", ")}`);
  const clock = options.clock ?? SYSTEM_CLOCK;
  const range = { from: options.from, to: options.to };
  let rendered;
  if (sub === "performance") {
    const path = databasePath(config);
    if (!existsSync(path))
      throw new UsageError(`${path} does not exist: nothing has run on this data folder yet`);
    const report = await performanceReport(
      path,
      { timeframe: options.timeframe, ...range },
      config,
      clock,
      loadPerformance,
    );
    rendered = await formatReport(report, format, performanceDocument, options.columns);
  } else if (sub === "system") {
    const path = databasePath(config);
    if (!existsSync(path))
      throw new UsageError(`${path} does not exist: nothing has run on this data folder yet`);
    const now = clock.now();
    const window = systemWindow(path, { timeframe: options.timeframe, ...range }, now);
    const report = await systemReport(path, window, config, now, loadSystemSamples);
    rendered = await formatReport(report, format, systemDocument, options.columns);
  } else if (sub === "logs") {
    const report = await runLogReport(
      logReportTask(config, { window: options.window, ...range }, clock.now()),
    );
    rendered = await formatReport(report, format, logsDocument, options.columns);
  } else {
    throw new UsageError(`usage:\n${REPORT_USAGE}`);
  }
  if (options.out) {
    // Reports name strategies, amounts and log lines: only the owner reads them.
    writeFileSync(options.out, rendered.body, { mode: 0o600 });
    output.out(`wrote the ${sub} report (${format}) to ${options.out}`);
  } else {
    output.out(rendered.body.trimEnd());
  }
  return 0;
}
