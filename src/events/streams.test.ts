import { afterEach, describe, expect, it } from "vitest";
import { startTestApp, submitBody, type TestApp } from "../../tests/harness.js";
import { SseReader, type ReceivedEvent } from "../../tests/sse.js";

const open = async (t: TestApp, query = ""): Promise<ReadableStream<Uint8Array>> => {
  const res = await t.app.http.request(`/v1/events${query}`, {
    headers: { authorization: `Bearer ${t.tokens.viewer}` },
  });
  expect(res.status).toBe(200);
  return res.body!;
};

/** Limits no test here should reach. */
const OPEN_LIMITS = {
  maxExposure: { total: "100000000", perInstrument: "100000000" },
  maxSubmitRate: { perSecond: 100_000, burst: 100_000 },
} as const;

const storedIds = (t: TestApp): string[] =>
  (t.app.db.prepare("SELECT id FROM events ORDER BY id").pluck().all() as bigint[]).map(String);

const submitMany = async (t: TestApp, count: number): Promise<void> => {
  for (let i = 0; i < count; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, () =>
        t.call("POST", "/v1/operations", { role: "operator", body: submitBody({ size: "0.001" }) }),
      ),
    );
  }
};

/** Reads every event of a stream until it has `count` with ids, or it ends. */
async function readAll(reader: SseReader, count: number): Promise<ReceivedEvent[]> {
  const events: ReceivedEvent[] = [];
  while (events.filter((e) => e.id !== undefined).length < count) {
    const event = await reader.next(10_000);
    if (!event) break;
    events.push(event);
  }
  return events;
}

