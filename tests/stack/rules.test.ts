import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecutionError } from "../../src/execution/executor.js";
import { ScriptedExecutor, startTestApp, submitBody, type TestApp } from "../harness.js";
import {
  alertRules,
  githubAnchor,
  PROMETHEUS_DIR,
  promqlSelectors,
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
  const sections = runbookSections();

  it("has the alerts the runbook and Alertmanager expect, uniquely named with the Opsguard prefix", () => {
    const names = alerts.map((rule) => rule.alert);
    expect(names.length).toBeGreaterThanOrEqual(10);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^Opsguard[A-Z][A-Za-z]+$/);
  });

  it.each(alerts.map((rule) => [rule.alert, rule]))(
    "%s has severity, service, summary, description and a runbook_url to its own section",
    (name, rule) => {
      expect(SEVERITIES).toContain(rule.labels?.severity);
      expect(rule.labels?.service).toBe("opsguard");
      const { summary, description, runbook_url } = rule.annotations ?? {};
      // The summary is fixed text, so notifications group and read well; the description has values.
      expect(summary).toBeTruthy();
      expect(summary).not.toContain("{{");
      expect(description).toMatch(/\{\{ *\$(value|labels)/);
      expect(runbook_url).toBe(`${RUNBOOK_URL}#${githubAnchor(name)}`);
      expect(sections.map(githubAnchor)).toContain(githubAnchor(name));
    },
  );

  it("has no runbook section without an alert", () => {
    expect(sections.filter((section) => !alerts.some((rule) => rule.alert === section))).toEqual([]);
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

/** Metric names and label sets from the Prometheus text format (or OpenMetrics). */
function exposedMetrics(text: string): {
  names: Set<string>;
  samples: Map<string, Record<string, string>[]>;
} {
  const names = new Set<string>();
  const samples = new Map<string, Record<string, string>[]>();
  for (const [, name = "", type = ""] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(name + suffix);
    else if (type === "summary") for (const suffix of ["", "_sum", "_count"]) names.add(name + suffix);
    // OpenMetrics names a counter family without the `_total` its samples carry.
    else if (type === "counter") names.add(name.endsWith("_total") ? name : `${name}_total`);
    else names.add(name);
  }
  for (const [, name = "", labels = ""] of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? /gm)) {
    names.add(name);
    const set: Record<string, string> = {};
    for (const [, label = "", value = ""] of labels.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      set[label] = value;
    samples.set(name, [...(samples.get(name) ?? []), set]);
  }
  return { names, samples };
}

describe("every series the rules select exists in what opsguard exposes", () => {
  let test: TestApp;
  let exposed: ReturnType<typeof exposedMetrics>;
  const rules = [
    ...recordingRules().map((rule) => ({ name: rule.record, expr: rule.expr })),
    ...alertRules().map((rule) => ({ name: rule.alert, expr: rule.expr })),
  ];
  // Series Prometheus makes itself, and the outputs of the recording rules.
  const ALLOWED = new Set(["up", ...recordingRules().map((rule) => rule.record)]);

  beforeAll(async () => {
    const executor = new ScriptedExecutor();
    test = await startTestApp({}, { executor, runtimeMetrics: true });
    // Move the metrics: an accepted submit with a pattern, a rejected one, a winning close, a
    // failed execution, and a halt.
    const opened = await test.call("POST", "/v1/operations", {
      body: submitBody({ pattern: "double-bottom" }),
    });
    expect(opened.status).toBe(201);
    const { id } = (await opened.json()) as { id: string };
    expect((await test.call("POST", "/v1/operations", { body: submitBody({ size: "50" }) })).status).toBe(
      422,
    );
    executor.setPrice("BTC-USD", 6_600_000n);
    expect((await test.call("POST", `/v1/operations/${id}/close`, { body: {} })).status).toBe(200);
    executor.failWith = new ExecutionError("venue down", "refused");
    expect((await test.call("POST", "/v1/operations", { body: submitBody() })).status).toBe(502);
    executor.failWith = undefined;
    await test.call("PUT", "/v1/risk/state", { body: { state: "halted", reason: "rules test" } });
    const response = await test.call("GET", "/metrics", { role: null });
    expect(response.status).toBe(200);
    exposed = exposedMetrics(await response.text());
  });
  afterAll(async () => {
    await test.close();
  });

  it.each(rules.map((rule) => [rule.name, rule.expr]))("%s parses", (_name, expr) => {
    const { errors, metrics } = promqlSelectors(expr);
    expect(errors).toEqual([]);
    expect(metrics.length).toBeGreaterThan(0);
  });

  it.each(rules.map((rule) => [rule.name, rule.expr]))("%s selects only exposed metrics", (_name, expr) => {
    const unknown = promqlSelectors(expr).metrics.filter(
      (name) => !exposed.names.has(name) && !ALLOWED.has(name),
    );
    expect(unknown).toEqual([]);
  });

  it.each(rules.map((rule) => [rule.name, rule.expr]))(
    "%s matches label values opsguard emits",
    (_name, expr) => {
      // job and instance are target labels that Prometheus adds; recording-rule outputs and `up`
      // are not in opsguard's exposition.
      const checked = promqlSelectors(expr).matchers.filter(
        ({ metric, label }) => !ALLOWED.has(metric) && label !== "job" && label !== "instance",
      );
      const missing = checked.filter(({ metric, label, value }) =>
        (exposed.samples.get(metric) ?? []).every((labels) => labels[label] !== value),
      );
      expect(missing).toEqual([]);
    },
  );
});
