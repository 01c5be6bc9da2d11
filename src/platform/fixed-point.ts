/**
 * Exact decimal arithmetic on scaled integers.
 *
 * A value with `scale` decimal places is held as a `bigint` of its smallest units: 12.34 at scale 2
 * is `1234n`. Prices, sizes and money never pass through a float on their way into the ledger or
 * to a risk limit's boundary; floats appear only when a value is handed to a metric.
 */

const DECIMAL = /^([+-])?(\d+)(?:\.(\d+))?$/;

/** Thrown when a value cannot be represented exactly at the requested scale. */
export class FixedPointError extends Error {
  override name = "FixedPointError";
}

/** 10^n as a bigint, cached for the small scales used in practice. */
const POWERS: bigint[] = Array.from({ length: 40 }, (_, i) => 10n ** BigInt(i));
export function pow10(n: number): bigint {
  return POWERS[n] ?? 10n ** BigInt(n);
}

/**
 * Parses a decimal string or a JSON number into units of `scale`. A number is read through its
 * shortest round-trip text (what the sender wrote), so `0.1` is exactly one tenth. More decimal
 * places than `scale` is an error, never a silent rounding.
 */
export function parseFixed(value: string | number, scale: number): bigint {
  const text = typeof value === "number" ? numberToPlainString(value) : value.trim();
  const match = DECIMAL.exec(text);
  if (!match) throw new FixedPointError(`not a decimal number: ${JSON.stringify(value)}`);
  const [, sign, whole = "0", rawFraction = ""] = match;
  const fraction = rawFraction.replace(/0+$/, "");
  if (fraction.length > scale) {
    throw new FixedPointError(`${text} has more than ${scale} decimal places`);
  }
  const units = BigInt(whole) * pow10(scale) + BigInt(fraction.padEnd(scale, "0") || "0");
  return sign === "-" ? -units : units;
}

function numberToPlainString(value: number): string {
  if (!Number.isFinite(value)) throw new FixedPointError(`not a finite number: ${value}`);
  const text = String(value);
  if (!/e/i.test(text)) return text;
  // 1e-7 and 1e21 print in exponent form; expand them without going through another float.
  const [mantissa = "", exponentText = "0"] = text.toLowerCase().split("e");
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith("-");
  const [intPart = "", fracPart = ""] = mantissa.replace("-", "").split(".");
  const digits = intPart + fracPart;
  const point = intPart.length + exponent;
  const plain =
    point <= 0
      ? `0.${"0".repeat(-point)}${digits}`
      : point >= digits.length
        ? digits + "0".repeat(point - digits.length)
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${plain}` : plain;
}

/**
 * The shortest plain text of a decimal (`"065000.50"` and `65000.5` give `"65000.5"`), for
 * comparing what two requests mean; anything that is not a decimal is returned as it was.
 */
export function canonicalDecimal(value: string | number): string {
  let text: string;
  try {
    text = typeof value === "number" ? numberToPlainString(value) : value.trim();
  } catch {
    return String(value);
  }
  const match = DECIMAL.exec(text);
  if (!match) return text;
  const [, sign, whole = "0", fraction = ""] = match;
  const integer = whole.replace(/^0+(?=\d)/, "");
  const decimals = fraction.replace(/0+$/, "");
  const plain = decimals ? `${integer}.${decimals}` : integer;
  return sign === "-" && plain !== "0" ? `-${plain}` : plain;
}

/** Formats units of `scale` as a plain decimal string with exactly `scale` decimal places. */
export function formatFixed(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale);
  return `${negative ? "-" : ""}${whole}${scale > 0 ? `.${fraction}` : ""}`;
}

/** Converts units of `scale` to a float, for metrics only. */
export function toNumber(units: bigint, scale: number): number {
  return Number(units) / Number(pow10(scale));
}

/** How a division that does not come out even is rounded. */
export type Rounding = "half-even" | "down" | "up";

/**
 * Divides exactly, then rounds: `down` and `up` are toward and away from zero, `half-even` is
 * banker's rounding (the default for money, so rounding errors do not drift one way).
 */
export function divRound(numerator: bigint, denominator: bigint, rounding: Rounding = "half-even"): bigint {
  if (denominator === 0n) throw new FixedPointError("division by zero");
  if (denominator < 0n) return divRound(-numerator, -denominator, rounding);
  const quotient = numerator / denominator; // truncates toward zero
  const remainder = numerator % denominator;
  if (remainder === 0n || rounding === "down") return quotient;
  const away = numerator < 0n ? quotient - 1n : quotient + 1n;
  if (rounding === "up") return away;
  const twice = 2n * (remainder < 0n ? -remainder : remainder);
  if (twice > denominator) return away;
  if (twice < denominator) return quotient;
  return quotient % 2n === 0n ? quotient : away;
}

/** Re-expresses units of scale `from` at scale `to`, rounding when precision is lost. */
export function rescale(units: bigint, from: number, to: number, rounding: Rounding = "half-even"): bigint {
  if (to >= from) return units * pow10(to - from);
  return divRound(units, pow10(from - to), rounding);
}

/**
 * Multiplies `a` (scale `scaleA`) by `b` (scale `scaleB`) and returns the product at `scale`,
 * rounded once: price × size → money.
 */
export function multiply(
  a: bigint,
  scaleA: number,
  b: bigint,
  scaleB: number,
  scale: number,
  rounding: Rounding = "half-even",
): bigint {
  return rescale(a * b, scaleA + scaleB, scale, rounding);
}

/** The absolute value of a bigint. */
export function abs(value: bigint): bigint {
  return value < 0n ? -value : value;
}
