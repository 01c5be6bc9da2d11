import type { ConfigInput } from "../src/config/schema.js";

/** How an opsguard under test exports its telemetry. */
export interface TelemetryEndpoints {
  /** OTLP/HTTP traces endpoint; tracing is off without it. */
  traces?: string;
  /** Loki base URL; lines go nowhere but the (silent) logger without it. */
  loki?: string;
  /** Share of traces recorded. @default 1 */
  sampleRatio?: number;
}

const HUGE = "1000000000000";

/**
 * The config of every opsguard under test. Risk limits are raised so that a benchmark's load is
 * accepted (every check still runs on every request); the paper executor fills at once, with no
 * simulated latency or slippage; the console is off (a benchmark reads no log lines there);
 * scheduled backups are off (by default a fresh instance takes a backup, a drill and a check as
 * soon as it starts, which would run restic beside the load of every phase; the backup phase
 * turns them on itself), and so are the security checks and daily reports. Everything else is the
 * default, logging to rotated files included.
 */
export function benchConfig(dataDir: string, telemetry: TelemetryEndpoints = {}): ConfigInput {
  return {
    dataDir,
    server: { host: "127.0.0.1", port: 0, shutdownDeadlineMs: 3000 },
    logging: {
      console: { enabled: false },
      ...(telemetry.loki ? { loki: { url: telemetry.loki } } : {}),
    },
    telemetry: {
      traces: telemetry.traces ? { endpoint: telemetry.traces, sampleRatio: telemetry.sampleRatio ?? 1 } : {},
    },
    accounting: { startingEquity: HUGE },
    risk: {
      maxDailyOperations: { global: 1_000_000_000, perStrategy: 1_000_000_000 },
      maxExposure: { total: HUGE, perInstrument: HUGE },
      maxSubmitRate: { perSecond: 1_000_000_000, burst: 1_000_000_000 },
      maxDailyLoss: HUGE,
      lossStreak: { maxConsecutive: 1_000_000_000 },
    },
    executor: { type: "paper", paper: { latencyMs: 0, slippageBps: 0 } },
    backup: { enabled: false },
    // Checks and daily reports run at start by default, in worker threads, and would overlap the
    // first seconds of a measurement; the phases that measure them turn them on.
    security: { schedule: { checks: "off", quick: "off" } },
    reports: { schedule: "off" },
  };
}
