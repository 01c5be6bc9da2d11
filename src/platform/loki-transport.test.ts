import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LoggingConfig } from "../config/schema.js";
import { createLogger, createLogging, type Logger } from "./logger.js";
import { LokiTransport, type LokiTransportOptions } from "./loki-transport.js";

/** How the fake Loki answers: 204, 503, 400, 429, or never. */
type Mode = "ok" | "fail" | "reject" | "throttle" | "hang";

interface LokiStream {
  stream: Record<string, string>;
  values: [string, string][];
}

/** A real HTTP server on 127.0.0.1 that decodes Loki JSON push requests. */
interface FakeLoki {
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

async function startLoki(mode: Mode = "ok"): Promise<FakeLoki> {
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

/** A URL where nothing listens: a port just released. */
async function deadUrl(): Promise<string> {
  const loki = await startLoki();
  await loki.close();
  return loki.url;
}

/** Polls until the condition holds; the test's timeout bounds the wait. */
async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A LokiTransport behind a logger, with drops and reports recorded. */
function lokiLogger(url: string, options: Partial<LokiTransportOptions> = {}) {
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

const logMany = (logger: Logger, count: number): void => {
  for (let i = 0; i < count; i++) logger.info(`line ${i}`, { event: "test.line", i });
};

describe("pushing to Loki", () => {
  const provider = new BasicTracerProvider();
  const tracer = provider.getTracer("loki-test");
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  });
  afterAll(async () => {
    context.disable();
    await provider.shutdown();
  });

  it("delivers redacted JSON lines, one stream per level labelled service, env and level only", async () => {
    const loki = await startLoki();
    cleanups.push(() => loki.close());
    const dir = mkdtempSync(join(tmpdir(), "opsguard-loki-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "token"), "loki-token\n");
    const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
    const logging = createLogging({
      config: LoggingConfig.parse({
        console: { enabled: false },
        loki: { url: loki.url, tokenFile: join(dir, "token"), tenant: "team-a", batchIntervalMs: 60_000 },
      }),
      dataDir: dir,
      env: "staging",
      console: { stdout: silent, stderr: silent },
    });
    cleanups.push(() => logging.close());

    const span = tracer.startActiveSpan("request", (span) => {
      logging.logger.info("operation opened", { event: "operation.opened", operationId: "op-1" });
      logging.logger.warn("rejected", {
        event: "risk.rejected",
        authorization: "Bearer s3cr3t",
        token: "s3cr3t",
      });
      span.end();
      return span.spanContext();
    });
    logging.logger.info("outside", { event: "test.outside" });
    await logging.flush(5_000);

    expect(loki.pushes).toHaveLength(1);
    const push = loki.pushes[0]!;
    expect(push.headers).toMatchObject({
      "content-type": "application/json",
      authorization: "Bearer loki-token",
      "x-scope-orgid": "team-a",
    });
    expect(push.streams.map((s) => s.stream)).toEqual([
      { service: "opsguard", env: "staging", level: "info" },
      { service: "opsguard", env: "staging", level: "warn" },
    ]);
    expect(JSON.stringify(push.streams)).not.toContain("s3cr3t");

    const lines = loki.lines();
    expect(lines.map((l) => l.line.msg)).toEqual(["operation opened", "outside", "rejected"]);
    for (const { ns, line } of lines) {
      expect(line).toHaveProperty("timestamp");
      expect(line).toHaveProperty("level");
      expect(line).toHaveProperty("event");
      expect(BigInt(ns) / 1_000_000n).toBe(BigInt(Date.parse(line.timestamp as string)));
    }
    const [opened, outside, rejected] = lines.map((l) => l.line);
    expect(opened).toMatchObject({ trace_id: span.traceId, span_id: span.spanId, operationId: "op-1" });
    expect(rejected).toMatchObject({
      trace_id: span.traceId,
      authorization: "[redacted]",
      token: "[redacted]",
    });
    expect(outside).not.toHaveProperty("trace_id");
  });

  it("pushes as soon as batchSize lines wait, without waiting for the interval", async () => {
    const loki = await startLoki();
    cleanups.push(() => loki.close());
    const { transport, logger } = lokiLogger(loki.url, { batchSize: 5, batchIntervalMs: 60_000 });

    logMany(logger, 12);
    // The last two wait for the interval (a minute away) or a flush.
    await waitFor(() => loki.pushes.length === 2 && transport.bufferedLines === 2);
    await sleep(50);
    expect(loki.pushes).toHaveLength(2);
    await transport.flush(5_000);

    expect(loki.pushes.map((p) => p.streams[0]!.values.length)).toEqual([5, 5, 2]);
    expect(loki.lines().map((l) => l.line.i)).toEqual([...Array(12).keys()]);
  });

  it("pushes what waits every batchIntervalMs", async () => {
    const loki = await startLoki();
    cleanups.push(() => loki.close());
    const { logger } = lokiLogger(loki.url, { batchIntervalMs: 30 });

    logMany(logger, 3);
    await waitFor(() => loki.pushes.length === 1);
    logMany(logger, 2);
    await waitFor(() => loki.pushes.length === 2);

    expect(loki.pushes.map((p) => p.streams[0]!.values.length)).toEqual([3, 2]);
  });
});

describe("when Loki is unreachable or hangs", () => {
  it("keeps logging, holds at most maxBufferedLines, and counts every drop", async () => {
    const { transport, logger, dropped } = lokiLogger(await deadUrl(), {
      maxBufferedLines: 100,
      batchSize: 10,
    });

    let highest = 0;
    for (let i = 0; i < 5000; i++) {
      logger.info(`line ${i}`, { event: "test.line" });
      highest = Math.max(highest, transport.bufferedLines);
    }
    expect(highest).toBe(100);
    expect(dropped.lines).toBeGreaterThanOrEqual(4900);
    await waitFor(() => transport.bufferedLines + dropped.lines === 5000);
    await transport.flush(1_000);
    expect(transport.bufferedLines).toBeLessThanOrEqual(100);
    expect(transport.bufferedLines + dropped.lines).toBe(5000);
  });

  it("aborts each hung push at timeoutMs, one push in flight at a time", async () => {
    const loki = await startLoki("hang");
    cleanups.push(() => loki.close());
    const { transport, logger } = lokiLogger(loki.url, {
      timeoutMs: 100,
      maxBufferedLines: 50,
      batchSize: 10,
    });

    logMany(logger, 200);
    await waitFor(() => loki.requests === 1);
    expect(transport.bufferedLines).toBe(50);
    await waitFor(() => loki.abandoned >= 2);
    // A retry starts only after the previous push gave up.
    expect(loki.requests - loki.abandoned).toBeLessThanOrEqual(1);
    expect(transport.bufferedLines).toBeLessThanOrEqual(50);
  });

  it("aborts a hung push at timeoutMs even when garbage is collected meanwhile", async () => {
    // AbortSignal.any() holds AbortSignal.timeout() weakly: once collected, it never fired and
    // the transport hung for good (nodejs/node#57736). Under load that took seconds.
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const loki = await startLoki("hang");
    cleanups.push(() => loki.close());
    const { logger } = lokiLogger(loki.url, { timeoutMs: 200, batchSize: 10 });

    logMany(logger, 20);
    await waitFor(() => loki.requests === 1);
    for (let i = 0; i < 3; i++) {
      gc();
      await sleep(10);
    }
    await waitFor(() => loki.abandoned >= 1 && loki.requests >= 2);
  });

  it("resolves flush by its deadline while a push hangs far longer, and close aborts that push", async () => {
    const loki = await startLoki("hang");
    cleanups.push(() => loki.close());
    const { transport, logger, dropped } = lokiLogger(loki.url, { timeoutMs: 30_000 });

    logMany(logger, 20);
    await waitFor(() => loki.requests === 1);
    await transport.flush(200);
    expect(loki.pushes).toHaveLength(0);

    transport.close();
    await waitFor(() => loki.abandoned === 1);
    await waitFor(() => dropped.lines === 20);
  });

  it("delivers the lines of a hung push once Loki answers again", async () => {
    const loki = await startLoki("hang");
    cleanups.push(() => loki.close());
    const { transport, logger, dropped } = lokiLogger(loki.url, { timeoutMs: 300 });

    logMany(logger, 20);
    await waitFor(() => loki.requests === 1);
    loki.mode = "ok";
    await waitFor(() => transport.bufferedLines === 0);

    expect(loki.abandoned).toBe(1);
    expect(loki.lines().map((l) => l.line.i)).toEqual([...Array(20).keys()]);
    expect(dropped.lines).toBe(0);
  });

  it("keeps lines while Loki fails and delivers them in order when it is back", async () => {
    const loki = await startLoki("fail");
    cleanups.push(() => loki.close());
    const { transport, logger, dropped } = lokiLogger(loki.url, { batchSize: 7 });

    logMany(logger, 30);
    await waitFor(() => loki.requests >= 3);
    expect(loki.pushes).toHaveLength(0);
    loki.mode = "ok";
    await waitFor(() => transport.bufferedLines === 0);

    expect(loki.lines().map((l) => l.line.i)).toEqual([...Array(30).keys()]);
    expect(dropped.lines).toBe(0);
  });

  it("drops the oldest lines when full, so the newest reach Loki once it is back", async () => {
    const loki = await startLoki("fail");
    cleanups.push(() => loki.close());
    const { transport, logger, dropped } = lokiLogger(loki.url, { maxBufferedLines: 20 });

    logMany(logger, 100);
    expect(dropped.lines).toBe(80);
    await waitFor(() => loki.requests >= 1);
    loki.mode = "ok";
    await waitFor(() => transport.bufferedLines === 0);

    expect(loki.lines().map((l) => l.line.i)).toEqual([...Array(20).keys()].map((i) => 80 + i));
    expect(dropped.lines).toBe(80);
  });

  it("retries a push answered 429", async () => {
    const loki = await startLoki("throttle");
    cleanups.push(() => loki.close());
    const { transport, logger, dropped } = lokiLogger(loki.url);

    logMany(logger, 5);
    await waitFor(() => loki.requests >= 2);
    loki.mode = "ok";
    await waitFor(() => transport.bufferedLines === 0);

    expect(loki.lines()).toHaveLength(5);
    expect(dropped.lines).toBe(0);
  });

  it("drops and counts a batch Loki rejects with a 4xx, without retrying it", async () => {
    const loki = await startLoki("reject");
    cleanups.push(() => loki.close());
    const { transport, logger, dropped, reports } = lokiLogger(loki.url);

    logMany(logger, 5);
    await waitFor(() => dropped.lines === 5);
    await sleep(100);

    expect(loki.requests).toBe(1);
    expect(transport.bufferedLines).toBe(0);
    expect(reports).toEqual([
      expect.objectContaining({
        level: "warn",
        fields: expect.objectContaining({
          event: "logs.loki_push_rejected",
          droppedLines: 5,
          error: "HTTP 400: entry too far behind",
        }) as unknown,
      }),
    ]);
  });

  it("reports problems at most once per interval, and the recovery once", async () => {
    const loki = await startLoki("fail");
    cleanups.push(() => loki.close());
    const { transport, logger, reports } = lokiLogger(loki.url, { maxBackoffMs: 20 });

    logMany(logger, 3);
    await waitFor(() => loki.requests >= 5);
    expect(reports).toEqual([
      {
        level: "warn",
        msg: "loki push failed; lines are kept and retried",
        fields: expect.objectContaining({
          event: "logs.loki_push_failed",
          failedPushes: 1,
          error: "HTTP 503: ",
        }) as unknown,
      },
    ]);
    loki.mode = "ok";
    await waitFor(() => transport.bufferedLines === 0);
    expect(reports.map((r) => r.fields.event)).toEqual(["logs.loki_push_failed", "logs.loki_recovered"]);
  });

  it("counts what it still holds as dropped when closed, and pushes no more", async () => {
    const loki = await startLoki("fail");
    cleanups.push(() => loki.close());
    const { transport, logger, dropped } = lokiLogger(loki.url);

    logMany(logger, 8);
    await waitFor(() => loki.requests >= 1 && transport.bufferedLines === 8);
    transport.close();
    await waitFor(() => dropped.lines === 8);
    const requests = loki.requests;
    loki.mode = "ok";
    await sleep(100);
    expect(loki.requests).toBe(requests);
  });
});
