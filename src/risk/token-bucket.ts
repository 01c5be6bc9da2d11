/** A token bucket's state: tokens available at a moment. */
export interface TokenBucket {
  tokens: number;
  at: number;
}

/**
 * Refills `bucket` for the time elapsed and tries to take one token. Pure: returns the new
 * bucket and whether a token was taken.
 */
export function takeToken(
  bucket: TokenBucket | undefined,
  now: number,
  perSecond: number,
  burst: number,
): { allowed: boolean; bucket: TokenBucket } {
  const previous = bucket ?? { tokens: burst, at: now };
  const tokens = Math.min(burst, previous.tokens + (Math.max(0, now - previous.at) * perSecond) / 1000);
  if (tokens >= 1) return { allowed: true, bucket: { tokens: tokens - 1, at: now } };
  return { allowed: false, bucket: { tokens, at: now } };
}

/** Whether `bucket`, refilled for the time elapsed, holds a whole token now. Changes nothing. */
export function hasToken(
  bucket: TokenBucket | undefined,
  now: number,
  perSecond: number,
  burst: number,
): boolean {
  return takeToken(bucket, now, perSecond, burst).allowed;
}
