import { describe, expect, it } from "vitest";
import type { Position, RiskLedger } from "./ledger.js";
import { bookAll, btc, NOON, setup, sol } from "./ledger.fixture.js";

/** Open counts from `view()` as a plain record, skipping entries that fell to zero. */
function openCounts(ledger: RiskLedger): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of ledger.view().open)
    if (entry.count !== 0) out[`${entry.strategy}/${entry.instrument}`] = entry.count;
  return out;
}

describe("RiskLedger: exposure and open counts", () => {
  it("reserve, refill, release and book keep exposure and open counts exact", () => {
    const { ledger } = setup();
    const a = btc(100_000n); // 1000.00
    const b = btc(50_050n); // 500.50
    const c = sol(25_025n); // 250.25
    ledger.reserve(a);
    ledger.reserve(b);
    ledger.reserve(c);
    let view = ledger.view();
    expect(view.exposureTotal).toBe(175_075n);
    expect(Object.fromEntries(view.exposureByInstrument)).toEqual({
      "BTC-USD": 150_050n,
      "SOL-USD": 25_025n,
    });
    expect(openCounts(ledger)).toEqual({ "trend/BTC-USD": 2, "revert/SOL-USD": 1 });
    expect(view.dailyOperations).toBe(3);
    expect(Object.fromEntries(view.dailyOperationsByStrategy)).toEqual({ trend: 2, revert: 1 });

    // the fill came 0.10 above the quote
    ledger.refill(a, 100_010n);
    const filledA = { ...a, notional: 100_010n };
    expect(ledger.view().exposureTotal).toBe(175_085n);
    expect(ledger.usage("trend", "BTC-USD", true).exposureOfInstrument).toBe(150_060n);

    // b never opened: its reservation goes, its daily count stays (it was accepted)
    ledger.release(b);
    view = ledger.view();
    expect(view.exposureTotal).toBe(125_035n);
    expect(openCounts(ledger)).toEqual({ "trend/BTC-USD": 1, "revert/SOL-USD": 1 });
    expect(view.dailyOperations).toBe(3);

    ledger.book(filledA, 1234n);
    ledger.book(c, -99n);
    view = ledger.view();
    expect(view.exposureTotal).toBe(0n);
    expect(Object.fromEntries(view.exposureByInstrument)).toEqual({ "BTC-USD": 0n, "SOL-USD": 0n });
    expect(openCounts(ledger)).toEqual({});
  });

  it("stays exact over many random reservations and closes, and returns to zero", () => {
    const { ledger } = setup();
    let seed = 99;
    const next = (bound: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return Math.floor((seed / 2_147_483_648) * bound);
    };
    const live: Position[] = [];
    let expected = 0n;
    for (let i = 0; i < 20_000; i += 1) {
      if (live.length === 0 || next(3) > 0) {
        const position =
          next(2) === 0 ? btc(BigInt(1 + next(10_000_000))) : sol(BigInt(1 + next(10_000_000)));
        ledger.reserve(position);
        live.push(position);
        expected += position.notional;
      } else {
        const position = live.splice(next(live.length), 1)[0]!;
        if (next(2) === 0) ledger.release(position);
        else ledger.book(position, 0n);
        expected -= position.notional;
      }
      const view = ledger.view();
      expect(view.exposureTotal).toBe(expected);
    }
    const view = ledger.view();
    let sum = 0n;
    for (const value of view.exposureByInstrument.values()) sum += value;
    expect(sum).toBe(view.exposureTotal);
    for (const position of live.splice(0)) ledger.book(position, 0n);
    expect(ledger.view().exposureTotal).toBe(0n);
    expect(openCounts(ledger)).toEqual({});
  });

  it("rebuilds exposure, open counts, equity and daily counts from a snapshot", () => {
    const { ledger } = setup(
      {},
      {
        realizedPnl: -12_345n,
        dailyOperations: new Map([
          ["trend", 2],
          ["revert", 1],
        ]),
        live: [btc(100_000n), btc(20_000n), sol(5_000n)],
        lastOperationAt: new Map([["BTC-USD", NOON - 10]]),
      },
    );
    const usage = ledger.usage("trend", "BTC-USD", true);
    expect(usage).toMatchObject({
      dailyOperations: 3,
      dailyOperationsOfStrategy: 2,
      exposureTotal: 125_000n,
      exposureOfInstrument: 120_000n,
      lastOperationAt: NOON - 10,
      equity: 9_987_655n,
    });
    expect(openCounts(ledger)).toEqual({ "trend/BTC-USD": 2, "revert/SOL-USD": 1 });
  });

  it("records the time of the latest operation per instrument", () => {
    const { ledger, clock } = setup();
    ledger.reserve(btc(1n));
    clock.advance(250);
    ledger.reserve(sol(1n));
    expect(ledger.usage("trend", "BTC-USD", true).lastOperationAt).toBe(NOON);
    expect(ledger.usage("trend", "SOL-USD", true).lastOperationAt).toBe(NOON + 250);
  });
});

