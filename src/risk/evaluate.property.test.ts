import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Config, type ConfigInput } from "../config/schema.js";
import { divRound, formatFixed, multiply } from "../platform/fixed-point.js";
import type { RejectionCode } from "./codes.js";
import { evaluateRisk, type RiskDecision } from "./evaluate.js";
import { codes, NOW, only, request, usage } from "./evaluate.fixture.js";
import { buildLimits, RATIO_SCALE, type RiskLimits } from "./limits.js";
import { takeToken, type TokenBucket } from "./token-bucket.js";

const RUNS = { numRuns: 150 };
const INSTRUMENT = "XYZ-USD";
/** 10^24 whole units of money: far above any amount generated here, so it trips nothing by itself. */
const HUGE = `1${"0".repeat(24)}`;

/** Limits generous enough that a property trips only the control it is about. */
const GENEROUS = {
  maxDailyOperations: { global: 1_000_000_000, perStrategy: 1_000_000_000 },
  maxNotionalPerOperation: HUGE,
  maxExposure: { total: HUGE, perInstrument: HUGE },
  minOperationIntervalMs: 0,
  maxSubmitRate: { perSecond: 20, burst: 40 },
  maxDailyLoss: HUGE,
  maxDrawdown: 1,
  lossStreak: { maxConsecutive: 3, cooldownSec: 60 },
  riskPerOperation: 0.01,
} satisfies ConfigInput["risk"];

/** One instrument at generated precisions, and the price and size of a request on it. */
const market = fc.record({
  moneyScale: fc.integer({ min: 0, max: 8 }),
  priceScale: fc.integer({ min: 0, max: 12 }),
  sizeScale: fc.integer({ min: 0, max: 12 }),
  price: fc.bigInt({ min: 2n, max: 10n ** 12n }),
  size: fc.bigInt({ min: 2n, max: 10n ** 12n }),
});
type Market = typeof market extends fc.Arbitrary<infer T> ? T : never;

/** Limits built from config text the way the service builds them, with `risk` laid over GENEROUS. */
function limitsFor(
  m: Market,
  risk: ConfigInput["risk"] = {},
  maxPositionSize = formatFixed(m.size * 10n, m.sizeScale),
): RiskLimits {
  return buildLimits(
    Config.parse({
      accounting: { startingEquity: "100000", precision: m.moneyScale },
      instruments: {
        [INSTRUMENT]: {
          pricePrecision: m.priceScale,
          sizePrecision: m.sizeScale,
          maxPositionSize,
          initialPrice: "1",
        },
      },
      strategies: ["trend", "revert"],
      patterns: ["double-bottom"],
      risk: { ...GENEROUS, ...risk },
    }),
  );
}

/** The request of a market: a buy of its size at its price, with no exits. */
const requestOf = (m: Market, size = m.size) => request({ instrument: INSTRUMENT, price: m.price, size });
/** Price × size at the money scale, as the ledger books it (fixed-point.ts has its own properties). */
const notionalOf = (m: Market, size = m.size): bigint =>
  multiply(m.price, m.priceScale, size, m.sizeScale, m.moneyScale);
const money = (m: Market, value: bigint): string => formatFixed(value, m.moneyScale);
const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));

/** −1: one unit on the safe side of the limit; 0: exactly at it; +1: one unit beyond it. */
type Step = -1n | 0n | 1n;

/**
 * Asserts the boundary of one control: one unit inside and exactly at the limit pass, one unit
 * beyond fails with that control's code alone, carrying its limit and the observed value.
 */
function expectBoundary(
  decide: (step: Step) => RiskDecision,
  code: RejectionCode,
  limit: string | number,
  observed: string | number,
): void {
  expect(decide(-1n).failures).toEqual([]);
  expect(decide(0n).failures).toEqual([]);
  expect(only(decide(1n), code)).toEqual(expect.objectContaining({ limit, observed }));
}

