import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../src/platform/clock.js";
import type { PerformanceReport } from "../src/reports/performance/report.js";
import { ScriptedExecutor, startTestApp, submitBody, type TestApp } from "./harness.js";

describe("the daily reports inside the service", () => {
  let t: TestApp | undefined;
  afterEach(() => t?.close());

  it("writes the reports of the day that ended and makes a high recommendation a metric", async () => {
    const clock = new ManualClock(Date.parse("2026-11-30T12:00:00Z"));
    const executor = new ScriptedExecutor(undefined, clock);
    // A drawdown limit of 0.1% (100.00 of 100,000.00): a loss of 90.00 is 90% of it.
    t = await startTestApp(
      { reports: { schedule: "5 0 * * *" }, risk: { maxDrawdown: 0.001 } },
      { executor, clock },
    );
    await t.app.reports.run("test"); // the run at start may still be going: join it
    const opened = await t.call("POST", "/v1/operations", { body: submitBody() });
    const { id } = (await opened.json()) as { id: string };
    executor.setPrice("BTC-USD", 6_410_000n);
    expect((await t.call("POST", `/v1/operations/${id}/close`, { body: {} })).status).toBe(200);

    clock.set(Date.parse("2026-12-01T00:05:00Z"));
    await t.app.reports.run("schedule");
    const dir = join(t.config.dataDir, "reports");
    const files = readdirSync(dir).filter((name) => name.includes("2026-11-30"));
    expect(files.sort()).toEqual([
      "logs-2026-11-30.html",
      "logs-2026-11-30.json",
      "logs-2026-11-30.md",
      "performance-2026-11-30.html",
      "performance-2026-11-30.json",
      "performance-2026-11-30.md",
      "system-2026-11-30.html",
      "system-2026-11-30.json",
      "system-2026-11-30.md",
    ]);
    const report = JSON.parse(
      readFileSync(join(dir, "performance-2026-11-30.json"), "utf8"),
    ) as PerformanceReport;
    expect(report.timeframe).toMatchObject({ first: "2026-11-24", last: "2026-11-30" });
    expect(report.book).toMatchObject({ closes: 1, pnl: "-90.00" });
    expect(report.recommendations.map((r) => r.id)).toEqual(["PERF-004"]);
    expect(readFileSync(join(dir, "performance-2026-11-30.html"), "utf8")).toContain("PERF-004");

    const metrics = await (await t.call("GET", "/metrics")).text();
    expect(metrics).toContain(
      'opsguard_report_recommendation_active{report="performance",rule="PERF-004",severity="high",subject="book"} 1',
    );
    expect(metrics).toMatch(/opsguard_report_scheduled 1/);
  });
});
