import type * as Fs from "node:fs";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tempDir } from "../../tests/harness.js";
import { openDatabase } from "../platform/db.js";
import { GroupCommit } from "../platform/group-commit.js";
import { stageSnapshot } from "./stage.js";

// Syncing a copy of hundreds of megabytes to disk takes hundreds of milliseconds: never on the
// event loop. The worker thread that copies has node:fs of its own, unmocked.
const syncs = vi.hoisted(() => ({ count: 0 }));
vi.mock("node:fs", async (importOriginal) => {
  const real = await importOriginal<typeof Fs>();
  const fsyncSync = (fd: number) => {
    syncs.count++;
    real.fsyncSync(fd);
  };
  return { ...real, fsyncSync, default: { ...real, fsyncSync } };
});

describe("staging a snapshot", () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("copies, checks and syncs the database off the event loop: no synchronous fsync here", async () => {
    dir = tempDir("opsguard-stage-");
    const databasePath = join(dir, "opsguard.db");
    const db = openDatabase({ path: databasePath });
    try {
      const staged = await stageSnapshot({
        databasePath,
        commits: new GroupCommit(db),
        stagingDir: join(dir, "staging"),
        paths: [],
        instance: "test",
        now: new Date(),
        runId: "run-1",
      });
      expect(staged.manifest.files.map((f) => f.path)).toContain(join(dir, "staging", "opsguard.db"));
    } finally {
      db.close();
    }
    expect(syncs.count).toBe(0);
  });
});
