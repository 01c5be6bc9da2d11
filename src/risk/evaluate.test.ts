import { describe, expect, it } from "vitest";
import { Config, type ConfigInput } from "../config/schema.js";
import { multiply, parseFixed } from "../platform/fixed-point.js";
import type { RejectionCode, RiskFailure } from "./codes.js";
import {
  drawdownExceeds,
  drawdownRatio,
  evaluateRisk,
  type RiskDecision,
  type RiskRequest,
  type RiskUsage,
} from "./evaluate.js";
import { buildLimits, type RiskLimits } from "./limits.js";

const NOW = Date.UTC(2026, 0, 5, 12, 0, 0);

/** Generous limits, so a test trips only the control it is about. */
const BASE_RISK = {
  maxDailyOperations: { global: 100, perStrategy: 10 },
  maxNotionalPerOperation: "1000000",
  maxExposure: { total: "1000000", perInstrument: "1000000" },
  minOperationIntervalMs: 0,
  maxSubmitRate: { perSecond: 20, burst: 40 },
  maxDailyLoss: "5000",
  maxDrawdown: 0.1,
  lossStreak: { maxConsecutive: 3, cooldownSec: 60 },
  riskPerOperation: 0.01,
} satisfies ConfigInput["risk"];

function limitsWith(risk: ConfigInput["risk"] = {}): RiskLimits {
  return buildLimits(
    Config.parse({
      accounting: { startingEquity: "100000", precision: 2 },
      instruments: {
        // prices at 2 places, sizes at 4; 65000.00 is 6_500_000n and 0.1 BTC is 1000n
        "BTC-USD": { pricePrecision: 2, sizePrecision: 4, maxPositionSize: "2", initialPrice: "65000" },
        // prices at 3 places, sizes at 2
        "SOL-USD": { pricePrecision: 3, sizePrecision: 2, maxPositionSize: "500", initialPrice: "150" },
      },
      strategies: ["trend", "revert"],
      patterns: ["double-bottom"],
      risk: { ...BASE_RISK, ...risk },
    }),
  );
}

const LIMITS = limitsWith();

function request(overrides: Partial<RiskRequest> = {}): RiskRequest {
  return {
    strategy: "trend",
    instrument: "BTC-USD",
    pattern: null,
    side: "buy",
    size: 1000n,
    stopLoss: null,
    takeProfit: null,
    price: 6_500_000n,
    ...overrides,
  };
}

function usage(overrides: Partial<RiskUsage> = {}): RiskUsage {
  return {
    now: NOW,
    tradingState: "active",
    dailyOperations: 0,
    dailyOperationsOfStrategy: 0,
    exposureTotal: 0n,
    exposureOfInstrument: 0n,
    lastOperationAt: undefined,
    withinRate: true,
    submitTokens: 10,
    dailyLoss: 0n,
    equity: 10_000_000n,
    peakEquity: 10_000_000n,
    cooldownUntil: 0,
    ...overrides,
  };
}

const codes = (decision: RiskDecision): RejectionCode[] => decision.failures.map((f) => f.code);

function only(decision: RiskDecision, code: RejectionCode): RiskFailure {
  expect(codes(decision)).toEqual([code]);
  return decision.failures[0]!;
}

describe("evaluateRisk: a request within every limit", () => {
  it("passes with the asked size and notional = price × size at the money scale", () => {
    const decision = evaluateRisk(request(), usage(), LIMITS);
    expect(decision).toEqual({ failures: [], size: 1000n, notional: 650_000n }); // 65000.00 × 0.1000
  });
});

describe("TRADING_HALTED", () => {
  it("rejects everything while halted, without limit or observed", () => {
    const failure = only(
      evaluateRisk(request(), usage({ tradingState: "halted" }), LIMITS),
      "TRADING_HALTED",
    );
    expect(failure.message).toMatch(/halted/);
  });
});

describe("TRADING_REDUCING", () => {
  it("rejects new operations while reducing", () => {
    only(evaluateRisk(request(), usage({ tradingState: "reducing" }), LIMITS), "TRADING_REDUCING");
  });
});

