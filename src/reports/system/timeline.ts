import type { SystemSample } from "./load.js";

/** One bucket of the timeline: the samples taken from `at` for the bucket's width. */
export interface TimelinePoint {
  /** Start of the bucket, ISO 8601. */
  at: string;
  /** Mean CPU per second (1 = one core). */
  cpuCoreShare: number | null;
  /** Largest RSS and heap used in the bucket. */
  rssBytes: number;
  heapUsedBytes: number;
  /** Worst event-loop delay p99 in the bucket. */
  eventLoopDelayP99Ms: number | null;
  /** Share of the bucket's time spent in GC. */
  gcShare: number | null;
  /** Last reading of the bucket. */
  databaseBytes: number | null;
  walBytes: number | null;
  volumeFreeBytes: number | null;
  /** Most operations open at once. */
  openOperations: number;
}

/** Bucket widths to choose from: round numbers a chart's axis reads well. */
const WIDTHS_MS = [1, 5, 15, 30, 60, 180, 360, 720, 1440].map((minutes) => minutes * 60_000);

/** The narrowest bucket width that keeps `span` within `maxPoints` buckets. */
export function bucketWidth(span: number, maxPoints: number): number {
  return WIDTHS_MS.find((width) => span / width <= maxPoints) ?? Math.ceil(span / maxPoints);
}

const maxOf = (values: (number | null)[]): number | null =>
  values.reduce<number | null>((m, v) => (v === null ? m : m === null ? v : Math.max(m, v)), null);

/**
 * The samples folded into at most `maxPoints` buckets of a round width from `start`, for the
 * report's charts; buckets without samples are left out (the process was down).
 */
export function buildTimeline(
  samples: readonly SystemSample[],
  start: number,
  end: number,
  maxPoints = 200,
): TimelinePoint[] {
  const width = bucketWidth(Math.max(1, end - start), maxPoints);
  const buckets = new Map<number, SystemSample[]>();
  for (const sample of samples) {
    const key = start + Math.floor((sample.at - start) / width) * width;
    const bucket = buckets.get(key);
    if (bucket) bucket.push(sample);
    else buckets.set(key, [sample]);
  }
  return [...buckets].map(([at, bucket]) => {
    const interval = bucket.reduce((sum, s) => sum + s.intervalMs, 0);
    const cpu = bucket.reduce((sum, s) => sum + s.cpuUserMs + s.cpuSystemMs, 0);
    const gc = bucket.reduce((sum, s) => sum + s.gcMs, 0);
    const last = bucket.at(-1)!;
    return {
      at: new Date(at).toISOString(),
      cpuCoreShare: interval > 0 ? cpu / interval : null,
      rssBytes: Math.max(...bucket.map((s) => s.rssBytes)),
      heapUsedBytes: Math.max(...bucket.map((s) => s.heapUsedBytes)),
      eventLoopDelayP99Ms: maxOf(bucket.map((s) => s.eventLoopDelayP99Ms)),
      gcShare: interval > 0 ? gc / interval : null,
      databaseBytes: last.databaseBytes,
      walBytes: last.walBytes,
      volumeFreeBytes: last.volumeFreeBytes,
      openOperations: Math.max(...bucket.map((s) => s.openOperations)),
    };
  });
}
