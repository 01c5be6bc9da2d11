// Hand-written rather than cli-table3: that library draws boxes and colours headers by default,
// does not fit a table to a width (we would compute the column widths ourselves anyway), and
// brings string-width and colour packages into every install the security checks then have to
// vet. What we need — alignment, fitting to the terminal, wide characters, no escape sequences
// from data — is short.
import { resolveAlignments, type ColumnAlign, type ReportTable } from "./report-document.js";

/** Options for {@link renderTable}. */
export interface TerminalTableOptions {
  /**
   * Width to fit in, in terminal columns (e.g. `process.stdout.columns` from the CLI). The widest
   * columns shrink first, down to {@link MIN_COLUMN_WIDTH}; cut cells end with "…".
   * @default Infinity (never cut)
   */
  maxWidth?: number;
  /** Bold header and dim rule, with ANSI escapes. @default false */
  color?: boolean;
  /** Spaces between columns. @default 2 */
  gap?: number;
}

/** Columns never shrink below this many terminal cells when fitting a table. */
export const MIN_COLUMN_WIDTH = 4;

const ELLIPSIS = "…";
const ANSI = { bold: "\u001b[1m", dim: "\u001b[2m", reset: "\u001b[22m" } as const;

/**
 * Renders a table for a terminal: a header, a rule of `-`, then the rows, columns aligned (numbers
 * right by default) and fitted to `maxWidth`. Control characters and bidirectional overrides in
 * cells are replaced, so data cannot move the cursor, recolour the screen or reorder text. No
 * trailing newline.
 */
export function renderTable(table: ReportTable, options: TerminalTableOptions = {}): string {
  const align = resolveAlignments(table);
  const gap = " ".repeat(options.gap ?? 2);
  const header = table.columns.map(sanitize);
  const rows = table.rows.map((row) => row.map(sanitize));
  const widths = fitWidths(
    header.map((title, column) =>
      Math.max(displayWidth(title), ...rows.map((row) => displayWidth(row[column]!))),
    ),
    options.maxWidth ?? Infinity,
    gap.length,
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => pad(truncate(cell, widths[column]!), widths[column]!, align[column]!))
      .join(gap)
      .trimEnd();
  const rule = widths.map((width) => "-".repeat(width)).join(gap);
  const style = (code: string, text: string) =>
    options.color === true ? `${code}${text}${ANSI.reset}` : text;
  return [style(ANSI.bold, line(header)), style(ANSI.dim, rule), ...rows.map(line)].join("\n");
}

/** Shrinks the widest columns one cell at a time until the table fits, or nothing can shrink. */
function fitWidths(natural: readonly number[], maxWidth: number, gap: number): number[] {
  const widths = [...natural];
  const total = () => widths.reduce((sum, width) => sum + width, 0) + gap * Math.max(0, widths.length - 1);
  while (total() > maxWidth) {
    let widest = -1;
    widths.forEach((width, column) => {
      if (width > MIN_COLUMN_WIDTH && (widest < 0 || width > widths[widest]!)) widest = column;
    });
    if (widest < 0) break;
    widths[widest]! -= 1;
  }
  return widths;
}

const segmenter = new Intl.Segmenter("en", { granularity: "grapheme" });
// C0 and C1 controls (ESC starts ANSI sequences), and the bidirectional embeddings, overrides and
// isolates that can make a terminal show text in another order than it is stored.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
// East Asian wide and fullwidth ranges: Hangul Jamo, CJK symbols and ideographs, Hiragana,
// Katakana, Hangul syllables, compatibility ideographs, fullwidth forms, and planes 2-3.
const WIDE =
  /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{20000}-\u{3fffd}]/u;
const EMOJI = /\p{Emoji_Presentation}|\ufe0f/u;
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\u200b-\u200d\ufeff]+$/u;

/** Replaces whitespace controls with a space and other unsafe characters with U+FFFD. */
export function sanitize(cell: string): string {
  return cell.replace(UNSAFE_CHARS, (char) => (/[\t\n\r]/.test(char) ? " " : "\ufffd"));
}

/** Terminal cells one grapheme takes: 0 for combining marks, 2 for wide characters and emoji. */
function graphemeWidth(grapheme: string): number {
  if (ZERO_WIDTH.test(grapheme)) return 0;
  return WIDE.test(grapheme) || EMOJI.test(grapheme) ? 2 : 1;
}

/** The number of terminal cells a string takes (an approximation of wcwidth over graphemes). */
export function displayWidth(text: string): number {
  let width = 0;
  for (const { segment } of segmenter.segment(text)) width += graphemeWidth(segment);
  return width;
}

function truncate(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  let out = "";
  let used = 0;
  for (const { segment } of segmenter.segment(text)) {
    const next = graphemeWidth(segment);
    if (used + next > width - 1) break;
    out += segment;
    used += next;
  }
  return out + ELLIPSIS;
}

function pad(text: string, width: number, align: ColumnAlign): string {
  const room = Math.max(0, width - displayWidth(text));
  if (align === "right") return " ".repeat(room) + text;
  if (align === "center") return " ".repeat(Math.floor(room / 2)) + text + " ".repeat(Math.ceil(room / 2));
  return text + " ".repeat(room);
}