describe("every numeric limit: at and one unit inside pass, one unit beyond fails with limit and observed", () => {
  it.each([
    ["all strategies", "global", "all strategies"],
    ["per strategy", "perStrategy", "strategy trend"],
  ] as const)("DAILY_OPERATIONS_EXCEEDED, %s (one unit: one operation)", (_, key, names) => {
    fc.assert(
      fc.property(market, fc.integer({ min: 2, max: 1_000_000 }), (m, limit) => {
        const maxDailyOperations = { global: 1_000_000_000, perStrategy: 1_000_000_000, [key]: limit };
        const limits = limitsFor(m, { maxDailyOperations });
        // The request is operation number count + 1 of the day (for the strategy and in all).
        const decide = (step: Step) => {
          const count = limit - 1 + Number(step);
          const counts = { dailyOperations: count, dailyOperationsOfStrategy: count };
          return evaluateRisk(requestOf(m), usage(counts), limits);
        };
        expectBoundary(decide, "DAILY_OPERATIONS_EXCEEDED", limit, limit + 1);
        expect(only(decide(1n), "DAILY_OPERATIONS_EXCEEDED").message).toContain(names);
      }),
      RUNS,
    );
  });

  it("POSITION_SIZE_EXCEEDED (one unit: one size unit)", () => {
    fc.assert(
      fc.property(market, (m) => {
        const cap = m.size;
        const limits = limitsFor(m, {}, formatFixed(cap, m.sizeScale));
        const decide = (step: Step) => evaluateRisk(requestOf(m, cap + step), usage(), limits);
        expectBoundary(
          decide,
          "POSITION_SIZE_EXCEEDED",
          formatFixed(cap, m.sizeScale),
          formatFixed(cap + 1n, m.sizeScale),
        );
      }),
      RUNS,
    );
  });

  it("NOTIONAL_EXCEEDED (one unit: one money unit)", () => {
    fc.assert(
      fc.property(market, (m) => {
        const notional = notionalOf(m);
        fc.pre(notional >= 1n);
        // Here the request stays and the limit moves: limit = notional − step.
        const decide = (step: Step) =>
          evaluateRisk(
            requestOf(m),
            usage(),
            limitsFor(m, { maxNotionalPerOperation: money(m, notional - step) }),
          );
        expectBoundary(decide, "NOTIONAL_EXCEEDED", money(m, notional - 1n), money(m, notional));
        expect(decide(0n).notional).toBe(notional);
      }),
      RUNS,
    );
  });

  const exposureCase = fc.tuple(market, fc.bigInt({ min: 1n, max: 10n ** 15n }));

  it.each([
    ["all instruments", "exposureTotal", "total", "all instruments"],
    ["per instrument", "exposureOfInstrument", "perInstrument", INSTRUMENT],
  ] as const)("EXPOSURE_EXCEEDED, %s (open exposure + this notional)", (_, open, key, names) => {
    fc.assert(
      fc.property(exposureCase, ([m, headroom]) => {
        const notional = notionalOf(m);
        const limit = notional + headroom;
        const limits = limitsFor(m, {
          maxExposure: { total: HUGE, perInstrument: HUGE, [key]: money(m, limit) },
        });
        const decide = (step: Step) =>
          evaluateRisk(requestOf(m), usage({ [open]: limit - notional + step }), limits);
        expectBoundary(decide, "EXPOSURE_EXCEEDED", money(m, limit), money(m, limit + 1n));
        expect(only(decide(1n), "EXPOSURE_EXCEEDED").message).toContain(names);
      }),
      RUNS,
    );
  });

  it("OPERATION_INTERVAL (one unit: one millisecond; beyond means too soon)", () => {
    fc.assert(
      fc.property(market, fc.integer({ min: 1, max: 1_000_000_000 }), (m, interval) => {
        const limits = limitsFor(m, { minOperationIntervalMs: interval });
        const decide = (step: Step) =>
          evaluateRisk(requestOf(m), usage({ lastOperationAt: NOW - interval + Number(step) }), limits);
        expectBoundary(decide, "OPERATION_INTERVAL", interval, interval - 1);
      }),
      RUNS,
    );
  });

  it("DAILY_LOSS_EXCEEDED (one unit: one money unit)", () => {
    fc.assert(
      fc.property(market, fc.bigInt({ min: 1n, max: 10n ** 15n }), (m, limit) => {
        const limits = limitsFor(m, { maxDailyLoss: money(m, limit) });
        const decide = (step: Step) => evaluateRisk(requestOf(m), usage({ dailyLoss: limit + step }), limits);
        expectBoundary(decide, "DAILY_LOSS_EXCEEDED", money(m, limit), money(m, limit + 1n));
      }),
      RUNS,
    );
  });

  it("DRAWDOWN_EXCEEDED (one unit: one money unit of equity below the peak)", () => {
    const drawdownCase = fc.record({
      m: market,
      ppm: fc.bigInt({ min: 0n, max: 1_000_000n }),
      k: fc.bigInt({ min: 1n, max: 10n ** 6n }),
    });
    fc.assert(
      fc.property(drawdownCase, ({ m, ppm, k }) => {
        // A peak whose fall of exactly `ppm` parts per million is a whole number of money units.
        const g = gcd(ppm, 1_000_000n);
        const peak = (k * 1_000_000n) / g;
        const atLimit = peak - (k * ppm) / g;
        const limits = limitsFor(m, { maxDrawdown: Number(ppm) / 1e6 });
        const decide = (step: Step) =>
          evaluateRisk(requestOf(m), usage({ peakEquity: peak, equity: atLimit - step }), limits);
        // The observed ratio is reported in ppm rounded up: a breach never reads as equal to its limit.
        const observedPpm = divRound((peak - atLimit + 1n) * 1_000_000n, peak, "up");
        expectBoundary(
          decide,
          "DRAWDOWN_EXCEEDED",
          formatFixed(ppm, RATIO_SCALE),
          formatFixed(observedPpm, RATIO_SCALE),
        );
      }),
      RUNS,
    );
  });

  it("LOSS_STREAK_COOLDOWN (one unit: one millisecond of cooldown left)", () => {
    const streakCase = fc.tuple(
      market,
      fc.integer({ min: 1, max: 100 }),
      fc.integer({ min: 1, max: 10_000_000 }),
    );
    fc.assert(
      fc.property(streakCase, ([m, maxConsecutive, left]) => {
        const limits = limitsFor(m, { lossStreak: { maxConsecutive, cooldownSec: 60 } });
        const decide = (step: Step) =>
          evaluateRisk(requestOf(m), usage({ cooldownUntil: NOW + Number(step) }), limits);
        expectBoundary(decide, "LOSS_STREAK_COOLDOWN", maxConsecutive, "1s left");
        // Further into the cooldown, the time left is reported in whole seconds, rounded up.
        const failure = only(
          evaluateRisk(requestOf(m), usage({ cooldownUntil: NOW + left }), limits),
          "LOSS_STREAK_COOLDOWN",
        );
        expect(failure).toMatchObject({ limit: maxConsecutive, observed: `${Math.ceil(left / 1000)}s left` });
      }),
      RUNS,
    );
  });

  it("RATE_LIMITED (one unit: one submit within the same instant; the bucket holds `burst`)", () => {
    const rateCase = fc.tuple(market, fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 2, max: 200 }));
    fc.assert(
      fc.property(rateCase, ([m, perSecond, burst]) => {
        const limits = limitsFor(m, { maxSubmitRate: { perSecond, burst } });
        // Submit number burst + step at one instant, from a full bucket, as RiskLedger.spendSubmitToken does.
        const decide = (step: Step) => {
          let bucket: TokenBucket | undefined;
          let allowed = false;
          for (let i = 0; i < burst + Number(step); i += 1) {
            ({ allowed, bucket } = takeToken(bucket, NOW, perSecond, burst));
          }
          return evaluateRisk(
            requestOf(m),
            usage({ withinRate: allowed, submitTokens: bucket?.tokens }),
            limits,
          );
        };
        expectBoundary(decide, "RATE_LIMITED", perSecond, 0);
      }),
      RUNS,
    );
  });
});

