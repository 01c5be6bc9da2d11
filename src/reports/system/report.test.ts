import { describe, expect, it } from "vitest";
import { Config } from "../../config/schema.js";
import type { SystemSample } from "./load.js";
import { renderHtml } from "../render/html.js";
import { renderMarkdown } from "../render/markdown.js";
import { systemDocument } from "./document.js";
import { buildSystemReport, forecastVolume } from "./report.js";
import { DAY_MS } from "./statistics.js";

const GIB = 2 ** 30;
const MIB = 2 ** 20;
const HOUR = 3_600_000;
const TEN_MINUTES = 600_000;
const T0 = Date.UTC(2026, 2, 1);
const RULES = Config.parse({}).reports.system.rules;

/** A sample a minute long, at 6% of one core, with everything else quiet and flat. */
function sample(at: number, over: Partial<SystemSample> = {}): SystemSample {
  return {
    at,
    intervalMs: 60_000,
    cpuUserMs: 3_000,
    cpuSystemMs: 600,
    rssBytes: 120 * MIB,
    heapUsedBytes: 40 * MIB,
    heapTotalBytes: 60 * MIB,
    eventLoopDelayP99Ms: 2,
    eventLoopDelayMaxMs: 8,
    gcMs: 300,
    gcCount: 3,
    databaseBytes: 10 * MIB,
    walBytes: 4 * MIB,
    volumeFreeBytes: 50 * GIB,
    volumeSizeBytes: 100 * GIB,
    openOperations: 2,
    ...over,
  };
}

/** `count` samples, one every `stepMs` from T0. */
function samples(
  count: number,
  stepMs: number,
  over: (i: number, at: number) => Partial<SystemSample> = () => ({}),
) {
  return Array.from({ length: count }, (_, i) => sample(T0 + i * stepMs, over(i, T0 + i * stepMs)));
}

