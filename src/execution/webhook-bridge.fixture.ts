import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "vitest";
import { Config, type ConfigInput } from "../config/schema.js";
import { ManualClock } from "../platform/clock.js";
import { createSilentLogger } from "../platform/logger.js";
import { ExecutionError } from "./executor.js";
import { WebhookExecutor } from "./webhook.js";

// Shared by the WebhookExecutor test files; not a test file itself.

type WebhookInput = NonNullable<NonNullable<ConfigInput["executor"]>["webhook"]>;

/** One request as the bridge saw it. */
export interface Hit {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Requests the client had abandoned (connection closed before an answer) when this one arrived. */
  abandonedBefore: number;
}

/** A fake bridge server and the requests it has seen. */
export interface Bridge {
  server: Server;
  url: string;
  hits: Hit[];
  /** Requests whose connection closed before the bridge answered. */
  abandoned: number;
}

const servers: Server[] = [];
/** The clock every executor from `webhook` reads; never advanced. */
export const clock = new ManualClock();
/** The fill time bridges answer with. */
export const AT = Date.UTC(2026, 0, 5, 12, 0, 1, 500);

/** Closes every bridge started so far; register it with `afterEach`. */
export async function closeBridges(): Promise<void> {
  await Promise.all(
    servers.splice(0).map((server) => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    }),
  );
}

/** A bridge on a loopback port that hands each request, body read, to `handle`. */
export async function startBridge(handle: (hit: Hit, res: ServerResponse) => void): Promise<Bridge> {
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      const hit = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body,
        abandonedBefore: bridge.abandoned,
      };
      bridge.hits.push(hit);
      handle(hit, res);
    });
    res.on("close", () => {
      if (!res.writableEnded) bridge.abandoned++;
    });
  });
  const bridge: Bridge = { server, url: "", hits: [], abandoned: 0 };
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  bridge.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bridge`;
  return bridge;
}

/** A bridge that answers every request with the same status and JSON body. */
export const answering = (status: number, body: unknown): Promise<Bridge> =>
  startBridge((_hit, res) => reply(res, status, body));

/** Answers with `status` and `body`, sent as is if a string, else as JSON. */
export function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json" }).end(text);
}

/** A WebhookExecutor on `url` with fast test defaults, overridden by `options`. */
export function webhook(url: string, options: WebhookInput = {}, token?: string): WebhookExecutor {
  const config = Config.parse({
    executor: {
      type: "webhook",
      webhook: {
        url,
        // Generous, so a slow first request on a loaded machine is not taken for a timeout; the
        // tests of timeouts set their own.
        timeoutMs: 2000,
        retries: 2,
        backoffMs: 1,
        ...options,
        circuitBreaker: { failureThreshold: 50, resetMs: 150, ...options.circuitBreaker },
      },
    },
  });
  return new WebhookExecutor({
    config: config.executor.webhook,
    instruments: config.instruments,
    clock,
    logger: createSilentLogger(),
    token,
  });
}

/** A buy order; size is in the instrument's smallest units. */
export const order = (operationId = "op-1", instrument = "BTC-USD", size = 1234n) => ({
  operationId,
  instrument,
  side: "buy" as const,
  size,
});

/** The ExecutionError a promise rejects with; fails the test if it resolves or throws anything else. */
export async function failure(promise: Promise<unknown>): Promise<ExecutionError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ExecutionError);
  return error as ExecutionError;
}
