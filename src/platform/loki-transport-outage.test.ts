import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
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

/** A URL where nothing listens: a port just released. */
async function deadUrl(): Promise<string> {
  const loki = await startLoki();
  await loki.close();
  return loki.url;
}

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
