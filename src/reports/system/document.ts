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

/** One row of the figures table: min, mean, max, last and the trend per day. */
function row(name: string, s: SeriesSummary | null, format: (value: number) => string): string[] {
  if (!s) return [name, NONE, NONE, NONE, NONE, NONE];
  const trend = s.trend
    ? `${s.trend.slopePerDay >= 0 ? "+" : ""}${format(s.trend.slopePerDay)}/day (R² ${fixed(s.trend.r2)})`
    : NONE;
  return [name, format(s.min), format(s.mean), format(s.max), format(s.last), trend];
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
              row("CPU (cores)", report.cpu.coreShare, (v) => v.toFixed(2)),
              row("RSS", report.memory.rssBytes, mib),
              row("heap used", report.memory.heapUsedBytes, mib),
              row("event-loop p99", report.eventLoop.delayP99Ms, ms),
              row("database", database.bytes, mib),
              row("WAL", database.walBytes, mib),
              row("free on the volume", volume.freeBytes, mib),
              row("open operations", report.operations.open, (v) => v.toFixed(0)),
            ],
          },
        ],
      },
      {
        heading: "Recommendations",
        paragraphs: report.recommendations.length === 0 ? ["None: no rule applies over this window."] : [],
        items: recommendationItems(report.recommendations),
      },
      { heading: "Over time", charts: withCharts ? await charts(report) : [] },
    ],
  };
}
