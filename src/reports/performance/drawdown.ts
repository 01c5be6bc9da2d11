/** One day of an equity curve, as `equity_daily` keeps it (amounts relative to the day's start). */
export interface EquityDay {
  day: string;
  closes: number;
  pnl: bigint;
  /** Highest running P&L of the day (0, its start, included); `highAt` null when that was the start. */
  high: bigint;
  highAt: number | null;
  low: bigint;
  lowAt: number | null;
  /** Largest fall within the day from a running high (`drawdownHigh`) of that day. */
  drawdown: bigint;
  drawdownHigh: bigint;
  drawdownFrom: number | null;
  drawdownTo: number | null;
}

/** The largest peak-to-trough fall of an equity curve. */
export interface Drawdown {
  amount: bigint;
  /** The fall ÷ the equity at the peak it fell from; null when that peak was not positive. */
  ratio: number | null;
  /** Equity at that peak. */
  peak: bigint;
  /** When the peak was (null: the curve's start) and the trough. */
  from: number | null;
  to: number | null;
}

/**
 * The maximum drawdown of the curve that starts at `start` equity and moves by `days` in order.
 * Exact: a point's drawdown is the highest equity before it minus its own; within a day that high
 * is the higher of the curve's high before the day and the day's own running high, so each day
 * contributes its own largest fall and the fall from the earlier high to its lowest point.
 */
export function maxDrawdown(start: bigint, days: readonly EquityDay[]): Drawdown {
  let equity = start;
  let peak = start;
  let peakAt: number | null = null;
  let worst: Drawdown = { amount: 0n, ratio: null, peak: start, from: null, to: null };
  const consider = (amount: bigint, high: bigint, from: number | null, to: number | null) => {
    if (amount <= worst.amount) return;
    worst = { amount, ratio: high > 0n ? Number(amount) / Number(high) : null, peak: high, from, to };
  };
  for (const day of days) {
    if (day.lowAt !== null) consider(peak - (equity + day.low), peak, peakAt, day.lowAt);
    // A fall from the day's start (no `drawdownFrom`) is measured from the earlier high above.
    if (day.drawdownFrom !== null)
      consider(day.drawdown, equity + day.drawdownHigh, day.drawdownFrom, day.drawdownTo);
    if (equity + day.high > peak) {
      peak = equity + day.high;
      peakAt = day.highAt;
    }
    equity += day.pnl;
  }
  return worst;
}

/** Every UTC day from `first` to `last` (`YYYY-MM-DD`, both included). */
export function daysBetween(first: string, last: string): string[] {
  const days: string[] = [];
  for (let at = Date.parse(`${first}T00:00:00Z`); at <= Date.parse(`${last}T00:00:00Z`); at += 86_400_000)
    days.push(new Date(at).toISOString().slice(0, 10));
  return days;
}

/**
 * The return of each day from `first` to `last`: its P&L ÷ the equity at its start. A day without
 * closes returns 0 (the book is valued at its closes). Null where the equity at a day's start is
 * not positive: returns are undefined there.
 */
export function dailyReturns(
  start: bigint,
  days: readonly EquityDay[],
  first: string,
  last: string,
): { day: string; equity: bigint; pnl: bigint; return: number | null }[] {
  const byDay = new Map(days.map((day) => [day.day, day]));
  let equity = start;
  return daysBetween(first, last).map((day) => {
    const pnl = byDay.get(day)?.pnl ?? 0n;
    const at = { day, equity, pnl, return: equity > 0n ? Number(pnl) / Number(equity) : null };
    equity += pnl;
    return at;
  });
}
