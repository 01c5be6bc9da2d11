import { monotonicFactory } from "ulid";
import { ExecutionError, type Executor, type Fill } from "../execution/executor.js";
import type { Clock } from "../platform/clock.js";
import { DomainError } from "../platform/errors.js";
import { multiply } from "../platform/fixed-point.js";
import { pooledRandom } from "../platform/random-pool.js";
import { dbWrite } from "../platform/spans.js";
import { traceExemplar } from "../platform/tracing.js";
import { isExitReason, type CloseReason, type Operation } from "./model.js";
import type { SubmitOperationBody } from "./schemas.js";
import { bookClose, type BookDeps } from "./book.js";
import { failPending } from "./fail.js";
import { tracked } from "./in-flight.js";
import { refused, unconfirmed } from "./outcomes.js";
import { ReconcileSchedule, type ReconcileOutcome, type UnconfirmedView } from "./reconciliation.js";
import { checkRisk } from "./risk-check.js";
import { hashRequest, parseAmounts, pendingOperation, submitOutcome } from "./submit-input.js";
import { recordTradingState, type TradingStateChange, type TradingStateDeps } from "./trading-state.js";

export type { TradingStateChange } from "./trading-state.js";

/**
 * What the service works with. Every write goes through `commits`; executions and answers wait
 * for its commits.
 */
export interface OperationsDeps extends BookDeps, TradingStateDeps {
  executor: Executor;
  clock: Clock;
  /** Close every open operation when trading is halted automatically. */
  flattenOnAutoHalt: boolean;
  /** How long after an unconfirmed execution the executor is asked what happened. */
  reconcileAfterMs: number;
}

/** Who asked: a token id, `supervisor` or `system`. */
export type Actor = string;

/** What a submit returns: the operation, and whether it already existed (an idempotent replay). */
export interface SubmitResult {
  operation: Operation;
  replayed: boolean;
}

/**
 * Submits, executes, closes and reconciles operations. Every decision that must not race is taken
 * synchronously between two awaits (the risk check, the reservation and the pending row are one
 * step), so concurrent requests cannot both spend the same limit.
 *
 * Rows are written at once but committed with the other writes of the same event-loop turn (see
 * {@link GroupCommit}); nothing is executed and nothing is answered before the rows it depends on
 * are committed, so a crash can only forget what never had a consequence.
 */
export class OperationsService {
  /** Open operations, by id: what the supervisor watches. */
  readonly open = new Map<string, Operation>();
  private readonly opening = new Map<string, Promise<Operation>>();
  private readonly closing = new Map<string, Promise<Operation>>();
  /** Executions whose outcome is unknown (left by a crash, or unconfirmed) and when to ask. */
  private readonly schedule: ReconcileSchedule;
  private readonly nextId = monotonicFactory(pooledRandom());

  constructor(private readonly deps: OperationsDeps) {
    this.schedule = new ReconcileSchedule({
      clock: deps.clock,
      logger: deps.logger,
      metrics: deps.metrics,
      delayMs: deps.reconcileAfterMs,
      resolve: (op) => this.reconcile(op),
    });
    for (const op of deps.repo.listLive())
      (op.status === "open" ? this.open : this.schedule.pending).set(op.id, op);
  }

  /**
   * Starts reconciling every execution whose outcome is unknown and due to be asked about:
   * pending operations, and open ones whose close was requested and is not under way. Returns
   * them without waiting; each settles once answered or deferred to the next call.
   */
  reconcileDue(): Promise<void>[] {
    const candidates: Operation[] = [...this.schedule.pending.values()];
    for (const op of this.open.values()) {
      if (op.closeRequestedAt !== null && !this.closing.has(op.id)) candidates.push(op);
    }
    return this.schedule.start(candidates);
  }

  /** Reconciles what is due (see {@link reconcileDue}) and waits for the answers. */
  async reconcileUnresolved(): Promise<void> {
    await Promise.all(this.reconcileDue());
  }

  /** Reconciliations under way, for a shutdown to wait for. */
  reconciling(): Promise<void>[] {
    return this.schedule.inFlight();
  }

  /** Executions whose outcome is not known yet, for the metrics. */
  unconfirmed(): UnconfirmedView {
    let oldestSince: number | null = null;
    const older = (at: number | null): void => {
      if (at !== null && (oldestSince === null || at < oldestSince)) oldestSince = at;
    };
    for (const op of this.schedule.pending.values()) older(op.createdAt);
    let close = 0;
    for (const op of this.open.values()) {
      if (op.closeRequestedAt === null || this.closing.has(op.id)) continue;
      close++;
      older(op.closeRequestedAt);
    }
    return { open: this.schedule.pending.size, close, oldestSince };
  }

