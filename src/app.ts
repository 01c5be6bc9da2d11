import { join } from "node:path";
import { readFileSync } from "node:fs";
import { OpenAPIHono } from "@hono/zod-openapi";
import { requestId } from "hono/request-id";
import type { Config } from "./config/schema.js";
import { createExecutor } from "./execution/create.js";
import type { Executor } from "./execution/executor.js";
import { instrumentExecutor } from "./execution/instrumented.js";
import { authenticate, bearerGuard } from "./http/auth.js";
import type { AppEnv } from "./http/env.js";
import { exactJsonBody, limitBody } from "./http/json-body.js";
import { httpMetrics } from "./http/metrics.js";
import { metricsEndpoint } from "./http/metrics-endpoint.js";
import { serverSpan } from "./http/server-span.js";
import { createErrorHandler, notFoundHandler, validationHook } from "./http/problem.js";
import { TokenStore } from "./http/tokens.js";
import { OperationRepository } from "./operations/repository.js";
import { operationRoutes } from "./operations/routes.js";
import { OperationsService } from "./operations/service.js";
import { Supervisor } from "./operations/supervisor.js";
import { AuditLog } from "./platform/audit.js";
import { SYSTEM_CLOCK, type Clock } from "./platform/clock.js";
import { openDatabase, type Db } from "./platform/db.js";
import { WalCheckpointer } from "./platform/wal-checkpoint.js";
import { describeStorageError } from "./platform/storage.js";
import { GroupCommit } from "./platform/group-commit.js";
import { toNumber } from "./platform/fixed-point.js";
import { createLogging, type Logger } from "./platform/logger.js";
import {
  createMetrics,
  createRegistry,
  standardizeCounterNames,
  type Metrics,
  type MetricsRegistry,
} from "./platform/metrics.js";
import { BackupManager } from "./maintenance/backups.js";
import { registerMaintenanceMetrics } from "./maintenance/metrics.js";
import type { BackupRepository } from "./maintenance/repository.js";
import { maintenanceRoutes } from "./maintenance/routes.js";
import { startMaintenance, type MaintenanceSchedule } from "./maintenance/scheduler.js";
import { createBackupRepository } from "./maintenance/create.js";
import { AuditChainWatch } from "./security/audit-chain.js";
import { stopWorkers } from "./maintenance/off-thread.js";
import { SecurityChecker } from "./security/checker.js";
import { staticContext } from "./security/context.js";
import type { CheckContext } from "./security/run-checks.js";
import { auditRoutes, securityRoutes } from "./security/routes.js";
import { dailyReportJobs } from "./reports/jobs.js";
import { reportRoutes } from "./reports/routes.js";
import { ReportScheduler } from "./reports/scheduler.js";
import { SystemSampler } from "./reports/system/sampler.js";
import { registerDiskMetrics } from "./platform/disk-metrics.js";
import { readDiskUsage } from "./platform/disk-usage.js";
import { startTracing, type Tracing } from "./platform/tracing.js";
import { VERSION } from "./platform/version.js";
import { drawdownRatio } from "./risk/evaluate.js";
import type { RiskLedger } from "./risk/ledger.js";
import { buildLimits, RATIO_SCALE, type RiskLimits } from "./risk/limits.js";
import { loadLedger } from "./risk/load-ledger.js";
import { RiskRepository } from "./risk/repository.js";
import { riskRoutes } from "./risk/routes.js";
import { CLOSE_REASONS, OPERATION_RESULTS } from "./operations/model.js";
import { DomainError, StartupError } from "./platform/errors.js";
import { describeUndeclared, operationsOnUndeclaredInstruments } from "./operations/undeclared.js";
import { RECONCILE_OUTCOMES } from "./operations/reconciliation.js";
import { EventLog } from "./events/log.js";
import { LimitWatch } from "./events/limit-watch.js";
import { createEventMetrics } from "./events/metrics.js";
import { createGlobalBudget } from "./global/budget.js";
import { EventRetention } from "./events/retention.js";
import { eventRoutes } from "./events/routes.js";
import { EventStreams } from "./events/streams.js";
import { WebhookDeliveries } from "./events/webhooks/deliveries.js";
import { readWebhookSecrets } from "./events/webhooks/secrets.js";

