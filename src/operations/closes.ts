import { ExecutionError, type ExecutionStatus, type Fill } from "../execution/executor.js";
import { DomainError } from "../platform/errors.js";
import { dbWrite } from "../platform/spans.js";
import { bookClose } from "./book.js";
import { tracked } from "./in-flight.js";
import { isExitReason, type CloseReason, type Operation } from "./model.js";
import { recordReconciled } from "./events.js";
import { refused, unconfirmed } from "./outcomes.js";
import type { ReconcileOutcome, ReconcileSchedule } from "./reconciliation.js";
import type { Actor, OperationsDeps, TradingStateChange } from "./service.js";

/** What closing works on, shared with the rest of the service. */
export interface ClosesOptions {
  deps: OperationsDeps;
  /** Open operations, by id: a booked close takes its operation out. */
  open: Map<string, Operation>;
  schedule: ReconcileSchedule;
  /** Halts trading when a booked close breaks a loss limit. */
  halt: (change: TradingStateChange) => Promise<void>;
}

/**
 * Closes operations at the executor and books them, once each. A close request is written before
 * the executor is called and kept until the close is booked or the executor has said, with
 * nothing unknown before it, that it did not close: so a close the venue executed is never
 * forgotten, whichever path started it (a client, the supervisor, a halt, a restart).
 */
export class Closes {
  private readonly closing = new Map<string, Promise<Operation>>();
  private readonly attempts = new Map<string, number>();
  private readonly deps: OperationsDeps;
  private readonly open: Map<string, Operation>;
  private readonly schedule: ReconcileSchedule;
  private readonly halt: ClosesOptions["halt"];

  constructor(options: ClosesOptions) {
    ({ deps: this.deps, open: this.open, schedule: this.schedule, halt: this.halt } = options);
  }

  /** Whether a close of `id` is under way in this process. */
  isClosing(id: string): boolean {
    return this.closing.has(id);
  }

  /**
   * Settles the requested close of `op` with what the executor knows: books the venue's exit, or,
   * when the venue still holds the position, sends the close again.
   */
  async reconcile(op: Operation, status: ExecutionStatus): Promise<ReconcileOutcome> {
    const reason = op.closeReason ?? "intervention";
    if (status.state === "closed") {
      await tracked(this.closing, op.id, Promise.resolve(this.book(op, status.exit, reason)));
    } else {
      // The venue still holds the position, so no earlier close executed: this attempt's answer
      // is the whole truth, and a refusal drops the request (the supervisor may try again).
      try {
        const attempt = this.finishClose(op, reason, { uncertain: false, wroteRequest: false });
        await tracked(this.closing, op.id, attempt);
      } catch (error) {
        if (error instanceof DomainError && error.code === "EXECUTION_FAILED") return "still_open";
        throw error;
      }
    }
    this.schedule.settled(op.id);
    recordReconciled(this.deps, op, "closed");
    this.deps.logger.info("interrupted close completed", {
      event: "operation.reconciled",
      operationId: op.id,
      outcome: "closed",
    });
    return "closed";
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
    const attempt = this.finishClose(op, op.closeReason ?? reason, {
      uncertain: retry,
      wroteRequest: !retry,
    });
    return tracked(this.closing, id, attempt);
  }

  /**
   * How many closes of `id` this process has sent to the executor: a status answer taken before
   * another was sent may be stale.
   */
  attemptsOf(id: string): number {
    return this.attempts.get(id) ?? 0;
  }

  /**
   * Sends the close of `op` once its request is on disk, and books the fill. `uncertain` says that
   * an earlier attempt may have executed: then a refusal is not the final word either.
   * `wroteRequest` says that this call wrote the close request (and undoes it if that write fails).
   */
  private async finishClose(
    op: Operation,
    reason: CloseReason,
    { uncertain, wroteRequest }: { uncertain: boolean; wroteRequest: boolean },
  ): Promise<Operation> {
    const { commits } = this.deps;
    try {
      // The request to close must be on disk before the executor closes, so a restart finishes it.
      await commits.durable();
    } catch (error) {
      if (wroteRequest) {
        op.closeRequestedAt = null;
        op.closeReason = null;
      }
      throw error;
    }
    let fill: Fill;
    this.attempts.set(op.id, this.attemptsOf(op.id) + 1);
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
    const booked = this.book(op, fill, reason);
    await commits.durable();
    return booked;
  }

  /**
   * Books the close (see {@link bookClose}), then halts trading if that broke a limit. A close
   * for a stop, a target or a time limit counts as the supervisor's intervention, whoever
   * finished it (a client's retry, reconciliation).
   */
  book(op: Operation, fill: Fill, reason: CloseReason): Operation {
    // Someone else booked it first: report what is recorded, count nothing twice.
    if (!bookClose(this.deps, op, fill, reason, isExitReason(reason))) return this.deps.repo.get(op.id) ?? op;
    this.attempts.delete(op.id);
    this.schedule.settled(op.id);
    this.open.delete(op.id);
    const { ledger, logger } = this.deps;
    const breaches = ledger.breaches();
    if (breaches.length > 0 && ledger.tradingState !== "halted") {
      this.halt({
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
