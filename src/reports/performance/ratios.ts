// Risk-adjusted ratios of a series of periodic returns. Conventions (docs/reports.md): the
// deviation is the sample one (n − 1), the risk-free rate is 0, and a ratio is annualized by
// the square root of the periods in a year. With fewer than two periods, or no deviation, a
// ratio is null: undefined, never 0 or infinite.

/** The arithmetic mean; null for an empty series. */
export function mean(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

/** The sample standard deviation (n − 1); null below two values. */
export function sampleDeviation(values: readonly number[]): number | null {
  const average = mean(values);
  if (average === null || values.length < 2) return null;
  let squares = 0;
  for (const value of values) squares += (value - average) ** 2;
  return Math.sqrt(squares / (values.length - 1));
}

/** Sharpe ratio: mean ÷ sample deviation × √periods. */
export function sharpe(returns: readonly number[], periodsPerYear: number): number | null {
  const average = mean(returns);
  const deviation = sampleDeviation(returns);
  if (average === null || deviation === null || deviation === 0) return null;
  return (average / deviation) * Math.sqrt(periodsPerYear);
}

/**
 * Sortino ratio: mean ÷ downside deviation × √periods, the downside deviation being
 * √(Σ min(r, 0)² ÷ n) over every period (target 0), as NautilusTrader and empyrical compute it.
 */
export function sortino(returns: readonly number[], periodsPerYear: number): number | null {
  const average = mean(returns);
  if (average === null || returns.length < 2) return null;
  let squares = 0;
  for (const value of returns) if (value < 0) squares += value * value;
  if (squares === 0) return null;
  return (average / Math.sqrt(squares / returns.length)) * Math.sqrt(periodsPerYear);
}

/**
 * Compound annual growth from `start` to `end` equity over `periods` of a year of `periodsPerYear`;
 * null below two periods, as the other ratios: one day's result raised to a year's power is noise.
 */
export function annualGrowth(
  start: number,
  end: number,
  periods: number,
  periodsPerYear: number,
): number | null {
  if (start <= 0 || end <= 0 || periods < 2) return null;
  return (end / start) ** (periodsPerYear / periods) - 1;
}

/** Calmar ratio: annual growth ÷ the maximum drawdown as a ratio; null without a drawdown. */
export function calmar(growth: number | null, maxDrawdownRatio: number | null): number | null {
  if (growth === null || maxDrawdownRatio === null || maxDrawdownRatio === 0) return null;
  return growth / maxDrawdownRatio;
}
