import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { SyntaxNode } from "@lezer/common";
import { parser } from "@prometheus-io/lezer-promql";
import { parse } from "yaml";
import { REPO } from "./tools.js";

export const PROMETHEUS_DIR = join(REPO, "prometheus");
export const RULES_DIR = join(PROMETHEUS_DIR, "rules");
export const RULE_TESTS_DIR = join(PROMETHEUS_DIR, "tests");
export const RUNBOOK = join(REPO, "docs", "runbook.md");
export const RUNBOOK_URL = "https://github.com/opsguard/opsguard/blob/main/docs/runbook.md";

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RecordingRule {
  record: string;
  expr: string;
}

interface RuleFile {
  groups: { name: string; rules: (AlertRule | RecordingRule)[] }[];
}

/** The YAML files in a folder, as absolute paths. */
export function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => join(dir, name));
}

/** Every rule of every file in prometheus/rules/. */
function allRules(): (AlertRule | RecordingRule)[] {
  return yamlFiles(RULES_DIR).flatMap((file) =>
    (parse(readFileSync(file, "utf8")) as RuleFile).groups.flatMap((group) => group.rules),
  );
}

export function alertRules(): AlertRule[] {
  return allRules().filter((rule): rule is AlertRule => "alert" in rule);
}

export function recordingRules(): RecordingRule[] {
  return allRules().filter((rule): rule is RecordingRule => "record" in rule);
}

/** A promtool rule-test file, as far as the structural tests need it. */
interface RuleTestFile {
  tests: {
    name?: string;
    alert_rule_test?: { alertname: string; exp_alerts?: unknown[] | null }[];
  }[];
}

/** Per alert name: how many promtool cases expect it to fire, and how many expect silence. */
export function ruleTestCases(): Map<string, { firing: number; silent: number }> {
  const cases = new Map<string, { firing: number; silent: number }>();
  for (const file of yamlFiles(RULE_TESTS_DIR)) {
    for (const test of (parse(readFileSync(file, "utf8")) as RuleTestFile).tests) {
      for (const { alertname, exp_alerts } of test.alert_rule_test ?? []) {
        const entry = cases.get(alertname) ?? { firing: 0, silent: 0 };
        if (exp_alerts && exp_alerts.length > 0) entry.firing += 1;
        else entry.silent += 1;
        cases.set(alertname, entry);
      }
    }
  }
  return cases;
}

/** What a PromQL expression selects, and where it does not parse. */
export interface PromqlSelectors {
  /** Metric names of every vector selector. */
  metrics: string[];
  /** Equality matchers (`label="value"`) of every vector selector with a metric name. */
  matchers: { metric: string; label: string; value: string }[];
  /** Text around each syntax error; empty when the expression parses. */
  errors: string[];
}

/**
 * Parses PromQL with the grammar Prometheus's own UI uses. In @prometheus-io/lezer-promql a
 * selector is `VectorSelector { Identifier? LabelMatchers? }`; errors are nodes of the error type.
 */
export function promqlSelectors(expr: string): PromqlSelectors {
  const result: PromqlSelectors = { metrics: [], matchers: [], errors: [] };
  const text = (node: SyntaxNode): string => expr.slice(node.from, node.to);
  parser.parse(expr).iterate({
    enter(ref) {
      if (ref.type.isError) {
        result.errors.push(
          `syntax error at ${ref.from}: ${expr.slice(Math.max(0, ref.from - 20), ref.to + 20)}`,
        );
        return;
      }
      if (ref.name !== "VectorSelector") return;
      const metricNode = ref.node.getChild("Identifier");
      if (!metricNode) {
        result.errors.push(`selector without a metric name: ${text(ref.node)}`);
        return;
      }
      const metric = text(metricNode);
      result.metrics.push(metric);
      for (const matcher of ref.node.getChild("LabelMatchers")?.getChildren("UnquotedLabelMatcher") ?? []) {
        const label = matcher.getChild("LabelName");
        const op = matcher.getChild("MatchOp")?.firstChild;
        const value = matcher.getChild("StringLiteral");
        if (label && value && op?.name === "EqlSingle") {
          result.matchers.push({ metric, label: text(label), value: unquote(text(value)) });
        }
      }
    },
  });
  return result;
}

/** The value of a PromQL string literal: "double-quoted" (with escapes), 'single' or `raw`. */
function unquote(literal: string): string {
  return literal.startsWith('"') ? (JSON.parse(literal) as string) : literal.slice(1, -1);
}

/** The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to dashes. */
export function githubAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, "")
    .replace(/ /g, "-");
}

/** The level-2 headings of docs/runbook.md: one per alert. */
export function runbookSections(): string[] {
  return [...readFileSync(RUNBOOK, "utf8").matchAll(/^## (.+)$/gm)].map((match) => match[1]!.trim());
}
