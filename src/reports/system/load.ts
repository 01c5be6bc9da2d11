import Database from "better-sqlite3";

/**
 * One row of `system_samples`: the process and the host at `at`. CPU, event-loop delay and GC
 * cover the `intervalMs` before `at` (since the previous sample, or since the sampler started);
 * the rest is a reading at `at`. Sizes are null where they could not be read.
 */
export interface SystemSample {
  /** Milliseconds since the epoch. */
  at: number;
  intervalMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** Null when the event loop recorded no delay in the interval. */
  eventLoopDelayP99Ms: number | null;
  eventLoopDelayMaxMs: number | null;
  gcMs: number;
  gcCount: number;
  databaseBytes: number | null;
  walBytes: number | null;
  volumeFreeBytes: number | null;
  volumeSizeBytes: number | null;
  /** Operations pending or open. */
  openOperations: number;
}

/** The columns of `system_samples` as {@link SystemSample} fields, in table order. */
export const SAMPLE_COLUMNS = `at, interval_ms AS intervalMs, cpu_user_ms AS cpuUserMs, cpu_system_ms AS cpuSystemMs,
  rss_bytes AS rssBytes, heap_used_bytes AS heapUsedBytes, heap_total_bytes AS heapTotalBytes,
  event_loop_delay_p99_ms AS eventLoopDelayP99Ms, event_loop_delay_max_ms AS eventLoopDelayMaxMs,
  gc_ms AS gcMs, gc_count AS gcCount, database_bytes AS databaseBytes, wal_bytes AS walBytes,
  volume_free_bytes AS volumeFreeBytes, volume_size_bytes AS volumeSizeBytes, open_operations AS openOperations`;

/**
 * The samples taken from `from` (included) to `to` (excluded), ms since the epoch, in time order,
 * read on a read-only connection of its own. A worker task (maintenance/database-checks.ts): 35
 * days are 50,000 rows, too many to read on the event loop. Integers come back as numbers: every
 * column fits in 53 bits.
 */
export function loadSystemSamples(path: string, from: number, to: number): SystemSample[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(`SELECT ${SAMPLE_COLUMNS} FROM system_samples WHERE at >= ? AND at < ? ORDER BY at, id`)
      .all(from, to) as SystemSample[];
  } finally {
    db.close();
  }
}

/** When the oldest sample kept was taken (ms since the epoch), for a timeframe of "all"; read-only. */
export function firstSampleAt(path: string): number | undefined {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare("SELECT MIN(at) AS at FROM system_samples").get() as { at: number | null };
    return row.at ?? undefined;
  } finally {
    db.close();
  }
}
