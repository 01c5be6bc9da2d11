import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  FixedPointError,
  divRound,
  formatFixed,
  multiply,
  parseFixed,
  rescale,
  toNumber,
  type Rounding,
} from "./fixed-point.js";

/** Enough runs to reach the corners (scale 0, zero, ties), few enough to keep the file well under a second. */
const RUNS = { numRuns: 500 };
const ROUNDINGS: readonly Rounding[] = ["half-even", "down", "up"];

const scale = fc.integer({ min: 0, max: 18 });
const units = fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n });
const rounding = fc.constantFrom(...ROUNDINGS);
const nonZero = fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }).filter((d) => d !== 0n);

/** A decimal as text, with its parts kept so the expected value can be derived from them. */
interface Decimal {
  text: string;
  negative: boolean;
  whole: string;
  fraction: string;
}

/**
 * Decimal text as a client may write it: optional sign, leading zeros, padding, up to
 * `maxFraction` places followed by up to `maxZeros` more zeros.
 */
function decimal(maxFraction: number, maxZeros = 0): fc.Arbitrary<Decimal> {
  return fc
    .record({
      sign: fc.constantFrom("", "+", "-"),
      whole: fc.stringMatching(/^[0-9]{1,24}$/),
      digits: fc.stringMatching(new RegExp(`^[0-9]{0,${maxFraction}}$`)),
      zeros: fc.integer({ min: 0, max: maxZeros }),
      pad: fc.constantFrom("", " ", "  "),
    })
    .map(({ sign, whole, digits, zeros, pad }) => {
      const fraction = digits + "0".repeat(zeros);
      const text = `${pad}${sign}${whole}${fraction ? `.${fraction}` : ""}${pad}`;
      return { text, negative: sign === "-", whole, fraction };
    });
}

/**
 * The reference rounding of `n ÷ d` (d > 0), written from floor and ceiling rather than from a
 * truncating division and its remainder as the code under test is.
 */
function roundReference(n: bigint, d: bigint, mode: Rounding): bigint {
  const floor = n >= 0n ? n / d : -((-n + d - 1n) / d);
  const ceil = floor * d === n ? floor : floor + 1n;
  if (floor === ceil) return floor;
  if (mode === "down") return n >= 0n ? floor : ceil; // toward zero
  if (mode === "up") return n >= 0n ? ceil : floor; // away from zero
  const toFloor = n - floor * d;
  const toCeil = ceil * d - n;
  if (toFloor !== toCeil) return toFloor < toCeil ? floor : ceil;
  return floor % 2n === 0n ? floor : ceil;
}

const abs = (value: bigint): bigint => (value < 0n ? -value : value);