describe("DAILY_OPERATIONS_EXCEEDED", () => {
  it("global: the 100th operation of the day passes, the 101st fails", () => {
    expect(evaluateRisk(request(), usage({ dailyOperations: 99 }), LIMITS).failures).toEqual([]);
    const failure = only(
      evaluateRisk(request(), usage({ dailyOperations: 100 }), LIMITS),
      "DAILY_OPERATIONS_EXCEEDED",
    );
    expect(failure).toMatchObject({ limit: 100, observed: 101 });
  });

  it("per strategy: the 10th operation of the strategy passes, the 11th fails and names it", () => {
    const at = usage({ dailyOperations: 9, dailyOperationsOfStrategy: 9 });
    expect(evaluateRisk(request(), at, LIMITS).failures).toEqual([]);
    const beyond = usage({ dailyOperations: 10, dailyOperationsOfStrategy: 10 });
    const failure = only(evaluateRisk(request(), beyond, LIMITS), "DAILY_OPERATIONS_EXCEEDED");
    expect(failure).toMatchObject({ limit: 10, observed: 11 });
    expect(failure.message).toContain("trend");
  });

  it("reports the global and the per-strategy limits as two separate failures", () => {
    const decision = evaluateRisk(
      request(),
      usage({ dailyOperations: 100, dailyOperationsOfStrategy: 10 }),
      LIMITS,
    );
    expect(codes(decision)).toEqual(["DAILY_OPERATIONS_EXCEEDED", "DAILY_OPERATIONS_EXCEEDED"]);
    expect(decision.failures.map((f) => f.limit).sort()).toEqual([10, 100]);
    expect(decision.failures.map((f) => f.observed).sort()).toEqual([101, 11]);
  });
});

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

describe("EXPOSURE_EXCEEDED", () => {
  /** A small PRNG, so the "every time" loops are reproducible. */
  function lcg(seed: number): () => number {
    let state = seed;
    return () => {
      state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
      return state / 2_147_483_648;
    };
  }

  describe("total", () => {
    const limits = limitsWith({ maxExposure: { total: "10000", perInstrument: "1000000" } });

    it("an exposure reaching exactly 10000.00 passes every time; 10000.01 fails every time", () => {
      const random = lcg(42);
      for (let i = 0; i < 2000; i += 1) {
        const open = BigInt(Math.floor(random() * 999_999)); // 0.00 .. 9999.98 already open
        const price = 1_000_000n - open; // a 1.0000 size at this price fills the limit to the cent
        const at = evaluateRisk(request({ price, size: 10_000n }), usage({ exposureTotal: open }), limits);
        expect(at.failures).toEqual([]);
        const beyond = evaluateRisk(
          request({ price, size: 10_000n }),
          usage({ exposureTotal: open + 1n }),
          limits,
        );
        expect(only(beyond, "EXPOSURE_EXCEEDED")).toMatchObject({ limit: "10000.00", observed: "10000.01" });
      }
    });

    it("3333.33 + 3333.33 + 3333.34 is exactly the limit (no float rounding)", () => {
      const open = multiply(parseFixed(3333.33, 2), 2, 10_000n, 4, 2) * 2n;
      const decision = evaluateRisk(
        request({ price: parseFixed("3333.34", 2), size: 10_000n }),
        usage({ exposureTotal: open }),
        limits,
      );
      expect(decision.failures).toEqual([]);
    });
  });

  describe("per instrument", () => {
    const limits = limitsWith({ maxExposure: { total: "1000000", perInstrument: "8000" } });

    it("an instrument's exposure reaching exactly 8000.00 passes; 8000.01 fails and names it", () => {
      const at = evaluateRisk(
        request({ price: 100_000n, size: 10_000n }),
        usage({ exposureOfInstrument: 700_000n }),
        limits,
      );
      expect(at.failures).toEqual([]);
      const beyond = evaluateRisk(
        request({ price: 100_001n, size: 10_000n }),
        usage({ exposureOfInstrument: 700_000n }),
        limits,
      );
      const failure = only(beyond, "EXPOSURE_EXCEEDED");
      expect(failure).toMatchObject({ limit: "8000.00", observed: "8000.01" });
      expect(failure.message).toContain("BTC-USD");
    });

    it("passes every time at exactly the limit", () => {
      const random = lcg(7);
      for (let i = 0; i < 2000; i += 1) {
        const open = BigInt(Math.floor(random() * 799_999));
        const decision = evaluateRisk(
          request({ price: 800_000n - open, size: 10_000n }),
          usage({ exposureOfInstrument: open }),
          limits,
        );
        expect(decision.failures).toEqual([]);
      }
    });
  });

  it("reports total and per-instrument as two failures when both are crossed", () => {
    const limits = limitsWith({ maxExposure: { total: "10000", perInstrument: "5000" } });
    const decision = evaluateRisk(
      request({ price: 100_000n, size: 10_000n }), // 1000.00
      usage({ exposureTotal: 950_000n, exposureOfInstrument: 450_000n }),
      limits,
    );
    expect(codes(decision)).toEqual(["EXPOSURE_EXCEEDED", "EXPOSURE_EXCEEDED"]);
    expect(decision.failures.map((f) => [f.limit, f.observed])).toEqual([
      ["10000.00", "10500.00"],
      ["5000.00", "5500.00"],
    ]);
  });
});

