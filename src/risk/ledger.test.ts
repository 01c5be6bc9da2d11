import { describe, expect, it } from "vitest";
import { Config, type ConfigInput } from "../config/schema.js";
import { ManualClock } from "../platform/clock.js";
import { buildLimits, type RiskLimits } from "./limits.js";
import { RiskLedger, type LedgerSnapshot, type Position } from "./ledger.js";

const NOON = Date.UTC(2026, 0, 5, 12, 0, 0);

function limitsWith(risk: ConfigInput["risk"] = {}): RiskLimits {
  return buildLimits(
    Config.parse({
      accounting: { startingEquity: "100000", precision: 2 },
      instruments: {
        "BTC-USD": { pricePrecision: 2, sizePrecision: 4, maxPositionSize: "2", initialPrice: "65000" },
        "SOL-USD": { pricePrecision: 3, sizePrecision: 2, maxPositionSize: "500", initialPrice: "150" },
      },
      strategies: ["trend", "revert"],
      risk: {
        maxDailyOperations: { global: 5, perStrategy: 3 },
        maxExposure: { total: "10000", perInstrument: "8000" },
        maxSubmitRate: { perSecond: 1, burst: 2 },
        maxDailyLoss: "2000",
        maxDrawdown: 0.05,
        lossStreak: { maxConsecutive: 3, cooldownSec: 60 },
        ...risk,
      },
    }),
  );
}

function emptySnapshot(limits: RiskLimits, overrides: Partial<LedgerSnapshot> = {}): LedgerSnapshot {
  return {
    tradingState: "active",
    stateReason: "initial state",
    stateChangedAt: 0,
    realizedPnl: 0n,
    peakEquity: limits.startingEquity,
    lossResetAt: 0,
    dailyOperations: new Map(),
    dailyPnl: 0n,
    live: [],
    lastOperationAt: new Map(),
    streaks: new Map(),
    ...overrides,
  };
}

function setup(risk: ConfigInput["risk"] = {}, snapshot: Partial<LedgerSnapshot> = {}, now = NOON) {
  const limits = limitsWith(risk);
  const clock = new ManualClock(now);
  const ledger = new RiskLedger(limits, clock, emptySnapshot(limits, snapshot));
  return { limits, clock, ledger };
}

const btc = (notional: bigint, strategy = "trend"): Position => ({
  strategy,
  instrument: "BTC-USD",
  notional,
});
const sol = (notional: bigint, strategy = "revert"): Position => ({
  strategy,
  instrument: "SOL-USD",
  notional,
});

/** Open counts from `view()` as a plain record, skipping entries that fell to zero. */
function openCounts(ledger: RiskLedger): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of ledger.view().open)
    if (entry.count !== 0) out[`${entry.strategy}/${entry.instrument}`] = entry.count;
  return out;
}

