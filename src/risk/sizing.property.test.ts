import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Config } from "../config/schema.js";
import { formatFixed, multiply } from "../platform/fixed-point.js";
import { evaluateRisk } from "./evaluate.js";
import { only, request, usage } from "./evaluate.fixture.js";
import { buildLimits, RATIO_SCALE } from "./limits.js";
import { autoSize, type AutoSizeInput } from "./sizing.js";

const RUNS = { numRuns: 300 };
const INSTRUMENT = "XYZ-USD";
const HUGE = `1${"0".repeat(40)}`;

const p10 = (n: number): bigint => 10n ** BigInt(n);

/** An automatic-size request: scales, equity, the share at risk, a price and a stop on either side. */
const sizingCase = fc
  .record({
    moneyScale: fc.integer({ min: 0, max: 8 }),
    priceScale: fc.integer({ min: 0, max: 12 }),
    sizeScale: fc.integer({ min: 0, max: 12 }),
    equity: fc.bigInt({ min: -(10n ** 12n), max: 10n ** 15n }),
    riskPpm: fc.bigInt({ min: 0n, max: 1_000_000n }),
    price: fc.bigInt({ min: 2n, max: 10n ** 12n }),
    distance: fc.bigInt({ min: 1n, max: 10n ** 12n }),
    side: fc.constantFrom("buy" as const, "sell" as const),
  })
  .map((c) => {
    // A long's stop lies below the price (and above zero), a short's above it.
    const distance = c.side === "buy" ? 1n + ((c.distance - 1n) % (c.price - 1n)) : c.distance;
    const stopLoss = c.side === "buy" ? c.price - distance : c.price + distance;
    return { ...c, distance, stopLoss };
  });
type SizingCase = typeof sizingCase extends fc.Arbitrary<infer T> ? T : never;

const inputOf = (c: SizingCase): AutoSizeInput => ({
  equity: c.equity,
  moneyScale: c.moneyScale,
  riskPerOperation: c.riskPpm,
  entryPrice: c.price,
  stopLoss: c.stopLoss,
  priceScale: c.priceScale,
  sizeScale: c.sizeScale,
});

/**
 * The bounds of an automatic size, each compared exactly, as integers at one common scale:
 * - risk: |price − stop| × size (scale p + s) ≤ equity × risk (scale m + 6), the budget never
 *   below zero;
 * - notional: price × size (scale p + s) ≤ the cap (scale m), the exact product, as evaluate.ts
 *   caps it (the booked notional, rounded half-even, may still equal the cap one unit further);
 * - position: size ≤ maxPositionSize.
 */
function bounds(c: SizingCase, caps: { maxPositionSize: bigint; maxNotional: bigint }) {
  const budget = c.equity > 0n ? c.equity * c.riskPpm : 0n;
  return {
    risk: (size: bigint) =>
      c.distance * size * p10(c.moneyScale + RATIO_SCALE) <= budget * p10(c.priceScale + c.sizeScale),
    notional: (size: bigint) =>
      c.price * size * p10(c.moneyScale) <= caps.maxNotional * p10(c.priceScale + c.sizeScale),
    position: (size: bigint) => size <= caps.maxPositionSize,
  };
}

describe("autoSize", () => {
  it("risks at most the budget, and one more size unit would risk more", () => {
    fc.assert(
      fc.property(sizingCase, (c) => {
        const size = autoSize(inputOf(c));
        const { risk } = bounds(c, { maxPositionSize: 0n, maxNotional: 0n });
        expect(size).toBeGreaterThanOrEqual(0n);
        expect(risk(size)).toBe(true);
        expect(risk(size + 1n)).toBe(false);
        // Booked in money (each side rounded half-even once), the loss still fits the budget.
        const loss = multiply(c.distance, c.priceScale, size, c.sizeScale, c.moneyScale);
        const equity = c.equity > 0n ? c.equity : 0n;
        const budget = multiply(equity, c.moneyScale, c.riskPpm, RATIO_SCALE, c.moneyScale);
        expect(loss).toBeLessThanOrEqual(budget);
      }),
      RUNS,
    );
  });

  it("is the same for a long and a short at the same stop distance", () => {
    fc.assert(
      fc.property(sizingCase, (c) => {
        const input = inputOf(c);
        expect(autoSize({ ...input, stopLoss: c.price - c.distance })).toBe(
          autoSize({ ...input, stopLoss: c.price + c.distance }),
        );
      }),
      RUNS,
    );
  });

  it("buys no less with more equity or more risk, and no more with a further stop", () => {
    fc.assert(
      fc.property(
        sizingCase,
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.bigInt({ min: 1n, max: 10n ** 6n }),
        (c, more, further) => {
          const input = inputOf(c);
          const size = autoSize(input);
          expect(autoSize({ ...input, equity: c.equity + more })).toBeGreaterThanOrEqual(size);
          expect(autoSize({ ...input, riskPerOperation: c.riskPpm + more })).toBeGreaterThanOrEqual(size);
          const furtherStop = c.stopLoss < c.price ? c.stopLoss - further : c.stopLoss + further;
          expect(autoSize({ ...input, stopLoss: furtherStop })).toBeLessThanOrEqual(size);
        },
      ),
      RUNS,
    );
  });
});

describe('evaluateRisk with size "auto"', () => {
  const caps = fc.record({
    maxPositionSize: fc.bigInt({ min: 0n, max: 10n ** 15n }),
    maxNotional: fc.bigInt({ min: 0n, max: 10n ** 18n }),
  });

  it("sizes within the risk budget, maxPositionSize and the notional cap, and is the largest such size", () => {
    fc.assert(
      fc.property(sizingCase, caps, (c, cap) => {
        const limits = buildLimits(
          Config.parse({
            accounting: { startingEquity: "100000", precision: c.moneyScale },
            instruments: {
              [INSTRUMENT]: {
                pricePrecision: c.priceScale,
                sizePrecision: c.sizeScale,
                maxPositionSize: formatFixed(cap.maxPositionSize, c.sizeScale),
                initialPrice: "1",
              },
            },
            strategies: ["trend"],
            risk: {
              maxNotionalPerOperation: formatFixed(cap.maxNotional, c.moneyScale),
              maxExposure: { total: HUGE, perInstrument: HUGE },
              riskPerOperation: Number(c.riskPpm) / 1e6, // at most 6 places: exact
            },
          }),
        );
        const decision = evaluateRisk(
          request({
            instrument: INSTRUMENT,
            side: c.side,
            size: "auto",
            price: c.price,
            stopLoss: c.stopLoss,
          }),
          usage({ equity: c.equity, peakEquity: c.equity }),
          limits,
        );
        const { size } = decision;
        const within = bounds(c, cap);
        // A bigint count of size units: a whole multiple of the size unit, never negative.
        expect(size).toBeGreaterThanOrEqual(0n);
        expect(within.position(size)).toBe(true);
        expect(within.notional(size)).toBe(true);
        expect(decision.notional).toBeLessThanOrEqual(cap.maxNotional);
        expect(within.risk(size)).toBe(true);
        // Maximal: one more unit breaks at least one bound.
        const next = size + 1n;
        expect(within.position(next) && within.notional(next) && within.risk(next)).toBe(false);
        if (size > 0n) expect(decision.failures).toEqual([]);
        else only(decision, "AUTO_SIZE_TOO_SMALL");
      }),
      RUNS,
    );
  });
});
