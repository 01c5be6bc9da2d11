/** Severity of a finding, most severe first. */
/** The recommendations' own (`info`, `warning`, `high`) and `critical`, so every output names them alike. */
export const SEVERITIES = ["critical", "high", "warning", "info"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Horizontal alignment of a table column. */
export type ColumnAlign = "left" | "right" | "center";

/** A table of pre-formatted cells: the renderers print strings, they never format numbers. */
export interface ReportTable {
  columns: string[];
  /** Each row has one cell per column. */
  rows: string[][];
  /** One entry per column. @default right for columns whose cells all look numeric, left otherwise */
  align?: ColumnAlign[];
}

/** A chart already rendered to SVG by `charts.ts`; the SVG is inlined as is, so it must be trusted. */
export interface ReportChart {
  title: string;
  svg: string;
}

/** A finding: what was seen, the evidence for it, and what to do. */
export interface ReportItem {
  severity: Severity;
  title: string;
  evidence: string[];
  recommendation?: string;
}

/** A section of a report, rendered in this order: paragraphs, charts, tables, items. */
export interface ReportSection {
  heading: string;
  paragraphs?: string[];
  tables?: ReportTable[];
  charts?: ReportChart[];
  items?: ReportItem[];
}

/** The document the HTML and Markdown renderers take. Every string is plain text (escaped on output). */
export interface HtmlReport {
  title: string;
  /** When the report was made; a Date is written as ISO 8601 UTC. */
  generatedAt: Date | string;
  subtitle?: string;
  sections: ReportSection[];
}

// Formatted numbers as the reports write them: signs (ASCII or U+2212), currency, grouping,
// decimals, and a unit suffix such as %, bp or x. A dash alone stands for "no value".
const NUMERIC_CELL =
  /^(?:[+\-\u2212]?[$€£¥]?\d[\d,\s]*(?:\.\d+)?\s?(?:%|bps?|x|ms|s|[kKMB])?|[-\u2013\u2014]|n\/a)$/;

/** Whether a cell looks like a formatted number (or an empty value), so that it aligns right. */
export function isNumericCell(cell: string): boolean {
  return NUMERIC_CELL.test(cell.trim());
}

/**
 * The alignment of every column: the table's own, else right for columns whose non-empty cells
 * all look numeric (so that digits line up), else left. Fails fast on a ragged table.
 */
export function resolveAlignments(table: ReportTable): ColumnAlign[] {
  const width = table.columns.length;
  table.rows.forEach((row, i) => {
    if (row.length !== width) throw new RangeError(`row ${i} has ${row.length} cells, expected ${width}`);
  });
  if (table.align !== undefined) {
    if (table.align.length !== width) {
      throw new RangeError(`align has ${table.align.length} entries, expected ${width}`);
    }
    return [...table.align];
  }
  return table.columns.map((_, column) => {
    const cells = table.rows.map((row) => row[column]!).filter((cell) => cell.trim() !== "");
    return cells.length > 0 && cells.every(isNumericCell) ? "right" : "left";
  });
}

/** The report's timestamp as text: a Date as ISO 8601 UTC, a string as given. */
export function formatGeneratedAt(generatedAt: Date | string): string {
  return generatedAt instanceof Date ? generatedAt.toISOString() : generatedAt;
}
