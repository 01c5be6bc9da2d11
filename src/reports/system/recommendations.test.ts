import { describe, expect, it } from "vitest";
import { Config } from "../../config/schema.js";
import { recommendSystem, type SystemRuleInputs, type SystemRuleThresholds } from "./recommendations.js";
import type { SeriesSummary, Trend } from "./statistics.js";

const MIB = 1024 * 1024;
const RULES: SystemRuleThresholds = Config.parse({}).reports.system.rules;

/** A trend just long, dense and steady enough to be judged under the default thresholds. */
const trend = (slopePerDay: number, over: Partial<Trend> = {}): Trend => ({
  slopePerDay,
  r2: 0.8,
  samples: 60,
  spanHours: 6,
  ...over,
});
const series = (last: number, t: Trend | null = null): SeriesSummary => ({
  min: last,
  mean: last,
  max: last,
  last,
  trend: t,
});

/** Inputs on which no rule fires. */
const quiet = (over: Partial<SystemRuleInputs> = {}): SystemRuleInputs => ({
  samples: 100,
  wal: series(4 * MIB),
  forecast: { daysUntilFull: null, bytesPerDay: null, freeBytes: 50 * 2 ** 30, r2: null },
  rss: series(100 * MIB, trend(0, { r2: null })),
  eventLoop: { overThresholdShare: 0, worstP99Ms: 3 },
  cpu: { overThresholdShare: 0, meanCoreShare: 0.05 },
  ...over,
});

const fired = (inputs: SystemRuleInputs) =>
  recommendSystem(inputs, RULES).map((r) => [r.id, r.severity] as const);

describe("recommendSystem", () => {
  it("finds nothing on a quiet system", () => {
    expect(fired(quiet())).toEqual([]);
  });

  it("SYS-001: a WAL at 64 MiB is reported (info), one byte under it is not", () => {
    expect(fired(quiet({ wal: series(64 * MIB) }))).toEqual([["SYS-001", "info"]]);
    expect(fired(quiet({ wal: series(64 * MIB - 1) }))).toEqual([]);
  });

  it("SYS-001: a WAL growing 16 MiB a day steadily is a warning, and high when also above 64 MiB", () => {
    expect(fired(quiet({ wal: series(8 * MIB, trend(16 * MIB)) }))).toEqual([["SYS-001", "warning"]]);
    expect(fired(quiet({ wal: series(64 * MIB, trend(16 * MIB)) }))).toEqual([["SYS-001", "high"]]);
    // Below the growth threshold, not steady enough, too few samples, too short.
    expect(fired(quiet({ wal: series(8 * MIB, trend(16 * MIB - 1)) }))).toEqual([]);
    expect(fired(quiet({ wal: series(8 * MIB, trend(16 * MIB, { r2: 0.79 })) }))).toEqual([]);
    expect(fired(quiet({ wal: series(8 * MIB, trend(16 * MIB, { samples: 59 })) }))).toEqual([]);
    expect(fired(quiet({ wal: series(8 * MIB, trend(16 * MIB, { spanHours: 5.9 })) }))).toEqual([]);
  });

  it("SYS-002: full within 7 days is a warning, under 2 days high", () => {
    const forecast = (daysUntilFull: number) =>
      quiet({ forecast: { daysUntilFull, bytesPerDay: -10 * 2 ** 30, freeBytes: 70 * 2 ** 30, r2: 0.99 } });
    expect(fired(forecast(7))).toEqual([["SYS-002", "warning"]]);
    expect(fired(forecast(7.01))).toEqual([]);
    expect(fired(forecast(2))).toEqual([["SYS-002", "warning"]]);
    expect(fired(forecast(1.99))).toEqual([["SYS-002", "high"]]);
    const [recommendation] = recommendSystem(forecast(3), RULES);
    expect(recommendation).toMatchObject({ rule: "disk-filling", subject: "data-volume" });
    expect(recommendation?.evidence[0]).toBe("70.0 GiB free, falling 10.0 GiB/day (R² 0.99)");
  });

  it("SYS-003: RSS growing 64 MiB a day steadily is a warning; slower or noisier is not", () => {
    expect(fired(quiet({ rss: series(300 * MIB, trend(64 * MIB)) }))).toEqual([["SYS-003", "warning"]]);
    expect(fired(quiet({ rss: series(300 * MIB, trend(64 * MIB - 1)) }))).toEqual([]);
    expect(fired(quiet({ rss: series(300 * MIB, trend(64 * MIB, { r2: 0.5 })) }))).toEqual([]);
  });

  it("SYS-004: p99 at 100 ms in a fifth of the samples is a warning, in less it is not", () => {
    expect(fired(quiet({ eventLoop: { overThresholdShare: 0.2, worstP99Ms: 250 } }))).toEqual([
      ["SYS-004", "warning"],
    ]);
    expect(fired(quiet({ eventLoop: { overThresholdShare: 0.19, worstP99Ms: 250 } }))).toEqual([]);
    // Too few samples to judge.
    expect(fired(quiet({ samples: 59, eventLoop: { overThresholdShare: 1, worstP99Ms: 250 } }))).toEqual([]);
  });

  it("SYS-005: near one core in a fifth of the samples is a warning, in less it is not", () => {
    expect(fired(quiet({ cpu: { overThresholdShare: 0.2, meanCoreShare: 0.3 } }))).toEqual([
      ["SYS-005", "warning"],
    ]);
    expect(fired(quiet({ cpu: { overThresholdShare: 0.19, meanCoreShare: 0.3 } }))).toEqual([]);
  });

  it("orders by severity, then id, each with the shape the performance report uses", () => {
    const found = recommendSystem(
      quiet({
        wal: series(64 * MIB),
        forecast: { daysUntilFull: 1, bytesPerDay: -(2 ** 30), freeBytes: 2 ** 30, r2: 0.9 },
        cpu: { overThresholdShare: 0.5, meanCoreShare: 0.9 },
      }),
      RULES,
    );
    expect(found.map((r) => r.id)).toEqual(["SYS-002", "SYS-005", "SYS-001"]);
    for (const r of found) {
      expect(Object.keys(r).sort()).toEqual(
        ["evidence", "id", "recommendation", "rule", "severity", "subject", "title"].sort(),
      );
      expect(r.evidence.length).toBeGreaterThan(0);
    }
  });
});
