import { rmSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { createApp, type OpsguardApp } from "../src/app.js";
import type { ConfigInput } from "../src/config/schema.js";
import { ManualClock } from "../src/platform/clock.js";
import { createSilentLogger } from "../src/platform/logger.js";
import { startTestApp, submitBody, type TestApp } from "./harness.js";
import { VenueBridge } from "./venue-bridge.js";

/**
 * A close the venue executed but whose answer opsguard lost, followed by retries that the bridge
 * refuses (it is down, or busy): through every path that closes, the operation must end closed
 * at the venue's fill, booked exactly once, and never be left open for good.
 */
describe("a close whose answer was lost", () => {
  let t: TestApp | undefined;
  let bridge: VenueBridge;
  let clock: ManualClock;
  afterEach(async () => {
    await t?.close();
    t = undefined;
    await bridge.down();
  });

  const webhookConfig = (url: string): ConfigInput => ({
    executor: { type: "webhook", webhook: { url, timeoutMs: 300, retries: 1, backoffMs: 1 } },
  });

  async function setup(): Promise<TestApp> {
    bridge = await new VenueBridge().up();
    clock = new ManualClock(Date.now());
    t = await startTestApp(webhookConfig(bridge.url), { clock });
    return t;
  }

  async function submit(app: TestApp, body: Record<string, unknown> = {}): Promise<string> {
    const res = await app.call("POST", "/v1/operations", { body: submitBody({ size: "0.5", ...body }) });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }
  const get = async (app: TestApp, id: string) =>
    (await (await app.call("GET", `/v1/operations/${id}`)).json()) as Record<string, unknown>;
  const metric = (app: OpsguardApp, name: string) => app.registry.getSingleMetricAsString(name);

  /** Refused retries: the bridge is down (connections refused) or answers 503 "not now". */
  async function refuseRetries(how: "down" | "busy"): Promise<void> {
    if (how === "down") await bridge.down();
    else bridge.fault("close", { fault: "busy" });
  }
  async function stopRefusing(how: "down" | "busy"): Promise<void> {
    if (how === "down") await bridge.up();
    else bridge.fault("close", undefined);
  }

  /** Retries a close: the answer must say the close is unconfirmed, never that it failed. */
  async function retryClose(app: TestApp, id: string): Promise<void> {
    const res = await app.call("POST", `/v1/operations/${id}/close`);
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ code: "EXECUTION_UNCONFIRMED", operationId: id });
    expect(await get(app, id)).toMatchObject({ status: "open" });
  }

  /** Lets the reconciliation window pass and runs the supervisor once. */
  async function reconcile(app: TestApp): Promise<void> {
    await app.app.supervisor.tick(); // within the window nothing is asked
    clock.advance(app.config.executor.reconcileAfterMs);
    await app.app.supervisor.tick();
  }

  async function expectBookedOnce(app: OpsguardApp, pnl: string, count = 1): Promise<void> {
    const total = (await app.metrics.operationsClosed.get()).values.reduce((sum, v) => sum + v.value, 0);
    expect(total).toBe(count);
    expect(app.ledger.equity).toBe(100_000_00n + BigInt(Math.round(Number(pnl) * 100)));
    expect(await metric(app, "opsguard_executions_unconfirmed")).toContain(
      'opsguard_executions_unconfirmed{stage="close"} 0',
    );
  }

  for (const how of ["down", "busy"] as const) {
    it(`manual close: retries refused (${how}), then booked at the venue's fill`, async () => {
      const app = await setup();
      const id = await submit(app);
      bridge.setPrice("BTC-USD", "65100.00");
      bridge.fault("close", { fault: "lost" });
      const first = await app.call("POST", `/v1/operations/${id}/close`);
      expect(first.status).toBe(504);
      expect(await first.json()).toMatchObject({ code: "EXECUTION_UNCONFIRMED", operationId: id });
      expect(bridge.state(id)).toMatchObject({ state: "closed", exit: { price: "65100.00" } });

      bridge.setPrice("BTC-USD", "64000.00"); // the market moves on: the booking must not follow it
      await refuseRetries(how);
      await retryClose(app, id);
      await retryClose(app, id);
      expect(await metric(app.app, "opsguard_executions_unconfirmed")).toContain(
        'opsguard_executions_unconfirmed{stage="close"} 1',
      );
      await stopRefusing(how);

      await reconcile(app);
      expect(await get(app, id)).toMatchObject({
        status: "closed",
        closeReason: "manual",
        exitPrice: "65100.00",
        pnl: "50.00",
      });
      await expectBookedOnce(app.app, "50.00");
      expect(await metric(app.app, "opsguard_reconciliations_total")).toContain(
        'opsguard_reconciliations_total{outcome="closed"} 1',
      );
    });
  }

  it("a close the bridge refuses outright: 502 with the operation's id as a field, still open", async () => {
    const app = await setup();
    const id = await submit(app);
    bridge.fault("close", { fault: "busy" }); // 503 "not now": certainly not executed
    const res = await app.call("POST", `/v1/operations/${id}/close`);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ code: "EXECUTION_FAILED", operationId: id });
    expect(await get(app, id)).toMatchObject({ status: "open" });
  });

  it("supervisor close at a stop-loss: a refused retry by the client does not drop it", async () => {
    const app = await setup();
    const id = await submit(app, { stopLoss: "64500" });
    bridge.setPrice("BTC-USD", "64400.00");
    bridge.fault("close", { fault: "lost" });
    await app.app.supervisor.tick();
    expect(bridge.state(id)).toMatchObject({ state: "closed", exit: { price: "64400.00" } });
    expect(await get(app, id)).toMatchObject({ status: "open" });

    await bridge.down();
    await retryClose(app, id);
    bridge.setPrice("BTC-USD", "63000.00");
    await bridge.up();
    await reconcile(app);
    expect(await get(app, id)).toMatchObject({
      status: "closed",
      closeReason: "stop_loss",
      exitPrice: "64400.00",
      pnl: "-300.00",
    });
    await expectBookedOnce(app.app, "-300.00");
    expect(await metric(app.app, "opsguard_interventions_total")).toContain(
      'opsguard_interventions_total{reason="stop_loss"} 1',
    );
  });

  it("a client's retry that gets the answer books the supervisor's close as its intervention", async () => {
    const app = await setup();
    const id = await submit(app, { takeProfit: "65500" });
    bridge.setPrice("BTC-USD", "65600.00");
    bridge.fault("close", { fault: "lost", times: 2 });
    await app.app.supervisor.tick();
    const retry = await app.call("POST", `/v1/operations/${id}/close`);
    expect(retry.status).toBe(200);
    expect(await retry.json()).toMatchObject({ status: "closed", closeReason: "take_profit", pnl: "300.00" });
    expect(await metric(app.app, "opsguard_interventions_total")).toContain(
      'opsguard_interventions_total{reason="take_profit"} 1',
    );
    await expectBookedOnce(app.app, "300.00");
  });

  it("halt with flatten: a second flatten refused by a down bridge keeps every close", async () => {
    const app = await setup();
    const ids = [await submit(app), await submit(app, { instrument: "ETH-USD", size: "2" })];
    bridge.setPrice("BTC-USD", "65200.00");
    bridge.setPrice("ETH-USD", "3190.00");
    bridge.fault("close", { fault: "lost" });
    const halt = { state: "halted", reason: "venue incident", flatten: true };
    expect((await app.call("PUT", "/v1/risk/state", { body: halt })).status).toBe(200);
    for (const id of ids) expect(bridge.state(id)).toMatchObject({ state: "closed" });

    await bridge.down();
    expect((await app.call("PUT", "/v1/risk/state", { body: halt })).status).toBe(200);
    for (const id of ids) expect(await get(app, id)).toMatchObject({ status: "open" });
    await bridge.up();
    await reconcile(app);
    expect(await get(app, ids[0]!)).toMatchObject({ status: "closed", closeReason: "halt", pnl: "100.00" });
    expect(await get(app, ids[1]!)).toMatchObject({ status: "closed", closeReason: "halt", pnl: "-20.00" });
    await expectBookedOnce(app.app, "80.00", 2);
  });

  it("restart: the status check fails, the client's retry is refused, and it is still booked", async () => {
    const app = await setup();
    const id = await submit(app);
    bridge.setPrice("BTC-USD", "65300.00");
    bridge.fault("close", { fault: "lost" });
    expect((await app.call("POST", `/v1/operations/${id}/close`)).status).toBe(504);
    await app.app.stop(); // what is on disk is what a kill -9 leaves: the close request is durable

    // The next process: its first status check gets a 500, and the bridge refuses the client's retry.
    bridge.fault("status", { fault: "error", times: 2 });
    const second = createApp(app.config, { clock, logger: createSilentLogger(), runtimeMetrics: false });
    const token = second.tokens.create("operator", "after-restart").token;
    await second.start();
    try {
      expect(second.ready).toBe(true);
      expect(await metric(second, "opsguard_reconciliations_total")).toContain(
        'opsguard_reconciliations_total{outcome="deferred"} 1',
      );
      bridge.fault("close", { fault: "busy" });
      const retry = await second.http.request(`/v1/operations/${id}/close`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
      });
      expect(retry.status).toBe(504);
      expect(await retry.json()).toMatchObject({ code: "EXECUTION_UNCONFIRMED", operationId: id });
      expect(second.service.open.get(id)?.closeRequestedAt).not.toBeNull();
      bridge.fault("close", undefined);
      clock.advance(app.config.executor.reconcileAfterMs);
      await second.supervisor.tick();
      const row = await second.http.request(`/v1/operations/${id}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(await row.json()).toMatchObject({
        status: "closed",
        closeReason: "manual",
        exitPrice: "65300.00",
      });
      expect(second.ledger.equity).toBe(100_000_00n + 150_00n);
      const total = (await second.metrics.operationsClosed.get()).values.reduce((sum, v) => sum + v.value, 0);
      expect(total).toBe(1);
    } finally {
      await second.stop();
      rmSync(app.config.dataDir, { recursive: true, force: true });
      t = undefined;
    }
  });
});
