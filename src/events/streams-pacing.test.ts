import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createRegistry } from "../platform/metrics.js";
import { HandLog } from "./hand-log.fixture.js";
import { createEventMetrics } from "./metrics.js";
import { EventStreams } from "./streams.js";

/** events.flushIntervalMs, as configured here. */
const INTERVAL = 40;
const SETTINGS = {
  maxClients: 10,
  maxBufferedBytes: 1 << 20,
  heartbeatMs: 60_000,
  cutoffGraceMs: 1_000,
  flushIntervalMs: INTERVAL,
};

const idsIn = (chunk: Uint8Array): number[] =>
  [
    ...Buffer.from(chunk)
      .toString()
      .matchAll(/^id: (\d+)$/gm),
  ].map((m) => Number(m[1]));

describe("event stream pacing", () => {
  let log: HandLog;
  let streams: EventStreams;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    log = new HandLog();
    streams = new EventStreams(log.asEventLog, SETTINGS, createEventMetrics(createRegistry()));
  });
  afterEach(() => {
    streams.close();
    vi.useRealTimers();
  });

  it("writes a quiet stream's event at once, and a busy stream's commits at most once per interval", async () => {
    const reader = streams.open(undefined, {}).getReader();
    await reader.read(); // the greeting

    // Quiet: the first commit goes out with the next timer turn, not after an interval.
    log.commit(1);
    const first = reader.read();
    await vi.advanceTimersByTimeAsync(1);
    expect(idsIn((await first).value!)).toEqual([1]);

    // Busy: the commits of the next interval wait, and then reach the client in one write.
    const second = reader.read();
    let written = false;
    void second.then(() => (written = true));
    for (let i = 0; i < INTERVAL / 5 - 1; i++) {
      log.commit(2);
      await vi.advanceTimersByTimeAsync(5);
    }
    expect(written).toBe(false);
    await vi.advanceTimersByTimeAsync(5);
    expect(idsIn((await second).value!)).toEqual(
      Array.from({ length: 2 * (INTERVAL / 5 - 1) }, (_, i) => i + 2),
    );

    // Quiet again after the interval: at once.
    await vi.advanceTimersByTimeAsync(4 * INTERVAL);
    const third = reader.read();
    log.commit(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(idsIn((await third).value!)).toEqual([log.published]);
    await reader.cancel();
  });

  it("gives the clients of one filter the same chunk, built once, and each filter what it selects", async () => {
    const open = (strategies?: string[]) =>
      streams.open(undefined, strategies ? { strategies: new Set(strategies) } : {}).getReader();
    const readers = [open(["a"]), open(["a"]), open(["b"]), open()];
    for (const reader of readers) await reader.read(); // the greetings
    const next = async (): Promise<Uint8Array[]> => {
      const reads = readers.map((reader) => reader.read());
      await vi.advanceTimersByTimeAsync(INTERVAL);
      return (await Promise.all(reads)).map((read) => read.value!);
    };

    // Quiet: the commits of this moment, in one write each.
    log.commit(1, { strategy: "a" });
    log.commit(1, { strategy: "b" });
    let [a1, a2, b, all] = await next();
    expect(idsIn(a1!)).toEqual([1]);
    expect(a2).toBe(a1);
    expect(idsIn(b!)).toEqual([2]);
    expect(idsIn(all!)).toEqual([1, 2]);

    // Busy: the commits of the interval after a write wait, and go out together, still shared.
    const reads = readers.map((reader) => reader.read());
    log.commit(1, { strategy: "a" });
    await vi.advanceTimersByTimeAsync(1);
    expect(idsIn((await reads[0]!).value!)).toEqual([3]);
    expect((await reads[1]!).value).toBe((await reads[0]!).value);
    expect(idsIn((await reads[3]!).value!)).toEqual([3]);
    const [aRead, otherARead, , allRead] = readers.map((reader, i) => (i === 2 ? reads[2]! : reader.read()));
    log.commit(1, { strategy: "b" });
    await vi.advanceTimersByTimeAsync(5);
    log.commit(2, { strategy: "a" });
    await vi.advanceTimersByTimeAsync(INTERVAL);
    [a1, a2, b, all] = await Promise.all(
      [aRead!, otherARead!, reads[2]!, allRead!].map(async (read) => (await read).value!),
    );
    expect(idsIn(a1!)).toEqual([5, 6]);
    expect(a2).toBe(a1);
    expect(idsIn(b!)).toEqual([4]);
    expect(idsIn(all!)).toEqual([4, 5, 6]);
    for (const reader of readers) await reader.cancel();
  });

  /**
   * `count` clients of a stream made busy: a first commit went out at once, a second waits for
   * the flush. Returns the streams, and each client's read of the second commit.
   */
  async function busyClients(count: number) {
    const many = new EventStreams(
      log.asEventLog,
      { ...SETTINGS, maxClients: count + 5 },
      createEventMetrics(createRegistry()),
    );
    const readers = Array.from({ length: count }, () => many.open(undefined, {}).getReader());
    for (const reader of readers) await reader.read(); // the greetings
    const first = readers.map((reader) => reader.read());
    log.commit(1);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all(first);
    const second = readers.map((reader) => reader.read());
    await vi.advanceTimersByTimeAsync(1);
    log.commit(1);
    return { many, second };
  }

  it("writes a flush ten clients a turn, so that other work runs between", async () => {
    const { many, second } = await busyClients(25);
    const perClient = many.bufferedBytes / 25;
    expect(perClient).toBeGreaterThan(0);

    vi.advanceTimersByTime(INTERVAL); // the flush's first turn, and nothing after it
    expect(many.bufferedBytes).toBe(15 * perClient);
    await new Promise((resolve) => setImmediate(resolve));
    expect(many.bufferedBytes).toBe(5 * perClient);
    await new Promise((resolve) => setImmediate(resolve));
    expect(many.bufferedBytes).toBe(0);
    for (const read of await Promise.all(second)) expect(idsIn(read.value!)).toEqual([2]);
    many.close();
  });

  it("writes every client at once when it stops, before telling them why", async () => {
    const { many, second } = await busyClients(25);
    many.close();
    expect(many.bufferedBytes).toBe(0);
    for (const read of await Promise.all(second)) expect(idsIn(read.value!)).toEqual([2]);
  });
});
