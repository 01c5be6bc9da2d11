import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ScriptedExecutor, startTestApp, submitBody, type TestApp } from "../../tests/harness.js";
import type { PerformanceReport } from "../reports/performance/report.js";
import { runReportCommand } from "./report.js";
import { UsageError } from "./usage-error.js";

describe("opsguard report", () => {
  let t: TestApp;
  let lines: string[];
  const output = () => ({ out: (line: string) => lines.push(line), err: process.stderr });

  beforeEach(async () => {
    lines = [];
    const executor = new ScriptedExecutor();
    t = await startTestApp({}, { executor });
    const opened = await t.call("POST", "/v1/operations", { body: submitBody() });
    const { id } = (await opened.json()) as { id: string };
    executor.setPrice("BTC-USD", 6_510_000n);
    expect((await t.call("POST", `/v1/operations/${id}/close`, { body: {} })).status).toBe(200);
  });
  afterEach(() => t.close());

  it("prints the performance report of the data folder as JSON, beside the running service", async () => {
    expect(await runReportCommand("performance", t.config, { json: true, timeframe: "day" }, output())).toBe(
      0,
    );
    const report = JSON.parse(lines.join("\n")) as PerformanceReport;
    expect(report.book).toMatchObject({ closes: 1, pnl: "10.00", wins: 1 });
  });

  it("refuses an option of another report rather than print a report that ignores it", async () => {
    await expect(runReportCommand("performance", t.config, { window: "24h" }, output())).rejects.toThrow(
      new UsageError("--window is for report logs; report performance takes --timeframe, or --from and --to"),
    );
    await expect(runReportCommand("logs", t.config, { timeframe: "day" }, output())).rejects.toThrow(
      UsageError,
    );
    expect(lines).toEqual([]);
  });

  it("prints a table by default, and writes any format to a private file with --out", async () => {
    await runReportCommand("performance", t.config, {}, output());
    expect(lines.join("\n")).toMatch(/== Summary[\s\S]*book\s+1\s+100\.0%\s+10\.00/);
    const file = join(t.config.dataDir, "report.md");
    await runReportCommand("performance", t.config, { format: "markdown", out: file }, output());
    expect(readFileSync(file, "utf8")).toContain("# opsguard performance report");
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("reads the samples for the system report", async () => {
    t.app.systemSampler.sample();
    await runReportCommand("system", t.config, { timeframe: "day", json: true }, output());
    expect(JSON.parse(lines.join("\n"))).toMatchObject({ kind: "system", samples: { count: 1 } });
  });

  it("reads the log files for the log report", async () => {
    await runReportCommand("logs", t.config, { window: "15m", json: true }, output());
    expect(JSON.parse(lines.join("\n"))).toMatchObject({ kind: "logs", source: { kind: "file" } });
  });

  it("refuses what it cannot do, saying what it expects", async () => {
    await expect(runReportCommand("performance", t.config, { format: "pdf" }, output())).rejects.toThrow(
      UsageError,
    );
    await expect(runReportCommand("weekly", t.config, {}, output())).rejects.toThrow(/usage:/);
    await expect(runReportCommand("performance", t.config, { from: "2026-13-01" }, output())).rejects.toThrow(
      /from must be a date/,
    );
  });
});
