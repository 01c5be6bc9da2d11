import {
  formatGeneratedAt,
  resolveAlignments,
  type HtmlReport,
  type ReportItem,
  type ReportSection,
  type ReportTable,
} from "./report-document.js";

// Punctuation that means something inline in GitHub Markdown wherever it stands: emphasis, code,
// links and images, raw HTML and entities, strikethrough, table cells, and the escape itself.
const INLINE_SPECIAL = /[\\`*_[\]<>|~&]/g;
// Punctuation that means something only at the start of a line: headings, quotes, list items,
// thematic breaks and setext underlines, ordered lists ("1." / "1)").
const LINE_START_SPECIAL = /^(?:([#>+=-])|(\d+)([.)]))/;

/**
 * Escapes plain text for GitHub Markdown so that it renders as itself: backslash escapes (valid
 * for any ASCII punctuation in CommonMark) rather than entities, so the raw file stays readable.
 * Each line is escaped on its own and loses its indentation (four spaces would start a code
 * block); line breaks become hard breaks.
 */
export function escapeMarkdown(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) =>
      line
        .trimStart()
        .replace(INLINE_SPECIAL, "\\$&")
        .replace(LINE_START_SPECIAL, (_whole, mark?: string, digits?: string, dot?: string) =>
          mark === undefined ? `${digits}\\${dot}` : `\\${mark}`,
        ),
    )
    .join("\\\n");
}

/** Escapes text for a pipe-table cell: as {@link escapeMarkdown}, on one line (`<br>` between lines). */
export function escapeMarkdownCell(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => line.replace(INLINE_SPECIAL, "\\$&"))
    .join("<br>");
}

/**
 * Renders a report as GitHub Markdown: headings, paragraphs, pipe tables with their alignment,
 * findings as nested lists. Charts cannot travel in Markdown, so each is replaced by a note that
 * names it and points to the HTML report.
 */
export function renderMarkdown(document: HtmlReport): string {
  const blocks = [
    `# ${escapeMarkdown(document.title)}`,
    document.subtitle === undefined ? undefined : `_${escapeMarkdown(document.subtitle)}_`,
    `Generated ${escapeMarkdown(formatGeneratedAt(document.generatedAt))}`,
    ...document.sections.map(renderSection),
  ];
  return `${blocks.filter((block) => block !== undefined).join("\n\n")}\n`;
}

function renderSection(section: ReportSection): string {
  return [
    `## ${escapeMarkdown(section.heading)}`,
    ...(section.paragraphs ?? []).map(escapeMarkdown),
    ...(section.charts ?? []).map(
      (chart) => `> Chart: ${escapeMarkdown(chart.title)} (see the HTML report).`,
    ),
    ...(section.tables ?? []).map(renderMarkdownTable),
    ...(section.items === undefined || section.items.length === 0
      ? []
      : [section.items.map(renderItem).join("\n")]),
  ].join("\n\n");
}

const DELIMITER = { left: ":---", right: "---:", center: ":---:" } as const;

/** Renders one table as a GitHub pipe table, with its columns' alignment in the delimiter row. */
export function renderMarkdownTable(table: ReportTable): string {
  const align = resolveAlignments(table);
  const line = (cells: readonly string[]) => `| ${cells.map(escapeMarkdownCell).join(" | ")} |`;
  return [
    line(table.columns),
    `| ${align.map((a) => DELIMITER[a]).join(" | ")} |`,
    ...table.rows.map((row) => line(row)),
  ].join("\n");
}

function renderItem(item: ReportItem): string {
  // A line break would end the list item, so its text is kept on one line.
  const inline = (text: string) => escapeMarkdown(text.replace(/\s*(?:\r\n|\r|\n)\s*/g, " "));
  const lines = [`- **${inline(item.severity.toUpperCase())}** ${inline(item.title)}`];
  for (const evidence of item.evidence) lines.push(`  - ${inline(evidence)}`);
  if (item.recommendation !== undefined) lines.push(`  - **Recommendation:** ${inline(item.recommendation)}`);
  return lines.join("\n");
}
