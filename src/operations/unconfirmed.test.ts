import { afterEach, describe, expect, it } from "vitest";
import { ScriptedExecutor, startTestApp, submitBody, type TestApp } from "../../tests/harness.js";
import {
  ExecutionError,
  type ExecutionStatus,
  type Executor,
  type Fill,
  type OrderRequest,
} from "../execution/executor.js";
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
  /** The events recorded about an operation: kind, and the operation's status they show. */
  const eventsOf = (id: string): [string, string][] =>
    t.app.events
      .readAfter(0, 1_000)
      .filter((e) => e.operationId === id)
      .map((e) => [e.kind, (JSON.parse(e.data) as { operation: { status: string } }).operation.status]);
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
    // Still reserved, at the most the buy may pay: 0.1 × 65000 × (1 + 0.5%).
    expect(t.app.ledger.view().exposureTotal).toBe(653_250n);

    await t.app.supervisor.tick(); // within the grace period: a request may still be landing
    expect(await get(id)).toMatchObject({ status: "pending" });
    clock.advance(t.config.executor.reconcileAfterMs);
    await t.app.supervisor.tick();
    expect(await get(id)).toMatchObject({ status: "open", entryPrice: "65000.00" });
    expect(executor.count("open")).toBe(1);
    expect(t.app.service.open.has(id)).toBe(true);
    expect(eventsOf(id)).toEqual([
      ["operation.opened", "open"],
      ["operation.reconciled", "open"],
    ]);
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
    expect(eventsOf(op!.id)).toEqual([
      ["operation.failed", "failed"],
      ["operation.reconciled", "failed"],
    ]);
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
    expect(eventsOf(id)).toEqual([
      ["operation.opened", "open"],
      ["operation.closed", "closed"],
      ["operation.reconciled", "closed"],
    ]);
    const closed = await t.app.registry.getSingleMetricAsString("opsguard_operations_closed_total");
    expect(closed).toContain('result="win",close_reason="manual"} 1');
  });
});

/**
 * A venue whose status answers are taken when asked and delivered later (a slow network), and
 * whose closes are lost or refused on demand.
 */
class SlowStatusVenue implements Executor {
  readonly name = "paper" as const;
  readonly book = new Map<string, { entry: Fill; exit?: Fill }>();
  price = 6_500_000n;
  close_: "lost" | "refused" | "lost-unexecuted" = "lost-unexecuted";
  statusHeld: Promise<void> | undefined;
  constructor(private readonly clock: ManualClock) {}
  open(request: OrderRequest): Promise<Fill> {
    const entry = { price: this.price, at: this.clock.now() };
    this.book.set(request.operationId, { entry });
    return Promise.resolve(entry);
  }
  close(request: OrderRequest): Promise<Fill> {
    const order = this.book.get(request.operationId)!;
    if (this.close_ === "lost-unexecuted") return Promise.reject(new ExecutionError("timeout", "unknown"));
    if (this.close_ === "refused") return Promise.reject(new ExecutionError("503 not now", "refused"));
    order.exit ??= { price: this.price, at: this.clock.now() };
    return Promise.reject(new ExecutionError("connection reset", "unknown"));
  }
  quote(instrument: string) {
    return Promise.resolve({ instrument, price: this.price, at: this.clock.now() });
  }
  async status(id: string): Promise<ExecutionStatus> {
    const order = this.book.get(id);
    const taken: ExecutionStatus = !order
      ? { state: "unknown" }
      : order.exit
        ? { state: "closed", entry: order.entry, exit: order.exit }
        : { state: "open", entry: order.entry };
    await this.statusHeld;
    return taken;
  }
}

describe("a status answer overtaken by a close", () => {
  it("is not trusted: a close executed while it travelled is still booked", async () => {
    const clock = new ManualClock(Date.now());
    const venue = new SlowStatusVenue(clock);
    const t = await startTestApp({}, { executor: venue, clock });
    try {
      const res = await t.call("POST", "/v1/operations", { body: submitBody({ size: "0.5" }) });
      const { id } = (await res.json()) as { id: string };
      expect((await t.call("POST", `/v1/operations/${id}/close`)).status).toBe(504); // not executed

      // Reconciliation asks; the venue answers "open", and the answer is slow to arrive.
      clock.advance(t.config.executor.reconcileAfterMs);
      let deliver!: () => void;
      venue.statusHeld = new Promise((resolve) => (deliver = resolve));
      const reconciling = t.app.service.reconcileDue();
      expect(reconciling).toHaveLength(1);
      // Meanwhile the client closes again: the venue executes it, and that answer is lost too.
      venue.price = 6_510_000n;
      venue.close_ = "lost";
      expect((await t.call("POST", `/v1/operations/${id}/close`)).status).toBe(504);
      expect(venue.book.get(id)?.exit).toBeDefined();

      // The stale "open" arrives while the venue refuses closes: it must not drop the request.
      venue.close_ = "refused";
      venue.statusHeld = undefined;
      deliver();
      await Promise.all(reconciling);
      expect(t.app.service.open.get(id)?.closeRequestedAt).not.toBeNull();

      clock.advance(t.config.executor.reconcileAfterMs);
      await t.app.supervisor.tick();
      const op = (await (await t.call("GET", `/v1/operations/${id}`)).json()) as Record<string, unknown>;
      expect(op).toMatchObject({ status: "closed", exitPrice: "65100.00", pnl: "50.00" });
    } finally {
      await t.close();
    }
  });
});