describe("parseFixed and formatFixed", () => {
  it("round-trip any units at any scale: parseFixed(formatFixed(u, s), s) === u", () => {
    fc.assert(
      fc.property(units, scale, (u, s) => {
        expect(parseFixed(formatFixed(u, s), s)).toBe(u);
      }),
      RUNS,
    );
  });

  it("format a parsed decimal with at most `scale` places in its canonical form", () => {
    fc.assert(
      fc.property(
        decimal(18),
        fc.integer({ min: 0, max: 18 }),
        ({ text, negative, whole, fraction }, extra) => {
          const s = Math.min(18, fraction.length + extra); // at least as many places as written
          // Canonical: no "+", no leading zeros, exactly s places, no "-" on zero.
          const wholeDigits = whole.replace(/^0+(?=\d)/, "");
          const places = fraction.padEnd(s, "0");
          const isZero = /^0*$/.test(whole + fraction);
          const canonical = `${negative && !isZero ? "-" : ""}${wholeDigits}${s > 0 ? `.${places}` : ""}`;
          expect(formatFixed(parseFixed(text, s), s)).toBe(canonical);
        },
      ),
      RUNS,
    );
  });

  it("writes exactly `scale` places and one leading minus for negatives", () => {
    fc.assert(
      fc.property(units, scale, (u, s) => {
        const text = formatFixed(u, s);
        expect(text).toMatch(s === 0 ? /^-?(0|[1-9]\d*)$/ : new RegExp(`^-?(0|[1-9]\\d*)\\.\\d{${s}}$`));
        expect(text.startsWith("-")).toBe(u < 0n);
      }),
      RUNS,
    );
  });

  /*
   * The law parseFixed follows: it returns x × 10^s when that is an integer (so trailing zeros
   * beyond the scale are accepted: they lose nothing) and throws FixedPointError otherwise. It
   * never rounds.
   */
  it("parses x exactly as x × 10^scale when that is whole, and refuses it otherwise", () => {
    fc.assert(
      fc.property(decimal(24, 12), scale, ({ text, negative, whole, fraction }, s) => {
        const digits = BigInt(whole + fraction); // x × 10^fraction.length
        const signed = (value: bigint): bigint => (negative ? -value : value);
        if (fraction.length <= s) {
          expect(parseFixed(text, s)).toBe(signed(digits * 10n ** BigInt(s - fraction.length)));
          return;
        }
        const cut = 10n ** BigInt(fraction.length - s);
        if (digits % cut === 0n) expect(parseFixed(text, s)).toBe(signed(digits / cut));
        else expect(() => parseFixed(text, s)).toThrow(FixedPointError);
      }),
      RUNS,
    );
  });

  it("refuses one significant digit beyond the scale, whatever zeros follow it", () => {
    fc.assert(
      fc.property(
        units,
        scale,
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 0, max: 5 }),
        (u, s, digit, zeros) => {
          const text = `${formatFixed(u, s)}${s === 0 ? "." : ""}${digit}${"0".repeat(zeros)}`;
          expect(() => parseFixed(text, s)).toThrow(FixedPointError);
        },
      ),
      RUNS,
    );
  });

  it("reads a JSON number as the decimal it prints as, exponent forms included", () => {
    // At most 15 significant digits: the double prints back as exactly this decimal.
    const significand = fc.bigInt({ min: -(10n ** 15n - 1n), max: 10n ** 15n - 1n });
    const exponent = fc.integer({ min: -25, max: 25 });
    fc.assert(
      fc.property(significand, exponent, scale, (d, e, s) => {
        const value = Number(`${d}e${e}`); // d × 10^e, e.g. 1e-7 and 1e21 print in exponent form
        const shift = e + s; // x × 10^s = d × 10^shift
        if (shift >= 0) {
          expect(parseFixed(value, s)).toBe(d * 10n ** BigInt(shift));
          return;
        }
        const cut = 10n ** BigInt(-shift);
        if (d % cut === 0n) expect(parseFixed(value, s)).toBe(d / cut);
        else expect(() => parseFixed(value, s)).toThrow(FixedPointError);
      }),
      RUNS,
    );
  });
});

describe("rescale", () => {
  it("up then down is the identity, in every rounding mode", () => {
    fc.assert(
      fc.property(units, scale, scale, rounding, (u, a, b, mode) => {
        const [from, to] = a <= b ? [a, b] : [b, a];
        expect(rescale(rescale(u, from, to), to, from, mode)).toBe(u);
      }),
      RUNS,
    );
  });

  it("up only appends zeros to the decimal text", () => {
    fc.assert(
      fc.property(units, scale, scale, (u, a, b) => {
        const [from, to] = a <= b ? [a, b] : [b, a];
        const zeros = "0".repeat(to - from);
        const expected =
          from === 0 && to > 0 ? `${formatFixed(u, 0)}.${zeros}` : formatFixed(u, from) + zeros;
        expect(formatFixed(rescale(u, from, to), to)).toBe(expected);
      }),
      RUNS,
    );
  });

  it("down rounds u ÷ 10^(from − to) as the reference does", () => {
    fc.assert(
      fc.property(units, scale, scale, rounding, (u, a, b, mode) => {
        const [to, from] = a <= b ? [a, b] : [b, a];
        expect(rescale(u, from, to, mode)).toBe(roundReference(u, 10n ** BigInt(from - to), mode));
      }),
      RUNS,
    );
  });
});

