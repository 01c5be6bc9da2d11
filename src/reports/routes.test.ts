import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ScriptedExecutor, startTestApp, submitBody, type TestApp } from "../../tests/harness.js";
import { ManualClock } from "../platform/clock.js";
import type { LogReportWithSource } from "./logs/service.js";
import type { PerformanceReport } from "./performance/report.js";

describe("GET /v1/reports/performance", () => {
  let t: TestApp;
  let executor: ScriptedExecutor;
  beforeEach(async () => {
    executor = new ScriptedExecutor();
    t = await startTestApp({}, { executor });
  });
  afterEach(() => t.close());

  /** Opens at the current price, moves it by `move` (price units), closes; the operation id. */
  async function trade(body: Record<string, unknown>, move: bigint): Promise<string> {
    const opened = await t.call("POST", "/v1/operations", { body: submitBody(body) });
    expect(opened.status).toBe(201);
    const { id } = (await opened.json()) as { id: string };
    const instrument = (body.instrument as string | undefined) ?? "BTC-USD";
    const before = (await executor.quote(instrument)).price;
    executor.setPrice(instrument, before + move);
    expect((await t.call("POST", `/v1/operations/${id}/close`, { body: {} })).status).toBe(200);
    executor.setPrice(instrument, before);
    return id;
  }

  it("reports the closes booked through the API, the rejections and the recommendations", async () => {
    // BTC-USD at 65,000.00; 0.1 each: +100.00, −50.00 (stop 64,000.00: 100.00 at risk → −0.5 R), +20.00.
    await trade({ strategy: "trend-follow", pattern: "double-bottom", confidence: 0.9 }, 100_000n);
    await trade(
      { strategy: "trend-follow", pattern: "double-bottom", confidence: 0.9, stopLoss: "64000" },
      -50_000n,
    );
    await trade({ strategy: "mean-revert", side: "sell" }, -20_000n);
    const rejected = await t.call("POST", "/v1/operations", { body: submitBody({ size: "1000" }) });
    expect(rejected.status).toBe(422);

    const res = await t.call("GET", "/v1/reports/performance?timeframe=day", { role: "viewer" });
    expect(res.status).toBe(200);
    const report = (await res.json()) as PerformanceReport;
    expect(report.timeframe).toMatchObject({ name: "day", days: 1 });
    expect(report.book).toMatchObject({
      closes: 3,
      wins: 2,
      losses: 1,
      pnl: "70.00",
      grossProfit: "120.00",
      grossLoss: "-50.00",
      averagePnl: "23.33",
      averageWin: "60.00",
      averageLoss: "-50.00",
      profitFactor: 2.4,
      payoffRatio: 1.2,
      equityStart: "100000.00",
      equityEnd: "100070.00",
      longShare: 2 / 3,
      riskedCloses: 1,
      averageR: -0.5,
    });
    expect(report.book.drawdown).toMatchObject({ amount: "50.00", peak: "100100.00" });
    expect(report.byStrategy.map((s) => [s.strategy, s.closes, s.pnl])).toEqual([
      ["trend-follow", 2, "50.00"],
      ["mean-revert", 1, "20.00"],
    ]);
    expect(report.patterns[0]).toMatchObject({ pattern: "double-bottom", closes: 2, hits: 1, hitRate: 0.5 });
    expect(report.risk).toMatchObject({ submits: 4, rejected: 1 });
    expect(report.risk.failedChecks.map((f) => f.code)).toContain("POSITION_SIZE_EXCEEDED");
    expect(report.risk.timeInState.halted).toBe(0);
    // One 0.1 BTC open at a time: the highest exposure is one reservation, at the worst fill it allows.
    const peak = report.risk.utilization.exposureTotal!;
    expect(Number(peak.peak)).toBeGreaterThanOrEqual(6500);
    expect(Number(peak.peak)).toBeLessThan(6600);
    expect(peak.share).toBeCloseTo(Number(peak.peak) / 250_000, 12);
    expect(report.risk.utilization.exposureByInstrument.map((p) => p.instrument)).toEqual(["BTC-USD"]);
    // One day has neither Calmar nor annual growth: a day's result is not annualized.
    expect(report.book).toMatchObject({ sharpe: null, calmar: null, annualGrowth: null });

    // Its HTML says why one day has no curve, not to look at the HTML report.
    const html = await (
      await t.call("GET", "/v1/reports/performance?timeframe=day&format=html", { role: "viewer" })
    ).text();
    expect(html).toContain("No chart over a single day");
    expect(html).not.toContain("Charts are in the HTML report");
    expect(html).toContain("(1 day, UTC)");
  });

  it("counts the time in each trading state from the book's first start, not from midnight", async () => {
    const clock = new ManualClock(Date.parse("2026-12-02T20:00:00Z"));
    const fresh = await startTestApp({}, { executor: new ScriptedExecutor(undefined, clock), clock });
    try {
      clock.set(Date.parse("2026-12-02T20:30:00Z"));
      const res = await fresh.call("GET", "/v1/reports/performance?timeframe=day", { role: "viewer" });
      const report = (await res.json()) as PerformanceReport;
      expect(report.risk.timeInState).toEqual({ active: 30 * 60_000, reducing: 0, halted: 0 });
    } finally {
      await fresh.close();
    }
  });

  it("agrees with the operations it was built from", async () => {
    for (const move of [30_000n, -70_000n, 10_000n, -5_000n]) await trade({}, move);
    const ops = (await (await t.call("GET", "/v1/operations?status=closed", { role: "viewer" })).json()) as {
      items: { pnl: string }[];
    };
    const total = ops.items.reduce((sum, op) => sum + Number(op.pnl), 0);
    const report = (await (
      await t.call("GET", "/v1/reports/performance", { role: "viewer" })
    ).json()) as PerformanceReport;
    expect(Number(report.book.pnl)).toBeCloseTo(total, 10);
    expect(report.book.closes).toBe(ops.items.length);
  });

  it("refuses a timeframe it cannot read, naming the field", async () => {
    const cases: [string, string][] = [
      ["timeframe=year", "timeframe"],
      ["from=2026-02-30", "from"],
      ["from=2026-13-01", "from"],
      ["to=2026-12-00", "to"],
      ["from=2026-12-01&to=2026-11-01", "from"],
      ["to=yesterday", "to"],
      ["timeframe=week&from=2026-11-01", "timeframe"],
    ];
    for (const [query, field] of cases) {
      const res = await t.call("GET", `/v1/reports/performance?${query}`, { role: "viewer" });
      expect(res.status, query).toBe(400);
      expect(JSON.stringify(await res.json()), query).toContain(field);
    }
  });

  it("needs a token", async () => {
    expect((await t.call("GET", "/v1/reports/performance", { role: null })).status).toBe(401);
  });
});

