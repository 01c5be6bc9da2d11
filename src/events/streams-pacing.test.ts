import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createRegistry } from "../platform/metrics.js";
import type { EventLog } from "./log.js";
import { createEventMetrics } from "./metrics.js";
import type { StoredEvent } from "./model.js";
import { EventStreams } from "./streams.js";

/** The parts of an event log the streams use, published by hand. */
class HandLog {
  published = 0;
  private listener: ((events: readonly StoredEvent[]) => void) | undefined;
  subscribe(listener: (events: readonly StoredEvent[]) => void): () => void {
    this.listener = listener;
    return () => undefined;
  }
  oldestId(): number | null {
    return null;
  }
  keepRecent(): () => void {
    return () => undefined;
  }
  readAfter(): StoredEvent[] {
    return [];
  }
  commit(count: number): void {
    const events = Array.from({ length: count }, () => ({
      id: ++this.published,
      at: 0,
      kind: "operation.opened" as const,
      operationId: "op",
      strategy: "s",
      instrument: "i",
      data: "{}",
    }));
    this.listener?.(events);
  }
}

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
    streams = new EventStreams(
      log as unknown as EventLog,
      { maxClients: 10, maxBufferedBytes: 1 << 20, heartbeatMs: 60_000, cutoffGraceMs: 1_000 },
      createEventMetrics(createRegistry()),
    );
  });
  afterEach(() => {
    streams.close();
    vi.useRealTimers();
  });

  it("writes a quiet stream's event at once, and a busy stream's commits at most once per 25 ms", async () => {
    const reader = streams.open(undefined, {}).getReader();
    await reader.read(); // the greeting

    // Quiet: the first commit goes out with the next timer turn, not after an interval.
    log.commit(1);
    const first = reader.read();
    await vi.advanceTimersByTimeAsync(1);
    expect(idsIn((await first).value!)).toEqual([1]);

    // Busy: the commits of the next 25 ms wait, and then reach the client in one write.
    const second = reader.read();
    let written = false;
    void second.then(() => (written = true));
    for (let i = 0; i < 4; i++) {
      log.commit(2);
      await vi.advanceTimersByTimeAsync(5);
    }
    expect(written).toBe(false);
    await vi.advanceTimersByTimeAsync(5);
    expect(idsIn((await second).value!)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);

    // Quiet again after the interval: at once.
    await vi.advanceTimersByTimeAsync(100);
    const third = reader.read();
    log.commit(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(idsIn((await third).value!)).toEqual([10]);
    await reader.cancel();
  });
});
