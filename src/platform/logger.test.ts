import { once } from "node:events";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { stripVTControlCharacters } from "node:util";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import Transport from "winston-transport";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { LoggingConfig } from "../config/schema.js";
import { formatPretty } from "./console-transport.js";
import { createLogging, createSilentLogger, type Logging } from "./logger.js";
import { createMetrics, createRegistry } from "./metrics.js";

/** A writable that keeps what it was given, line by line. */
function capture(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split("\n").filter(Boolean));
      done();
    },
  });
  return { stream, lines };
}

let dataDir: string;
let logging: Logging | undefined;
let stdout: ReturnType<typeof capture>;
let stderr: ReturnType<typeof capture>;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "opsguard-logs-"));
  stdout = capture();
  stderr = capture();
});

afterEach(async () => {
  await logging?.close();
  logging = undefined;
  rmSync(dataDir, { recursive: true, force: true });
});

/** Builds logging from a partial config, writing the console to the captured streams. */
function start(
  input: unknown,
  isTTY = false,
  extra: Partial<Parameters<typeof createLogging>[0]> = {},
): Logging {
  logging = createLogging({
    config: LoggingConfig.parse(input),
    dataDir,
    env: "test",
    console: { stdout: stdout.stream, stderr: stderr.stream, isTTY },
    ...extra,
  });
  return logging;
}

const json = (line: string | undefined): Record<string, unknown> =>
  JSON.parse(line ?? "null") as Record<string, unknown>;

describe("console", () => {
  it("writes JSON lines with timestamp, level, msg and event first; warnings and errors to stderr", () => {
    const { logger } = start({ console: { format: "json" } });
    logger.info("operation opened", { event: "operation.opened", operationId: "op-1" });
    logger.warn("operation rejected", { event: "risk.rejected" });

    expect(stdout.lines).toHaveLength(1);
    const line = json(stdout.lines[0]);
    expect(Object.keys(line).slice(0, 4)).toEqual(["timestamp", "level", "msg", "event"]);
    expect(line).toMatchObject({
      level: "info",
      msg: "operation opened",
      event: "operation.opened",
      operationId: "op-1",
      service: "opsguard",
      env: "test",
    });
    expect(line).not.toHaveProperty("message");
    expect(Date.parse(line.timestamp as string)).not.toBeNaN();
    expect(json(stderr.lines[0])).toMatchObject({ level: "warn", event: "risk.rejected" });
  });

  it("writes a line with a cycle or a BigInt too, as winston's JSON format did", () => {
    const { logger } = start({ console: { format: "json" } });
    const cycle: Record<string, unknown> = { name: "a" };
    cycle.self = cycle;
    logger.info("odd fields", { event: "test.odd", cycle, big: 12345678901234567890n, list: [1, "x"] });
    // Redaction copies the first levels of nested objects; the cycle shows where it starts again.
    expect(stdout.lines[0]).toContain('"self":"[Circular]"');
    expect(json(stdout.lines[0])).toMatchObject({
      msg: "odd fields",
      cycle: { name: "a", self: { name: "a" } },
      big: "12345678901234567890",
      list: [1, "x"],
    });
  });

  it("writes one readable, colourised line per entry when pretty", () => {
    const { logger } = start({ console: { format: "pretty" } });
    logger.info("operation opened", { event: "operation.opened", operationId: "op-1", note: "two words" });

    expect(stdout.lines).toHaveLength(1);
    const line = stdout.lines[0]!;
    expect(stripVTControlCharacters(line)).not.toBe(line);
    expect(stripVTControlCharacters(line)).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} INFO {2}operation\.opened operation opened operationId=op-1 note="two words"$/,
    );
  });

  it("chooses pretty on a terminal and JSON otherwise when auto", () => {
    start({ console: { format: "auto" } }, true).logger.info("hello", { event: "test.hello" });
    expect(() => json(stdout.lines[0])).toThrow();

    const before = stdout.lines.length;
    start({ console: { format: "auto" } }, false).logger.info("hello", { event: "test.hello" });
    expect(json(stdout.lines[before])).toMatchObject({ msg: "hello" });
  });

  it("formats the rest as key=value, quoting what needs it, and the stack below the line", () => {
    const line = formatPretty(
      {
        timestamp: "2026-01-02T03:04:05.678Z",
        level: "error",
        event: "operation.failed",
        msg: "operation failed",
        service: "opsguard",
        env: "test",
        operationId: "op-1",
        reason: 'said "no"',
        attempts: 2,
        detail: { code: "E1" },
        cause: { name: "TypeError", message: "fetch failed", stack: "TypeError: fetch failed\n    at g" },
        stack: "Error: boom\n    at f (x.ts:1:1)",
      },
      false,
    );
    expect(line.split("\n")).toEqual([
      '03:04:05.678 ERROR operation.failed operation failed operationId=op-1 reason="said \\"no\\"" ' +
        'attempts=2 detail={"code":"E1"} cause="TypeError: fetch failed"',
      "    Error: boom",
      "        at f (x.ts:1:1)",
      "    TypeError: fetch failed",
      "        at g",
    ]);
  });

  it("writes nothing when the console is off", () => {
    start({ console: { enabled: false } }).logger.error("boom", { event: "test.boom" });
    expect([...stdout.lines, ...stderr.lines]).toEqual([]);
  });
});

