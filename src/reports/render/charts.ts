import { renderVegaLiteSvg } from "./vega-svg.js";
import type { CalibrationBucket, CategoryValue, PatternHitRate, TimePoint } from "./chart-inputs.js";
import {
  buildCalibrationSpec,
  buildCategoryBarsSpec,
  buildDrawdownSpec,
  buildEquityCurveSpec,
  buildHitRateSpec,
  type ChartOptions,
} from "./chart-specs.js";
import type { TopLevelSpec } from "vega-lite";

export {
  buildCalibrationSpec,
  buildCategoryBarsSpec,
  buildDrawdownSpec,
  buildEquityCurveSpec,
  buildHitRateSpec,
  CHART_COLORS,
} from "./chart-specs.js";
export type { CalibrationBucket, CategoryValue, PatternHitRate, TimePoint } from "./chart-inputs.js";
export type { ChartOptions } from "./chart-specs.js";

/** Renders a line chart of an equity curve over time. */
export function renderEquityCurveSvg(
  points: readonly TimePoint[],
  options: ChartOptions = {},
): Promise<string> {
  return render(() => buildEquityCurveSpec(points, options), options);
}

/** Renders an area chart of drawdown over time (values as given: negative amounts or ratios). */
export function renderDrawdownSvg(points: readonly TimePoint[], options: ChartOptions = {}): Promise<string> {
  return render(() => buildDrawdownSpec(points, options), options);
}

/** Renders horizontal bars by category (e.g. P&L by strategy), negative bars in another colour. */
export function renderCategoryBarsSvg(
  rows: readonly CategoryValue[],
  options: ChartOptions = {},
): Promise<string> {
  return render(() => buildCategoryBarsSpec(rows, options), options);
}

/** Renders hit rate by pattern as bars (grouped when rows carry a `group`). */
export function renderHitRateSvg(
  rows: readonly PatternHitRate[],
  options: ChartOptions = {},
): Promise<string> {
  return render(() => buildHitRateSpec(rows, options), options);
}

/** Renders a calibration chart: observed hit rate against predicted confidence, with the diagonal. */
export function renderCalibrationSvg(
  buckets: readonly CalibrationBucket[],
  options: ChartOptions = {},
): Promise<string> {
  return render(() => buildCalibrationSpec(buckets, options), options);
}

/** Builds inside the promise, so that invalid input rejects like every other failure. */
function render(build: () => TopLevelSpec, options: ChartOptions): Promise<string> {
  return Promise.resolve().then(() =>
    renderVegaLiteSvg(build(), { label: options.title, onWarning: options.onWarning }),
  );
}
