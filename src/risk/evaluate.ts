import type { Side } from "../operations/model.js";
import { divRound, formatFixed, multiply, pow10, type Rounding } from "../platform/fixed-point.js";
import type { RiskFailure, TradingState } from "./codes.js";
import { RATIO_SCALE, type RiskLimits } from "./limits.js";
import { autoSize } from "./sizing.js";

/** What is asked for, with prices already at the instrument's scale. */
export interface RiskRequest {
  strategy: string;
  instrument: string;
  pattern: string | null;
  side: Side;
  size: bigint | "auto";
  stopLoss: bigint | null;
  takeProfit: bigint | null;
  /** The current price of the instrument; null when the instrument is unknown. */
  price: bigint | null;
  /**
   * The prices an open may fill at (the quote ± risk.maxSlippageBps; see {@link fillRange}):
   * notional and exposure are judged at `high`, an automatic size's risk from the side's worse
   * end. Without it, everything is judged at `price`.
   */
  fillRange?: { low: bigint; high: bigint };
}

/** The usage the request is judged against: a snapshot of the ledger, all O(1) to build. */
export interface RiskUsage {
  now: number;
  tradingState: TradingState;
  dailyOperations: number;
  dailyOperationsOfStrategy: number;
  exposureTotal: bigint;
  exposureOfInstrument: bigint;
  lastOperationAt: number | undefined;
  /** Whether the strategy's token bucket had a token for this submit. */
  withinRate: boolean;
  /** Tokens left in the strategy's bucket after this submit took (or failed to take) one. */
  submitTokens: number;
  /** Realized loss today as a positive amount (0 when the day is in profit). */
  dailyLoss: bigint;
  equity: bigint;
  peakEquity: bigint;
  cooldownUntil: number;
}

export interface RiskDecision {
  failures: RiskFailure[];
  /** The size to trade (the computed one for `auto`); 0 when it could not be computed. */
  size: bigint;
  /** Price × size at the money scale. */
  notional: bigint;
}

/**
 * Runs every pre-trade check and reports every failure, not only the first. Pure and O(1): all
 * it needs comes in as values. A value equal to its limit is within the limit.
 */