describe("event streams", () => {
  let t: TestApp;
  afterEach(() => t.close());

  it("bounds 1,000 slow clients: the stalled are cut off with a reason, the others get every event", async () => {
    const maxBufferedBytes = 65_536;
    t = await startTestApp({
      events: { maxClients: 1_000, maxBufferedBytes, cutoffGraceMs: 60_000 },
      risk: OPEN_LIMITS,
    });
    const stalled = await Promise.all(Array.from({ length: 500 }, () => open(t)));
    const slow = await Promise.all(Array.from({ length: 490 }, () => open(t)));
    const fast = await Promise.all(Array.from({ length: 10 }, () => open(t)));
    const over = await t.app.http.request("/v1/events", {
      headers: { authorization: `Bearer ${t.tokens.viewer}` },
    });
    expect(over.status).toBe(503);
    expect(((await over.json()) as { code: string }).code).toBe("TOO_MANY_STREAMS");

    // Slow clients read one chunk each 20 ms, fast ones as fast as they can; how many events there
    // will be is known at the end.
    const total: { events?: number } = {};
    const slowRead = slow.map(async (body) => {
      const reader = body.getReader();
      let text = "";
      while (total.events === undefined || (text.match(/^id: /gm)?.length ?? 0) < total.events) {
        const { value, done: ended } = await reader.read();
        if (ended) break;
        text += Buffer.from(value).toString();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await reader.cancel();
      return text;
    });
    const fastReaders = fast.map((body) => new SseReader(body));
    const fastRead = fastReaders.map(async (reader) => {
      const events: ReceivedEvent[] = [];
      while (total.events === undefined || events.length < total.events) {
        const event = await reader.next(10_000);
        if (!event) break;
        if (event.id !== undefined) events.push(event);
      }
      await reader.cancel();
      return events;
    });

    let peak = 0;
    const gauge = setInterval(() => {
      peak = Math.max(peak, t.app.streams.bufferedBytes);
    }, 5);
    await submitMany(t, 400);
    clearInterval(gauge);
    const ids = storedIds(t);
    expect(ids.length).toBeGreaterThanOrEqual(400);
    // Held at most one over-the-limit commit's worth per client, and released once they are cut.
    expect(peak).toBeLessThanOrEqual(1_000 * maxBufferedBytes * 2);
    expect(t.app.streams.size).toBe(500);

    total.events = ids.length;
    for (const events of await Promise.all(fastRead)) expect(events.map((e) => e.id)).toEqual(ids);
    // What the slow clients read in all, parsed once at the end.
    for (const text of await Promise.all(slowRead)) {
      const got = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => m[1]);
      expect(got).toEqual(ids);
      expect(text).not.toContain("stream.closed");
    }
    for (const body of stalled) {
      const events = await readAll(new SseReader(body), Number.MAX_SAFE_INTEGER);
      const closed = events.at(-1)!;
      expect(closed.event).toBe("stream.closed");
      expect(closed.data).toMatchObject({ reason: "slow_consumer" });
      expect(String(closed.data.message)).toContain("events.maxBufferedBytes");
    }
    expect(t.app.streams.bufferedBytes).toBe(0);
  });

  it("never cuts off a client that reads, however much one moment publishes", async () => {
    t = await startTestApp({ events: { maxBufferedBytes: 4_096 }, risk: OPEN_LIMITS });
    const reader = new SseReader(await open(t));
    // Fifty operations in one commit: about 35 KB of events for a client whose limit is 4 KB.
    await submitMany(t, 50);
    const ids = storedIds(t);
    const events = await reader.take(ids.length);
    expect(events.map((e) => e.id)).toEqual(ids);
    expect(events.map((e) => e.event)).not.toContain("stream.closed");
    await reader.cancel();
  });

  it("has the log keep its latest events in memory only while a client is connected", async () => {
    t = await startTestApp({ risk: OPEN_LIMITS });
    const latest = () => t.app.events.readAfter(t.app.events.published - 1, 1)[0];
    const reader = new SseReader(await open(t));
    await submitMany(t, 3);
    await reader.take(storedIds(t).length);
    expect(latest()).toBe(latest());
    await reader.cancel();
    await expect.poll(() => latest() !== latest()).toBe(true);
  });

  it("replays a long history a page at a time, filtered, then goes live", async () => {
    t = await startTestApp({ risk: OPEN_LIMITS });
    await submitMany(t, 700);
    await t.call("PUT", "/v1/risk/state", { body: { state: "reducing", reason: "replay test" } });
    const all = storedIds(t);
    expect(all.length).toBeGreaterThan(700);
    const reader = new SseReader(await open(t, "?lastEventId=0&kinds=trading.state_changed"));
    const [change] = await reader.take(1);
    expect(change).toMatchObject({ event: "trading.state_changed", id: all.at(-1) });
    await t.call("PUT", "/v1/risk/state", { body: { state: "active", reason: "replay test done" } });
    const [resumed] = await reader.take(1);
    expect(resumed!.data.data).toMatchObject({ from: "reducing", to: "active" });
    await reader.cancel();

    const now = storedIds(t);
    const everything = new SseReader(await open(t, `?lastEventId=${now[99]}`));
    const replayed = await everything.take(now.length - 100);
    expect(replayed.map((e) => e.id)).toEqual(now.slice(100));
    await everything.cancel();
  });

  it("says which events were pruned, and drops a cut-off client that does not read why", async () => {
    t = await startTestApp({ events: { cutoffGraceMs: 100, maxBufferedBytes: 4_096 }, risk: OPEN_LIMITS });
    await submitMany(t, 5);
    const ids = storedIds(t).map(Number);
    t.app.db.prepare("DELETE FROM events WHERE id <= ?").run(ids[2]);
    const reader = new SseReader(await open(t, "?lastEventId=0"));
    const [gap, next] = await reader.take(2);
    expect(gap).toMatchObject({ event: "stream.gap", data: { from: 1, to: ids[2] } });
    expect(next!.id).toBe(String(ids[3]));
    await reader.cancel();

    const stalled = await open(t);
    await submitMany(t, 20);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Its first chunk was taken by the stream's queue; then the cut-off, then an error.
    const raw = stalled.getReader();
    await expect(
      (async () => {
        for (;;) if ((await raw.read()).done) return "ended";
      })(),
    ).rejects.toThrow("event stream ended: slow_consumer");
  });

  it("ends every stream with a reason when opsguard stops", async () => {
    t = await startTestApp();
    const reader = new SseReader(await open(t));
    t.app.streams.close();
    const closed = await reader.next();
    expect(closed).toMatchObject({ event: "stream.closed", data: { reason: "shutdown" } });
    expect(await reader.next()).toBeUndefined();
    const refused = await t.app.http.request("/v1/events", {
      headers: { authorization: `Bearer ${t.tokens.viewer}` },
    });
    expect(refused.status).toBe(503);
  });
});
