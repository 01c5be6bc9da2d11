import { describe, expect, it } from "vitest";
import { DAY_MS, fitTrend, formatBytes, pointsOf, shareAtLeast, summarize } from "./statistics.js";

const T0 = Date.UTC(2026, 0, 1);

describe("fitTrend", () => {
  it("fits the least-squares line per day, with its R²", () => {
    // Days 0, 1, 2 with 10, 20, 40: x̄ = 1, ȳ = 70/3, Sxx = 2, Sxy = 30, Syy = 1400/3.
    const trend = fitTrend([
      { at: T0, value: 10 },
      { at: T0 + DAY_MS, value: 20 },
      { at: T0 + 2 * DAY_MS, value: 40 },
    ]);
    expect(trend?.slopePerDay).toBeCloseTo(15, 12);
    expect(trend?.r2).toBeCloseTo(27 / 28, 12);
    expect(trend?.samples).toBe(3);
    expect(trend?.spanHours).toBe(48);
  });

  it("keeps its precision on byte counts in the hundreds of gigabytes", () => {
    const points = Array.from({ length: 10_000 }, (_, i) => ({
      at: T0 + i * 60_000,
      value: 500 * 2 ** 30 - i * 1024,
    }));
    const trend = fitTrend(points)!;
    // 1 KiB a minute less is 1440 KiB a day less.
    expect(trend.slopePerDay / -1_474_560).toBeCloseTo(1, 9);
    expect(trend.r2).toBeCloseTo(1, 9);
  });

  it("has no R² for a constant series, and no trend without two instants", () => {
    expect(
      fitTrend([
        { at: T0, value: 5 },
        { at: T0 + 1000, value: 5 },
      ]),
    ).toMatchObject({ slopePerDay: 0, r2: null });
    expect(fitTrend([{ at: T0, value: 5 }])).toBeNull();
    expect(
      fitTrend([
        { at: T0, value: 5 },
        { at: T0, value: 6 },
      ]),
    ).toBeNull();
  });
});

describe("summarize", () => {
  it("gives min, mean, max, last and the trend", () => {
    const summary = summarize([
      { at: T0, value: 4 },
      { at: T0 + DAY_MS, value: 1 },
      { at: T0 + 2 * DAY_MS, value: 7 },
    ]);
    expect(summary).toMatchObject({ min: 1, mean: 4, max: 7, last: 7 });
    expect(summary?.trend?.slopePerDay).toBeCloseTo(1.5, 12);
    expect(summarize([])).toBeNull();
  });

  it("leaves out what was not read", () => {
    const readings: { at: number; v: number | null }[] = [
      { at: T0, v: 1 },
      { at: T0 + 1, v: null },
      { at: T0 + 2, v: 3 },
    ];
    const points = pointsOf(readings, (s) => s.v);
    expect(points).toEqual([
      { at: T0, value: 1 },
      { at: T0 + 2, value: 3 },
    ]);
  });
});

describe("shareAtLeast", () => {
  it("counts the values on the threshold", () => {
    const points = [0.1, 0.8, 0.9, 0.2].map((value, i) => ({ at: T0 + i, value }));
    expect(shareAtLeast(points, 0.8)).toBe(0.5);
    expect(shareAtLeast([], 0.8)).toBeNull();
  });
});

describe("formatBytes", () => {
  it("uses binary units", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(64 * 1024 * 1024)).toBe("64.0 MiB");
    expect(formatBytes(-1.5 * 2 ** 30)).toBe("-1.5 GiB");
  });
});
