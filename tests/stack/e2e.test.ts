import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { startPostgres, type ScratchPostgres } from "../postgres.js";
import { MAIN, startChild, type Child } from "../process.js";
import {
  listAlerts,
  startAlertmanager,
  startLoggingAlertReceiver,
  writeAlertmanagerConfig,
  type AlertLine,
  type LoggingAlertReceiver,
  type RunningAlertmanager,
} from "./alerting.js";
import {
  dashboardQueries,
  interpolate,
  readDashboards,
  resolvePromqlVariables,
  type FoundQuery,
} from "./grafana-tools.js";
import { startPrometheus, type RunningPrometheus } from "./prometheus.js";
import { recordingRules, RULES_DIR, type AlertRule } from "./rule-files.js";
import { makeTempDir, pollUntilEmpty, readYaml, waitFor } from "./tools.js";

/**
 * The whole monitoring path with real processes: `opsguard demo` → Prometheus (the repository's
 * prometheus.yml and rules, scraping every second) → Alertmanager (the repository's routes and
 * inhibitions, webhooks pointed at the stack's own receiver, `opsguard alert-receiver`, whose log
 * lines the test reads). After a short run, every recording
 * rule and every Prometheus query of the Grafana dashboards has data.
 */

/** Prometheus's scrape and evaluation interval in this test, in seconds. */
const SCRAPE_INTERVAL = 1;
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
  const file = readYaml<{ groups: { rules: AlertRule[] }[] }>(join(RULES_DIR, "alerts.yml"));
  const rule = file.groups.flatMap((group) => group.rules).find((r) => r.alert === INHIBITED_ALERT);
  if (!rule) throw new Error(`${INHIBITED_ALERT} is not in alerts.yml`);
  delete rule.for;
  const path = join(dir, "alerts.yml");
  writeFileSync(path, stringify(file));
  return path;
}

/**
 * Dashboard queries that cannot be relied on to have data in this test, by
 * `<dashboard> / <panel> / <refId>`, and why. Those that `stayEmpty` are checked to have none: if
 * one has data after all, it belongs with the others.
 */
const WITHOUT_DATA: Record<string, { reason: string; stayEmpty: boolean }> = {
  "opsguard-operations / Span rate by name / A": {
    reason: "Tempo-derived (traces_spanmetrics_*), written by Tempo's metrics generator: no Tempo here",
    stayEmpty: true,
  },
  "opsguard-operations / Span latency p99 by name / A": {
    reason: "Tempo-derived (traces_spanmetrics_*), written by Tempo's metrics generator: no Tempo here",
    stayEmpty: true,
  },
  "opsguard-operations / Executor circuits / A": {
    reason: "the demo runs the paper executor, which has no circuit breakers",
    stayEmpty: true,
  },
  "opsguard-runtime / Active handles and requests / B": {
    // prom-client resets this gauge at each scrape and sets only the request types in flight.
    reason:
      "nodejs_active_requests has series only while a libuv request (a file write, a DNS lookup) is " +
      "pending at the moment of a scrape, which opsguard's process rarely has",
    stayEmpty: false,
  },
  "opsguard-performance / Active recommendations of the daily report / A": {
    reason:
      "the demo makes its reports at start (before any close) and then every two minutes, and a rule " +
      "needs 20 closes or 50 submits: a recommendation may come after this test's 45 s",
    stayEmpty: false,
  },
};

/**
 * Grafana's interval variables for a dashboard opened on the last `rangeSeconds`, its Prometheus
 * datasource's scrape interval (`timeInterval`) set to this test's.
 */
function intervalVariables(rangeSeconds: number): Record<string, string> {
  // About one point per 1,000th of the range (Grafana's default resolution), never below a scrape.
  const interval = Math.max(SCRAPE_INTERVAL, Math.ceil(rangeSeconds / 1_000));
  return {
    __interval: `${interval}s`,
    // Grafana's definition: max($__interval + scrape interval, 4 × scrape interval).
    __rate_interval: `${Math.max(interval + SCRAPE_INTERVAL, 4 * SCRAPE_INTERVAL)}s`,
    __range: `${rangeSeconds}s`,
  };
}

