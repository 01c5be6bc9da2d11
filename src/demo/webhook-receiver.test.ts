import { readFileSync, rmSync, statSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../../tests/harness.js";
import { signWebhookBody } from "../events/webhooks/signature.js";
import { startDemoWebhookReceiver, type DemoWebhookReceiver } from "./webhook-receiver.js";

describe("the demo's webhook receiver", () => {
  let dir: string;
  let receiver: DemoWebhookReceiver;
  afterEach(async () => {
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("takes deliveries signed with its secret and refuses any other", async () => {
    dir = tempDir();
    receiver = await startDemoWebhookReceiver(dir);
    const { url, secretFile } = receiver.endpoint;
    expect(statSync(secretFile!).mode & 0o777).toBe(0o600);
    const secret = readFileSync(secretFile!, "utf8").trim();
    const body = JSON.stringify({ deliveryId: "demo-receiver:1-2", events: [{ id: 1 }, { id: 2 }] });
    const post = (signature: string, text = body) =>
      fetch(url, { method: "POST", headers: { "opsguard-signature": signature }, body: text });
    const now = Math.floor(Date.now() / 1000);
    expect((await post(signWebhookBody(secret, body, now))).status).toBe(204);
    expect((await post(signWebhookBody("another secret", body, now))).status).toBe(401);
    expect((await post(signWebhookBody(secret, body, now), body.replace("1-2", "1-3"))).status).toBe(401);
    expect(receiver.counts).toEqual({ events: 2, refused: 2 });
  });
});
