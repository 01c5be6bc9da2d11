/** Milliseconds in a day: trends are per day. */
export const DAY_MS = 86_400_000;

/** A point of a series: when (ms since the epoch) and the value. */
export interface Point {
  at: number;
  value: number;
}

/** The least-squares line through a series. */
export interface Trend {
  /** Change per day, in the series' unit. */
  slopePerDay: number;
  /**
   * Share of the variance the line explains, 0..1: near 1 is a steady climb or fall, near 0 is
   * noise around a level. Null for a constant series (nothing to explain).
   */
  r2: number | null;
  /** Points fitted, and the hours from the first to the last. */
  samples: number;
  spanHours: number;
}

/** A series over the window: its range, mean and last value, and its trend. */
export interface SeriesSummary {
  min: number;
  mean: number;
  max: number;
  last: number;
  /** Null with fewer than two points, or all at one instant. */
  trend: Trend | null;
}

/**
 * The least-squares line through `points` (time in days). Sums are taken about the means, so
 * values in the billions (bytes) squared over tens of thousands of points keep their precision.
 */
export function fitTrend(points: readonly Point[]): Trend | null {
  const n = points.length;
  if (n < 2) return null;
  const first = points[0]!.at;
  let meanX = 0;
  let meanY = 0;
  for (const p of points) {
    meanX += (p.at - first) / DAY_MS;
    meanY += p.value;
  }
  meanX /= n;
  meanY /= n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const p of points) {
    const dx = (p.at - first) / DAY_MS - meanX;
    const dy = p.value - meanY;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) return null;
  const last = points[n - 1]!.at;
  return {
    slopePerDay: sxy / sxx,
    r2: syy === 0 ? null : (sxy * sxy) / (sxx * syy),
    samples: n,
    spanHours: (last - first) / 3_600_000,
  };
}

/** Min, mean, max, last and trend of `points` (in time order); null when there are none. */
export function summarize(points: readonly Point[]): SeriesSummary | null {
  if (points.length === 0) return null;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const { value } of points) {
    min = Math.min(min, value);
    max = Math.max(max, value);
    sum += value;
  }
  return { min, mean: sum / points.length, max, last: points.at(-1)!.value, trend: fitTrend(points) };
}

/** The points of the samples where `pick` gives a number (a null is a value that was not read). */
export function pointsOf<T extends { at: number }>(
  samples: readonly T[],
  pick: (s: T) => number | null,
): Point[] {
  const points: Point[] = [];
  for (const sample of samples) {
    const value = pick(sample);
    if (value !== null && Number.isFinite(value)) points.push({ at: sample.at, value });
  }
  return points;
}

/** Share of `points` whose value reaches `threshold`; null when there are none. */
export function shareAtLeast(points: readonly Point[], threshold: number): number | null {
  if (points.length === 0) return null;
  return points.filter((p) => reaches(p.value, threshold)).length / points.length;
}

/**
 * `value` ≥ `threshold`, forgiving the last bits of a float: a rule's threshold is met when the
 * value is on it, even when arithmetic left it a hair below.
 */
export function reaches(value: number, threshold: number): boolean {
  return value >= threshold - 1e-9 * Math.abs(threshold);
}

/** Bytes for people: `64.0 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${bytes < 0 ? "-" : ""}${unit === 0 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}
