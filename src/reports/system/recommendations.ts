import type { RecommendationOf } from "../performance/recommendations.js";
import { formatBytes, reaches, type SeriesSummary, type Trend } from "./statistics.js";

/** The rules of the system report, by id; docs/reports-system.md describes each. */
export const SYSTEM_RULES = {
  "SYS-001": "wal-not-checkpointing",
  "SYS-002": "disk-filling",
  "SYS-003": "memory-growing",
  "SYS-004": "event-loop-delay-high",
  "SYS-005": "cpu-near-one-core",
} as const;
export type SystemRuleId = keyof typeof SYSTEM_RULES;

/** A recommendation of the system report (subject: `wal`, `data-volume`, `memory`, `event-loop`, `cpu`). */
export type SystemRecommendation = RecommendationOf<SystemRuleId, (typeof SYSTEM_RULES)[SystemRuleId]>;

/** The thresholds of the rules (`reports.system.rules`). */
export interface SystemRuleThresholds {
  /** Samples, and hours from first to last, a trend needs before a rule judges it. */
  minSamples: number;
  minTrendHours: number;
  /** R² from which growth counts as steady. */
  trendR2: number;
  /** SYS-001: WAL size, and steady WAL growth per day, in bytes. */
  walBytes: number;
  walGrowthBytesPerDay: number;
  /** SYS-002: days until the volume fills for a warning, and for high. */
  diskFullDays: number;
  diskFullHighDays: number;
  /** SYS-003: steady RSS growth per day, in bytes. */
  rssGrowthBytesPerDay: number;
  /** SYS-004: event-loop delay p99 of a sample, ms. */
  eventLoopDelayP99Ms: number;
  /** SYS-005: CPU per second of a sample (1 = one core). */
  cpuCoreShare: number;
  /** SYS-004, SYS-005: share of samples above their threshold that makes it sustained. */
  sustainedShare: number;
}

/** What the rules look at, as the report computed it. */
export interface SystemRuleInputs {
  samples: number;
  wal: SeriesSummary | null;
  /** Days until the data volume fills at the fitted rate; null when it is not filling. */
  forecast: {
    daysUntilFull: number | null;
    bytesPerDay: number | null;
    freeBytes: number | null;
    r2: number | null;
  };
  rss: SeriesSummary | null;
  /** Share of samples with p99 ≥ the threshold, and the worst p99. */
  eventLoop: { overThresholdShare: number | null; worstP99Ms: number | null };
  /** Share of samples at or above cpuCoreShare, and the mean. */
  cpu: { overThresholdShare: number | null; meanCoreShare: number | null };
}

const pct = (value: number): string => `${(value * 100).toFixed(1)}%`;
const r2Text = (trend: Trend): string => (trend.r2 === null ? "constant" : `R² ${trend.r2.toFixed(2)}`);

/** A trend judged: long and dense enough, and steady enough. */
function steady(trend: Trend | null | undefined, t: SystemRuleThresholds): trend is Trend {
  return (
    !!trend &&
    trend.samples >= t.minSamples &&
    reaches(trend.spanHours, t.minTrendHours) &&
    trend.r2 !== null &&
    reaches(trend.r2, t.trendR2)
  );
}

