import { formatFixed } from "../platform/fixed-point.js";
import type { RiskLimits } from "../risk/limits.js";
import type { Operation } from "./model.js";
import type { OperationView } from "./schemas.js";

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The JSON form of an operation: amounts as exact decimal strings, times as ISO 8601. */
export function toOperationView(op: Operation, limits: RiskLimits): OperationView {
  const scales = limits.instruments.get(op.instrument) ?? { price: 0, size: 0 };
  const price = (value: bigint | null): string | null =>
    value === null ? null : formatFixed(value, scales.price);
  return {
    id: op.id,
    clientId: op.clientId,
    strategy: op.strategy,
    instrument: op.instrument,
    side: op.side,
    size: formatFixed(op.size, scales.size),
    autoSized: op.autoSized,
    stopLoss: price(op.stopLoss),
    takeProfit: price(op.takeProfit),
    maxDurationSec: op.maxDurationSec,
    pattern: op.pattern,
    confidence: op.confidence,
    status: op.status,
    notional: formatFixed(op.notional, limits.moneyScale),
    entryPrice: price(op.entryPrice),
    exitPrice: price(op.exitPrice),
    closeReason: op.closeReason,
    pnl: op.pnl === null ? null : formatFixed(op.pnl, limits.moneyScale),
    failureReason: op.failureReason,
    createdAt: iso(op.createdAt)!,
    openedAt: iso(op.openedAt),
    closedAt: iso(op.closedAt),
  };
}