describe("content of a line", () => {
  const provider = new BasicTracerProvider();
  const tracer = provider.getTracer("logger-test");

  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  });
  afterAll(async () => {
    context.disable();
    await provider.shutdown();
  });

  it("carries trace_id and span_id inside a span, and neither outside", async () => {
    const { logger } = start({ console: { format: "json" } });
    const ids = await tracer.startActiveSpan("work", async (span) => {
      logger.info("inside", { event: "test.inside" });
      await new Promise((resolve) => setTimeout(resolve, 5));
      logger.info("inside, after an await", { event: "test.inside" });
      span.end();
      return span.spanContext();
    });
    logger.info("outside", { event: "test.outside" });

    const [first, second, outside] = stdout.lines.map(json);
    expect(first).toMatchObject({ trace_id: ids.traceId, span_id: ids.spanId });
    expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(second).toMatchObject({ trace_id: ids.traceId, span_id: ids.spanId });
    expect(outside).not.toHaveProperty("trace_id");
    expect(outside).not.toHaveProperty("span_id");
  });

  it("leaves out an invalid span context", () => {
    const { logger } = start({ console: { format: "json" } });
    const invalid = trace.wrapSpanContext({ traceId: "0".repeat(32), spanId: "0".repeat(16), traceFlags: 0 });
    context.with(trace.setSpan(context.active(), invalid), () => logger.info("x", { event: "test.x" }));
    expect(json(stdout.lines[0])).not.toHaveProperty("trace_id");
  });

  it("redacts secret-looking keys at any depth and writes errors with message and stack", () => {
    const { logger } = start({ console: { format: "json" } });
    logger.info("calling", {
      event: "test.call",
      authorization: "Bearer s3cr3t",
      request: { headers: { cookie: "sid=s3cr3t" }, apiKey: "s3cr3t", path: "/v1" },
      error: new Error("boom"),
    });
    const line = stdout.lines[0]!;
    expect(line).not.toContain("s3cr3t");
    expect(json(line)).toMatchObject({
      authorization: "[redacted]",
      request: { headers: { cookie: "[redacted]" }, apiKey: "[redacted]", path: "/v1" },
      error: { name: "Error", message: "boom" },
    });
    expect((json(line).error as { stack: string }).stack).toContain("Error: boom");
  });
});

describe("opsguard_log_messages_total", () => {
  it("counts each line written by level, and not the lines below the level", async () => {
    const metrics = createMetrics(createRegistry(), { version: "test", runtime: false });
    const { logger } = start({ level: "info", console: { format: "json" } }, false, {
      onLine: (level) => metrics.logMessages.inc({ level }),
    });
    logger.info("a", { event: "test.a" });
    logger.info("b", { event: "test.b" });
    logger.warn("c", { event: "test.c" });
    logger.debug("d", { event: "test.d" });

    const counts = Object.fromEntries(
      (await metrics.logMessages.get()).values.map((v) => [v.labels.level, v.value]),
    );
    expect(counts).toEqual({ error: 0, warn: 1, info: 2, debug: 0 });
    expect(stdout.lines).toHaveLength(2);
  });
});