  /** Validates, risk-checks, persists and executes a new operation, or replays an existing one. */
  async submit(body: SubmitOperationBody, actor: Actor): Promise<SubmitResult> {
    const started = performance.now();
    const observe = (outcome: string): void =>
      this.deps.metrics.submitDuration.observe({
        labels: { outcome },
        value: (performance.now() - started) / 1000,
        // The request's trace, so a slow bucket in Grafana links to a trace that shows why.
        exemplarLabels: traceExemplar(),
      });
    try {
      const result = await this.submitOnce(body, actor);
      observe(result.replayed ? "replayed" : "accepted");
      return result;
    } catch (error) {
      observe(submitOutcome(error));
      throw error;
    }
  }

  private async submitOnce(body: SubmitOperationBody, actor: Actor): Promise<SubmitResult> {
    const { repo, ledger, limits, executor, metrics, clock } = this.deps;
    const existing = repo.findByClientId(body.strategy, body.clientId);
    const requestHash = hashRequest(body);
    if (existing) return this.replay(existing, requestHash);

    const scales = limits.instruments.get(body.instrument);
    const parsed = scales ? parseAmounts(body, scales.price, scales.size) : undefined;
    if (parsed && parsed.problems.length > 0) {
      throw new DomainError("VALIDATION_FAILED", "the operation has invalid amounts", parsed.problems);
    }
    const withinRate = ledger.takeSubmitToken(body.strategy);
    let price: bigint | null = null;
    if (scales) {
      try {
        price = (await executor.quote(body.instrument)).price;
      } catch (error) {
        throw new DomainError("EXECUTOR_UNAVAILABLE", "no quote from the executor", [], { cause: error });
      }
    }

    // From here to the pending row nothing awaits: check, reservation and write are one step.
    const again = repo.findByClientId(body.strategy, body.clientId);
    if (again) return this.replay(again, requestHash);
    const usage = ledger.usage(body.strategy, body.instrument, withinRate);
    const request = {
      strategy: body.strategy,
      instrument: body.instrument,
      pattern: body.pattern ?? null,
      side: body.side,
      size: parsed?.size ?? "auto",
      stopLoss: parsed?.stopLoss ?? null,
      takeProfit: parsed?.takeProfit ?? null,
      price,
    } as const;
    const decision = checkRisk(this.deps, request, usage, body.clientId);

    const now = clock.now();
    const op = pendingOperation({ id: this.nextId(now), body, parsed, decision, requestHash, now });
    dbWrite(this.deps.tracer, "operation.submit", () =>
      this.deps.commits.write(() => {
        repo.insertPending(op);
        this.deps.audit.append({
          actor,
          action: "operation.submit",
          target: op.id,
          details: { clientId: op.clientId },
        });
      }),
    );
    ledger.reserve(op);
    metrics.operationsSubmitted.inc({ strategy: op.strategy, instrument: op.instrument });

    return { operation: await tracked(this.opening, op.id, this.executeOnceRecorded(op)), replayed: false };
  }

  /**
   * Closes an open operation at the executor and books its P&L. Closing a closed one returns it.
   * When an earlier close of it is unconfirmed (its answer was lost, here or before a restart),
   * this is a retry of that close: the reason stays the first one's, and a refusal of the retry
   * says nothing about the earlier attempt, so the request is kept for reconciliation.
   */
  async close(id: string, reason: CloseReason, actor: Actor): Promise<Operation> {
    const inFlight = this.closing.get(id);
    if (inFlight) return inFlight;
    const op = this.open.get(id) ?? this.deps.repo.get(id);
    if (!op) throw new DomainError("NOT_FOUND", `no operation ${id}`);
    if (op.status === "closed") return op;
    if (op.status !== "open") {
      throw new DomainError("INVALID_STATE", `operation ${id} is ${op.status}; only open operations close`);
    }
    const retry = op.closeRequestedAt !== null;
    const now = this.deps.clock.now();
    dbWrite(this.deps.tracer, "operation.close_request", () =>
      this.deps.commits.write(() => {
        if (!retry) this.deps.repo.requestClose(id, reason, now);
        this.deps.audit.append({
          actor,
          action: "operation.close",
          target: id,
          details: retry ? { reason, retryOf: op.closeReason } : { reason },
        });
      }),
    );
    if (!retry) {
      op.closeRequestedAt = now;
      op.closeReason = reason;
    }
    return tracked(this.closing, id, this.finishClose(op, op.closeReason ?? reason, actor, retry));
  }

