import type { Statement } from "better-sqlite3";
import { dayOf } from "../../platform/clock.js";
import type { Db } from "../../platform/db.js";

// The daily aggregates the performance report reads (tables of migration 3). They are written in
// the transaction that books a close, so a report never disagrees with the operations table, and
// a report over a million operations reads a few thousand rows instead of a million.

// The UTC day, as `YYYY-MM-DD`, is the key of every daily aggregate.
export { dayOf };

/** The strategy name the book-wide rows of `equity_daily` carry. */
export const BOOK = "";

/** A pattern's declared confidence in tenths: 0.0–0.1 is bucket 0, 0.9–1.0 (1 included) is 9. */
export function confidenceBucket(confidence: number | null): number {
  return confidence === null ? -1 : Math.min(Math.floor(confidence * 10), 9);
}

/** One booked close, as the aggregates need it. */
export interface ClosedTrade {
  strategy: string;
  instrument: string;
  pattern: string | null;
  confidence: number | null;
  side: "buy" | "sell";
  pnl: bigint;
  /** Money lost had the stop-loss been hit at its price (entry to stop × size); null without a stop. */
  plannedRisk: bigint | null;
  openedAt: number;
  closedAt: number;
}

const UPSERT_PERFORMANCE = `
  INSERT INTO performance_daily (day, strategy, instrument, pattern, side, confidence_bucket, closes, wins,
    losses, gross_profit, gross_loss, pnl_squares, duration_ms, risked, r_sum, confidence_sum, brier_sum)
  VALUES (@day, @strategy, @instrument, @pattern, @side, @bucket, 1, @win, @loss, @profit, @lossAmount,
    @square, @duration, @risked, @r, @confidence, @brier)
  ON CONFLICT DO UPDATE SET closes = closes + 1, wins = wins + excluded.wins, losses = losses + excluded.losses,
    gross_profit = gross_profit + excluded.gross_profit, gross_loss = gross_loss + excluded.gross_loss,
    pnl_squares = pnl_squares + excluded.pnl_squares, duration_ms = duration_ms + excluded.duration_ms,
    risked = risked + excluded.risked, r_sum = r_sum + excluded.r_sum,
    confidence_sum = confidence_sum + excluded.confidence_sum, brier_sum = brier_sum + excluded.brier_sum`;

// The day's running P&L after each close, folded as it is booked: its highest and lowest point
// (0, the day's start, included; a null time is the start) and its largest fall from a high, with
// that high. Days combine into the whole curve exactly (see drawdown.ts). In an UPDATE every
// expression reads the row as it was, so `pnl + excluded.pnl` is the running P&L after this close.
const UPSERT_EQUITY = `
  INSERT INTO equity_daily (day, strategy, closes, pnl, high, high_at, low, low_at, drawdown, drawdown_high,
    drawdown_from, drawdown_to)
  VALUES (@day, @strategy, 1, @pnl, MAX(@pnl, 0), CASE WHEN @pnl > 0 THEN @at END, MIN(@pnl, 0),
    CASE WHEN @pnl < 0 THEN @at END, MAX(-@pnl, 0), 0, NULL, CASE WHEN @pnl < 0 THEN @at END)
  ON CONFLICT DO UPDATE SET closes = closes + 1, pnl = pnl + excluded.pnl,
    high = MAX(high, pnl + excluded.pnl),
    high_at = CASE WHEN pnl + excluded.pnl > high THEN @at ELSE high_at END,
    low = MIN(low, pnl + excluded.pnl),
    low_at = CASE WHEN pnl + excluded.pnl < low THEN @at ELSE low_at END,
    drawdown = MAX(drawdown, high - (pnl + excluded.pnl)),
    drawdown_high = CASE WHEN high - (pnl + excluded.pnl) > drawdown THEN high ELSE drawdown_high END,
    drawdown_from = CASE WHEN high - (pnl + excluded.pnl) > drawdown THEN high_at ELSE drawdown_from END,
    drawdown_to = CASE WHEN high - (pnl + excluded.pnl) > drawdown THEN @at ELSE drawdown_to END`;

const UPSERT_PEAK = `
  INSERT INTO risk_peaks_daily (day, measure, key, peak, at) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT DO UPDATE SET peak = excluded.peak, at = excluded.at WHERE excluded.peak > peak`;

const UPSERT_RISK_EVENT = `
  INSERT INTO risk_events_daily (day, strategy, event, code, count) VALUES (?, ?, ?, ?, 1)
  ON CONFLICT DO UPDATE SET count = count + 1`;

/** Writes the daily aggregates; call inside the transaction that books the close or the rejection. */
export class PerformanceAggregates {
  private readonly performance: Statement;
  private readonly equity: Statement;
  private readonly riskEvent: Statement;
  private readonly peak: Statement;

  constructor(db: Db) {
    this.performance = db.prepare(UPSERT_PERFORMANCE);
    this.equity = db.prepare(UPSERT_EQUITY);
    this.riskEvent = db.prepare(UPSERT_RISK_EVENT);
    this.peak = db.prepare(UPSERT_PEAK);
  }