/** Books a sequence of closes with P&L given in cents, on throwaway positions. */
function bookAll(ledger: RiskLedger, pnls: bigint[], strategy = "trend"): void {
  for (const pnl of pnls) {
    ledger.reserve(btc(0n, strategy));
    ledger.book(btc(0n, strategy), pnl);
  }
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

describe("RiskLedger: setTradingState", () => {
  it("records the state, the reason and the time", () => {
    const { ledger, clock } = setup();
    clock.advance(5000);
    ledger.setTradingState("reducing", "operator said so");
    expect(ledger.tradingState).toBe("reducing");
    expect(ledger.state).toMatchObject({
      tradingState: "reducing",
      stateReason: "operator said so",
      stateChangedAt: NOON + 5000,
    });
    expect(ledger.usage("trend", "BTC-USD", true).tradingState).toBe("reducing");
  });

  it("resuming from halted acknowledges the losses: daily loss counts afresh and the drawdown peak becomes the current equity", () => {
    const { ledger, clock } = setup();
    bookAll(ledger, [-600_000n]);
    ledger.setTradingState("halted", "auto");
    expect(ledger.breaches()).toHaveLength(2);
    clock.advance(60_000);
    ledger.setTradingState("active", "resume");
    expect(ledger.dailyLoss).toBe(0n);
    expect(ledger.state.peakEquity).toBe(9_400_000n);
    expect(ledger.state.lossResetAt).toBe(NOON + 60_000);
    expect(ledger.breaches()).toEqual([]);
    // realized P&L and equity are history, not reset
    expect(ledger.equity).toBe(9_400_000n);
    // and losses after the resume count from the new baseline
    bookAll(ledger, [-200_000n]);
    expect(ledger.dailyLoss).toBe(200_000n);
    expect(ledger.breaches()).toEqual([]);
  });

  it("resuming from halted to reducing also resets; halted → halted and active → reducing do not", () => {
    const halted = setup();
    bookAll(halted.ledger, [-600_000n]);
    halted.ledger.setTradingState("halted", "auto");
    halted.ledger.setTradingState("halted", "again");
    expect(halted.ledger.dailyLoss).toBe(600_000n);
    halted.ledger.setTradingState("reducing", "wind down");
    expect(halted.ledger.dailyLoss).toBe(0n);

    const active = setup();
    bookAll(active.ledger, [-600_000n]);
    active.ledger.setTradingState("reducing", "careful");
    expect(active.ledger.dailyLoss).toBe(600_000n);
    expect(active.ledger.state.peakEquity).toBe(10_000_000n);
    expect(active.ledger.breaches()).toHaveLength(2);
  });
});

describe("RiskLedger: day rollover at UTC midnight", () => {
  const LAST_MS = Date.UTC(2026, 0, 5, 23, 59, 59, 999);

  it("resets daily counts and daily P&L on the first usage after midnight, keeping exposure", () => {
    const { ledger, clock } = setup({ maxDrawdown: 1 }, {}, LAST_MS);
    ledger.reserve(btc(100_000n));
    ledger.reserve(btc(1n));
    ledger.book(btc(1n), -50_000n);
    expect(ledger.usage("trend", "BTC-USD", true)).toMatchObject({
      dailyOperations: 2,
      dailyOperationsOfStrategy: 2,
      dailyLoss: 50_000n,
    });
    clock.advance(1);
    const usage = ledger.usage("trend", "BTC-USD", true);
    expect(usage).toMatchObject({
      dailyOperations: 0,
      dailyOperationsOfStrategy: 0,
      dailyLoss: 0n,
      exposureTotal: 100_000n,
    });
    expect(usage.lastOperationAt).toBe(LAST_MS);
    expect(ledger.equity).toBe(9_950_000n);
  });

  it("counts a close after midnight into the new day", () => {
    const { ledger, clock } = setup({ maxDrawdown: 1 }, {}, LAST_MS);
    ledger.reserve(btc(1n));
    clock.advance(1);
    ledger.book(btc(1n), -70_000n);
    expect(ledger.dailyLoss).toBe(70_000n);
    ledger.reserve(btc(1n));
    expect(ledger.view().dailyOperations).toBe(1);
  });

  it("does not reset within the same UTC day", () => {
    const { ledger, clock } = setup({ maxDrawdown: 1 }, {}, Date.UTC(2026, 0, 5, 0, 0, 0));
    bookAll(ledger, [-10_000n]);
    clock.set(LAST_MS);
    expect(ledger.usage("trend", "BTC-USD", true)).toMatchObject({ dailyOperations: 1, dailyLoss: 10_000n });
  });

  // dailyLoss, view() and utilization() feed GET /v1/risk and the gauges; they should not show
  // yesterday's figures just because nobody has submitted since midnight.
  it("shows the reset in dailyLoss, view() and utilization() without waiting for a submit or close", () => {
    const { ledger, clock } = setup({ maxDrawdown: 1 }, {}, LAST_MS);
    ledger.reserve(btc(1n));
    ledger.book(btc(1n), -50_000n);
    clock.advance(1);
    expect(ledger.dailyLoss).toBe(0n);
    expect(ledger.view().dailyOperations).toBe(0);
    expect(ledger.utilization()).toMatchObject({ daily_operations: 0, daily_loss: 0 });
    expect(ledger.breaches()).toEqual([]);
  });
});

describe("RiskLedger: loss streak", () => {
  it("three consecutive losses start a 60 s cooldown and reset the count", () => {
    const { ledger, clock } = setup({ maxDailyLoss: "1000000", maxDrawdown: 1 });
    bookAll(ledger, [-1n, -1n]);
    expect(ledger.streakOf("trend")).toEqual({ losses: 2, cooldownUntil: 0 });
    expect(ledger.usage("trend", "BTC-USD", true).cooldownUntil).toBe(0);
    clock.advance(10);
    bookAll(ledger, [-1n]);
    expect(ledger.streakOf("trend")).toEqual({ losses: 0, cooldownUntil: NOON + 10 + 60_000 });
    expect(ledger.usage("trend", "BTC-USD", true).cooldownUntil).toBe(NOON + 60_010);
  });

  it("a win resets the count", () => {
    const { ledger } = setup({ maxDailyLoss: "1000000", maxDrawdown: 1 });
    bookAll(ledger, [-1n, -1n, 1n, -1n, -1n]);
    expect(ledger.streakOf("trend")).toEqual({ losses: 2, cooldownUntil: 0 });
  });

  it("a flat close changes nothing", () => {
    const { ledger } = setup({ maxDailyLoss: "1000000", maxDrawdown: 1 });
    bookAll(ledger, [-1n, -1n, 0n]);
    expect(ledger.streakOf("trend")).toEqual({ losses: 2, cooldownUntil: 0 });
    bookAll(ledger, [-1n]);
    expect(ledger.streakOf("trend").cooldownUntil).toBe(NOON + 60_000);
  });

  it("is kept per strategy", () => {
    const { ledger } = setup({ maxDailyLoss: "1000000", maxDrawdown: 1 });
    bookAll(ledger, [-1n, -1n], "trend");
    bookAll(ledger, [-1n], "revert");
    expect(ledger.streakOf("trend").losses).toBe(2);
    expect(ledger.streakOf("revert").losses).toBe(1);
    expect(ledger.usage("revert", "BTC-USD", true).cooldownUntil).toBe(0);
  });

  it("a win keeps a running cooldown", () => {
    const { ledger } = setup({ maxDailyLoss: "1000000", maxDrawdown: 1 });
    bookAll(ledger, [-1n, -1n, -1n, 5n]);
    expect(ledger.streakOf("trend")).toEqual({ losses: 0, cooldownUntil: NOON + 60_000 });
  });
});

describe("RiskLedger: takeSubmitToken", () => {
  it("allows the burst, refuses, then refills at perSecond", () => {
    const { ledger, clock } = setup();
    expect([
      ledger.takeSubmitToken("trend"),
      ledger.takeSubmitToken("trend"),
      ledger.takeSubmitToken("trend"),
    ]).toEqual([true, true, false]);
    clock.advance(999);
    expect(ledger.takeSubmitToken("trend")).toBe(false);
    clock.advance(1);
    expect(ledger.takeSubmitToken("trend")).toBe(true);
    expect(ledger.takeSubmitToken("trend")).toBe(false);
  });

  it("keeps one bucket per strategy", () => {
    const { ledger } = setup();
    ledger.takeSubmitToken("trend");
    ledger.takeSubmitToken("trend");
    expect(ledger.takeSubmitToken("trend")).toBe(false);
    expect(ledger.takeSubmitToken("revert")).toBe(true);
  });

  it("does not keep state for undeclared strategies", () => {
    const { ledger } = setup();
    for (let i = 0; i < 1000; i += 1) ledger.takeSubmitToken(`ghost-${i}`);
    // Nothing is stored, so the same undeclared name is never charged (it is rejected elsewhere).
    for (let i = 0; i < 5; i += 1) expect(ledger.takeSubmitToken("ghost")).toBe(true);
    const buckets = Reflect.get(ledger, "buckets") as Map<string, unknown>;
    expect(buckets.size).toBe(0);
    ledger.takeSubmitToken("trend");
    expect([...buckets.keys()]).toEqual(["trend"]);
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
