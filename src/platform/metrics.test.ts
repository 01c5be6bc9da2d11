import { describe, expect, it } from "vitest";
import { createMetrics, createRegistry } from "./metrics.js";

describe("declareSeries", () => {
  it("creates every close series at zero, so increase() counts a strategy's first close", async () => {
    const registry = createRegistry();
    const metrics = createMetrics(registry, { version: "1.2.3", runtime: false });
    metrics.declareSeries({
      strategies: ["trend", "range"],
      instruments: ["BTC-USD"],
      patterns: [],
      results: ["win", "loss", "flat"],
      closeReasons: ["take_profit", "stop_loss"],
      reconcileOutcomes: ["open", "deferred"],
    });
    const closed = (await metrics.operationsClosed.get()).values;
    expect(closed).toHaveLength(2 * 1 * 3 * 2);
    expect(closed.every((sample) => sample.value === 0)).toBe(true);
    expect(closed.map((s) => s.labels)).toContainEqual({
      strategy: "range",
      instrument: "BTC-USD",
      result: "loss",
      close_reason: "stop_loss",
    });
    const submitted = (await metrics.operationsSubmitted.get()).values;
    expect(submitted.map((s) => [s.labels.strategy, s.value])).toEqual([
      ["trend", 0],
      ["range", 0],
    ]);
    const reconciled = (await metrics.reconciliations.get()).values;
    expect(reconciled.map((s) => [s.labels.outcome, s.value])).toEqual([
      ["open", 0],
      ["deferred", 0],
    ]);
  });
});
