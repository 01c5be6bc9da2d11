import { compareText } from "./log-line.js";

/**
 * How a count moved between two windows of equal length: `new` (none before), `rising` (up by
 * `factor` or more), `falling` (down by `factor` or more), `gone` (none now). Steady counts are
 * no trend.
 */
export const TREND_KINDS = ["new", "rising", "falling", "gone"] as const;
export type TrendKind = (typeof TREND_KINDS)[number];

/** Thresholds of {@link classifyTrend}. */
export interface TrendThresholds {
  /** Least ratio between the two counts for `rising` or `falling`. @default 2 */
  factor: number;
  /** Least count, in the larger of the two windows, for `rising` or `falling`: 1 → 2 is noise. @default 5 */
  minCount: number;
}

/** The defaults of {@link TrendThresholds}. */
export const DEFAULT_TREND_THRESHOLDS: TrendThresholds = { factor: 2, minCount: 5 };

/** One event or template whose count moved. */
export interface Trend {
  kind: TrendKind;
  event: string;
  /** Set on template trends. */
  template?: string;
  current: number;
  previous: number;
  currentPerMinute: number;
  previousPerMinute: number;
  /** `current / previous`, or `null` when either is 0 (`new`, `gone`). */
  factor: number | null;
}

/**
 * The trend of a count against the previous window of the same length (so counts compare as
 * rates), or `undefined` when it is steady. A new or gone count needs no minimum: anything that
 * appears or stops is news.
 */
export function classifyTrend(
  current: number,
  previous: number,
  thresholds: TrendThresholds = DEFAULT_TREND_THRESHOLDS,
): TrendKind | undefined {
  if (current === 0 && previous === 0) return undefined;
  if (previous === 0) return "new";
  if (current === 0) return "gone";
  if (current >= thresholds.minCount && current >= previous * thresholds.factor) return "rising";
  if (previous >= thresholds.minCount && previous >= current * thresholds.factor) return "falling";
  return undefined;
}

/** A count in both windows, keyed by what it counts. */
export interface CountPair {
  event: string;
  template?: string;
  current: number;
  previous: number;
}

/**
 * The trends among `pairs`, most pressing first: new, rising, falling, gone; within a kind, the
 * largest change first, then by event and template. At most `limit` are kept.
 */
export function findTrends(
  pairs: Iterable<CountPair>,
  minutes: number,
  thresholds: TrendThresholds,
  limit: number,
): Trend[] {
  const trends: Trend[] = [];
  for (const pair of pairs) {
    const kind = classifyTrend(pair.current, pair.previous, thresholds);
    if (!kind) continue;
    trends.push({
      kind,
      event: pair.event,
      ...(pair.template === undefined ? {} : { template: pair.template }),
      current: pair.current,
      previous: pair.previous,
      currentPerMinute: roundTo4(pair.current / minutes),
      previousPerMinute: roundTo4(pair.previous / minutes),
      factor: pair.current > 0 && pair.previous > 0 ? roundTo4(pair.current / pair.previous) : null,
    });
  }
  return trends
    .sort(
      (a, b) =>
        TREND_KINDS.indexOf(a.kind) - TREND_KINDS.indexOf(b.kind) ||
        Math.abs(b.current - b.previous) - Math.abs(a.current - a.previous) ||
        compareText(a.event, b.event) ||
        compareText(a.template ?? "", b.template ?? ""),
    )
    .slice(0, limit);
}

/** Rounds to 4 decimals, so shares and rates read (and compare in tests) without float noise. */
export function roundTo4(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
