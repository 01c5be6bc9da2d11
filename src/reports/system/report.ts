import type { SystemSample } from "./load.js";
import { recommendSystem, type SystemRecommendation, type SystemRuleThresholds } from "./recommendations.js";
import { DAY_MS, pointsOf, reaches, shareAtLeast, summarize, type SeriesSummary } from "./statistics.js";
import { buildTimeline, type TimelinePoint } from "./timeline.js";

/** The time a report covers: ms since the epoch, `start` included, `end` excluded. */
export interface SystemWindow {
  start: number;
  end: number;
}

/** Beyond this many days a falling free space is not reported as filling: the fit says nothing that far. */
export const MAX_FORECAST_DAYS = 3650;

/** When the data volume fills at the rate fitted over the window. */
export interface VolumeForecast {
  /**
   * `filling`: enough samples over enough hours, and free space falls; `not filling`: it does not
   * fall (or would take over {@link MAX_FORECAST_DAYS} days); `not enough data`: too few samples.
   */
  status: "filling" | "not filling" | "not enough data";
  reason: string;
  /** Change of the free bytes per day (negative when filling), and the fit's R². */
  bytesPerDay: number | null;
  r2: number | null;
  /** Days from now until full, and when; null unless filling. */
  daysUntilFull: number | null;
  fullAt: string | null;
}

/** The system report (docs/reports-system.md). */
export interface SystemReport {
  kind: "system";
  generatedAt: string;
  /** The window, its end capped at now. */
  window: { from: string; to: string; hours: number };
  samples: {
    count: number;
    first: string | null;
    last: string | null;
    /** Share of the window the samples cover: less than 1 when the process was down. */
    coverage: number | null;
  };
  /**
   * What a series' trend needs before it is shown as a slope or judged by a rule (`minSamples`
   * over `minTrendHours`): below it, a few minutes of samples would be extrapolated to a day.
   */
  trendNeeds: { samples: number; hours: number };
  cpu: {
    /** CPU per second of each sample (1 = one core busy). */
    coreShare: SeriesSummary | null;
    /** CPU time over the window ÷ the time sampled. */
    meanCoreShare: number | null;
    userMs: number;
    systemMs: number;
    /** Share of samples at or above `rules.cpuCoreShare`. */
    overThresholdShare: number | null;
  };
  memory: {
    rssBytes: SeriesSummary | null;
    heapUsedBytes: SeriesSummary | null;
    heapTotalBytes: SeriesSummary | null;
  };
  eventLoop: {
    /** The p99 of each sample's interval. */
    delayP99Ms: SeriesSummary | null;
    maxMs: number | null;
    thresholdMs: number;
    /** Share of samples whose p99 is at or above `thresholdMs`. */
    overThresholdShare: number | null;
  };
  gc: { totalMs: number; count: number; timeShare: number | null; perSampleMs: SeriesSummary | null };
  database: {
    bytes: SeriesSummary | null;
    walBytes: SeriesSummary | null;
    /** Slopes of the least-squares lines, bytes per day. */
    growthBytesPerDay: number | null;
    walGrowthBytesPerDay: number | null;
  };
  volume: {
    freeBytes: SeriesSummary | null;
    sizeBytes: number | null;
    /** Free ÷ size at the last sample. */
    freeShare: number | null;
    forecast: VolumeForecast;
  };
  operations: { open: SeriesSummary | null };
  timeline: TimelinePoint[];
  recommendations: SystemRecommendation[];
}

const sum = (samples: readonly SystemSample[], pick: (s: SystemSample) => number): number =>
  samples.reduce((total, s) => total + pick(s), 0);

/** The forecast of a free-bytes series, judged meaningful by the trend thresholds. */
export function forecastVolume(
  free: SeriesSummary | null,
  lastAt: number | null,
  now: number,
  t: Pick<SystemRuleThresholds, "minSamples" | "minTrendHours">,
): VolumeForecast {
  const none = { bytesPerDay: null, r2: null, daysUntilFull: null, fullAt: null };
  const trend = free?.trend;
  if (
    !free ||
    !trend ||
    lastAt === null ||
    trend.samples < t.minSamples ||
    !reaches(trend.spanHours, t.minTrendHours)
  ) {
    const count = trend?.samples ?? (free ? 1 : 0);
    return {
      status: "not enough data",
      reason: `a forecast needs ${t.minSamples} samples over ${t.minTrendHours} h; the window has ${count} over ${(trend?.spanHours ?? 0).toFixed(1)} h`,
      ...none,
    };
  }
  const fitted = { bytesPerDay: trend.slopePerDay, r2: trend.r2 };
  if (trend.slopePerDay >= 0)
    return { status: "not filling", reason: "free space does not fall over the window", ...none, ...fitted };
  // From the last reading at the fitted rate: "X free, falling Y a day" is what a reader can check.
  const fullAt = lastAt + (free.last / -trend.slopePerDay) * DAY_MS;
  const days = Math.max(0, (fullAt - now) / DAY_MS);
  if (days > MAX_FORECAST_DAYS)
    return {
      status: "not filling",
      reason: `free space falls too slowly to fill within ${MAX_FORECAST_DAYS} days`,
      ...none,
      ...fitted,
    };
  return {
    status: "filling",
    reason: "free space falls steadily enough to forecast",
    ...fitted,
    daysUntilFull: days,
    fullAt: new Date(Math.max(fullAt, now)).toISOString(),
  };
}

