import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { collectExposedSeries } from "./exposition.js";
import {
  DASHBOARDS_DIR,
  PLACEHOLDER_DURATIONS,
  allPanels,
  dashboardQueries,
  readDashboards,
  referencedVariables,
  substituteVariables,
  type DashboardJson,
  type FoundQuery,
} from "./grafana-tools.js";
import {
  logqlRanges,
  parseLogql,
  parsePromql,
  promqlRangeCalls,
  promqlSelectors,
  syntaxErrors,
} from "./query-syntax.js";
import { readYaml, REPO } from "./tools.js";

const EXPECTED_UIDS = [
  "opsguard-overview",
  "opsguard-operations",
  "opsguard-risk",
  "opsguard-performance",
  "opsguard-runtime",
  "opsguard-logs",
  "opsguard-maintenance",
];
/** Grafana's own variables, always defined. */
const BUILT_IN_VARIABLES = new Set([
  ...Object.keys(PLACEHOLDER_DURATIONS),
  "__url_time_range",
  "__all_variables",
]);
/** Series Prometheus itself makes about every scrape target and alert. */
const PROMETHEUS_SYNTHETIC = new Set(["up", "ALERTS"]);
/** Series Tempo's metrics generator remote-writes; only panels that say "Tempo-derived" may use them. */
const TEMPO_DERIVED = /^traces_(spanmetrics|service_graph)_/;
/** Histograms whose samples carry trace-id exemplars. */
const EXEMPLAR_HISTOGRAMS = [
  "opsguard_operation_submit_duration_seconds",
  "opsguard_execution_duration_seconds",
];

interface ProvisionedDatasource {
  name: string;
  uid: string;
  type: string;
  jsonData?: Record<string, unknown>;
}

const provisioned = readYaml<{ datasources: ProvisionedDatasource[] }>(
  "grafana/provisioning/datasources/datasources.yml",
).datasources;
const dashboards = readDashboards();

function variableNames(dashboard: DashboardJson): string[] {
  return (dashboard.templating?.list ?? []).map((v) => v.name);
}

function allQueries(): { dashboard: DashboardJson; query: FoundQuery }[] {
  return dashboards.flatMap((dashboard) =>
    dashboardQueries(dashboard).map((query) => ({ dashboard, query })),
  );
}

