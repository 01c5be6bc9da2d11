import type { TopLevelSpec } from "vega-lite";
import {
  finite,
  ratio,
  timeRow,
  type CalibrationBucket,
  type CategoryValue,
  type PatternHitRate,
  type TimePoint,
} from "./chart-inputs.js";

/** Options shared by the chart builders. */
export interface ChartOptions {
  /** Accessible name of the chart (the root `aria-label`); HTML reports show their own caption. */
  title?: string;
  /** Plot width in pixels. @default 560 (bars: 480; calibration: 300) */
  width?: number;
  /** Plot height in pixels. @default 220 (drawdown: 160; bars: 22 per row, 34 grouped; calibration: 300) */
  height?: number;
  /** d3-format pattern for the value axis, e.g. `",.0f"` or `".1%"`. @default Vega's automatic format */
  valueFormat?: string;
  /** Title of the value axis. @default "Equity", "Drawdown", "Value", "Hit rate" */
  valueTitle?: string;
  /** Receives Vega's warnings (e.g. about empty data). @default ignored */
  onWarning?: (message: string) => void;
}

/** Colours chosen to stay apart for the common kinds of colour blindness (Vega's Tableau 10). */
export const CHART_COLORS = {
  primary: "#4c78a8",
  negative: "#e45756",
  reference: "#888888",
} as const;

const TEXT = { fontSize: 11, color: "#222" } as const;

/** Builds the Vega-Lite spec of `renderEquityCurveSvg` (charts.ts). */
export function buildEquityCurveSpec(points: readonly TimePoint[], options: ChartOptions = {}): TopLevelSpec {
  const values = points.map((point, i) => timeRow(point, i));
  const x = timeAxis();
  const y = {
    field: "value",
    type: "quantitative" as const,
    scale: { zero: false },
    axis: valueAxis(options, "Equity"),
  };
  return {
    width: options.width ?? 560,
    height: options.height ?? 220,
    data: { values },
    layer: [
      { mark: { type: "line", color: CHART_COLORS.primary, strokeWidth: 2 }, encoding: { x, y } },
      {
        transform: [{ filter: "datum.label != null" }],
        layer: [
          { mark: { type: "point", filled: true, color: CHART_COLORS.primary }, encoding: { x, y } },
          { mark: { type: "text", dy: -10, ...TEXT }, encoding: { x, y, text: { field: "label" } } },
        ],
      },
    ],
  };
}

/** Builds the Vega-Lite spec of `renderDrawdownSvg` (charts.ts). */
export function buildDrawdownSpec(points: readonly TimePoint[], options: ChartOptions = {}): TopLevelSpec {
  const values = points.map((point, i) => timeRow(point, i));
  const x = timeAxis();
  // The padding leaves room under the deepest point for its label, above the time axis.
  const y = {
    field: "value",
    type: "quantitative" as const,
    scale: { padding: 16 },
    axis: valueAxis(options, "Drawdown"),
  };
  return {
    width: options.width ?? 560,
    height: options.height ?? 160,
    data: { values },
    layer: [
      {
        mark: {
          type: "area",
          color: CHART_COLORS.negative,
          opacity: 0.35,
          line: { color: CHART_COLORS.negative },
        },
        encoding: { x, y },
      },
      {
        transform: [{ filter: "datum.label != null" }],
        // Below the point for a drawdown (it points down), above it otherwise.
        mark: { type: "text", dy: { expr: "datum.value < 0 ? 12 : -10" }, ...TEXT },
        encoding: { x, y, text: { field: "label" } },
      },
    ],
  };
}

/** Builds the Vega-Lite spec of `renderCategoryBarsSvg` (charts.ts). */
export function buildCategoryBarsSpec(
  rows: readonly CategoryValue[],
  options: ChartOptions = {},
): TopLevelSpec {
  const values = rows.map((row, i) => ({
    category: row.category,
    value: finite(row.value, `rows[${i}].value`),
    label: row.label,
  }));
  const width = options.width ?? 480;
  const y = {
    field: "category",
    type: "nominal" as const,
    sort: null,
    title: null,
    axis: { labelLimit: 220 },
  };
  const x = {
    field: "value",
    type: "quantitative" as const,
    scale: { domain: roomForLabels(values, width) },
    axis: valueAxis(options, "Value"),
  };
  return {
    width,
    height: options.height ?? { step: 22 },
    data: { values },
    layer: [
      {
        mark: { type: "bar" },
        encoding: {
          y,
          x,
          color: {
            condition: { test: "datum.value < 0", value: CHART_COLORS.negative },
            value: CHART_COLORS.primary,
          },
        },
      },
      {
        data: { values: [{ zero: 0 }] },
        mark: { type: "rule", color: CHART_COLORS.reference },
        encoding: { x: { field: "zero", type: "quantitative" as const } },
      },
      {
        // Outside the bar's end: right of positive bars, left of negative ones.
        mark: {
          type: "text",
          align: { expr: "datum.value < 0 ? 'right' : 'left'" },
          dx: { expr: "datum.value < 0 ? -4 : 4" },
          ...TEXT,
        },
        encoding: { y, x, text: { field: "label" } },
      },
    ],
  };
}

