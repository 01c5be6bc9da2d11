import type { RenderedReport, ReportFormat } from "./format.js";

/** The reports that can be rendered off the event loop. */
export type ReportKind = "performance" | "system" | "logs";

/**
 * Renders a report (as its JSON) in a format: a worker task (maintenance/database-checks.ts), as
 * Vega draws a year of daily charts in about 180 ms, which the event loop must not spend. The
 * renderers are imported on first use, so a worker that only checks databases never loads Vega.
 */
export async function renderReport(
  kind: ReportKind,
  report: unknown,
  format: ReportFormat,
): Promise<RenderedReport> {
  const { formatReport } = await import("./format.js");
  switch (kind) {
    case "performance": {
      const { performanceDocument } = await import("./performance/document.js");
      return formatReport(report as Parameters<typeof performanceDocument>[0], format, performanceDocument);
    }
    case "system": {
      const { systemDocument } = await import("./system/document.js");
      return formatReport(report as Parameters<typeof systemDocument>[0], format, systemDocument);
    }
    case "logs": {
      const { logsDocument } = await import("./logs/document.js");
      return formatReport(report as Parameters<typeof logsDocument>[0], format, logsDocument);
    }
  }
}
