import type { OperationRepository } from "../operations/repository.js";
import { startOfUtcDay, type Clock } from "../platform/clock.js";
import { RiskLedger } from "./ledger.js";
import type { RiskLimits } from "./limits.js";
import type { RiskRepository } from "./repository.js";

/**
 * Rebuilds the in-memory ledger from the database on start: the persisted risk state plus a few
 * indexed aggregates over today's rows and the live operations. On a fresh database it persists
 * the initial state.
 */
export function loadLedger(
  operations: OperationRepository,
  risk: RiskRepository,
  limits: RiskLimits,
  clock: Clock,
): RiskLedger {
  const now = clock.now();
  let state = risk.load();
  if (!state) {
    state = {
      tradingState: "active",
      stateReason: "initial state",
      stateChangedAt: now,
      realizedPnl: 0n,
      peakEquity: limits.startingEquity,
      lossResetAt: 0,
    };
    risk.save(state);
  }
  const dayStart = startOfUtcDay(now);
  return new RiskLedger(limits, clock, {
    ...state,
    dailyOperations: operations.dailyOperations(dayStart),
    dailyPnl: operations.pnlSince(Math.max(dayStart, state.lossResetAt)),
    live: operations.listLive(),
    lastOperationAt: operations.lastOperationAt(now - limits.minOperationIntervalMs),
    streaks: risk.loadStreaks(),
  });
}