describe("opsguard demo → Prometheus → Alertmanager", () => {
  let root: ReturnType<typeof makeTempDir>;
  let receiver: LoggingAlertReceiver;
  let alertmanager: RunningAlertmanager;
  let opsguard: Child;
  let prometheus: RunningPrometheus;
  let postgres: ScratchPostgres | undefined;

  /** Calls opsguard's API with the demo's admin token. */
  const api = (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`http://127.0.0.1:${opsguard.port}${path}`, {
      method,
      headers: { authorization: `Bearer ${opsguard.token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const tradingState = async (): Promise<string> =>
    ((await (await api("GET", "/v1/risk")).json()) as { tradingState: { state: string } }).tradingState.state;
  const setTradingState = async (state: string): Promise<void> => {
    const response = await api("PUT", "/v1/risk/state", { state, reason: "stack e2e test" });
    expect(response.status, await response.text()).toBe(200);
  };
  const query = (promql: string) => prometheus.query(promql);
  const OPEN_PNL = 'opsguard_unrealized_pnl{job="opsguard"}';
  const waitForScrape = () =>
    waitFor("Prometheus to scrape opsguard", async () => (await query('up{job="opsguard"} == 1')).length > 0);

  beforeAll(async () => {
    root = makeTempDir();
    const dataDir = join(root.path, "opsguard");
    mkdirSync(dataDir);
    receiver = await startLoggingAlertReceiver(MAIN, root.path);
    // Firm-wide limits on, in a PostgreSQL of the test's own, so that the Risk dashboard's row
    // about them is charted from a real budget store too.
    postgres = await startPostgres();
    const urlFile = join(root.path, "postgres-url");
    writeFileSync(urlFile, postgres.url, { mode: 0o600 });
    [alertmanager, opsguard] = await Promise.all([
      startAlertmanager(writeAlertmanagerConfig(root.path, receiver.url), root.path),
      // The paper market's seed, explicit: its failures (1% of opens and closes in the demo) are
      // drawn from it, and with 42 the 19th execution fails, seconds into the run.
      // Backups on, as for a user: the demo's first backup, drill and check fill the Maintenance
      // dashboard. So do the security checks, run at start; npm audit would ask the registry.
      startChild(
        dataDir,
        ["demo"],
        {
          OPSGUARD_EXECUTOR_PAPER_SEED: "42",
          OPSGUARD_BACKUP_ENABLED: "true",
          OPSGUARD_SECURITY_SCHEDULE_CHECKS: "29 * * * *",
          OPSGUARD_SECURITY_NPM_AUDIT_ENABLED: "false",
          OPSGUARD_GLOBAL_LIMITS_URL_FILE: urlFile,
          OPSGUARD_GLOBAL_LIMITS_ACCOUNT: "demo",
          OPSGUARD_GLOBAL_LIMITS_MAX_EXPOSURE: "100000000",
        },
        "demo/admin-token",
      ),
    ]);
    prometheus = await startPrometheus({
      dir: root.path,
      targets: { opsguard: `127.0.0.1:${opsguard.port}`, alertmanager: `127.0.0.1:${alertmanager.port}` },
      intervalSeconds: SCRAPE_INTERVAL,
      ruleFiles: { "alerts.yml": writeAlertRules(root.path) },
    });
  }, 40_000);

  afterAll(async () => {
    const stopOpsguard = async (): Promise<void> => {
      if (!opsguard || opsguard.process.exitCode !== null) return;
      opsguard.process.kill("SIGTERM");
      const timer = setTimeout(() => opsguard.process.kill("SIGKILL"), 5_000);
      await opsguard.exited;
      clearTimeout(timer);
    };
    await Promise.all([
      prometheus?.daemon.stop(),
      alertmanager?.daemon.stop(),
      stopOpsguard(),
      receiver?.close(),
    ]);
    postgres?.destroy();
    root?.remove();
  }, 20_000);

  it("has data for every recording rule within seconds", async () => {
    await waitForScrape();
    // Every rule is expected to have data: the demo submits, rejects, fails 1% of executions,
    // wins and loses within seconds, and every window (5m … 3d) needs only two samples.
    const records = recordingRules().map((rule) => rule.record);
    const missing = async (): Promise<string[]> => {
      const empty = await Promise.all(
        records.map(async (name) => ((await query(name)).length === 0 ? name : "")),
      );
      return empty.filter(Boolean);
    };
    const stillMissing = await pollUntilEmpty("every recording rule to have data", missing);
    expect(stillMissing).toEqual([]);
  }, 45_000);

  it("has data for every Prometheus query of every dashboard", async () => {
    await waitForScrape();
    // Each query with the values its dashboard's variables take by default: the one instance,
    // every strategy.
    const queries: { query: FoundQuery; values: Record<string, string> }[] = [];
    for (const dashboard of readDashboards()) {
      const values = await resolvePromqlVariables(dashboard, (selector, label) =>
        prometheus.labelValues(selector, label),
      );
      expect(values.instance, dashboard.uid).toBe(`127.0.0.1:${opsguard.port}`);
      for (const query of dashboardQueries(dashboard))
        if (query.language === "promql") queries.push({ query, values });
    }
    expect(queries.length).toBeGreaterThan(100);
    const known = new Set(queries.map(({ query }) => query.where));
    expect(Object.keys(WITHOUT_DATA).filter((where) => !known.has(where))).toEqual([]);

    // Grafana charts a range and the test polls instant queries: a query passes once one of them
    // has data. What the demo does not do by itself within seconds the test does: a halt (a state
    // change for the annotations and "State changes in range", a firing alert for ALERTS).
    const pending = new Set(queries);
    const unexpected: string[] = [];
    const poll = async (): Promise<string[]> => {
      const variables = intervalVariables(Math.ceil((Date.now() - prometheus.startedAt) / 1_000));
      await Promise.all(
        [...pending].map(async (entry) => {
          const promql = interpolate(entry.query.expr, { ...entry.values, ...variables });
          if ((await query(promql)).length === 0) return;
          pending.delete(entry);
          if (WITHOUT_DATA[entry.query.where]?.stayEmpty) unexpected.push(`${entry.query.where}: ${promql}`);
        }),
      );
      return [...pending]
        .filter(({ query }) => !(query.where in WITHOUT_DATA))
        .map(({ query, values }) => `${query.where}: ${interpolate(query.expr, values)}`);
    };
    // A halt makes the state-change panels and the ALERTS queries have data; increase() sees it
    // against the 0 every state-change series starts at. (The "active" first is for a demo that
    // has just halted by itself.)
    await setTradingState("active");
    // Unrealized P&L exists only while operations are open: chart it while the demo trades, as
    // the halt below stops new operations and the open ones close at their exits within seconds.
    await waitFor("a scrape with open operations", async () => (await query(OPEN_PNL)).length > 0);
    await poll();
    await setTradingState("halted");
    const empty = await pollUntilEmpty("every dashboard query to have data", poll, {
      timeoutMs: 20_000,
    }).finally(() => setTradingState("active"));
    expect(empty).toEqual([]);
    expect(unexpected, "listed in WITHOUT_DATA to stay empty, yet they have data").toEqual([]);
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

    // 1. The halt reaches the pager through the stack's receiver, as one log line with the labels
    // and annotations of the rule.
    const isOurHalt = (line: AlertLine): boolean =>
      line.alertname === "OpsguardTradingHalted" &&
      line.status === "firing" &&
      Date.parse(line.startsAt) >= haltedAt - 2_000;
    const notified = await waitFor("OpsguardTradingHalted to reach the receiver's log", () =>
      receiver.lines.find(isOurHalt),
    );
    expect(notified).toMatchObject({
      level: "warn",
      service: "opsguard-alert-receiver",
      path: "oncall-pager",
      receiver: "oncall-pager",
      msg: expect.stringMatching(/^alert firing: OpsguardTradingHalted on 127\.0\.0\.1:/),
    });
    expect(notified.labels).toMatchObject({
      severity: "page",
      service: "opsguard",
      job: "opsguard",
      state: "halted",
    });
    expect(notified.summary).toBe("Trading is halted");
    expect(notified.description).toContain(`127.0.0.1:${opsguard.port} is halted`);
    expect(notified.runbookUrl).toBe(
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
      `${INHIBITED_ALERT}{reason="UNKNOWN_PATTERN"} to reach Alertmanager and be suppressed`,
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
        // Alertmanager's inhibitor learns of alerts asynchronously: when the halt and this alert
        // arrive in one batch, the list can show this one a moment before its inhibition.
        return found?.status.state === "suppressed" && found;
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
    const leaked = receiver.lines.filter(
      (line) => line.alertname === INHIBITED_ALERT && line.labels.reason === "UNKNOWN_PATTERN",
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
