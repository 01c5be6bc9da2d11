import Database from "better-sqlite3";
import type { Config } from "../../config/schema.js";
import { runOffThread } from "../../maintenance/off-thread.js";
import type { Clock } from "../../platform/clock.js";
import { parseFixed } from "../../platform/fixed-point.js";
import { parseTimeframe, timeframeBounds, type TimeframeQuery } from "../timeframe.js";
import type { PerformanceData } from "./load.js";
import { buildPerformanceReport, type PerformanceReport, type PerformanceSettings } from "./report.js";

/** The report's settings from the config: the account, the limits it is judged against, the rules. */
export function performanceSettings(config: Config): PerformanceSettings {
  const moneyScale = config.accounting.precision;
  return {
    startingEquity: parseFixed(config.accounting.startingEquity, moneyScale),
    moneyScale,
    currency: config.accounting.currency,
    periodsPerYear: config.reports.performance.periodsPerYear,
    maxDrawdown: config.risk.maxDrawdown,
    maxDailyLoss: parseFixed(config.risk.maxDailyLoss, moneyScale),
    maxExposureTotal: parseFixed(config.risk.maxExposure.total, moneyScale),
    maxExposurePerInstrument: parseFixed(config.risk.maxExposure.perInstrument, moneyScale),
    rules: config.reports.performance.rules,
  };
}

/** The first UTC day with a close in the database at `path`, if any (the primary key's first row). */
function firstDayWithData(path: string): string | undefined {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return (
      (db.prepare("SELECT MIN(day) AS day FROM equity_daily").get() as { day: string | null }).day ??
      undefined
    );
  } finally {
    db.close();
  }
}

/**
 * The performance report of the database at `path` over the timeframe the query names. `load`
 * reads the aggregates: in a worker thread for the service, on the spot for the CLI.
 */
export async function performanceReport(
  path: string,
  query: TimeframeQuery,
  config: Config,
  clock: Clock,
  load: (
    path: string,
    first: string,
    last: string,
    start: number,
    end: number,
  ) => PerformanceData | Promise<PerformanceData> = (...args) => runOffThread("loadPerformance", ...args),
): Promise<PerformanceReport> {
  const now = clock.now();
  const timeframe = parseTimeframe(query, now, () => firstDayWithData(path));
  const { start, end } = timeframeBounds(timeframe);
  const data = await load(path, timeframe.first, timeframe.last, start, end);
  return buildPerformanceReport(data, timeframe, performanceSettings(config), now);
}
