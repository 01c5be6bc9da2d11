import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LoggingConfig } from "../config/schema.js";
import { createLogging } from "./logger.js";
import {
  cleanups,
  logMany,
  lokiLogger,
  runCleanups,
  sleep,
  startLoki,
  waitFor,
} from "./loki-transport.fixture.js";

afterEach(runCleanups);

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

  it("delivers every character of a line exactly, each level's lines in order in its own stream", async () => {
    const loki = await startLoki();
    cleanups.push(() => loki.close());
    const { transport, logger } = lokiLogger(loki.url, { batchIntervalMs: 60_000 });
    const texts = ['quote " and \\ backslash', "new\nline\ttab \u0001", "é 日本 🚀", "</script>", ""];
    texts.forEach((text, i) => (i % 2 === 0 ? logger.info(text, { i }) : logger.warn(text, { i })));
    await transport.flush(5_000);

    expect(loki.pushes).toHaveLength(1);
    const streams = loki.pushes[0]!.streams;
    expect(streams.map((s) => s.stream.level)).toEqual(["info", "warn"]);
    const messages = streams.map((s) =>
      s.values.map(([, line]) => (JSON.parse(line) as { msg: string }).msg),
    );
    expect(messages).toEqual([
      [texts[0], texts[2], texts[4]],
      [texts[1], texts[3]],
    ]);
    const times = streams.flatMap((s) => s.values.map(([ns]) => BigInt(ns)));
    expect(new Set(times).size).toBe(texts.length);
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