/** What tests and the CLI may substitute; everything else comes from the config. */
export interface AppOverrides {
  clock?: Clock;
  logger?: Logger;
  /** The config file in use: backed up with the database. */
  configPath?: string;
  /** The backup repository; restic with the `backup.*` settings by default. */
  backupRepository?: BackupRepository;
  executor?: Executor;
  /** Database path; defaults to `<dataDir>/opsguard.db`. */
  databasePath?: string;
  /** Called when the process can no longer trust its state (a failed commit). @default log and exit 1 */
  onFatal?: (error: unknown) => void;
  /** Parts of what the security checks look at: the application folder, the user id, … */
  security?: Partial<CheckContext>;
  /** Collect Node runtime metrics. @default true */
  runtimeMetrics?: boolean;
}

/** The running parts of opsguard, built and wired from one validated config. */
export interface OpsguardApp {
  http: OpenAPIHono<AppEnv>;
  db: Db;
  registry: MetricsRegistry;
  tracing: Tracing;
  metrics: Metrics;
  logger: Logger;
  tokens: TokenStore;
  audit: AuditLog;
  service: OperationsService;
  supervisor: Supervisor;
  ledger: RiskLedger;
  limits: RiskLimits;
  executor: Executor;
  /** Backups, restore drills and repository checks. */
  backups: BackupManager;
  /** Verifications of the audit log's hash chain. */
  auditChain: AuditChainWatch;
  /** The security checks, on their schedules and on demand. */
  security: SecurityChecker;
  /** The daily reports, on their schedule. */
  reports: ReportScheduler;
  /** Samples of the process and the host for the system report, taken while started. */
  systemSampler: SystemSampler;
  /** Moves the WAL into the database on a thread of its own. */
  checkpointer: WalCheckpointer;
  /** Operation and account events, recorded with each change. */
  events: EventLog;
  /** The clients of `GET /v1/events`. */
  streams: EventStreams;
  /** The outgoing webhooks: the events POSTed, signed, to each endpoint of `webhooks.endpoints`. */
  webhooks: WebhookDeliveries;
  /** Starts supervising and reconciles what a previous process left unknown; then it is ready. */
  start(): Promise<void>;
  /**
   * Stops supervising, exports the spans still queued (giving up after `deadlineMs`, default 5 s)
   * and closes the database.
   */
  stop(deadlineMs?: number): Promise<void>;
  /**
   * Writes out the log file and pushes the lines buffered for Loki, giving up after `deadlineMs`
   * even when Loki hangs; then only the console is left. Call it last at shutdown.
   */
  flushLogs(deadlineMs: number): Promise<void>;
  readonly ready: boolean;
}

/** `service.name` of traces and the `service` label of logs. */
export const SERVICE_NAME = "opsguard";
/** How long a process stopping on a failed commit waits for its last log lines to be written. */
const FATAL_FLUSH_DEADLINE_MS = 2_000;
/** How long shutdown waits for spans and log lines to reach their destination. */
const DEFAULT_FLUSH_DEADLINE_MS = 5_000;

/** The path of the database file under the data folder. */
export function databasePath(config: Config): string {
  return join(config.dataDir, "opsguard.db");
}

