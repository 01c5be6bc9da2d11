import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { collectExposedSeries, type ExposedSeries } from "./exposition.js";
import { parsePromql, promqlSelectors, syntaxErrors } from "./query-syntax.js";
import {
  alertRules,
  githubAnchor,
  lokiAlertRules,
  PROMETHEUS_DIR,
  recordingRules,
  RULE_TESTS_DIR,
  RULES_DIR,
  ruleTestCases,
  RUNBOOK_URL,
  runbookSections,
  yamlFiles,
} from "./rule-files.js";
import { makeTempDir, runTool } from "./tools.js";

const SEVERITIES = ["page", "warning", "ticket"];

describe("Prometheus configuration and rules, checked by promtool", () => {
  it("passes promtool check config, laid out as docker-compose mounts it", () => {
    // docker-compose mounts prometheus/ at /etc/prometheus: the config and its rules/ folder side
    // by side, rule files named relative to the config.
    const dir = makeTempDir();
    try {
      cpSync(join(PROMETHEUS_DIR, "prometheus.yml"), join(dir.path, "prometheus.yml"));
      cpSync(RULES_DIR, join(dir.path, "rules"), { recursive: true });
      const result = runTool("promtool", ["check", "config", join(dir.path, "prometheus.yml")]);
      expect(result.output).toContain("SUCCESS: 2 rule files found");
      expect(result.status, result.output).toBe(0);
    } finally {
      dir.remove();
    }
  });

  it("stays valid with the commented scrape token switched on and its file present", () => {
    const dir = makeTempDir();
    try {
      const token = join(dir.path, "opsguard-metrics-token");
      writeFileSync(token, "og_test_token\n", { mode: 0o600 });
      const original = readFileSync(join(PROMETHEUS_DIR, "prometheus.yml"), "utf8");
      const enabled = original
        .replace(/^( +)# authorization:$/m, "$1authorization:")
        .replace(/^( +)# +credentials_file: \S+$/m, `$1  credentials_file: ${token}`);
      expect(enabled).not.toBe(original);
      expect(enabled).toContain(`credentials_file: ${token}`);
      cpSync(RULES_DIR, join(dir.path, "rules"), { recursive: true });
      writeFileSync(join(dir.path, "prometheus.yml"), enabled);
      const result = runTool("promtool", ["check", "config", join(dir.path, "prometheus.yml")]);
      expect(result.status, result.output).toBe(0);
    } finally {
      dir.remove();
    }
  });

  it.each(yamlFiles(RULES_DIR).map((file) => [basename(file), file]))(
    "passes promtool check rules: %s",
    (_name, file) => {
      const result = runTool("promtool", ["check", "rules", file]);
      expect(result.status, result.output).toBe(0);
    },
  );

  it.each(yamlFiles(RULE_TESTS_DIR).map((file) => [basename(file), file]))(
    "passes promtool test rules: %s",
    (_name, file) => {
      const result = runTool("promtool", ["test", "rules", file], 60_000);
      expect(result.output).toContain("SUCCESS");
      expect(result.status, result.output).toBe(0);
    },
  );
});

describe("alerting rules, structurally", () => {
  const alerts = alertRules();
  const lokiAlerts = lokiAlertRules();
  // Prometheus and the Loki ruler notify the same Alertmanager, and both link to the one runbook.
  const everyAlert = [
    ...alerts.map((rule) => ({ source: "prometheus", rule })),
    ...lokiAlerts.map((rule) => ({ source: "loki", rule })),
  ];
  const sections = runbookSections();

  it("has the alerts the runbook and Alertmanager expect, uniquely named with the Opsguard prefix", () => {
    expect(alerts.length).toBeGreaterThanOrEqual(10);
    expect(lokiAlerts.map((rule) => rule.alert)).toEqual(
      expect.arrayContaining(["OpsguardLogErrorsHigh", "OpsguardUnhandledErrors"]),
    );
    const names = everyAlert.map(({ rule }) => rule.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^Opsguard[A-Z][A-Za-z]+$/);
  });

  it.each(everyAlert.map(({ source, rule }) => [rule.alert, source, rule]))(
    "%s (%s) has severity, service, summary, description and a runbook_url to its own section",
    (name, _source, rule) => {
      expect(SEVERITIES).toContain(rule.labels?.severity);
      expect(rule.labels?.service).toBe("opsguard");
      const { summary, description, runbook_url } = rule.annotations ?? {};
      // The summary is fixed text, so notifications group and read well; the description has values.
      expect(summary?.trim()).toBeTruthy();
      expect(summary).not.toContain("{{");
      expect(description).toMatch(/\{\{ *\$(value|labels)/);
      expect(runbook_url).toBe(`${RUNBOOK_URL}#${githubAnchor(name)}`);
      expect(sections.map(githubAnchor)).toContain(githubAnchor(name));
    },
  );

  it("has no runbook section without a Prometheus or Loki alert", () => {
    expect(sections.filter((section) => !everyAlert.some(({ rule }) => rule.alert === section))).toEqual([]);
  });

  it("has a promtool case where each alert fires and one where it stays silent", () => {
    const cases = ruleTestCases();
    const missing = alerts.flatMap((rule) => {
      const entry = cases.get(rule.alert);
      return [
        ...(entry && entry.firing > 0 ? [] : [`${rule.alert}: no firing case`]),
        ...(entry && entry.silent > 0 ? [] : [`${rule.alert}: no silent case`]),
      ];
    });
    expect(missing).toEqual([]);
    // And no case tests an alert that does not exist.
    expect([...cases.keys()].filter((name) => !alerts.some((rule) => rule.alert === name))).toEqual([]);
  });

  it("names recording rules level:metric:operations", () => {
    for (const { record } of recordingRules()) expect(record).toMatch(/^job:opsguard_[a-z0-9_]+:[a-z0-9_]+$/);
  });
});

describe("every series the rules select exists in what opsguard exposes", () => {
  let exposed: ExposedSeries;
  const rules = [
    ...recordingRules().map((rule) => ({ name: rule.record, expr: rule.expr })),
    ...alertRules().map((rule) => ({ name: rule.alert, expr: rule.expr })),
  ];
  // Series Prometheus makes itself, and the outputs of the recording rules.
  // Alertmanager's own metric is checked against a running Alertmanager (alertmanager.test.ts).
  const ALLOWED = new Set([
    "up",
    "alertmanager_notifications_failed_total",
    ...recordingRules().map((rule) => rule.record),
  ]);

  beforeAll(async () => {
    exposed = await collectExposedSeries();
  });

  it.each(rules.map((rule) => [rule.name, rule.expr]))(
    "%s parses, and names the metric of every selector",
    (_name, expr) => {
      expect(syntaxErrors(parsePromql(expr), expr)).toEqual([]);
      const selectors = promqlSelectors(expr);
      expect(selectors.length).toBeGreaterThan(0);
      expect(selectors.filter((selector) => selector.metric === undefined)).toEqual([]);
    },
  );

  it.each(rules.map((rule) => [rule.name, rule.expr]))("%s selects only exposed metrics", (_name, expr) => {
    const unknown = promqlSelectors(expr)
      .map((selector) => selector.metric ?? "")
      .filter((name) => !exposed.names.has(name) && !ALLOWED.has(name));
    expect(unknown).toEqual([]);
  });

  it.each(rules.map((rule) => [rule.name, rule.expr]))(
    "%s matches label values opsguard emits",
    (_name, expr) => {
      // job and instance are target labels that Prometheus adds; recording-rule outputs and `up`
      // are not in opsguard's exposition.
      const checked = promqlSelectors(expr).flatMap(({ metric = "", matchers }) =>
        ALLOWED.has(metric)
          ? []
          : matchers
              .filter(({ op, label }) => op === "=" && label !== "job" && label !== "instance")
              .map(({ label, value }) => ({ metric, label, value })),
      );
      const missing = checked.filter(({ metric, label, value }) =>
        (exposed.samples.get(metric) ?? []).every((labels) => labels[label] !== value),
      );
      expect(missing).toEqual([]);
    },
  );
});
