import type { LineProblem } from "./log-line.js";
import type { Trend } from "./trends.js";

/** The log report's shape: plain values, ready for JSON, sorted deterministically by `analyzeLogs`. */

/** A time window: ISO 8601 bounds, `from` inclusive and `to` exclusive. */
export interface ReportWindow {
  from: string;
  to: string;
  minutes: number;
}

/** Lines of one level. `share` is of all lines of the window, 0..1. */
export interface LevelCount {
  level: string;
  count: number;
  share: number;
}

/** One event of the current window and its lines by level. */
export interface EventCount {
  event: string;
  count: number;
  share: number;
  levels: Record<string, number>;
}

/** Errors and warnings of one event, or of one template (then `template` and `templateId` are set). */
export interface Issue {
  event: string;
  template?: string;
  templateId?: number;
  count: number;
  errors: number;
  warnings: number;
  firstSeen: string;
  lastSeen: string;
  /** The first such line's `msg` with its codes and error (see `buildTemplateInput`). */
  sample: string;
  /** That line's `trace_id`, to open it in the trace store. */
  sampleTraceId?: string;
}

/** The log report of a window against the previous window of the same length. */
export interface LogReport {
  window: ReportWindow;
  previousWindow: ReportWindow & { lines: number; errors: number; warnings: number; unparseable: number };
  lines: number;
  /** Entries a source gave outside the window; not counted anywhere else. */
  outsideWindow: number;
  unparseable: { total: number; byProblem: Record<LineProblem, number> };
  /** error, warn, info, debug always (0 included), then any other level by name. */
  levels: LevelCount[];
  rates: {
    errorsPerMinute: number;
    warningsPerMinute: number;
    previousErrorsPerMinute: number;
    previousWarningsPerMinute: number;
  };
  topEvents: EventCount[];
  issues: { byEvent: Issue[]; byTemplate: Issue[] };
  trends: { events: Trend[]; templates: Trend[] };
  templates: { clusters: number; unclustered: number };
}
