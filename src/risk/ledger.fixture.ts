// Shared fixtures for the ledger*.test.ts files.
import { Config, type ConfigInput } from "../config/schema.js";
import { ManualClock } from "../platform/clock.js";
import { buildLimits, type RiskLimits } from "./limits.js";
import { RiskLedger, type LedgerSnapshot, type Position } from "./ledger.js";

/** The start time of every fixture ledger unless told otherwise: 2026-01-05 12:00:00 UTC. */
export const NOON = Date.UTC(2026, 0, 5, 12, 0, 0);

function limitsWith(risk: ConfigInput["risk"] = {}): RiskLimits {
  return buildLimits(
    Config.parse({
      accounting: { startingEquity: "100000", precision: 2 },
      instruments: {
        "BTC-USD": { pricePrecision: 2, sizePrecision: 4, maxPositionSize: "2", initialPrice: "65000" },
        "SOL-USD": { pricePrecision: 3, sizePrecision: 2, maxPositionSize: "500", initialPrice: "150" },
      },
      strategies: ["trend", "revert"],
      risk: {
        maxDailyOperations: { global: 5, perStrategy: 3 },
        maxExposure: { total: "10000", perInstrument: "8000" },
        maxSubmitRate: { perSecond: 1, burst: 2 },
        maxDailyLoss: "2000",
        maxDrawdown: 0.05,
        lossStreak: { maxConsecutive: 3, cooldownSec: 60 },
        ...risk,
      },
    }),
  );
}

function emptySnapshot(limits: RiskLimits, overrides: Partial<LedgerSnapshot> = {}): LedgerSnapshot {
  return {
    tradingState: "active",
    stateReason: "initial state",
    stateChangedAt: 0,
    realizedPnl: 0n,
    peakEquity: limits.startingEquity,
    lossResetAt: 0,
    dailyOperations: new Map(),
    dailyPnl: 0n,
    live: [],
    lastOperationAt: new Map(),
    streaks: new Map(),
    ...overrides,
  };
}

/** A ledger on a manual clock at `now`, from an empty snapshot with the given overrides, and its limits. */
export function setup(risk: ConfigInput["risk"] = {}, snapshot: Partial<LedgerSnapshot> = {}, now = NOON) {
  const limits = limitsWith(risk);
  const clock = new ManualClock(now);
  const ledger = new RiskLedger(limits, clock, emptySnapshot(limits, snapshot));
  return { limits, clock, ledger };
}

/** A BTC-USD position of the given notional (in cents), by "trend" unless told otherwise. */
export const btc = (notional: bigint, strategy = "trend"): Position => ({
  strategy,
  instrument: "BTC-USD",
  notional,
});
/** A SOL-USD position of the given notional (in cents), by "revert" unless told otherwise. */
export const sol = (notional: bigint, strategy = "revert"): Position => ({
  strategy,
  instrument: "SOL-USD",
  notional,
});

/** Books a sequence of closes with P&L given in cents, on throwaway positions. */
export function bookAll(ledger: RiskLedger, pnls: bigint[], strategy = "trend"): void {
  for (const pnl of pnls) {
    ledger.reserve(btc(0n, strategy));
    ledger.book(btc(0n, strategy), pnl);
  }
}
