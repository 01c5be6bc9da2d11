import { createHmac, timingSafeEqual } from "node:crypto";

/** The request header that carries the signature. */
export const SIGNATURE_HEADER = "opsguard-signature";
/** The request header that carries the delivery id. */
export const DELIVERY_HEADER = "opsguard-delivery";
/** How old a signature's timestamp may be, in seconds, by default: five minutes, as Stripe's. */
export const DEFAULT_TOLERANCE_SEC = 300;

/** The hex HMAC-SHA256 of `<t>.<body>` under `secret`: what `v1=` carries. */
function digest(secret: string, timestampSec: number, body: string | Buffer): string {
  return createHmac("sha256", secret).update(`${timestampSec}.`).update(body).digest("hex");
}

/**
 * The `opsguard-signature` header of a body sent at `timestampSec` (Unix seconds):
 * `t=<timestampSec>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, the scheme Stripe uses. The
 * timestamp is signed with the body, so a captured request cannot be replayed later with a new
 * time.
 */
export function signWebhookBody(secret: string, body: string, timestampSec: number): string {
  return `t=${timestampSec},v1=${digest(secret, timestampSec, body)}`;
}

/** What {@link verifyWebhookSignature} checks. */
export interface VerifyWebhookSignatureOptions {
  /** The endpoint's signing secret. */
  secret: string;
  /** The `opsguard-signature` header as received. */
  header: string | null | undefined;
  /** The raw request body, exactly as received (before any JSON parsing). */
  body: string | Buffer;
  /** How far the signed timestamp may be from `now`, in seconds. @default 300 */
  toleranceSec?: number;
  /** The receiver's time, in ms since the epoch. @default Date.now() */
  now?: number;
}

/**
 * What a receiver does with each request: whether `header` signs `body` with `secret`, at a
 * time within `toleranceSec` of `now`. Every `v1=` entry is tried (a header may carry several
 * while a secret is rotated); the comparison takes constant time. Never throws on a malformed
 * header: it is just not a valid signature.
 */
export function verifyWebhookSignature({
  secret,
  header,
  body,
  toleranceSec = DEFAULT_TOLERANCE_SEC,
  now = Date.now(),
}: VerifyWebhookSignatureOptions): boolean {
  if (!header) return false;
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const [name, value = ""] = part.trim().split("=", 2);
    if (name === "t" && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (name === "v1" && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
  }
  if (timestamp === undefined || signatures.length === 0) return false;
  if (Math.abs(now / 1000 - timestamp) > toleranceSec) return false;
  const expected = Buffer.from(digest(secret, timestamp, body), "utf8");
  let valid = false;
  for (const signature of signatures) {
    // Every candidate is compared, so the time taken does not say which one matched.
    if (timingSafeEqual(expected, Buffer.from(signature, "utf8"))) valid = true;
  }
  return valid;
}
