import { rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../../tests/harness.js";
import { readDiskUsage } from "./disk-usage.js";

describe("readDiskUsage", () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the database and WAL sizes and the volume of their folder", () => {
    const path = join(dir, "opsguard.db");
    writeFileSync(path, Buffer.alloc(8192));
    writeFileSync(`${path}-wal`, Buffer.alloc(4096));
    const usage = readDiskUsage(path);
    expect(usage).toMatchObject({ databaseBytes: 8192, walBytes: 4096 });
    expect(usage.volumeFreeBytes).toBeGreaterThan(0);
    expect(usage.volumeSizeBytes).toBeGreaterThanOrEqual(usage.volumeFreeBytes!);
  });

  it("counts a missing WAL as empty, and says nothing of a missing or in-memory database", () => {
    const path = join(dir, "opsguard.db");
    writeFileSync(path, "x");
    expect(readDiskUsage(path)).toMatchObject({ databaseBytes: statSync(path).size, walBytes: 0 });
    expect(readDiskUsage(join(dir, "none.db"))).toMatchObject({ databaseBytes: null, walBytes: null });
    expect(readDiskUsage(":memory:")).toEqual({
      databaseBytes: null,
      walBytes: null,
      volumeFreeBytes: null,
      volumeSizeBytes: null,
    });
    // A folder that does not exist has no volume to read.
    expect(readDiskUsage(join(dir, "gone", "opsguard.db")).volumeFreeBytes).toBeNull();
  });
});
