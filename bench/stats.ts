/** The value below which `p` (0..100) percent of `values` lie, by linear interpolation. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export const median = (values: readonly number[]): number => percentile(values, 50);

/** Median, 95th percentile and maximum of repeated timings, rounded for reading. */
export interface Spread {
  median: number;
  p95: number;
  max: number;
}

export function spread(values: readonly number[], digits = 3): Spread {
  return {
    median: round(median(values), digits),
    p95: round(percentile(values, 95), digits),
    max: round(Math.max(...values), digits),
  };
}

/**
 * Theil–Sen slope of `y` over `x`: the median of the slopes between every pair of points. Unlike a
 * least-squares fit it is not thrown by a few outliers, such as the sawtooth of a garbage-collected
 * heap. 0 with fewer than two points.
 */
export function slope(points: readonly { x: number; y: number }[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      const dx = points[j]!.x - points[i]!.x;
      if (dx !== 0) slopes.push((points[j]!.y - points[i]!.y) / dx);
    }
  }
  return slopes.length === 0 ? 0 : median(slopes);
}

export function round(value: number, digits = 3): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