  /** Adds a booked close to its day: the statistics row, the book's curve and its strategy's. */
  recordClose(trade: ClosedTrade): void {
    const day = dayOf(trade.closedAt);
    const win = trade.pnl > 0n ? 1 : 0;
    const pnl = Number(trade.pnl);
    const risked = trade.plannedRisk !== null && trade.plannedRisk > 0n;
    this.performance.run({
      day,
      strategy: trade.strategy,
      instrument: trade.instrument,
      pattern: trade.pattern ?? "",
      side: trade.side,
      bucket: confidenceBucket(trade.confidence),
      win,
      loss: trade.pnl < 0n ? 1 : 0,
      profit: trade.pnl > 0n ? trade.pnl : 0n,
      lossAmount: trade.pnl < 0n ? trade.pnl : 0n,
      square: pnl * pnl,
      duration: trade.closedAt - trade.openedAt,
      risked: risked ? 1 : 0,
      r: risked ? pnl / Number(trade.plannedRisk) : 0,
      confidence: trade.confidence ?? 0,
      brier: trade.confidence === null ? 0 : (trade.confidence - win) ** 2,
    });
    this.equity.run({ day, strategy: BOOK, pnl: trade.pnl, at: trade.closedAt });
    this.equity.run({ day, strategy: trade.strategy, pnl: trade.pnl, at: trade.closedAt });
  }

  /** Counts a rejected submit on the day it was refused, and each check it failed. */
  recordRejection(strategy: string, codes: readonly string[], at: number): void {
    const day = dayOf(at);
    this.riskEvent.run(day, strategy, "rejected", "");
    for (const code of codes) this.riskEvent.run(day, strategy, "failed_check", code);
  }

  /** Records a day's new high of exposure (kept only if higher than the one recorded). */
  recordPeak(day: string, measure: string, key: string, value: bigint, at: number): void {
    this.peak.run(day, measure, key, value, at);
  }

  /** Counts a loss streak that started a cooldown of the strategy. */
  recordCooldown(strategy: string, at: number): void {
    this.riskEvent.run(dayOf(at), strategy, "cooldown", "");
  }
}

/**
 * Fills every daily aggregate of the closes from the operations table: the migration that adds
 * them, and databases seeded without booking closes one by one. Rejections and cooldowns leave
 * no row to rebuild them from; they are kept as they are. In one transaction (a savepoint inside a
 * caller's): two upserts per close each committed alone took 160 µs apiece.
 */
export function rebuildPerformanceAggregates(db: Db): void {
  db.transaction(() => rebuildAll(db))();
}

function rebuildAll(db: Db): void {
  db.exec(`
    DELETE FROM performance_daily;
    INSERT INTO performance_daily
    SELECT strftime('%Y-%m-%d', closed_at / 1000, 'unixepoch'), strategy, instrument, COALESCE(pattern, ''), side,
      CASE WHEN confidence IS NULL THEN -1 ELSE MIN(CAST(confidence * 10 AS INTEGER), 9) END,
      COUNT(*), SUM(pnl > 0), SUM(pnl < 0), SUM(MAX(pnl, 0)), SUM(MIN(pnl, 0)), SUM(CAST(pnl AS REAL) * pnl),
      SUM(closed_at - opened_at), COALESCE(SUM(planned_risk > 0), 0),
      COALESCE(SUM(CASE WHEN planned_risk > 0 THEN CAST(pnl AS REAL) / planned_risk END), 0),
      COALESCE(SUM(confidence), 0), COALESCE(SUM((confidence - (pnl > 0)) * (confidence - (pnl > 0))), 0)
    FROM operations WHERE status = 'closed'
    GROUP BY 1, 2, 3, 4, 5, 6`);
  rebuildEquityDaily(db);
}

/** One page of closed operations in the order they closed, after a (closed_at, id). */
export const EQUITY_PAGE = `SELECT strategy, pnl, closed_at, id FROM operations
  WHERE closed_at IS NOT NULL AND status = 'closed' AND (closed_at, id) > (?, ?)
  ORDER BY closed_at, id LIMIT 10000`;

/**
 * Fills `equity_daily` from the closed operations, in the order they closed (then by id): the
 * migration that adds the table, and databases seeded without booking closes one by one.
 */
export function rebuildEquityDaily(db: Db): void {
  db.exec("DELETE FROM equity_daily");
  const equity = db.prepare(UPSERT_EQUITY);
  // Pages, not one iterator: the connection cannot write while a statement of it is iterating.
  // `closed_at IS NOT NULL` lets each page start in the partial index operations_closed; without
  // it every page scanned and sorted the whole table (minutes for a million operations).
  const page = db.prepare(EQUITY_PAGE).raw(true);
  let after: [bigint, string] = [-1n, ""];
  for (;;) {
    const rows = page.all(...after) as [string, bigint, bigint, string][];
    if (rows.length === 0) return;
    for (const [strategy, pnl, closedAt] of rows) {
      const at = Number(closedAt);
      const day = dayOf(at);
      equity.run({ day, strategy: BOOK, pnl, at });
      equity.run({ day, strategy, pnl, at });
    }
    const last = rows[rows.length - 1]!;
    after = [last[2], last[3]];
  }
}
