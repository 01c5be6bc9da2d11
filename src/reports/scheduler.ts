import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SpanKind, type Tracer } from "@opentelemetry/api";
import { Cron } from "croner";
import { Counter, Gauge } from "prom-client";
import type { Clock } from "../platform/clock.js";
import type { Logger } from "../platform/logger.js";
import type { MetricsRegistry } from "../platform/metrics.js";
import { inSpan } from "../platform/spans.js";
import type { RenderedReport, ReportFormat } from "./format.js";
import { addDays } from "./timeframe.js";
import { dayOf } from "./performance/aggregates.js";

/** A recommendation as every report gives it (PERF-…, SYS-…). */
export interface ReportRecommendation {
  id: string;
  rule: string;
  severity: "info" | "warning" | "high";
  subject: string;
  title: string;
}

/** One report of the daily run: how to render it, and the recommendations in it. */
export interface DailyReport {
  render: (format: ReportFormat) => Promise<RenderedReport>;
  recommendations: readonly ReportRecommendation[];
}

/** A report the daily run makes, for the UTC day `day` (the day that just ended). */
export interface ReportJob {
  name: string;
  make(day: string, now: number): Promise<DailyReport>;
}

/** What the scheduler works with. */
export interface ReportSchedulerOptions {
  jobs: ReportJob[];
  /** Where the files go: `<name>-<day>.json`, `.html` and `.md`. */
  dir: string;
  /** Files older than this many days are deleted after each run. */
  keepDays: number;
  /** The day a run covers: the one that ended, or today so far. */
  covers: "yesterday" | "today";
  clock: Clock;
  logger: Logger;
  registry: MetricsRegistry;
  tracer: Tracer;
}

/** Span name and attributes of making one daily report. */
export const REPORT_SPAN = "report.generate";
const ATTR = { NAME: "opsguard.report.name", TRIGGER: "opsguard.report.trigger" } as const;

const FORMATS: ReportFormat[] = ["json", "html", "markdown"];
const FILE = /^([a-z]+)-(\d{4}-\d{2}-\d{2})\.(json|html|md)$/;

/**
 * Makes the daily reports on a schedule (and once at start): each report of the day that ended,
 * written under the data folder in JSON, HTML and Markdown, announced by a `report.generated` log
 * line; each active recommendation becomes `opsguard_report_recommendation_active`.
 */
export class ReportScheduler {
  private readonly latest = new Map<string, readonly ReportRecommendation[]>();
  private readonly lastSuccess = new Map<string, { at: number; seconds: number }>();
  private readonly runs: Counter;
  private job: Cron | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: ReportSchedulerOptions) {
    const registers = [options.registry];
    const latest = this.latest;
    const lastSuccess = this.lastSuccess;
    const scheduled = () => this.job !== undefined;
    new Gauge({
      name: "opsguard_report_recommendation_active",
      help: "1 for each recommendation of the latest daily report, by report, rule, severity and subject (a strategy, pattern, failed check or `book`).",
      labelNames: ["report", "rule", "severity", "subject"],
      registers,
      collect() {
        this.reset();
        for (const [report, recommendations] of latest)
          for (const r of recommendations)
            this.set({ report, rule: r.id, severity: r.severity, subject: r.subject }, 1);
      },
    });
    new Gauge({
      name: "opsguard_report_last_success_timestamp_seconds",
      help: "When each daily report was last made, in seconds since the epoch; absent before the first.",
      labelNames: ["report"],
      registers,
      collect() {
        for (const [report, { at }] of lastSuccess) this.set({ report }, at / 1000);
      },
    });
    new Gauge({
      name: "opsguard_report_last_duration_seconds",
      help: "How long the last making of each daily report took.",
      labelNames: ["report"],
      registers,
      collect() {
        for (const [report, { seconds }] of lastSuccess) this.set({ report }, seconds);
      },
    });
    new Gauge({
      name: "opsguard_report_scheduled",
      help: "1 when the daily reports run on a schedule in this process, 0 when not.",
      registers,
      collect() {
        this.set(scheduled() ? 1 : 0);
      },
    });
    this.runs = new Counter({
      name: "opsguard_report_runs_total",
      help: "Daily reports made, by report and result (success, failure).",
      labelNames: ["report", "result"],
      registers,
    });
  }

  /** The recommendations of the latest daily run, by report. */
  recommendations(): Map<string, readonly ReportRecommendation[]> {
    return new Map(this.latest);
  }

  /** Runs on `schedule` (a cron expression in UTC, or "off"), and once now. */
  start(schedule: string): void {
    if (schedule === "off") return;
    this.job = new Cron(schedule, { protect: true, timezone: "Etc/UTC" }, () => void this.run("schedule"));
    void this.run("start");
  }

  /** Makes every report of the day that ended, or joins the run under way. Never throws. */
  run(trigger: string): Promise<void> {
    this.running ??= this.runOnce(trigger).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.job?.stop();
    return this.running ?? Promise.resolve();
  }

  private async runOnce(trigger: string): Promise<void> {
    const { jobs, clock, logger, tracer, dir } = this.options;
    const now = clock.now();
    const day = this.options.covers === "today" ? dayOf(now) : addDays(dayOf(now), -1);
    // Reports name strategies, amounts and log lines: only the service's user may read them.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const job of jobs) {
      if (this.stopped) return;
      const began = performance.now();
      try {
        const made = await inSpan(
          tracer,
          REPORT_SPAN,
          { kind: SpanKind.INTERNAL, root: true },
          async (span) => {
            span.setAttributes({ [ATTR.NAME]: job.name, [ATTR.TRIGGER]: trigger });
            const result = await job.make(day, now);
            const files: string[] = [];
            for (const format of FORMATS) {
              const rendered = await result.render(format);
              const file = join(dir, `${job.name}-${day}.${rendered.extension}`);
              writeFileSync(file, rendered.body, { mode: 0o600 });
              files.push(file);
            }
            return { result, files };
          },
        );
        const seconds = (performance.now() - began) / 1000;
        this.latest.set(job.name, made.result.recommendations);
        this.lastSuccess.set(job.name, { at: clock.now(), seconds });
        this.runs.inc({ report: job.name, result: "success" });
        logger.info(`${job.name} report of ${day}: ${made.result.recommendations.length} recommendations`, {
          event: "report.generated",
          report: job.name,
          day,
          trigger,
          files: made.files,
          recommendations: made.result.recommendations.map((r) => `${r.id} ${r.subject}`),
          durationMs: Math.round(seconds * 1000),
        });
      } catch (error) {
        this.runs.inc({ report: job.name, result: "failure" });
        logger.warn(`the ${job.name} report of ${day} could not be made: ${(error as Error).message}`, {
          event: "report.failed",
          report: job.name,
          day,
          err: error,
        });
      }
    }
    this.prune(day);
  }

  /** Deletes report files of days more than `keepDays` before `day`; other files are left alone. */
  private prune(day: string): void {
    const oldest = addDays(day, -this.options.keepDays + 1);
    for (const name of readdirSync(this.options.dir)) {
      const match = FILE.exec(name);
      if (match && match[2]! < oldest) rmSync(join(this.options.dir, name), { force: true });
    }
  }
}
