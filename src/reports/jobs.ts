import type { Config } from "../config/schema.js";
import type { Clock } from "../platform/clock.js";
import { runOffThread } from "../maintenance/off-thread.js";
import { logReport } from "./logs/service.js";
import { performanceReport } from "./performance/service.js";
import { systemReport } from "./system/service.js";
import type { ReportJob } from "./scheduler.js";
import { addDays } from "./timeframe.js";

/**
 * The daily reports: performance over the seven days that ended with `day` (enough closes for the
 * rules' minimum samples), the system over `day`, and the logs of `day` against the day before.
 * Each is read and drawn in worker threads.
 */
export function dailyReportJobs(databasePath: string, config: Config): ReportJob[] {
  const at = (now: number): Clock => ({ now: () => now });
  return [
    {
      name: "performance",
      async make(day, now) {
        const report = await performanceReport(
          databasePath,
          { from: addDays(day, -6), to: day },
          config,
          at(now),
        );
        return {
          render: (format) => runOffThread("renderReport", "performance", report, format),
          recommendations: report.recommendations,
        };
      },
    },
    {
      name: "system",
      async make(day, now) {
        const window = {
          start: Date.parse(`${day}T00:00:00Z`),
          end: Date.parse(`${addDays(day, 1)}T00:00:00Z`),
        };
        const report = await systemReport(databasePath, window, config, now);
        return {
          render: (format) => runOffThread("renderReport", "system", report, format),
          recommendations: report.recommendations,
        };
      },
    },
    {
      name: "logs",
      async make(day, now) {
        const query = { from: `${day}T00:00:00Z`, to: `${addDays(day, 1)}T00:00:00Z` };
        const report = await logReport(config, query, at(now));
        return {
          render: (format) => runOffThread("renderReport", "logs", report, format),
          recommendations: [],
        };
      },
    },
  ];
}
