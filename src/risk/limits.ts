import type { Config } from "../config/schema.js";
import { parseFixed } from "../platform/fixed-point.js";

/** Scale of ratios held as integers: parts per million. */
export const RATIO_SCALE = 6;

/** Scales of one instrument's prices and sizes. */
export interface InstrumentScales {
  price: number;
  size: number;
}

/** The risk limits, parsed once into exact scaled integers. Money is at the account's scale. */
export interface RiskLimits {
  moneyScale: number;
  startingEquity: bigint;
  instruments: ReadonlyMap<string, InstrumentScales & { maxPositionSize: bigint }>;
  strategies: ReadonlySet<string>;
  patterns: ReadonlySet<string>;
  maxDailyOperations: { global: number; perStrategy: number };
  maxNotionalPerOperation: bigint;
  maxExposure: { total: bigint; perInstrument: bigint };
  minOperationIntervalMs: number;
  maxSubmitRate: { perSecond: number; burst: number };
  maxDailyLoss: bigint;
  /** Parts per million. */
  maxDrawdown: bigint;
  lossStreak: { maxConsecutive: number; cooldownMs: number };
  /** Parts per million. */
  riskPerOperation: bigint;
  /** How far from the quote an open may fill, in basis points. */
  maxSlippageBps: number;
}

/** Parses the risk section of the config into {@link RiskLimits}. */
export function buildLimits(config: Config): RiskLimits {
  const money = config.accounting.precision;
  const risk = config.risk;
  return {
    moneyScale: money,
    startingEquity: parseFixed(config.accounting.startingEquity, money),
    instruments: new Map(
      Object.entries(config.instruments).map(([name, i]) => [
        name,
        {
          price: i.pricePrecision,
          size: i.sizePrecision,
          maxPositionSize: parseFixed(i.maxPositionSize, i.sizePrecision),
        },
      ]),
    ),
    strategies: new Set(config.strategies),
    patterns: new Set(config.patterns),
    maxDailyOperations: risk.maxDailyOperations,
    maxNotionalPerOperation: parseFixed(risk.maxNotionalPerOperation, money),
    maxExposure: {
      total: parseFixed(risk.maxExposure.total, money),
      perInstrument: parseFixed(risk.maxExposure.perInstrument, money),
    },
    minOperationIntervalMs: risk.minOperationIntervalMs,
    maxSubmitRate: risk.maxSubmitRate,
    maxDailyLoss: parseFixed(risk.maxDailyLoss, money),
    maxDrawdown: parseFixed(risk.maxDrawdown, RATIO_SCALE),
    lossStreak: {
      maxConsecutive: risk.lossStreak.maxConsecutive,
      cooldownMs: risk.lossStreak.cooldownSec * 1000,
    },
    riskPerOperation: parseFixed(risk.riskPerOperation, RATIO_SCALE),
    maxSlippageBps: risk.maxSlippageBps,
  };
}
