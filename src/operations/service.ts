import { monotonicFactory } from "ulid";
import { ExecutionError, type Executor, type Fill } from "../execution/executor.js";
import type { Clock } from "../platform/clock.js";
import { DomainError } from "../platform/errors.js";
import { multiply } from "../platform/fixed-point.js";
import { pooledRandom } from "../platform/random-pool.js";
import { dbWrite } from "../platform/spans.js";
import type { GlobalBudget } from "../global/budget.js";
import { traceExemplar } from "../platform/tracing.js";
import type { CloseReason, Operation } from "./model.js";
import type { SubmitOperationBody } from "./schemas.js";
import type { BookDeps } from "./book.js";
import { Closes } from "./closes.js";
import { recordOperationEvent, recordReconciled } from "./events.js";
import { failPending } from "./fail.js";
import { tracked } from "./in-flight.js";
import { fillBeyondReservation, refused, unconfirmed } from "./outcomes.js";
import { ReconcileSchedule, type ReconcileOutcome, type UnconfirmedView } from "./reconciliation.js";
import { ExposurePeaks } from "../reports/performance/peaks.js";
import { checkRisk, recordRejection } from "./risk-check.js";
import { fillRange, limitPriceOf } from "../risk/evaluate.js";
import { hashRequest, parseAmounts, pendingOperation, submitOutcome } from "./submit-input.js";
import { recordTradingState, type TradingStateChange, type TradingStateDeps } from "./trading-state.js";

export type { TradingStateChange } from "./trading-state.js";

/**
 * What the service works with. Every write goes through `commits`; executions and answers wait
 * for its commits.
 */
export interface OperationsDeps extends BookDeps, TradingStateDeps {
  executor: Executor;
  /** The firm-wide limits, when configured: submits reserve their share there first. */
  global?: GlobalBudget;
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
  private readonly closes: Closes;
  /** Executions whose outcome is unknown (left by a crash, or unconfirmed) and when to ask. */
  private readonly schedule: ReconcileSchedule;
  private readonly nextId = monotonicFactory(pooledRandom());
  /** The day's highs of exposure, written with the turn's writes when one is exceeded. */
  private readonly peaks: ExposurePeaks;

