import { SpanKind, type Tracer } from "@opentelemetry/api";
import { Cron } from "croner";
import { Gauge } from "prom-client";
import { monotonicFactory } from "ulid";
import type { AuditInput } from "../platform/audit.js";
import type { Clock } from "../platform/clock.js";
import type { Logger } from "../platform/logger.js";
import type { MetricsRegistry } from "../platform/metrics.js";
import { inSpan } from "../platform/spans.js";
import { CHECKS, QUICK_CHECKS, type CheckId } from "./catalog.js";
import { recordBaseline, readBaseline, type Baseline } from "./integrity.js";
import {
  CHECK_STATUSES,
  countStatuses,
  SEVERITIES,
  type CheckResult,
  type SecurityReport,
} from "./report.js";
import { runChecks, type CheckContext } from "./run-checks.js";

const nextId = monotonicFactory();

/** Span name and attributes of a run. */
export const SECURITY_SPAN = "security.check";
const ATTR = {
  TRIGGER: "opsguard.security.trigger",
  CRITICAL: "opsguard.security.findings.critical",
  WARNING: "opsguard.security.findings.warning",
  UNAVAILABLE: "opsguard.security.unavailable",
} as const;

/** What the checker works with. */
export interface SecurityCheckerOptions {
  context: CheckContext;
  clock: Clock;
  logger: Logger;
  registry: MetricsRegistry;
  tracer: Tracer;
  /** Records an entry in the audit log, durably. */
  audit: (entry: AuditInput) => Promise<void>;
}

/**
 * Runs the security checks on a schedule and on demand, keeps the latest result of each check,
 * and makes them metrics (`opsguard_security_*`), log lines (`security.*`) and audit entries.
 * A full run is one trace (span `security.check`); the quick checks (audit chain, quick_check)
 * run more often and update their own results in the latest report.
 */
export class SecurityChecker {
  private report: SecurityReport | undefined;
  private readonly latestById = new Map<CheckId, CheckResult>();
  private running: Promise<SecurityReport> | undefined;
  private quickRunning: Promise<CheckResult[]> | undefined;
  private readonly jobs: Cron[] = [];
  private lastRunAt = 0;
  private lastDurationSeconds = 0;
  private scheduled = { checks: false, quick: false };
  private readonly stopping = new AbortController();

  constructor(private readonly options: SecurityCheckerOptions) {
    const registers = [options.registry];
    const latest = () => [...this.latestById.values()];
    new Gauge({
      name: "opsguard_security_check_status",
      help: "1 for the status each security check last had (ok, warning, critical, unavailable), 0 for the others; absent before its first run.",
      labelNames: ["check", "status"],
      registers,
      collect() {
        this.reset();
        for (const result of latest())
          for (const status of CHECK_STATUSES)
            this.set({ check: result.id, status }, result.status === status ? 1 : 0);
      },
    });
    new Gauge({
      name: "opsguard_security_findings",
      help: "Security checks whose last result is a finding, by severity.",
      labelNames: ["severity"],
      registers,
      collect() {
        const counts = countStatuses(latest());
        for (const severity of SEVERITIES) this.set({ severity }, counts[severity]);
      },
    });
    const scheduled = () => this.scheduled;
    new Gauge({
      name: "opsguard_security_check_scheduled",
      help: "1 when the security checks of a kind (checks: every check; quick: audit chain and quick_check) run on a schedule in this process, 0 when not.",
      labelNames: ["kind"],
      registers,
      collect() {
        const { checks, quick } = scheduled();
        this.set({ kind: "checks" }, checks ? 1 : 0);
        this.set({ kind: "quick" }, quick ? 1 : 0);
      },
    });
    const read = () => ({ at: this.lastRunAt, duration: this.lastDurationSeconds });
    new Gauge({
      name: "opsguard_security_check_last_run_timestamp_seconds",
      help: "When every security check last ran, in seconds since the epoch; 0 before the first run.",
      registers,
      collect() {
        this.set(read().at / 1000);
      },
    });
    new Gauge({
      name: "opsguard_security_check_last_duration_seconds",
      help: "How long the last run of every security check took.",
      registers,
      collect() {
        this.set(read().duration);
      },
    });
  }

  /** The latest full report, with the quick checks' results as of their latest run. */
  latest(): SecurityReport | undefined {
    if (!this.report) return undefined;
    return {
      ...this.report,
      results: CHECKS.flatMap(({ id }) => this.latestById.get(id) ?? []),
    };
  }

