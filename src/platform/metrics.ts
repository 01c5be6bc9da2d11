import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type OpenMetricsContentType,
} from "prom-client";

/** The registry opsguard's metrics live in: it renders OpenMetrics, so exemplars are kept. */
export type MetricsRegistry = Registry<OpenMetricsContentType>;

/** Latency buckets for the request path, in seconds: dense between 1 ms and 100 ms. */
const FAST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** How long operations stay open, in seconds: a second to a day. */
const LIFETIME_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 14_400, 86_400];

/** Values the gauges read at scrape time, so they can never drift from the ledger. */
export interface MetricsState {
  equity: number;
  drawdownRatio: number;
  tradingState: string;
  exposure: ReadonlyMap<string, number>;
  unrealizedPnl: ReadonlyMap<string, number>;
  /** Open operations by strategy and instrument. */
  open: Iterable<{ strategy: string; instrument: string; count: number }>;
  utilization: Readonly<Record<string, number>>;
  /** Executions whose outcome is not known yet, by stage, and when the oldest was sent (ms). */
  unconfirmed: { open: number; close: number; oldestSince: number | null };
  /** Where the executor's circuit breakers stand, by call kind; empty for an executor without. */
  circuits: Readonly<Record<string, "closed" | "open" | "half_open">>;
  /** Now, in ms since the epoch, on the service's clock. */
  now: number;
}

/** The names the config declares: the only values the strategy, instrument and pattern labels take. */
/** The label values known from the config and the domain, whose series exist from the start. */
export interface DeclaredNames {
  strategies: readonly string[];
  instruments: readonly string[];
  patterns: readonly string[];
  /** Results of a close (`win`, `loss`, `flat`). */
  results: readonly string[];
  closeReasons: readonly string[];
  /** Outcomes of a reconciliation. */
  reconcileOutcomes: readonly string[];
}

/** How {@link createMetrics} sets up opsguard's metrics. */
export interface MetricsOptions {
  /** Exported as the `version` label of `opsguard_build_info`. */
  version: string;
  /** Collect the Node.js runtime metrics (event loop, GC, memory). @default true */
  runtime?: boolean;
}

export const TRADING_STATES = ["active", "reducing", "halted"] as const;

/**
 * Every metric opsguard exposes, in one place, registered in the given registry. Names and labels
 * are a contract with the dashboards and alert rules in `grafana/` and `prometheus/`.
 */
