import { abs, pow10 } from "../platform/fixed-point.js";
import { RATIO_SCALE } from "./limits.js";

export interface AutoSizeInput {
  /** Equity at the money scale. */
  equity: bigint;
  moneyScale: number;
  /** Share of equity to risk, in parts per million. */
  riskPerOperation: bigint;
  entryPrice: bigint;
  stopLoss: bigint;
  priceScale: number;
  sizeScale: number;
}

/**
 * The size that loses `equity × riskPerOperation` if the stop-loss is hit:
 * `size = equity × risk ÷ |entry − stop|`, rounded down to the size precision so the risk taken
 * never exceeds the budget. Returns 0 when the budget buys less than one size unit.
 */
export function autoSize(input: AutoSizeInput): bigint {
  const distance = abs(input.entryPrice - input.stopLoss);
  if (distance === 0n || input.equity <= 0n) return 0n;
  // Bring everything to integers: equity·10^-m × r·10^-6 ÷ (d·10^-p) = size·10^-s
  const numerator = input.equity * input.riskPerOperation * pow10(input.sizeScale + input.priceScale);
  const denominator = distance * pow10(input.moneyScale + RATIO_SCALE);
  return numerator / denominator; // bigint division rounds toward zero: down for positive values
}
