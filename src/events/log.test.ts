import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../../tests/harness.js";
import { ManualClock } from "../platform/clock.js";
import { migrate, openDatabase, type Db } from "../platform/db.js";
import { GroupCommit } from "../platform/group-commit.js";
import { createSilentLogger } from "../platform/logger.js";
import { LimitWatch } from "./limit-watch.js";
import { EventLog } from "./log.js";
import type { StoredEvent } from "./model.js";

let dir: string;
let db: Db;
let commits: GroupCommit;
let log: EventLog;
const clock = new ManualClock(Date.UTC(2026, 11, 1));

beforeEach(() => {
  dir = tempDir();
  db = openDatabase({ path: join(dir, "opsguard.db") });
  migrate(db);
  commits = new GroupCommit(db);
  log = new EventLog(db, commits, clock, createSilentLogger());
});

afterEach(() => {
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

const subject = { operationId: "op-1", strategy: "s", instrument: "i" };

describe("EventLog", () => {
  it("hands events on only once committed, and reads only what is committed", async () => {
    const seen: StoredEvent[][] = [];
    log.subscribe((events) => seen.push([...events]));
    commits.write(() => log.append("operation.opened", subject, { n: 1 }));
    commits.write(() => log.append("operation.closed", subject, { n: 2 }));
    // The open batch is visible to this connection, but not yet an event anyone gets.
    expect(log.readAfter(0, 10)).toEqual([]);
    expect(seen).toEqual([]);
    await commits.durable();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.map((e) => [e.id, e.kind, e.data])).toEqual([
      [1, "operation.opened", '{"n":1}'],
      [2, "operation.closed", '{"n":2}'],
    ]);
    expect(log.readAfter(0, 10).map((e) => e.id)).toEqual([1, 2]);
    expect(log.readAfter(1, 10).map((e) => e.id)).toEqual([2]);
    expect(log.published).toBe(2);
  });

  it("never hands on an event whose write was undone", async () => {
    const seen: number[] = [];
    log.subscribe((events) => seen.push(...events.map((e) => e.id)));
    expect(() =>
      commits.write(() => {
        log.append("operation.opened", subject, {});
        throw new Error("the change failed");
      }),
    ).toThrow("the change failed");
    commits.write(() => log.append("operation.failed", subject, {}));
    await commits.durable();
    expect(log.readAfter(0, 10).map((e) => e.kind)).toEqual(["operation.failed"]);
    expect(seen).toEqual([log.published]);
  });

  it("never hands on the events of a batch whose commit failed, and hands on those after it", async () => {
    let failNext = true;
    // A step of the commit after the log's own count: the batch is rolled back after it.
    commits.beforeCommit(() => {
      if (failNext) throw new Error("the disk is full");
    });
    const seen: string[] = [];
    log.subscribe((events) => seen.push(...events.map((e) => e.kind)));
    commits.write(() => log.append("operation.opened", subject, {}));
    await expect(commits.durable()).rejects.toThrow("a database commit failed");
    expect(seen).toEqual([]);
    failNext = false;
    commits.write(() => log.append("operation.closed", subject, {}));
    await commits.durable();
    expect(seen).toEqual(["operation.closed"]);
    expect(log.readAfter(0, 10).map((e) => e.kind)).toEqual(["operation.closed"]);
  });

  it("keeps ids growing after the oldest are pruned, and after a restart", async () => {
    for (let i = 0; i < 3; i++) commits.write(() => log.append("operation.opened", subject, {}));
    await commits.durable();
    clock.advance(10_000);
    commits.write(() => log.append("operation.opened", subject, {}));
    await commits.durable();
    expect(commits.write(() => log.prune(clock.now(), 10))).toBe(3);
    expect(commits.write(() => log.prune(clock.now(), 10))).toBe(0);
    await commits.durable();
    expect(log.oldestId()).toBe(4);
    const again = new EventLog(db, commits, clock, createSilentLogger());
    expect(again.published).toBe(4);
    commits.write(() => again.append("operation.closed", subject, {}));
    await commits.durable();
    expect(again.readAfter(0, 10).map((e) => e.id)).toEqual([4, 5]);
  });

  it("prunes the oldest events in id order, up to the first one not old enough, a step at a time", async () => {
    const append = (n: number): void => {
      for (let i = 0; i < n; i++) commits.write(() => log.append("operation.opened", subject, {}));
    };
    expect(commits.write(() => log.prune(clock.now(), 3))).toBe(0); // nothing to prune
    const start = clock.now();
    append(5); // ids 1-5, old
    clock.advance(10_000);
    append(2); // ids 6-7, recent
    clock.advance(-5_000);
    append(1); // id 8, stamped before 6 and 7 (the clock set back), still recent
    clock.advance(-20_000);
    append(1); // id 9, old by its time but after recent ones
    await commits.durable();
    const before = start + 1_000; // between the old events and the recent ones
    expect(commits.write(() => log.prune(before, 3))).toBe(3);
    expect(log.oldestId()).toBe(4);
    expect(commits.write(() => log.prune(before, 3))).toBe(2);
    // Id 9 waits for the recent events before it: pruning stops at the first of them.
    expect(commits.write(() => log.prune(before, 3))).toBe(0);
    await commits.durable();
    expect(log.readAfter(0, 10).map((e) => e.id)).toEqual([6, 7, 8, 9]);
  });

  it("prunes nothing a batch has not committed yet", async () => {
    commits.write(() => log.append("operation.opened", subject, {}));
    await commits.durable();
    clock.advance(10_000);
    const pruned = commits.write(() => {
      log.append("operation.closed", subject, {});
      return log.prune(clock.now(), 10);
    });
    expect(pruned).toBe(1);
    await commits.durable();
    expect(log.readAfter(0, 10).map((e) => e.id)).toEqual([2]);
  });

  it("reads the latest events from memory, as handed on, older ones from the database, and pruned ones from neither", async () => {
    const seen: StoredEvent[] = [];
    log.subscribe((events) => seen.push(...events));
    log.keepRecent();
    for (let i = 0; i < 3; i++) commits.write(() => log.append("operation.opened", subject, { i }));
    await commits.durable();
    const read = log.readAfter(0, 10);
    // The same objects, so each event's JSON is built once for every reader.
    for (let i = 0; i < 3; i++) expect(read[i]).toBe(seen[i]);
    expect(log.readAfter(1, 1)).toEqual([seen[1]]);
    const fromDisk = new EventLog(db, commits, clock, createSilentLogger()).readAfter(0, 10);
    expect(fromDisk.map((e) => [e.id, e.data])).toEqual(read.map((e) => [e.id, e.data]));

    // Thousands of events later, the first are read from the database, alike.
    commits.write(() => {
      for (let i = 0; i < 9_000; i++) log.append("operation.closed", subject, { i });
    });
    await commits.durable();
    commits.write(() => log.append("operation.failed", subject, {}));
    await commits.durable();
    expect(log.readAfter(0, 4).map((e) => [e.id, e.data])).toEqual([
      [1, '{"i":0}'],
      [2, '{"i":1}'],
      [3, '{"i":2}'],
      [4, '{"i":0}'],
    ]);
    expect(log.readAfter(9_002, 10).map((e) => [e.id, e.kind])).toEqual([
      [9_003, "operation.closed"],
      [9_004, "operation.failed"],
    ]);

    clock.advance(10_000);
    commits.write(() => log.append("operation.opened", subject, {}));
    await commits.durable();
    expect(commits.write(() => log.prune(clock.now(), 20_000))).toBe(9_004);
    await commits.durable();
    expect(log.readAfter(0, 10).map((e) => e.id)).toEqual([9_005]);
  });

  it("keeps the latest events in memory only while a reader holds them", async () => {
    const seen: StoredEvent[] = [];
    log.subscribe((events) => seen.push(...events));
    commits.write(() => log.append("operation.opened", subject, { i: 0 }));
    await commits.durable();
    // Nobody follows the log: the event is read again from the database, equal but not the same.
    expect(log.readAfter(0, 10)).toEqual([seen[0]]);
    expect(log.readAfter(0, 10)[0]).not.toBe(seen[0]);

    const releaseStream = log.keepRecent();
    const releaseWebhooks = log.keepRecent();
    commits.write(() => log.append("operation.closed", subject, { i: 1 }));
    await commits.durable();
    expect(log.readAfter(1, 10)[0]).toBe(seen[1]);
    releaseStream();
    releaseStream(); // a second call releases nothing more
    expect(log.readAfter(1, 10)[0]).toBe(seen[1]);
    releaseWebhooks();
    expect(log.readAfter(1, 10)[0]).not.toBe(seen[1]);
    expect(log.readAfter(0, 10).map((e) => e.data)).toEqual(['{"i":0}', '{"i":1}']);
  });

  it("keeps handing events on when one listener throws", async () => {
    const seen: number[] = [];
    log.subscribe(() => {
      throw new Error("broken listener");
    });
    log.subscribe((events) => seen.push(events.length));
    commits.write(() => log.append("operation.opened", subject, {}));
    await commits.durable();
    expect(seen).toEqual([1]);
  });
});

describe("LimitWatch", () => {
  it("records each crossing of a threshold once, up and down, in the batch that caused it", async () => {
    let usage: Record<string, number> = { exposure_total: 0.5, daily_loss: 0 };
    const watch = new LimitWatch(log, () => usage, [1, 0.8]);
    commits.beforeCommit(() => watch.check());
    const crossings = () => log.readAfter(0, 100).map((e) => JSON.parse(e.data) as Record<string, unknown>);

    commits.write(() => undefined);
    await commits.durable();
    expect(crossings()).toEqual([]); // where the limits stood at start is no crossing

    usage = { exposure_total: 0.85, daily_loss: 1 };
    commits.write(() => undefined);
    await commits.durable();
    usage = { exposure_total: 0.9, daily_loss: 1 };
    commits.write(() => undefined);
    await commits.durable();
    usage = { exposure_total: 0.2, daily_loss: 0.9 };
    commits.write(() => undefined);
    await commits.durable();
    expect(crossings()).toEqual([
      { limit: "exposure_total", threshold: 0.8, utilization: 0.85, direction: "up" },
      { limit: "daily_loss", threshold: 1, utilization: 1, direction: "up" },
      { limit: "exposure_total", threshold: 0.8, utilization: 0.2, direction: "down" },
      { limit: "daily_loss", threshold: 1, utilization: 0.9, direction: "down" },
    ]);
  });

  it("records nothing with no thresholds", async () => {
    let usage = { exposure_total: 0 };
    const watch = new LimitWatch(log, () => usage, []);
    commits.beforeCommit(() => watch.check());
    usage = { exposure_total: 1 };
    commits.write(() => undefined);
    await commits.durable();
    expect(log.readAfter(0, 10)).toEqual([]);
  });
});
