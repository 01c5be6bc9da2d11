import { describe, expect, it } from "vitest";
import {
  FixedPointError,
  abs,
  divRound,
  formatFixed,
  multiply,
  parseFixed,
  pow10,
  rescale,
  toNumber,
  type Rounding,
} from "./fixed-point.js";

/** A small deterministic PRNG (mulberry32) so the property checks are reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("parseFixed", () => {
  it("parses decimal strings into units of the scale", () => {
    expect(parseFixed("12.34", 2)).toBe(1234n);
    expect(parseFixed("12.3", 2)).toBe(1230n);
    expect(parseFixed("12", 2)).toBe(1200n);
    expect(parseFixed("0", 2)).toBe(0n);
    expect(parseFixed("0.01", 2)).toBe(1n);
    expect(parseFixed("007.5", 1)).toBe(75n);
    expect(parseFixed("  42.5  ", 1)).toBe(425n);
    expect(parseFixed("+3.25", 2)).toBe(325n);
  });

  it("parses at scale 0", () => {
    expect(parseFixed("17", 0)).toBe(17n);
    expect(parseFixed("17.000", 0)).toBe(17n);
    expect(() => parseFixed("17.5", 0)).toThrow(FixedPointError);
  });

  it("parses negative values", () => {
    expect(parseFixed("-12.34", 2)).toBe(-1234n);
    expect(parseFixed("-0.05", 2)).toBe(-5n);
    expect(parseFixed(-0.05, 2)).toBe(-5n);
    expect(parseFixed("-0", 2)).toBe(0n);
  });

  it("reads numbers through their shortest text, so 0.1 is exactly one tenth", () => {
    expect(parseFixed(0.1, 1)).toBe(1n);
    expect(parseFixed(0.1, 8)).toBe(10_000_000n);
    expect(parseFixed(0.3, 2)).toBe(30n);
    expect(parseFixed(65000, 2)).toBe(6_500_000n);
    expect(parseFixed(1.005, 3)).toBe(1005n);
  });

  it("expands numbers printed in exponent form without a float detour", () => {
    expect(parseFixed(1e-7, 7)).toBe(1n);
    expect(parseFixed(1e-7, 9)).toBe(100n);
    expect(parseFixed(1.5e-7, 8)).toBe(15n);
    expect(parseFixed(-2.5e-7, 8)).toBe(-25n);
    expect(parseFixed(1e21, 0)).toBe(10n ** 21n);
    expect(parseFixed(1e21, 2)).toBe(10n ** 23n);
    expect(parseFixed(1.234e21, 0)).toBe(1234n * 10n ** 18n);
    expect(parseFixed(-1e21, 0)).toBe(-(10n ** 21n));
  });

  it("rejects a number in exponent form that needs more places than the scale", () => {
    expect(() => parseFixed(1e-7, 6)).toThrow(FixedPointError);
  });

  it("accepts trailing zeros beyond the scale, which lose nothing", () => {
    expect(parseFixed("1.500", 2)).toBe(150n);
    expect(parseFixed("1.5000000000", 1)).toBe(15n);
    expect(parseFixed("2.000", 0)).toBe(2n);
  });

  it("throws FixedPointError for more significant decimals than the scale", () => {
    expect(() => parseFixed("1.505", 2)).toThrow(FixedPointError);
    expect(() => parseFixed("0.001", 2)).toThrow(/more than 2 decimal places/);
    expect(() => parseFixed(0.125, 2)).toThrow(FixedPointError);
  });

  it.each([
    "",
    " ",
    "abc",
    "1.2.3",
    "1,5",
    ".5",
    "1.",
    "--1",
    "1e5",
    "0x10",
    "Infinity",
    "NaN",
    "1 000",
    "١٢",
  ])("throws FixedPointError for garbage %j", (text) => {
    expect(() => parseFixed(text, 2)).toThrow(FixedPointError);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
    "throws FixedPointError for the non-finite number %s",
    (value) => {
      expect(() => parseFixed(value, 2)).toThrow(FixedPointError);
    },
  );
});

describe("formatFixed", () => {
  it("writes exactly `scale` decimal places", () => {
    expect(formatFixed(1234n, 2)).toBe("12.34");
    expect(formatFixed(1200n, 2)).toBe("12.00");
    expect(formatFixed(0n, 2)).toBe("0.00");
    expect(formatFixed(0n, 6)).toBe("0.000000");
  });

  it("pads small values with leading zeros", () => {
    expect(formatFixed(5n, 2)).toBe("0.05");
    expect(formatFixed(1n, 8)).toBe("0.00000001");
    expect(formatFixed(99n, 3)).toBe("0.099");
  });

  it("writes negative values with one leading minus", () => {
    expect(formatFixed(-1234n, 2)).toBe("-12.34");
    expect(formatFixed(-5n, 2)).toBe("-0.05");
    expect(formatFixed(-1n, 4)).toBe("-0.0001");
  });

  it("writes integers at scale 0 with no point", () => {
    expect(formatFixed(0n, 0)).toBe("0");
    expect(formatFixed(42n, 0)).toBe("42");
    expect(formatFixed(-42n, 0)).toBe("-42");
  });

  it("round-trips with parseFixed", () => {
    const random = mulberry32(7);
    for (let i = 0; i < 1000; i += 1) {
      const scale = Math.floor(random() * 9);
      const units = BigInt(Math.floor((random() - 0.5) * 1e12));
      expect(parseFixed(formatFixed(units, scale), scale)).toBe(units);
    }
  });
});

describe("divRound", () => {
  const modes: Rounding[] = ["down", "up", "half-even"];

  it("returns exact quotients unchanged in every mode", () => {
    for (const mode of modes) {
      expect(divRound(10n, 2n, mode)).toBe(5n);
      expect(divRound(-10n, 2n, mode)).toBe(-5n);
      expect(divRound(0n, 7n, mode)).toBe(0n);
    }
  });

  it("rounds toward zero when down", () => {
    expect(divRound(7n, 2n, "down")).toBe(3n);
    expect(divRound(-7n, 2n, "down")).toBe(-3n);
    expect(divRound(19n, 10n, "down")).toBe(1n);
    expect(divRound(-19n, 10n, "down")).toBe(-1n);
    expect(divRound(1n, 3n, "down")).toBe(0n);
  });

  it("rounds away from zero when up", () => {
    expect(divRound(7n, 2n, "up")).toBe(4n);
    expect(divRound(-7n, 2n, "up")).toBe(-4n);
    expect(divRound(11n, 10n, "up")).toBe(2n);
    expect(divRound(-11n, 10n, "up")).toBe(-2n);
    expect(divRound(1n, 3n, "up")).toBe(1n);
  });

  it("rounds to the nearest when half-even, and is the default", () => {
    expect(divRound(14n, 10n)).toBe(1n);
    expect(divRound(16n, 10n)).toBe(2n);
    expect(divRound(-14n, 10n)).toBe(-1n);
    expect(divRound(-16n, 10n)).toBe(-2n);
    expect(divRound(2n, 3n, "half-even")).toBe(1n);
    expect(divRound(-2n, 3n, "half-even")).toBe(-1n);
  });

  it.each([
    [5n, 10n, 0n],
    [15n, 10n, 2n],
    [25n, 10n, 2n],
    [35n, 10n, 4n],
    [45n, 10n, 4n],
    [1n, 2n, 0n],
    [3n, 2n, 2n],
    [5n, 2n, 2n],
    [7n, 2n, 4n],
    [-5n, 10n, 0n],
    [-15n, 10n, -2n],
    [-25n, 10n, -2n],
    [-35n, 10n, -4n],
    [-3n, 2n, -2n],
    [-5n, 2n, -2n],
  ])("breaks the exact tie %i / %i to the even neighbour %i", (numerator, denominator, expected) => {
    expect(divRound(numerator, denominator, "half-even")).toBe(expected);
  });

  it("treats a negative denominator like a negated numerator", () => {
    expect(divRound(7n, -2n, "down")).toBe(-3n);
    expect(divRound(7n, -2n, "up")).toBe(-4n);
    expect(divRound(7n, -2n, "half-even")).toBe(-4n);
    expect(divRound(-5n, -2n, "half-even")).toBe(2n);
    expect(divRound(-7n, -2n, "up")).toBe(4n);
  });

  it("throws FixedPointError on division by zero", () => {
    expect(() => divRound(1n, 0n)).toThrow(FixedPointError);
  });

  it("never strays more than half a unit when half-even, and brackets the quotient when down/up", () => {
    const random = mulberry32(11);
    for (let i = 0; i < 2000; i += 1) {
      const n = BigInt(Math.floor((random() - 0.5) * 2e9));
      const d = BigInt(1 + Math.floor(random() * 1000));
      const down = divRound(n, d, "down");
      const up = divRound(n, d, "up");
      const even = divRound(n, d, "half-even");
      expect(abs(down * d)).toBeLessThanOrEqual(abs(n));
      expect(abs(up * d)).toBeGreaterThanOrEqual(abs(n));
      expect(abs(up - down)).toBeLessThanOrEqual(1n);
      expect(2n * abs(even * d - n)).toBeLessThanOrEqual(d);
    }
  });
});

describe("rescale", () => {
  it("adds zeros when the scale grows", () => {
    expect(rescale(1234n, 2, 4)).toBe(123_400n);
    expect(rescale(-5n, 0, 3)).toBe(-5000n);
    expect(rescale(77n, 3, 3)).toBe(77n);
  });

  it("rounds when the scale shrinks, half-even by default", () => {
    expect(rescale(12_345n, 3, 2)).toBe(1234n); // 12.345 → 12.34 (tie to even)
    expect(rescale(12_355n, 3, 2)).toBe(1236n); // 12.355 → 12.36 (tie to even)
    expect(rescale(12_346n, 3, 2)).toBe(1235n);
    expect(rescale(-12_345n, 3, 2)).toBe(-1234n);
    expect(rescale(12_341n, 3, 2, "up")).toBe(1235n);
    expect(rescale(12_349n, 3, 2, "down")).toBe(1234n);
    expect(rescale(-12_349n, 3, 2, "down")).toBe(-1234n);
  });
});

describe("multiply", () => {
  it("multiplies price by size into money at the money scale", () => {
    // 65000.00 × 0.5000 = 32500.00
    expect(multiply(6_500_000n, 2, 5000n, 4, 2)).toBe(3_250_000n);
    // 150.125 × 3.00 = 450.375 → 450.38 (tie to even at the cent)
    expect(multiply(150_125n, 3, 300n, 2, 2)).toBe(45_038n);
    // 150.125 × 1.00 = 150.125 → 150.12 (tie to even at the cent)
    expect(multiply(150_125n, 3, 100n, 2, 2)).toBe(15_012n);
    expect(multiply(150_125n, 3, 100n, 2, 2, "up")).toBe(15_013n);
  });

  it("keeps the sign of the product", () => {
    expect(multiply(-1050n, 2, 300n, 2, 2)).toBe(-3150n); // -10.50 × 3.00
    expect(multiply(1050n, 2, -300n, 2, 4)).toBe(-315_000n);
  });

  it("can return at a finer scale than its inputs", () => {
    expect(multiply(1n, 2, 1n, 4, 8)).toBe(100n); // 0.01 × 0.0001 = 0.000001
  });

  /**
   * An independent reference for one rounding: written out as decimal text at full scale, cut
   * the dropped digits and compare them, as text, with "5000…".
   */
  function roundTextHalfEven(product: bigint, fullScale: number, scale: number): bigint {
    const negative = product < 0n;
    const digits = (negative ? -product : product).toString().padStart(fullScale + 1, "0");
    const cut = fullScale - scale;
    const kept = BigInt(digits.slice(0, digits.length - cut));
    const dropped = digits.slice(digits.length - cut);
    const half = "5".padEnd(cut, "0");
    let rounded = kept;
    if (dropped > half || (dropped === half && kept % 2n === 1n)) rounded += 1n;
    return negative ? -rounded : rounded;
  }

  it("sums 100 000 random price × size products exactly: one rounding per product, no floats", () => {
    const random = mulberry32(2026);
    const priceScale = 2;
    const sizeScale = 2;
    const moneyScale = 2;
    let viaMultiply = 0n;
    let viaReference = 0n;
    let ties = 0;
    for (let i = 0; i < 100_000; i += 1) {
      const price = BigInt(1 + Math.floor(random() * 10_000_000)); // up to 100 000.00
      const size = BigInt(Math.floor((random() - 0.3) * 500_000)); // about -1500 .. 3500, signed
      const product = price * size; // at scale 4, exact
      if (abs(product % 100n) === 50n) ties += 1;
      viaMultiply += multiply(price, priceScale, size, sizeScale, moneyScale);
      viaReference += roundTextHalfEven(product, priceScale + sizeScale, moneyScale);
    }
    // About one product in a hundred is an exact tie, so the half-even path is exercised.
    expect(ties).toBeGreaterThan(500);
    expect(viaMultiply).toBe(viaReference);
  });

  it("sums products that need no rounding to exactly their decimal total", () => {
    // 0.1 × 1 added 100 000 times is exactly 10 000.00 (a float sum is not).
    let total = 0n;
    let floatTotal = 0;
    const price = parseFixed(0.1, 2);
    const size = parseFixed(1, 4);
    for (let i = 0; i < 100_000; i += 1) {
      total += multiply(price, 2, size, 4, 2);
      floatTotal += 0.1;
    }
    expect(formatFixed(total, 2)).toBe("10000.00");
    expect(floatTotal).not.toBe(10_000);
  });
});

describe("toNumber and pow10", () => {
  it("converts units to a float for metrics", () => {
    expect(toNumber(1234n, 2)).toBe(12.34);
    expect(toNumber(-5n, 2)).toBe(-0.05);
    expect(toNumber(42n, 0)).toBe(42);
  });

  it("computes powers of ten beyond the cache", () => {
    expect(pow10(0)).toBe(1n);
    expect(pow10(6)).toBe(1_000_000n);
    expect(pow10(45)).toBe(10n ** 45n);
  });
});
