import { escapeHtml } from "./escape.js";
import { REPORT_CSS } from "./html-style.js";
import {
  formatGeneratedAt,
  resolveAlignments,
  type HtmlReport,
  type ReportChart,
  type ReportItem,
  type ReportSection,
  type ReportTable,
} from "./report-document.js";

/**
 * The page may apply its own inline stylesheet and show data: images, and do nothing else: no
 * script runs, nothing is fetched, no form is sent — even if escaping were ever missed somewhere.
 */
export const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/**
 * Renders a report as one self-contained HTML file: inline CSS, inline SVG charts, no script and
 * nothing that loads, under a strict Content-Security-Policy. Every text is HTML-escaped; chart
 * SVGs are inlined as is after {@link assertInlineSvg}.
 */
export function renderHtml(document: HtmlReport): string {
  const generatedAt = formatGeneratedAt(document.generatedAt);
  const toc =
    document.sections.length > 1
      ? `<nav aria-label="Contents"><ol>${document.sections
          .map((section, i) => `<li><a href="#section-${i + 1}">${escapeHtml(section.heading)}</a></li>`)
          .join("")}</ol></nav>`
      : "";
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    `<title>${escapeHtml(document.title)}</title>`,
    `<style>${REPORT_CSS}</style>`,
    "</head>",
    "<body>",
    "<header>",
    `<h1>${escapeHtml(document.title)}</h1>`,
    document.subtitle === undefined ? "" : `<p class="subtitle">${escapeHtml(document.subtitle)}</p>`,
    `<p class="meta">Generated <time datetime="${escapeHtml(generatedAt)}">${escapeHtml(generatedAt)}</time></p>`,
    toc,
    "</header>",
    "<main>",
    ...document.sections.map((section, i) => renderSection(section, `section-${i + 1}`)),
    "</main>",
    "</body>",
    "</html>",
  ]
    .filter((line) => line !== "")
    .join("\n")
    .concat("\n");
}

function renderSection(section: ReportSection, id: string): string {
  return [
    `<section id="${id}">`,
    `<h2>${escapeHtml(section.heading)}</h2>`,
    ...(section.paragraphs ?? []).map((text) => `<p>${escapeHtml(text)}</p>`),
    ...(section.charts ?? []).map(renderChart),
    ...(section.tables ?? []).map(renderTable),
    section.items === undefined || section.items.length === 0
      ? ""
      : `<ul class="findings">\n${section.items.map(renderItem).join("\n")}\n</ul>`,
    "</section>",
  ]
    .filter((line) => line !== "")
    .join("\n");
}

function renderChart(chart: ReportChart): string {
  assertInlineSvg(chart.svg);
  return [
    '<figure class="chart">',
    `<figcaption>${escapeHtml(chart.title)}</figcaption>`,
    `<div class="plot">${chart.svg}</div>`,
    "</figure>",
  ].join("\n");
}

function renderTable(table: ReportTable): string {
  const align = resolveAlignments(table);
  const cls = (column: number) => (align[column] === "left" ? "" : ` class="align-${align[column]}"`);
  const head = table.columns
    .map((column, i) => `<th scope="col"${cls(i)}>${escapeHtml(column)}</th>`)
    .join("");
  const body = table.rows
    .map((row) => `<tr>${row.map((cell, i) => `<td${cls(i)}>${escapeHtml(cell)}</td>`).join("")}</tr>`)
    .join("\n");
  return `<div class="table-wrap"><table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table></div>`;
}

function renderItem(item: ReportItem): string {
  const evidence =
    item.evidence.length === 0
      ? ""
      : `<ul class="evidence">${item.evidence.map((line) => `<li>${escapeHtml(line)}</li>`).join("")}</ul>`;
  const recommendation =
    item.recommendation === undefined
      ? ""
      : `<p class="recommendation"><strong>Recommendation:</strong> ${escapeHtml(item.recommendation)}</p>`;
  // The severity picks a class name, so only the closed set may reach the markup.
  const severity = SEVERITY_CLASS[item.severity] as string | undefined;
  if (severity === undefined) throw new RangeError(`unknown severity ${JSON.stringify(item.severity)}`);
  return [
    `<li class="finding sev-${severity}">`,
    `<span class="badge">${severity.toUpperCase()}</span><span class="finding-title">${escapeHtml(item.title)}</span>`,
    evidence,
    recommendation,
    "</li>",
  ]
    .filter((line) => line !== "")
    .join("");
}

const SEVERITY_CLASS: Readonly<Record<ReportItem["severity"], string>> = {
  critical: "critical",
  high: "high",
  warning: "warning",
  info: "info",
};

// Anything in an SVG that could run code or fetch: scripts, event handlers, foreign HTML, images,
// links or CSS urls that point outside the document.
const UNSAFE_SVG =
  /<script|<foreignObject|<image\b|<iframe|\son[a-z]+\s*=|href\s*=\s*(?!["']?#)|url\(\s*(?!["']?#)/i;

/**
 * Checks that a chart's SVG can be inlined: a single `<svg>` element with nothing that runs or
 * loads. The charts come from our own renderer; this catches a caller passing anything else.
 * @throws TypeError naming the chart when the SVG is not safe to inline.
 */
export function assertInlineSvg(svg: string): void {
  const trimmed = svg.trim();
  if (!trimmed.startsWith("<svg") || !trimmed.endsWith("</svg>") || UNSAFE_SVG.test(trimmed)) {
    throw new TypeError("chart svg must be a self-contained <svg> with no script, handler, link or image");
  }
}
