import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signWebhookBody, verifyWebhookSignature } from "./signature.js";

const SECRET = "whsec_5a0e7d3c19b2f8";
const BODY = '{"deliveryId":"ledger-sync:41-42","events":[{"id":41,"kind":"operation.opened","data":{}}]}';
const AT = Date.UTC(2026, 0, 5, 12, 0, 0);
const T = AT / 1000;

describe("webhook signatures", () => {
  it("signs `<t>.<body>` with HMAC-SHA256, as a receiver recomputes it with node:crypto alone", () => {
    const header = signWebhookBody(SECRET, BODY, T);
    const expected = createHmac("sha256", SECRET).update(`${T}.${BODY}`).digest("hex");
    expect(header).toBe(`t=${T},v1=${expected}`);
    expect(verifyWebhookSignature({ secret: SECRET, header, body: BODY, now: AT })).toBe(true);
    expect(verifyWebhookSignature({ secret: SECRET, header, body: Buffer.from(BODY), now: AT })).toBe(true);
  });

  it("fails on a tampered body, a wrong secret, a changed timestamp or a stale one", () => {
    const header = signWebhookBody(SECRET, BODY, T);
    const verify = (changes: Partial<Parameters<typeof verifyWebhookSignature>[0]>) =>
      verifyWebhookSignature({ secret: SECRET, header, body: BODY, now: AT, ...changes });
    expect(verify({ body: BODY.replace('"id":41', '"id":40') })).toBe(false);
    expect(verify({ body: `${BODY} ` })).toBe(false);
    expect(verify({ secret: `${SECRET}x` })).toBe(false);
    // The timestamp is signed too: a replay with a fresh time does not verify.
    expect(verify({ header: header.replace(`t=${T}`, `t=${T + 400}`), now: AT + 400_000 })).toBe(false);
    // Five minutes either way by default, or the tolerance given.
    expect(verify({ now: AT + 300_000 })).toBe(true);
    expect(verify({ now: AT + 301_000 })).toBe(false);
    expect(verify({ now: AT - 301_000 })).toBe(false);
    expect(verify({ now: AT + 3_600_000, toleranceSec: 7_200 })).toBe(true);
  });

  it("refuses a missing or malformed header without throwing", () => {
    const v1 = signWebhookBody(SECRET, BODY, T).split(",")[1]!;
    for (const header of [undefined, null, "", v1, `t=${T}`, `t=soon,${v1}`, `t=${T},v1=zz`, "garbage"]) {
      expect(verifyWebhookSignature({ secret: SECRET, header, body: BODY, now: AT }), String(header)).toBe(
        false,
      );
    }
  });

  it("accepts any of several v1 signatures, as while a secret is rotated", () => {
    const old = signWebhookBody("whsec_old", BODY, T).split(",")[1]!;
    const header = `${signWebhookBody(SECRET, BODY, T)},${old}`;
    expect(verifyWebhookSignature({ secret: SECRET, header, body: BODY, now: AT })).toBe(true);
    expect(verifyWebhookSignature({ secret: "whsec_old", header, body: BODY, now: AT })).toBe(true);
    expect(verifyWebhookSignature({ secret: "whsec_other", header, body: BODY, now: AT })).toBe(false);
  });
});
