import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../src/platform/db.js";
import { tempDir } from "./harness.js";
import { startChild, type Child } from "./process.js";
import { SseReader, type ReceivedEvent } from "./sse.js";

/** Operations submitted per run of the service; each opens and is closed by its time limit. */
const PER_RUN = 60;

const ENV = {
  OPSGUARD_EXECUTOR_PAPER_LATENCY_MS: "1",
  OPSGUARD_SUPERVISOR_MONITOR_INTERVAL_MS: "50",
  OPSGUARD_RISK_MAX_SUBMIT_RATE: "{perSecond: 100000, burst: 100000}",
  OPSGUARD_RISK_MAX_EXPOSURE: "{total: 100000000, perInstrument: 100000000}",
};

/** A client that follows the stream, reconnecting with Last-Event-ID, and keeps every event it got. */
class Follower {
  readonly received: ReceivedEvent[] = [];
  private reader: SseReader | undefined;
  private reading: Promise<void> | undefined;

  get lastId(): string | undefined {
    return this.received.at(-1)?.id;
  }

  async connect(child: Child): Promise<void> {
    const headers: Record<string, string> = { authorization: `Bearer ${child.token}` };
    if (this.lastId !== undefined) headers["last-event-id"] = this.lastId;
    // A first connection asks for every event kept, so none is missed before it connects.
    const query = this.lastId === undefined ? "?lastEventId=0" : "";
    const res = await fetch(`http://127.0.0.1:${child.port}/v1/events${query}`, { headers });
    expect(res.status).toBe(200);
    const reader = new SseReader(res.body!);
    this.reader = reader;
    this.reading = (async () => {
      try {
        for (;;) {
          const event = await reader.next(60_000);
          if (!event) return;
          if (event.id !== undefined) this.received.push(event);
        }
      } catch {
        // The connection was cut (a disconnect, a killed process): reconnecting resumes.
      }
    })();
  }

  async disconnect(): Promise<void> {
    await this.reader?.cancel().catch(() => undefined);
    await this.reading;
  }

  async waitFor(count: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline)
        throw new Error(`${this.received.length} of ${count} events after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

async function submit(child: Child, count: number, prefix: string): Promise<void> {
  const base = `http://127.0.0.1:${child.port}`;
  const headers = { authorization: `Bearer ${child.token}`, "content-type": "application/json" };
  for (let i = 0; i < count; i++) {
    try {
      await fetch(`${base}/v1/operations`, {
        method: "POST",
        headers,
        body: JSON.stringify({
          clientId: `${prefix}-${i}`,
          strategy: "trend-follow",
          instrument: "BTC-USD",
          side: i % 2 === 0 ? "buy" : "sell",
          size: "0.01",
          maxDurationSec: 1,
        }),
      });
    } catch {
      return; // the process was killed
    }
  }
}

describe("the event stream across disconnects and kill -9", () => {
  let dataDir: string;
  let child: Child | undefined;
  afterEach(() => {
    child?.process.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("gives a client that reconnects with Last-Event-ID every event exactly once", async () => {
    dataDir = tempDir();
    child = await startChild(dataDir, ["serve"], ENV);
    const follower = new Follower();
    await follower.connect(child);

    // Disconnected mid-stream, while operations open and close.
    const first = submit(child, PER_RUN, "a");
    await follower.waitFor(20);
    await follower.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await follower.connect(child);
    await first;

    // Killed while events flow; the client reconnects to the restarted process.
    const second = submit(child, PER_RUN, "b");
    await follower.waitFor(PER_RUN + 20);
    child.process.kill("SIGKILL");
    await second;
    await child.exited;
    await follower.disconnect();
    child = await startChild(dataDir, ["serve"], ENV);
    await follower.connect(child);
    await submit(child, PER_RUN, "c");

    // Every operation of the last run is closed by its time limit within a few seconds.
    const db = openDatabase({ path: join(dataDir, "opsguard.db") });
    const live = (): number =>
      Number(db.prepare("SELECT count(*) FROM operations WHERE status IN ('pending', 'open')").pluck().get());
    const deadline = Date.now() + 20_000;
    while (live() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(live()).toBe(0);
    const stored = (db.prepare("SELECT id FROM events ORDER BY id").pluck().all() as bigint[]).map(String);
    db.close();
    await follower.waitFor(stored.length);
    await follower.disconnect();

    const ids = follower.received.map((e) => e.id!);
    expect(new Set(ids).size).toBe(ids.length); // no duplicate
    expect(ids).toEqual(stored); // no gap, in order
    const kinds = new Set(follower.received.map((e) => e.event));
    expect(kinds).toContain("operation.opened");
    expect(kinds).toContain("operation.closed");
    for (const event of follower.received) expect(event.data.id).toBe(Number(event.id));
  });
});