/** The composition root: builds every part from the config and wires them together. */
export function createApp(config: Config, overrides: AppOverrides = {}): OpsguardApp {
  const clock = overrides.clock ?? SYSTEM_CLOCK;
  // Read once, before anything is opened: a missing secret stops the start with the key to fix.
  const webhookSecrets = readWebhookSecrets(config.webhooks.endpoints, process.env);
  const registry = createRegistry();
  const metrics = createMetrics(registry, { version: VERSION, runtime: overrides.runtimeMetrics ?? true });
  const tracing = startTracing({
    config: config.telemetry.traces,
    service: SERVICE_NAME,
    version: VERSION,
    env: config.env,
    onDropped: (count) => metrics.telemetryDropped.inc({ signal: "traces" }, count),
  });
  const { tracer } = tracing;
  const logging = overrides.logger
    ? { logger: overrides.logger, close: () => Promise.resolve() }
    : createLogging({
        config: config.logging,
        dataDir: config.dataDir,
        env: config.env,
        service: SERVICE_NAME,
        onLine: (level) => metrics.logMessages.inc({ level }),
        onDropped: (lines) => metrics.telemetryDropped.inc({ signal: "logs" }, lines),
      });
  const { logger } = logging;
  const dbPath = overrides.databasePath ?? databasePath(config);
  const inMemory = dbPath === ":memory:";
  // Commits never checkpoint: the WAL is moved into the database on a thread of its own.
  const db = openDatabase({ path: dbPath, autoCheckpoint: inMemory });
  const checkpointer = new WalCheckpointer({
    path: dbPath,
    intervalMs: config.database.checkpointIntervalMs,
    logger,
    onResult: ({ outcome }, seconds) => {
      metrics.walCheckpoints.inc({ outcome });
      if (outcome !== "failed") metrics.walCheckpointDuration.observe(seconds);
    },
  });
  for (const outcome of ["complete", "partial", "failed"] as const)
    metrics.walCheckpoints.inc({ outcome }, 0);
  let failing = false;
  const commits = new GroupCommit(
    db,
    overrides.onFatal ??
      ((error) => {
        if (failing) return;
        failing = true;
        ready = false;
        // Memory already holds what the lost batch wrote; only a restart makes the two agree again.
        const why = describeStorageError(error, dbPath);
        process.stderr.write(`opsguard: a database commit failed, stopping: ${why}\n`);
        logger.error("a database commit failed; stopping so that the next start rebuilds from the database", {
          event: "db.commit_failed",
          reason: why,
          error,
        });
        // The line that says why must reach its outputs (the file, Loki) before the process ends.
        void logging.close(FATAL_FLUSH_DEADLINE_MS).finally(() => process.exit(1));
      }),
  );
  const events = new EventLog(db, commits, clock, logger);
  const audit = new AuditLog(db, clock);
  const tokens = new TokenStore(db, clock);
  const limits = buildLimits(config);
  const repo = new OperationRepository(db);
  const stranded = describeUndeclared(operationsOnUndeclaredInstruments(repo.listLive(), limits.instruments));
  if (stranded) {
    db.close();
    throw new StartupError(stranded);
  }
  const riskRepo = new RiskRepository(db);
  const ledger = loadLedger(repo, riskRepo, limits, clock);
  const limitWatch = new LimitWatch(events, () => ledger.utilization(), config.events.limitThresholds);
  commits.beforeCommit(() => limitWatch.check());
  const executor = instrumentExecutor(
    overrides.executor ?? createExecutor(config, { db, commits, clock, logger }),
    metrics,
    tracer,
  );
  const global = createGlobalBudget(config, { registry, clock, logger, commits });
  const service = new OperationsService({
    global,
    commits,
    repo,
    riskRepo,
    ledger,
    limits,
    executor,
    audit,
    events,
    metrics,
    logger,
    clock,
    tracer,
    flattenOnAutoHalt: config.risk.flattenOnAutoHalt,
    reconcileAfterMs: config.executor.reconcileAfterMs,
  });
  // The composition root hands restic the backend credentials of the process's environment.
  const backupSetup = overrides.backupRepository
    ? { repository: overrides.backupRepository, settings: undefined }
    : createBackupRepository(config, process.env, logger);
  const backups = new BackupManager({
    config: config.backup,
    dataDir: config.dataDir,
    db,
    commits,
    databasePath: dbPath,
    restic: backupSetup.repository,
    clock,
    logger,
    tracer,
    instance: backupSetup.settings?.instance ?? config.backup.instance ?? "opsguard",
    repositoryPath: backupSetup.settings?.local ? backupSetup.settings.repository : undefined,
    configPath: overrides.configPath,
  });
  let schedule: MaintenanceSchedule | undefined;
  const auditChain = new AuditChainWatch({ databasePath: dbPath, clock, logger, registry });
  const security = new SecurityChecker({
    context: {
      ...staticContext({
        config,
        configPath: overrides.configPath,
        databasePath: dbPath,
        env: process.env,
        clock,
      }),
      tokens: () => tokens.list(),
      lastBackupAt: () => backups.runs.summary("backup").lastSuccess?.finishedAt ?? undefined,
      auditChain: (full) => auditChain.verify(full),
      ...overrides.security,
    },
    clock,
    logger,
    registry,
    tracer,
    audit: async (entry) => {
      commits.write(() => audit.append(entry));
      await commits.durable();
    },
  });
  const reports = new ReportScheduler({
    jobs: dailyReportJobs(dbPath, config),
    dir: config.reports.dir ?? join(config.dataDir, "reports"),
    keepDays: config.reports.keepDays,
    covers: config.reports.covers,
    clock,
    logger,
    registry,
    tracer,
  });
  registerMaintenanceMetrics(registry, () => ({
    summary: (kind) => backups.runs.summary(kind),
    scheduled: (kind) => config.backup.enabled && config.backup.schedule[kind] !== "off",
  }));
  const streams = new EventStreams(events, config.events, createEventMetrics(registry));
  const retention = new EventRetention({
    log: events,
    commits,
    clock,
    logger,
    retentionMs: config.events.retentionHours * 3_600_000,
  });
  const webhooks = new WebhookDeliveries({
    config: config.webhooks,
    secrets: webhookSecrets,
    log: events,
    db,
    commits,
    clock,
    logger,
    registry,
  });
  standardizeCounterNames(registry);

  const supervisor = new Supervisor({
    service,
    executor,
    limits,
    clock,
    logger,
    tracer,
    intervalMs: config.supervisor.monitorIntervalMs,
  });
  registerDiskMetrics(registry, () => readDiskUsage(dbPath));
  // Samples for the system report (src/reports/system), one row a minute by default.
  const systemSampler = new SystemSampler({
    db,
    databasePath: dbPath,
    clock,
    logger,
    openOperations: () => {
      let open = 0;
      for (const { count } of ledger.view().open) open += count;
      return open;
    },
    settings: config.reports.system,
  });

  metrics.declareSeries({
    strategies: config.strategies,
    instruments: Object.keys(config.instruments),
    patterns: config.patterns,
    results: OPERATION_RESULTS,
    closeReasons: CLOSE_REASONS,
    reconcileOutcomes: RECONCILE_OUTCOMES,
  });
  metrics.setStateSource(() => {
    const view = ledger.view();
    const m = limits.moneyScale;
    return {
      equity: toNumber(ledger.equity, m),
      drawdownRatio: toNumber(drawdownRatio(ledger.equity, ledger.state.peakEquity), RATIO_SCALE),
      tradingState: ledger.tradingState,
      exposure: new Map(
        [...limits.instruments.keys()].map((i) => [i, toNumber(view.exposureByInstrument.get(i) ?? 0n, m)]),
      ),
      unrealizedPnl: supervisor.unrealized,
      open: view.open,
      utilization: ledger.utilization(),
      unconfirmed: service.unconfirmed(),
      circuits: executor.circuits?.() ?? {},
      now: clock.now(),
    };
  });

  let ready = false;
  const http = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  http.onError(createErrorHandler(logger));
  http.notFound(notFoundHandler);
  // Outermost, so the SERVER span covers everything below it; without an exporter there is no
  // span to record, and the middleware is left out.
  if (tracing.enabled) {
    http.use(serverSpan(tracer, { untracedPaths: config.telemetry.traces.untracedPaths }));
  }
  http.use(requestId());
  http.use(httpMetrics(metrics));

  http.get("/healthz", (c) => c.json({ status: "ok" }));
  http.get("/readyz", (c) => {
    if (!ready) return c.json({ status: "starting" }, 503);
    db.prepare("SELECT 1").get();
    return c.json({ status: "ready", tradingState: ledger.tradingState });
  });
  const { bearerTokenFile } = config.metrics;
  if (bearerTokenFile) {
    const metricsToken = readFileSync(bearerTokenFile, "utf8").trim();
    // A configured but empty file must stop the start, never leave /metrics open.
    if (metricsToken === "") throw new Error(`metrics.bearerTokenFile ${bearerTokenFile} is empty`);
    http.use("/metrics", bearerGuard(metricsToken));
  }
  http.get("/metrics", metricsEndpoint(registry, metrics));

  http.use("/v1/*", authenticate({ tokens, enabled: config.auth.enabled }));
  // After authentication: a caller without a valid token never gets a body read.
  http.use("/v1/*", limitBody({ maxBytes: config.server.maxBodyBytes }));
  http.use("/v1/*", exactJsonBody({ maxBytes: config.server.maxBodyBytes }));
  http.use("/v1/*", async (_c, next) => {
    // Memory and the database disagree after a failed commit: nothing more is served.
    if (failing) throw new DomainError("NOT_READY", "opsguard is stopping after a failed database commit");
    await next();
  });
  http.use("/v1/operations", async (c, next) => {
    // New operations wait until what a previous run left unknown has been asked about once.
    if (c.req.method === "POST" && !ready) {
      c.header("retry-after", "1");
      throw new DomainError(
        "NOT_READY",
        "opsguard is starting: it reconciles what the last run left unknown",
      );
    }
    await next();
  });
  http.route("/", operationRoutes({ service, repo, limits }));
  http.route(
    "/",
    eventRoutes({
      streams,
      gzipStreams: config.events.gzip,
      strategies: config.strategies,
      instruments: Object.keys(config.instruments),
    }),
  );
  http.route("/", riskRoutes({ ledger, limits, service, currency: config.accounting.currency }));
  http.route("/", maintenanceRoutes({ manager: backups, logger }));
  http.route("/", auditRoutes({ audit, watch: auditChain }));
  http.route("/", securityRoutes({ checker: security }));
  http.route("/", reportRoutes({ databasePath: dbPath, config, clock }));

  http.openAPIRegistry.registerComponent("securitySchemes", "Bearer", {
    type: "http",
    scheme: "bearer",
    description: "A token from `opsguard token create --role <viewer|operator|admin>`.",
  });
  http.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "opsguard",
      version: VERSION,
      description:
        "Runs risk-bearing operations behind hard risk controls. Errors are RFC 9457 problem+json.",
    },
  });

  return {
    http,
    db,
    registry,
    tracing,
    metrics,
    logger,
    tokens,
    audit,
    service,
    supervisor,
    ledger,
    limits,
    executor,
    backups,
    auditChain,
    security,
    reports,
    systemSampler,
    checkpointer,
    events,
    streams,
    webhooks,
    flushLogs: (deadlineMs) => logging.close(deadlineMs),
    get ready() {
      return ready;
    },
    async start() {
      // Supervision starts at once: open operations' stops are watched while the executor is
      // asked about the rest.
      supervisor.start();
      await service.reconcileUnresolved();
      // Before ready: what a crash or an outage left in the firm-wide limits is settled first.
      await global?.start({ live: () => service.live(), get: (id) => repo.get(id) });
      ready = true;
      if (config.backup.enabled) schedule = startMaintenance(backups, config.backup, logger);
      security.start(config.security.schedule, schedule?.firstBackup);
      systemSampler.start();
      reports.start(config.reports.schedule);
      if (!inMemory) checkpointer.start();
      streams.start();
      retention.start();
      webhooks.start();
    },
    async stop(deadlineMs = DEFAULT_FLUSH_DEADLINE_MS) {
      ready = false;
      streams.close();
      schedule?.stop();
      await retention.stop();
      // An endpoint's request in flight is aborted; its events stay stored for the next start.
      await webhooks.stop();
      await supervisor.stop();
      // What the last closes give back, if PostgreSQL answers; the next start settles the rest.
      await global?.close();
      // A backup, drill or check under way is stopped, not waited for.
      await backups.stop();
      await security.stop();
      await reports.stop();
      systemSampler.stop();
      await auditChain.stop();
      // Nothing is left to run in the worker threads; idle ones would hold the process open.
      await stopWorkers();
      // Start-up reconciliations may still be out; each is bounded by the executor's deadlines.
      await Promise.allSettled(service.reconciling());
      await executor.stop?.();
      await tracing.shutdown(deadlineMs);
      await checkpointer.stop();
      // Rows of the last turn, if its commit has not run yet; closing would roll them back.
      commits.commit();
      // The last connection to close moves the whole WAL into the database and removes it.
      db.close();
    },
  };
}