  constructor(private readonly deps: OperationsDeps) {
    this.peaks = new ExposurePeaks((day, measure, key, value, at) =>
      deps.commits.write(() => deps.riskRepo.recordPeak(day, measure, key, value, at)),
    );
    this.schedule = new ReconcileSchedule({
      clock: deps.clock,
      logger: deps.logger,
      metrics: deps.metrics,
      delayMs: deps.reconcileAfterMs,
      resolve: (op) => this.reconcile(op),
    });
    this.closes = new Closes({
      deps,
      open: this.open,
      schedule: this.schedule,
      halt: (change) => this.setTradingState(change),
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
      if (op.closeRequestedAt !== null && !this.closes.isClosing(op.id)) candidates.push(op);
    }
    return this.schedule.start(candidates);
  }

  /** Pending and open operations. */
  live(): Operation[] {
    return [...this.schedule.pending.values(), ...this.open.values()];
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
      if (op.closeRequestedAt === null || this.closes.isClosing(op.id)) continue;
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
    // After each await below, an operation with this client id exists only if another submit
    // inserted it meanwhile: read it again only then (an indexed read outside a transaction costs
    // about 13 µs and two file-lock calls).
    let inserts = repo.inserts;
    const insertedMeanwhile = (): Operation | undefined => {
      if (repo.inserts === inserts) return undefined;
      inserts = repo.inserts;
      return repo.findByClientId(body.strategy, body.clientId);
    };

    const scales = limits.instruments.get(body.instrument);
    const parsed = scales ? parseAmounts(body, scales.price, scales.size) : undefined;
    if (parsed && parsed.problems.length > 0) {
      throw new DomainError("VALIDATION_FAILED", "the operation has invalid amounts", parsed.problems);
    }
    let price: bigint | null = null;
    if (scales) {
      try {
        price = (await executor.quote(body.instrument)).price;
      } catch (error) {
        throw new DomainError("EXECUTOR_UNAVAILABLE", "no quote from the executor", [], { cause: error });
      }
    }

    const range = price === null ? undefined : fillRange(price, limits.maxSlippageBps);
    const decide = () => {
      const usage = ledger.usage(body.strategy, body.instrument, ledger.hasSubmitToken(body.strategy));
      const request = {
        strategy: body.strategy,
        instrument: body.instrument,
        pattern: body.pattern ?? null,
        side: body.side,
        size: parsed?.size ?? "auto",
        stopLoss: parsed?.stopLoss ?? null,
        takeProfit: parsed?.takeProfit ?? null,
        price,
        fillRange: range,
      } as const;
      return checkRisk(this.deps, request, usage, body.clientId);
    };

    // From here to the pending row nothing awaits: check, reservation and write are one step.
    let again = insertedMeanwhile();
    if (again) return this.replay(again, requestHash);
    let now = clock.now();
    const id = this.nextId(now);
    let op = pendingOperation({ id, body, parsed, decision: decide(), requestHash, now });
    const { global } = this.deps;
    if (global) {
      // The firm-wide share is reserved before the operation is recorded here, over an await the
      // step above cannot span; so the step is taken again after it, on what changed meanwhile.
      try {
        await global.reserve(op, now);
      } catch (error) {
        if (error instanceof DomainError && error.code === "RISK_REJECTED") {
          recordRejection(
            this.deps,
            body,
            error.details.map((failure) => failure.code),
            body.clientId,
          );
        }
        throw error;
      }
      again = insertedMeanwhile();
      if (again) {
        global.release(id);
        return this.replay(again, requestHash);
      }
      try {
        const reserved = op.notional;
        now = clock.now();
        op = pendingOperation({ id, body, parsed, decision: decide(), requestHash, now });
        if (op.notional > reserved) {
          // An automatic size grew with the equity meanwhile: the share reserved is too small.
          throw new DomainError(
            "NOT_READY",
            "the account changed while the firm-wide limits were checked; retry",
          );
        }
      } catch (error) {
        global.release(id);
        throw error;
      }
    }
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
    this.observeExposure(op.instrument, now);
    ledger.spendSubmitToken(op.strategy);
    metrics.operationsSubmitted.inc({ strategy: op.strategy, instrument: op.instrument });

    const limitPrice = range && limitPriceOf(op.side, range);
    const execution = this.executeOnceRecorded(op, limitPrice);
    return { operation: await tracked(this.opening, op.id, execution), replayed: false };
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
    if (this.opening.has(op.id) || this.closes.isClosing(op.id)) return "skipped";
    const { executor, logger, metrics } = this.deps;
    const sent = this.closes.attemptsOf(op.id);
    const status = await executor.status(op.id, op.instrument);
    // A submit replay or a close may have started while the executor answered; a close that
    // started and ended meanwhile makes the answer stale. The next pass asks again.
    if (this.opening.has(op.id) || this.closes.isClosing(op.id) || this.closes.attemptsOf(op.id) !== sent) {
      return "skipped";
    }
    if (op.status === "pending") {
      this.schedule.settled(op.id);
      if (status.state === "unknown") {
        // The executor never saw it: nothing was executed, so it is safe to call it failed.
        const reason = "the executor has no record of this operation; nothing was executed";
        if (failPending(this.deps, op, reason)) {
          metrics.operationsFailed.inc({ strategy: op.strategy, stage: "reconcile" });
          recordReconciled(this.deps, op, "failed");
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
      if (status.state === "open") {
        recordReconciled(this.deps, op, "open");
        return "open";
      }
      this.closes.book(op, status.exit, "intervention");
      recordReconciled(this.deps, op, "closed");
      return "closed";
    }
    if (op.status !== "open" || op.closeRequestedAt === null) return "skipped";
    return this.closes.reconcile(op, status);
  }

  /**
   * Closes an open operation at the executor and books its P&L (see {@link Closes.close}).
   * Closing a closed one returns it.
   */
  close(id: string, reason: CloseReason, actor: Actor): Promise<Operation> {
    return this.closes.close(id, reason, actor);
  }

  /** Whether a close of `id` is under way in this process. */
  isClosing(id: string): boolean {
    return this.closes.isClosing(id);
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
  private async executeOnceRecorded(op: Operation, limitPrice: bigint | undefined): Promise<Operation> {
    try {
      await this.deps.commits.durable();
    } catch (error) {
      // The pending row was rolled back with its batch: the operation never existed.
      this.deps.ledger.release(op);
      this.deps.global?.release(op.id);
      throw error;
    }
    return this.execute(op, limitPrice);
  }

  private async execute(op: Operation, limitPrice: bigint | undefined): Promise<Operation> {
    const { executor, metrics, logger, commits } = this.deps;
    let fill: Fill;
    try {
      fill = await executor.open({
        operationId: op.id,
        instrument: op.instrument,
        side: op.side,
        size: op.size,
        limitPrice,
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
    // The fill is booked as it happened; one beyond what the risk check allowed for is news.
    if (notional > op.notional) fillBeyondReservation(this.deps, op, fill.price, notional);
    const opened = { status: "open", entryPrice: fill.price, notional, openedAt: fill.at } as const;
    dbWrite(this.deps.tracer, "operation.open", () =>
      this.deps.commits.write(() => {
        this.deps.repo.markOpen(op.id, fill.price, notional, fill.at);
        recordOperationEvent(this.deps, "operation.opened", op, opened);
      }),
    );
    this.deps.ledger.refill(op, notional);
    this.observeExposure(op.instrument, this.deps.clock.now());
    Object.assign(op, opened);
    this.open.set(op.id, op);
  }

  private observeExposure(instrument: string, at: number): void {
    const { total, ofInstrument } = this.deps.ledger.exposure(instrument);
    this.peaks.observe(at, total, instrument, ofInstrument);
  }
}
