import { Counter, Gauge } from "prom-client";
import type { MetricsRegistry } from "../platform/metrics.js";
import { MAINTENANCE_KINDS, type KindSummary, type MaintenanceKind } from "./runs.js";

/** The metric name prefix of each kind of maintenance run (DESIGN §4). */
export const METRIC_PREFIX: Record<MaintenanceKind, string> = {
  backup: "opsguard_backup",
  drill: "opsguard_restore_drill",
  check: "opsguard_backup_check",
};

const NAMES: Record<MaintenanceKind, string> = {
  backup: "backup",
  drill: "restore drill",
  check: "repository check",
};

/** Where the maintenance metrics read from at scrape time. */
export interface MaintenanceMetricsSource {
  summary(kind: MaintenanceKind): KindSummary;
  /** Whether this kind runs on a schedule in this process (backup.enabled, and its schedule not "off"). */
  scheduled: (kind: MaintenanceKind) => boolean;
}

const seconds = (ms: number | null | undefined): number => (ms ? ms / 1000 : 0);
const num = (value: unknown): number | undefined => (typeof value === "number" ? value : undefined);

/**
 * Registers the backup, restore-drill and repository-check metrics. They are read from the
 * `maintenance_runs` table at each scrape, so a run made by the CLI beside the service counts as
 * much as one the service made; a timestamp of 0 means never.
 */
export function registerMaintenanceMetrics(
  registry: MetricsRegistry,
  source: () => MaintenanceMetricsSource | undefined,
): void {
  const registers = [registry];
  // One reading per scrape for every gauge below (each reading is three indexed queries per kind).
  let cache:
    | { at: number; summaries: Map<MaintenanceKind, KindSummary>; scheduled: (k: MaintenanceKind) => boolean }
    | undefined;
  const read = (kind: MaintenanceKind): KindSummary | undefined => {
    const now = Date.now();
    if (!cache || now - cache.at > 1000) {
      const s = source();
      if (!s) return undefined;
      cache = {
        at: now,
        summaries: new Map(MAINTENANCE_KINDS.map((k) => [k, s.summary(k)])),
        scheduled: s.scheduled,
      };
    }
    return cache.summaries.get(kind);
  };

  new Gauge({
    name: "opsguard_backup_scheduled",
    help: "1 when this kind of run (backup, drill, check) runs on a schedule in this process (backup.enabled, and its schedule not off), else 0.",
    labelNames: ["kind"] as const,
    registers,
    collect() {
      read("backup");
      if (cache) for (const kind of MAINTENANCE_KINDS) this.set({ kind }, cache.scheduled(kind) ? 1 : 0);
    },
  });

  for (const kind of MAINTENANCE_KINDS) {
    const prefix = METRIC_PREFIX[kind];
    const name = NAMES[kind];
    new Gauge({
      name: `${prefix}_last_success_timestamp_seconds`,
      help: `When the last successful ${name} finished, in seconds since the epoch; 0 when there has been none.`,
      registers,
      collect() {
        const s = read(kind);
        if (s) this.set(seconds(s.lastSuccess?.finishedAt));
      },
    });
    new Gauge({
      name: `${prefix}_last_run_timestamp_seconds`,
      help: `When the last ${name} finished, successful or not, in seconds since the epoch; 0 when there has been none.`,
      registers,
      collect() {
        const s = read(kind);
        if (s) this.set(seconds(s.last?.finishedAt));
      },
    });
    new Gauge({
      name: `${prefix}_last_run_success`,
      help: `1 when the last ${name} succeeded, 0 when it failed; absent before the first.`,
      registers,
      collect() {
        const s = read(kind);
        this.reset();
        if (s?.last) this.set(s.last.status === "succeeded" ? 1 : 0);
      },
    });
    new Gauge({
      name: `${prefix}_last_duration_seconds`,
      help: `How long the last ${name} took.`,
      registers,
      collect() {
        const s = read(kind);
        this.reset();
        if (s?.last?.finishedAt) this.set((s.last.finishedAt - s.last.startedAt) / 1000);
      },
    });
    new Counter({
      name: `${prefix}_runs_total`,
      help: `${name[0]!.toUpperCase()}${name.slice(1)}s finished, by result (succeeded, failed).`,
      labelNames: ["result"] as const,
      registers,
      collect() {
        const s = read(kind);
        if (!s) return;
        // The table is the count: a run made by the CLI beside the service counts as well.
        this.reset();
        this.inc({ result: "succeeded" }, s.counts.succeeded);
        this.inc({ result: "failed" }, s.counts.failed);
      },
    });
  }

  const lastBackup = (key: string): number | undefined => num(read("backup")?.lastSuccess?.details[key]);
  for (const [metric, key, help] of [
    ["opsguard_backup_last_bytes_processed", "bytesProcessed", "Bytes the last successful backup read."],
    [
      "opsguard_backup_last_bytes_added",
      "bytesAdded",
      "Bytes the last successful backup added to the repository, after deduplication.",
    ],
    ["opsguard_backup_last_files", "files", "Files in the last successful backup."],
    [
      "opsguard_backup_snapshots",
      "snapshots",
      "Snapshots of this instance in the repository after the last successful backup and its retention.",
    ],
  ] as const) {
    new Gauge({
      name: metric,
      help,
      registers,
      collect() {
        const value = lastBackup(key);
        this.reset();
        if (value !== undefined) this.set(value);
      },
    });
  }
  new Gauge({
    name: "opsguard_backup_check_last_errors",
    help: "Errors the last repository check reported (0 when it found none).",
    registers,
    collect() {
      const s = read("check");
      this.reset();
      if (s?.last) this.set(num(s.last.details.errors) ?? (s.last.status === "succeeded" ? 0 : 1));
    },
  });
}
