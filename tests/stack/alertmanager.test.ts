import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALERTMANAGER_CONFIG,
  ALERTMANAGER_DIR,
  listAlerts,
  startAlertmanager,
  startAlertReceiver,
  writeAlertmanagerConfig,
  type AlertReceiver,
  type RunningAlertmanager,
} from "./alerting.js";
import { alertRules } from "./rule-files.js";
import { makeTempDir, runTool } from "./tools.js";

/** Where each severity goes: the routing table of docs/alerting.md. */
const RECEIVER_OF: Record<string, string> = {
  page: "oncall-pager",
  warning: "team-chat",
  ticket: "ticket-queue",
};

/** The receiver amtool resolves a label set to, from the repository's config. */
function routeOf(labels: Record<string, string>): string {
  const result = runTool("amtool", [
    "config",
    "routes",
    "test",
    `--config.file=${ALERTMANAGER_CONFIG}`,
    ...Object.entries(labels).map(([name, value]) => `${name}=${value}`),
  ]);
  expect(result.status, result.output).toBe(0);
  return result.stdout.trim();
}

/**
 * The config with its commented Slack, email and PagerDuty examples switched on: every line of a
 * `# xxx_configs:` block loses its `# `.
 */
function withExamplesUncommented(text: string): string {
  let indent: string | undefined;
  return text
    .split("\n")
    .map((line) => {
      const start = /^(\s*)# ((slack|email|pagerduty)_configs:)$/.exec(line);
      if (start) {
        indent = start[1];
        return `${indent}${start[2]}`;
      }
      if (indent !== undefined && line.startsWith(`${indent}#  `))
        return indent + line.slice(indent.length + 2);
      indent = undefined;
      return line;
    })
    .join("\n");
}

describe("Alertmanager configuration, checked by amtool", () => {
  it("passes amtool check-config with its templates", () => {
    const result = runTool("amtool", ["check-config", ALERTMANAGER_CONFIG]);
    expect(result.output).toContain("SUCCESS");
    expect(result.output).toContain("1 templates");
    expect(result.status, result.output).toBe(0);
  });

  it("stays valid with the Slack, email and PagerDuty examples uncommented", () => {
    const original = readFileSync(ALERTMANAGER_CONFIG, "utf8");
    const uncommented = withExamplesUncommented(original);
    for (const key of [
      "slack_configs:",
      "email_configs:",
      "pagerduty_configs:",
      "api_url_file:",
      "routing_key_file:",
    ]) {
      expect(uncommented).toMatch(new RegExp(`^\\s+-? ?${key}`, "m"));
    }
    const dir = makeTempDir();
    try {
      cpSync(join(ALERTMANAGER_DIR, "templates"), join(dir.path, "templates"), { recursive: true });
      writeFileSync(join(dir.path, "alertmanager.yml"), uncommented);
      const result = runTool("amtool", ["check-config", join(dir.path, "alertmanager.yml")]);
      expect(result.status, result.output).toBe(0);
    } finally {
      dir.remove();
    }
  });

  it.each(Object.entries(RECEIVER_OF))("routes severity=%s to %s", (severity, receiver) => {
    expect(routeOf({ severity, service: "opsguard", alertname: "X" })).toBe(receiver);
  });

  it("routes an alert without a known severity to team-chat rather than nowhere", () => {
    expect(routeOf({ service: "opsguard", alertname: "X" })).toBe("team-chat");
  });

  it.each(alertRules().map((rule) => [rule.alert, rule.labels?.severity ?? ""]))(
    "routes %s (severity %s) by its own labels",
    (alertname, severity) => {
      expect(routeOf({ alertname, severity, service: "opsguard" })).toBe(RECEIVER_OF[severity]);
    },
  );

  it("renders the notification templates with an alert's annotations", () => {
    const dir = makeTempDir();
    try {
      const data = {
        receiver: "team-chat",
        status: "firing",
        alerts: [
          {
            status: "firing",
            labels: {
              alertname: "OpsguardExecutionErrors",
              severity: "warning",
              service: "opsguard",
              action: "open",
            },
            annotations: {
              summary: "The executor fails too many calls",
              description: "6% of webhook open calls failed in the last 5 minutes.",
              runbook_url:
                "https://github.com/opsguard/opsguard/blob/main/docs/runbook.md#opsguardexecutionerrors",
            },
            startsAt: "2026-01-02T03:04:05Z",
            endsAt: "0001-01-01T00:00:00Z",
            generatorURL: "http://prometheus:9090/graph",
          },
        ],
        groupLabels: { alertname: "OpsguardExecutionErrors", service: "opsguard" },
        commonLabels: { alertname: "OpsguardExecutionErrors", severity: "warning", service: "opsguard" },
        commonAnnotations: {},
        externalURL: "http://alertmanager:9093",
      };
      writeFileSync(join(dir.path, "data.json"), JSON.stringify(data));
      const result = runTool("amtool", [
        "template",
        "render",
        `--template.glob=${join(ALERTMANAGER_DIR, "templates", "*.tmpl")}`,
        '--template.text={{ template "opsguard.title" . }}\n{{ template "opsguard.text" . }}',
        `--template.data=${join(dir.path, "data.json")}`,
      ]);
      expect(result.status, result.output).toBe(0);
      expect(result.stdout).toContain("[FIRING:1] OpsguardExecutionErrors (warning)");
      expect(result.stdout).toContain("FIRING: The executor fails too many calls");
      expect(result.stdout).toContain("6% of webhook open calls failed");
      expect(result.stdout).toContain(
        "Runbook: https://github.com/opsguard/opsguard/blob/main/docs/runbook.md#opsguardexecutionerrors",
      );
      expect(result.stdout).toContain("action=open");
    } finally {
      dir.remove();
    }
  });
});