/**
 * Controls that can be broken one at a time, each by one unit beyond its limit, with the code it
 * fails with and whether it can be judged without a known instrument.
 */
const CONTROLS = {
  unknownStrategy: { code: "UNKNOWN_STRATEGY", needsInstrument: false },
  unknownPattern: { code: "UNKNOWN_PATTERN", needsInstrument: false },
  rate: { code: "RATE_LIMITED", needsInstrument: false },
  dailyOperations: { code: "DAILY_OPERATIONS_EXCEEDED", needsInstrument: false },
  dailyOperationsOfStrategy: { code: "DAILY_OPERATIONS_EXCEEDED", needsInstrument: false },
  dailyLoss: { code: "DAILY_LOSS_EXCEEDED", needsInstrument: false },
  drawdown: { code: "DRAWDOWN_EXCEEDED", needsInstrument: false },
  cooldown: { code: "LOSS_STREAK_COOLDOWN", needsInstrument: false },
  interval: { code: "OPERATION_INTERVAL", needsInstrument: true },
  stopLoss: { code: "INVALID_EXIT_LEVELS", needsInstrument: true },
  takeProfit: { code: "INVALID_EXIT_LEVELS", needsInstrument: true },
  positionSize: { code: "POSITION_SIZE_EXCEEDED", needsInstrument: true },
  notional: { code: "NOTIONAL_EXCEEDED", needsInstrument: true },
  exposureTotal: { code: "EXPOSURE_EXCEEDED", needsInstrument: true },
  exposureOfInstrument: { code: "EXPOSURE_EXCEEDED", needsInstrument: true },
} as const satisfies Record<string, { code: RejectionCode; needsInstrument: boolean }>;
type Control = keyof typeof CONTROLS;
const ALL_CONTROLS = Object.keys(CONTROLS) as Control[];
const codeOf = (control: Control): RejectionCode => CONTROLS[control].code;

const TRADING_CODE = { active: [], reducing: ["TRADING_REDUCING"], halted: ["TRADING_HALTED"] } as const;

