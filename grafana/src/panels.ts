import * as bargauge from "@grafana/grafana-foundation-sdk/bargauge";
import * as common from "@grafana/grafana-foundation-sdk/common";
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import * as logs from "@grafana/grafana-foundation-sdk/logs";
import * as stat from "@grafana/grafana-foundation-sdk/stat";
import * as statetimeline from "@grafana/grafana-foundation-sdk/statetimeline";
import * as table from "@grafana/grafana-foundation-sdk/table";
import * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";
import { LOKI, PROMETHEUS, TEMPO } from "./datasources.js";
import { lokiQueries, promQueries, traceSearch, type LokiTarget, type PromTarget } from "./queries.js";

/**
 * What every panel must say: a title, a description that tells the reader what the numbers mean
 * (hover the ⓘ), and a unit. Width is in grid columns out of 24.
 */
export interface PanelSpec {
  title: string;
  description: string;
  unit: string;
  /** @default 12 */
  width?: number;
  /** @default 8 */
  height?: number;
}

/** Units used across the dashboards. */
export const UNITS = {
  /** Account currency: opsguard's default is USD (`accounting.currency`); no metric carries it. */
  money: "currencyUSD",
  ratio: "percentunit",
  seconds: "s",
  bytes: "bytes",
  operationsPerSecond: "ops",
  requestsPerSecond: "reqps",
  countsPerSecond: "cps",
  count: "short",
  none: "none",
} as const;

/** Threshold steps from `[color, from]` pairs; the first one starts at -∞. */
export function thresholds(
  ...steps: [color: string, from: number | null][]
): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps(steps.map(([color, value]) => ({ color, value })));
}

/** Green below 80 %, orange to 95 %, red beyond: for 0..1 utilization ratios. */
export const UTILIZATION_THRESHOLDS = (): dashboard.ThresholdsConfigBuilder =>
  thresholds(["green", null], ["orange", 0.8], ["red", 0.95]);

/** Maps exact numeric values to a text and a color. */
export function valueMappings(
  values: Record<number, [text: string, color: string]>,
): dashboard.ValueMapping[] {
  const options: Record<string, dashboard.ValueMappingResult> = {};
  Object.entries(values).forEach(([value, [text, color]], index) => {
    options[value] = { text, color, index };
  });
  return [{ type: dashboard.MappingType.ValueToText, options }];
}

function place<T extends { span(w: number): T; height(h: number): T }>(builder: T, spec: PanelSpec): T {
  return builder.span(spec.width ?? 12).height(spec.height ?? 8);
}

export interface TimeSeriesOptions {
  stack?: boolean;
  min?: number;
  max?: number;
  bars?: boolean;
  thresholds?: dashboard.ThresholdsConfigBuilder;
}

/** A time series panel over Prometheus queries. */
export function timeSeries(
  spec: PanelSpec,
  targets: readonly PromTarget[],
  options: TimeSeriesOptions = {},
): timeseries.PanelBuilder {
  const panel = place(new timeseries.PanelBuilder(), spec)
    .title(spec.title)
    .description(spec.description)
    .unit(spec.unit)
    .datasource(PROMETHEUS)
    .targets(promQueries(targets))
    .lineWidth(1)
    .fillOpacity(options.stack ? 40 : 10)
    .showPoints(common.VisibilityMode.Never)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom),
    )
    .tooltip(
      new common.VizTooltipOptionsBuilder()
        .mode(common.TooltipDisplayMode.Multi)
        .sort(common.SortOrder.Descending),
    );
  if (options.stack) panel.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  if (options.bars) panel.drawStyle(common.GraphDrawStyle.Bars);
  if (options.min !== undefined) panel.min(options.min);
  if (options.max !== undefined) panel.max(options.max);
  if (options.thresholds) {
    panel
      .thresholds(options.thresholds)
      .thresholdsStyle(
        new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed),
      );
  }
  return panel;
}

export interface StatOptions {
  mappings?: dashboard.ValueMapping[];
  thresholds?: dashboard.ThresholdsConfigBuilder;
  /** Draw the series behind the number. @default true */
  sparkline?: boolean;
  decimals?: number;
  /** Color the background rather than the number. */
  background?: boolean;
}

/** A single number (the last value), with a sparkline unless told otherwise. */
export function statPanel(
  spec: PanelSpec,
  targets: readonly PromTarget[],
  options: StatOptions = {},
): stat.PanelBuilder {
  const panel = place(new stat.PanelBuilder(), { width: 4, height: 4, ...spec })
    .title(spec.title)
    .description(spec.description)
    .unit(spec.unit)
    .datasource(PROMETHEUS)
    .targets(promQueries(targets))
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(["lastNotNull"]).values(false))
    .graphMode(options.sparkline === false ? common.BigValueGraphMode.None : common.BigValueGraphMode.Area)
    .colorMode(options.background ? common.BigValueColorMode.Background : common.BigValueColorMode.Value)
    .textMode(common.BigValueTextMode.Value)
    .thresholds(options.thresholds ?? thresholds(["green", null]));
  if (options.mappings) panel.mappings(options.mappings);
  if (options.decimals !== undefined) panel.decimals(options.decimals);
  return panel;
}

