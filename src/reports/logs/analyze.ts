import {
  LINE_PROBLEMS,
  LOG_LEVELS,
  compareText,
  orderLevels,
  type LineProblem,
  type LogEntry,
  type LogLine,
} from "./log-line.js";
import type { Issue, LogReport } from "./report.js";
import { buildTemplateInput, type TemplateFields } from "./template-input.js";
import { TemplateMiner, type TemplateMinerOptions } from "./templates.js";
import { DEFAULT_TREND_THRESHOLDS, findTrends, roundTo4, type CountPair } from "./trends.js";

/** What {@link analyzeLogs} reads: entries of one window, in time order, from any source. */
export type LogEntries = Iterable<LogEntry> | AsyncIterable<LogEntry>;

/** Options of {@link analyzeLogs}. */
export interface AnalyzeOptions {
  /** Start of the current window, epoch ms, inclusive; the previous window ends here. */
  from: number;
  /** End of the current window, epoch ms, exclusive. */
  to: number;
  /** Least ratio of counts for a `rising` or `falling` trend. @default 2 */
  trendFactor?: number;
  /** Least count (in the larger window) for a `rising` or `falling` trend. @default 5 */
  trendMinCount?: number;
  /** Events listed in `topEvents`. @default 10 */
  topEvents?: number;
  /** Entries in each list of `issues`. @default 10 */
  topIssues?: number;
  /** Entries in each list of `trends`. @default 20 */
  maxTrends?: number;
  /** Distinct events counted; lines of further events count under `(other events)`. @default 500 */
  maxEvents?: number;
  /** Clustering tunables; `maxClusters` bounds the memory of a report. */
  templates?: TemplateMinerOptions;
  /** Fields clustered with `msg`. @default TEMPLATE_FIELDS */
  templateFields?: TemplateFields;
}

/** The event lines count under once `maxEvents` distinct events were seen. */
export const OTHER_EVENTS = "(other events)";

/** Characters of a sample kept in the report: enough to recognise the line, bounded for a page. */
const MAX_SAMPLE_CHARS = 500;

interface Tally {
  count: number;
  levels: Map<string, number>;
  firstMs: number;
  lastMs: number;
  sample?: { text: string; traceId?: string };
}

interface WindowTally {
  from: number;
  to: number;
  lines: number;
  outsideWindow: number;
  unparseable: Record<LineProblem, number>;
  levels: Map<string, number>;
  events: Map<string, Tally>;
  templates: Map<number, Tally>;
}

/**
 * Reads the entries of the current window and of the previous one (same length, ending at
 * `from`) and reports counts, rates, top events, the commonest errors and warnings by event and by
 * template, and what rose, fell, appeared or stopped. Templates are mined over both windows with
 * one miner, the previous window first, so a template means the same on both sides of a trend.
 * Unparseable entries are counted, entries outside a window set aside; nothing in the input throws.
 */
export async function analyzeLogs(
  current: LogEntries,
  previous: LogEntries,
  options: AnalyzeOptions,
): Promise<LogReport> {
  const { from, to } = options;
  if (!(Number.isFinite(from) && Number.isFinite(to) && to > from)) {
    throw new RangeError(`the report window must end after it starts (from ${from}, to ${to})`);
  }
  const miner = new TemplateMiner(options.templates);
  const tallyOf = (lo: number, hi: number): WindowTally => ({
    from: lo,
    to: hi,
    lines: 0,
    outsideWindow: 0,
    unparseable: Object.fromEntries(LINE_PROBLEMS.map((p) => [p, 0])) as Record<LineProblem, number>,
    levels: new Map(),
    events: new Map(),
    templates: new Map(),
  });
  const before = tallyOf(from - (to - from), from);
  const now = tallyOf(from, to);
  const maxEvents = options.maxEvents ?? 500;
  for (const [entries, tally] of [
    [previous, before],
    [current, now],
  ] as const) {
    for await (const entry of entries) {
      if (entry.kind === "unparseable") tally.unparseable[entry.problem]++;
      else if (entry.line.timeMs < tally.from || entry.line.timeMs >= tally.to) tally.outsideWindow++;
      else countLine(tally, entry.line, miner, options.templateFields, maxEvents);
    }
  }
  return buildReport(now, before, miner, options);
}

function countLine(
  tally: WindowTally,
  line: LogLine,
  miner: TemplateMiner,
  fields: TemplateFields | undefined,
  maxEvents: number,
): void {
  tally.lines++;
  bump(tally.levels, line.level);
  const input = buildTemplateInput(line, fields);
  const issue = line.level === "error" || line.level === "warn";
  const sample = issue
    ? { text: input.text.slice(0, MAX_SAMPLE_CHARS), traceId: stringOrUndefined(line.fields.trace_id) }
    : undefined;
  const event = tally.events.has(line.event) || tally.events.size < maxEvents ? line.event : OTHER_EVENTS;
  addTo(tally.events, event, line, sample);
  const id = miner.add(input);
  if (id !== undefined) addTo(tally.templates, id, line, sample);
}

