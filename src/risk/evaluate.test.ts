import { describe, expect, it } from "vitest";
import { evaluateRisk } from "./evaluate.js";
import { codes, limitsWith, LIMITS, NOW, only, request, usage } from "./evaluate.fixture.js";

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
