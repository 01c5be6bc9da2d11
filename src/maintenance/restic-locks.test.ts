import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResticError } from "./restic.js";
import { createSandbox, holdLock, lockFiles, until, writeTree, type Sandbox } from "./restic.fixture.js";

// Locks, with the real restic: a lock whose process died is stale and cleared; a live one stays.

let sandbox: Sandbox;
let small: string;
let large: string;

beforeAll(async () => {
  sandbox = await createSandbox();
  small = await writeTree(join(sandbox.dir, "small"), { "state.db": "rows", "config.yaml": "a: 1\n" });
  // Random, so that nothing deduplicates; uploads are throttled below so a backup of it lasts.
  large = await writeTree(join(sandbox.dir, "large"), { a: randomBytes(4 << 20), b: randomBytes(4 << 20) });
});
afterAll(() => sandbox.cleanup());

const pidExists = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("stale locks", () => {
  it("are cleared: after a backup killed mid-run, a new backup succeeds and check is clean", async () => {
    const repository = await sandbox.freshRepository();
    const victim = execa("restic", ["backup", "--json", "--limit-upload=256", large], {
      extendEnv: false,
      env: sandbox.env(repository),
      reject: false,
    });
    // Mid-run: it holds its lock and has started reading.
    await new Promise<void>((resolve, reject) => {
      victim.stdout.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes('"message_type":"status"')) resolve();
      });
      void victim.then(() => reject(new Error("the backup ended before it could be killed")));
    });
    await until(async () => (await lockFiles(repository)).length === 1, "the backup's lock");
    victim.kill("SIGKILL");
    const killed = await victim;
    expect(killed.signal).toBe("SIGKILL");
    expect(pidExists(victim.pid!)).toBe(false);
    const [stale] = await lockFiles(repository);
    expect(stale).toBeDefined();

    const restic = sandbox.restic({ repository });
    const summary = await restic.backup([small], { tags: ["after-crash"] });
    expect(summary.filesNew).toBe(2);
    // check needs the exclusive lock: it meets the stale one, clears it, and runs again.
    expect(await restic.check()).toEqual({ ok: true, errors: [] });
    expect(await lockFiles(repository)).toEqual([]);
    expect((await restic.snapshots()).map((s) => s.id)).toEqual([summary.snapshotId]);
  });

  it("are left by nobody when a backup is cancelled: restic removes its own lock", async () => {
    const repository = await sandbox.freshRepository();
    const restic = sandbox.restic({ repository, uploadLimitKiBps: 256 });
    const controller = new AbortController();
    const started = Date.now();
    const error = await restic
      .backup([large], {
        tags: ["cancelled"],
        signal: controller.signal,
        onProgress: () => controller.abort(),
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResticError);
    expect((error as ResticError).kind).toBe("killed");
    expect(Date.now() - started).toBeLessThan(5_000);
    // restic 0.14 cleans up on SIGINT only (0.17+ on SIGTERM too): the adapter sends what it handles.
    expect(await lockFiles(repository)).toEqual([]);
    expect(await restic.snapshots()).toEqual([]);
  });
});

describe("live locks", () => {
  it("stay: check and prune fail as locked, unlock keeps the lock, and all works once it is released", async () => {
    const repository = await sandbox.freshRepository();
    const restic = sandbox.restic({ repository });
    const holder = await holdLock(sandbox, repository);
    const [held] = await lockFiles(repository);
    try {
      for (const attempt of [() => restic.check(), () => restic.prune()]) {
        const error = await attempt().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ResticError);
        expect((error as ResticError).kind).toBe("locked");
        expect([1, 11]).toContain((error as ResticError).exitCode); // 11 from restic 0.17
        expect((error as ResticError).message).toMatch(/repository is already locked by PID \d+/);
      }
      await restic.unlock();
      expect(await lockFiles(repository)).toEqual([held]);
      // A backup only needs a shared lock: it runs beside the other one.
      await restic.backup([small], { tags: ["beside"] });
    } finally {
      await holder.release();
    }
    expect(await lockFiles(repository)).toEqual([]);
    expect(await restic.check()).toEqual({ ok: true, errors: [] });
  });
});
