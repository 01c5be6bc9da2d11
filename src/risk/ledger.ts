import type { Clock } from "../platform/clock.js";
import { startOfUtcDay } from "../platform/clock.js";
import { formatFixed, toNumber } from "../platform/fixed-point.js";
import type { RiskFailure, TradingState } from "./codes.js";
import { drawdownExceeds, drawdownRatio, type RiskUsage } from "./evaluate.js";
import { RATIO_SCALE, type RiskLimits } from "./limits.js";
import { hasToken, takeToken, type TokenBucket } from "./token-bucket.js";

/** An operation as far as exposure is concerned. */
export interface Position {
  strategy: string;
  instrument: string;
  notional: bigint;
}

/** What the ledger is rebuilt from on start: a handful of indexed queries, never a replay. */
export interface LedgerSnapshot {
  tradingState: TradingState;
  stateReason: string;
  stateChangedAt: number;
  realizedPnl: bigint;
  peakEquity: bigint;
  lossResetAt: number;
  /** Operations accepted since the start of today (UTC), by strategy. */
  dailyOperations: ReadonlyMap<string, number>;
  /** Realized P&L of closes since max(start of today, lossResetAt). */
  dailyPnl: bigint;
  /** Pending and open operations. */
  live: readonly Position[];
  /** Latest operation time per instrument. */
  lastOperationAt: ReadonlyMap<string, number>;
  streaks: ReadonlyMap<string, StrategyStreak>;
}

export interface StrategyStreak {
  losses: number;
  cooldownUntil: number;
}

/** The persisted part of the ledger, written in the same transaction as what changed it. */
export interface LedgerState {
  tradingState: TradingState;
  stateReason: string;
  stateChangedAt: number;
  realizedPnl: bigint;
  peakEquity: bigint;
  lossResetAt: number;
}

/**
 * The in-memory risk usage, kept in step with the database: every pre-trade check reads it in
 * O(1) and every accepted, failed or closed operation updates it in O(1).
 */
export class RiskLedger {
  private day: number;
  private dailyTotal = 0;
  private readonly dailyByStrategy = new Map<string, number>();
  private dailyPnl: bigint;
  private exposureTotal = 0n;
  private readonly exposureByInstrument = new Map<string, bigint>();
  private readonly openCount = new Map<string, { strategy: string; instrument: string; count: number }>();
  private readonly lastOperationAt: Map<string, number>;
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly streaks: Map<string, StrategyStreak>;
  private persistent: LedgerState;

  constructor(
    private readonly limits: RiskLimits,
    private readonly clock: Clock,
    snapshot: LedgerSnapshot,
  ) {
    this.day = startOfUtcDay(clock.now());
    this.persistent = {
      tradingState: snapshot.tradingState,
      stateReason: snapshot.stateReason,
      stateChangedAt: snapshot.stateChangedAt,
      realizedPnl: snapshot.realizedPnl,
      peakEquity: snapshot.peakEquity,
      lossResetAt: snapshot.lossResetAt,
    };
    for (const [strategy, count] of snapshot.dailyOperations) {
      this.dailyByStrategy.set(strategy, count);
      this.dailyTotal += count;
    }
    this.dailyPnl = snapshot.dailyPnl;
    for (const position of snapshot.live) this.addPosition(position);
    this.lastOperationAt = new Map(snapshot.lastOperationAt);
    this.streaks = new Map(snapshot.streaks);
  }

  /** The state to persist. */
  get state(): Readonly<LedgerState> {
    return this.persistent;
  }

  get tradingState(): TradingState {
    return this.persistent.tradingState;
  }

  get equity(): bigint {
    return this.limits.startingEquity + this.persistent.realizedPnl;
  }

  /**
   * Whether the strategy's submit-rate bucket holds a token now; nothing is spent. The bucket
   * bounds how fast a strategy takes risk, so only an accepted operation spends a token (see
   * {@link spendSubmitToken}): a rejected submit takes no risk, and a strategy whose orders are
   * refused for another reason is not also locked out of its next, valid one.
   */
  hasSubmitToken(strategy: string): boolean {
    const { perSecond, burst } = this.limits.maxSubmitRate;
    return hasToken(this.buckets.get(strategy), this.clock.now(), perSecond, burst);
  }