describe("generated dashboards", () => {
  it("match what grafana/src generates, byte for byte (run `npm run dashboards` after a change)", () => {
    const out = mkdtempSync(join(tmpdir(), "opsguard-dashboards-"));
    try {
      execFileSync(join(REPO, "node_modules", ".bin", "tsx"), ["grafana/src/generate.ts", "--out", out], {
        cwd: REPO,
        stdio: "pipe",
      });
      const generated = readdirSync(out).sort();
      expect(generated).toEqual(EXPECTED_UIDS.map((uid) => `${uid}.json`).sort());
      expect(readdirSync(DASHBOARDS_DIR).sort()).toEqual(generated);
      for (const file of generated) {
        const fresh = readFileSync(join(out, file), "utf8");
        expect(readFileSync(join(DASHBOARDS_DIR, file), "utf8"), file).toBe(fresh);
        expect(fresh.endsWith("}\n"), file).toBe(true);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("are tagged opsguard, link to each other by that tag, and have a Prometheus datasource variable", () => {
    expect(dashboards.map((d) => d.uid).sort()).toEqual([...EXPECTED_UIDS].sort());
    for (const dashboard of dashboards) {
      expect(dashboard.tags, dashboard.uid).toContain("opsguard");
      expect(dashboard.links, dashboard.uid).toContainEqual(
        expect.objectContaining({ type: "dashboards", tags: ["opsguard"] }),
      );
      const variables = dashboard.templating?.list ?? [];
      expect(variables, dashboard.uid).toContainEqual(
        expect.objectContaining({ type: "datasource", query: "prometheus" }),
      );
    }
  });

  it("give every panel a title, a description and a unit", () => {
    for (const dashboard of dashboards) {
      for (const panel of allPanels(dashboard)) {
        const where = `${dashboard.uid} / panel ${panel.id} ${panel.title}`;
        expect(panel.title?.trim(), where).toBeTruthy();
        expect(panel.description?.trim(), where).toBeTruthy();
        expect(panel.fieldConfig?.defaults?.unit, where).toBeTruthy();
      }
    }
  });

  it("use only variables they define or Grafana's built-ins", () => {
    for (const dashboard of dashboards) {
      const defined = new Set([...variableNames(dashboard), ...BUILT_IN_VARIABLES]);
      const text = JSON.stringify(dashboard.panels) + JSON.stringify(dashboard.annotations);
      const variableQueries = (dashboard.templating?.list ?? []).map((v) => JSON.stringify(v.query ?? ""));
      for (const name of referencedVariables([text, ...variableQueries].join("\n"))) {
        // `${1}` is a label_replace group, not a variable.
        if (/^\d+$/.test(name)) continue;
        expect(defined.has(name), `${dashboard.uid} uses $${name}`).toBe(true);
      }
    }
  });

  it("parse: every PromQL expression with lezer-promql, every LogQL expression with lezer-logql", () => {
    let promql = 0;
    let logql = 0;
    for (const { dashboard, query } of allQueries()) {
      const expr = substituteVariables(query.expr, variableNames(dashboard));
      if (query.language === "promql") {
        promql++;
        expect(syntaxErrors(parsePromql(expr), expr), `${query.where}: ${expr}`).toEqual([]);
      } else if (query.language === "logql") {
        logql++;
        expect(syntaxErrors(parseLogql(expr), expr), `${query.where}: ${expr}`).toEqual([]);
      }
    }
    // A walk that found nothing would pass vacuously.
    expect(promql).toBeGreaterThan(100);
    expect(logql).toBeGreaterThan(5);
  });

  it("put every rate and irate on $__rate_interval, and increase too unless it totals an instant query over $__range", () => {
    const rateInterval = PLACEHOLDER_DURATIONS.__rate_interval;
    const range = PLACEHOLDER_DURATIONS.__range;
    let checked = 0;
    for (const { dashboard, query } of allQueries()) {
      if (query.language !== "promql") continue;
      const expr = substituteVariables(query.expr, variableNames(dashboard));
      for (const call of promqlRangeCalls(expr)) {
        if (!["rate", "irate", "increase"].includes(call.fn)) continue;
        checked++;
        const allowed = call.fn === "increase" && query.instant ? [rateInterval, range] : [rateInterval];
        expect(allowed, `${query.where}: ${call.fn}[${call.range}] in ${query.expr}`).toContain(call.range);
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it("never give a LogQL range aggregation a fixed window", () => {
    const variableDurations = Object.values(PLACEHOLDER_DURATIONS) as string[];
    for (const { dashboard, query } of allQueries()) {
      if (query.language !== "logql") continue;
      for (const range of logqlRanges(substituteVariables(query.expr, variableNames(dashboard)))) {
        expect(variableDurations, `${query.where}: [${range}]`).toContain(range);
      }
    }
  });

  it("ask for exemplars on every panel charting a histogram that carries them", () => {
    let panels = 0;
    for (const dashboard of dashboards) {
      for (const panel of allPanels(dashboard)) {
        const exprs = (panel.targets ?? []).map((t) => t.expr ?? "");
        if (!EXEMPLAR_HISTOGRAMS.some((h) => exprs.some((e) => e.includes(`${h}_bucket`)))) continue;
        panels++;
        expect(
          panel.targets?.some((t) => t.exemplar === true),
          `${dashboard.uid} / ${panel.title}`,
        ).toBe(true);
      }
    }
    expect(panels).toBeGreaterThanOrEqual(2);
  });
});

describe("datasource references", () => {
  const byUid = new Map(provisioned.map((d) => [d.uid, d]));

  it("provision the four datasources with fixed UIDs", () => {
    expect(provisioned.map((d) => [d.uid, d.type])).toEqual([
      ["prometheus", "prometheus"],
      ["loki", "loki"],
      ["tempo", "tempo"],
      ["alertmanager", "alertmanager"],
    ]);
    expect(byUid.get("alertmanager")?.jsonData?.implementation).toBe("prometheus");
  });

  it("resolve from every panel, target, annotation and variable to a provisioned datasource of the right type", () => {
    for (const dashboard of dashboards) {
      const variables = dashboard.templating?.list ?? [];
      const refs: { where: string; type?: string; uid?: string }[] = [];
      for (const panel of allPanels(dashboard)) {
        refs.push({ where: `${panel.title}`, ...panel.datasource });
        for (const target of panel.targets ?? [])
          refs.push({ where: `${panel.title}/${target.refId}`, ...target.datasource });
      }
      for (const a of dashboard.annotations?.list ?? [])
        refs.push({ where: `annotation ${a.name}`, ...a.datasource });
      for (const v of variables)
        if (v.datasource) refs.push({ where: `variable ${v.name}`, ...v.datasource });
      for (const ref of refs) {
        const where = `${dashboard.uid} / ${ref.where}`;
        expect(ref.uid, where).toBeTruthy();
        const variable = /^\$\{(\w+)\}$/.exec(ref.uid ?? "")?.[1];
        if (variable) {
          const definition = variables.find((v) => v.name === variable && v.type === "datasource");
          expect(definition, `${where}: $${variable} is not a datasource variable`).toBeTruthy();
          const type = definition?.query as string;
          expect(
            provisioned.some((d) => d.type === type),
            `${where}: no provisioned ${type} datasource`,
          ).toBe(true);
          expect(ref.type, where).toBe(type);
        } else {
          expect(byUid.has(ref.uid ?? ""), `${where}: uid ${ref.uid} is not provisioned`).toBe(true);
          expect(ref.type, where).toBe(byUid.get(ref.uid ?? "")?.type);
        }
      }
    }
  });

  it("resolve from every correlation (exemplars, derived fields, trace links) to a provisioned datasource", () => {
    const uid = (type: string) => provisioned.find((d) => d.type === type)!;
    const prometheus = uid("prometheus").jsonData as {
      exemplarTraceIdDestinations: { name: string; datasourceUid: string }[];
    };
    expect(prometheus.exemplarTraceIdDestinations).toEqual([
      expect.objectContaining({ name: "trace_id", datasourceUid: "tempo" }),
    ]);
    const loki = uid("loki").jsonData as {
      derivedFields: { matcherType: string; matcherRegex: string; datasourceUid: string; url: string }[];
    };
    expect(loki.derivedFields).toHaveLength(1);
    const [field] = loki.derivedFields;
    expect(field).toMatchObject({ matcherType: "regex", datasourceUid: "tempo", url: "$${__value.raw}" });
    // The matcher finds the trace id in a JSON line as opsguard writes it (JSON.stringify, no spaces).
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const line = JSON.stringify({
      level: "info",
      msg: "operation opened",
      event: "operation.opened",
      trace_id: traceId,
    });
    expect(new RegExp(field!.matcherRegex).exec(line)?.[1]).toBe(traceId);

    const tempo = uid("tempo").jsonData as Record<
      string,
      { datasourceUid?: string; query?: string; queries?: { query: string }[] }
    >;
    expect(tempo.tracesToLogsV2?.datasourceUid).toBe("loki");
    expect(tempo.tracesToMetrics?.datasourceUid).toBe("prometheus");
    expect(tempo.serviceMap?.datasourceUid).toBe("prometheus");
    expect(tempo.lokiSearch?.datasourceUid).toBe("loki");
    for (const d of Object.values(tempo)) if (d?.datasourceUid) expect(byUid.has(d.datasourceUid)).toBe(true);

    // The correlation queries parse, once Grafana has replaced `$$` and its span variables.
    const unescape = (q: string) =>
      q
        .replaceAll("$$", "$")
        .replaceAll("${__span.traceId}", traceId)
        .replaceAll("${__span.name}", "risk.check");
    const logs = unescape(tempo.tracesToLogsV2?.query ?? "");
    expect(logs).toContain(`trace_id="${traceId}"`);
    expect(syntaxErrors(parseLogql(logs), logs)).toEqual([]);
    expect(tempo.tracesToMetrics?.queries?.length).toBeGreaterThan(0);
    for (const { query } of tempo.tracesToMetrics?.queries ?? []) {
      const expr = substituteVariables(unescape(query).replaceAll("$__tags", 'service="opsguard"'), []);
      expect(syntaxErrors(parsePromql(expr), expr), expr).toEqual([]);
    }
  });
});

describe("metric names the dashboards use", () => {
  let exposed: Set<string>;
  beforeAll(async () => {
    exposed = (await collectExposedSeries()).names;
  });

  it("the live app exposes the metrics the scrape produced, with their samples", () => {
    // Sanity of the scrape itself: some families with samples, some expanded from # TYPE only.
    for (const name of [
      "opsguard_profit_total",
      "opsguard_loss_total",
      "opsguard_operations_failed_total",
      "opsguard_operation_submit_duration_seconds_bucket",
      "nodejs_eventloop_lag_p99_seconds",
      "process_cpu_seconds_total",
    ]) {
      expect(exposed.has(name), name).toBe(true);
    }
  });

  it("are all exposed by opsguard, recording rules, Prometheus itself, or (in Tempo-derived panels) Tempo", () => {
    const recording = existsSync(join(REPO, "prometheus/rules/recording.yml"))
      ? new Set(
          readYaml<{ groups: { rules: { record?: string }[] }[] }>("prometheus/rules/recording.yml")
            .groups.flatMap((g) => g.rules)
            .flatMap((r) => (r.record ? [r.record] : [])),
        )
      : new Set<string>();
    const used = new Set<string>();
    for (const { dashboard, query } of allQueries()) {
      if (query.language !== "promql") continue;
      const expr = substituteVariables(query.expr, variableNames(dashboard));
      for (const { metric: name = "", matchers } of promqlSelectors(expr)) {
        expect(name, `${query.where}: a selector without a metric name`).toBeTruthy();
        used.add(name);
        const where = `${query.where}: ${name}`;
        if (TEMPO_DERIVED.test(name)) {
          expect(query.panel?.description ?? "", `${where} is Tempo's: say "Tempo-derived"`).toContain(
            "Tempo-derived",
          );
          continue;
        }
        const known = exposed.has(name) || recording.has(name) || PROMETHEUS_SYNTHETIC.has(name);
        expect(known, `${where} is not exposed by opsguard`).toBe(true);
        // opsguard's own series are read from its scrape job and the chosen instance only:
        // Prometheus, Alertmanager and Tempo expose process_* too.
        if (name !== "ALERTS")
          expect(matchers, where).toContainEqual({ label: "job", op: "=", value: "opsguard" });
        // The variables that list the instances, and the accounts they belong to, are the
        // selectors that cannot filter by the instance.
        if (name !== "ALERTS" && !/variable (instance|account)$/.test(query.where)) {
          expect(matchers, where).toContainEqual({ label: "instance", op: "=~", value: "var_instance" });
        }
      }
    }
    // The dashboards read most of the contract.
    expect(used.size).toBeGreaterThan(40);
  });
});