const mixedCase = fc.record({
  m: market,
  side: fc.constantFrom("buy" as const, "sell" as const),
  tradingState: fc.constantFrom("active" as const, "reducing" as const, "halted" as const),
  perStrategy: fc.integer({ min: 1, max: 1000 }),
  globalExtra: fc.integer({ min: 1, max: 1000 }),
  headroom: fc.bigInt({ min: 0n, max: 10n ** 12n }),
  dailyLoss: fc.bigInt({ min: 0n, max: 10n ** 12n }),
  ppm: fc.bigInt({ min: 0n, max: 999_999n }),
  interval: fc.integer({ min: 1, max: 1_000_000 }),
});
type MixedCase = typeof mixedCase extends fc.Arbitrary<infer T> ? T : never;

/**
 * One request with its usage and limits in which every control in `broken` is one unit beyond
 * its limit and every other control sits exactly at its limit.
 */
function decideMixed(c: MixedCase, broken: ReadonlySet<Control>, instrument = INSTRUMENT): RiskDecision {
  const { m, side } = c;
  const beyond = (control: Control): bigint => (broken.has(control) ? 1n : 0n);
  const size = m.size + beyond("positionSize");
  const notional = notionalOf(m, size);
  const global = c.perStrategy + c.globalExtra;
  const peak = 1_000_000n * 100n;
  const long = side === "buy";
  // Exits one tick on the right side of the price, or exactly at it (which is the wrong side).
  const stopLoss = broken.has("stopLoss") ? m.price : long ? m.price - 1n : m.price + 1n;
  const takeProfit = broken.has("takeProfit") ? m.price : long ? m.price + 1n : m.price - 1n;
  const limits = limitsFor(
    m,
    {
      maxDailyOperations: { global, perStrategy: c.perStrategy },
      maxNotionalPerOperation: money(m, notional - beyond("notional")),
      maxExposure: { total: money(m, notional + c.headroom), perInstrument: money(m, notional + c.headroom) },
      minOperationIntervalMs: c.interval,
      maxDailyLoss: money(m, c.dailyLoss),
      maxDrawdown: Number(c.ppm) / 1e6,
      lossStreak: { maxConsecutive: 3, cooldownSec: 60 },
    },
    formatFixed(m.size, m.sizeScale),
  );
  return evaluateRisk(
    request({
      strategy: broken.has("unknownStrategy") ? "ghost" : "trend",
      instrument,
      pattern: broken.has("unknownPattern") ? "triangle" : "double-bottom",
      side,
      size,
      stopLoss,
      takeProfit,
      price: instrument === INSTRUMENT ? m.price : null,
    }),
    usage({
      tradingState: c.tradingState,
      withinRate: !broken.has("rate"),
      submitTokens: 0.5,
      dailyOperations: global - 1 + Number(beyond("dailyOperations")),
      dailyOperationsOfStrategy: c.perStrategy - 1 + Number(beyond("dailyOperationsOfStrategy")),
      dailyLoss: c.dailyLoss + beyond("dailyLoss"),
      peakEquity: peak,
      // peak × ppm ÷ 10^6 is whole: exactly the limit, or one money unit further down.
      equity: peak - 100n * c.ppm - beyond("drawdown"),
      cooldownUntil: NOW + Number(beyond("cooldown")),
      lastOperationAt: NOW - c.interval + Number(beyond("interval")),
      exposureTotal: c.headroom + beyond("exposureTotal"),
      exposureOfInstrument: c.headroom + beyond("exposureOfInstrument"),
    }),
    limits,
  );
}

const sorted = (list: readonly string[]): string[] => [...list].sort();

describe("the decision lists every failed control, not only the first", () => {
  it("breaking any subset of controls fails exactly those controls", () => {
    fc.assert(
      fc.property(mixedCase, fc.subarray(ALL_CONTROLS), (c, subset) => {
        fc.pre(notionalOf(c.m, c.m.size) >= 1n); // a notional limit one unit below it must exist
        const decision = decideMixed(c, new Set(subset));
        const expected = [...TRADING_CODE[c.tradingState], ...subset.map(codeOf)];
        expect(sorted(codes(decision))).toEqual(sorted(expected));
        for (const failure of decision.failures) expect(failure.message.length).toBeGreaterThan(0);
      }),
      RUNS,
    );
  });

  it("an unknown instrument is still judged on every control that does not need it", () => {
    fc.assert(
      fc.property(
        mixedCase,
        fc.subarray(ALL_CONTROLS.filter((control) => !CONTROLS[control].needsInstrument)),
        (c, subset) => {
          fc.pre(notionalOf(c.m, c.m.size) >= 1n);
          const decision = decideMixed(c, new Set(subset), "NOPE-USD");
          const expected = [...TRADING_CODE[c.tradingState], ...subset.map(codeOf), "UNKNOWN_INSTRUMENT"];
          expect(sorted(codes(decision))).toEqual(sorted(expected));
          expect(decision).toMatchObject({ size: 0n, notional: 0n });
        },
      ),
      RUNS,
    );
  });
});
