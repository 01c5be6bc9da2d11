import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { startChild, type Child } from "../process.js";
import {
  listAlerts,
  startAlertmanager,
  startAlertReceiver,
  writeAlertmanagerConfig,
  type AlertReceiver,
  type RunningAlertmanager,
  type WebhookAlert,
} from "./alerting.js";
import { PROMETHEUS_DIR, recordingRules, RULES_DIR, type AlertRule } from "./rule-files.js";
import { freePort, makeTempDir, startDaemon, waitFor, type Daemon } from "./tools.js";

/**
 * The whole alerting path with real processes: `opsguard demo` → Prometheus (the repository's
 * prometheus.yml and rules, scraping every second) → Alertmanager (the repository's routes and
 * inhibitions, webhooks pointed at an in-process receiver).
 */

interface ScrapeConfig {
  job_name: string;
  static_configs?: { targets: string[] }[];
  dns_sd_configs?: unknown;
  relabel_configs?: unknown;
}

interface PrometheusConfig {
  global: Record<string, string>;
  rule_files: string[];
  alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
  scrape_configs: ScrapeConfig[];
}

/**
 * The alert that the test makes fire while trading is halted, to see the halt inhibit it. Its
 * `for: 10m` is dropped in the test's copy of the rules: a test cannot wait ten minutes, and
 * promtool already checks the `for` (prometheus/tests/trading.yml). Nothing else is changed.
 */
const INHIBITED_ALERT = "OpsguardRiskRejectionsHigh";
/** A pattern opsguard does not know: its rejections are the test's alone, never the demo's. */
const TEST_PATTERN = "e2e-unknown-pattern";

/** prometheus/rules/alerts.yml without the `for` of {@link INHIBITED_ALERT}. */
function writeAlertRules(dir: string): string {
  const file = parse(readFileSync(join(RULES_DIR, "alerts.yml"), "utf8")) as {
    groups: { rules: AlertRule[] }[];
  };
  const rule = file.groups.flatMap((group) => group.rules).find((r) => r.alert === INHIBITED_ALERT);
  if (!rule) throw new Error(`${INHIBITED_ALERT} is not in alerts.yml`);
  delete rule.for;
  const path = join(dir, "alerts.yml");
  writeFileSync(path, stringify(file));
  return path;
}

/**
 * The repository's prometheus.yml with loopback targets, a 1s scrape and evaluation interval, and
 * absolute rule paths. Every job and the Alertmanager target must already be there: a renamed job
 * fails here rather than silently scraping nothing.
 */
function writePrometheusConfig(
  dir: string,
  targets: { opsguard: string; alertmanager: string; prometheus: string },
): string {
  const config = parse(readFileSync(join(PROMETHEUS_DIR, "prometheus.yml"), "utf8")) as PrometheusConfig;
  config.global = { ...config.global, scrape_interval: "1s", evaluation_interval: "1s" };
  for (const [job, target] of Object.entries(targets)) {
    const scrape = config.scrape_configs.find((s) => s.job_name === job);
    if (!scrape) throw new Error(`prometheus.yml has no ${job} job`);
    // One static target per job; the compose demo's DNS discovery has nothing to find here.
    scrape.static_configs = [{ targets: [target] }];
    delete scrape.dns_sd_configs;
    delete scrape.relabel_configs;
  }
  expect(config.alerting.alertmanagers).toHaveLength(1);
  config.alerting.alertmanagers[0]!.static_configs = [{ targets: [targets.alertmanager] }];
  expect(config.rule_files).toEqual(["rules/recording.yml", "rules/alerts.yml"]);
  config.rule_files = [join(RULES_DIR, "recording.yml"), writeAlertRules(dir)];
  const path = join(dir, "prometheus.yml");
  writeFileSync(path, stringify(config));
  return path;
}

