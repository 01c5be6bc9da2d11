import { describe, expect, it } from "vitest";
import { takeToken, type TokenBucket } from "./token-bucket.js";

const T0 = 1_000_000;

/** Takes `n` tokens at `now`, threading the bucket through; returns how many were allowed. */
function drain(bucket: TokenBucket | undefined, now: number, n: number, perSecond: number, burst: number) {
  let allowed = 0;
  let current = bucket;
  for (let i = 0; i < n; i += 1) {
    const result = takeToken(current, now, perSecond, burst);
    if (result.allowed) allowed += 1;
    current = result.bucket;
  }
  return { allowed, bucket: current! };
}

describe("takeToken", () => {
  it("starts full: a new bucket allows a burst, then refuses", () => {
    const { allowed, bucket } = drain(undefined, T0, 50, 5, 10);
    expect(allowed).toBe(10);
    expect(bucket.tokens).toBe(0);
    expect(takeToken(bucket, T0, 5, 10).allowed).toBe(false);
  });

  it("takes exactly one token per allowed call and stamps the time", () => {
    const first = takeToken(undefined, T0, 5, 10);
    expect(first).toEqual({ allowed: true, bucket: { tokens: 9, at: T0 } });
    const second = takeToken(first.bucket, T0 + 0, 5, 10);
    expect(second.bucket.tokens).toBe(8);
  });

  it("refills at perSecond over time", () => {
    const empty = drain(undefined, T0, 10, 5, 10).bucket;
    // 5 per second: one token every 200 ms
    expect(takeToken(empty, T0 + 199, 5, 10).allowed).toBe(false);
    expect(takeToken(empty, T0 + 200, 5, 10).allowed).toBe(true);
    // one second gives five tokens, not six
    expect(drain(empty, T0 + 1000, 10, 5, 10).allowed).toBe(5);
  });

  it("accumulates fractions of tokens across refused calls", () => {
    let bucket = drain(undefined, T0, 10, 5, 10).bucket;
    let result = takeToken(bucket, T0 + 100, 5, 10); // half a token
    expect(result.allowed).toBe(false);
    expect(result.bucket.tokens).toBeCloseTo(0.5, 10);
    bucket = result.bucket;
    result = takeToken(bucket, T0 + 200, 5, 10); // the other half
    expect(result.allowed).toBe(true);
  });

  it("never refills above the burst, however long it idles", () => {
    const empty = drain(undefined, T0, 10, 5, 10).bucket;
    const later = takeToken(empty, T0 + 86_400_000, 5, 10);
    expect(later.allowed).toBe(true);
    expect(later.bucket.tokens).toBe(9);
    expect(drain(empty, T0 + 86_400_000, 100, 5, 10).allowed).toBe(10);
  });

  it("sustains perSecond over a long run", () => {
    let bucket: TokenBucket | undefined;
    let allowed = 0;
    // 100 attempts per second for 10 seconds against 5 per second with a burst of 10
    for (let ms = 0; ms < 10_000; ms += 10) {
      const result = takeToken(bucket, T0 + ms, 5, 10);
      if (result.allowed) allowed += 1;
      bucket = result.bucket;
    }
    expect(allowed).toBeGreaterThanOrEqual(10 + 49);
    expect(allowed).toBeLessThanOrEqual(10 + 50);
  });

  it("is harmless when the clock goes backwards: no refill, no negative tokens, no throw", () => {
    const empty = drain(undefined, T0, 10, 5, 10).bucket;
    const back = takeToken(empty, T0 - 60_000, 5, 10);
    expect(back.allowed).toBe(false);
    expect(back.bucket.tokens).toBe(0);
    const halfFull: TokenBucket = { tokens: 3, at: T0 };
    const result = takeToken(halfFull, T0 - 5000, 5, 10);
    expect(result.allowed).toBe(true);
    expect(result.bucket.tokens).toBe(2);
  });

  it("does not mutate the bucket it is given", () => {
    const bucket: TokenBucket = { tokens: 3, at: T0 };
    takeToken(bucket, T0 + 1000, 5, 10);
    expect(bucket).toEqual({ tokens: 3, at: T0 });
  });
});
