import Database from "better-sqlite3";
import type { TradingState } from "../../risk/codes.js";
import type { EquityDay } from "./drawdown.js";
import type { PerformanceRow } from "./statistics.js";

/** Everything the performance report reads from the database for a timeframe. */
export interface PerformanceData {
  /** The first UTC day with a close, if any. */
  firstDay: string | undefined;
  /** `performance_daily` over the timeframe, summed over its days. */
  rows: PerformanceRow[];
  /** The book's P&L before the timeframe, and each strategy's. */
  pnlBefore: { strategy: string; pnl: bigint }[];
  /** The book's days (strategy "") and each strategy's, in order. */
  equity: { strategy: string; days: EquityDay[] }[];
  /** Rejected submits, failed checks by code, and cooldowns, by strategy. */
  riskEvents: {
    strategy: string;
    event: "rejected" | "failed_check" | "cooldown";
    code: string;
    count: number;
  }[];
  /** The highest exposure in the timeframe, in total (key "") and by instrument, and when. */
  peaks: { measure: "exposure_total" | "exposure_instrument"; key: string; peak: bigint; at: number }[];
  /** Operations accepted in the timeframe (created, whatever became of them). */
  accepted: { strategy: string; count: number }[];
  /**
   * When the book began: the first start's initial trading state, the first audit entry or the
   * first operation, whichever is earliest; undefined on a database no service has started on.
   * Time in a trading state is counted from then, not from before opsguard ran.
   */
  bookSince: number | undefined;
  /** The trading state when the timeframe began, and each change in it. */
  stateBefore: TradingState;
  stateChanges: { at: number; state: TradingState; from: TradingState; reason: string; actor: string }[];
}

const num = (value: bigint | number | null): number => Number(value ?? 0);
const time = (value: bigint | null): number | null => (value === null ? null : Number(value));

/**
 * Reads the aggregates of the days `first` to `last` (`YYYY-MM-DD`) on a read-only connection of
 * its own. A worker task (maintenance/database-checks.ts): the counts over the operations table
 * read an index of every operation in the timeframe.
 */
export function loadPerformance(
  path: string,
  first: string,
  last: string,
  start: number,
  end: number,
): PerformanceData {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.defaultSafeIntegers(true);
  try {
    return db.transaction(() => readPerformance(db, first, last, start, end))();
  } finally {
    db.close();
  }
}

