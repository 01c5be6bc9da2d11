import { z } from "@hono/zod-openapi";

/**
 * A query parameter that is a whole number from `min` to `max`, written in plain decimal digits.
 * `z.coerce.number()` would take `0x10`, `1e2`, `0b11` and `" 5"` as numbers; a request that means
 * something else than it says is refused instead, naming the range.
 */
export function queryInteger(min: number, max: number) {
  const message = `a whole number from ${min} to ${max}, in plain decimal digits`;
  return z
    .string()
    .regex(/^(0|[1-9]\d{0,15})$/, message)
    .transform(Number)
    .pipe(z.number().int().min(min, message).max(max, message));
}