describe("buildSystemReport", () => {
  it("summarizes CPU, GC, memory and the backlog over the window, and says how much of it was sampled", () => {
    const list = samples(120, 60_000, (i) => ({ openOperations: i % 2 === 0 ? 2 : 4 }));
    const end = T0 + 4 * HOUR;
    const report = buildSystemReport(list, { start: T0, end }, RULES, end);
    expect(report.kind).toBe("system");
    expect(report.window).toEqual({
      from: new Date(T0).toISOString(),
      to: new Date(end).toISOString(),
      hours: 4,
    });
    expect(report.samples).toMatchObject({ count: 120, coverage: 0.5 });
    // 3.6 s of CPU per 60 s: 6% of one core.
    expect(report.cpu.meanCoreShare).toBeCloseTo(0.06, 12);
    expect(report.cpu.coreShare).toMatchObject({ min: 0.06, max: 0.06 });
    expect(report.cpu.userMs).toBe(360_000);
    expect(report.gc).toMatchObject({ totalMs: 36_000, count: 360 });
    expect(report.gc.timeShare).toBeCloseTo(0.005, 12);
    expect(report.memory.rssBytes).toMatchObject({ min: 120 * MIB, last: 120 * MIB });
    expect(report.operations.open).toMatchObject({ min: 2, mean: 3, max: 4, last: 4 });
    expect(report.recommendations).toEqual([]);
  });

  it("keeps only the samples of the window and caps its end at now", () => {
    const list = samples(10, HOUR);
    const report = buildSystemReport(
      list,
      { start: T0 + 2 * HOUR, end: T0 + 30 * HOUR },
      RULES,
      T0 + 6 * HOUR,
    );
    expect(report.samples).toMatchObject({
      count: 5,
      first: new Date(T0 + 2 * HOUR).toISOString(),
      last: new Date(T0 + 6 * HOUR).toISOString(),
    });
    expect(report.window.hours).toBe(4);
  });

  it("gives the database and WAL growth per day from the fitted lines", () => {
    // 10 MiB plus 24 MiB a day (1 MiB an hour), sampled hourly over two days.
    const list = samples(49, HOUR, (i) => ({ databaseBytes: 10 * MIB + i * MIB, walBytes: 4 * MIB }));
    const report = buildSystemReport(list, { start: T0, end: T0 + 2 * DAY_MS }, RULES, T0 + 2 * DAY_MS);
    expect(report.database.growthBytesPerDay! / (24 * MIB)).toBeCloseTo(1, 9);
    expect(report.database.bytes?.trend?.r2).toBeCloseTo(1, 9);
    expect(report.database.walGrowthBytesPerDay).toBe(0);
  });

  it("forecasts the day the volume fills, and recommends SYS-002 at 7 days but not at 7.5", () => {
    // Falling 10 GiB a day, sampled every 10 minutes for a day: 70 GiB left at the last sample is 7 days.
    const falling = (lastFree: number) =>
      samples(145, TEN_MINUTES, (i) => ({ volumeFreeBytes: lastFree + ((144 - i) * (10 * GIB)) / 144 }));
    const now = T0 + DAY_MS;
    const at7 = buildSystemReport(falling(70 * GIB), { start: T0, end: now + HOUR }, RULES, now);
    expect(at7.volume.forecast.status).toBe("filling");
    expect(at7.volume.forecast.bytesPerDay! / (-10 * GIB)).toBeCloseTo(1, 9);
    expect(at7.volume.forecast.daysUntilFull).toBeCloseTo(7, 9);
    expect(at7.volume.forecast.fullAt).toBe(new Date(now + 7 * DAY_MS).toISOString());
    expect(at7.volume.freeShare).toBeCloseTo(0.7, 12);
    expect(at7.recommendations.map((r) => [r.id, r.severity])).toEqual([["SYS-002", "warning"]]);

    const at75 = buildSystemReport(falling(75 * GIB), { start: T0, end: now + HOUR }, RULES, now);
    expect(at75.volume.forecast.daysUntilFull).toBeCloseTo(7.5, 9);
    expect(at75.recommendations).toEqual([]);

    // Asked a day after the last sample: a day less to go.
    const later = buildSystemReport(falling(70 * GIB), { start: T0, end: now + DAY_MS }, RULES, now + DAY_MS);
    expect(later.volume.forecast.daysUntilFull).toBeCloseTo(6, 9);
  });

  it("says not filling when free space is flat or rises, and not enough data on a short window", () => {
    const now = T0 + DAY_MS;
    const flat = buildSystemReport(samples(145, TEN_MINUTES), { start: T0, end: now }, RULES, now);
    expect(flat.volume.forecast).toMatchObject({ status: "not filling", daysUntilFull: null, fullAt: null });
    const rising = samples(145, TEN_MINUTES, (i) => ({ volumeFreeBytes: 10 * GIB + i * MIB }));
    expect(buildSystemReport(rising, { start: T0, end: now }, RULES, now).volume.forecast.status).toBe(
      "not filling",
    );
    // 59 samples a minute apart: under 60 samples and under 6 hours.
    const short = samples(59, 60_000, (i) => ({ volumeFreeBytes: 10 * GIB - i * GIB * 0.1 }));
    const forecast = buildSystemReport(short, { start: T0, end: now }, RULES, now).volume.forecast;
    expect(forecast.status).toBe("not enough data");
    expect(forecast.reason).toBe("a forecast needs 60 samples over 6 h; the window has 59 over 1.0 h");
  });

  it("recommends SYS-003 when RSS climbs 64 MiB a day, not at 60", () => {
    const climbing = (perDay: number) =>
      samples(73, HOUR, (i) => ({ rssBytes: 100 * MIB + (i * perDay) / 24 }));
    const end = T0 + 3 * DAY_MS;
    const at64 = buildSystemReport(climbing(64 * MIB), { start: T0, end }, RULES, end);
    expect(at64.recommendations.map((r) => r.id)).toEqual(["SYS-003"]);
    expect(at64.memory.rssBytes?.trend?.slopePerDay).toBeCloseTo(64 * MIB, 0);
    expect(buildSystemReport(climbing(60 * MIB), { start: T0, end }, RULES, end).recommendations).toEqual([]);
  });

  it("recommends SYS-004 and SYS-005 when a fifth of the samples reach their thresholds", () => {
    // 100 samples: the first `high` at a p99 of 100 ms and at 80% of a core (48 s of 60 s).
    const busy = (high: number) =>
      samples(100, 60_000, (i) =>
        i < high
          ? { eventLoopDelayP99Ms: 100, eventLoopDelayMaxMs: 400, cpuUserMs: 40_000, cpuSystemMs: 8_000 }
          : {},
      );
    const end = T0 + 2 * HOUR;
    const at20 = buildSystemReport(busy(20), { start: T0, end }, RULES, end);
    expect(at20.eventLoop).toMatchObject({ overThresholdShare: 0.2, maxMs: 400, thresholdMs: 100 });
    expect(at20.cpu.overThresholdShare).toBe(0.2);
    expect(at20.recommendations.map((r) => r.id)).toEqual(["SYS-004", "SYS-005"]);
    expect(buildSystemReport(busy(19), { start: T0, end }, RULES, end).recommendations).toEqual([]);
  });

  it("recommends SYS-001 from the samples when the WAL grows steadily", () => {
    // 20 MiB a day over a day, every 10 minutes.
    const list = samples(145, TEN_MINUTES, (i) => ({ walBytes: 4 * MIB + (i * 20 * MIB) / 144 }));
    const end = T0 + DAY_MS;
    const report = buildSystemReport(list, { start: T0, end }, RULES, end);
    expect(report.recommendations.map((r) => [r.id, r.severity, r.subject])).toEqual([
      ["SYS-001", "warning", "wal"],
    ]);
  });

  it("shows a trend per day only from the samples and hours a rule needs to judge one", async () => {
    // Five minutes of RSS climbing a MiB a minute: 1.4 GiB a day, if it were extrapolated.
    const short = samples(5, 60_000, (i) => ({ rssBytes: (120 + i) * MIB }));
    const end = T0 + 5 * 60_000;
    const early = buildSystemReport(short, { start: T0, end }, RULES, end);
    expect(early.trendNeeds).toEqual({ samples: RULES.minSamples, hours: RULES.minTrendHours });
    expect(early.memory.rssBytes?.trend?.slopePerDay).toBeGreaterThan(1000 * MIB);
    const rssRow = (markdown: string) => markdown.split("\n").find((line) => line.startsWith("| RSS"));
    expect(rssRow(renderMarkdown(await systemDocument(early, false)))).toMatch(/\| not enough data \|$/);

    const long = samples(8 * 60, 60_000, (i) => ({ rssBytes: 120 * MIB + i * 1024 }));
    const later = buildSystemReport(long, { start: T0, end: T0 + 8 * HOUR }, RULES, T0 + 8 * HOUR);
    // One sample is one point of the timeline: no curve, and the report says so in every format.
    const single = buildSystemReport(samples(1, 60_000), { start: T0, end: T0 + 60_000 }, RULES, T0 + 60_000);
    expect(renderHtml(await systemDocument(single, true))).toContain(
      "No chart yet: a curve needs two points of the timeline, and the window has 1.",
    );
    expect(renderHtml(await systemDocument(early, true))).toContain("<svg");
    expect(renderMarkdown(await systemDocument(single, false))).toMatch(
      /## Over time\n\nCharts are in the HTML report/,
    );
    expect(rssRow(renderMarkdown(await systemDocument(later, false)))).toMatch(
      /\| \+1\.4 MiB\/day \(R² 1\.00\) \|$/,
    );
  });

  it("reports an empty window without failing", () => {
    const report = buildSystemReport([], { start: T0, end: T0 + HOUR }, RULES, T0 + HOUR);
    expect(report.samples).toEqual({ count: 0, first: null, last: null, coverage: 0 });
    expect(report.cpu.coreShare).toBeNull();
    expect(report.volume.forecast.status).toBe("not enough data");
    expect(report.timeline).toEqual([]);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it("folds a week of minutes into hourly timeline points", () => {
    const list = samples(7 * 1440, 60_000);
    const end = T0 + 7 * DAY_MS;
    const { timeline } = buildSystemReport(list, { start: T0, end }, RULES, end);
    expect(timeline).toHaveLength(168);
    expect(timeline[1]).toMatchObject({ at: new Date(T0 + HOUR).toISOString(), rssBytes: 120 * MIB });
    expect(timeline[1]?.cpuCoreShare).toBeCloseTo(0.06, 12);
  });
});

describe("forecastVolume", () => {
  it("counts from the last reading at the fitted rate", () => {
    const free = {
      min: 0,
      mean: 0,
      max: 0,
      last: 30 * GIB,
      trend: { slopePerDay: -10 * GIB, r2: 0.5, samples: 60, spanHours: 6 },
    };
    expect(forecastVolume(free, T0, T0, RULES)).toMatchObject({
      status: "filling",
      daysUntilFull: 3,
      r2: 0.5,
    });
    // So slow it would take decades: not filling.
    const slow = { ...free, trend: { ...free.trend, slopePerDay: -1 } };
    expect(forecastVolume(slow, T0, T0, RULES).status).toBe("not filling");
  });
});
