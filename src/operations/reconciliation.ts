import type { Clock } from "../platform/clock.js";
import type { Logger } from "../platform/logger.js";
import type { Metrics } from "../platform/metrics.js";
import type { Operation } from "./model.js";

/**
 * What one reconciliation found: `open` (a pending operation had executed), `closed` (a requested
 * close had executed, or was executed now), `failed` (a pending operation never executed),
 * `still_open` (the venue holds the position; the close was sent again and refused), or `skipped`
 * (a submit replay or a close got to the operation first).
 */
export type ReconcileOutcome = "open" | "closed" | "failed" | "still_open" | "skipped";

/** Outcomes of `opsguard_reconciliations_total`, `deferred` included: all exist from the start. */
export const RECONCILE_OUTCOMES = ["open", "closed", "failed", "still_open", "deferred"] as const;

/** How many executions are unconfirmed now, and since when the oldest has been. */
export interface UnconfirmedView {
  open: number;
  close: number;
  /** When the oldest unconfirmed execution was sent (ms since the epoch), or null. */
  oldestSince: number | null;
}

/** What the schedule needs. */
export interface ReconcileScheduleDeps {
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** How long after an unconfirmed execution the executor is asked. */
  delayMs: number;
  /** Asks the executor about `op` and settles it; throws when the executor gives no answer. */
  resolve: (op: Operation) => Promise<ReconcileOutcome>;
}

/**
 * Which executions have an unknown outcome, when to ask about each, and which questions are out.
 * At most one question per operation is out at a time, and none holds back another: the
 * supervisor starts what is due and goes on. An executor that does not answer is logged once per
 * operation (`operation.reconcile_deferred`) and counted every time
 * (`opsguard_reconciliations_total{outcome="deferred"}`); the operation is asked about again on
 * the next pass.
 */
export class ReconcileSchedule {
  /** Pending operations whose open may or may not have executed. */
  readonly pending = new Map<string, Operation>();
  /** Earliest time to ask about an execution unconfirmed in this process; absent means now. */
  private readonly after = new Map<string, number>();
  private readonly running = new Map<string, Promise<void>>();
  /** Operations whose deferral has been logged, so it is not logged again every pass. */
  private readonly deferred = new Set<string>();

  constructor(private readonly deps: ReconcileScheduleDeps) {}

  /** Asks about `op` only once `delayMs` has passed: a request still on its way lands first. */
  later(op: Operation): void {
    this.after.set(op.id, this.deps.clock.now() + this.deps.delayMs);
  }

  /** Forgets the schedule of a settled operation. */
  settled(id: string): void {
    this.pending.delete(id);
    this.after.delete(id);
    this.deferred.delete(id);
  }

  /** Whether a question about `id` is out. */
  isRunning(id: string): boolean {
    return this.running.has(id);
  }

  /**
   * Starts a reconciliation for each candidate that is due and not already being reconciled;
   * returns them, each settling (never rejecting) once its answer is booked or deferred.
   */
  start(candidates: Iterable<Operation>): Promise<void>[] {
    const now = this.deps.clock.now();
    const started: Promise<void>[] = [];
    for (const op of candidates) {
      if (this.running.has(op.id) || (this.after.get(op.id) ?? 0) > now) continue;
      const work = this.run(op).finally(() => this.running.delete(op.id));
      this.running.set(op.id, work);
      started.push(work);
    }
    return started;
  }

  /** Every reconciliation under way, for a shutdown or a test to wait for. */
  inFlight(): Promise<void>[] {
    return [...this.running.values()];
  }

  private async run(op: Operation): Promise<void> {
    const { logger, metrics } = this.deps;
    try {
      const outcome = await this.deps.resolve(op);
      if (outcome === "skipped") return;
      metrics.reconciliations.inc({ outcome });
      this.deferred.delete(op.id);
    } catch (error) {
      metrics.reconciliations.inc({ outcome: "deferred" });
      if (this.deferred.has(op.id)) return;
      this.deferred.add(op.id);
      logger.warn(
        "reconciliation deferred: no final answer from the executor yet; asking again on each pass",
        {
          event: "operation.reconcile_deferred",
          operationId: op.id,
          err: (error as Error).message,
        },
      );
    }
  }
}
