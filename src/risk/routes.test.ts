import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ScriptedExecutor, startTestApp, submitBody, type TestApp } from "../../tests/harness.js";

interface RiskBody {
  tradingState: { state: string; reason: string };
  equity: string;
  dailyLoss: string;
  limits: Record<string, unknown>;
  usage: {
    dailyOperations: number;
    exposureTotal: string;
    exposureByInstrument: Record<string, string>;
    openOperations: number;
  };
  utilization: Record<string, number>;
}

describe("GET /v1/risk", () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp({}, { executor: new ScriptedExecutor() });
  });
  afterEach(() => t.close());

  it("shows limits, usage and the trading state", async () => {
    await t.call("POST", "/v1/operations", { body: submitBody({ size: "0.5" }) });
    const res = await t.call("GET", "/v1/risk", { role: "viewer" });
    expect(res.status).toBe(200);
    const risk = (await res.json()) as RiskBody;
    expect(risk.tradingState.state).toBe("active");
    expect(risk.equity).toBe("100000.00");
    expect(risk.limits).toMatchObject({ maxNotionalPerOperation: "50000.00", maxDailyLoss: "5000.00" });
    expect(risk.usage).toMatchObject({ dailyOperations: 1, exposureTotal: "32500.00", openOperations: 1 });
    expect(risk.usage.exposureByInstrument["BTC-USD"]).toBe("32500.00");
    expect(risk.utilization.exposure_total).toBeCloseTo(32500 / 250000, 6);
  });

  it("needs a token", async () => {
    expect((await t.call("GET", "/v1/risk", { role: null })).status).toBe(401);
  });
});

describe("PUT /v1/risk/state", () => {
  let t: TestApp;
  let executor: ScriptedExecutor;
  beforeEach(async () => {
    executor = new ScriptedExecutor();
    t = await startTestApp({}, { executor });
  });
  afterEach(() => t.close());

  it("halts: new operations are rejected with TRADING_HALTED, and the change is audited", async () => {
    const res = await t.call("PUT", "/v1/risk/state", { body: { state: "halted", reason: "venue outage" } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ state: "halted", reason: "venue outage" });
    const rejected = await t.call("POST", "/v1/operations", { body: submitBody() });
    expect(rejected.status).toBe(422);
    expect(JSON.stringify(await rejected.json())).toContain("TRADING_HALTED");
    const entry = t.app.audit.list({ limit: 100 }).find((e) => e.action === "trading.state");
    expect(entry).toMatchObject({ target: "halted" });
    expect(entry!.details).toMatchObject({ from: "active", reason: "venue outage", trigger: "manual" });
    const metric = await t.app.registry.getSingleMetricAsString("opsguard_trading_state");
    expect(metric).toContain('opsguard_trading_state{state="halted"} 1');
    expect(metric).toContain('opsguard_trading_state{state="active"} 0');
  });

  it("reducing allows closes but not new operations", async () => {
    const op = (await (await t.call("POST", "/v1/operations", { body: submitBody() })).json()) as {
      id: string;
    };
    await t.call("PUT", "/v1/risk/state", { body: { state: "reducing", reason: "end of day" } });
    const rejected = await t.call("POST", "/v1/operations", { body: submitBody() });
    expect(JSON.stringify(await rejected.json())).toContain("TRADING_REDUCING");
    expect((await t.call("POST", `/v1/operations/${op.id}/close`)).status).toBe(200);
  });

  it("halting with flatten closes every open operation with reason halt; resuming allows new ones", async () => {
    const ids = await Promise.all(
      ["BTC-USD", "ETH-USD"].map(async (instrument) => {
        const res = await t.call("POST", "/v1/operations", { body: submitBody({ instrument, size: "0.5" }) });
        expect(res.status).toBe(201);
        return ((await res.json()) as { id: string }).id;
      }),
    );
    await t.call("PUT", "/v1/risk/state", {
      body: { state: "halted", reason: "kill switch", flatten: true },
    });
    for (const id of ids) {
      expect(await (await t.call("GET", `/v1/operations/${id}`)).json()).toMatchObject({
        status: "closed",
        closeReason: "halt",
      });
    }
    await t.call("PUT", "/v1/risk/state", { body: { state: "active", reason: "all clear" } });
    expect((await t.call("POST", "/v1/operations", { body: submitBody() })).status).toBe(201);
  });

  it("halts by itself when the daily loss limit is crossed", async () => {
    await t.close();
    executor = new ScriptedExecutor();
    t = await startTestApp(
      { risk: { maxDailyLoss: "100", maxNotionalPerOperation: "100000" } },
      { executor },
    );
    const op = (await (
      await t.call("POST", "/v1/operations", { body: submitBody({ size: "1" }) })
    ).json()) as { id: string };
    executor.setPrice("BTC-USD", 6_489_999n); // −100.01
    await t.call("POST", `/v1/operations/${op.id}/close`);
    await new Promise((resolve) => setImmediate(resolve));
    const risk = (await (await t.call("GET", "/v1/risk")).json()) as RiskBody;
    expect(risk.dailyLoss).toBe("100.01");
    expect(risk.tradingState.state).toBe("halted");
    expect(risk.tradingState.reason).toContain("DAILY_LOSS_EXCEEDED");
    // Resuming acknowledges the loss: the daily count starts again.
    await t.call("PUT", "/v1/risk/state", { body: { state: "active", reason: "reviewed" } });
    expect((await t.call("POST", "/v1/operations", { body: submitBody() })).status).toBe(201);
  });

  it("does not halt at exactly the daily loss limit", async () => {
    await t.close();
    executor = new ScriptedExecutor();
    t = await startTestApp(
      { risk: { maxDailyLoss: "100", maxNotionalPerOperation: "100000" } },
      { executor },
    );
    const op = (await (
      await t.call("POST", "/v1/operations", { body: submitBody({ size: "1" }) })
    ).json()) as { id: string };
    executor.setPrice("BTC-USD", 6_490_000n); // −100.00
    await t.call("POST", `/v1/operations/${op.id}/close`);
    await new Promise((resolve) => setImmediate(resolve));
    expect(((await (await t.call("GET", "/v1/risk")).json()) as RiskBody).tradingState.state).toBe("active");
  });

  it("rejects a bad state with 400 and weaker roles with 403", async () => {
    expect((await t.call("PUT", "/v1/risk/state", { body: { state: "paused", reason: "x" } })).status).toBe(
      400,
    );
    expect((await t.call("PUT", "/v1/risk/state", { body: { state: "halted" } })).status).toBe(400);
    expect(
      (await t.call("PUT", "/v1/risk/state", { role: "operator", body: { state: "halted", reason: "x" } }))
        .status,
    ).toBe(403);
    expect(
      (await t.call("PUT", "/v1/risk/state", { role: null, body: { state: "halted", reason: "x" } })).status,
    ).toBe(401);
    expect(t.app.ledger.tradingState).toBe("active");
  });
});