/**
 * Builds the system report from the samples of `window` (others are ignored), judged by the
 * rules' thresholds; `now` caps the window and is where the forecast counts from. Pure: the
 * samples come from `loadSystemSamples` (load.ts).
 */
export function buildSystemReport(
  samples: readonly SystemSample[],
  window: SystemWindow,
  thresholds: SystemRuleThresholds,
  now: number,
): SystemReport {
  const end = Math.max(window.start, Math.min(window.end, now));
  // Nothing after now: a report asked for a window that ends tomorrow covers up to now.
  const inWindow = samples
    .filter((s) => s.at >= window.start && s.at < window.end && s.at <= now)
    .sort((a, b) => a.at - b.at);
  const first = inWindow[0];
  const last = inWindow.at(-1);
  const sampledMs = sum(inWindow, (s) => s.intervalMs);
  const cpuMs = sum(inWindow, (s) => s.cpuUserMs + s.cpuSystemMs);
  const gcMs = sum(inWindow, (s) => s.gcMs);

  const corePoints = pointsOf(inWindow, (s) =>
    s.intervalMs > 0 ? (s.cpuUserMs + s.cpuSystemMs) / s.intervalMs : null,
  );
  const delayPoints = pointsOf(inWindow, (s) => s.eventLoopDelayP99Ms);
  const maxDelays = pointsOf(inWindow, (s) => s.eventLoopDelayMaxMs);
  const rss = summarize(pointsOf(inWindow, (s) => s.rssBytes));
  const database = summarize(pointsOf(inWindow, (s) => s.databaseBytes));
  const wal = summarize(pointsOf(inWindow, (s) => s.walBytes));
  const free = summarize(pointsOf(inWindow, (s) => s.volumeFreeBytes));
  const lastFreeAt = [...inWindow].reverse().find((s) => s.volumeFreeBytes !== null);
  const forecast = forecastVolume(free, lastFreeAt?.at ?? null, now, thresholds);
  const sizeBytes = lastFreeAt?.volumeSizeBytes ?? null;
  const cpuOver = shareAtLeast(corePoints, thresholds.cpuCoreShare);
  const delayOver = shareAtLeast(delayPoints, thresholds.eventLoopDelayP99Ms);
  const delaySummary = summarize(delayPoints);
  const meanCoreShare = sampledMs > 0 ? cpuMs / sampledMs : null;

  return {
    kind: "system",
    generatedAt: new Date(now).toISOString(),
    window: {
      from: new Date(window.start).toISOString(),
      to: new Date(end).toISOString(),
      hours: (end - window.start) / 3_600_000,
    },
    samples: {
      count: inWindow.length,
      first: first ? new Date(first.at).toISOString() : null,
      last: last ? new Date(last.at).toISOString() : null,
      coverage: end > window.start ? Math.min(1, sampledMs / (end - window.start)) : null,
    },
    trendNeeds: { samples: thresholds.minSamples, hours: thresholds.minTrendHours },
    cpu: {
      coreShare: summarize(corePoints),
      meanCoreShare,
      userMs: sum(inWindow, (s) => s.cpuUserMs),
      systemMs: sum(inWindow, (s) => s.cpuSystemMs),
      overThresholdShare: cpuOver,
    },
    memory: {
      rssBytes: rss,
      heapUsedBytes: summarize(pointsOf(inWindow, (s) => s.heapUsedBytes)),
      heapTotalBytes: summarize(pointsOf(inWindow, (s) => s.heapTotalBytes)),
    },
    eventLoop: {
      delayP99Ms: delaySummary,
      maxMs: maxDelays.length === 0 ? null : Math.max(...maxDelays.map((p) => p.value)),
      thresholdMs: thresholds.eventLoopDelayP99Ms,
      overThresholdShare: delayOver,
    },
    gc: {
      totalMs: gcMs,
      count: sum(inWindow, (s) => s.gcCount),
      timeShare: sampledMs > 0 ? gcMs / sampledMs : null,
      perSampleMs: summarize(pointsOf(inWindow, (s) => s.gcMs)),
    },
    database: {
      bytes: database,
      walBytes: wal,
      growthBytesPerDay: database?.trend?.slopePerDay ?? null,
      walGrowthBytesPerDay: wal?.trend?.slopePerDay ?? null,
    },
    volume: {
      freeBytes: free,
      sizeBytes,
      freeShare: free && sizeBytes ? free.last / sizeBytes : null,
      forecast,
    },
    operations: { open: summarize(pointsOf(inWindow, (s) => s.openOperations)) },
    timeline: buildTimeline(inWindow, window.start, end),
    recommendations: recommendSystem(
      {
        samples: inWindow.length,
        wal,
        forecast: {
          daysUntilFull: forecast.daysUntilFull,
          bytesPerDay: forecast.bytesPerDay,
          freeBytes: free?.last ?? null,
          r2: forecast.r2,
        },
        rss,
        eventLoop: { overThresholdShare: delayOver, worstP99Ms: delaySummary?.max ?? null },
        cpu: { overThresholdShare: cpuOver, meanCoreShare },
      },
      thresholds,
    ),
  };
}