/** {@link loadPerformance} on a connection the caller holds (inside one read transaction). */
export function readPerformance(
  db: Database.Database,
  first: string,
  last: string,
  start: number,
  end: number,
): PerformanceData {
  const firstDay = (db.prepare("SELECT MIN(day) AS day FROM equity_daily").get() as { day: string | null })
    .day;
  const rows = (
    db
      .prepare(
        `SELECT strategy, instrument, pattern, side, confidence_bucket, SUM(closes) AS closes, SUM(wins) AS wins,
           SUM(losses) AS losses, SUM(gross_profit) AS gross_profit, SUM(gross_loss) AS gross_loss,
           SUM(pnl_squares) AS pnl_squares, SUM(duration_ms) AS duration_ms, SUM(risked) AS risked,
           SUM(r_sum) AS r_sum, SUM(confidence_sum) AS confidence_sum, SUM(brier_sum) AS brier_sum
         FROM performance_daily WHERE day BETWEEN ? AND ?
         GROUP BY strategy, instrument, pattern, side, confidence_bucket`,
      )
      .all(first, last) as Record<string, bigint | number | string>[]
  ).map((r): PerformanceRow => ({
    strategy: r.strategy as string,
    instrument: r.instrument as string,
    pattern: r.pattern as string,
    side: r.side as "buy" | "sell",
    confidenceBucket: num(r.confidence_bucket as bigint),
    closes: num(r.closes as bigint),
    wins: num(r.wins as bigint),
    losses: num(r.losses as bigint),
    grossProfit: r.gross_profit as bigint,
    grossLoss: r.gross_loss as bigint,
    pnlSquares: num(r.pnl_squares as number),
    durationMs: num(r.duration_ms as bigint),
    risked: num(r.risked as bigint),
    rSum: num(r.r_sum as number),
    confidenceSum: num(r.confidence_sum as number),
    brierSum: num(r.brier_sum as number),
  }));
  const pnlBefore = (
    db
      .prepare("SELECT strategy, SUM(pnl) AS pnl FROM equity_daily WHERE day < ? GROUP BY strategy")
      .all(first) as {
      strategy: string;
      pnl: bigint;
    }[]
  ).map(({ strategy, pnl }) => ({ strategy, pnl }));
  const equityRows = db
    .prepare("SELECT * FROM equity_daily WHERE day BETWEEN ? AND ? ORDER BY strategy, day")
    .all(first, last) as Record<string, bigint | string | null>[];
  const equity = new Map<string, EquityDay[]>();
  for (const r of equityRows) {
    const days = equity.get(r.strategy as string) ?? [];
    days.push({
      day: r.day as string,
      closes: num(r.closes as bigint),
      pnl: r.pnl as bigint,
      high: r.high as bigint,
      highAt: time(r.high_at as bigint | null),
      low: r.low as bigint,
      lowAt: time(r.low_at as bigint | null),
      drawdown: r.drawdown as bigint,
      drawdownHigh: r.drawdown_high as bigint,
      drawdownFrom: time(r.drawdown_from as bigint | null),
      drawdownTo: time(r.drawdown_to as bigint | null),
    });
    equity.set(r.strategy as string, days);
  }
  const riskEvents = (
    db
      .prepare(
        `SELECT strategy, event, code, SUM(count) AS count FROM risk_events_daily WHERE day BETWEEN ? AND ?
         GROUP BY strategy, event, code ORDER BY strategy, event, code`,
      )
      .all(first, last) as { strategy: string; event: "rejected"; code: string; count: bigint }[]
  ).map((r) => ({ ...r, count: num(r.count) }));
  // SQLite takes the bare columns (`at`) from the row that has the MAX().
  const peaks = (
    db
      .prepare(
        `SELECT measure, key, MAX(peak) AS peak, at FROM risk_peaks_daily WHERE day BETWEEN ? AND ?
         GROUP BY measure, key ORDER BY measure, key`,
      )
      .all(first, last) as { measure: "exposure_total"; key: string; peak: bigint; at: bigint }[]
  ).map((r) => ({ ...r, at: Number(r.at) }));
  const accepted = (
    db
      .prepare(
        "SELECT strategy, COUNT(*) AS count FROM operations WHERE created_at >= ? AND created_at < ? GROUP BY strategy",
      )
      .all(start, end) as { strategy: string; count: bigint }[]
  ).map((r) => ({ strategy: r.strategy, count: num(r.count) }));
  const { since } = db
    .prepare(
      `SELECT MIN(at) AS since FROM (
         SELECT state_changed_at AS at FROM risk_state WHERE state_reason = 'initial state'
         UNION ALL SELECT at FROM (SELECT at FROM audit_log ORDER BY seq LIMIT 1)
         UNION ALL SELECT MIN(created_at) FROM operations)`,
    )
    .get() as { since: bigint | number | null };
  const before = db
    .prepare(
      "SELECT target FROM audit_log WHERE action = 'trading.state' AND at < ? ORDER BY at DESC, seq DESC LIMIT 1",
    )
    .get(start) as { target: TradingState } | undefined;
  const stateChanges = (
    db
      .prepare(
        `SELECT at, target, details, actor FROM audit_log WHERE action = 'trading.state' AND at >= ? AND at < ?
         ORDER BY at, seq`,
      )
      .all(start, end) as { at: bigint; target: TradingState; details: string; actor: string }[]
  ).map((r) => {
    const details = JSON.parse(r.details) as { from?: TradingState; reason?: string };
    return {
      at: Number(r.at),
      state: r.target,
      from: details.from ?? "active",
      reason: details.reason ?? "",
      actor: r.actor,
    };
  });
  return {
    firstDay: firstDay ?? undefined,
    rows,
    pnlBefore,
    equity: [...equity].map(([strategy, days]) => ({ strategy, days })),
    riskEvents,
    peaks,
    accepted,
    // A book that never changed state has been active from the start.
    bookSince: since === null ? undefined : Number(since),
    stateBefore: before?.target ?? "active",
    stateChanges,
  };
}