  /** Runs every check now, or joins the run under way; `actor` (a token id) is who asked. */
  run(trigger: string, actor?: string): Promise<SecurityReport> {
    this.running ??= this.runOnce(trigger, actor ?? "system").finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Runs the quick checks now, or joins the run under way. */
  runQuick(): Promise<CheckResult[]> {
    this.quickRunning ??= runChecks({ ...this.options.context, signal: this.stopping.signal }, QUICK_CHECKS)
      .then((results) => {
        if (this.stopping.signal.aborted) throw new Error("the service is stopping");
        this.keep(results);
        return results;
      })
      .finally(() => {
        this.quickRunning = undefined;
      });
    return this.quickRunning;
  }

  /** Records the integrity baseline of what is on disk now, as `actor` asked. */
  async recordBaseline(actor: string): Promise<Baseline> {
    const { context, logger, clock } = this.options;
    const baseline = await recordBaseline(context.integrity, clock.now());
    const files = Object.keys(baseline.files).length;
    logger.info(`recorded the integrity baseline: ${files} files`, {
      event: "security.baseline_recorded",
      files,
      baselineFile: context.integrity.baselineFile,
    });
    await this.options.audit({
      actor,
      action: "security.baseline",
      target: context.integrity.baselineFile,
      details: { files },
    });
    return baseline;
  }

  /**
   * Runs the checks on their schedules: each also at once, and the integrity baseline is recorded
   * first when there is none (what is installed at the first start is trusted). "off" runs
   * nothing. The run at start waits for `after` (the first backup of a fresh install), so that it
   * does not report a backup missing that is being taken.
   */
  start(schedule: { quick: string; checks: string }, after: Promise<void> = Promise.resolve()): void {
    const { logger } = this.options;
    this.scheduled = { checks: schedule.checks !== "off", quick: schedule.quick !== "off" };
    const failed = (what: string) => (error: unknown) =>
      logger.warn(`${what} did not run: ${(error as Error).message}`, {
        event: "security.check_failed",
        err: error,
      });
    if (schedule.checks !== "off") {
      const full = (trigger: string) => () => void this.run(trigger).catch(failed("the security checks"));
      void this.baselineIfMissing()
        .catch(failed("recording the integrity baseline"))
        .then(() => after)
        .then(full("start"));
      this.jobs.push(new Cron(schedule.checks, { protect: true }, full("schedule")));
    }
    if (schedule.quick !== "off") {
      const quick = () => void this.runQuick().catch(failed("the quick security checks"));
      if (schedule.checks === "off") void after.then(quick);
      this.jobs.push(new Cron(schedule.quick, { protect: true }, quick));
    }
  }

  /**
   * Stops the schedules and `npm audit` at once; a worker still reading files is not waited for
   * (shutdown has a deadline), and what a run finds after this is dropped.
   */
  stop(): Promise<void> {
    for (const job of this.jobs) job.stop();
    this.stopping.abort();
    return Promise.resolve();
  }

  private async baselineIfMissing(): Promise<void> {
    if (readBaseline(this.options.context.integrity).state === "missing") await this.recordBaseline("system");
  }

  private async runOnce(trigger: string, actor: string): Promise<SecurityReport> {
    const { context, clock, logger, tracer } = this.options;
    return inSpan(tracer, SECURITY_SPAN, { kind: SpanKind.INTERNAL, root: true }, async (span) => {
      span.setAttribute(ATTR.TRIGGER, trigger);
      const startedAt = clock.now();
      const began = performance.now();
      logger.info("security checks started", { event: "security.check_started", trigger });
      const results = await runChecks({ ...context, trigger, signal: this.stopping.signal });
      if (this.stopping.signal.aborted) throw new Error("the service is stopping");
      const report: SecurityReport = { id: nextId(), trigger, startedAt, finishedAt: clock.now(), results };
      this.keep(results);
      this.report = report;
      this.lastRunAt = report.finishedAt;
      this.lastDurationSeconds = (performance.now() - began) / 1000;

      const counts = countStatuses(results);
      span.setAttributes({
        [ATTR.CRITICAL]: counts.critical,
        [ATTR.WARNING]: counts.warning,
        [ATTR.UNAVAILABLE]: counts.unavailable,
      });
      const findings = results
        .filter((r) => r.status === "warning" || r.status === "critical")
        .map((r) => r.id);
      logger.info(
        `security checks: ${counts.critical} critical, ${counts.warning} warning, ${counts.unavailable} unavailable, ${counts.ok} ok`,
        {
          event: "security.check_finished",
          trigger,
          ...counts,
          findings,
          durationMs: Math.round(this.lastDurationSeconds * 1000),
        },
      );
      await this.options.audit({
        actor,
        action: "security.check",
        target: report.id,
        details: { trigger, ...counts, findings },
      });
      return this.latest()!;
    });
  }

  /** Keeps each result as its check's latest, logging each change of status once. */
  private keep(results: CheckResult[]): void {
    const { logger } = this.options;
    for (const result of results) {
      const before = this.latestById.get(result.id)?.status;
      this.latestById.set(result.id, result);
      if (before === result.status) continue;
      const fields = { check: result.id, status: result.status, evidence: result.evidence.slice(0, 10) };
      if (result.status === "critical")
        logger.error(`${result.id} ${result.title}: critical`, { event: "security.finding", ...fields });
      else if (result.status === "warning")
        logger.warn(`${result.id} ${result.title}: warning`, { event: "security.finding", ...fields });
      else if (result.status === "unavailable")
        logger.warn(`${result.id} could not run: ${result.reason}`, {
          event: "security.check_unavailable",
          ...fields,
        });
      else if (before)
        logger.info(`${result.id} ${result.title}: ok again`, {
          event: "security.finding_resolved",
          ...fields,
        });
    }
  }
}
