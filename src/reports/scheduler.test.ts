import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../../tests/harness.js";
import { ManualClock } from "../platform/clock.js";
import { capturingLogger } from "../platform/logger.fixture.js";
import { createRegistry, type MetricsRegistry } from "../platform/metrics.js";
import type { RenderedReport } from "./format.js";
import { ReportScheduler, type ReportJob, type ReportRecommendation } from "./scheduler.js";

const NOW = Date.parse("2026-12-01T00:05:00Z");

/** A job whose report is its name and the day, with the recommendations given. */
function job(name: string, recommendations: ReportRecommendation[] = []): ReportJob {
  return {
    name,
    make: (day) =>
      Promise.resolve({
        render: (format): Promise<RenderedReport> =>
          Promise.resolve({
            body: `${name} ${day} ${format}`,
            contentType: "text/plain",
            extension: format === "markdown" ? "md" : format,
          }),
        recommendations,
      }),
  };
}

describe("ReportScheduler", () => {
  let dir: string;
  let registry: MetricsRegistry;
  let logs: ReturnType<typeof capturingLogger>;
  let exporter: InMemorySpanExporter;
  let scheduler: ReportScheduler;
  const make = (jobs: ReportJob[], keepDays = 30) => {
    scheduler = new ReportScheduler({
      jobs,
      dir,
      keepDays,
      covers: "yesterday",
      clock: new ManualClock(NOW),
      logger: logs.logger,
      registry,
      tracer: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer(
        "test",
      ),
    });
    return scheduler;
  };

  const runs = async () =>
    (await registry.getSingleMetric("opsguard_report_runs_total")!.get()).values.map((v) => [
      v.labels,
      v.value,
    ]);

  beforeEach(() => {
    dir = join(tempDir("opsguard-reports-"), "reports");
    registry = createRegistry();
    logs = capturingLogger();
    exporter = new InMemorySpanExporter();
  });
  afterEach(async () => {
    await scheduler?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes each report of the day that ended in three formats, private, and announces it", async () => {
    await make([job("performance"), job("logs")]).run("schedule");
    expect(readdirSync(dir).sort()).toEqual([
      "logs-2026-11-30.html",
      "logs-2026-11-30.json",
      "logs-2026-11-30.md",
      "performance-2026-11-30.html",
      "performance-2026-11-30.json",
      "performance-2026-11-30.md",
    ]);
    expect(readFileSync(join(dir, "performance-2026-11-30.html"), "utf8")).toBe(
      "performance 2026-11-30 html",
    );
    expect(statSync(join(dir, "logs-2026-11-30.json")).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const generated = logs.lines.filter((line) => line.event === "report.generated");
    expect(generated.map((line) => [line.report, line.day])).toEqual([
      ["performance", "2026-11-30"],
      ["logs", "2026-11-30"],
    ]);
    expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual([
      "report.generate",
      "report.generate",
    ]);
  });

  it("makes each recommendation a metric, replaced by the next run's", async () => {
    const recommendations: ReportRecommendation[] = [
      { id: "PERF-004", rule: "drawdown-near-limit", severity: "high", subject: "book", title: "t" },
    ];
    const jobs = [job("performance", recommendations)];
    await make(jobs).run("start");
    const text = await registry.getSingleMetricAsString("opsguard_report_recommendation_active");
    expect(text).toContain(
      'opsguard_report_recommendation_active{report="performance",rule="PERF-004",severity="high",subject="book"} 1',
    );
    recommendations.pop();
    await scheduler.run("schedule");
    expect(await registry.getSingleMetricAsString("opsguard_report_recommendation_active")).not.toContain(
      "PERF-004",
    );
    expect(await runs()).toEqual([[{ report: "performance", result: "success" }, 2]]);
  });

  it("counts and logs a report that fails, and still makes the others", async () => {
    const broken: ReportJob = {
      name: "performance",
      make: () => Promise.reject(new Error("database is locked")),
    };
    await make([broken, job("logs")]).run("schedule");
    expect(readdirSync(dir).filter((name) => name.startsWith("logs-"))).toHaveLength(3);
    expect(logs.lines.find((line) => line.event === "report.failed")).toMatchObject({
      report: "performance",
      msg: "the performance report of 2026-11-30 could not be made: database is locked",
    });
    expect(await runs()).toEqual([
      [{ report: "performance", result: "failure" }, 1],
      [{ report: "logs", result: "success" }, 1],
    ]);
  });

  it("deletes the report files older than keepDays, and nothing else", async () => {
    make([job("logs")], 2);
    await scheduler.run("schedule"); // creates the folder
    for (const name of ["logs-2026-11-28.json", "logs-2026-11-29.html", "notes.txt"])
      writeFileSync(join(dir, name), "");
    await scheduler.run("schedule");
    expect(readdirSync(dir).sort()).toEqual([
      "logs-2026-11-29.html",
      "logs-2026-11-30.html",
      "logs-2026-11-30.json",
      "logs-2026-11-30.md",
      "notes.txt",
    ]);
  });
});