export function evaluateRisk(request: RiskRequest, usage: RiskUsage, limits: RiskLimits): RiskDecision {
  const failures: RiskFailure[] = [];
  const fail = (failure: RiskFailure): void => void failures.push(failure);
  const money = (value: bigint): string => formatFixed(value, limits.moneyScale);

  if (usage.tradingState === "halted") fail({ code: "TRADING_HALTED", message: "trading is halted" });
  if (usage.tradingState === "reducing") {
    fail({ code: "TRADING_REDUCING", message: "trading is reducing: only closes are allowed" });
  }
  if (!limits.strategies.has(request.strategy)) {
    fail({
      code: "UNKNOWN_STRATEGY",
      message: `strategy ${request.strategy} is not declared`,
      observed: request.strategy,
    });
  }
  if (request.pattern !== null && !limits.patterns.has(request.pattern)) {
    fail({
      code: "UNKNOWN_PATTERN",
      message: `pattern ${request.pattern} is not declared`,
      observed: request.pattern,
    });
  }
  if (!usage.withinRate) {
    fail({
      code: "RATE_LIMITED",
      message: `submit rate of the strategy exceeded: its bucket (burst ${limits.maxSubmitRate.burst}, refilled per second at the limit) holds less than the one token a submit needs`,
      limit: limits.maxSubmitRate.perSecond,
      observed: Math.floor(usage.submitTokens * 100) / 100,
    });
  }
  if (usage.dailyOperations >= limits.maxDailyOperations.global) {
    fail({
      code: "DAILY_OPERATIONS_EXCEEDED",
      message: "daily operations, all strategies",
      limit: limits.maxDailyOperations.global,
      observed: usage.dailyOperations + 1,
    });
  }
  if (usage.dailyOperationsOfStrategy >= limits.maxDailyOperations.perStrategy) {
    fail({
      code: "DAILY_OPERATIONS_EXCEEDED",
      message: `daily operations of strategy ${request.strategy}`,
      limit: limits.maxDailyOperations.perStrategy,
      observed: usage.dailyOperationsOfStrategy + 1,
    });
  }
  if (usage.dailyLoss > limits.maxDailyLoss) {
    fail({
      code: "DAILY_LOSS_EXCEEDED",
      message: "realized loss today is beyond the daily limit",
      limit: money(limits.maxDailyLoss),
      observed: money(usage.dailyLoss),
    });
  }
  if (drawdownExceeds(usage.equity, usage.peakEquity, limits.maxDrawdown)) {
    fail({
      code: "DRAWDOWN_EXCEEDED",
      message: "equity drawdown from its peak is beyond the limit",
      limit: formatFixed(limits.maxDrawdown, RATIO_SCALE),
      observed: formatFixed(drawdownRatio(usage.equity, usage.peakEquity, "up"), RATIO_SCALE),
    });
  }
  if (usage.cooldownUntil > usage.now) {
    fail({
      code: "LOSS_STREAK_COOLDOWN",
      message: `strategy ${request.strategy} is cooling down after ${limits.lossStreak.maxConsecutive} consecutive losses`,
      limit: limits.lossStreak.maxConsecutive,
      observed: `${Math.ceil((usage.cooldownUntil - usage.now) / 1000)}s left`,
    });
  }

  const instrument = limits.instruments.get(request.instrument);
  if (!instrument || request.price === null) {
    fail({
      code: "UNKNOWN_INSTRUMENT",
      message: `instrument ${request.instrument} is not declared`,
      observed: request.instrument,
    });
    return { failures, size: 0n, notional: 0n };
  }

  if (
    usage.lastOperationAt !== undefined &&
    usage.now - usage.lastOperationAt < limits.minOperationIntervalMs
  ) {
    fail({
      code: "OPERATION_INTERVAL",
      message: `operations on ${request.instrument} come too close together (ms)`,
      limit: limits.minOperationIntervalMs,
      observed: usage.now - usage.lastOperationAt,
    });
  }
  failures.push(...checkExitLevels(request, request.price, instrument.price));
  // Notional is judged at the highest price the open may fill at: no allowed fill breaks a limit.
  const highest = request.fillRange?.high ?? request.price;

  let size: bigint;
  if (request.size === "auto") {
    size = 0n;
    if (request.stopLoss === null) {
      fail({
        code: "AUTO_SIZE_NEEDS_STOP_LOSS",
        message: 'size "auto" is computed from the stop-loss distance',
      });
    } else {
      const computed = autoSize({
        equity: usage.equity,
        moneyScale: limits.moneyScale,
        riskPerOperation: limits.riskPerOperation,
        // The worse entry for the risk to the stop: a buy filled high, a sell filled low.
        entryPrice:
          request.side === "buy"
            ? (request.fillRange?.high ?? request.price)
            : (request.fillRange?.low ?? request.price),
        stopLoss: request.stopLoss,
        priceScale: instrument.price,
        sizeScale: instrument.size,
      });
      // Caps lower than the budget only lower the risk taken: the position-size limit, and the
      // largest size whose notional stays within the per-operation limit.
      const byNotional =
        (limits.maxNotionalPerOperation * pow10(instrument.price + instrument.size)) /
        (highest * pow10(limits.moneyScale));
      size = [computed, instrument.maxPositionSize, byNotional].reduce((a, b) => (b < a ? b : a));
      if (size === 0n) {
        fail({
          code: "AUTO_SIZE_TOO_SMALL",
          message: "the risk budget buys less than one size unit at this stop-loss distance",
          observed: formatFixed(0n, instrument.size),
        });
      }
    }
  } else {
    size = request.size;
    if (size > instrument.maxPositionSize) {
      fail({
        code: "POSITION_SIZE_EXCEEDED",
        message: `size on ${request.instrument}`,
        limit: formatFixed(instrument.maxPositionSize, instrument.size),
        observed: formatFixed(size, instrument.size),
      });
    }
  }

  const notional = multiply(highest, instrument.price, size, instrument.size, limits.moneyScale);
  if (notional > limits.maxNotionalPerOperation) {
    fail({
      code: "NOTIONAL_EXCEEDED",
      message: "notional (price × size) of one operation",
      limit: money(limits.maxNotionalPerOperation),
      observed: money(notional),
    });
  }
  if (usage.exposureTotal + notional > limits.maxExposure.total) {
    fail({
      code: "EXPOSURE_EXCEEDED",
      message: "open exposure, all instruments",
      limit: money(limits.maxExposure.total),
      observed: money(usage.exposureTotal + notional),
    });
  }
  if (usage.exposureOfInstrument + notional > limits.maxExposure.perInstrument) {
    fail({
      code: "EXPOSURE_EXCEEDED",
      message: `open exposure on ${request.instrument}`,
      limit: money(limits.maxExposure.perInstrument),
      observed: money(usage.exposureOfInstrument + notional),
    });
  }
  return { failures, size, notional };
}

