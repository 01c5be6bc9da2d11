// Shared fixtures for the evaluate*.test.ts files.
import { expect } from "vitest";
import { Config, type ConfigInput } from "../config/schema.js";
import type { RejectionCode, RiskFailure } from "./codes.js";
import type { RiskDecision, RiskRequest, RiskUsage } from "./evaluate.js";
import { buildLimits, type RiskLimits } from "./limits.js";

/** The fixed "now" of every fixture usage: 2026-01-05 12:00:00 UTC. */
export const NOW = Date.UTC(2026, 0, 5, 12, 0, 0);

/** Generous limits, so a test trips only the control it is about. */
const BASE_RISK = {
  maxDailyOperations: { global: 100, perStrategy: 10 },
  maxNotionalPerOperation: "1000000",
  maxExposure: { total: "1000000", perInstrument: "1000000" },
  minOperationIntervalMs: 0,
  maxSubmitRate: { perSecond: 20, burst: 40 },
  maxDailyLoss: "5000",
  maxDrawdown: 0.1,
  lossStreak: { maxConsecutive: 3, cooldownSec: 60 },
  riskPerOperation: 0.01,
} satisfies ConfigInput["risk"];

/** Limits for BTC-USD and SOL-USD: the generous base limits with the given risk settings laid over them. */
export function limitsWith(risk: ConfigInput["risk"] = {}): RiskLimits {
  return buildLimits(
    Config.parse({
      accounting: { startingEquity: "100000", precision: 2 },
      instruments: {
        // prices at 2 places, sizes at 4; 65000.00 is 6_500_000n and 0.1 BTC is 1000n
        "BTC-USD": { pricePrecision: 2, sizePrecision: 4, maxPositionSize: "2", initialPrice: "65000" },
        // prices at 3 places, sizes at 2
        "SOL-USD": { pricePrecision: 3, sizePrecision: 2, maxPositionSize: "500", initialPrice: "150" },
      },
      strategies: ["trend", "revert"],
      patterns: ["double-bottom"],
      risk: { ...BASE_RISK, ...risk },
    }),
  );
}

/** The generous base limits, unchanged. */
export const LIMITS = limitsWith();

/** A 0.1 BTC buy at 65000.00 by "trend" with no exits, with the given fields replaced. */
export function request(overrides: Partial<RiskRequest> = {}): RiskRequest {
  return {
    strategy: "trend",
    instrument: "BTC-USD",
    pattern: null,
    side: "buy",
    size: 1000n,
    stopLoss: null,
    takeProfit: null,
    price: 6_500_000n,
    ...overrides,
  };
}

/** Usage at NOW with nothing used yet and equity at its 100 000.00 peak, with the given fields replaced. */
export function usage(overrides: Partial<RiskUsage> = {}): RiskUsage {
  return {
    now: NOW,
    tradingState: "active",
    dailyOperations: 0,
    dailyOperationsOfStrategy: 0,
    exposureTotal: 0n,
    exposureOfInstrument: 0n,
    lastOperationAt: undefined,
    withinRate: true,
    submitTokens: 10,
    dailyLoss: 0n,
    equity: 10_000_000n,
    peakEquity: 10_000_000n,
    cooldownUntil: 0,
    ...overrides,
  };
}

/** The rejection codes of a decision, in order. */
export const codes = (decision: RiskDecision): RejectionCode[] => decision.failures.map((f) => f.code);

/** Asserts that the decision failed with exactly this one code, and returns that failure. */
export function only(decision: RiskDecision, code: RejectionCode): RiskFailure {
  expect(codes(decision)).toEqual([code]);
  return decision.failures[0]!;
}
