import { afterEach, describe, expect, it } from "vitest";
import { ScriptedExecutor, startTestApp, submitBody, type TestApp } from "../../tests/harness.js";
import { ExecutionError } from "../execution/executor.js";
import { ManualClock } from "../platform/clock.js";

/** Executions whose answer never came: they may or may not have happened at the venue. */
describe("unconfirmed executions", () => {
  let t: TestApp;
  let clock: ManualClock;
  let executor: ScriptedExecutor;
  afterEach(() => t.close());

  async function setup(): Promise<void> {
    clock = new ManualClock(Date.now());
    executor = new ScriptedExecutor(undefined, clock);
    t = await startTestApp({}, { executor, clock });
  }
  const get = async (id: string) =>
    (await (await t.call("GET", `/v1/operations/${id}`)).json()) as Record<string, unknown>;
  const lostAnswer = () => new ExecutionError("no answer within 2000 ms", "unknown");

  it("keeps an unconfirmed open pending, answers 504, and opens it once the venue confirms", async () => {
    await setup();
    executor.loseAnswerWith = lostAnswer();
    const body = submitBody();
    const res = await t.call("POST", "/v1/operations", { body });
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ code: "EXECUTION_UNCONFIRMED" });
    executor.loseAnswerWith = undefined;

    // A retry with the same clientId tells the client where it stands, without executing again.
    const replay = await t.call("POST", "/v1/operations", { body });
    expect(replay.status).toBe(200);
    const { id } = (await replay.json()) as { id: string; status: string };
    expect(await get(id)).toMatchObject({ status: "pending" });
    expect(t.app.ledger.view().exposureTotal).toBe(650_000n); // still reserved

    await t.app.supervisor.tick(); // within the grace period: a request may still be landing
    expect(await get(id)).toMatchObject({ status: "pending" });
    clock.advance(t.config.executor.reconcileAfterMs);
    await t.app.supervisor.tick();
    expect(await get(id)).toMatchObject({ status: "open", entryPrice: "65000.00" });
    expect(executor.count("open")).toBe(1);
    expect(t.app.service.open.has(id)).toBe(true);
  });

  it("marks an unconfirmed open failed when the venue never saw it, and frees its exposure", async () => {
    await setup();
    executor.failWith = lostAnswer();
    const res = await t.call("POST", "/v1/operations", { body: submitBody() });
    expect(res.status).toBe(504);
    executor.failWith = undefined;
    const [op] = ((await (await t.call("GET", "/v1/operations")).json()) as { items: { id: string }[] })
      .items;
    clock.advance(t.config.executor.reconcileAfterMs);
    await t.app.supervisor.tick();
    expect(await get(op!.id)).toMatchObject({ status: "failed" });
    expect(t.app.ledger.view().exposureTotal).toBe(0n);
    const failed = await t.app.registry.getSingleMetricAsString("opsguard_operations_failed_total");
    expect(failed).toContain('opsguard_operations_failed_total{strategy="trend-follow",stage="reconcile"} 1');
  });

  it("keeps the close request of an unconfirmed close and books it once on reconciliation", async () => {
    await setup();
    const { id } = (await (
      await t.call("POST", "/v1/operations", { body: submitBody({ size: "0.5" }) })
    ).json()) as {
      id: string;
    };
    executor.setPrice("BTC-USD", 6_510_000n);
    executor.loseAnswerWith = lostAnswer();
    const res = await t.call("POST", `/v1/operations/${id}/close`);
    expect(res.status).toBe(504);
    executor.loseAnswerWith = undefined;
    expect(await get(id)).toMatchObject({ status: "open" });

    executor.setPrice("BTC-USD", 6_000_000n); // far below any stop: the supervisor must not act twice
    clock.advance(t.config.executor.reconcileAfterMs);
    await t.app.supervisor.tick();
    // Booked at the venue's fill, not at the price when it was reconciled.
    expect(await get(id)).toMatchObject({ status: "closed", closeReason: "manual", pnl: "50.00" });
    expect(t.app.ledger.equity).toBe(100_050_00n);
    const closed = await t.app.registry.getSingleMetricAsString("opsguard_operations_closed_total");
    expect(closed).toContain('result="win",close_reason="manual"} 1');
  });
});
