/**
 * The operation: a risk-bearing action that a strategy asks for, and the rules of how it moves.
 * Prices and sizes are in the instrument's scaled units, money in the account's (see
 * `platform/fixed-point.ts`).
 */

export const SIDES = ["buy", "sell"] as const;
export type Side = (typeof SIDES)[number];

export const OPERATION_STATUSES = ["pending", "open", "closed", "failed"] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];

export const CLOSE_REASONS = [
  "take_profit",
  "stop_loss",
  "timeout",
  "manual",
  "intervention",
  "halt",
] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

/** Whether only the supervisor closes for `reason` (an exit it watches): such a close is an intervention. */
export const isExitReason = (reason: CloseReason): boolean =>
  reason === "stop_loss" || reason === "take_profit" || reason === "timeout";

/** Win when the booked P&L is positive, loss when negative, flat when zero. */
export const OPERATION_RESULTS = ["win", "loss", "flat"] as const;
export type OperationResult = (typeof OPERATION_RESULTS)[number];

export interface Operation {
  id: string;
  clientId: string;
  strategy: string;
  instrument: string;
  side: Side;
  /** Size in the instrument's size units. */
  size: bigint;
  /** Whether the size was computed from equity and stop-loss distance. */
  autoSized: boolean;
  stopLoss: bigint | null;
  takeProfit: bigint | null;
  maxDurationSec: number | null;
  pattern: string | null;
  confidence: number | null;
  status: OperationStatus;
  /** Money reserved against exposure limits: the notional at entry (at the quote until filled). */
  notional: bigint;
  entryPrice: bigint | null;
  exitPrice: bigint | null;
  closeReason: CloseReason | null;
  /** Set once a close has been asked for; the executor may not have answered yet. */
  closeRequestedAt: number | null;
  pnl: bigint | null;
  failureReason: string | null;
  /** Fingerprint of the request body, for idempotent retries. */
  requestHash: string;
  createdAt: number;
  openedAt: number | null;
  closedAt: number | null;
}

/** Valid moves of the state machine. */
const TRANSITIONS: Record<OperationStatus, readonly OperationStatus[]> = {
  pending: ["open", "failed"],
  open: ["closed"],
  closed: [],
  failed: [],
};

/** Whether an operation in `from` may move to `to`. */
export function canTransition(from: OperationStatus, to: OperationStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** +1 for a long position, -1 for a short one. */
export function direction(side: Side): 1n | -1n {
  return side === "buy" ? 1n : -1n;
}

/** Classifies booked P&L. */
export function resultOf(pnl: bigint): OperationResult {
  return pnl > 0n ? "win" : pnl < 0n ? "loss" : "flat";
}

/**
 * Which exit, if any, the price has reached. Direction-aware: a long stops out below its
 * stop-loss and takes profit above its target; a short the other way round. The stop wins a tie.
 */
export function exitTriggered(
  op: Pick<Operation, "side" | "stopLoss" | "takeProfit" | "maxDurationSec" | "openedAt">,
  price: bigint,
  now: number,
): CloseReason | null {
  const long = op.side === "buy";
  if (op.stopLoss !== null && (long ? price <= op.stopLoss : price >= op.stopLoss)) return "stop_loss";
  if (op.takeProfit !== null && (long ? price >= op.takeProfit : price <= op.takeProfit))
    return "take_profit";
  return timeLimitReached(op, now) ? "timeout" : null;
}

/** Whether an open operation has reached its time limit at `now`: a close that needs no price. */
export function timeLimitReached(op: Pick<Operation, "maxDurationSec" | "openedAt">, now: number): boolean {
  return op.maxDurationSec !== null && op.openedAt !== null && now - op.openedAt >= op.maxDurationSec * 1000;
}