describe("OPERATION_INTERVAL", () => {
  const limits = limitsWith({ minOperationIntervalMs: 1000 });

  it("exactly the minimum interval passes; one millisecond less fails", () => {
    expect(evaluateRisk(request(), usage({ lastOperationAt: NOW - 1000 }), limits).failures).toEqual([]);
    const failure = only(
      evaluateRisk(request(), usage({ lastOperationAt: NOW - 999 }), limits),
      "OPERATION_INTERVAL",
    );
    expect(failure).toMatchObject({ limit: 1000, observed: 999 });
  });

  it("passes when the instrument has no previous operation", () => {
    expect(evaluateRisk(request(), usage({ lastOperationAt: undefined }), limits).failures).toEqual([]);
  });
});

describe("RATE_LIMITED", () => {
  it("passes with a token and fails without one, reporting the rate as the limit", () => {
    expect(evaluateRisk(request(), usage({ withinRate: true }), LIMITS).failures).toEqual([]);
    const failure = only(evaluateRisk(request(), usage({ withinRate: false }), LIMITS), "RATE_LIMITED");
    expect(failure.limit).toBe(20);
  });

  // DESIGN §2: "All failed checks are reported … each with the limit and the observed value."
  it("reports an observed value alongside the limit", () => {
    const failure = only(
      evaluateRisk(request(), usage({ withinRate: false, submitTokens: 0.456 }), LIMITS),
      "RATE_LIMITED",
    );
    expect(failure.observed).toBe(0.45);
  });
});

describe("DAILY_LOSS_EXCEEDED", () => {
  it("a daily loss of exactly 5000.00 passes; 5000.01 fails", () => {
    expect(evaluateRisk(request(), usage({ dailyLoss: 500_000n }), LIMITS).failures).toEqual([]);
    const failure = only(
      evaluateRisk(request(), usage({ dailyLoss: 500_001n }), LIMITS),
      "DAILY_LOSS_EXCEEDED",
    );
    expect(failure).toMatchObject({ limit: "5000.00", observed: "5000.01" });
  });
});

describe("DRAWDOWN_EXCEEDED", () => {
  it("a drawdown of exactly maxDrawdown passes; one cent more fails", () => {
    const peak = 100_000n; // 1000.00
    expect(evaluateRisk(request(), usage({ peakEquity: peak, equity: 90_000n }), LIMITS).failures).toEqual(
      [],
    );
    const failure = only(
      evaluateRisk(request(), usage({ peakEquity: peak, equity: 89_999n }), LIMITS),
      "DRAWDOWN_EXCEEDED",
    );
    expect(failure).toMatchObject({ limit: "0.100000", observed: "0.100010" });
  });

  it("compares exactly where a float ratio would be just above the limit", () => {
    // (100000.10 − 90000.09) ÷ 100000.10 is 0.1 exactly, but 0.10000000000000009 in floats.
    const peak = 10_000_010n;
    const equity = 9_000_009n;
    expect((10_000_010 / 100 - 9_000_009 / 100) / (10_000_010 / 100)).toBeGreaterThan(0.1);
    expect(evaluateRisk(request(), usage({ peakEquity: peak, equity }), LIMITS).failures).toEqual([]);
  });
});

describe("LOSS_STREAK_COOLDOWN", () => {
  it("a cooldown that ends now passes; one that ends a millisecond later fails", () => {
    expect(evaluateRisk(request(), usage({ cooldownUntil: NOW }), LIMITS).failures).toEqual([]);
    const failure = only(
      evaluateRisk(request(), usage({ cooldownUntil: NOW + 1 }), LIMITS),
      "LOSS_STREAK_COOLDOWN",
    );
    expect(failure).toMatchObject({ limit: 3, observed: "1s left" });
  });

  it("reports the time left in whole seconds, rounded up", () => {
    const failure = only(
      evaluateRisk(request(), usage({ cooldownUntil: NOW + 59_001 }), LIMITS),
      "LOSS_STREAK_COOLDOWN",
    );
    expect(failure.observed).toBe("60s left");
  });
});

describe("UNKNOWN_INSTRUMENT", () => {
  it("rejects an undeclared instrument with size and notional 0", () => {
    const decision = evaluateRisk(request({ instrument: "DOGE-USD", price: null }), usage(), LIMITS);
    expect(only(decision, "UNKNOWN_INSTRUMENT").observed).toBe("DOGE-USD");
    expect(decision.size).toBe(0n);
    expect(decision.notional).toBe(0n);
  });
});

