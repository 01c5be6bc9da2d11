import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Config, type PaperExecutorConfig } from "../config/schema.js";
import { ManualClock } from "../platform/clock.js";
import { openDatabase, type Db } from "../platform/db.js";
import { ExecutionError } from "./executor.js";
import { PaperExecutor } from "./paper.js";

let db: Db;
let clock: ManualClock;

beforeEach(() => {
  db = openDatabase({ path: ":memory:" });
  clock = new ManualClock();
});
afterEach(() => db.close());

function paper(options: Partial<PaperExecutorConfig> = {}): PaperExecutor {
  const config = Config.parse({
    executor: { paper: { latencyMs: 0, slippageBps: 0, stepMs: 100, ...options } },
  });
  return new PaperExecutor({ instruments: config.instruments, config: config.executor.paper, clock, db });
}

const order = (operationId: string, side: "buy" | "sell" = "buy") => ({
  operationId,
  instrument: "BTC-USD",
  side,
  size: 1000n,
});

describe("PaperExecutor prices", () => {
  it("starts at the instrument's initial price and moves only on step boundaries", async () => {
    const venue = paper();
    expect((await venue.quote("BTC-USD")).price).toBe(6_500_000n);
    clock.advance(99);
    expect((await venue.quote("BTC-USD")).price).toBe(6_500_000n);
    clock.advance(1);
    expect((await venue.quote("BTC-USD")).price).not.toBe(6_500_000n);
  });

  it("is reproducible: the same seed and time give the same prices; another seed does not", async () => {
    const walk = async (venue: PaperExecutor): Promise<bigint[]> => {
      const prices: bigint[] = [];
      for (let i = 0; i < 20; i++) {
        clock.advance(100);
        prices.push((await venue.quote("ETH-USD")).price);
      }
      return prices;
    };
    const start = clock.now();
    const a = await walk(paper({ seed: 7 }));
    clock.set(start);
    const b = await walk(paper({ seed: 7 }));
    clock.set(start);
    const c = await walk(paper({ seed: 8 }));
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it("stays positive and near its start over a long walk (mean reversion)", async () => {
    const venue = paper();
    clock.advance(100 * 10_000);
    const price = (await venue.quote("SOL-USD")).price;
    expect(price).toBeGreaterThan(0n);
    expect(price).toBeGreaterThan(150_000n / 3n);
    expect(price).toBeLessThan(150_000n * 3n);
  });

  it("rejects an unknown instrument", async () => {
    await expect(paper().quote("DOGE-USD")).rejects.toBeInstanceOf(ExecutionError);
    await expect(paper().open({ ...order("x"), instrument: "DOGE-USD" })).rejects.toMatchObject({
      outcome: "refused",
    });
  });
});

describe("PaperExecutor executions", () => {
  it("opens and closes once per operation id, however often it is asked", async () => {
    const venue = paper();
    const [first, second] = await Promise.all([venue.open(order("op-1")), venue.open(order("op-1"))]);
    clock.advance(1_000);
    expect((await venue.open(order("op-1"))).price).toBe(first.price);
    expect(second).toEqual(first);
    const closed = await venue.close(order("op-1"));
    clock.advance(1_000);
    expect(await venue.close(order("op-1"))).toEqual(closed);
    const rows = db.prepare("SELECT COUNT(*) AS n FROM paper_orders").get() as { n: bigint };
    expect(rows.n).toBe(1n);
  });

  it("fills against the trader by slippageBps, rounding against the trader", async () => {
    const venue = paper({ slippageBps: 2 });
    // 65000.00 × (1 ± 0.0002) = 65013.00 / 64987.00
    expect((await venue.open(order("long", "buy"))).price).toBe(6_501_300n);
    expect((await venue.open(order("short", "sell"))).price).toBe(6_498_700n);
    expect((await venue.close(order("long", "buy"))).price).toBe(6_498_700n);
    expect((await venue.close(order("short", "sell"))).price).toBe(6_501_300n);
  });

  it("refuses a close of an operation it never opened", async () => {
    await expect(paper().close(order("ghost"))).rejects.toMatchObject({ outcome: "refused" });
  });

  it("fails at failureRate, definitely (nothing executed)", async () => {
    const always = paper({ failureRate: 1 });
    await expect(always.open(order("f-1"))).rejects.toMatchObject({ outcome: "refused" });
    expect(await always.status("f-1")).toEqual({ state: "unknown" });
    const never = paper({ failureRate: 0 });
    for (let i = 0; i < 50; i++) await never.open(order(`ok-${i}`));
  });

  it("loses the answer at lostAnswerRate after executing: the outcome is unknown, the book has it", async () => {
    const lossy = paper({ lostAnswerRate: 1 });
    await expect(lossy.open(order("l-1"))).rejects.toMatchObject({ outcome: "unknown" });
    expect(await lossy.status("l-1")).toMatchObject({ state: "open" });
    await expect(lossy.close(order("l-1"))).rejects.toMatchObject({ outcome: "unknown" });
    expect(await lossy.status("l-1")).toMatchObject({ state: "closed" });
    // Asking again is answered from the book, as a retry after a lost answer would be.
    expect((await lossy.close(order("l-1"))).price).toBeGreaterThan(0n);
  });

  it("fills once when the same order is asked for twice while the venue waits its latency", async () => {
    const venue = paper({ latencyMs: 20 });
    const first = venue.open(order("op-2"));
    clock.advance(1_000); // the second asks later: the walk has moved
    const [opened, again] = await Promise.all([first, venue.open(order("op-2"))]);
    expect(again).toEqual(opened);
    const closing = venue.close(order("op-2"));
    clock.advance(1_000);
    const [closed, closedAgain] = await Promise.all([closing, venue.close(order("op-2"))]);
    expect(closedAgain).toEqual(closed);
    const rows = db.prepare("SELECT entry_at, exit_at FROM paper_orders").all() as {
      entry_at: bigint;
      exit_at: bigint;
    }[];
    expect(rows).toEqual([{ entry_at: BigInt(opened.at), exit_at: BigInt(closed.at) }]);
  });

  it("waits latencyMs before executing", async () => {
    const venue = paper({ latencyMs: 30 });
    const started = performance.now();
    await venue.open(order("slow"));
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });

  it("answers status from its book, which survives a restart", async () => {
    const venue = paper();
    expect(await venue.status("op-1")).toEqual({ state: "unknown" });
    const entry = await venue.open(order("op-1"));
    expect(await venue.status("op-1")).toEqual({ state: "open", entry });
    clock.advance(500);
    const exit = await venue.close(order("op-1"));
    const restarted = paper();
    expect(await restarted.status("op-1")).toEqual({ state: "closed", entry, exit });
    // The walk resumes from the last fill rather than jumping back to the initial price.
    expect((await restarted.quote("BTC-USD")).price).toBe(exit.price);
  });
});