/** Builds the Vega-Lite spec of `renderHitRateSvg` (charts.ts). */
export function buildHitRateSpec(rows: readonly PatternHitRate[], options: ChartOptions = {}): TopLevelSpec {
  const grouped = rows.some((row) => row.group !== undefined);
  const values = rows.map((row, i) => ({
    pattern: row.pattern,
    group: row.group ?? "",
    hitRate: ratio(row.hitRate, `rows[${i}].hitRate`),
    label: row.label,
  }));
  const y = {
    field: "pattern",
    type: "nominal" as const,
    sort: null,
    title: null,
    axis: { labelLimit: 220 },
  };
  const x = {
    field: "hitRate",
    type: "quantitative" as const,
    scale: { domain: [0, 1] },
    axis: valueAxis({ valueFormat: ".0%", ...options }, "Hit rate"),
  };
  const yOffset = grouped ? { yOffset: { field: "group", type: "nominal" as const, sort: null } } : {};
  const color = grouped
    ? { field: "group", type: "nominal" as const, sort: null, title: null, scale: { scheme: "tableau10" } }
    : { value: CHART_COLORS.primary };
  return {
    width: options.width ?? 480,
    height: options.height ?? { step: grouped ? 34 : 22 },
    data: { values },
    layer: [
      { mark: { type: "bar" }, encoding: { y, x, ...yOffset, color } },
      {
        mark: { type: "text", align: "left", dx: 4, ...TEXT },
        encoding: { y, x, ...yOffset, text: { field: "label" } },
      },
    ],
  };
}

/** Builds the Vega-Lite spec of `renderCalibrationSvg` (charts.ts). */
export function buildCalibrationSpec(
  buckets: readonly CalibrationBucket[],
  options: ChartOptions = {},
): TopLevelSpec {
  const values = buckets.map((bucket, i) => ({
    predicted: ratio(bucket.predicted, `buckets[${i}].predicted`),
    observed: ratio(bucket.observed, `buckets[${i}].observed`),
    label: bucket.label ?? null,
  }));
  const axis = { format: options.valueFormat ?? ".0%" };
  const x = { field: "predicted", type: "quantitative" as const, scale: { domain: [0, 1] } };
  const y = { field: "observed", type: "quantitative" as const, scale: { domain: [0, 1] } };
  return {
    width: options.width ?? 300,
    height: options.height ?? 300,
    layer: [
      {
        // Perfect calibration: observed equals predicted.
        data: { values: [0, 1].map((p) => ({ predicted: p, observed: p })) },
        mark: { type: "line", color: CHART_COLORS.reference, strokeDash: [4, 4] },
        encoding: {
          x: { ...x, axis: { ...axis, title: "Predicted confidence" } },
          y: { ...y, axis: { ...axis, title: options.valueTitle ?? "Observed hit rate" } },
        },
      },
      {
        data: { values },
        layer: [
          { mark: { type: "line", color: CHART_COLORS.primary, point: true }, encoding: { x, y } },
          {
            transform: [{ filter: "datum.label != null" }],
            mark: { type: "text", dy: -10, ...TEXT },
            encoding: { x, y, text: { field: "label" } },
          },
        ],
      },
    ],
  };
}

// Vega estimates a text's width as 0.8 em per character when it has no canvas to measure with.
const LABEL_EM_PER_CHAR = 0.8;
const LABEL_GAP_PX = 6;

/**
 * The value domain widened so that the labels outside the bars' ends fit inside the plot: a
 * label past the left end of a negative bar would otherwise be drawn over the category names.
 */
function roomForLabels(rows: ReadonlyArray<{ value: number; label: string }>, width: number): number[] {
  const lo = Math.min(0, ...rows.map((row) => row.value));
  const hi = Math.max(0, ...rows.map((row) => row.value));
  const labelPx = (side: typeof rows) =>
    side.length === 0
      ? 0
      : Math.max(...side.map((row) => row.label.length)) * LABEL_EM_PER_CHAR * TEXT.fontSize + LABEL_GAP_PX;
  // Never give the labels more than two thirds of the plot, however long they are.
  const budget = (2 / 3) * width;
  const left = Math.min(labelPx(rows.filter((row) => row.value < 0)), budget / 2);
  const right = Math.min(labelPx(rows.filter((row) => row.value >= 0)), budget / 2);
  const perPx = (hi - lo) / (width - left - right);
  return [lo - left * perPx, hi + right * perPx];
}

function timeAxis() {
  // A UTC scale: local-time scales would move the ticks with the machine's time zone.
  return {
    field: "time",
    type: "temporal" as const,
    title: null,
    scale: { type: "utc" as const },
    axis: { labelOverlap: true },
  };
}

function valueAxis(options: ChartOptions, title: string) {
  return {
    title: options.valueTitle ?? title,
    ...(options.valueFormat === undefined ? {} : { format: options.valueFormat }),
  };
}
