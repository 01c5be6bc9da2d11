import type { Statement } from "better-sqlite3";
import type { Db } from "../platform/db.js";
import type { TradingState } from "./codes.js";
import { PerformanceAggregates } from "../reports/performance/aggregates.js";
import type { LedgerState, StrategyStreak } from "./ledger.js";

interface RiskStateRow {
  trading_state: TradingState;
  state_reason: string;
  state_changed_at: bigint;
  realized_pnl: bigint;
  peak_equity: bigint;
  loss_reset_at: bigint;
}

/** Persists the trading state, equity figures and loss streaks. */
export class RiskRepository {
  private readonly getStmt: Statement;
  private readonly saveStmt: Statement;
  private readonly streaksStmt: Statement;
  private readonly saveStreakStmt: Statement;
  private readonly aggregates: PerformanceAggregates;

  constructor(db: Db) {
    this.aggregates = new PerformanceAggregates(db);
    this.getStmt = db.prepare(`SELECT * FROM risk_state WHERE id = 1`);
    this.saveStmt = db.prepare(`
      INSERT INTO risk_state (id, trading_state, state_reason, state_changed_at, realized_pnl, peak_equity, loss_reset_at)
      VALUES (1, @tradingState, @stateReason, @stateChangedAt, @realizedPnl, @peakEquity, @lossResetAt)
      ON CONFLICT (id) DO UPDATE SET trading_state = excluded.trading_state, state_reason = excluded.state_reason,
        state_changed_at = excluded.state_changed_at, realized_pnl = excluded.realized_pnl,
        peak_equity = excluded.peak_equity, loss_reset_at = excluded.loss_reset_at`);
    this.streaksStmt = db.prepare(`SELECT strategy, loss_streak, cooldown_until FROM strategy_state`);
    this.saveStreakStmt = db.prepare(`
      INSERT INTO strategy_state (strategy, loss_streak, cooldown_until) VALUES (?, ?, ?)
      ON CONFLICT (strategy) DO UPDATE SET loss_streak = excluded.loss_streak, cooldown_until = excluded.cooldown_until`);
  }

  load(): LedgerState | undefined {
    const row = this.getStmt.get() as RiskStateRow | undefined;
    if (!row) return undefined;
    return {
      tradingState: row.trading_state,
      stateReason: row.state_reason,
      stateChangedAt: Number(row.state_changed_at),
      realizedPnl: row.realized_pnl,
      peakEquity: row.peak_equity,
      lossResetAt: Number(row.loss_reset_at),
    };
  }

  /** Counts a rejected submit by day, strategy and failed check, for the performance report. */
  recordRejection(strategy: string, codes: readonly string[], at: number): void {
    this.aggregates.recordRejection(strategy, codes, at);
  }

  /** Records a day's new high of exposure, for the performance report's limit utilization. */
  recordPeak(day: string, measure: string, key: string, value: bigint, at: number): void {
    this.aggregates.recordPeak(day, measure, key, value, at);
  }

  /** Counts a loss streak that started a cooldown, for the performance report. */
  recordCooldown(strategy: string, at: number): void {
    this.aggregates.recordCooldown(strategy, at);
  }

  save(state: LedgerState): void {
    this.saveStmt.run(state);
  }

  loadStreaks(): Map<string, StrategyStreak> {
    const rows = this.streaksStmt.all() as {
      strategy: string;
      loss_streak: bigint;
      cooldown_until: bigint;
    }[];
    return new Map(
      rows.map((r) => [
        r.strategy,
        { losses: Number(r.loss_streak), cooldownUntil: Number(r.cooldown_until) },
      ]),
    );
  }

  saveStreak(strategy: string, streak: StrategyStreak): void {
    this.saveStreakStmt.run(strategy, streak.losses, streak.cooldownUntil);
  }
}