describe("file", () => {
  const today = (): string => new Date().toISOString().slice(0, 10);

  it("writes JSON lines to <dataDir>/logs/opsguard-<date>.log, folder 0700 and file 0600", async () => {
    const logging = start({ console: { enabled: false }, file: { enabled: true } });
    logging.logger.info("operation opened", { event: "operation.opened", token: "s3cr3t" });
    await logging.close();

    const dir = join(dataDir, "logs");
    const path = join(dir, `opsguard-${today()}.log`);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const content = readFileSync(path, "utf8");
    expect(content).not.toContain("s3cr3t");
    expect(json(content.trim())).toMatchObject({ event: "operation.opened", token: "[redacted]" });
  });

  it("has written every line when close resolves, so the process may exit at once", async () => {
    const logging = start({ console: { enabled: false }, file: { enabled: true } });
    for (let i = 0; i < 500; i++) logging.logger.info(`line ${i}`, { event: "test.line" });
    await logging.close(5_000);

    const content = readFileSync(join(dataDir, "logs", `opsguard-${today()}.log`), "utf8");
    expect(content.trim().split("\n")).toHaveLength(500);
  });

  it("rotates by size, every file 0600", async () => {
    const dir = join(dataDir, "elsewhere");
    const logging = start({ console: { enabled: false }, file: { enabled: true, dir, maxSize: "1k" } });
    for (let i = 0; i < 60; i++) {
      logging.logger.info(`line ${i}`, { event: "test.line", padding: "x".repeat(100) });
    }
    await logging.close();

    // close() waits for the current file only; a rotated-out file finishes its writes on its own.
    const files = (): string[] => readdirSync(dir).filter((name) => name.endsWith(".log"));
    const lines = (): string[] =>
      files().flatMap((name) => readFileSync(join(dir, name), "utf8").split("\n").filter(Boolean));
    while (lines().length < 60) await new Promise((resolve) => setTimeout(resolve, 5));

    expect(new Set(lines().map((line) => json(line).msg)).size).toBe(60);
    expect(files().length).toBeGreaterThanOrEqual(4);
    expect(files()).toContain(`opsguard-${today()}.1.log`);
    for (const name of files()) expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
  });
});

describe("output failures", () => {
  it("tells Loki problems on the console, even when the console is off, and counts drops", async () => {
    const server = createServer().listen(0, "127.0.0.1");
    await once(server, "listening");
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await new Promise((resolve) => server.close(resolve));
    let dropped = 0;
    const { logger } = start(
      { console: { enabled: false }, loki: { url, batchIntervalMs: 10, maxBufferedLines: 2 } },
      false,
      { onDropped: (lines) => (dropped += lines) },
    );
    for (let i = 0; i < 5; i++) logger.info("unsent", { event: "test.unsent" });
    expect(dropped).toBe(3);

    while (stderr.lines.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(stdout.lines).toEqual([]);
    expect(json(stderr.lines[0])).toMatchObject({
      level: "warn",
      event: "logs.loki_push_failed",
      droppedLines: 3,
      bufferedLines: 2,
    });
  });

  it("reports a failing output on the console at most once a minute and keeps logging", () => {
    const failing = new (class extends Transport {
      override log(_info: unknown, next: () => void): void {
        next();
        this.emit("error", new Error("disk full"));
      }
    })();
    const { logger } = start({ console: { format: "json" } }, false, { transports: [failing] });
    logger.info("one", { event: "test.one" });
    logger.info("two", { event: "test.two" });

    expect(stdout.lines.map((line) => json(line).msg)).toEqual(["one", "two"]);
    expect(stderr.lines.map(json)).toEqual([
      expect.objectContaining({ level: "warn", event: "logs.output_failed", error: "disk full" }),
    ]);
  });
});

it("createSilentLogger writes nothing", () => {
  expect(() => createSilentLogger().error("nothing", { event: "test.nothing" })).not.toThrow();
});
