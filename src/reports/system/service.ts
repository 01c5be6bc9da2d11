import type { Config } from "../../config/schema.js";
import { runOffThread } from "../../maintenance/off-thread.js";
import { dayOf } from "../performance/aggregates.js";
import { parseTimeframe, timeframeBounds, type TimeframeQuery } from "../timeframe.js";
import { firstSampleAt, type SystemSample } from "./load.js";
import { buildSystemReport, type SystemReport, type SystemWindow } from "./report.js";

/** Reads the samples of a window: in a worker thread for the service, on the spot for the CLI. */
export type SystemSamplesLoader = (
  path: string,
  from: number,
  to: number,
) => SystemSample[] | Promise<SystemSample[]>;

/**
 * The system report of the database at `path` over `window` (ms since the epoch, end excluded;
 * `timeframeBounds(parseTimeframe(…))` gives one), judged by `reports.system.rules`. The samples
 * are read in a worker thread unless `load` says otherwise (the CLI may call
 * `loadSystemSamples` directly).
 */
export async function systemReport(
  path: string,
  window: SystemWindow,
  config: Config,
  now: number,
  load: SystemSamplesLoader = (...args) => runOffThread("loadSystemSamples", ...args),
): Promise<SystemReport> {
  const samples = await load(path, window.start, window.end);
  return buildSystemReport(samples, window, config.reports.system.rules, now);
}

/** The window of whole UTC days the query names (`timeframe`, or `from` and `to`), as for the performance report. */
export function systemWindow(path: string, query: TimeframeQuery, now: number): SystemWindow {
  const timeframe = parseTimeframe(query, now, () => {
    const at = firstSampleAt(path);
    return at === undefined ? undefined : dayOf(at);
  });
  return timeframeBounds(timeframe);
}