  /** Whether a close of `id` is under way in this process. */
  isClosing(id: string): boolean {
    return this.closing.has(id);
  }

  /**
   * Finishes what is unknown about `op`: a pending operation is opened, booked or failed according
   * to what the executor knows; a requested close is booked, or sent again. The executor is
   * idempotent by operation id, so asking again never executes twice. Throws when the executor
   * does not answer; the operation stays as it is for the next pass.
   */
  async reconcile(op: Operation): Promise<ReconcileOutcome> {
    const outcome = await this.reconcileOnce(op);
    await this.deps.commits.durable();
    return outcome;
  }

  private async reconcileOnce(op: Operation): Promise<ReconcileOutcome> {
    if (this.opening.has(op.id) || this.closing.has(op.id)) return "skipped";
    const { executor, logger, metrics } = this.deps;
    const status = await executor.status(op.id, op.instrument);
    // A submit replay or a manual close may have started while the executor answered.
    if (this.opening.has(op.id) || this.closing.has(op.id)) return "skipped";
    if (op.status === "pending") {
      this.schedule.settled(op.id);
      if (status.state === "unknown") {
        // The executor never saw it: nothing was executed, so it is safe to call it failed.
        const reason = "the executor has no record of this operation; nothing was executed";
        if (failPending(this.deps, op, reason)) {
          metrics.operationsFailed.inc({ strategy: op.strategy, stage: "reconcile" });
        }
        logger.warn("pending operation had not executed; marked failed", {
          event: "operation.reconciled",
          operationId: op.id,
          outcome: "failed",
        });
        return "failed";
      }
      this.markOpen(op, status.entry);
      logger.info("pending operation had executed; marked open", {
        event: "operation.reconciled",
        operationId: op.id,
        outcome: "open",
      });
      if (status.state === "open") return "open";
      this.book(op, status.exit, "intervention", "system");
      return "closed";
    }
    if (op.status !== "open" || op.closeRequestedAt === null) return "skipped";
    const reason = op.closeReason ?? "intervention";
    // A close for a stop, a target or a time limit was the supervisor's, whoever finishes it.
    const actor = isExitReason(reason) ? "supervisor" : "system";
    if (status.state === "closed") {
      await tracked(this.closing, op.id, Promise.resolve(this.book(op, status.exit, reason, actor)));
    } else {
      // The venue still holds the position, so no earlier close executed: this attempt's answer
      // is the whole truth, and a refusal drops the request (the supervisor may try again).
      try {
        await tracked(this.closing, op.id, this.finishClose(op, reason, actor, false));
      } catch (error) {
        if (error instanceof DomainError && error.code === "EXECUTION_FAILED") return "still_open";
        throw error;
      }
    }
    this.schedule.settled(op.id);
    logger.info("interrupted close completed", {
      event: "operation.reconciled",
      operationId: op.id,
      outcome: "closed",
    });
    return "closed";
  }

  /** Halts, reduces or resumes trading; audited, logged and counted. Optionally flattens. */
  async setTradingState(change: TradingStateChange): Promise<void> {
    await recordTradingState(this.deps, change);
    if (change.state === "halted" && change.flatten) {
      await Promise.allSettled([...this.open.keys()].map((id) => this.close(id, "halt", change.actor)));
    }
  }

  private replay(existing: Operation, requestHash: string): Promise<SubmitResult> {
    if (existing.requestHash !== requestHash) {
      throw new DomainError(
        "IDEMPOTENCY_CONFLICT",
        `clientId ${existing.clientId} was used with another request`,
        [{ code: "IDEMPOTENCY_CONFLICT", message: "same clientId, different body", path: "body.clientId" }],
      );
    }
    const opening = this.opening.get(existing.id);
    const current = opening ?? Promise.resolve(this.open.get(existing.id) ?? existing);
    // What a replay shows must be committed, as what the first answer showed was.
    return current.then(async (operation) => {
      await this.deps.commits.durable();
      return { operation, replayed: true };
    });
  }

  /** Executes `op` once its pending row is committed: no execution a crash could forget. */
  private async executeOnceRecorded(op: Operation): Promise<Operation> {
    try {
      await this.deps.commits.durable();
    } catch (error) {
      // The pending row was rolled back with its batch: the operation never existed.
      this.deps.ledger.release(op);
      throw error;
    }
    return this.execute(op);
  }

