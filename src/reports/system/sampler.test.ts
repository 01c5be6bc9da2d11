import { rmSync } from "node:fs";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { tempDir } from "../../../tests/harness.js";
import { ManualClock } from "../../platform/clock.js";
import { openDatabase, type Db } from "../../platform/db.js";
import type { Logger } from "../../platform/logger.js";
import { loadSystemSamples } from "./load.js";
import { PRUNE_BATCH, SystemSampler, type SystemSamplerOptions } from "./sampler.js";

const MINUTE = 60_000;
const DAY = 86_400_000;

/** A logger that records its warnings. */
function recordingLogger() {
  const warnings: { message: string; fields: Record<string, unknown> }[] = [];
  const logger = {
    warn: (message: string, fields: Record<string, unknown>) => warnings.push({ message, fields }),
  } as unknown as Logger;
  return { logger, warnings };
}

/** Busy-waits `ms` on the event loop: a stall the delay histogram sees. */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("SystemSampler", () => {
  let dir: string;
  let path: string;
  let db: Db;
  let clock: ManualClock;
  let sampler: SystemSampler;
  const count = () =>
    Number((db.prepare("SELECT COUNT(*) AS n FROM system_samples").get() as { n: bigint }).n);
  const make = (over: Partial<SystemSamplerOptions> = {}) =>
    new SystemSampler({
      db,
      databasePath: path,
      clock,
      logger: recordingLogger().logger,
      openOperations: () => 3,
      settings: { sampleIntervalSec: 60, retentionDays: 35 },
      ...over,
    });

  beforeEach(() => {
    dir = tempDir();
    path = join(dir, "opsguard.db");
    db = openDatabase({ path });
    clock = new ManualClock();
    sampler = make();
  });
  afterEach(() => {
    sampler.stop();
    vi.useRealTimers();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("records nothing before start or after stop", () => {
    expect(sampler.sample()).toBeUndefined();
    sampler.start();
    expect(sampler.running).toBe(true);
    sampler.stop();
    expect(sampler.running).toBe(false);
    expect(sampler.sample()).toBeUndefined();
    expect(count()).toBe(0);
  });

  it("records one row of the process, the database and the volume, read back as it was taken", async () => {
    sampler.start();
    // The histogram's first turns, a stall of the event loop, then turns for it to be recorded.
    await tick(30);
    block(60);
    await tick(30);
    clock.advance(MINUTE);
    const taken = sampler.sample()!;
    expect(taken.at).toBe(clock.now());
    expect(taken.intervalMs).toBeGreaterThanOrEqual(60);
    expect(taken.cpuUserMs + taken.cpuSystemMs).toBeGreaterThan(40);
    expect(taken.rssBytes).toBeGreaterThan(taken.heapUsedBytes);
    expect(taken.heapTotalBytes).toBeGreaterThanOrEqual(taken.heapUsedBytes);
    expect(taken.eventLoopDelayMaxMs).toBeGreaterThanOrEqual(30);
    expect(taken.eventLoopDelayP99Ms).not.toBeNull();
    expect(taken.databaseBytes).toBeGreaterThan(0);
    expect(taken.walBytes).toBeGreaterThan(0);
    expect(taken.volumeFreeBytes).toBeGreaterThan(0);
    expect(taken.volumeSizeBytes).toBeGreaterThanOrEqual(taken.volumeFreeBytes!);
    expect(taken.openOperations).toBe(3);
    expect(loadSystemSamples(path, 0, clock.now() + 1)).toEqual([taken]);
  });

  it("counts the GC time of the interval and starts the next interval from zero", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    sampler.start();
    gc();
    // GC entries reach the observer asynchronously.
    await tick(20);
    clock.advance(MINUTE);
    const first = sampler.sample()!;
    expect(first.gcCount).toBeGreaterThanOrEqual(1);
    expect(first.gcMs).toBeGreaterThan(0);
    clock.advance(MINUTE);
    const second = sampler.sample()!;
    // Nothing allocated in between: the second interval starts from zero.
    expect(second).toMatchObject({ gcCount: 0, gcMs: 0 });
  });

  it("samples every interval on an unref'd timer, and not once stopped", () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    sampler.start();
    vi.advanceTimersByTime(3 * MINUTE);
    expect(count()).toBe(3);
    sampler.stop();
    vi.advanceTimersByTime(3 * MINUTE);
    expect(count()).toBe(3);
    vi.useRealTimers();
    sampler.start();
    const timer = (sampler as unknown as { timer: NodeJS.Timeout }).timer;
    expect(timer.hasRef()).toBe(false);
  });

  it("deletes samples past the retention, at most once an hour", () => {
    const insertAt = (at: number) =>
      db
        .prepare(
          `INSERT INTO system_samples (at, interval_ms, cpu_user_ms, cpu_system_ms, rss_bytes, heap_used_bytes,
             heap_total_bytes, gc_ms, gc_count, open_operations) VALUES (?, 60000, 0, 0, 1, 1, 1, 0, 0, 0)`,
        )
        .run(at);
    insertAt(clock.now() - 36 * DAY);
    insertAt(clock.now() - 34 * DAY);
    sampler.start();
    clock.advance(MINUTE);
    sampler.sample();
    // The 36-day-old one is gone; the 34-day-old one and the new sample remain.
    expect(count()).toBe(2);
    insertAt(clock.now() - 40 * DAY);
    clock.advance(MINUTE);
    sampler.sample();
    expect(count()).toBe(4);
    clock.advance(60 * MINUTE);
    sampler.sample();
    expect(count()).toBe(4);
  });

  it("deletes at most a batch at a time", () => {
    const insert = db.prepare(
      `INSERT INTO system_samples (at, interval_ms, cpu_user_ms, cpu_system_ms, rss_bytes, heap_used_bytes,
         heap_total_bytes, gc_ms, gc_count, open_operations) VALUES (?, 60000, 0, 0, 1, 1, 1, 0, 0, 0)`,
    );
    db.transaction(() => {
      for (let i = 0; i < PRUNE_BATCH + 5; i++) insert.run(clock.now() - 40 * DAY + i * MINUTE);
    })();
    sampler.start();
    sampler.sample();
    expect(count()).toBe(5 + 1);
  });

  it("logs a failure once an hour and never throws it", () => {
    const { logger, warnings } = recordingLogger();
    sampler = make({
      logger,
      openOperations: () => {
        throw new Error("ledger unavailable");
      },
    });
    sampler.start();
    expect(sampler.sample()).toBeUndefined();
    clock.advance(MINUTE);
    expect(sampler.sample()).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.fields.event).toBe("system.sample_failed");
    clock.advance(60 * MINUTE);
    sampler.sample();
    expect(warnings).toHaveLength(2);
    expect(count()).toBe(0);
  });
});