describe("GET /v1/reports/logs", () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp();
    // The recorded lines of 2026-01-05 10:01 to 11:28, as the logger writes them.
    const dir = join(t.config.dataDir, "logs");
    mkdirSync(dir, { recursive: true });
    copyFileSync(
      new URL("./logs/fixtures/opsguard-lines.jsonl", import.meta.url),
      join(dir, "opsguard-2026-01-05.log"),
    );
  });
  afterEach(() => t.close());

  it("analyses the log files of the window, in JSON and as a table", async () => {
    const query = "from=2026-01-05T10:00:00Z&to=2026-01-05T12:00:00Z";
    const res = await t.call("GET", `/v1/reports/logs?${query}`, { role: "viewer" });
    expect(res.status).toBe(200);
    const report = (await res.json()) as LogReportWithSource;
    expect(report).toMatchObject({ kind: "logs", lines: 108, source: { kind: "file" } });
    expect(report.levels.find((l) => l.level === "error")?.count).toBe(12);
    expect(report.rates.errorsPerMinute).toBeCloseTo(12 / 120, 4);
    expect(report.issues.byTemplate.length).toBeGreaterThan(0);
    expect(report.previousWindow.lines).toBe(0);

    const table = await t.call("GET", `/v1/reports/logs?${query}&format=table`, { role: "viewer" });
    expect(table.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await table.text();
    expect(text).toContain("opsguard log report");
    expect(text).toContain("== Most common issues, by message template");
  });

  it("says when there are no log files rather than failing", async () => {
    rmSync(join(t.config.dataDir, "logs"), { recursive: true, force: true });
    const report = (await (
      await t.call("GET", "/v1/reports/logs?window=15m", { role: "viewer" })
    ).json()) as LogReportWithSource;
    expect(report.lines).toBe(0);
    expect(report.source).toMatchObject({ kind: "file", current: { folderMissing: true } });
  });

  it("refuses a window it cannot read, naming the field", async () => {
    const cases: [string, string][] = [
      ["window=2h", "window"],
      ["from=yesterday", "from"],
      ["to=2026-01-05T10:00:00Z", "from"],
      ["from=2026-01-05T12:00:00Z&to=2026-01-05T10:00:00Z", "from"],
      ["from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from"],
      ["window=1h&from=2026-01-05T10:00:00Z", "window"],
      ["format=pdf", "format"],
    ];
    for (const [query, field] of cases) {
      const res = await t.call("GET", `/v1/reports/logs?${query}`, { role: "viewer" });
      expect(res.status, query).toBe(400);
      expect(JSON.stringify(await res.json()), query).toContain(field);
    }
  });

  it("needs a token", async () => {
    expect((await t.call("GET", "/v1/reports/logs", { role: null })).status).toBe(401);
  });
});

describe("GET /v1/reports/system", () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp();
  });
  afterEach(() => t.close());

  it("reports the samples the service took, in JSON and in Markdown", async () => {
    t.app.systemSampler.sample();
    const res = await t.call("GET", "/v1/reports/system?timeframe=day", { role: "viewer" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ kind: "system", samples: { count: 1 } });
    const md = await t.call("GET", "/v1/reports/system?timeframe=day&format=markdown", { role: "viewer" });
    expect(md.headers.get("content-type")).toMatch(/^text\/markdown/);
    expect(await md.text()).toContain("# opsguard system report");
  });

  it("refuses a timeframe it cannot read, and needs a token", async () => {
    const bad = await t.call("GET", "/v1/reports/system?from=2026-13-01", { role: "viewer" });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain("from");
    expect((await t.call("GET", "/v1/reports/system", { role: null })).status).toBe(401);
  });
});