  /** Spends one token of the strategy's submit-rate bucket, for an accepted operation. */
  spendSubmitToken(strategy: string): void {
    const { perSecond, burst } = this.limits.maxSubmitRate;
    const { bucket } = takeToken(this.buckets.get(strategy), this.clock.now(), perSecond, burst);
    // Unknown strategies are rejected anyway; do not let their names grow the map.
    if (this.limits.strategies.has(strategy)) this.buckets.set(strategy, bucket);
  }

  /** The usage a request for `strategy` on `instrument` is judged against. */
  usage(strategy: string, instrument: string, withinRate: boolean): RiskUsage {
    const now = this.clock.now();
    this.rollDay(now);
    return {
      now,
      tradingState: this.persistent.tradingState,
      dailyOperations: this.dailyTotal,
      dailyOperationsOfStrategy: this.dailyByStrategy.get(strategy) ?? 0,
      exposureTotal: this.exposureTotal,
      exposureOfInstrument: this.exposureByInstrument.get(instrument) ?? 0n,
      lastOperationAt: this.lastOperationAt.get(instrument),
      withinRate,
      submitTokens: this.buckets.get(strategy)?.tokens ?? this.limits.maxSubmitRate.burst,
      dailyLoss: this.dailyLoss,
      equity: this.equity,
      peakEquity: this.persistent.peakEquity,
      cooldownUntil: this.streaks.get(strategy)?.cooldownUntil ?? 0,
    };
  }

  /** Counts an accepted operation and reserves its notional against exposure. */
  reserve(position: Position): void {
    const now = this.clock.now();
    this.rollDay(now);
    this.dailyTotal += 1;
    this.dailyByStrategy.set(position.strategy, (this.dailyByStrategy.get(position.strategy) ?? 0) + 1);
    this.lastOperationAt.set(position.instrument, now);
    this.addPosition(position);
  }

  /** Open notional in total and on `instrument` (reserved, or at the fill once filled). */
  exposure(instrument: string): { total: bigint; ofInstrument: bigint } {
    return { total: this.exposureTotal, ofInstrument: this.exposureByInstrument.get(instrument) ?? 0n };
  }

  /** Replaces a reservation made at the quote with the notional at the real fill. */
  refill(position: Position, notional: bigint): void {
    this.moveExposure(position.instrument, notional - position.notional);
  }

  /** Frees the reservation of an operation that never opened. */
  release(position: Position): void {
    this.removePosition(position);
  }

  /** Books a close: frees exposure, adds the P&L to equity, follows the strategy's loss streak. */
  book(position: Position, pnl: bigint): void {
    const now = this.clock.now();
    this.rollDay(now);
    this.removePosition(position);
    this.persistent = { ...this.persistent, realizedPnl: this.persistent.realizedPnl + pnl };
    this.dailyPnl += pnl;
    if (this.equity > this.persistent.peakEquity) this.persistent.peakEquity = this.equity;
    if (pnl === 0n) return;
    const streak = this.streaks.get(position.strategy) ?? { losses: 0, cooldownUntil: 0 };
    if (pnl > 0n) {
      this.streaks.set(position.strategy, { ...streak, losses: 0 });
    } else if (streak.losses + 1 >= this.limits.lossStreak.maxConsecutive) {
      this.streaks.set(position.strategy, {
        losses: 0,
        cooldownUntil: now + this.limits.lossStreak.cooldownMs,
      });
    } else {
      this.streaks.set(position.strategy, { ...streak, losses: streak.losses + 1 });
    }
  }

  /** The strategy's streak, to persist after {@link book}. */
  streakOf(strategy: string): StrategyStreak {
    return this.streaks.get(strategy) ?? { losses: 0, cooldownUntil: 0 };
  }

  /** Limits that, once crossed, halt trading by themselves. */
  breaches(): RiskFailure[] {
    this.rollDay(this.clock.now());
    const failures: RiskFailure[] = [];
    const money = (value: bigint): string => formatFixed(value, this.limits.moneyScale);
    if (this.dailyLoss > this.limits.maxDailyLoss) {
      failures.push({
        code: "DAILY_LOSS_EXCEEDED",
        message: "realized loss today is beyond the daily limit",
        limit: money(this.limits.maxDailyLoss),
        observed: money(this.dailyLoss),
      });
    }
    if (drawdownExceeds(this.equity, this.persistent.peakEquity, this.limits.maxDrawdown)) {
      failures.push({
        code: "DRAWDOWN_EXCEEDED",
        message: "equity drawdown from its peak is beyond the limit",
        limit: formatFixed(this.limits.maxDrawdown, RATIO_SCALE),
        observed: formatFixed(drawdownRatio(this.equity, this.persistent.peakEquity, "up"), RATIO_SCALE),
      });
    }
    return failures;
  }

