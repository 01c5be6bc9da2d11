import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SyntaxNode, Tree } from "@lezer/common";
import { parser as logqlParser } from "@grafana/lezer-logql";
import { parser as promqlParser } from "@prometheus-io/lezer-promql";
import { parse as parseYaml } from "yaml";

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Reads a YAML file of the repository. */
export function readYaml<T = unknown>(relativePath: string): T {
  return parseYaml(readFileSync(join(ROOT, relativePath), "utf8")) as T;
}

/**
 * The path of a command-line tool, or a loud failure: stack tests never skip because a binary is
 * missing (.ci/run installs them).
 */
export function requireBinary(name: string, versionArgs: string[], hint: string): string {
  try {
    execFileSync(name, versionArgs, { stdio: "ignore" });
    return name;
  } catch {
    throw new Error(`${name} is not installed: ${hint}`);
  }
}

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

/**
 * Replaces `$name` and `${name}` by a value valid where Grafana's interpolation would put one:
 * interval variables by the durations above, the dashboard's own variables by a word. Anything
 * else (such as `${1}` in a label_replace replacement) is left as written.
 */
export function substituteVariables(expr: string, variableNames: readonly string[]): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (whole, braced?: string, bare?: string) => {
    const name = braced ?? bare ?? "";
    if (name in PLACEHOLDER_DURATIONS)
      return PLACEHOLDER_DURATIONS[name as keyof typeof PLACEHOLDER_DURATIONS];
    if (variableNames.includes(name)) return `var_${name}`;
    return whole;
  });
}

/** Names of the variables a text refers to (`$x`, `${x}`, `${x:format}`). */
export function referencedVariables(text: string): string[] {
  return [...text.matchAll(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g)].map((m) => m[1] ?? m[2] ?? "");
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** Positions and text of the syntax errors lezer recovered from. */
export function syntaxErrors(tree: Tree, text: string): string[] {
  const errors: string[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError)
        errors.push(`at ${node.from}: "${text.slice(Math.max(0, node.from - 10), node.to + 10)}"`);
    },
  });
  return errors;
}

export function parsePromql(expr: string): Tree {
  return promqlParser.parse(expr);
}

export function parseLogql(expr: string): Tree {
  return logqlParser.parse(expr);
}

function* descendants(node: SyntaxNode): Generator<SyntaxNode> {
  for (let child = node.firstChild; child; child = child.nextSibling) {
    yield child;
    yield* descendants(child);
  }
}

function childOfType(node: SyntaxNode, type: string): SyntaxNode | null {
  for (let child = node.firstChild; child; child = child.nextSibling)
    if (child.type.name === type) return child;
  return null;
}

/** A metric a PromQL expression selects, with the label matchers written next to it. */
export interface SelectedMetric {
  name: string;
  matchers: string;
}

/** Every `metric{…}` selector of a PromQL expression. */
export function selectedMetrics(expr: string): SelectedMetric[] {
  const tree = parsePromql(expr);
  const found: SelectedMetric[] = [];
  for (const node of descendants(tree.topNode)) {
    if (node.type.name !== "VectorSelector") continue;
    const identifier = childOfType(node, "Identifier");
    const matchers = childOfType(node, "LabelMatchers");
    if (identifier) {
      found.push({
        name: expr.slice(identifier.from, identifier.to),
        matchers: matchers ? expr.slice(matchers.from, matchers.to) : "",
      });
    }
  }
  return found;
}

/** A range-vector function call and the range it was given. */
export interface RangeCall {
  fn: string;
  range: string;
}

/** Every `rate`/`irate`/`increase` (or any function when `all`) with its `[range]`, in PromQL. */
export function promqlRangeCalls(expr: string): RangeCall[] {
  const tree = parsePromql(expr);
  const calls: RangeCall[] = [];
  for (const node of descendants(tree.topNode)) {
    if (node.type.name !== "FunctionCall") continue;
    const identifier = childOfType(node, "FunctionIdentifier");
    const body = childOfType(node, "FunctionCallBody");
    if (!identifier || !body) continue;
    const fn = expr.slice(identifier.from, identifier.to);
    const matrix = childOfType(body, "MatrixSelector");
    const duration = matrix ? childOfType(matrix, "DurationExpr") : null;
    if (duration) calls.push({ fn, range: expr.slice(duration.from, duration.to) });
  }
  return calls;
}

/** Every `[range]` of a LogQL range aggregation (count_over_time, rate, …). */
export function logqlRanges(expr: string): string[] {
  const tree = parseLogql(expr);
  const ranges: string[] = [];
  for (const node of descendants(tree.topNode)) {
    if (node.type.name === "Range")
      ranges.push(
        expr
          .slice(node.from, node.to)
          .replace(/^\[|\]$/g, "")
          .trim(),
      );
  }
  return ranges;
}

/** Whether a LogQL expression is a metric query (what an alerting rule needs), not a log query. */
export function isLogqlMetricQuery(expr: string): boolean {
  const top = parseLogql(expr).topNode.firstChild;
  return top?.firstChild?.type.name === "MetricExpr";
}

// ---------------------------------------------------------------------------------------------
// Metric names exposed by opsguard

/**
 * The series names a `/metrics` body can produce: every sample name, plus for each `# TYPE` the
 * names its family has even before its first sample (a counter whose labels never moved). Works on
 * both the Prometheus text format and OpenMetrics, where counter families drop `_total`.
 */
export function exposedSeriesNames(body: string): Set<string> {
  const names = new Set<string>();
  for (const line of body.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      const [, name = "", kind] = type;
      if (kind === "counter") names.add(name.endsWith("_total") ? name : `${name}_total`);
      else if (kind === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(name + s);
      else if (kind === "summary") for (const s of ["", "_sum", "_count"]) names.add(name + s);
      else names.add(name);
      continue;
    }
    if (line.startsWith("#") || line.trim() === "") continue;
    const sample = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(line);
    if (sample) names.add(sample[0]);
  }
  return names;
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
    const query = typeof variable.query === "string" ? variable.query : (variable.query?.query ?? "");
    const labelValues = /^label_values\((.*),\s*\w+\)$/.exec(query);
    const language = languageOf(variable.datasource, variables);
    if (!labelValues?.[1] || !language)
      throw new Error(`${dashboard.uid}: variable ${variable.name} has an unexpected query ${query}`);
    found.push({
      where: `${dashboard.uid} / variable ${variable.name}`,
      language,
      expr: labelValues[1],
      instant: true,
    });
  }
  return found;
}