describe("divRound", () => {
  it("rounds like the reference in every mode, for either sign of either operand", () => {
    fc.assert(
      fc.property(units, nonZero, rounding, (n, d, mode) => {
        // n ÷ d = (−n) ÷ (−d): the reference takes a positive denominator.
        const expected = d > 0n ? roundReference(n, d, mode) : roundReference(-n, -d, mode);
        expect(divRound(n, d, mode)).toBe(expected);
      }),
      RUNS,
    );
  });

  it("half-even: within half a unit of the exact quotient", () => {
    fc.assert(
      fc.property(units, nonZero, (n, d) => {
        const q = divRound(n, d, "half-even");
        // |q − n/d| ≤ 1/2  ⇔  2·|q·d − n| ≤ |d|
        expect(2n * abs(q * d - n)).toBeLessThanOrEqual(abs(d));
      }),
      RUNS,
    );
  });

  it("half-even: an exact tie goes to the even neighbour; down and up go toward and away from zero", () => {
    const tie = fc.record({
      k: fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }),
      half: fc.bigInt({ min: 1n, max: 10n ** 9n }),
      negativeDenominator: fc.boolean(),
    });
    fc.assert(
      fc.property(tie, ({ k, half, negativeDenominator }) => {
        // n ÷ d = k + 1/2 exactly
        const d = 2n * half;
        const n = k * d + half;
        const [num, den] = negativeDenominator ? [-n, -d] : [n, d];
        const even = k % 2n === 0n ? k : k + 1n;
        expect(divRound(num, den, "half-even")).toBe(even);
        expect(divRound(num, den, "down")).toBe(k >= 0n ? k : k + 1n);
        expect(divRound(num, den, "up")).toBe(k >= 0n ? k + 1n : k);
      }),
      RUNS,
    );
  });

  it("down never moves away from zero and up never toward it, by less than one unit", () => {
    fc.assert(
      fc.property(units, nonZero, (n, d) => {
        const down = divRound(n, d, "down");
        const up = divRound(n, d, "up");
        // |down| ≤ |n/d| < |down| + 1 and |up| − 1 < |n/d| ≤ |up|, with the quotient's sign
        expect(abs(down * d)).toBeLessThanOrEqual(abs(n));
        expect(abs((abs(down) + 1n) * d)).toBeGreaterThan(abs(n));
        expect(abs(up * d)).toBeGreaterThanOrEqual(abs(n));
        if (n === 0n) expect([down, up]).toEqual([0n, 0n]);
        else expect((abs(up) - 1n) * abs(d)).toBeLessThan(abs(n));
        for (const q of [down, up]) if (q !== 0n) expect(q > 0n).toBe(n > 0n === d > 0n);
      }),
      RUNS,
    );
  });

  it("is odd (−n rounds to −q) and monotonic in the numerator, in every mode", () => {
    fc.assert(
      fc.property(units, units, nonZero, rounding, (a, b, d, mode) => {
        expect(divRound(-a, d, mode)).toBe(-divRound(a, d, mode));
        const [low, high] = a <= b ? [a, b] : [b, a];
        const positive = d > 0n ? d : -d;
        expect(divRound(low, positive, mode)).toBeLessThanOrEqual(divRound(high, positive, mode));
      }),
      RUNS,
    );
  });

  it("throws FixedPointError on a zero denominator", () => {
    fc.assert(
      fc.property(units, rounding, (n, mode) => {
        expect(() => divRound(n, 0n, mode)).toThrow(FixedPointError);
      }),
      { numRuns: 50 },
    );
  });
});

describe("multiply", () => {
  const factor = fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n });

  it("is the exact product, rounded once to the target scale as asked", () => {
    fc.assert(
      fc.property(factor, scale, factor, scale, scale, rounding, (a, sa, b, sb, s, mode) => {
        const exact = a * b; // at scale sa + sb
        const expected =
          s >= sa + sb
            ? exact * 10n ** BigInt(s - sa - sb)
            : roundReference(exact, 10n ** BigInt(sa + sb - s), mode);
        expect(multiply(a, sa, b, sb, s, mode)).toBe(expected);
      }),
      RUNS,
    );
  });

  it("rounds an exact half to the even neighbour by default (price × size on a tie)", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 8 }),
        (k, s, cut, sb) => {
          // a = k + 1/2 units of scale s, written at scale s + cut; b = 1 at scale sb.
          const half = 5n * 10n ** BigInt(cut - 1);
          const a = k * 10n ** BigInt(cut) + (k < 0n ? -half : half);
          const b = 10n ** BigInt(sb);
          const even = k % 2n === 0n ? k : k < 0n ? k - 1n : k + 1n;
          expect(multiply(a, s + cut, b, sb, s)).toBe(even);
        },
      ),
      RUNS,
    );
  });
});

describe("toNumber", () => {
  it("is monotonic: a larger amount never converts to a smaller float", () => {
    fc.assert(
      fc.property(units, units, scale, (a, b, s) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        expect(toNumber(low, s)).toBeLessThanOrEqual(toNumber(high, s));
      }),
      RUNS,
    );
  });

  it("is strictly monotonic while the units fit a float with room to spare (|u| < 2^50)", () => {
    const small = fc.bigInt({ min: -(2n ** 50n) + 1n, max: 2n ** 50n - 1n });
    fc.assert(
      fc.property(small, small, scale, (a, b, s) => {
        fc.pre(a !== b);
        const [low, high] = a < b ? [a, b] : [b, a];
        expect(toNumber(low, s)).toBeLessThan(toNumber(high, s));
      }),
      RUNS,
    );
  });
});
