import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { startTestApp, submitBody, type TestApp } from "./harness.js";
import { waitFor } from "./stack/tools.js";
import { VenueBridge, type VenueState } from "./venue-bridge.js";

/** How long faults are injected, and how long the bridge is down in the middle of it. */
const CHAOS_MS = 3_000;
const DOWN_MS = 400;
const CLIENTS = 4;

interface OperationJson {
  id: string;
  status: string;
  entryPrice: string | null;
  exitPrice: string | null;
  pnl: string | null;
}

/**
 * Faults on every kind of call (errors, "not now", hangs, resets, executions whose answer is lost)
 * while strategies submit and close and the supervisor closes at stops, targets and time limits;
 * the bridge also goes down for a while. Then the faults stop, and within the reconciliation
 * window opsguard must agree with the venue about every operation, and its books with itself.
 */
describe("chaos at the bridge", () => {
  let t: TestApp | undefined;
  let bridge: VenueBridge;
  afterEach(async () => {
    await t?.close();
    t = undefined;
    await bridge.down();
  });

  it("ends with opsguard's state equal to the venue's for every operation", async () => {
    bridge = await new VenueBridge({ "BTC-USD": "65000.00", "ETH-USD": "3200.00" }, 11).up();
    t = await startTestApp({
      executor: {
        type: "webhook",
        reconcileAfterMs: 300,
        webhook: {
          url: bridge.url,
          timeoutMs: 150,
          // One attempt a call: a refusal ("not now") is then as common as a lost answer.
          retries: 0,
          backoffMs: 5,
          circuitBreaker: { failureThreshold: 3, resetMs: 200 },
        },
      },
      supervisor: { monitorIntervalMs: 50 },
      risk: {
        maxSubmitRate: { perSecond: 10_000, burst: 10_000 },
        maxNotionalPerOperation: "10000000",
        maxExposure: { total: "1000000000", perInstrument: "1000000000" },
        maxDailyLoss: "1000000000",
        maxDrawdown: 0.99,
        lossStreak: { maxConsecutive: 100_000, cooldownSec: 0 },
      },
    });
    const app = t;
    app.app.supervisor.start();
    const faults = ["busy", "busy", "error", "hang", "reset", "lost", "lost", "late"] as const;
    bridge.fault("all", { fault: faults, rate: 0.3 });

    const end = Date.now() + CHAOS_MS;
    const answers = new Map<number, number>();
    let seq = 0;
    const price = { "BTC-USD": 6_500_000, "ETH-USD": 320_000 };
    const walk = (async () => {
      while (Date.now() < end) {
        for (const [instrument, cents] of Object.entries(price) as [keyof typeof price, number][]) {
          price[instrument] = Math.round(cents * (1 + (Math.random() - 0.5) * 0.002));
          bridge.setPrice(instrument, (price[instrument] / 100).toFixed(2));
        }
        await sleep(20);
      }
    })();
    const outage = (async () => {
      await sleep(CHAOS_MS / 2);
      await bridge.down();
      await sleep(DOWN_MS);
      await bridge.up();
    })();
    const ids: string[] = [];
    const client = async (n: number) => {
      while (Date.now() < end) {
        const instrument = n % 2 === 0 ? "BTC-USD" : "ETH-USD";
        const mid = price[instrument] / 100;
        const side = Math.random() < 0.5 ? "buy" : "sell";
        const away = (ratio: number, sign: number) => (mid * (1 + sign * ratio)).toFixed(2);
        const sign = side === "buy" ? 1 : -1;
        // Every fourth operation the client closes itself, and it has no exits of its own: only
        // that close can ever end it. The others the supervisor ends at a stop, target or time.
        const manual = ++seq % 4 === 0;
        const body = submitBody({
          clientId: `chaos-${n}-${seq}`,
          instrument,
          side,
          size: instrument === "BTC-USD" ? "0.01" : "0.1",
          ...(manual
            ? {}
            : {
                stopLoss: away(0.001, -sign),
                takeProfit: away(0.001, sign),
                ...(seq % 3 === 0 ? { maxDurationSec: 1 } : {}),
              }),
        });
        const res = await app.call("POST", "/v1/operations", { body });
        answers.set(res.status, (answers.get(res.status) ?? 0) + 1);
        const json = (await res.json()) as { id?: string; operationId?: string };
        const id = json.id ?? json.operationId;
        if (res.status === 503) await sleep(10); // as a client would: not now, so a moment later
        if (id) ids.push(id);
        if (id && manual) {
          // A client that gets no confirmation tries again, as a client would.
          for (let attempt = 0; attempt < 3; attempt++) {
            const close = await app.call("POST", `/v1/operations/${id}/close`);
            answers.set(close.status, (answers.get(close.status) ?? 0) + 1);
            if (close.status !== 504) break;
            await sleep(20);
          }
        }
      }
    };
    await Promise.all([walk, outage, ...Array.from({ length: CLIENTS }, (_, n) => client(n))]);
    bridge.fault("all", undefined);

    // The faults left executions unconfirmed: every one must be settled by reconciliation.
    await waitFor(
      "every unconfirmed execution to be reconciled",
      () => {
        const { open, close } = app.app.service.unconfirmed();
        return (
          open === 0 &&
          close === 0 &&
          [...app.app.service.open.values()].every((op) => op.closeRequestedAt === null)
        );
      },
      // A few reconciliation windows (300 ms each), with room for a loaded machine.
      { timeoutMs: 5_000, intervalMs: 50 },
    );
    await app.app.supervisor.stop();

    const operations = await listAll(app);
    // Faults really happened: executions were refused, unconfirmed and reconciled along the way.
    expect(answers.get(201)).toBeGreaterThan(10);
    expect(answers.get(504) ?? 0).toBeGreaterThan(0);
    const reconciled = await app.app.metrics.reconciliations.get();
    const settled = reconciled.values.filter((v) => v.labels.outcome !== "deferred");
    expect(settled.reduce((sum, v) => sum + v.value, 0)).toBeGreaterThan(0);

    const venue = new Set(bridge.operations());
    for (const op of operations) {
      const truth = bridge.state(op.id);
      expect({ id: op.id, ...describeOurs(op) }).toEqual({ id: op.id, ...describeVenue(truth) });
      venue.delete(op.id);
    }
    // Nothing the venue executed is unknown to opsguard.
    expect([...venue]).toEqual([]);
    const pnlCents = operations.reduce(
      (sum, op) => sum + (op.pnl ? BigInt(op.pnl.replace(".", "")) : 0n),
      0n,
    );
    expect(app.app.ledger.equity).toBe(100_000_00n + pnlCents);
    expect(operations.some((op) => op.status === "closed")).toBe(true);
  });
});

/** Every operation opsguard holds, page by page. */
async function listAll(t: TestApp): Promise<OperationJson[]> {
  const all: OperationJson[] = [];
  let cursor: string | undefined;
  do {
    const res = await t.call("GET", `/v1/operations?limit=500${cursor ? `&cursor=${cursor}` : ""}`);
    const page = (await res.json()) as { items: OperationJson[]; nextCursor: string | null };
    all.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return all;
}

const describeOurs = (op: OperationJson) =>
  op.status === "failed"
    ? { state: "unknown" }
    : { state: op.status, entry: op.entryPrice, ...(op.status === "closed" ? { exit: op.exitPrice } : {}) };

const describeVenue = (v: VenueState) =>
  v.state === "unknown"
    ? { state: "unknown" }
    : { state: v.state, entry: v.entry.price, ...(v.state === "closed" ? { exit: v.exit.price } : {}) };
