import { DomainError } from "../platform/errors.js";
import { formatFixed, toNumber } from "../platform/fixed-point.js";
import type { Logger } from "../platform/logger.js";
import type { Metrics } from "../platform/metrics.js";
import type { RiskLimits } from "../risk/limits.js";
import { resultOf, type CloseReason, type Operation } from "./model.js";

/**
 * The error for an execution the executor did not confirm (it may have happened), logged as
 * `operation.unconfirmed`. The operation stays pending, or its close stays requested.
 */
export function unconfirmed(
  logger: Logger,
  op: Operation,
  stage: "open" | "close",
  reason: string,
): DomainError {
  logger.warn(`operation ${stage} unconfirmed; it is reconciled shortly`, {
    event: "operation.unconfirmed",
    operationId: op.id,
    stage,
    err: reason,
  });
  const what = stage === "open" ? `operation ${op.id}; it stays pending` : `the close of operation ${op.id}`;
  return new DomainError(
    "EXECUTION_UNCONFIRMED",
    `the executor did not confirm ${what} and is reconciled shortly`,
    [{ code: "EXECUTION_UNCONFIRMED", message: reason }],
    { operationId: op.id },
  );
}

/** The error for an execution the executor refused, logged as `operation.failed` and counted. */
export function refused(
  logger: Logger,
  metrics: Metrics,
  op: Operation,
  stage: "open" | "close",
  reason: string,
): DomainError {
  metrics.operationsFailed.inc({ strategy: op.strategy, stage });
  logger.error(`operation failed to ${stage}`, {
    event: "operation.failed",
    operationId: op.id,
    stage,
    err: reason,
  });
  return new DomainError(
    "EXECUTION_FAILED",
    `the executor did not ${stage} operation ${op.id}`,
    [{ code: "EXECUTION_FAILED", message: reason }],
    { operationId: op.id },
  );
}

/**
 * Counts and logs an open that filled at a notional beyond what the risk check reserved: the
 * venue filled past the limit price it was given, or a sell filled far above its quote. The fill
 * is booked as it happened; exposure may then be above its limit
 * (`opsguard_fills_beyond_reservation_total`, alert OpsguardFillBeyondReservation).
 */
export function fillBeyondReservation(
  { metrics, logger, limits }: { metrics: Metrics; logger: Logger; limits: RiskLimits },
  op: Operation,
  price: bigint,
  notional: bigint,
): void {
  const scales = limits.instruments.get(op.instrument)!;
  metrics.fillsBeyondReservation.inc({ instrument: op.instrument });
  logger.error("an open filled beyond what the risk check reserved; booked as filled", {
    event: "operation.fill_beyond_reservation",
    operationId: op.id,
    instrument: op.instrument,
    side: op.side,
    price: formatFixed(price, scales.price),
    notional: formatFixed(notional, limits.moneyScale),
    reserved: formatFixed(op.notional, limits.moneyScale),
  });
}

/** Counts and logs a booked close: result, gross profit or loss, lifetime, pattern, intervention. */
export function recordClose(
  metrics: Metrics,
  logger: Logger,
  moneyScale: number,
  close: { op: Operation; pnl: bigint; reason: CloseReason; at: number; bySupervisor: boolean },
): void {
  const { op, pnl, reason, at } = close;
  const result = resultOf(pnl);
  const amount = toNumber(pnl < 0n ? -pnl : pnl, moneyScale);
  const labels = { strategy: op.strategy, instrument: op.instrument };
  metrics.operationsClosed.inc({ ...labels, result, close_reason: reason });
  if (result === "win") metrics.profit.inc(labels, amount);
  if (result === "loss") metrics.loss.inc(labels, amount);
  if (op.openedAt !== null)
    metrics.lifetime.observe({ strategy: op.strategy }, Math.max(0, at - op.openedAt) / 1000);
  if (op.pattern !== null) {
    metrics.patternPredictions.inc({ pattern: op.pattern, result: result === "win" ? "hit" : "miss" });
  }
  if (close.bySupervisor) metrics.interventions.inc({ reason });
  logger.info("operation closed", {
    event: "operation.closed",
    operationId: op.id,
    strategy: op.strategy,
    instrument: op.instrument,
    closeReason: reason,
    result,
    pnl: formatFixed(pnl, moneyScale),
  });
}
