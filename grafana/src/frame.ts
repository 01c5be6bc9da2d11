import type * as cog from "@grafana/grafana-foundation-sdk/cog";
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { DATASOURCE_UIDS, LOKI, LOKI_VARIABLE, PROMETHEUS, PROMETHEUS_VARIABLE } from "./datasources.js";
import { JOB } from "./promql.js";

/** Every opsguard dashboard carries this tag; the dashboards link to each other through it. */
export const TAG = "opsguard";

/** Template variables a dashboard can ask for, besides the Prometheus datasource it always has. */
export type VariableName = "account" | "instance" | "strategy" | "loki" | "env";

/** A titled row of panels, laid out left to right and wrapped at 24 columns. */
export interface Row {
  title: string;
  panels: cog.Builder<dashboard.Panel>[];
}

/** What a dashboard file declares; {@link buildDashboard} adds everything they share. */
export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  variables: VariableName[];
  rows: Row[];
  /** Mark trading state changes on every time series panel. */
  tradingStateAnnotations?: boolean;
}

function prometheusDatasourceVariable(): dashboard.DatasourceVariableBuilder {
  return new dashboard.DatasourceVariableBuilder(PROMETHEUS_VARIABLE)
    .label("Prometheus")
    .type("prometheus")
    .current({ selected: true, text: "Prometheus", value: DATASOURCE_UIDS.prometheus });
}

function lokiDatasourceVariable(): dashboard.DatasourceVariableBuilder {
  return new dashboard.DatasourceVariableBuilder(LOKI_VARIABLE)
    .label("Loki")
    .type("loki")
    .current({ selected: true, text: "Loki", value: DATASOURCE_UIDS.loki });
}

/**
 * The account whose instances the `$instance` picker offers, with one instance per account
 * (docs/scaling.md: the targets then carry an `account` label). All by default, which also
 * matches targets without the label (one instance, as in the Docker stack).
 */
function accountVariable(): dashboard.QueryVariableBuilder {
  const query = `label_values(opsguard_build_info{job="${JOB}"}, account)`;
  return new dashboard.QueryVariableBuilder("account")
    .label("Account")
    .description(
      "The account to show, when there is one opsguard instance per account; narrows the Instance picker.",
    )
    .datasource(PROMETHEUS)
    .query(query)
    .definition(query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .includeAll(true)
    .allValue(".*")
    .current({ selected: true, text: "All", value: "$__all" });
}

/** One opsguard process is one ledger: its series are never summed with another's. */
function instanceVariable(): dashboard.QueryVariableBuilder {
  const query = `label_values(opsguard_build_info{job="${JOB}", account=~"$account"}, instance)`;
  return new dashboard.QueryVariableBuilder("instance")
    .label("Instance")
    .description("The opsguard process (scrape target) to show; each one keeps its own ledger.")
    .datasource(PROMETHEUS)
    .query(query)
    .definition(query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc);
}

function strategyVariable(): dashboard.QueryVariableBuilder {
  const query = `label_values(opsguard_operations_submitted_total{job="${JOB}", instance=~"$instance"}, strategy)`;
  return new dashboard.QueryVariableBuilder("strategy")
    .label("Strategy")
    .description("Strategies declared in the config that have submitted operations.")
    .datasource(PROMETHEUS)
    .query(query)
    .definition(query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue(".*")
    .current({ selected: true, text: "All", value: "$__all" });
}

function envVariable(): dashboard.QueryVariableBuilder {
  const query = 'label_values({service="opsguard"}, env)';
  return new dashboard.QueryVariableBuilder("env")
    .label("Env")
    .description("The `env` label of opsguard's log streams (`env` in the config).")
    .datasource(LOKI)
    .query(query)
    .definition(query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue(".+")
    .current({ selected: true, text: "All", value: "$__all" });
}

const VARIABLES: Record<VariableName, () => cog.Builder<dashboard.VariableModel>> = {
  account: accountVariable,
  instance: instanceVariable,
  strategy: strategyVariable,
  loki: lokiDatasourceVariable,
  env: envVariable,
};
// Order in the bar: datasources first, then what they filter.
const VARIABLE_ORDER: VariableName[] = ["loki", "account", "instance", "strategy", "env"];

function tradingStateAnnotation(): dashboard.AnnotationQueryBuilder {
  return new dashboard.AnnotationQueryBuilder()
    .name("Trading state changes")
    .datasource(PROMETHEUS)
    .enable(true)
    .iconColor("orange")
    .expr(
      `sum by (state, trigger) (increase(opsguard_trading_state_changes_total{job="${JOB}", instance=~"$instance"}[$__rate_interval])) > 0`,
    )
    .step("$__interval")
    .titleFormat("Trading {{state}}")
    .textFormat("trigger: {{trigger}}");
}

/** Builds a dashboard with what all opsguard dashboards share: tag, links, variables, layout. */
export function buildDashboard(spec: DashboardSpec): dashboard.Dashboard {
  const builder = new dashboard.DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags([TAG])
    .readonly()
    .timezone("browser")
    .time({ from: "now-1h", to: "now" })
    .refresh("30s")
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .link(
      new dashboard.DashboardLinkBuilder("opsguard")
        .type(dashboard.DashboardLinkType.Dashboards)
        .tags([TAG])
        .asDropdown(false)
        .includeVars(true)
        .keepTime(true),
    )
    .withVariable(prometheusDatasourceVariable());
  const wanted = new Set(spec.variables);
  // The `$instance` filter is in every PromQL selector, so every dashboard has it, and the
  // `$account` that narrows it.
  wanted.add("instance");
  wanted.add("account");
  if (wanted.has("env")) wanted.add("loki");
  for (const name of VARIABLE_ORDER) if (wanted.has(name)) builder.withVariable(VARIABLES[name]());
  if (spec.tradingStateAnnotations) builder.annotation(tradingStateAnnotation());

  for (const row of spec.rows) {
    builder.withRow(new dashboard.RowBuilder(row.title).collapsed(false));
    for (const panel of row.panels) builder.withPanel(panel);
  }
  return finish(builder.build());
}

/** Stable ids, and links shown in the dashboard bar rather than tucked in a menu. */
function finish(built: dashboard.Dashboard): dashboard.Dashboard {
  let id = 0;
  for (const panel of built.panels ?? []) {
    panel.id = ++id;
    if ("links" in panel) for (const link of panel.links ?? []) delete link.placement;
  }
  for (const link of built.links ?? []) delete link.placement;
  for (const annotation of built.annotations?.list ?? []) delete annotation.placement;
  return built;
}

/** A panel link to another opsguard dashboard, keeping the time range and the variables. */
export function drillDown(title: string, uid: string): dashboard.DashboardLinkBuilder {
  return new dashboard.DashboardLinkBuilder(title)
    .type(dashboard.DashboardLinkType.Link)
    .url(`/d/${uid}?\${__url_time_range}&\${__all_variables}`);
}
