import { Counter, Gauge, Histogram } from "prom-client";
import { describe, expect, it } from "vitest";
import { createMetrics, createRegistry, type MetricsRegistry } from "./metrics.js";
import { renderOpenMetrics } from "./metrics-render.js";

/** A registry with every kind of sample opsguard renders, moved so that each has values. */
function populated(): MetricsRegistry {
  const registry = createRegistry();
  const metrics = createMetrics(registry, { version: "1.2.3", runtime: false });
  metrics.declareSeries({
    strategies: ["a", "b"],
    instruments: ["X-1", "Y-2"],
    patterns: ["p"],
    results: ["win", "loss"],
    closeReasons: ["manual"],
    reconcileOutcomes: ["open"],
  });
  metrics.operationsSubmitted.inc({ strategy: "a", instrument: "X-1" }, 3);
  metrics.riskRejections.inc({ strategy: "a", reason: "RATE_LIMITED" });
  // Typed by prom-client as the metric's own labels; opsguard passes the trace id the same way.
  const exemplar: Record<string, string> = { trace_id: "ab12" };
  metrics.submitDuration.observe({
    labels: { outcome: "accepted" },
    value: 0.003,
    exemplarLabels: exemplar,
  });
  metrics.submitDuration.observe({ labels: { outcome: "rejected" }, value: 7, exemplarLabels: {} });
  metrics.lifetime.observe({ strategy: "a" }, 42);
  metrics.setStateSource(() => ({
    equity: 100_000.5,
    drawdownRatio: 0.012,
    tradingState: "active",
    exposure: new Map([["X-1", 1234.56]]),
    unrealizedPnl: new Map([["X-1", -3.5]]),
    open: [{ strategy: "a", instrument: "X-1", count: 2 }],
    utilization: { daily_operations: 0.25 },
    unconfirmed: { open: 1, close: 0, oldestSince: 1_000 },
    circuits: { quote: "open", open: "closed" },
    now: 3_500,
  }));
  // Label values and help text that need escaping, and values that are not finite.
  new Counter({
    name: "test_escapes_total",
    help: "back\\slash and\nnewline",
    labelNames: ["v"],
    registers: [registry],
  }).inc({
    v: 'quote " back\\slash \n newline',
  });
  const gauge = new Gauge({ name: "test_special", help: "h", labelNames: ["n"], registers: [registry] });
  gauge.set({ n: "nan" }, Number.NaN);
  gauge.set({ n: "inf" }, Number.POSITIVE_INFINITY);
  gauge.set({ n: "-inf" }, Number.NEGATIVE_INFINITY);
  new Histogram({ name: "test_empty_seconds", help: "no observation", registers: [registry] });
  return registry;
}

describe("renderOpenMetrics", () => {
  it("renders byte for byte what prom-client renders", async () => {
    const registry = populated();
    const expected = await registry.metrics();
    expect(await renderOpenMetrics(registry)).toBe(expected);
    expect(expected).toContain('# {trace_id="ab12"} 0.003');
    expect(expected).toContain("opsguard_operations_submitted_total{");
  });

  it("keeps matching on later scrapes, after values and series change", async () => {
    const registry = populated();
    await renderOpenMetrics(registry);
    const metrics = registry.getSingleMetric("opsguard_operations_submitted_total") as Counter<
      "strategy" | "instrument"
    >;
    metrics.inc({ strategy: "b", instrument: "Y-2" }, 5);
    metrics.inc({ strategy: "c", instrument: "Z-3" });
    expect(await renderOpenMetrics(registry)).toBe(await registry.metrics());
  });
});
