import type { FileHandle } from "node:fs/promises";
import { open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseLogLine, type LogEntry, type LogSource } from "./log-line.js";

/**
 * Reads the service's rotated log files (`<dir>/opsguard-YYYY-MM-DD.log`, then `.1.log`, `.2.log`…
 * as winston-daily-rotate-file names them) for a time window, line by line.
 */

const DAY_MS = 86_400_000;

/**
 * How much later than its timestamp a line may reach its file. The rotator picks the file by the
 * date at write time, after winston stamped the line: a line stamped 23:59:59.999 can open the next
 * day's file. So a window reads the next day's first file too, up to its first line this late.
 */
export const LATE_WRITE_MS = 60_000;

/** Options of {@link readLogFiles}. */
export interface FileSourceOptions {
  /** The log folder (`logging.file.dir`, resolved against the data folder). */
  dir: string;
  /** Start of the window, epoch ms, inclusive. */
  from: number;
  /** End of the window, epoch ms, exclusive. */
  to: number;
  /** The file name's prefix. @default "opsguard" */
  prefix?: string;
}

/** What one read of the files met, besides the entries it yielded. */
export interface FileSourceStats {
  /** The folder does not exist (logging to files is off, or nothing was logged yet). */
  folderMissing: boolean;
  /** Names of the files read, in order. */
  files: string[];
  /** Files listed but gone when opened (removed by retention meanwhile). */
  filesVanished: number;
  /** Non-blank lines read. */
  linesRead: number;
  /** Lines outside the window, not yielded (an unparseable line goes by the time of the line before it). */
  outsideWindow: number;
}

/**
 * The entries of `[from, to)` in the rotated files under `dir`, oldest file first. Each file is
 * streamed through node:readline, up to its size when opened (a file still being written is read
 * as it was then). Lines that are not JSON, or have no timestamp, are yielded as `unparseable`
 * when the line before them in the file is in the window (their own time is unknown; lines are
 * appended in time order); a last line without its newline that does not parse is `truncated` (a
 * write under way, or a crash). A missing folder yields nothing and says so in
 * `stats`; any other failure to list or read throws.
 */
export function readLogFiles(options: FileSourceOptions): LogSource<FileSourceStats> {
  const { dir, from, to, prefix = "opsguard" } = options;
  const source = {
    stats: emptyStats(),
    async *[Symbol.asyncIterator](): AsyncGenerator<LogEntry> {
      const stats = emptyStats();
      source.stats = stats;
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (error) {
        if (errorCode(error) === "ENOENT") {
          stats.folderMissing = true;
          return;
        }
        throw new Error(`cannot list the log folder ${dir}: ${(error as Error).message}`, { cause: error });
      }
      for (const { name, day } of listLogFiles(names, from, to, prefix)) {
        let handle: FileHandle;
        try {
          handle = await open(join(dir, name), "r");
        } catch (error) {
          if (errorCode(error) !== "ENOENT") throw error;
          stats.filesVanished++;
          continue;
        }
        stats.files.push(name);
        const outcome = yield* readFile(handle, { from, to, day }, stats);
        // Files are in time order: once one runs past the window, so do all after it.
        if (outcome === "past-window") return;
      }
    },
  };
  return source;
}

/**
 * The names among `names` of log files that may hold lines of `[from, to)`, oldest first: a day's
 * files hold that UTC day's lines only (but see {@link LATE_WRITE_MS}). Other names are ignored.
 */
export function selectLogFiles(
  names: readonly string[],
  from: number,
  to: number,
  prefix = "opsguard",
): string[] {
  return listLogFiles(names, from, to, prefix).map((file) => file.name);
}

interface LogFile {
  name: string;
  /** Start of the file's UTC day, epoch ms. */
  day: number;
  /** 0 for `opsguard-<day>.log`, n for `opsguard-<day>.n.log`. */
  part: number;
}

function listLogFiles(names: readonly string[], from: number, to: number, prefix: string): LogFile[] {
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(`^${escaped}-(\\d{4})-(\\d{2})-(\\d{2})(?:\\.(\\d+))?\\.log$`);
  const files: LogFile[] = [];
  for (const name of names) {
    const match = pattern.exec(name);
    if (!match) continue;
    const [, year, month, date, part] = match;
    const day = Date.UTC(Number(year), Number(month) - 1, Number(date));
    // Date.UTC rolls 2026-02-30 over to March: such a name is no file of ours.
    if (new Date(day).toISOString().slice(0, 10) !== `${year}-${month}-${date}`) continue;
    if (day - LATE_WRITE_MS < to && day + DAY_MS > from) files.push({ name, day, part: Number(part ?? 0) });
  }
  return files.sort((a, b) => a.day - b.day || a.part - b.part);
}

/** Yields the entries of one file; tells whether it ran past the window. Closes the file. */
async function* readFile(
  handle: FileHandle,
  window: { from: number; to: number; day: number },
  stats: FileSourceStats,
): AsyncGenerator<LogEntry, "past-window" | "done"> {
  // An unparseable line goes by the time of the line before it (the day's start for the first).
  const place = { ...window, lastMs: window.day };
  try {
    const { size } = await handle.stat();
    if (size === 0) return "done";
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    const endsWithNewline = last[0] === 0x0a;
    // Read up to the size seen now; lines written meanwhile belong to a later report.
    const bounded = handle.createReadStream({ autoClose: false, encoding: "utf8", start: 0, end: size - 1 });
    const lines = createInterface({ input: bounded, crlfDelay: Infinity });
    try {
      // One line is held back: only the last one may be a torn write.
      let pending: string | undefined;
      for await (const text of lines) {
        if (pending !== undefined) {
          const entry = takeLine(pending, false, place, stats);
          if (entry === "past-window") return "past-window";
          if (entry) yield entry;
        }
        pending = text;
      }
      if (pending !== undefined) {
        const entry = takeLine(pending, !endsWithNewline, place, stats);
        if (entry === "past-window") return "past-window";
        if (entry) yield entry;
      }
      return "done";
    } finally {
      lines.close();
      bounded.destroy();
    }
  } finally {
    await handle.close();
  }
}

function takeLine(
  text: string,
  unterminated: boolean,
  place: { from: number; to: number; lastMs: number },
  stats: FileSourceStats,
): LogEntry | "past-window" | undefined {
  if (text.trim() === "") return undefined;
  stats.linesRead++;
  let entry = parseLogLine(text);
  if (entry.kind === "line") place.lastMs = entry.line.timeMs;
  else if (unterminated && entry.problem === "not_json")
    entry = { kind: "unparseable", problem: "truncated" };
  if (place.lastMs >= place.from && place.lastMs < place.to) return entry;
  stats.outsideWindow++;
  return entry.kind === "line" && place.lastMs >= place.to + LATE_WRITE_MS ? "past-window" : undefined;
}

function emptyStats(): FileSourceStats {
  return { folderMissing: false, files: [], filesVanished: 0, linesRead: 0, outsideWindow: 0 };
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}
