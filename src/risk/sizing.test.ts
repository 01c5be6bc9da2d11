import { describe, expect, it } from "vitest";
import { pow10 } from "../platform/fixed-point.js";
import { RATIO_SCALE } from "./limits.js";
import { autoSize, type AutoSizeInput } from "./sizing.js";

/** 100 000.00 of equity, 1 % at risk, BTC-like scales (prices at 2, sizes at 4). */
function input(overrides: Partial<AutoSizeInput> = {}): AutoSizeInput {
  return {
    equity: 10_000_000n,
    moneyScale: 2,
    riskPerOperation: 10_000n,
    entryPrice: 6_500_000n,
    stopLoss: 6_400_000n,
    priceScale: 2,
    sizeScale: 4,
    ...overrides,
  };
}

describe("autoSize", () => {
  it("sizes so that hitting the stop loses exactly the budget when that divides evenly", () => {
    // 1000.00 ÷ 1000.00 = 1.0000
    expect(autoSize(input())).toBe(10_000n);
    // 1000.00 ÷ 250.00 = 4.0000
    expect(autoSize(input({ stopLoss: 6_475_000n }))).toBe(40_000n);
  });

  it("is the same for a long (stop below) and a short (stop above) at the same distance", () => {
    expect(autoSize(input({ stopLoss: 6_430_000n }))).toBe(autoSize(input({ stopLoss: 6_570_000n })));
  });

  it("rounds down to the size precision, never up", () => {
    // 1000 ÷ 700 = 1.4285714… → 1.4285 (half-up would give 1.4286)
    expect(autoSize(input({ stopLoss: 6_430_000n }))).toBe(14_285n);
    // 1000 ÷ 300 = 3.33333… → 3.3333
    expect(autoSize(input({ stopLoss: 6_470_000n }))).toBe(33_333n);
    // 1000 ÷ 600 = 1.666666… → 1.6666 (not 1.6667)
    expect(autoSize(input({ stopLoss: 6_440_000n }))).toBe(16_666n);
  });

  it("returns 0 for a zero stop distance", () => {
    expect(autoSize(input({ stopLoss: 6_500_000n }))).toBe(0n);
  });

  it("returns 0 for zero or negative equity", () => {
    expect(autoSize(input({ equity: 0n }))).toBe(0n);
    expect(autoSize(input({ equity: -1_000n }))).toBe(0n);
  });

  it("returns 0 when the budget buys less than one size unit", () => {
    // budget 0.10 (1 ppm of 100 000.00): exactly one unit at 1000.00, none at 1000.01
    expect(autoSize(input({ riskPerOperation: 1n }))).toBe(1n);
    expect(autoSize(input({ riskPerOperation: 1n, stopLoss: 6_399_999n }))).toBe(0n);
  });

  it("returns 0 for a zero risk budget", () => {
    expect(autoSize(input({ riskPerOperation: 0n }))).toBe(0n);
  });

  it.each([
    // [description, overrides, expected]
    [
      "whole prices and whole sizes",
      { moneyScale: 0, equity: 100_000n, priceScale: 0, sizeScale: 0, entryPrice: 150n, stopLoss: 147n },
      333n,
    ],
    [
      "SOL-like: prices at 3, sizes at 2",
      { priceScale: 3, sizeScale: 2, entryPrice: 150_000n, stopLoss: 147_000n },
      33_333n,
    ],
    ["money at 8 places", { moneyScale: 8, equity: 10_000_000_000_000n }, 10_000n],
    ["sizes at 8 places", { sizeScale: 8, stopLoss: 6_430_000n }, 142_857_142n],
    ["prices at 8 places", { priceScale: 8, entryPrice: 150_000_000n, stopLoss: 120_000_000n }, 33_333_333n],
    [
      "money at 0, prices at 5, sizes at 0",
      { moneyScale: 0, equity: 100_000n, priceScale: 5, sizeScale: 0, entryPrice: 100_000n, stopLoss: 1n },
      1000n,
    ],
  ] as const)("computes across precisions: %s", (_, overrides, expected) => {
    expect(autoSize(input(overrides))).toBe(expected);
  });

  it("never risks more than the budget, and one more unit would (random inputs)", () => {
    let seed = 12_345;
    const next = (bound: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return Math.floor((seed / 2_147_483_648) * bound);
    };
    for (let i = 0; i < 5000; i += 1) {
      const moneyScale = next(5);
      const priceScale = next(6);
      const sizeScale = next(7);
      const equity = BigInt(1 + next(1e9));
      const riskPerOperation = BigInt(1 + next(100_000));
      const entryPrice = BigInt(1 + next(1e8));
      const stopLoss = entryPrice + BigInt(next(2) === 0 ? -(1 + next(Number(entryPrice))) : 1 + next(1e6));
      const size = autoSize({
        equity,
        moneyScale,
        riskPerOperation,
        entryPrice,
        stopLoss,
        priceScale,
        sizeScale,
      });
      const distance = stopLoss > entryPrice ? stopLoss - entryPrice : entryPrice - stopLoss;
      if (distance === 0n) {
        expect(size).toBe(0n);
        continue;
      }
      // Compare at one common scale: size·distance at (s + p), budget at (m + 6).
      const risked = (s: bigint): bigint => s * distance * pow10(moneyScale + RATIO_SCALE);
      const budget = equity * riskPerOperation * pow10(sizeScale + priceScale);
      expect(size).toBeGreaterThanOrEqual(0n);
      expect(risked(size)).toBeLessThanOrEqual(budget);
      expect(risked(size + 1n)).toBeGreaterThan(budget);
    }
  });
});
