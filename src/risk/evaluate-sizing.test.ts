import { describe, expect, it } from "vitest";
import { evaluateRisk } from "./evaluate.js";
import { codes, limitsWith, LIMITS, only, request, usage } from "./evaluate.fixture.js";

describe("POSITION_SIZE_EXCEEDED", () => {
  it("a size exactly at maxPositionSize passes; one size unit more fails", () => {
    expect(evaluateRisk(request({ size: 20_000n }), usage(), LIMITS).failures).toEqual([]);
    const failure = only(evaluateRisk(request({ size: 20_001n }), usage(), LIMITS), "POSITION_SIZE_EXCEEDED");
    expect(failure).toMatchObject({ limit: "2.0000", observed: "2.0001" });
  });

  it("uses each instrument's own cap and size precision", () => {
    const sol = { instrument: "SOL-USD", price: 150_000n }; // 150.000
    expect(evaluateRisk(request({ ...sol, size: 50_000n }), usage(), LIMITS).failures).toEqual([]);
    const failure = only(
      evaluateRisk(request({ ...sol, size: 50_001n }), usage(), LIMITS),
      "POSITION_SIZE_EXCEEDED",
    );
    expect(failure).toMatchObject({ limit: "500.00", observed: "500.01" });
  });
});

describe("AUTO_SIZE_NEEDS_STOP_LOSS", () => {
  it('rejects size "auto" without a stop-loss and returns size 0', () => {
    const decision = evaluateRisk(request({ size: "auto" }), usage(), LIMITS);
    only(decision, "AUTO_SIZE_NEEDS_STOP_LOSS");
    expect(decision.size).toBe(0n);
    expect(decision.notional).toBe(0n);
  });
});

describe("AUTO_SIZE_TOO_SMALL", () => {
  // 1 ppm of 100 000.00 is a budget of 0.10; one BTC size unit (0.0001) risks 0.10 at a 1000.00 stop.
  const tiny = limitsWith({ riskPerOperation: 0.000001 });

  it("a budget that buys exactly one size unit passes", () => {
    const decision = evaluateRisk(request({ size: "auto", stopLoss: 6_400_000n }), usage(), tiny);
    expect(decision.failures).toEqual([]);
    expect(decision.size).toBe(1n);
  });

  it("a stop one tick further away buys less than a unit and fails", () => {
    const decision = evaluateRisk(request({ size: "auto", stopLoss: 6_399_999n }), usage(), tiny);
    const failure = only(decision, "AUTO_SIZE_TOO_SMALL");
    expect(failure.observed).toBe("0.0000");
    expect(decision.size).toBe(0n);
  });

  it("fails when equity is gone", () => {
    const decision = evaluateRisk(
      request({ size: "auto", stopLoss: 6_400_000n }),
      usage({ equity: 0n, peakEquity: 0n }),
      LIMITS,
    );
    only(decision, "AUTO_SIZE_TOO_SMALL");
  });
});

describe("auto sizing: floor(equity × riskPerOperation ÷ |entry − stop|), capped", () => {
  // Budget: 100 000.00 × 0.01 = 1000.00
  it.each([
    ["long", "buy", 6_430_000n], // stop 700.00 below
    ["short", "sell", 6_570_000n], // stop 700.00 above
  ] as const)("%s: 1000 ÷ 700 = 1.428571… rounds down to 1.4285", (_, side, stopLoss) => {
    const decision = evaluateRisk(request({ side, size: "auto", stopLoss }), usage(), LIMITS);
    expect(decision.failures).toEqual([]);
    expect(decision.size).toBe(14_285n);
    expect(decision.notional).toBe(9_285_250n); // 65000.00 × 1.4285 = 92852.50
  });

  it.each([
    ["long", "buy", 6_470_000n],
    ["short", "sell", 6_530_000n],
  ] as const)("%s: a budget beyond maxPositionSize is capped at it, not rejected", (_, side, stopLoss) => {
    // 1000 ÷ 300 = 3.33 > cap 2
    const decision = evaluateRisk(request({ side, size: "auto", stopLoss }), usage(), LIMITS);
    expect(decision.failures).toEqual([]);
    expect(decision.size).toBe(20_000n);
  });

  it("a budget exactly at the cap gives the cap", () => {
    const decision = evaluateRisk(request({ size: "auto", stopLoss: 6_450_000n }), usage(), LIMITS); // 1000 ÷ 500 = 2
    expect(decision.size).toBe(20_000n);
    expect(decision.failures).toEqual([]);
  });

  it("caps the size so that the notional stays within maxNotionalPerOperation, exactly", () => {
    // Budget 1000 ÷ 500 = 2 BTC = 130000.00; a 50000.00 notional cap allows 0.7692 (49998.00).
    const capped = limitsWith({ maxNotionalPerOperation: "50000" });
    const decision = evaluateRisk(request({ size: "auto", stopLoss: 6_450_000n }), usage(), capped);
    expect(decision.failures).toEqual([]);
    expect(decision.size).toBe(7692n);
    expect(decision.notional).toBe(4_999_800n);
    // At a price that divides the cap evenly the cap itself is reached, not a unit less.
    const even = evaluateRisk(
      request({ size: "auto", price: 5_000_000n, stopLoss: 4_900_000n }),
      usage(),
      capped,
    );
    expect(even.size).toBe(10_000n);
    expect(even.notional).toBe(5_000_000n);
  });

  it("sizes from the current equity, not the starting equity", () => {
    const decision = evaluateRisk(
      request({ size: "auto", stopLoss: 6_430_000n }),
      usage({ equity: 5_000_000n, peakEquity: 5_000_000n }),
      LIMITS,
    );
    expect(decision.size).toBe(7142n); // 500 ÷ 700 = 0.714285…
  });

  it("uses the instrument's price and size precision", () => {
    // SOL: 150.000 with stop 147.000: 1000 ÷ 3 = 333.333… → 333.33
    const decision = evaluateRisk(
      request({ instrument: "SOL-USD", price: 150_000n, size: "auto", stopLoss: 147_000n }),
      usage(),
      LIMITS,
    );
    expect(decision.failures).toEqual([]);
    expect(decision.size).toBe(33_333n);
    expect(decision.notional).toBe(4_999_950n); // 150.000 × 333.33 = 49999.50
  });
});

