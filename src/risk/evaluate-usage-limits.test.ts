import { describe, expect, it } from "vitest";
import { multiply, parseFixed } from "../platform/fixed-point.js";
import { drawdownExceeds, drawdownRatio, evaluateRisk } from "./evaluate.js";
import { codes, limitsWith, LIMITS, NOW, only, request, usage } from "./evaluate.fixture.js";

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
