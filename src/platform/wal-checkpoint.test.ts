import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "./db.js";
import { capturingLogger } from "./logger.fixture.js";
import { WalCheckpointer, type CheckpointResult } from "./wal-checkpoint.js";

describe("WAL checkpoints on a thread of their own", () => {
  let dir: string;
  let path: string;
  let db: Db;
  let checkpointer: WalCheckpointer | undefined;
  const results: CheckpointResult[] = [];
  const captured = capturingLogger();

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "opsguard-wal-"));
    path = join(dir, "opsguard.db");
    db = openDatabase({ path, autoCheckpoint: false });
    db.exec("CREATE TABLE filler (id INTEGER PRIMARY KEY, blob BLOB)");
    results.length = 0;
    captured.lines.length = 0;
  });
  afterEach(async () => {
    await checkpointer?.stop();
    checkpointer = undefined;
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (intervalMs = 60_000) =>
    (checkpointer = new WalCheckpointer({
      path,
      intervalMs,
      logger: captured.logger,
      onResult: (result) => results.push(result),
    }));
  /** Commits `megabytes` of rows, in transactions of about 100 pages each. */
  const write = (megabytes: number) => {
    const insert = db.prepare("INSERT INTO filler (blob) VALUES (randomblob(4000))");
    for (let batch = 0; batch < megabytes * 2.5; batch++) {
      db.transaction(() => {
        for (let i = 0; i < 100; i++) insert.run();
      })();
    }
  };
  const walBytes = () => statSync(`${path}-wal`).size;

  it("leaves the service's commits alone: past 1,000 pages the WAL is not moved by a commit", () => {
    expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(0n);
    const before = statSync(path).size;
    write(8);
    expect(walBytes()).toBeGreaterThan(8_000_000);
    expect(statSync(path).size).toBe(before); // nothing reached the database file
  });

  it("moves the whole WAL into the database, and the writer then reuses it: it stays bounded", async () => {
    const checkpoints = start();
    write(4);
    const first = await checkpoints.runOnce();
    expect(first.outcome).toBe("complete");
    expect(first.walFrames).toBeGreaterThan(1000);
    expect(first.checkpointedFrames).toBe(first.walFrames);
    const high = walBytes();
    for (let round = 0; round < 4; round++) {
      write(4);
      expect((await checkpoints.runOnce()).outcome).toBe("complete");
    }
    // Each round started the WAL again from its beginning: it never grew past the first round's size.
    expect(walBytes()).toBeLessThanOrEqual(high);
    expect(db.prepare("SELECT COUNT(*) FROM filler").pluck().get()).toBe(5000n);
  });

  it("is partial while a reader holds an older snapshot, and complete once it ends", async () => {
    const checkpoints = start();
    write(1);
    const reader = new Database(path, { readonly: true });
    reader.exec("BEGIN");
    reader.prepare("SELECT COUNT(*) FROM filler").get(); // the snapshot is taken here
    write(1);
    expect((await checkpoints.runOnce()).outcome).toBe("partial");
    reader.exec("COMMIT");
    reader.close();
    expect((await checkpoints.runOnce()).outcome).toBe("complete");
  });

  it("runs on its schedule and reports each checkpoint", async () => {
    start(100).start();
    write(1);
    await expect.poll(() => results.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
    expect(results[0]!.outcome).toBe("complete");
  });

  it("says once that checkpoints fail, and once that they work again", async () => {
    const checkpoints = start();
    rmSync(path);
    rmSync(`${path}-wal`, { force: true });
    rmSync(`${path}-shm`, { force: true });
    expect(await checkpoints.runOnce()).toMatchObject({ outcome: "failed", error: expect.any(String) });
    expect(await checkpoints.runOnce()).toMatchObject({ outcome: "failed" });
    const failures = captured.lines.filter((line) => line.event === "db.checkpoint_failed");
    expect(failures).toHaveLength(1);

    // A database there again: checkpoints work, and that is said once.
    const again = openDatabase({ path, autoCheckpoint: false });
    try {
      expect((await checkpoints.runOnce()).outcome).toBe("complete");
      expect((await checkpoints.runOnce()).outcome).toBe("complete");
    } finally {
      again.close();
    }
    expect(captured.lines.filter((line) => line.event === "db.checkpoint_recovered")).toHaveLength(1);
  });
});