/** A long's stop lies below the price and its target above; a short's the other way round. */
function checkExitLevels(request: RiskRequest, price: bigint, scale: number): RiskFailure[] {
  const long = request.side === "buy";
  const failures: RiskFailure[] = [];
  const at = formatFixed(price, scale);
  if (request.stopLoss !== null && (long ? request.stopLoss >= price : request.stopLoss <= price)) {
    failures.push({
      code: "INVALID_EXIT_LEVELS",
      message: `stopLoss of a ${request.side} must be ${long ? "below" : "above"} the current price ${at}`,
      observed: formatFixed(request.stopLoss, scale),
    });
  }
  if (request.takeProfit !== null && (long ? request.takeProfit <= price : request.takeProfit >= price)) {
    failures.push({
      code: "INVALID_EXIT_LEVELS",
      message: `takeProfit of a ${request.side} must be ${long ? "above" : "below"} the current price ${at}`,
      observed: formatFixed(request.takeProfit, scale),
    });
  }
  return failures;
}

/** Whether `(peak − equity) ÷ peak` is beyond `maxPpm`, compared exactly (no rounding). */
export function drawdownExceeds(equity: bigint, peak: bigint, maxPpm: bigint): boolean {
  if (peak <= 0n || equity >= peak) return false;
  return (peak - equity) * pow10(RATIO_SCALE) > maxPpm * peak;
}

/**
 * `(peak − equity) ÷ peak` in parts per million, rounded half-even, or `up` where it is reported
 * as beyond a limit (so a breach never reads as equal to the limit); 0 when at or above the peak.
 */
export function drawdownRatio(equity: bigint, peak: bigint, rounding: Rounding = "half-even"): bigint {
  if (peak <= 0n || equity >= peak) return 0n;
  return divRound((peak - equity) * pow10(RATIO_SCALE), peak, rounding);
}

/**
 * The prices an open may fill at: the quote moved `bps` basis points either way, rounded outward
 * (`high` up, `low` down) so the range always holds every fill the bound allows.
 */
export function fillRange(price: bigint, bps: number): { low: bigint; high: bigint } {
  const b = BigInt(bps);
  return {
    low: divRound(price * (10_000n - b), 10_000n, "down"),
    high: divRound(price * (10_000n + b), 10_000n, "up"),
  };
}

/** The worst price an open on `side` may fill at: the most a buy pays, the least a sell receives. */
export function limitPriceOf(side: Side, range: { low: bigint; high: bigint }): bigint {
  return side === "buy" ? range.high : range.low;
}
