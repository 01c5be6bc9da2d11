import { divRound } from "../../platform/fixed-point.js";

/** One row of `performance_daily`, summed over any of its days: the closes of one combination. */
export interface PerformanceRow {
  strategy: string;
  instrument: string;
  /** "" without a pattern. */
  pattern: string;
  side: "buy" | "sell";
  /** Declared confidence in tenths (0–9); −1 without one. */
  confidenceBucket: number;
  closes: number;
  wins: number;
  losses: number;
  /** Sum of the positive P&Ls, and of the negative ones (≤ 0), in money units. */
  grossProfit: bigint;
  grossLoss: bigint;
  /** Σ P&L², for the deviation of the P&L (a float: the squares outgrow 64 bits). */
  pnlSquares: number;
  durationMs: number;
  /** Closes with a stop-loss, and the sum of their R-multiples (P&L ÷ money at risk to the stop). */
  risked: number;
  rSum: number;
  confidenceSum: number;
  /** Σ (confidence − hit)²: the Brier score's numerator. */
  brierSum: number;
}

/** The statistics of a set of closes (docs/reports.md gives every formula). */
export interface TradeStats {
  closes: number;
  wins: number;
  losses: number;
  flats: number;
  /** Wins ÷ closes (a flat close is not a win). */
  winRate: number | null;
  pnl: bigint;
  grossProfit: bigint;
  grossLoss: bigint;
  /** P&L ÷ closes, in money units rounded half to even: the expectancy per close. */
  averagePnl: bigint | null;
  averageWin: bigint | null;
  averageLoss: bigint | null;
  /** Average win ÷ |average loss|. */
  payoffRatio: number | null;
  /** Gross profit ÷ |gross loss|. */
  profitFactor: number | null;
  /** (1 + payoff ratio) × win rate − 1, as freqtrade computes it. */
  expectancyRatio: number | null;
  /** System quality number: √closes × mean P&L ÷ its sample deviation. */
  sqn: number | null;
  averageDurationMs: number | null;
  /** Buys ÷ closes. */
  longShare: number | null;
  riskedCloses: number;
  /** Mean R-multiple of the closes with a stop-loss. */
  averageR: number | null;
}

const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);
const average = (sum: bigint, count: number): bigint | null =>
  count === 0 ? null : divRound(sum, BigInt(count));

/** Adds rows up into the statistics of all their closes. */
export function tradeStats(rows: readonly PerformanceRow[]): TradeStats {
  let closes = 0;
  let wins = 0;
  let losses = 0;
  let grossProfit = 0n;
  let grossLoss = 0n;
  let squares = 0;
  let durationMs = 0;
  let buys = 0;
  let risked = 0;
  let rSum = 0;
  for (const row of rows) {
    closes += row.closes;
    wins += row.wins;
    losses += row.losses;
    grossProfit += row.grossProfit;
    grossLoss += row.grossLoss;
    squares += row.pnlSquares;
    durationMs += row.durationMs;
    if (row.side === "buy") buys += row.closes;
    risked += row.risked;
    rSum += row.rSum;
  }
  const pnl = grossProfit + grossLoss;
  const averageWin = average(grossProfit, wins);
  const averageLoss = average(grossLoss, losses);
  const payoffRatio =
    wins > 0 && losses > 0 ? Number(grossProfit) / wins / (-Number(grossLoss) / losses) : null;
  const winRate = ratio(wins, closes);
  let sqn: number | null = null;
  if (closes >= 2) {
    const mean = Number(pnl) / closes;
    const variance = (squares - closes * mean * mean) / (closes - 1);
    // Rounding of the float sums can leave a tiny negative variance where every P&L is equal.
    if (variance > 0) sqn = (Math.sqrt(closes) * mean) / Math.sqrt(variance);
  }
  return {
    closes,
    wins,
    losses,
    flats: closes - wins - losses,
    winRate,
    pnl,
    grossProfit,
    grossLoss,
    averagePnl: average(pnl, closes),
    averageWin,
    averageLoss,
    payoffRatio,
    profitFactor: grossLoss === 0n ? null : Number(grossProfit) / -Number(grossLoss),
    expectancyRatio: payoffRatio === null || winRate === null ? null : (1 + payoffRatio) * winRate - 1,
    sqn,
    averageDurationMs: ratio(durationMs, closes),
    longShare: ratio(buys, closes),
    riskedCloses: risked,
    averageR: ratio(rSum, risked),
  };
}

/** The statistics of the rows grouped by `key`, largest group first (then by name). */
export function statsBy(
  rows: readonly PerformanceRow[],
  key: (row: PerformanceRow) => string,
): { key: string; stats: TradeStats }[] {
  const groups = new Map<string, PerformanceRow[]>();
  for (const row of rows) groups.set(key(row), [...(groups.get(key(row)) ?? []), row]);
  return [...groups]
    .map(([name, members]) => ({ key: name, stats: tradeStats(members) }))
    .sort((a, b) => b.stats.closes - a.stats.closes || a.key.localeCompare(b.key));
}

/** How often a pattern's closes won, and whether its declared confidence matched. */
export interface PatternStats {
  pattern: string;
  closes: number;
  hits: number;
  hitRate: number | null;
  /** Closes that declared a confidence, its mean, and the Brier score (mean squared error; 0 is perfect). */
  withConfidence: number;
  meanConfidence: number | null;
  brier: number | null;
  /** By declared confidence in tenths: how many closed, and how many of them won. */
  calibration: {
    bucket: number;
    from: number;
    to: number;
    closes: number;
    hits: number;
    hitRate: number | null;
    meanConfidence: number | null;
  }[];
}

/** The pattern statistics of every pattern in `rows`, most closes first. */
export function patternStats(rows: readonly PerformanceRow[]): PatternStats[] {
  const byPattern = new Map<string, PerformanceRow[]>();
  for (const row of rows)
    if (row.pattern !== "") byPattern.set(row.pattern, [...(byPattern.get(row.pattern) ?? []), row]);
  return [...byPattern]
    .map(([pattern, members]) => {
      let closes = 0;
      let hits = 0;
      let withConfidence = 0;
      let confidenceSum = 0;
      let brierSum = 0;
      const buckets = new Map<number, { closes: number; hits: number; confidenceSum: number }>();
      for (const row of members) {
        closes += row.closes;
        hits += row.wins;
        if (row.confidenceBucket < 0) continue;
        withConfidence += row.closes;
        confidenceSum += row.confidenceSum;
        brierSum += row.brierSum;
        const bucket = buckets.get(row.confidenceBucket) ?? { closes: 0, hits: 0, confidenceSum: 0 };
        bucket.closes += row.closes;
        bucket.hits += row.wins;
        bucket.confidenceSum += row.confidenceSum;
        buckets.set(row.confidenceBucket, bucket);
      }
      return {
        pattern,
        closes,
        hits,
        hitRate: ratio(hits, closes),
        withConfidence,
        meanConfidence: ratio(confidenceSum, withConfidence),
        brier: ratio(brierSum, withConfidence),
        calibration: [...buckets]
          .sort(([a], [b]) => a - b)
          .map(([bucket, b]) => ({
            bucket,
            from: bucket / 10,
            to: (bucket + 1) / 10,
            closes: b.closes,
            hits: b.hits,
            hitRate: ratio(b.hits, b.closes),
            meanConfidence: ratio(b.confidenceSum, b.closes),
          })),
      };
    })
    .sort((a, b) => b.closes - a.closes || a.pattern.localeCompare(b.pattern));
}