export function createMetrics(registry: MetricsRegistry, { version, runtime = true }: MetricsOptions) {
  let state: (() => MetricsState) | undefined;
  let snapshot: MetricsState | undefined;
  const read = (): MetricsState | undefined => snapshot ?? state?.();
  const registers = [registry];

  const metrics = {
    operationsSubmitted: new Counter({
      name: "opsguard_operations_submitted_total",
      help: "Operations accepted by the risk check and sent to execution.",
      labelNames: ["strategy", "instrument"] as const,
      registers,
    }),
    riskRejections: new Counter({
      name: "opsguard_risk_rejections_total",
      help: "Failed risk checks; one rejected operation counts once per failed check.",
      labelNames: ["strategy", "reason"] as const,
      registers,
    }),
    operationsClosed: new Counter({
      name: "opsguard_operations_closed_total",
      help: "Operations closed, by result (win, loss, flat) and reason.",
      labelNames: ["strategy", "instrument", "result", "close_reason"] as const,
      registers,
    }),
    operationsFailed: new Counter({
      name: "opsguard_operations_failed_total",
      help: "Operations whose execution failed, by the stage that failed (open, close, reconcile).",
      labelNames: ["strategy", "stage"] as const,
      registers,
    }),
    submitDuration: new Histogram({
      name: "opsguard_operation_submit_duration_seconds",
      help: "Time to answer an operation submit, by outcome (accepted, rejected, invalid, conflict, failed, unconfirmed, replayed).",
      labelNames: ["outcome"] as const,
      buckets: FAST_BUCKETS,
      enableExemplars: true,
      registers,
    }),
    executionDuration: new Histogram({
      name: "opsguard_execution_duration_seconds",
      help: "Time the executor took, by action (open, close, quote, status).",
      labelNames: ["executor", "action"] as const,
      buckets: FAST_BUCKETS,
      enableExemplars: true,
      registers,
    }),
    executionErrors: new Counter({
      name: "opsguard_execution_errors_total",
      help: "Executor calls that failed, by action.",
      labelNames: ["executor", "action"] as const,
      registers,
    }),
    lifetime: new Histogram({
      name: "opsguard_operation_lifetime_seconds",
      help: "Time from open to close of closed operations.",
      labelNames: ["strategy"] as const,
      buckets: LIFETIME_BUCKETS,
      registers,
    }),
    profit: new Counter({
      name: "opsguard_profit_total",
      help: "Gross profit of winning operations, in account currency.",
      labelNames: ["strategy", "instrument"] as const,
      registers,
    }),
    loss: new Counter({
      name: "opsguard_loss_total",
      help: "Gross loss of losing operations, in account currency (positive).",
      labelNames: ["strategy", "instrument"] as const,
      registers,
    }),
    patternPredictions: new Counter({
      name: "opsguard_pattern_predictions_total",
      help: "Closed operations that carried a pattern: hit when the operation won, miss otherwise.",
      labelNames: ["pattern", "result"] as const,
      registers,
    }),
    interventions: new Counter({
      name: "opsguard_interventions_total",
      help: "Operations the supervisor closed on its own, by reason.",
      labelNames: ["reason"] as const,
      registers,
    }),
    fillsBeyondReservation: new Counter({
      name: "opsguard_fills_beyond_reservation_total",
      help: "Opens that filled at a notional beyond what the risk check reserved (the quote plus risk.maxSlippageBps), by instrument.",
      labelNames: ["instrument"] as const,
      registers,
    }),
    reconciliations: new Counter({
      name: "opsguard_reconciliations_total",
      help: "Executions with an unknown outcome asked about, by what was found (open, closed, failed, still_open) or deferred when the executor did not answer.",
      labelNames: ["outcome"] as const,
      registers,
    }),
    walCheckpoints: new Counter({
      name: "opsguard_wal_checkpoints_total",
      help: "Checkpoints of the database's WAL on the checkpoint thread, by outcome: complete (everything moved into the database), partial (a reader's snapshot or new commits held some back) or failed.",
      labelNames: ["outcome"] as const,
      registers,
    }),
    walCheckpointDuration: new Histogram({
      name: "opsguard_wal_checkpoint_duration_seconds",
      help: "How long a checkpoint of the WAL took on the checkpoint thread, the disk's sync included.",
      buckets: FAST_BUCKETS,
      registers,
    }),
    tradingStateChanges: new Counter({
      name: "opsguard_trading_state_changes_total",
      help: "Changes of the trading state, by new state and trigger (manual, auto).",
      labelNames: ["state", "trigger"] as const,
      registers,
    }),
    httpRequests: new Counter({
      name: "opsguard_http_requests_total",
      help: "HTTP requests answered, by method, route template and status code.",
      labelNames: ["method", "route", "status"] as const,
      registers,
    }),
    httpDuration: new Histogram({
      name: "opsguard_http_request_duration_seconds",
      help: "HTTP request duration, by method and route template.",
      labelNames: ["method", "route"] as const,
      buckets: FAST_BUCKETS,
      registers,
    }),
    logMessages: new Counter({
      name: "opsguard_log_messages_total",
      help: "Log lines written, by level.",
      labelNames: ["level"] as const,
      registers,
    }),
    telemetryDropped: new Counter({
      name: "opsguard_telemetry_dropped_total",
      help: "Log lines and spans dropped because their destination was unreachable or too slow.",
      labelNames: ["signal"] as const,
      registers,
    }),
    /**
     * Creates the series of every declared strategy, instrument and pattern at zero, so that a
     * ratio such as win rate or pattern accuracy has both sides before the first loss or miss, and
     * so that increase() counts the first event of each series too (it cannot count the change that
     * creates a series: a strategy's first win would be missing from its win rate). The closes
     * make 18 series per strategy and instrument.
     */
    declareSeries({
      strategies,
      instruments,
      patterns,
      results,
      closeReasons,
      reconcileOutcomes,
    }: DeclaredNames): void {
      for (const instrument of instruments) metrics.fillsBeyondReservation.inc({ instrument }, 0);
      for (const strategy of strategies) {
        for (const instrument of instruments) {
          for (const counter of [metrics.operationsSubmitted, metrics.profit, metrics.loss]) {
            counter.inc({ strategy, instrument }, 0);
          }
          for (const result of results) {
            for (const close_reason of closeReasons) {
              metrics.operationsClosed.inc({ strategy, instrument, result, close_reason }, 0);
            }
          }
        }
      }
      for (const pattern of patterns) {
        for (const result of ["hit", "miss"]) metrics.patternPredictions.inc({ pattern, result }, 0);
      }
      // increase() cannot count the change that creates a series: the first halt must find it.
      for (const state of TRADING_STATES) {
        for (const trigger of ["manual", "auto"]) metrics.tradingStateChanges.inc({ state, trigger }, 0);
      }
      for (const outcome of reconcileOutcomes) metrics.reconciliations.inc({ outcome }, 0);
    },
    /** Sets where the state-derived gauges read from. */
    setStateSource(source: () => MetricsState): void {
      state = source;
    },
    /**
     * Runs `render` with one reading of the state shared by every state-derived gauge, instead of
     * one reading per gauge (each builds maps from the ledger).
     */
    async withStateSnapshot<T>(render: () => Promise<T>): Promise<T> {
      snapshot = state?.();
      try {
        return await render();
      } finally {
        snapshot = undefined;
      }
    },
  };

  new Gauge({
    name: "opsguard_build_info",
    help: "Always 1; labels carry the version of opsguard and of Node.js.",
    labelNames: ["version", "node_version"] as const,
    registers,
  }).set({ version, node_version: process.version }, 1);

  new Gauge({
    name: "opsguard_equity",
    help: "Starting equity plus realized P&L, in account currency.",
    registers,
    collect() {
      const s = read();
      if (s) this.set(s.equity);
    },
  });
  new Gauge({
    name: "opsguard_drawdown_ratio",
    help: "Fall of equity from its peak, as a ratio of the peak.",
    registers,
    collect() {
      const s = read();
      if (s) this.set(s.drawdownRatio);
    },
  });
  new Gauge({
    name: "opsguard_exposure",
    help: "Notional of pending and open operations (what exposure limits count), in account currency, by instrument.",
    labelNames: ["instrument"] as const,
    registers,
    collect() {
      const s = read();
      if (s) for (const [instrument, value] of s.exposure) this.set({ instrument }, value);
    },
  });
  new Gauge({
    name: "opsguard_unrealized_pnl",
    help: "P&L of open operations at the last supervised price, in account currency, by instrument.",
    labelNames: ["instrument"] as const,
    registers,
    collect() {
      const s = read();
      if (!s) return;
      // Only instruments valued at the last tick: one whose positions all closed must not linger.
      this.reset();
      for (const [instrument, value] of s.unrealizedPnl) this.set({ instrument }, value);
    },
  });
  new Gauge({
    name: "opsguard_operations_open",
    help: "Operations pending or open now: accepted and not yet closed or failed.",
    labelNames: ["strategy", "instrument"] as const,
    registers,
    collect() {
      const s = read();
      if (!s) return;
      this.reset();
      for (const { strategy, instrument, count } of s.open) this.set({ strategy, instrument }, count);
    },
  });
  new Gauge({
    name: "opsguard_risk_limit_utilization_ratio",
    help: "How close each stateful risk limit is to tripping: 0 is unused, 1 is at the limit.",
    labelNames: ["limit"] as const,
    registers,
    collect() {
      const s = read();
      if (s) for (const [limit, value] of Object.entries(s.utilization)) this.set({ limit }, value);
    },
  });
  new Gauge({
    name: "opsguard_trading_state",
    help: "1 for the current trading state, 0 for the others.",
    labelNames: ["state"] as const,
    registers,
    collect() {
      const s = read();
      if (s) for (const name of TRADING_STATES) this.set({ state: name }, s.tradingState === name ? 1 : 0);
    },
  });

  new Gauge({
    name: "opsguard_executions_unconfirmed",
    help: "Opens and closes whose answer was lost: they may have executed, and wait for reconciliation.",
    labelNames: ["stage"] as const,
    registers,
    collect() {
      const s = read();
      if (!s) return;
      this.set({ stage: "open" }, s.unconfirmed.open);
      this.set({ stage: "close" }, s.unconfirmed.close);
    },
  });
  new Gauge({
    name: "opsguard_execution_unconfirmed_age_seconds",
    help: "How long the oldest unconfirmed open or close has waited for reconciliation; 0 when there is none.",
    registers,
    collect() {
      const s = read();
      if (!s) return;
      const since = s.unconfirmed.oldestSince;
      this.set(since === null ? 0 : Math.max(0, s.now - since) / 1000);
    },
  });
  new Gauge({
    name: "opsguard_executor_circuit_open",
    help: "1 while the executor's circuit breaker for a kind of call (quote, open) fails those calls at once, 0.5 while a trial call is let through, 0 when closed.",
    labelNames: ["call"] as const,
    registers,
    collect() {
      const s = read();
      if (!s) return;
      for (const [call, status] of Object.entries(s.circuits)) {
        this.set({ call }, status === "open" ? 1 : status === "half_open" ? 0.5 : 0);
      }
    },
  });

  // Series that dashboards and alerts divide by must exist before the first event.
  for (const signal of ["logs", "traces"]) metrics.telemetryDropped.inc({ signal }, 0);
  for (const level of ["error", "warn", "info", "debug"]) metrics.logMessages.inc({ level }, 0);

  if (runtime) {
    collectDefaultMetrics({ register: registry });
    // These gauges end in _total, which Prometheus reserves for counters (promtool flags them);
    // the same figures remain, broken down by type, in nodejs_active_{handles,requests,resources}.
    for (const name of [
      "nodejs_active_handles_total",
      "nodejs_active_requests_total",
      "nodejs_active_resources_total",
    ]) {
      registry.removeSingleMetric(name);
    }
  }
  standardizeCounterNames(registry);
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * The registry every metric lives in. It renders OpenMetrics, the only format that carries
 * exemplars; `/metrics` converts to the classic text format for scrapers that ask for that.
 */
export function createRegistry(): MetricsRegistry {
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  return registry;
}

/**
 * OpenMetrics names a counter family without `_total` and puts the suffix on its samples.
 * prom-client renames its counters that way on the first OpenMetrics scrape; doing it up front
 * means every rendering, the first included, agrees. Lookups by the `_total` name still work.
 */
export function standardizeCounterNames(registry: MetricsRegistry): void {
  for (const metric of registry.getMetricsAsArray()) {
    // The type declares `name` read-only; prom-client itself assigns it the same way.
    // MetricType is declared as an enum but not exported at run time: compare its string value.
    if ((metric.type as unknown) === "counter")
      (metric as { name: string }).name = metric.name.replace(/_total$/, "");
  }
}
