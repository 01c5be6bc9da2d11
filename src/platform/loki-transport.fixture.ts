import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createLogger, type Logger } from "./logger.js";
import { LokiTransport, type LokiTransportOptions } from "./loki-transport.js";

// Shared by the LokiTransport test files; not a test file itself.

/** How the fake Loki answers: 204, 503, 400, 429, or never. */
export type Mode = "ok" | "fail" | "reject" | "throttle" | "hang";

/** One stream of a Loki JSON push request. */
export interface LokiStream {
  stream: Record<string, string>;
  values: [string, string][];
}

/** A real HTTP server on 127.0.0.1 that decodes Loki JSON push requests. */
export interface FakeLoki {
  url: string;
  mode: Mode;
  /** Accepted pushes, decoded, with their headers. */
  pushes: { headers: IncomingHttpHeaders; streams: LokiStream[] }[];
  /** Requests received, whatever the answer. */
  requests: number;
  /** Requests whose connection the client closed while the server held them unanswered. */
  abandoned: number;
  /** Every accepted line, parsed, with its timestamp. */
  lines(): { ns: string; line: Record<string, unknown> }[];
  close(): Promise<void>;
}

const STATUS: Record<Exclude<Mode, "hang">, number> = { ok: 204, fail: 503, reject: 400, throttle: 429 };

/** Starts a fake Loki that answers as `mode` says; change `mode` to change its answers. */
export async function startLoki(mode: Mode = "ok"): Promise<FakeLoki> {
  const server: Server = createServer((req, res) => {
    loki.requests++;
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (loki.mode === "hang") {
        req.socket.once("close", () => loki.abandoned++);
        return;
      }
      if (req.url === "/loki/api/v1/push" && loki.mode === "ok") {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { streams: LokiStream[] };
        loki.pushes.push({ headers: req.headers, streams: body.streams });
      }
      res.writeHead(STATUS[loki.mode]).end(loki.mode === "reject" ? "entry too far behind" : undefined);
    });
  });
  server.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const loki: FakeLoki = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    mode,
    pushes: [],
    requests: 0,
    abandoned: 0,
    lines: () =>
      loki.pushes.flatMap(({ streams }) =>
        streams.flatMap(({ values }) =>
          values.map(([ns, line]) => ({ ns, line: JSON.parse(line) as Record<string, unknown> })),
        ),
      ),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return loki;
}

/** Polls until the condition holds; the test's timeout bounds the wait. */
export async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Undone, last first, by `runCleanups` after each test. */
export const cleanups: (() => Promise<void> | void)[] = [];

/** Runs and forgets the queued cleanups; register it with `afterEach`. */
export async function runCleanups(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

/** A LokiTransport behind a logger, with drops and reports recorded. */
export function lokiLogger(url: string, options: Partial<LokiTransportOptions> = {}) {
  const dropped = { lines: 0 };
  const reports: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const transport = new LokiTransport({
    url,
    labels: { service: "opsguard", env: "test" },
    maxBufferedLines: 10_000,
    batchSize: 1000,
    batchIntervalMs: 20,
    timeoutMs: 1000,
    maxBackoffMs: 40,
    onDropped: (lines) => (dropped.lines += lines),
    onReport: (level, msg, fields) => reports.push({ level, msg, fields }),
    ...options,
  });
  const logger: Logger = createLogger({ level: "debug", env: "test", transports: [transport] });
  cleanups.push(() => transport.close());
  return { transport, logger, dropped, reports };
}

/** Logs `count` info lines, numbered by an `i` field from 0. */
export const logMany = (logger: Logger, count: number): void => {
  for (let i = 0; i < count; i++) logger.info(`line ${i}`, { event: "test.line", i });
};