describe("INVALID_EXIT_LEVELS", () => {
  const price = 6_500_000n;

  it("long: a stop-loss one tick below the price passes; at or above fails", () => {
    expect(evaluateRisk(request({ stopLoss: price - 1n }), usage(), LIMITS).failures).toEqual([]);
    expect(
      only(evaluateRisk(request({ stopLoss: price }), usage(), LIMITS), "INVALID_EXIT_LEVELS").observed,
    ).toBe("65000.00");
    const above = only(
      evaluateRisk(request({ stopLoss: price + 1n }), usage(), LIMITS),
      "INVALID_EXIT_LEVELS",
    );
    expect(above.observed).toBe("65000.01");
    expect(above.message).toMatch(/stopLoss of a buy must be below/);
  });

  it("long: a take-profit one tick above the price passes; at or below fails", () => {
    expect(evaluateRisk(request({ takeProfit: price + 1n }), usage(), LIMITS).failures).toEqual([]);
    only(evaluateRisk(request({ takeProfit: price }), usage(), LIMITS), "INVALID_EXIT_LEVELS");
    const below = only(
      evaluateRisk(request({ takeProfit: price - 1n }), usage(), LIMITS),
      "INVALID_EXIT_LEVELS",
    );
    expect(below).toMatchObject({ observed: "64999.99" });
    expect(below.message).toMatch(/takeProfit of a buy must be above/);
  });

  it("short: a stop-loss one tick above the price passes; at or below fails", () => {
    const sell = { side: "sell" } as const;
    expect(evaluateRisk(request({ ...sell, stopLoss: price + 1n }), usage(), LIMITS).failures).toEqual([]);
    only(evaluateRisk(request({ ...sell, stopLoss: price }), usage(), LIMITS), "INVALID_EXIT_LEVELS");
    const below = only(
      evaluateRisk(request({ ...sell, stopLoss: price - 1n }), usage(), LIMITS),
      "INVALID_EXIT_LEVELS",
    );
    expect(below.message).toMatch(/stopLoss of a sell must be above/);
  });

  it("short: a take-profit one tick below the price passes; at or above fails", () => {
    const sell = { side: "sell" } as const;
    expect(evaluateRisk(request({ ...sell, takeProfit: price - 1n }), usage(), LIMITS).failures).toEqual([]);
    only(evaluateRisk(request({ ...sell, takeProfit: price }), usage(), LIMITS), "INVALID_EXIT_LEVELS");
    const above = only(
      evaluateRisk(request({ ...sell, takeProfit: price + 1n }), usage(), LIMITS),
      "INVALID_EXIT_LEVELS",
    );
    expect(above.message).toMatch(/takeProfit of a sell must be below/);
  });

  it("reports a wrong stop and a wrong target as two failures", () => {
    const decision = evaluateRisk(
      request({ side: "sell", stopLoss: price - 100n, takeProfit: price + 100n }),
      usage(),
      LIMITS,
    );
    expect(codes(decision)).toEqual(["INVALID_EXIT_LEVELS", "INVALID_EXIT_LEVELS"]);
  });
});

describe("NOTIONAL_EXCEEDED", () => {
  const limits = limitsWith({ maxNotionalPerOperation: "10000" });

  it("a notional of exactly 10000.00 passes", () => {
    // 12500.00 × 0.8000 = 10000.00
    const decision = evaluateRisk(request({ price: 1_250_000n, size: 8000n }), usage(), limits);
    expect(decision.failures).toEqual([]);
    expect(decision.notional).toBe(1_000_000n);
  });

  it("one cent more fails with limit and observed", () => {
    // 10000.01 × 1.0000
    const failure = only(
      evaluateRisk(request({ price: 1_000_001n, size: 10_000n }), usage(), limits),
      "NOTIONAL_EXCEEDED",
    );
    expect(failure).toMatchObject({ limit: "10000.00", observed: "10000.01" });
  });
});
