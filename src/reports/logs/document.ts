import type { HtmlReport, ReportSection } from "../render/report-document.js";
import { percent } from "../performance/document.js";
import type { Issue } from "./report.js";
import type { LogReportWithSource } from "./service.js";
import type { Trend } from "./trends.js";

// The log report as a document for the HTML, Markdown and terminal renderers.

const issueRows = (issues: readonly Issue[], withTemplate: boolean): string[][] =>
  issues.map((i) => [
    i.event,
    ...(withTemplate ? [i.template ?? ""] : []),
    String(i.count),
    String(i.errors),
    String(i.warnings),
    i.lastSeen,
    i.sample,
  ]);

const trendRows = (trends: readonly Trend[], withTemplate: boolean): string[][] =>
  trends.map((t) => [
    t.kind,
    t.event,
    ...(withTemplate ? [t.template ?? ""] : []),
    String(t.current),
    String(t.previous),
    t.factor === null ? "–" : `×${t.factor.toFixed(2)}`,
  ]);

/** The log report as a document (it has no charts: its tables are the figures). */
export function logsDocument(report: LogReportWithSource): HtmlReport {
  const { rates, window } = report;
  const source =
    report.source.kind === "file"
      ? `the log files in ${report.source.dir}${report.source.current.folderMissing ? " (the folder does not exist: is logging.file.enabled on?)" : ""}`
      : `Loki at ${report.source.url}${report.source.current.truncated ? " (truncated: more lines than the page limit)" : ""}`;
  const sections: ReportSection[] = [
    {
      heading: "Summary",
      paragraphs: [
        `${window.from} to ${window.to} (${window.minutes} minutes), from ${source}: ${report.lines} lines, ${report.unparseable.total} unreadable; the window before had ${report.previousWindow.lines}.`,
        `Errors ${rates.errorsPerMinute}/min (before ${rates.previousErrorsPerMinute}/min), warnings ${rates.warningsPerMinute}/min (before ${rates.previousWarningsPerMinute}/min).`,
      ],
      tables: [
        {
          columns: ["level", "lines", "share"],
          rows: report.levels.map((l) => [l.level, String(l.count), percent(l.share)]),
        },
      ],
    },
    {
      heading: "Top events",
      tables: [
        {
          columns: ["event", "lines", "share", "errors", "warnings"],
          rows: report.topEvents.map((e) => [
            e.event,
            String(e.count),
            percent(e.share),
            String(e.levels.error ?? 0),
            String(e.levels.warn ?? 0),
          ]),
        },
      ],
    },
    {
      heading: "Most common issues, by event",
      tables: [
        {
          columns: ["event", "count", "errors", "warnings", "last seen", "sample"],
          rows: issueRows(report.issues.byEvent, false),
        },
      ],
    },
    {
      heading: "Most common issues, by message template",
      tables: [
        {
          columns: ["event", "template", "count", "errors", "warnings", "last seen", "sample"],
          rows: issueRows(report.issues.byTemplate, true),
        },
      ],
    },
    {
      heading: "Trends against the window before",
      paragraphs:
        report.trends.events.length + report.trends.templates.length === 0
          ? ["Nothing new, rising, falling or gone."]
          : [],
      tables: [
        {
          columns: ["trend", "event", "now", "before", "factor"],
          rows: trendRows(report.trends.events, false),
        },
        {
          columns: ["trend", "event", "template", "now", "before", "factor"],
          rows: trendRows(report.trends.templates, true),
        },
      ].filter((t) => t.rows.length > 0),
    },
  ];
  return {
    title: "opsguard log report",
    subtitle: `${window.from} to ${window.to}`,
    generatedAt: report.generatedAt,
    sections,
  };
}