  private async execute(op: Operation): Promise<Operation> {
    const { executor, metrics, logger, clock, commits } = this.deps;
    let fill: Fill;
    try {
      fill = await executor.open({
        operationId: op.id,
        instrument: op.instrument,
        side: op.side,
        size: op.size,
      });
    } catch (error) {
      const reason = (error as Error).message;
      if (error instanceof ExecutionError && error.outcome === "unknown") {
        this.schedule.pending.set(op.id, op);
        this.schedule.later(op);
        throw unconfirmed(logger, op, "open", reason);
      }
      failPending(this.deps, op, reason);
      // Answered only once recorded; if the commit fails, reconciliation records it after a restart.
      await commits.durable().catch(() => undefined);
      throw refused(logger, metrics, op, "open", reason);
    }
    this.markOpen(op, fill);
    try {
      await commits.durable();
    } catch (error) {
      // The fill is not on disk: the row is still pending there. Reconciliation asks the executor.
      this.open.delete(op.id);
      op.status = "pending";
      this.schedule.pending.set(op.id, op);
      this.schedule.later(op);
      throw error;
    }
    logger.info("operation opened", {
      event: "operation.opened",
      operationId: op.id,
      strategy: op.strategy,
      instrument: op.instrument,
      side: op.side,
    });
    return op;
  }

  private markOpen(op: Operation, fill: Fill): void {
    const scales = this.deps.limits.instruments.get(op.instrument)!;
    const notional = multiply(fill.price, scales.price, op.size, scales.size, this.deps.limits.moneyScale);
    dbWrite(this.deps.tracer, "operation.open", () =>
      this.deps.commits.write(() => this.deps.repo.markOpen(op.id, fill.price, notional, fill.at)),
    );
    this.deps.ledger.refill(op, notional);
    Object.assign(op, { status: "open", entryPrice: fill.price, notional, openedAt: fill.at });
    this.open.set(op.id, op);
  }

  /**
   * Sends the close of `op` once its request is on disk, and books the fill. `uncertain` says that
   * an earlier attempt may have executed: then a refusal is not the final word either.
   */
  private async finishClose(
    op: Operation,
    reason: CloseReason,
    actor: Actor,
    uncertain: boolean,
  ): Promise<Operation> {
    const { commits } = this.deps;
    try {
      // The request to close must be on disk before the executor closes, so a restart finishes it.
      await commits.durable();
    } catch (error) {
      if (!uncertain) {
        op.closeRequestedAt = null;
        op.closeReason = null;
      }
      throw error;
    }
    let fill: Fill;
    try {
      fill = await this.deps.executor.close({
        operationId: op.id,
        instrument: op.instrument,
        side: op.side,
        size: op.size,
      });
    } catch (error) {
      const message = (error as Error).message;
      if (error instanceof ExecutionError && error.outcome === "unknown") {
        // The close may have happened: keep the request, so reconciliation finishes or books it.
        this.schedule.later(op);
        throw unconfirmed(this.deps.logger, op, "close", message);
      }
      if (uncertain) {
        // Nothing was executed by this attempt, but an earlier one may have been: only the
        // executor's status, asked by reconciliation, can tell.
        throw unconfirmed(this.deps.logger, op, "close", `${message}; an earlier close of it is unconfirmed`);
      }
      dbWrite(this.deps.tracer, "operation.close_refused", () =>
        commits.write(() => this.deps.repo.clearCloseRequest(op.id)),
      );
      op.closeRequestedAt = null;
      op.closeReason = null;
      throw refused(this.deps.logger, this.deps.metrics, op, "close", message);
    }
    const booked = this.book(op, fill, reason, actor);
    await commits.durable();
    return booked;
  }

  /** Books the close (see {@link bookClose}), then halts trading if that broke a limit. */
  private book(op: Operation, fill: Fill, reason: CloseReason, actor: Actor): Operation {
    // Someone else booked it first: report what is recorded, count nothing twice.
    if (!bookClose(this.deps, op, fill, reason, actor === "supervisor"))
      return this.deps.repo.get(op.id) ?? op;
    this.schedule.settled(op.id);
    this.open.delete(op.id);
    const { ledger, logger } = this.deps;
    const breaches = ledger.breaches();
    if (breaches.length > 0 && ledger.tradingState !== "halted") {
      this.setTradingState({
        state: "halted",
        reason: breaches.map((b) => `${b.code} (${b.observed} > ${b.limit})`).join(", "),
        actor: "system",
        trigger: "auto",
        flatten: this.deps.flattenOnAutoHalt,
      }).catch((error: unknown) =>
        logger.error("automatic halt failed", { event: "trading.auto_halt_failed", error }),
      );
    }
    return op;
  }
}