describe("UNKNOWN_STRATEGY", () => {
  it("rejects an undeclared strategy and names it", () => {
    expect(
      only(evaluateRisk(request({ strategy: "ghost" }), usage(), LIMITS), "UNKNOWN_STRATEGY").observed,
    ).toBe("ghost");
  });
});

describe("UNKNOWN_PATTERN", () => {
  it("passes no pattern or a declared one; rejects an undeclared one", () => {
    expect(evaluateRisk(request({ pattern: null }), usage(), LIMITS).failures).toEqual([]);
    expect(evaluateRisk(request({ pattern: "double-bottom" }), usage(), LIMITS).failures).toEqual([]);
    expect(
      only(evaluateRisk(request({ pattern: "triangle" }), usage(), LIMITS), "UNKNOWN_PATTERN").observed,
    ).toBe("triangle");
  });
});

describe("many failures at once", () => {
  it("reports every failed check, not only the first", () => {
    const limits = limitsWith({
      minOperationIntervalMs: 1000,
      maxNotionalPerOperation: "10000",
      maxExposure: { total: "20000", perInstrument: "15000" },
    });
    const decision = evaluateRisk(
      request({ strategy: "ghost", pattern: "triangle", size: 30_000n, stopLoss: 6_600_000n }),
      usage({
        tradingState: "halted",
        withinRate: false,
        dailyOperations: 100,
        dailyOperationsOfStrategy: 10,
        dailyLoss: 600_000n,
        equity: 8_000_000n,
        peakEquity: 10_000_000n,
        cooldownUntil: NOW + 10_000,
        lastOperationAt: NOW - 10,
      }),
      limits,
    );
    expect([...codes(decision)].sort()).toEqual(
      [
        "TRADING_HALTED",
        "UNKNOWN_STRATEGY",
        "UNKNOWN_PATTERN",
        "RATE_LIMITED",
        "DAILY_OPERATIONS_EXCEEDED",
        "DAILY_OPERATIONS_EXCEEDED",
        "DAILY_LOSS_EXCEEDED",
        "DRAWDOWN_EXCEEDED",
        "LOSS_STREAK_COOLDOWN",
        "OPERATION_INTERVAL",
        "INVALID_EXIT_LEVELS",
        "POSITION_SIZE_EXCEEDED",
        "NOTIONAL_EXCEEDED",
        "EXPOSURE_EXCEEDED",
        "EXPOSURE_EXCEEDED",
      ].sort(),
    );
    for (const failure of decision.failures) expect(failure.message.length).toBeGreaterThan(0);
  });
});

describe("drawdownExceeds and drawdownRatio", () => {
  it("are zero/false at or above the peak and for a non-positive peak", () => {
    expect(drawdownExceeds(100n, 100n, 0n)).toBe(false);
    expect(drawdownExceeds(150n, 100n, 0n)).toBe(false);
    expect(drawdownExceeds(-5n, 0n, 0n)).toBe(false);
    expect(drawdownRatio(100n, 100n)).toBe(0n);
    expect(drawdownRatio(150n, 100n)).toBe(0n);
    expect(drawdownRatio(-5n, 0n)).toBe(0n);
    expect(drawdownRatio(-5n, -1n)).toBe(0n);
  });

  it("compares (peak − equity) ÷ peak with the limit exactly", () => {
    expect(drawdownExceeds(900n, 1000n, 100_000n)).toBe(false); // exactly 0.1
    expect(drawdownExceeds(899n, 1000n, 100_000n)).toBe(true);
    // 1 ÷ 3 = 0.333333… is beyond 333 333 ppm even though it rounds to it
    expect(drawdownExceeds(2n, 3n, 333_333n)).toBe(true);
    expect(drawdownExceeds(2n, 3n, 333_334n)).toBe(false);
    // any fall at all is beyond a zero limit
    expect(drawdownExceeds(999_999n, 1_000_000n, 0n)).toBe(true);
  });

  it("rounds the ratio to parts per million, half-even", () => {
    expect(drawdownRatio(900n, 1000n)).toBe(100_000n);
    expect(drawdownRatio(2n, 3n)).toBe(333_333n); // 333 333.33…
    expect(drawdownRatio(1n, 3n)).toBe(666_667n); // 666 666.67…
    expect(drawdownRatio(1_999_999n, 2_000_000n)).toBe(0n); // 0.5 → 0
    expect(drawdownRatio(1_999_997n, 2_000_000n)).toBe(2n); // 1.5 → 2
    expect(drawdownRatio(0n, 1000n)).toBe(1_000_000n);
    expect(drawdownRatio(-500n, 1000n)).toBe(1_500_000n);
  });
});