describe("RiskLedger: equity and drawdown", () => {
  it("equity is the starting equity plus realized P&L", () => {
    const { ledger } = setup();
    expect(ledger.equity).toBe(10_000_000n);
    bookAll(ledger, [100_000n, -300_000n, 50_000n]);
    expect(ledger.state.realizedPnl).toBe(-150_000n);
    expect(ledger.equity).toBe(9_850_000n);
  });

  it("measures drawdown peak to trough on the equity curve: +1000, −3000, +500 → from the 101 000 peak", () => {
    const { ledger } = setup({ maxDailyLoss: "1000000" });
    bookAll(ledger, [100_000n, -300_000n, 50_000n]);
    expect(ledger.state.peakEquity).toBe(10_100_000n);
    // (101 000 − 98 500) ÷ 101 000 = 0.024752…; summing per-operation ratios would give something else
    const drawdown = ledger.utilization().drawdown! * 0.05;
    expect(drawdown).toBeCloseTo(0.024752, 6);
    expect(ledger.breaches()).toEqual([]);
  });

  it("raises the peak only on new highs", () => {
    const { ledger } = setup({ maxDailyLoss: "1000000" });
    bookAll(ledger, [-50_000n]);
    expect(ledger.state.peakEquity).toBe(10_000_000n);
    bookAll(ledger, [30_000n]);
    expect(ledger.state.peakEquity).toBe(10_000_000n);
    bookAll(ledger, [30_000n]);
    expect(ledger.state.peakEquity).toBe(10_010_000n);
  });
});

describe("RiskLedger: breaches", () => {
  it("DRAWDOWN_EXCEEDED only beyond the limit: exactly 5 % from the peak is not a breach", () => {
    const { ledger } = setup({ maxDailyLoss: "1000000" });
    bookAll(ledger, [100_000n, -300_000n, 50_000n]); // peak 101 000.00, equity 98 500.00
    bookAll(ledger, [-255_000n]); // 95 950.00 = 101 000 × 0.95
    expect(ledger.equity).toBe(9_595_000n);
    expect(ledger.breaches()).toEqual([]);
    bookAll(ledger, [-1n]);
    const breaches = ledger.breaches();
    expect(breaches.map((b) => b.code)).toEqual(["DRAWDOWN_EXCEEDED"]);
    expect(breaches[0]).toMatchObject({ limit: "0.050000" });
    expect(breaches[0]!.observed).toMatch(/^0\.05000\d$/);
  });

  it("DAILY_LOSS_EXCEEDED only beyond the limit: a loss of exactly 2000.00 is not a breach", () => {
    const { ledger } = setup({ maxDrawdown: 1 });
    bookAll(ledger, [-150_000n, -50_000n]);
    expect(ledger.dailyLoss).toBe(200_000n);
    expect(ledger.breaches()).toEqual([]);
    bookAll(ledger, [-1n]);
    expect(ledger.breaches()).toEqual([
      expect.objectContaining({ code: "DAILY_LOSS_EXCEEDED", limit: "2000.00", observed: "2000.01" }),
    ]);
  });

  it("nets the day's profits against its losses", () => {
    const { ledger } = setup({ maxDrawdown: 1 });
    bookAll(ledger, [50_000n, -240_000n]);
    expect(ledger.dailyLoss).toBe(190_000n);
    bookAll(ledger, [200_000n]); // the day is 100.00 up
    expect(ledger.dailyLoss).toBe(0n);
    expect(ledger.breaches()).toEqual([]);
  });

  it("reports both breaches together", () => {
    const { ledger } = setup();
    bookAll(ledger, [-600_000n]); // 6000 today, 6 % drawdown
    expect(ledger.breaches().map((b) => b.code)).toEqual(["DAILY_LOSS_EXCEEDED", "DRAWDOWN_EXCEEDED"]);
  });
});

describe("RiskLedger: utilization", () => {
  it("is all zero on a fresh ledger", () => {
    const { ledger } = setup();
    expect(ledger.utilization()).toEqual({
      daily_operations: 0,
      exposure_total: 0,
      exposure_instrument: 0,
      daily_loss: 0,
      drawdown: 0,
      loss_streak: 0,
    });
  });

  it("reports each usage as a share of its limit", () => {
    const { ledger } = setup({ maxDrawdown: 0.1 });
    ledger.reserve(btc(400_000n)); // 4000 of 8000 per instrument, of 10 000 total
    ledger.reserve(sol(100_000n));
    bookAll(ledger, [-50_000n, -50_000n]); // 1000 of 2000 daily loss; 1 % of a 10 % drawdown; streak 2 of 3
    expect(ledger.utilization()).toEqual({
      daily_operations: 4 / 5,
      exposure_total: 0.5,
      exposure_instrument: 0.5,
      daily_loss: 0.5,
      drawdown: expect.closeTo(0.1, 10) as number,
      loss_streak: 2 / 3,
    });
  });

  it("reads loss_streak 1 while a cooldown runs, although the count has reset", () => {
    const { ledger, clock } = setup({ maxDailyLoss: "1000000", maxDrawdown: 1 });
    bookAll(ledger, [-1n, -1n, -1n]); // the third loss trips a 60 s cooldown
    expect(ledger.streakOf("trend").losses).toBe(0);
    expect(ledger.utilization().loss_streak).toBe(1);
    clock.advance(60_000);
    expect(ledger.utilization().loss_streak).toBe(0);
  });

  it("stays within 0..1 when usage is beyond its limits", () => {
    const { ledger } = setup(
      {},
      {
        live: [btc(5_000_000n), sol(5_000_000n)],
        dailyOperations: new Map([["trend", 50]]),
        dailyPnl: -9_000_000n,
        realizedPnl: -9_000_000n,
      },
    );
    const utilization = ledger.utilization();
    for (const value of Object.values(utilization)) {
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThanOrEqual(1);
    }
    expect(utilization).toMatchObject({
      daily_operations: 1,
      exposure_total: 1,
      exposure_instrument: 1,
      daily_loss: 1,
      drawdown: 1,
    });
  });
});
