import { describe, expect, it } from "vitest";
import { capturingLogger } from "../platform/logger.fixture.js";
import { alertReceiverRoutes, MAX_NOTIFICATION_BYTES } from "./receiver.js";

/** A notification as Alertmanager 0.27 sends it to a webhook (version 4). */
const NOTIFICATION = {
  version: "4",
  groupKey: '{}/{severity="page"}:{alertname="OpsguardTradingHalted"}',
  truncatedAlerts: 0,
  status: "firing",
  receiver: "oncall-pager",
  groupLabels: { alertname: "OpsguardTradingHalted" },
  commonLabels: { alertname: "OpsguardTradingHalted", severity: "page" },
  commonAnnotations: {},
  externalURL: "http://alertmanager:9093",
  alerts: [
    {
      status: "firing",
      labels: {
        alertname: "OpsguardTradingHalted",
        instance: "opsguard:8080",
        severity: "page",
        service: "opsguard",
      },
      annotations: {
        summary: "Trading is halted",
        description: "opsguard:8080 refuses every new operation.",
        runbook_url: "https://github.com/opsguard/opsguard/blob/main/docs/runbook.md#opsguardtradinghalted",
      },
      startsAt: "2026-12-01T10:00:00.000Z",
      endsAt: "0001-01-01T00:00:00Z",
      generatorURL: "http://prometheus:9090/graph",
      fingerprint: "1a2b3c4d5e6f7a8b",
    },
    {
      status: "resolved",
      labels: { alertname: "OpsguardDailyLossNearLimit", severity: "page" },
      annotations: { summary: "Daily loss near its limit" },
      startsAt: "2026-12-01T09:00:00.000Z",
      endsAt: "2026-12-01T09:30:00.000Z",
      fingerprint: "0f0e0d0c0b0a0908",
    },
  ],
};

function setup() {
  const captured = capturingLogger();
  const http = alertReceiverRoutes(captured.logger);
  const post = (body: string, path = "/oncall-pager") =>
    http.request(path, { method: "POST", headers: { "content-type": "application/json" }, body });
  return { ...captured, post, http };
}

describe("the alert receiver", () => {
  it("writes one line per alert, firing as a warning and resolved as info, with what a person needs", async () => {
    const { post, lines } = setup();
    const res = await post(JSON.stringify(NOTIFICATION));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: 2 });
    const alerts = lines.filter((line) => line.event === "alert.notification");
    expect(alerts).toHaveLength(2);
    expect(alerts[0]).toMatchObject({
      level: "warn",
      msg: "alert firing: OpsguardTradingHalted on opsguard:8080",
      receiver: "oncall-pager",
      path: "oncall-pager",
      status: "firing",
      alertname: "OpsguardTradingHalted",
      severity: "page",
      instance: "opsguard:8080",
      summary: "Trading is halted",
      runbookUrl: expect.stringContaining("#opsguardtradinghalted"),
      startsAt: "2026-12-01T10:00:00.000Z",
      fingerprint: "1a2b3c4d5e6f7a8b",
    });
    expect(alerts[0]!.endsAt).toBeUndefined(); // a firing alert has not ended
    expect(alerts[1]).toMatchObject({
      level: "info",
      msg: "alert resolved: OpsguardDailyLossNearLimit",
      status: "resolved",
      endsAt: "2026-12-01T09:30:00.000Z",
    });
  });

  it("says so when Alertmanager left alerts out of a notification", async () => {
    const { post, lines } = setup();
    expect((await post(JSON.stringify({ ...NOTIFICATION, truncatedAlerts: 3 }))).status).toBe(200);
    expect(lines.find((line) => line.event === "alert.notification_truncated")).toMatchObject({
      truncated: 3,
    });
  });

  it("answers 400 naming what is wrong, and logs no alert, for a body that is not a notification", async () => {
    const { post, lines } = setup();
    const notJson = await post("{not json");
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toEqual({ error: "the body is not JSON" });
    const wrong = await post(
      JSON.stringify({ ...NOTIFICATION, alerts: [{ status: "burning", labels: {} }] }),
    );
    expect(wrong.status).toBe(400);
    const { problems } = (await wrong.json()) as { problems: string[] };
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^alerts\.0\.status: /),
        expect.stringMatching(/^alerts\.0\.startsAt: /),
      ]),
    );
    expect(lines.filter((line) => line.event === "alert.notification")).toEqual([]);
  });

  it("refuses a body over its limit with 413 before reading it", async () => {
    const { post } = setup();
    const res = await post(JSON.stringify({ ...NOTIFICATION, padding: "x".repeat(MAX_NOTIFICATION_BYTES) }));
    expect(res.status).toBe(413);
  });

  it("answers its health check", async () => {
    const { http } = setup();
    expect((await http.request("/healthz")).status).toBe(200);
  });
});
