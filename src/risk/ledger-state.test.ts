import { describe, expect, it } from "vitest";
import { bookAll, btc, NOON, setup } from "./ledger.fixture.js";

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

describe("RiskLedger: submit tokens", () => {
  /** Takes a token as the service does: look, then spend for an accepted operation. */
  const take = (ledger: ReturnType<typeof setup>["ledger"], strategy: string): boolean => {
    const has = ledger.hasSubmitToken(strategy);
    if (has) ledger.spendSubmitToken(strategy);
    return has;
  };

  it("allows the burst, refuses, then refills at perSecond", () => {
    const { ledger, clock } = setup();
    expect([take(ledger, "trend"), take(ledger, "trend"), take(ledger, "trend")]).toEqual([
      true,
      true,
      false,
    ]);
    clock.advance(999);
    expect(take(ledger, "trend")).toBe(false);
    clock.advance(1);
    expect(take(ledger, "trend")).toBe(true);
    expect(take(ledger, "trend")).toBe(false);
  });

  it("spends nothing by looking: only an accepted operation spends a token", () => {
    const { ledger } = setup();
    for (let i = 0; i < 10; i++) expect(ledger.hasSubmitToken("trend")).toBe(true);
    ledger.spendSubmitToken("trend");
    ledger.spendSubmitToken("trend");
    expect(ledger.hasSubmitToken("trend")).toBe(false);
  });

  it("keeps one bucket per strategy", () => {
    const { ledger } = setup();
    take(ledger, "trend");
    take(ledger, "trend");
    expect(take(ledger, "trend")).toBe(false);
    expect(take(ledger, "revert")).toBe(true);
  });

  it("does not keep state for undeclared strategies", () => {
    const { ledger } = setup();
    for (let i = 0; i < 1000; i += 1) take(ledger, `ghost-${i}`);
    // Nothing is stored, so the same undeclared name is never charged (it is rejected elsewhere).
    for (let i = 0; i < 5; i += 1) expect(take(ledger, "ghost")).toBe(true);
    const buckets = Reflect.get(ledger, "buckets") as Map<string, unknown>;
    expect(buckets.size).toBe(0);
    ledger.spendSubmitToken("trend");
    expect([...buckets.keys()]).toEqual(["trend"]);
  });
});
