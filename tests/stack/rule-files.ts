import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readYaml, REPO } from "./tools.js";

export const PROMETHEUS_DIR = join(REPO, "prometheus");
export const RULES_DIR = join(PROMETHEUS_DIR, "rules");
export const RULE_TESTS_DIR = join(PROMETHEUS_DIR, "tests");
/** One folder per tenant; with auth off, Loki's only tenant is `fake`. */
export const LOKI_RULES_DIR = join(REPO, "loki", "rules");
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

/** Every rule of every YAML file in a folder. */
function rulesIn(dir: string): (AlertRule | RecordingRule)[] {
  return yamlFiles(dir).flatMap((file) => readYaml<RuleFile>(file).groups.flatMap((group) => group.rules));
}

/** The alerting rules of prometheus/rules/. */
export function alertRules(): AlertRule[] {
  return rulesIn(RULES_DIR).filter((rule): rule is AlertRule => "alert" in rule);
}

export function recordingRules(): RecordingRule[] {
  return rulesIn(RULES_DIR).filter((rule): rule is RecordingRule => "record" in rule);
}

/** The alerting rules of every tenant folder of loki/rules/, their `expr` in LogQL. */
export function lokiAlertRules(): AlertRule[] {
  const tenants = readdirSync(LOKI_RULES_DIR, { withFileTypes: true }).filter((entry) => entry.isDirectory());
  return tenants
    .flatMap((tenant) => rulesIn(join(LOKI_RULES_DIR, tenant.name)))
    .filter((rule): rule is AlertRule => "alert" in rule);
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
    for (const test of readYaml<RuleTestFile>(file).tests) {
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

/** The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to dashes. */
export function githubAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, "")
    .replace(/ /g, "-");
}

/** The level-2 headings of docs/runbook.md: one per Prometheus or Loki alert. */
export function runbookSections(): string[] {
  return [...readFileSync(RUNBOOK, "utf8").matchAll(/^## (.+)$/gm)].map((match) => match[1]!.trim());
}