describe("inhibitions in a running Alertmanager", () => {
  let dir: ReturnType<typeof makeTempDir>;
  let receiver: AlertReceiver;
  let alertmanager: RunningAlertmanager;
  const labelsOf = (alertname: string, extra: Record<string, string> = {}): Record<string, string> => {
    const rule = alertRules().find((r) => r.alert === alertname);
    if (!rule) throw new Error(`no alert ${alertname} in prometheus/rules`);
    return { alertname, ...rule.labels, job: "opsguard", instance: "opsguard:8080", ...extra };
  };
  const post = async (alerts: { labels: Record<string, string>; endsAt?: string }[]): Promise<void> => {
    const startsAt = new Date(Date.now() - 60_000).toISOString();
    const response = await fetch(`${alertmanager.url}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(alerts.map((alert) => ({ startsAt, ...alert }))),
    });
    expect(response.status, await response.text()).toBe(200);
  };
  /** alertname → the alertnames inhibiting it (empty when it would notify). */
  const inhibitions = async (): Promise<Record<string, string[]>> => {
    const alerts = await listAlerts(alertmanager.url);
    const nameOf = new Map(alerts.map((a) => [a.fingerprint, a.labels.alertname!]));
    return Object.fromEntries(
      alerts.map((a) => [a.labels.alertname!, a.status.inhibitedBy.map((f) => nameOf.get(f) ?? f).sort()]),
    );
  };
  /** About the alerting path, not opsguard: never silenced by opsguard being down. */
  const ALERTING_PATH = "OpsguardAlertNotificationsFailing";
  const POLL = { timeout: 15_000, interval: 250 };
  const others = alertRules()
    .map((rule) => rule.alert)
    .filter((name) => name !== "OpsguardServiceDown");

  beforeAll(async () => {
    dir = makeTempDir();
    receiver = await startAlertReceiver();
    alertmanager = await startAlertmanager(writeAlertmanagerConfig(dir.path, receiver.url), dir.path);
  });
  afterAll(async () => {
    await alertmanager?.daemon.stop();
    await receiver?.close();
    dir.remove();
  });

  it("exposes the failed-notification counter OpsguardAlertNotificationsFailing reads, per integration", async () => {
    const metrics = await (await fetch(`${alertmanager.url}/metrics`)).text();
    expect(metrics).toMatch(
      /^alertmanager_notifications_failed_total\{[^}]*integration="webhook"[^}]*\} \d+/m,
    );
  });

  it("silences every other opsguard alert while opsguard is down, and nothing of another service", async () => {
    await post([
      { labels: labelsOf("OpsguardServiceDown") },
      ...others.map((name) => ({ labels: labelsOf(name) })),
      { labels: { alertname: "BillingDown", severity: "page", service: "billing" } },
    ]);
    // Alertmanager's inhibitor learns of new alerts from a subscription of its own, so the list
    // can show every alert a moment before their inhibitions: poll until the picture settles.
    const silencedByDown = (state: Record<string, string[]>): Record<string, boolean | undefined> =>
      Object.fromEntries(
        [...others, "OpsguardServiceDown", "BillingDown"].map((name) => [
          name,
          state[name]?.includes("OpsguardServiceDown"),
        ]),
      );
    const expected = Object.fromEntries(
      [...others, "OpsguardServiceDown", "BillingDown"].map((name) => [
        name,
        others.includes(name) && name !== ALERTING_PATH,
      ]),
    );
    await expect.poll(async () => silencedByDown(await inhibitions()), POLL).toEqual(expected);
    const state = await inhibitions();
    expect(state.OpsguardServiceDown).toEqual([]);
    expect(state.BillingDown).toEqual([]);
    expect(state[ALERTING_PATH]).toEqual([]);
  });

  it("silences what a halt explains, and the slow burn under the fast one, once opsguard is back", async () => {
    await post([
      { labels: labelsOf("OpsguardServiceDown"), endsAt: new Date(Date.now() - 1_000).toISOString() },
    ]);
    const inhibitedByHalt = [
      "OpsguardRiskRejectionsHigh",
      "OpsguardDailyLossNearLimit",
      "OpsguardDrawdownNearLimit",
    ];
    const expected = Object.fromEntries(
      others.map((name) => [
        name,
        inhibitedByHalt.includes(name)
          ? ["OpsguardTradingHalted"]
          : name === "OpsguardSubmitErrorBudgetSlowBurn"
            ? ["OpsguardSubmitErrorBudgetFastBurn"]
            : [],
      ]),
    );
    // Resolving OpsguardServiceDown reaches the inhibitor asynchronously too: poll until it has.
    await expect.poll(inhibitions, POLL).toEqual({ ...expected, BillingDown: [] });
  });
});