  /**
   * Changes the trading state. Resuming from a halt is the operator's acknowledgement of the
   * losses that caused it: the daily loss is counted afresh and the drawdown peak becomes the
   * current equity, so the same breach does not halt again at once.
   */
  setTradingState(state: TradingState, reason: string): void {
    const now = this.clock.now();
    const resumed = this.persistent.tradingState === "halted" && state !== "halted";
    this.persistent = { ...this.persistent, tradingState: state, stateReason: reason, stateChangedAt: now };
    if (resumed) {
      this.persistent.lossResetAt = now;
      this.persistent.peakEquity = this.equity;
      this.dailyPnl = 0n;
    }
  }

  /** Realized loss today, as a positive amount. */
  get dailyLoss(): bigint {
    // Day counters reset at UTC midnight even when nothing is submitted or closed.
    this.rollDay(this.clock.now());
    return this.dailyPnl < 0n ? -this.dailyPnl : 0n;
  }

  /** Usage of each stateful limit as a ratio in 0..1, and the figures behind it, for `GET /v1/risk`. */
  utilization(): Record<string, number> {
    this.rollDay(this.clock.now());
    const ratio = (used: number, limit: number): number =>
      limit > 0 ? Math.min(1, Math.max(0, used / limit)) : 0;
    const m = this.limits.moneyScale;
    let worstStreak = 0;
    const now = this.clock.now();
    for (const streak of this.streaks.values()) {
      // A streak that tripped resets its count; its cooldown is the limit reached.
      worstStreak = Math.max(
        worstStreak,
        streak.cooldownUntil > now ? this.limits.lossStreak.maxConsecutive : streak.losses,
      );
    }
    let worstInstrument = 0n;
    for (const value of this.exposureByInstrument.values())
      if (value > worstInstrument) worstInstrument = value;
    return {
      daily_operations: ratio(this.dailyTotal, this.limits.maxDailyOperations.global),
      exposure_total: ratio(toNumber(this.exposureTotal, m), toNumber(this.limits.maxExposure.total, m)),
      exposure_instrument: ratio(
        toNumber(worstInstrument, m),
        toNumber(this.limits.maxExposure.perInstrument, m),
      ),
      daily_loss: ratio(toNumber(this.dailyLoss, m), toNumber(this.limits.maxDailyLoss, m)),
      drawdown: ratio(
        toNumber(drawdownRatio(this.equity, this.persistent.peakEquity), RATIO_SCALE),
        toNumber(this.limits.maxDrawdown, RATIO_SCALE),
      ),
      loss_streak: ratio(worstStreak, this.limits.lossStreak.maxConsecutive),
    };
  }

  /** Counts and exposure, for `GET /v1/risk` and the gauges. */
  view() {
    this.rollDay(this.clock.now());
    return {
      dailyOperations: this.dailyTotal,
      dailyOperationsByStrategy: this.dailyByStrategy as ReadonlyMap<string, number>,
      exposureTotal: this.exposureTotal,
      exposureByInstrument: this.exposureByInstrument as ReadonlyMap<string, bigint>,
      open: this.openCount.values(),
      streaks: this.streaks as ReadonlyMap<string, StrategyStreak>,
    };
  }

  private rollDay(now: number): void {
    const day = startOfUtcDay(now);
    if (day === this.day) return;
    this.day = day;
    this.dailyTotal = 0;
    this.dailyByStrategy.clear();
    this.dailyPnl = 0n;
  }

  private addPosition({ strategy, instrument, notional }: Position): void {
    this.moveExposure(instrument, notional);
    const key = `${strategy}\u0000${instrument}`;
    const entry = this.openCount.get(key);
    if (entry) entry.count += 1;
    else this.openCount.set(key, { strategy, instrument, count: 1 });
  }

  private removePosition({ strategy, instrument, notional }: Position): void {
    this.moveExposure(instrument, -notional);
    const entry = this.openCount.get(`${strategy}\u0000${instrument}`);
    if (entry) entry.count -= 1;
  }

  private moveExposure(instrument: string, delta: bigint): void {
    this.exposureTotal += delta;
    this.exposureByInstrument.set(instrument, (this.exposureByInstrument.get(instrument) ?? 0n) + delta);
  }
}
