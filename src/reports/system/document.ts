import { renderEquityCurveSvg } from "../render/charts.js";
import type { HtmlReport, ReportChart } from "../render/report-document.js";
import { fixed, percent, recommendationItems } from "../performance/document.js";
import type { SeriesSummary } from "./statistics.js";
import type { SystemReport } from "./report.js";

// The system report as a document for the HTML, Markdown and terminal renderers.

const NONE = "–";
const MIB = 1024 * 1024;
const mib = (bytes: number | null | undefined): string =>
  bytes === null || bytes === undefined ? NONE : `${(bytes / MIB).toFixed(1)} MiB`;
const ms = (value: number | null | undefined): string =>
  value === null || value === undefined ? NONE : `${value.toFixed(1)} ms`;

/**
 * One row of the figures table: min, mean, max, last and the trend per day, which is shown only
 * from `needs` on (a few minutes of samples would be extrapolated to a day).
 */
function row(
  name: string,
  s: SeriesSummary | null,
  format: (value: number) => string,
  needs: SystemReport["trendNeeds"],
): string[] {
  if (!s) return [name, NONE, NONE, NONE, NONE, NONE];
  const { trend } = s;
  const shown =
    trend === null
      ? NONE
      : trend.samples < needs.samples || trend.spanHours < needs.hours
        ? "not enough data"
        : `${trend.slopePerDay >= 0 ? "+" : ""}${format(trend.slopePerDay)}/day (R² ${fixed(trend.r2)})`;
  return [name, format(s.min), format(s.mean), format(s.max), format(s.last), shown];
}

async function charts(report: SystemReport): Promise<ReportChart[]> {
  const points = report.timeline;
  if (points.length < 2) return [];
  const series = (pick: (p: (typeof points)[number]) => number | null) =>
    points.flatMap((p) => {
      const value = pick(p);
      return value === null ? [] : [{ time: p.at, value }];
    });
  return [
    {
      title: "RSS (MiB)",
      svg: await renderEquityCurveSvg(
        series((p) => p.rssBytes / MIB),
        { valueTitle: "MiB" },
      ),
    },
    {
      title: "Event-loop delay p99 (ms)",
      svg: await renderEquityCurveSvg(
        series((p) => p.eventLoopDelayP99Ms),
        { valueTitle: "ms" },
      ),
    },
    {
      title: "Free space on the data volume (MiB)",
      svg: await renderEquityCurveSvg(
        series((p) => (p.volumeFreeBytes === null ? null : p.volumeFreeBytes / MIB)),
        { valueTitle: "MiB" },
      ),
    },
  ];
}

/** The system report as a document; `withCharts` draws the timeline (for HTML). */
/** The charts over the window, or what stands in for them: never an empty section. */
async function overTime(report: SystemReport, withCharts: boolean): Promise<HtmlReport["sections"][number]> {
  if (!withCharts) {
    return {
      heading: "Over time",
      paragraphs: ["Charts are in the HTML report; the timeline's points are in the JSON."],
    };
  }
  const drawn = await charts(report);
  if (drawn.length > 0) return { heading: "Over time", charts: drawn };
  return {
    heading: "Over time",
    paragraphs: [
      `No chart yet: a curve needs two points of the timeline, and the window has ${report.timeline.length}.`,
    ],
  };
}

export async function systemDocument(report: SystemReport, withCharts: boolean): Promise<HtmlReport> {
  const { samples, volume, database } = report;
  const forecast = volume.forecast;
  return {
    title: "opsguard system report",
    subtitle: `${report.window.from} to ${report.window.to}`,
    generatedAt: report.generatedAt,
    sections: [
      {
        heading: "Summary",
        paragraphs: [
          `${samples.count} samples over ${report.window.hours.toFixed(1)} hours (coverage ${percent(samples.coverage)}).`,
          `CPU ${percent(report.cpu.meanCoreShare)} of a core on average; GC ${percent(report.gc.timeShare)} of the time; worst event-loop delay ${ms(report.eventLoop.maxMs)}.`,
          `Database ${mib(database.bytes?.last)}, WAL ${mib(database.walBytes?.last)}; data volume ${percent(volume.freeShare)} free: ${forecast.status}${forecast.fullAt ? `, full around ${forecast.fullAt}` : ""} (${forecast.reason}).`,
        ],
        tables: [
          {
            columns: ["", "min", "mean", "max", "last", "trend"],
            rows: [
              row("CPU (cores)", report.cpu.coreShare, (v) => v.toFixed(2), report.trendNeeds),
              row("RSS", report.memory.rssBytes, mib, report.trendNeeds),
              row("heap used", report.memory.heapUsedBytes, mib, report.trendNeeds),
              row("event-loop p99", report.eventLoop.delayP99Ms, ms, report.trendNeeds),
              row("database", database.bytes, mib, report.trendNeeds),
              row("WAL", database.walBytes, mib, report.trendNeeds),
              row("free on the volume", volume.freeBytes, mib, report.trendNeeds),
              row("open operations", report.operations.open, (v) => v.toFixed(0), report.trendNeeds),
            ],
          },
        ],
      },
      {
        heading: "Recommendations",
        paragraphs: report.recommendations.length === 0 ? ["None: no rule applies over this window."] : [],
        items: recommendationItems(report.recommendations),
      },
      await overTime(report, withCharts),
    ],
  };
}
