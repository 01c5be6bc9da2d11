import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "./tools.js";

/**
 * Reading the generated Grafana dashboards (grafana/dashboards/*.json): their panels, their
 * queries, and the variables those queries use.
 */

export const DASHBOARDS_DIR = join(REPO, "grafana", "dashboards");

// ---------------------------------------------------------------------------------------------
// Grafana variables

/**
 * Durations that stand in for Grafana's interval variables once substituted, distinct so a test
 * can tell which variable a range came from.
 */
export const PLACEHOLDER_DURATIONS = {
  __rate_interval: "7001s",
  __interval: "7002s",
  __range: "7003s",
  __auto: "7004s",
} as const;

const VARIABLE_REFERENCE = /\$\{(\w+)(?::\w+)?\}|\$(\w+)/g;

/**
 * Replaces `$name`, `${name}` and `${name:format}` by `values[name]`. Anything else (such as `${1}`
 * in a label_replace replacement) is left as written.
 */
export function interpolate(expr: string, values: Readonly<Record<string, string>>): string {
  return expr.replace(VARIABLE_REFERENCE, (whole, braced?: string, bare?: string) => {
    const name = braced ?? bare ?? "";
    return Object.hasOwn(values, name) ? values[name]! : whole;
  });
}

/**
 * Replaces variables by a value valid where Grafana's interpolation would put one: interval
 * variables by the durations above, the dashboard's own variables by the word `var_<name>`.
 */
export function substituteVariables(expr: string, variableNames: readonly string[]): string {
  const words = Object.fromEntries(variableNames.map((name) => [name, `var_${name}`]));
  return interpolate(expr, { ...words, ...PLACEHOLDER_DURATIONS });
}

/** Names of the variables a text refers to (`$x`, `${x}`, `${x:format}`). */
export function referencedVariables(text: string): string[] {
  return [...text.matchAll(VARIABLE_REFERENCE)].map((m) => m[1] ?? m[2] ?? "");
}

// ---------------------------------------------------------------------------------------------
// Dashboards

/** The parts of a Grafana dashboard JSON the tests read. */
export interface DashboardJson {
  uid: string;
  title: string;
  tags?: string[];
  links?: { type: string; tags?: string[] }[];
  panels?: PanelJson[];
  templating?: { list?: VariableJson[] };
  annotations?: { list?: { name: string; datasource?: DatasourceRef; expr?: string }[] };
}

export interface DatasourceRef {
  type?: string;
  uid?: string;
}

export interface TargetJson {
  refId?: string;
  datasource?: DatasourceRef;
  expr?: string;
  query?: string;
  instant?: boolean;
  exemplar?: boolean;
  queryType?: string;
}

export interface PanelJson {
  id?: number;
  type: string;
  title?: string;
  description?: string;
  datasource?: DatasourceRef;
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: TargetJson[];
  panels?: PanelJson[];
}

export interface VariableJson {
  name: string;
  type: string;
  query?: string | { query?: string };
  datasource?: DatasourceRef;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
  current?: { value?: string | string[] };
}

/** Every dashboard of grafana/dashboards/, in file name order. */
export function readDashboards(): DashboardJson[] {
  return readdirSync(DASHBOARDS_DIR)
    .filter((file) => file.endsWith(".json"))
    .sort()
    .map((file) => JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), "utf8")) as DashboardJson);
}

/** Every non-row panel of a dashboard, rows' nested panels included. */
export function allPanels(dashboard: DashboardJson): PanelJson[] {
  const out: PanelJson[] = [];
  const visit = (panels: PanelJson[] | undefined): void => {
    for (const panel of panels ?? []) {
      if (panel.type === "row") visit(panel.panels);
      else out.push(panel);
    }
  };
  visit(dashboard.panels);
  return out;
}

/** A query found anywhere in a dashboard, with where it came from. */
export interface FoundQuery {
  where: string;
  language: "promql" | "logql" | "traceql";
  expr: string;
  instant: boolean;
  panel?: PanelJson;
  target?: TargetJson;
}

