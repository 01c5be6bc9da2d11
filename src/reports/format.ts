import { renderHtml } from "./render/html.js";
import { renderMarkdown } from "./render/markdown.js";
import type { HtmlReport } from "./render/report-document.js";
import { renderTerminal } from "./render/terminal.js";

/** The formats a report is delivered in. */
export const REPORT_FORMATS = ["json", "markdown", "html", "table"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** A rendered report: its bytes and the media type to send them with. */
export interface RenderedReport {
  body: string;
  contentType: string;
  /** The file extension a saved copy gets. */
  extension: string;
}

/**
 * Renders `report` as `format`: JSON as it is, the others from the document `toDocument` builds
 * (charts only for HTML, where they are drawn).
 */
export async function formatReport<R>(
  report: R,
  format: ReportFormat,
  toDocument: (report: R, withCharts: boolean) => Promise<HtmlReport> | HtmlReport,
  width?: number,
): Promise<RenderedReport> {
  switch (format) {
    case "json":
      return {
        body: `${JSON.stringify(report, null, 2)}\n`,
        contentType: "application/json; charset=utf-8",
        extension: "json",
      };
    case "markdown":
      return {
        body: renderMarkdown(await toDocument(report, false)),
        contentType: "text/markdown; charset=utf-8",
        extension: "md",
      };
    case "html":
      return {
        body: renderHtml(await toDocument(report, true)),
        contentType: "text/html; charset=utf-8",
        extension: "html",
      };
    case "table":
      return {
        body: renderTerminal(await toDocument(report, false), width),
        contentType: "text/plain; charset=utf-8",
        extension: "txt",
      };
  }
}
