import { monitorEventLoopDelay, PerformanceObserver, type ELDHistogram } from "node:perf_hooks";
import type { Statement } from "better-sqlite3";
import type { Clock } from "../../platform/clock.js";
import type { Db } from "../../platform/db.js";
import { readDiskUsage, type DiskUsage } from "../../platform/disk-usage.js";
import type { Logger } from "../../platform/logger.js";
import type { SystemSample } from "./load.js";

/** How often the sampler deletes samples past their retention: at most once an hour. */
export const PRUNE_INTERVAL_MS = 3_600_000;
/**
 * Samples deleted at most per prune: a lowered retention is caught up over a few hours rather
 * than in one delete that holds the event loop (a day of samples at the default interval).
 */
export const PRUNE_BATCH = 1_440;
/** Resolution of the event-loop delay histogram; Node counts it in each reading, so it is taken off. */
const DELAY_RESOLUTION_MS = 10;
/** A failure to sample is logged at most this often (the log line is counted by level anyway). */
const FAILURE_LOG_INTERVAL_MS = 3_600_000;

/** What the sampler works with. */
export interface SystemSamplerOptions {
  /** The service's connection; each sample is one INSERT on it. */
  db: Db;
  /** The database file: its size, its WAL's, and the free space of its volume are sampled. */
  databasePath: string;
  clock: Clock;
  logger: Logger;
  /** Operations pending or open now (an O(1) read of the ledger, not a query). */
  openOperations: () => number;
  /** `reports.system`: the interval between samples and how many days they are kept. */
  settings: { sampleIntervalSec: number; retentionDays: number };
  /** Reads the database and volume sizes. @default readDiskUsage */
  readDisk?: (databasePath: string) => DiskUsage;
}

/**
 * Records a sample of the process and the host into `system_samples` every
 * `reports.system.sampleIntervalSec` (60 s by default) for the system report: CPU time, RSS and
 * heap, event-loop delay p99 and maximum (perf_hooks `monitorEventLoopDelay`, reset at each
 * sample), GC time (PerformanceObserver `gc` entries), database, WAL and volume sizes, open
 * operations. Each sample is one INSERT of one row; samples older than
 * `reports.system.retentionDays` are deleted at most hourly. Nothing is measured or written
 * while stopped, and the timer never keeps the process alive.
 */
export class SystemSampler {
  private timer: NodeJS.Timeout | undefined;
  private delay: ELDHistogram | undefined;
  private gcObserver: PerformanceObserver | undefined;
  private gc = { ms: 0, count: 0 };
  private cpu = process.cpuUsage();
  /** performance.now() of the last sample (or the start): the wall clock may jump, this may not. */
  private lastMark = 0;
  private lastPruneAt = Number.NEGATIVE_INFINITY;
  private lastFailureLogAt = Number.NEGATIVE_INFINITY;
  private readonly insert: Statement;
  private readonly prune: Statement;

  constructor(private readonly options: SystemSamplerOptions) {
    this.insert = options.db.prepare(
      `INSERT INTO system_samples (at, interval_ms, cpu_user_ms, cpu_system_ms, rss_bytes, heap_used_bytes,
         heap_total_bytes, event_loop_delay_p99_ms, event_loop_delay_max_ms, gc_ms, gc_count, database_bytes,
         wal_bytes, volume_free_bytes, volume_size_bytes, open_operations)
       VALUES (@at, @intervalMs, @cpuUserMs, @cpuSystemMs, @rssBytes, @heapUsedBytes, @heapTotalBytes,
         @eventLoopDelayP99Ms, @eventLoopDelayMaxMs, @gcMs, @gcCount, @databaseBytes, @walBytes,
         @volumeFreeBytes, @volumeSizeBytes, @openOperations)`,
    );
    this.prune = options.db.prepare(
      "DELETE FROM system_samples WHERE id IN (SELECT id FROM system_samples WHERE at < ? ORDER BY at LIMIT ?)",
    );
  }

  /** Whether it samples: between {@link start} and {@link stop}. */
  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Starts measuring; the first sample is taken one interval from now. Calling it again does nothing. */
  start(): void {
    if (this.timer) return;
    this.delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
    this.delay.enable();
    this.gc = { ms: 0, count: 0 };
    this.gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        this.gc.ms += entry.duration;
        this.gc.count++;
      }
    });
    this.gcObserver.observe({ entryTypes: ["gc"] });
    this.cpu = process.cpuUsage();
    this.lastMark = performance.now();
    this.timer = setInterval(() => this.sample(), this.options.settings.sampleIntervalSec * 1000);
    this.timer.unref();
  }

  /** Stops the timer and the measurements; no sample is taken after this. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.delay?.disable();
    this.delay = undefined;
    this.gcObserver?.disconnect();
    this.gcObserver = undefined;
  }

  /**
   * Takes a sample now and records it (the timer calls this), then prunes when an hour has passed
   * since the last prune. Returns the sample, or undefined when stopped or when it could not be
   * recorded: a failure is logged (at most hourly), never thrown.
   */
  sample(): SystemSample | undefined {
    if (!this.timer || !this.delay) return undefined;
    const { clock, logger } = this.options;
    try {
      const sample = this.measure(this.delay);
      this.insert.run(sample);
      if (sample.at - this.lastPruneAt >= PRUNE_INTERVAL_MS) {
        this.lastPruneAt = sample.at;
        const cutoff = sample.at - this.options.settings.retentionDays * 86_400_000;
        this.prune.run(cutoff, PRUNE_BATCH);
      }
      return sample;
    } catch (error) {
      const now = clock.now();
      if (now - this.lastFailureLogAt >= FAILURE_LOG_INTERVAL_MS) {
        this.lastFailureLogAt = now;
        logger.warn(`could not record a system sample: ${(error as Error).message}`, {
          event: "system.sample_failed",
          err: error,
        });
      }
      return undefined;
    }
  }

  /** Reads every measure and resets those that cover an interval. */
  private measure(delay: ELDHistogram): SystemSample {
    const { clock, databasePath, openOperations, readDisk = readDiskUsage } = this.options;
    const mark = performance.now();
    const cpu = process.cpuUsage(this.cpu);
    this.cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    // An interval without a single timer turn (the first moments after start) has no delay to report.
    const delayMs = (ns: number): number | null =>
      delay.count === 0 ? null : Math.max(0, ns / 1e6 - DELAY_RESOLUTION_MS);
    const eventLoopDelayP99Ms = delayMs(delay.percentile(99));
    const eventLoopDelayMaxMs = delayMs(delay.max);
    delay.reset();
    const gc = this.gc;
    this.gc = { ms: 0, count: 0 };
    const disk = readDisk(databasePath);
    const sample: SystemSample = {
      at: clock.now(),
      // Integer columns of a STRICT table refuse fractions.
      intervalMs: Math.round(mark - this.lastMark),
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      heapTotalBytes: memory.heapTotal,
      eventLoopDelayP99Ms,
      eventLoopDelayMaxMs,
      gcMs: gc.ms,
      gcCount: gc.count,
      databaseBytes: disk.databaseBytes,
      walBytes: disk.walBytes,
      volumeFreeBytes: disk.volumeFreeBytes,
      volumeSizeBytes: disk.volumeSizeBytes,
      openOperations: Math.round(openOperations()),
    };
    this.lastMark = mark;
    return sample;
  }
}