function languageOf(
  ref: DatasourceRef | undefined,
  variables: VariableJson[],
): FoundQuery["language"] | undefined {
  let type = ref?.type;
  const variable = ref?.uid ? /^\$\{?(\w+)\}?$/.exec(ref.uid)?.[1] : undefined;
  if (!type && variable) type = variables.find((v) => v.name === variable)?.query as string | undefined;
  if (type === "prometheus") return "promql";
  if (type === "loki") return "logql";
  if (type === "tempo") return "traceql";
  return undefined;
}

/** Every query of a dashboard: panel targets, annotations, and query variables (their selector). */
export function dashboardQueries(dashboard: DashboardJson): FoundQuery[] {
  const variables = dashboard.templating?.list ?? [];
  const found: FoundQuery[] = [];
  for (const panel of allPanels(dashboard)) {
    for (const target of panel.targets ?? []) {
      const language = languageOf(target.datasource ?? panel.datasource, variables);
      const expr = target.expr ?? target.query;
      if (!language || expr === undefined) {
        throw new Error(`${dashboard.uid} / ${panel.title}: a target without a known datasource or query`);
      }
      found.push({
        where: `${dashboard.uid} / ${panel.title} / ${target.refId}`,
        language,
        expr,
        instant: target.instant === true || target.queryType === "instant",
        panel,
        target,
      });
    }
  }
  for (const annotation of dashboard.annotations?.list ?? []) {
    const language = languageOf(annotation.datasource, variables);
    if (annotation.expr && language) {
      found.push({
        where: `${dashboard.uid} / annotation ${annotation.name}`,
        language,
        expr: annotation.expr,
        instant: false,
      });
    }
  }
  for (const variable of variables) {
    if (variable.type !== "query") continue;
    const { language, selector } = labelValuesQuery(dashboard, variable);
    found.push({
      where: `${dashboard.uid} / variable ${variable.name}`,
      language,
      expr: selector,
      instant: true,
    });
  }
  return found;
}

/** What a query variable lists: `label_values(selector, label)` on a Prometheus or Loki datasource. */
function labelValuesQuery(
  dashboard: DashboardJson,
  variable: VariableJson,
): { language: FoundQuery["language"]; selector: string; label: string } {
  const query = typeof variable.query === "string" ? variable.query : (variable.query?.query ?? "");
  const [, selector, label] = /^label_values\((.*),\s*(\w+)\)$/.exec(query) ?? [];
  const language = languageOf(variable.datasource, dashboard.templating?.list ?? []);
  if (!selector || !label || !language)
    throw new Error(`${dashboard.uid}: variable ${variable.name} has an unexpected query ${query}`);
  return { language, selector, label };
}

/** A value with the characters special to a regular expression escaped. */
function escapeRegex(value: string): string {
  return value.replace(/[\\^$*+?.()|[\]{}]/g, "\\$&");
}

/**
 * The values a dashboard's PromQL variables take when it opens with their defaults, interpolated
 * as Grafana's Prometheus datasource does: where "All" is the default, the variable's `allValue`
 * (or every value it finds, as one alternation); else the first value its `label_values` finds,
 * regex-escaped when the variable may hold several. Each variable's query sees the variables
 * before it and `builtIns` (such as `__range`). Throws for a variable that finds no value, unless
 * it defaults to an "All" value of its own: every query using it would be empty.
 */
export async function resolvePromqlVariables(
  dashboard: DashboardJson,
  labelValues: (selector: string, label: string) => Promise<string[]>,
  builtIns: Readonly<Record<string, string>> = {},
): Promise<Record<string, string>> {
  const values: Record<string, string> = { ...builtIns };
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type !== "query") continue;
    const { language, selector, label } = labelValuesQuery(dashboard, variable);
    if (language !== "promql") continue;
    const found = await labelValues(interpolate(selector, values), label);
    const all = variable.includeAll === true && [variable.current?.value ?? []].flat().includes("$__all");
    // "All" with an `allValue` needs no value found: Grafana offers it alone (`account` on targets
    // without the label).
    if (found.length === 0 && !(all && variable.allValue !== undefined))
      throw new Error(`${dashboard.uid}: variable ${variable.name} finds no value for ${selector}`);
    const escape = variable.multi || variable.includeAll ? escapeRegex : (value: string) => value;
    values[variable.name] = all
      ? (variable.allValue ?? `(${found.map(escapeRegex).join("|")})`)
      : escape(found[0]!);
  }
  return values;
}
