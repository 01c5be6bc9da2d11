import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { EventJson } from "../model.js";
import { SIGNATURE_HEADER, verifyWebhookSignature } from "./signature.js";

// Shared by the webhook test files; not a test file itself.

/** How the receiver answers: 204, 500, or never (the connection is held until the client gives up). */
export type ReceiverMode = "ok" | "fail" | "hang";

/** One event of a delivery. */
export type ReceivedEvent = EventJson;

/** One request as the receiver saw it. */
export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  deliveryId: string;
  events: ReceivedEvent[];
  /** How it was answered. */
  mode: ReceiverMode;
  /** Whether the signature header verified with the secret, at the time it arrived. */
  signed: boolean;
}

/**
 * A webhook receiver on a loopback port: it verifies each request's signature as a real receiver
 * would, answers as `mode` says, and keeps what it was sent. `acknowledged` dedupes by event id,
 * as receivers are told to.
 */
export class Receiver {
  mode: ReceiverMode = "ok";
  readonly requests: Received[] = [];
  private readonly waiters: { check: () => boolean; resolve: () => void }[] = [];

  private readonly server: Server;

  private constructor(
    private readonly secret: string,
    private readonly now: () => number,
  ) {
    this.server = createServer((req, res) => this.handle(req.headers, req, res));
  }

  /** Starts a receiver that verifies signatures with `secret` at the time `now` gives (ms). */
  static async start(secret: string, now: () => number = Date.now): Promise<Receiver> {
    const receiver = new Receiver(secret, now);
    receiver.server.listen(0, "127.0.0.1");
    await once(receiver.server, "listening");
    return receiver;
  }

  /** The URL to configure as the endpoint's. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/opsguard`;
  }

  /** The ids of the events of every request answered 2xx, deduped, in the order first received. */
  acknowledged(): number[] {
    const ids = new Set<number>();
    for (const request of this.requests) {
      if (request.mode === "ok") for (const event of request.events) ids.add(event.id);
    }
    return [...ids];
  }

  /** Resolves once `check` holds, re-checked at each request received. */
  until(check: () => boolean, what = "the expected requests"): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the receiver never got ${what}`)), 15_000);
      this.waiters.push({
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(headers: IncomingHttpHeaders, req: NodeJS.ReadableStream, res: ServerResponse): void {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      const mode = this.mode;
      const parsed = JSON.parse(body) as { deliveryId: string; events: ReceivedEvent[] };
      const signed = verifyWebhookSignature({
        secret: this.secret,
        header: headers[SIGNATURE_HEADER] as string | undefined,
        body,
        now: this.now(),
      });
      this.requests.push({
        headers,
        body,
        deliveryId: parsed.deliveryId,
        events: parsed.events,
        mode,
        signed,
      });
      if (mode === "ok") res.writeHead(204).end();
      else if (mode === "fail")
        res.writeHead(500, { "content-type": "text/plain" }).end("down for maintenance");
      for (const waiter of [...this.waiters]) {
        if (waiter.check()) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    });
  }
}

/** One sample's value from a `/metrics` body, or undefined when the series is missing. */
export function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}