function addTo<K>(map: Map<K, Tally>, key: K, line: LogLine, sample: Tally["sample"]): void {
  let tally = map.get(key);
  if (!tally) {
    tally = { count: 0, levels: new Map(), firstMs: line.timeMs, lastMs: line.timeMs };
    map.set(key, tally);
  }
  tally.count++;
  bump(tally.levels, line.level);
  if (!sample) return;
  // An issue's first and last seen are of its errors and warnings, not of the event's other lines.
  if (!tally.sample) {
    tally.sample = sample;
    tally.firstMs = line.timeMs;
    tally.lastMs = line.timeMs;
  } else {
    tally.firstMs = Math.min(tally.firstMs, line.timeMs);
    tally.lastMs = Math.max(tally.lastMs, line.timeMs);
  }
}

function buildReport(
  now: WindowTally,
  before: WindowTally,
  miner: TemplateMiner,
  options: AnalyzeOptions,
): LogReport {
  const minutes = (now.to - now.from) / 60_000;
  const share = (count: number): number => (now.lines === 0 ? 0 : roundTo4(count / now.lines));
  const perMinute = (count: number): number => roundTo4(count / minutes);
  const levelNames = [...new Set([...LOG_LEVELS, ...Object.keys(orderLevels(now.levels))])];
  const thresholds = {
    factor: options.trendFactor ?? DEFAULT_TREND_THRESHOLDS.factor,
    minCount: options.trendMinCount ?? DEFAULT_TREND_THRESHOLDS.minCount,
  };
  const topIssues = options.topIssues ?? 10;
  const maxTrends = options.maxTrends ?? 20;
  const issuesOf = <K>(
    map: Map<K, Tally>,
    describe: (key: K) => Pick<Issue, "event" | "template" | "templateId">,
  ) =>
    [...map]
      .filter(([, tally]) => tally.sample)
      .map(([key, tally]) => toIssue(describe(key), tally))
      .sort(
        (a, b) =>
          b.count - a.count ||
          b.errors - a.errors ||
          compareText(a.event, b.event) ||
          compareText(a.template ?? "", b.template ?? "") ||
          (a.templateId ?? 0) - (b.templateId ?? 0),
      )
      .slice(0, topIssues);
  const templateOf = (id: number) => ({
    event: miner.event(id),
    template: miner.template(id),
    templateId: id,
  });

  return {
    window: { from: iso(now.from), to: iso(now.to), minutes },
    previousWindow: {
      from: iso(before.from),
      to: iso(before.to),
      minutes,
      lines: before.lines,
      errors: before.levels.get("error") ?? 0,
      warnings: before.levels.get("warn") ?? 0,
      unparseable: sum(Object.values(before.unparseable)),
    },
    lines: now.lines,
    outsideWindow: now.outsideWindow,
    unparseable: { total: sum(Object.values(now.unparseable)), byProblem: now.unparseable },
    levels: levelNames.map((level) => ({
      level,
      count: now.levels.get(level) ?? 0,
      share: share(now.levels.get(level) ?? 0),
    })),
    rates: {
      errorsPerMinute: perMinute(now.levels.get("error") ?? 0),
      warningsPerMinute: perMinute(now.levels.get("warn") ?? 0),
      previousErrorsPerMinute: perMinute(before.levels.get("error") ?? 0),
      previousWarningsPerMinute: perMinute(before.levels.get("warn") ?? 0),
    },
    topEvents: [...now.events]
      .map(([event, tally]) => ({
        event,
        count: tally.count,
        share: share(tally.count),
        levels: orderLevels(tally.levels),
      }))
      .sort((a, b) => b.count - a.count || compareText(a.event, b.event))
      .slice(0, options.topEvents ?? 10),
    issues: {
      byEvent: issuesOf(now.events, (event) => ({ event })),
      byTemplate: issuesOf(now.templates, templateOf),
    },
    trends: {
      events: findTrends(
        pairs(now.events, before.events, (event) => ({ event })),
        minutes,
        thresholds,
        maxTrends,
      ),
      templates: findTrends(
        pairs(now.templates, before.templates, templateOf),
        minutes,
        thresholds,
        maxTrends,
      ),
    },
    templates: { clusters: miner.size, unclustered: miner.unclustered },
  };
}

function toIssue(key: Pick<Issue, "event" | "template" | "templateId">, tally: Tally): Issue {
  const errors = tally.levels.get("error") ?? 0;
  const warnings = tally.levels.get("warn") ?? 0;
  const sample = tally.sample as NonNullable<Tally["sample"]>;
  return {
    ...key,
    count: errors + warnings,
    errors,
    warnings,
    firstSeen: iso(tally.firstMs),
    lastSeen: iso(tally.lastMs),
    sample: sample.text,
    ...(sample.traceId === undefined ? {} : { sampleTraceId: sample.traceId }),
  };
}

/** Every key of either window with its count in both. */
function* pairs<K>(
  now: Map<K, Tally>,
  before: Map<K, Tally>,
  describe: (key: K) => { event: string; template?: string },
): Generator<CountPair> {
  for (const key of new Set([...now.keys(), ...before.keys()])) {
    const { event, template } = describe(key);
    yield { event, template, current: now.get(key)?.count ?? 0, previous: before.get(key)?.count ?? 0 };
  }
}

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}