describe("opsguard demo → Prometheus → Alertmanager", () => {
  let root: ReturnType<typeof makeTempDir>;
  let receiver: AlertReceiver;
  let alertmanager: RunningAlertmanager;
  let opsguard: Child;
  let prometheus: Daemon;
  let prometheusUrl: string;

  /** Calls opsguard's API with the demo's admin token. */
  const api = (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`http://127.0.0.1:${opsguard.port}${path}`, {
      method,
      headers: { authorization: `Bearer ${opsguard.token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const tradingState = async (): Promise<string> =>
    ((await (await api("GET", "/v1/risk")).json()) as { tradingState: { state: string } }).tradingState.state;
  /** An instant query; the series it returns. */
  const query = async (
    promql: string,
  ): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
    const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as {
      status: string;
      error?: string;
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (body.status !== "success") throw new Error(`${promql}: ${body.error}`);
    return body.data.result;
  };

  beforeAll(async () => {
    root = makeTempDir();
    const dataDir = join(root.path, "opsguard");
    mkdirSync(dataDir);
    receiver = await startAlertReceiver();
    [alertmanager, opsguard] = await Promise.all([
      startAlertmanager(writeAlertmanagerConfig(root.path, receiver.url), root.path),
      startChild(dataDir, ["demo"], {}, "demo/admin-token"),
    ]);
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    const config = writePrometheusConfig(root.path, {
      opsguard: `127.0.0.1:${opsguard.port}`,
      alertmanager: `127.0.0.1:${alertmanager.port}`,
      prometheus: `127.0.0.1:${port}`,
    });
    prometheus = await startDaemon(
      "prometheus",
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(root.path, "prometheus-data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      `${prometheusUrl}/-/ready`,
    );
  }, 40_000);

  afterAll(async () => {
    const stopOpsguard = async (): Promise<void> => {
      if (!opsguard || opsguard.process.exitCode !== null) return;
      opsguard.process.kill("SIGTERM");
      const timer = setTimeout(() => opsguard.process.kill("SIGKILL"), 5_000);
      await opsguard.exited;
      clearTimeout(timer);
    };
    await Promise.all([prometheus?.stop(), alertmanager?.daemon.stop(), stopOpsguard(), receiver?.close()]);
    root?.remove();
  }, 20_000);

  it("has data for every recording rule within seconds", async () => {
    await waitFor(
      "Prometheus to scrape opsguard",
      async () => (await query('up{job="opsguard"} == 1')).length > 0,
    );
    // Every rule is expected to have data: the demo submits, rejects, fails 1% of executions,
    // wins and loses within seconds, and every window (5m … 3d) needs only two samples.
    const records = recordingRules().map((rule) => rule.record);
    const missing = async (): Promise<string[]> => {
      const empty = await Promise.all(
        records.map(async (name) => ((await query(name)).length === 0 ? name : "")),
      );
      return empty.filter(Boolean);
    };
    const stillMissing = await waitFor(
      "every recording rule to have data",
      async () => {
        const names = await missing();
        return names.length === 0 && names;
      },
      { timeoutMs: 30_000, intervalMs: 1_000 },
    ).catch(missing);
    expect(stillMissing).toEqual([]);
  }, 45_000);

  it("notifies a halt to the pager with its labels and annotations, and keeps what it explains silent", async () => {
    // The demo halts by itself on its loss limits and resumes 20 s later. Start from a clean
    // slate: trading active and no halt alert left in Alertmanager, so the halt below is a new
    // alert and the demo's resume clock starts with it.
    await waitFor(
      "trading to be active with no halt alert in Alertmanager",
      async () =>
        (await tradingState()) === "active" &&
        (await listAlerts(alertmanager.url, { alertname: "OpsguardTradingHalted" })).length === 0,
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const haltedAt = Date.now();
    const halt = await api("PUT", "/v1/risk/state", { state: "halted", reason: "stack e2e test" });
    expect(halt.status, await halt.text()).toBe(200);

    // 1. The halt reaches the pager, with the labels and annotations of the rule.
    const isOurHalt = (a: WebhookAlert): boolean =>
      a.labels.alertname === "OpsguardTradingHalted" &&
      a.status === "firing" &&
      Date.parse(a.startsAt) >= haltedAt - 2_000;
    const notified = await waitFor("OpsguardTradingHalted to reach the receiver", () =>
      receiver.notifications.find((n) => n.alerts.some(isOurHalt)),
    );
    expect(notified.path).toBe("/oncall-pager");
    expect(notified.receiver).toBe("oncall-pager");
    const alert = notified.alerts.find(isOurHalt)!;
    expect(alert.labels).toMatchObject({
      severity: "page",
      service: "opsguard",
      job: "opsguard",
      state: "halted",
    });
    expect(alert.annotations.summary).toBe("Trading is halted");
    expect(alert.annotations.description).toContain(`127.0.0.1:${opsguard.port} is halted`);
    expect(alert.annotations.runbook_url).toBe(
      "https://github.com/opsguard/opsguard/blob/main/docs/runbook.md#opsguardtradinghalted",
    );

    // 2. While halted, make the rejections alert true: submits with an unknown pattern fail the
    // UNKNOWN_PATTERN check (besides TRADING_HALTED). Keep submitting until Alertmanager has it.
    let sequence = 0;
    const submit = () =>
      api("POST", "/v1/operations", {
        clientId: `e2e-${process.pid}-${++sequence}`,
        strategy: "trend-follow",
        instrument: "BTC-USD",
        side: "buy",
        size: "0.01",
        pattern: TEST_PATTERN,
      });
    const first = await submit();
    expect(first.status).toBe(422);
    const codes = ((await first.json()) as { errors: { code: string }[] }).errors.map((e) => e.code);
    expect(codes).toEqual(expect.arrayContaining(["TRADING_HALTED", "UNKNOWN_PATTERN"]));
    const inhibited = await waitFor(
      `${INHIBITED_ALERT}{reason="UNKNOWN_PATTERN"} to reach Alertmanager`,
      async () => {
        const statuses = await Promise.all(
          Array.from({ length: 20 }, async () => {
            const response = await submit();
            await response.arrayBuffer();
            return response.status;
          }),
        );
        expect(statuses).toEqual(statuses.map(() => 422));
        const [found] = await listAlerts(alertmanager.url, {
          alertname: INHIBITED_ALERT,
          reason: "UNKNOWN_PATTERN",
        });
        return found;
      },
      { timeoutMs: 15_000, intervalMs: 300 },
    );

    // 3. Alertmanager holds it, inhibited by the halt...
    const [haltInAlertmanager] = await listAlerts(alertmanager.url, { alertname: "OpsguardTradingHalted" });
    expect(haltInAlertmanager).toBeDefined();
    expect(inhibited.labels).toMatchObject({ severity: "warning", service: "opsguard" });
    expect(inhibited.status.state).toBe("suppressed");
    expect(inhibited.status.inhibitedBy).toEqual([haltInAlertmanager!.fingerprint]);

    // 4. ...and never notifies it: several group intervals (1s here) pass without it.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const leaked = receiver.notifications.flatMap((n) =>
      n.alerts.filter((a) => a.labels.alertname === INHIBITED_ALERT && a.labels.reason === "UNKNOWN_PATTERN"),
    );
    expect(leaked).toEqual([]);
    // The whole observation happened under the halt (the demo resumes only 20 s after it).
    expect(await tradingState()).toBe("halted");
    expect(
      (await listAlerts(alertmanager.url, { alertname: INHIBITED_ALERT, reason: "UNKNOWN_PATTERN" }))[0]
        ?.status.state,
    ).toBe("suppressed");
  }, 60_000);
});
