import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../platform/db.js";
import { BOOK, PerformanceAggregates, rebuildEquityDaily } from "./aggregates.js";
import { dailyReturns, daysBetween, maxDrawdown } from "./drawdown.js";
import { readPerformance } from "./load.js";

const DAY = 86_400_000;
const T0 = Date.parse("2026-11-01T00:00:00Z");

/** Books `closes` ([ms after T0, pnl]) through the aggregates of a fresh database; the book's days. */
function bookDays(closes: [number, bigint][]) {
  const db = openDatabase({ path: ":memory:" });
  const aggregates = new PerformanceAggregates(db);
  for (const [after, pnl] of closes)
    aggregates.recordClose({
      strategy: "s",
      instrument: "BTC-USD",
      pattern: null,
      confidence: null,
      side: "buy",
      pnl,
      plannedRisk: null,
      openedAt: T0 + after - 1000,
      closedAt: T0 + after,
    });
  const data = readPerformance(db, "2000-01-01", "2100-01-01", 0, Number.MAX_SAFE_INTEGER);
  return { db, days: data.equity.find((e) => e.strategy === BOOK)?.days ?? [] };
}

/** The drawdown by definition: the largest fall from the highest equity seen before. */
function bruteForce(start: bigint, pnls: bigint[]): bigint {
  let equity = start;
  let peak = start;
  let worst = 0n;
  for (const pnl of pnls) {
    equity += pnl;
    if (equity > peak) peak = equity;
    if (peak - equity > worst) worst = peak - equity;
  }
  return worst;
}

describe("maxDrawdown over the daily folds", () => {
  it("finds the fall of a hand-made curve, with its peak, start and end", () => {
    // Day 1: +500 (peak 10,500), −300; day 2: −400 (trough 9,800), +1,000; day 3: −100.
    const { days } = bookDays([
      [1000, 500n],
      [2000, -300n],
      [DAY + 1000, -400n],
      [DAY + 2000, 1000n],
      [2 * DAY + 1000, -100n],
    ]);
    const d = maxDrawdown(10_000n, days);
    expect(d).toEqual({
      amount: 700n,
      ratio: 700 / 10_500,
      peak: 10_500n,
      from: T0 + 1000,
      to: T0 + DAY + 1000,
    });
  });

  it("is zero for a curve that only rises, and measures a fall from the start", () => {
    expect(maxDrawdown(100n, bookDays([[1000, 5n]]).days).amount).toBe(0n);
    expect(maxDrawdown(100n, bookDays([[1000, -5n]]).days)).toMatchObject({
      amount: 5n,
      from: null,
      peak: 100n,
    });
  });

  it("equals the drawdown by definition for any closes, however the days cut them", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 * DAY }), fc.bigInt({ min: -10_000n, max: 10_000n })), {
          maxLength: 40,
        }),
        fc.bigInt({ min: 0n, max: 100_000n }),
        (raw, start) => {
          const closes = raw.sort((a, b) => a[0] - b[0]);
          const { days } = bookDays(closes);
          const d = maxDrawdown(start, days);
          expect(d.amount).toBe(
            bruteForce(
              start,
              closes.map(([, pnl]) => pnl),
            ),
          );
          expect(d.amount >= 0n).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("is rebuilt the same from the operations table", () => {
    const { db } = bookDays([]);
    const insert = db.prepare(
      `INSERT INTO operations (id, client_id, strategy, instrument, side, size, status, notional, request_hash,
        created_at, opened_at, closed_at, pnl) VALUES (?, ?, 's', 'BTC-USD', 'buy', 1, 'closed', 1, 'h', ?, ?, ?, ?)`,
    );
    const closes: [number, bigint][] = [
      [1000, 300n],
      [5000, -700n],
      [DAY + 100, 200n],
      [DAY + 200, -900n],
    ];
    closes.forEach(([after, pnl], i) => insert.run(`op${i}`, `c${i}`, T0, T0, T0 + after, pnl));
    rebuildEquityDaily(db);
    const rebuilt = readPerformance(db, "2000-01-01", "2100-01-01", 0, Number.MAX_SAFE_INTEGER);
    expect(rebuilt.equity.find((e) => e.strategy === BOOK)!.days).toEqual(bookDays(closes).days);
  });
});

describe("dailyReturns", () => {
  it("returns each day's P&L over its starting equity, 0 on a day without closes", () => {
    const { days } = bookDays([
      [1000, 100n],
      [2 * DAY + 1000, -202n],
    ]);
    expect(dailyReturns(10_000n, days, "2026-11-01", "2026-11-03")).toEqual([
      { day: "2026-11-01", equity: 10_000n, pnl: 100n, return: 0.01 },
      { day: "2026-11-02", equity: 10_100n, pnl: 0n, return: 0 },
      { day: "2026-11-03", equity: 10_100n, pnl: -202n, return: -0.02 },
    ]);
    expect(daysBetween("2026-02-27", "2026-03-01")).toEqual(["2026-02-27", "2026-02-28", "2026-03-01"]);
  });
});
