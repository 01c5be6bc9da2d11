import { describe, expect, it } from "vitest";
import { ExposurePeaks } from "./peaks.js";

describe("ExposurePeaks", () => {
  it("records only a day's new highs, in total and by instrument, and starts afresh each UTC day", () => {
    const recorded: string[] = [];
    const peaks = new ExposurePeaks((day, measure, key, value) =>
      recorded.push(`${day} ${measure} ${key} ${value}`),
    );
    const t = Date.parse("2026-11-30T23:59:00Z");
    peaks.observe(t, 100n, "BTC-USD", 100n);
    peaks.observe(t + 1, 150n, "ETH-USD", 50n);
    peaks.observe(t + 2, 120n, "BTC-USD", 70n); // neither a new high
    peaks.observe(t + 3, 180n, "BTC-USD", 130n);
    peaks.observe(t + 60_000, 40n, "BTC-USD", 40n); // the next day
    expect(recorded).toEqual([
      "2026-11-30 exposure_total  100",
      "2026-11-30 exposure_instrument BTC-USD 100",
      "2026-11-30 exposure_total  150",
      "2026-11-30 exposure_instrument ETH-USD 50",
      "2026-11-30 exposure_total  180",
      "2026-11-30 exposure_instrument BTC-USD 130",
      "2026-12-01 exposure_total  40",
      "2026-12-01 exposure_instrument BTC-USD 40",
    ]);
  });
});