/** Every rule over the inputs; the recommendations that apply, most severe first. */
export function recommendSystem(inputs: SystemRuleInputs, t: SystemRuleThresholds): SystemRecommendation[] {
  const found: SystemRecommendation[] = [];
  const add = (id: SystemRuleId, r: Omit<SystemRecommendation, "id" | "rule">) =>
    found.push({ id, rule: SYSTEM_RULES[id], ...r });

  const wal = inputs.wal;
  if (wal) {
    const above = reaches(wal.last, t.walBytes);
    const growing = steady(wal.trend, t) && reaches(wal.trend.slopePerDay, t.walGrowthBytesPerDay);
    if (above || growing) {
      const evidence = [
        `WAL ${formatBytes(wal.last)} now, largest ${formatBytes(wal.max)} (threshold ${formatBytes(t.walBytes)})`,
      ];
      if (growing) {
        const trend = wal.trend!;
        evidence.push(
          `growing ${formatBytes(trend.slopePerDay)}/day over ${trend.spanHours.toFixed(1)} h (${r2Text(trend)}; threshold ${formatBytes(t.walGrowthBytesPerDay)}/day)`,
        );
      }
      add("SYS-001", {
        // A large WAL that no longer grows is the high-water mark of a past stall: SQLite reuses
        // the file after each checkpoint but never shrinks it.
        severity: growing ? (above ? "high" : "warning") : "info",
        subject: "wal",
        title: growing ? "the WAL keeps growing: checkpoints do not complete" : "the WAL file is large",
        evidence,
        recommendation: growing
          ? "A reader holds a snapshot open so SQLite cannot checkpoint: look for a long-running backup copy, report or security check (GET /v1/backups, the logs), let it finish or stop it; restarting opsguard checkpoints and removes the WAL."
          : "The WAL grew this large once and SQLite keeps the file at that size; restart opsguard in a quiet moment to checkpoint and remove it, and find what held a read open then (a backup copy, a report).",
      });
    }
  }

  const { forecast } = inputs;
  // Within N days: on the threshold counts; high only strictly under its own.
  if (forecast.daysUntilFull !== null && reaches(t.diskFullDays, forecast.daysUntilFull)) {
    const days = forecast.daysUntilFull;
    add("SYS-002", {
      severity: days < t.diskFullHighDays ? "high" : "warning",
      subject: "data-volume",
      title: `the data volume fills in ${days.toFixed(1)} days at the current rate`,
      evidence: [
        `${formatBytes(forecast.freeBytes ?? 0)} free, falling ${formatBytes(-(forecast.bytesPerDay ?? 0))}/day${forecast.r2 === null ? "" : ` (R² ${forecast.r2.toFixed(2)})`}`,
        `threshold ${t.diskFullDays} days (high under ${t.diskFullHighDays})`,
      ],
      recommendation:
        "Find what grows on the volume of the data folder (the database, its WAL, logs under logging.file.dir, backup staging, other programs' files): free space or grow the volume before it fills; a full disk stops opsguard at its next commit.",
    });
  }

  const rss = inputs.rss;
  if (rss && steady(rss.trend, t) && reaches(rss.trend.slopePerDay, t.rssGrowthBytesPerDay)) {
    add("SYS-003", {
      severity: "warning",
      subject: "memory",
      title: `resident memory grows ${formatBytes(rss.trend.slopePerDay)} a day`,
      evidence: [
        `RSS from ${formatBytes(rss.min)} to ${formatBytes(rss.max)}, ${formatBytes(rss.last)} now`,
        `growing ${formatBytes(rss.trend.slopePerDay)}/day over ${rss.trend.spanHours.toFixed(1)} h (${r2Text(rss.trend)}; threshold ${formatBytes(t.rssGrowthBytesPerDay)}/day)`,
      ],
      recommendation:
        "A steady climb is a leak or an unbounded buffer: take a heap snapshot (node --heapsnapshot-signal=SIGUSR2) and compare two taken hours apart; check whether telemetry destinations are down (opsguard_telemetry_dropped_total). A restart frees the memory until the cause is fixed.",
    });
  }

  if (inputs.samples >= t.minSamples) {
    const { overThresholdShare, worstP99Ms } = inputs.eventLoop;
    if (overThresholdShare !== null && reaches(overThresholdShare, t.sustainedShare)) {
      add("SYS-004", {
        severity: "warning",
        subject: "event-loop",
        title: `event-loop delay p99 reached ${t.eventLoopDelayP99Ms} ms in ${pct(overThresholdShare)} of the samples`,
        evidence: [
          `p99 at or above ${t.eventLoopDelayP99Ms} ms in ${pct(overThresholdShare)} of ${inputs.samples} samples (threshold ${pct(t.sustainedShare)})`,
          `worst p99 ${(worstP99Ms ?? 0).toFixed(1)} ms`,
        ],
        recommendation:
          "Every request and the supervisor wait that long: look for synchronous work on the event loop (large reports or queries run in the service, a CPU-bound strategy load) with a CPU profile (node --cpu-prof), and check the CPU and GC sections above.",
      });
    }
    const cpu = inputs.cpu;
    if (cpu.overThresholdShare !== null && reaches(cpu.overThresholdShare, t.sustainedShare)) {
      add("SYS-005", {
        severity: "warning",
        subject: "cpu",
        title: `CPU near one core in ${pct(cpu.overThresholdShare)} of the samples`,
        evidence: [
          `at or above ${pct(t.cpuCoreShare)} of one core in ${pct(cpu.overThresholdShare)} of ${inputs.samples} samples (threshold ${pct(t.sustainedShare)})`,
          `mean ${pct(cpu.meanCoreShare ?? 0)} of one core`,
        ],
        recommendation:
          "The event loop runs on one core: near it, requests queue. Profile it (node --cpu-prof), lower the load (submit rate, supervisor.monitorIntervalMs), or split accounts across instances.",
      });
    }
  }

  const rank = { high: 0, warning: 1, info: 2 };
  return found.sort((a, b) => rank[a.severity] - rank[b.severity] || a.id.localeCompare(b.id));
}