export interface BarGaugeOptions {
  min?: number;
  max?: number;
  thresholds?: dashboard.ThresholdsConfigBuilder;
  decimals?: number;
}

/** Horizontal bars, one per series, for a value per strategy, instrument or limit. */
export function barGauge(
  spec: PanelSpec,
  targets: readonly PromTarget[],
  options: BarGaugeOptions = {},
): bargauge.PanelBuilder {
  const panel = place(new bargauge.PanelBuilder(), spec)
    .title(spec.title)
    .description(spec.description)
    .unit(spec.unit)
    .datasource(PROMETHEUS)
    .targets(promQueries(targets))
    .orientation(common.VizOrientation.Horizontal)
    .displayMode(common.BarGaugeDisplayMode.Gradient)
    .valueMode(common.BarGaugeValueMode.Color)
    .showUnfilled(true)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(["lastNotNull"]).values(false))
    .thresholds(options.thresholds ?? thresholds(["blue", null]));
  if (options.min !== undefined) panel.min(options.min);
  if (options.max !== undefined) panel.max(options.max);
  if (options.decimals !== undefined) panel.decimals(options.decimals);
  return panel;
}

/** A table of instant query results, one row per series, without the time column. */
export function tablePanel(
  spec: PanelSpec,
  targets: readonly PromTarget[],
  columns: { hide?: string[]; rename?: Record<string, string> } = {},
): table.PanelBuilder {
  const excludeByName = Object.fromEntries(["Time", ...(columns.hide ?? [])].map((name) => [name, true]));
  return place(new table.PanelBuilder(), spec)
    .title(spec.title)
    .description(spec.description)
    .unit(spec.unit)
    .datasource(PROMETHEUS)
    .targets(promQueries(targets))
    .withTransformation({ id: "merge", options: {} })
    .withTransformation({
      id: "organize",
      options: { excludeByName, renameByName: columns.rename ?? {} },
    });
}

/** A band per series that changes color with the value: states over time. */
export function stateTimeline(
  spec: PanelSpec,
  targets: readonly PromTarget[],
  mappings: dashboard.ValueMapping[],
): statetimeline.PanelBuilder {
  return place(new statetimeline.PanelBuilder(), spec)
    .title(spec.title)
    .description(spec.description)
    .unit(spec.unit)
    .datasource(PROMETHEUS)
    .targets(promQueries(targets))
    .mappings(mappings)
    .showValue(common.VisibilityMode.Auto)
    .mergeValues(true)
    .fillOpacity(80)
    .thresholds(thresholds(["green", null]));
}

/** A time series panel over Loki metric queries. */
export function lokiTimeSeries(
  spec: PanelSpec,
  targets: readonly LokiTarget[],
  options: { stack?: boolean; bars?: boolean } = {},
): timeseries.PanelBuilder {
  const panel = place(new timeseries.PanelBuilder(), spec)
    .title(spec.title)
    .description(spec.description)
    .unit(spec.unit)
    .datasource(LOKI)
    .targets(lokiQueries(targets))
    .fillOpacity(options.stack ? 60 : 10)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom),
    )
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi));
  if (options.stack) panel.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  if (options.bars) panel.drawStyle(common.GraphDrawStyle.Bars);
  return panel;
}

/** Bars over Loki instant queries (totals over the range). */
export function lokiBarGauge(spec: PanelSpec, targets: readonly LokiTarget[]): bargauge.PanelBuilder {
  return place(new bargauge.PanelBuilder(), spec)
    .title(spec.title)
    .description(spec.description)
    .unit(spec.unit)
    .datasource(LOKI)
    .targets(lokiQueries(targets))
    .orientation(common.VizOrientation.Horizontal)
    .displayMode(common.BarGaugeDisplayMode.Gradient)
    .valueMode(common.BarGaugeValueMode.Color)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(["lastNotNull"]).values(false))
    .thresholds(thresholds(["blue", null]));
}

/** Log lines, newest first, with details open so `trace_id` links to Tempo. */
export function logsPanel(spec: PanelSpec, expr: string): logs.PanelBuilder {
  return place(new logs.PanelBuilder(), spec)
    .title(spec.title)
    .description(spec.description)
    .unit(spec.unit)
    .datasource(LOKI)
    .targets(lokiQueries([{ expr }]))
    .showTime(true)
    .showLabels(false)
    .showCommonLabels(false)
    .wrapLogMessage(true)
    .prettifyLogMessage(false)
    .enableLogDetails(true)
    .sortOrder(common.LogsSortOrder.Descending)
    .dedupStrategy(common.LogsDedupStrategy.None);
}

/** A table of traces found by a TraceQL search; a trace id opens the trace view. */
export function traceTable(spec: PanelSpec, traceql: string, limit = 20): table.PanelBuilder {
  return place(new table.PanelBuilder(), spec)
    .title(spec.title)
    .description(spec.description)
    .unit(spec.unit)
    .datasource(TEMPO)
    .targets([traceSearch(traceql, limit)]);
}
