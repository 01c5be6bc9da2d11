import type { HtmlReport } from "./report-document.js";
import { formatGeneratedAt } from "./report-document.js";
import { renderTable, sanitize } from "./table.js";

/**
 * A report for the terminal: headings, paragraphs, each table fitted to `width`, and findings as
 * indented lines, with control characters replaced as in tables. Charts are left to the HTML report.
 */
export function renderTerminal(document: HtmlReport, width = 120): string {
  const lines = [
    document.title,
    ...(document.subtitle ? [document.subtitle] : []),
    `generated ${formatGeneratedAt(document.generatedAt)}`,
  ];
  for (const section of document.sections) {
    const tables = section.tables?.filter((t) => t.rows.length > 0) ?? [];
    const items = section.items ?? [];
    if (!section.paragraphs?.length && tables.length === 0 && items.length === 0) continue;
    // Paragraphs and findings carry data (names, log lines): no control character reaches the
    // terminal (renderTable does the same for cells).
    const say = (line: string) => lines.push(sanitize(line));
    say("");
    say(`== ${section.heading}`);
    for (const paragraph of section.paragraphs ?? []) say(paragraph);
    for (const table of tables) lines.push("", renderTable(table, { maxWidth: width }));
    for (const item of items) {
      say(`[${item.severity}] ${item.title}`);
      for (const evidence of item.evidence) say(`    ${evidence}`);
      if (item.recommendation) say(`    → ${item.recommendation}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
