import { afterEach, describe, expect, it } from "vitest";
import { countTurns, ScriptedExecutor, startTestApp, submitBody, type TestApp } from "../../tests/harness.js";
import { waitFor } from "../../tests/stack/tools.js";
import type { ConfigInput } from "../config/schema.js";
import { ManualClock } from "../platform/clock.js";

describe("Supervisor", () => {
  let t: TestApp;
  afterEach(() => t.close());

  async function setup(input: ConfigInput = {}) {
    const clock = new ManualClock(Date.now());
    const executor = new ScriptedExecutor(undefined, clock);
    t = await startTestApp(input, { executor, clock });
    const submit = async (body: Record<string, unknown>) =>
      (
        (await (await t.call("POST", "/v1/operations", { body: submitBody(body) })).json()) as {
          id: string;
          status: string;
        }
      ).id;
    const get = async (id: string) =>
      (await (await t.call("GET", `/v1/operations/${id}`)).json()) as Record<string, unknown>;
    return { clock, executor, submit, get };
  }

  it("closes a long at its stop-loss and a short at its take-profit", async () => {
    const { executor, submit, get } = await setup();
    const long = await submit({ side: "buy", stopLoss: "64000", takeProfit: "66000" });
    const short = await submit({ side: "sell", stopLoss: "66000", takeProfit: "64500" });
    executor.setPrice("BTC-USD", 6_450_000n);
    await t.app.supervisor.tick();
    expect(await get(long)).toMatchObject({ status: "open" });
    expect(await get(short)).toMatchObject({ status: "closed", closeReason: "take_profit", pnl: "50.00" });
    executor.setPrice("BTC-USD", 6_400_000n); // exactly the stop
    await t.app.supervisor.tick();
    expect(await get(long)).toMatchObject({ status: "closed", closeReason: "stop_loss", pnl: "-100.00" });
    const interventions = await t.app.registry.getSingleMetricAsString("opsguard_interventions_total");
    expect(interventions).toContain('opsguard_interventions_total{reason="take_profit"} 1');
    expect(interventions).toContain('opsguard_interventions_total{reason="stop_loss"} 1');
  });

  it("closes at the time limit and not a moment before", async () => {
    const { clock, submit, get } = await setup();
    const id = await submit({ maxDurationSec: 30 });
    clock.advance(29_999);
    await t.app.supervisor.tick();
    expect(await get(id)).toMatchObject({ status: "open" });
    clock.advance(1);
    await t.app.supervisor.tick();
    expect(await get(id)).toMatchObject({ status: "closed", closeReason: "timeout" });
  });

  it("values open operations at the last price", async () => {
    const { executor, submit } = await setup();
    await submit({ side: "buy", size: "0.5" });
    await submit({ side: "sell", size: "0.2", instrument: "ETH-USD" });
    executor.setPrice("BTC-USD", 6_520_000n); // +200 × 0.5 = +100
    executor.setPrice("ETH-USD", 321_000n); // short, +10 × 0.2 = −2
    await t.app.supervisor.tick();
    expect(t.app.supervisor.unrealized.get("BTC-USD")).toBe(100);
    expect(t.app.supervisor.unrealized.get("ETH-USD")).toBe(-2);
    const gauge = await t.app.registry.getSingleMetricAsString("opsguard_unrealized_pnl");
    expect(gauge).toContain('opsguard_unrealized_pnl{instrument="BTC-USD"} 100');

    // Once an instrument has nothing open, its value goes rather than lingering.
    const open = (
      (await (await t.call("GET", "/v1/operations?instrument=BTC-USD")).json()) as { items: { id: string }[] }
    ).items;
    for (const { id } of open) await t.call("POST", `/v1/operations/${id}/close`);
    await t.app.supervisor.tick();
    const after = await t.app.registry.getSingleMetricAsString("opsguard_unrealized_pnl");
    expect(after).not.toContain('instrument="BTC-USD"');
    expect(after).toContain('opsguard_unrealized_pnl{instrument="ETH-USD"} -2');
  });

  it("values a large book in slices, giving the event loop turns between them", async () => {
    const { executor, submit } = await setup();
    const id = await submit({ side: "buy", size: "0.5" });
    const op = t.app.service.open.get(id)!;
    for (let i = 0; i < 4_999; i++) t.app.service.open.set(`${id}-${i}`, { ...op, id: `${id}-${i}` });
    executor.setPrice("BTC-USD", 6_520_000n); // +200 × 0.5 = +100 each
    const loop = countTurns();
    await t.app.supervisor.tick();
    loop.stop();
    expect(t.app.supervisor.unrealized.get("BTC-USD")).toBe(500_000);
    expect(loop.turns).toBeGreaterThanOrEqual(2); // 5,000 checks in three slices
    for (let i = 0; i < 4_999; i++) t.app.service.open.delete(`${id}-${i}`);
  });

  /** Submits 100 operations with a time limit of a second, and lets it pass. */
  async function hundredDue() {
    const { clock, executor, submit } = await setup({
      risk: { maxSubmitRate: { perSecond: 1000, burst: 1000 } },
    });
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) ids.push(await submit({ size: "0.01", maxDurationSec: 1 }));
    clock.advance(2_000);
    return { ids, executor };
  }

  it("starts five closes a turn of the event loop, and each operation's close once", async () => {
    const { ids } = await hundredDue();
    const loop = countTurns();
    const startedIn = new Map<number, number>();
    const started = new Map<string, number>();
    const close = t.app.service.close.bind(t.app.service);
    t.app.service.close = (id, reason, actor) => {
      startedIn.set(loop.turns, (startedIn.get(loop.turns) ?? 0) + 1);
      started.set(id, (started.get(id) ?? 0) + 1);
      return close(id, reason, actor);
    };
    // A second tick while the first one's closes wait for their turn.
    await Promise.all([t.app.supervisor.tick(), t.app.supervisor.tick()]);
    loop.stop();
    expect([...started.keys()].sort()).toEqual([...ids].sort());
    expect(Math.max(...started.values())).toBe(1);
    // Five a turn rather than twenty or all 100 at once: their writes and bookings run in short
    // pieces, with a poll for requests between them.
    expect(Math.max(...startedIn.values())).toBe(5);
    expect(startedIn.size).toBeGreaterThanOrEqual(20);
    expect(t.app.service.open.size).toBe(0);
  });

  it("keeps twenty closes waiting for a venue that answers slowly, and no more", async () => {
    const { executor } = await hundredDue();
    let answer!: () => void;
    executor.gate = new Promise((resolve) => (answer = resolve));
    const closesSent = () => executor.calls.filter((c) => c.action === "close").length;
    const tick = t.app.supervisor.tick();
    await waitFor("twenty closes at the venue", () => closesSent() >= 20, { intervalMs: 5 });
    // Later turns start nothing more while all twenty wait at the venue.
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(closesSent()).toBe(20);
    answer();
    await tick;
    expect(closesSent()).toBe(100);
    expect(t.app.service.open.size).toBe(0);
  });

  it("books the supervisor's closes into P&L and pattern accuracy", async () => {
    const { executor, submit } = await setup();
    await submit({ side: "buy", takeProfit: "65100", pattern: "double-bottom" });
    await submit({ side: "buy", stopLoss: "64900", pattern: "range-break", instrument: "BTC-USD" });
    executor.setPrice("BTC-USD", 6_510_000n);
    await t.app.supervisor.tick();
    executor.setPrice("BTC-USD", 6_490_000n);
    await t.app.supervisor.tick();
    const patterns = await t.app.registry.getSingleMetricAsString("opsguard_pattern_predictions_total");
    expect(patterns).toContain('opsguard_pattern_predictions_total{pattern="double-bottom",result="hit"} 1');
    expect(patterns).toContain('opsguard_pattern_predictions_total{pattern="range-break",result="miss"} 1');
    const profit = await t.app.registry.getSingleMetricAsString("opsguard_profit_total");
    expect(profit).toContain('opsguard_profit_total{strategy="trend-follow",instrument="BTC-USD"} 10');
    const loss = await t.app.registry.getSingleMetricAsString("opsguard_loss_total");
    expect(loss).toContain('opsguard_loss_total{strategy="trend-follow",instrument="BTC-USD"} 10');
  });

  it("keeps checking the other operations while a close hangs at the executor", async () => {
    const { executor, submit, get } = await setup({ supervisor: { monitorIntervalMs: 10 } });
    const long = await submit({ side: "buy", stopLoss: "64000" });
    const short = await submit({ side: "sell", stopLoss: "66000" });
    const closeOf = (id: string) => () =>
      executor.calls.some((c) => c.action === "close" && c.operationId === id);
    let answer!: () => void;
    executor.gate = new Promise((resolve) => (answer = resolve));
    executor.setPrice("BTC-USD", 6_390_000n); // the long's stop: its close waits at the executor
    t.app.supervisor.start();
    await waitFor("the long's close to be under way", closeOf(long), { intervalMs: 5 });
    executor.setPrice("BTC-USD", 6_610_000n); // now the short's stop, while the long's close hangs
    await waitFor("the short's close to start as well", closeOf(short), { timeoutMs: 2_000, intervalMs: 5 });
    answer();
    await t.app.supervisor.stop();
    expect(await get(long)).toMatchObject({ status: "closed", closeReason: "stop_loss" });
    expect(await get(short)).toMatchObject({ status: "closed", closeReason: "stop_loss" });
  });
});
