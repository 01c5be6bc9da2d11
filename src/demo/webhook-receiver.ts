import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import type { WebhookEndpointConfig } from "../config/schema.js";
import { SIGNATURE_HEADER, verifyWebhookSignature } from "../events/webhooks/signature.js";

/** The demo's webhook endpoint, as a receiver of one's own would be. */
export interface DemoWebhookReceiver {
  /** The endpoint to add to `webhooks.endpoints`. */
  endpoint: WebhookEndpointConfig;
  /** Events received with a valid signature, and requests refused for a bad one. */
  readonly counts: { events: number; refused: number };
  close(): Promise<void>;
}

/**
 * Starts a webhook receiver on a loopback port for the demo, with a fresh signing secret in
 * `<dataDir>/demo-webhook-secret` (mode 0600): it checks each delivery's signature as docs/webhooks.md
 * says a receiver should, answers 204, or 401 when the signature does not hold. So the demo shows
 * the webhooks' metrics and dashboard panels moving too.
 */
export async function startDemoWebhookReceiver(dataDir: string): Promise<DemoWebhookReceiver> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secretFile = join(dataDir, "demo-webhook-secret");
  const secret = randomBytes(32).toString("hex");
  writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
  const counts = { events: 0, refused: 0 };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      const header = request.headers[SIGNATURE_HEADER];
      if (typeof header !== "string" || !verifyWebhookSignature({ secret, header, body })) {
        counts.refused++;
        response.writeHead(401).end();
        return;
      }
      counts.events += (JSON.parse(body) as { events: unknown[] }).events.length;
      response.writeHead(204).end();
    });
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : 0);
    }),
  );
  return {
    endpoint: { name: "demo-receiver", url: `http://127.0.0.1:${port}/opsguard-events`, secretFile },
    counts,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
