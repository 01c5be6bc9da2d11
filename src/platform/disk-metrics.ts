import { Gauge } from "prom-client";
import type { DiskUsage } from "./disk-usage.js";
import type { MetricsRegistry } from "./metrics.js";

/** The gauges of {@link registerDiskMetrics}, by the field of {@link DiskUsage} each one shows. */
export const DISK_METRICS = {
  databaseBytes: {
    name: "opsguard_database_bytes",
    help: "Size of the SQLite database file, without its WAL.",
  },
  walBytes: {
    name: "opsguard_database_wal_bytes",
    help: "Size of the database's write-ahead log (-wal file); SQLite reuses it after each checkpoint but does not shrink it, so it stays at its largest size until opsguard restarts.",
  },
  volumeFreeBytes: {
    name: "opsguard_data_volume_free_bytes",
    help: "Bytes opsguard may still write on the file system that holds its database (blocks reserved for root left out).",
  },
  volumeSizeBytes: {
    name: "opsguard_data_volume_size_bytes",
    help: "Size of the file system that holds the database.",
  },
} as const satisfies Record<keyof DiskUsage, { name: string; help: string }>;

/** Scrapes come in bursts of one per gauge: one reading serves all four for this long. */
const READING_TTL_MS = 1_000;

/**
 * Registers the database and data-volume gauges, read at scrape time from `read` (a few `stat`
 * calls: `readDiskUsage`). Prometheus cannot see these itself: node_exporter, where there is
 * one, knows the volume but not which of its files are opsguard's. A value that cannot be read
 * leaves its gauge without a sample rather than at a false 0.
 */
export function registerDiskMetrics(registry: MetricsRegistry, read: () => DiskUsage): void {
  let cache: { at: number; usage: DiskUsage } | undefined;
  const reading = (): DiskUsage => {
    const now = performance.now();
    if (!cache || now - cache.at > READING_TTL_MS) cache = { at: now, usage: read() };
    return cache.usage;
  };
  for (const [field, { name, help }] of Object.entries(DISK_METRICS) as [
    keyof DiskUsage,
    { name: string; help: string },
  ][]) {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const value = reading()[field];
        this.reset();
        if (value !== null) this.set(value);
      },
    });
  }
}
