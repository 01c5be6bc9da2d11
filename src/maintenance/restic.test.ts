import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BackupProgress, type Restic, ResticError } from "./restic.js";
import { cheapenKey, createSandbox, dataPack, spyRestic, writeTree, type Sandbox } from "./restic.fixture.js";

// One repository through its life, in order: init, backups, listing, restore, retention, check,
// a wrong password, damage. Each step runs the real restic (0.14 on CI) behind a wrapper that
// records its argv and env.

const MARKER = "OPSGUARD_RESTIC_TEST_MARKER";
const FILES = {
  "opsguard.db": "SQLite format 3\0 pretend",
  "config/opsguard.yaml": "listen: 127.0.0.1:8080\n",
  "models/a.bin": Buffer.alloc(4096, 7),
};
let sandbox: Sandbox;
let restic: Restic;
let source: string;
let log: string;
const made: string[] = [];

beforeAll(async () => {
  sandbox = await createSandbox();
  log = join(sandbox.dir, "spy.log");
  // opsguard's own environment must not reach restic.
  process.env[MARKER] = "leaked";
  restic = sandbox.restic({ binary: await spyRestic(sandbox.dir, log) });
  source = await writeTree(join(sandbox.dir, "source"), FILES);
});
afterAll(async () => {
  delete process.env[MARKER];
  await sandbox.cleanup();
});

describe("Restic against a real repository", () => {
  it("reads restic's version (0.14 or newer)", async () => {
    const version = await restic.version();
    expect(version.text).toMatch(/^restic \d+\.\d+\.\d+/);
    expect(version.major > 0 || version.minor >= 14).toBe(true);
  });

  it("creates the repository once", async () => {
    expect(await restic.init()).toBe(true);
    expect(await restic.init()).toBe(false);
    await cheapenKey(sandbox.options().repository, sandbox.password); // the rest runs faster
  });

  it("backs up a folder: summary numbers, full snapshot id, tags", async () => {
    const progress: BackupProgress[] = [];
    const summary = await restic.backup([source], {
      tags: ["opsguard", "hourly"],
      host: "ops-1",
      onProgress: (p) => progress.push(p),
    });
    made.push(summary.snapshotId);

    expect(summary.snapshotId).toMatch(/^[0-9a-f]{64}$/); // 0.14 prints 8 hex digits: resolved
    expect(summary).toMatchObject({
      filesNew: 3,
      filesChanged: 0,
      filesUnmodified: 0,
      totalFilesProcessed: 3,
      totalBytesProcessed: Object.values(FILES).reduce((sum, content) => sum + content.length, 0),
      warnings: [],
    });
    expect(summary.dataAdded).toBeGreaterThan(0);
    expect(summary.totalDurationSeconds).toBeGreaterThan(0);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((p) => p.percentDone >= 0 && p.percentDone <= 1)).toBe(true);

    const [snapshot] = await restic.snapshots();
    expect(snapshot).toEqual({
      id: summary.snapshotId,
      shortId: summary.snapshotId.slice(0, 8),
      time: expect.any(String),
      hostname: "ops-1",
      paths: [source],
      tags: ["opsguard", "hourly"],
    });
  });

  it("backs up a change as one changed file and new data", async () => {
    await writeFile(join(source, "opsguard.db"), "SQLite format 3\0 pretend, now with rows");
    const summary = await restic.backup([source], { tags: ["opsguard", "daily"], host: "ops-1" });
    made.push(summary.snapshotId);
    expect(summary).toMatchObject({ filesNew: 0, filesChanged: 1, filesUnmodified: 2 });
    expect(summary.dataAdded).toBeGreaterThan(0);
  });

  it("reports unreadable files as warnings of a snapshot made anyway (exit code 3)", async () => {
    // /proc/self/mem is restic's own memory: reading it from offset 0 fails with EIO, even as root.
    const summary = await restic.backup([source, "/proc/self/mem"], { tags: ["unreadable"] });
    expect(summary.warnings.some((w) => w.includes("/proc/self/mem"))).toBe(true);
    expect(summary.warnings).toContain("Warning: at least one source file could not be read");
    const listed = await restic.snapshots({ tags: ["unreadable"] });
    expect(listed.map((s) => s.id)).toEqual([summary.snapshotId]);
  });

  it("lists snapshots oldest first, filtered by all the given tags", async () => {
    expect((await restic.snapshots({ tags: ["opsguard"] })).map((s) => s.id)).toEqual(made);
    expect((await restic.snapshots({ tags: ["opsguard", "daily"] })).map((s) => s.id)).toEqual([made[1]]);
    expect(await restic.snapshots({ tags: ["nothing-has-this"] })).toEqual([]);
  });

  it("restores a snapshot into a folder, byte for byte", async () => {
    const target = join(sandbox.dir, "restored");
    const progress: unknown[] = [];
    await restic.restore(made[0]!, target, { onProgress: (p) => progress.push(p) });
    const restored = join(target, source); // restic restores the absolute path under the target
    for (const [path, content] of Object.entries(FILES)) {
      expect(await readFile(join(restored, path))).toEqual(Buffer.from(content));
    }
    // 0.14 has no `restore --json`: no progress rather than made-up progress.
    const { minor } = await restic.version();
    if (minor < 16) expect(progress).toEqual([]);

    const only = join(sandbox.dir, "only-config");
    await restic.restore(made[0]!.slice(0, 8), only, { include: [join(source, "config")] });
    await expect(readFile(join(only, source, "config/opsguard.yaml"), "utf8")).resolves.toContain("listen");
    await expect(readFile(join(only, source, "opsguard.db"))).rejects.toThrow(/ENOENT/);
  });

  it("forgets what a keep-last policy does not keep, only among the tagged snapshots", async () => {
    // Five snapshots of one backup set, one after another: five restic processes at once were
    // seen to outlast the test's timeout on a loaded 2-core machine.
    for (let i = 0; i < 5; i++) await restic.backup([source], { tags: ["retention"], host: "ops-1" });
    const retained = (await restic.snapshots({ tags: ["retention"] })).map((s) => s.id);
    expect(retained).toHaveLength(5);
    const result = await restic.forget({ keepLast: 2 }, { tags: ["retention"] });

    expect(new Set(result.kept)).toEqual(new Set(retained.slice(3)));
    expect(new Set(result.removed)).toEqual(new Set(retained.slice(0, 3)));
    expect((await restic.snapshots({ tags: ["retention"] })).map((s) => s.id)).toEqual(retained.slice(3));
    // Other backup sets are untouched.
    expect((await restic.snapshots({ tags: ["opsguard"] })).map((s) => s.id)).toEqual(made);
    // Nothing tagged so: an empty result, not an error.
    expect(await restic.forget({ keepDaily: 7 }, { tags: ["no-such-set"] })).toEqual({
      kept: [],
      removed: [],
    });
  });

  it("refuses a forget without a policy or without tags", async () => {
    await expect(restic.forget({}, { tags: ["retention"] })).rejects.toThrow(/keep\* count/);
    await expect(restic.forget({ keepLast: 0 }, { tags: ["retention"] })).rejects.toThrow(/keep\* count/);
    await expect(restic.forget({ keepLast: 1 }, { tags: [] })).rejects.toThrow(/tags/);
    await expect(restic.forget({ keepLast: -1 }, { tags: ["x"] })).rejects.toThrow(/non-negative/);
  });

  it("prunes, and the repository checks clean", async () => {
    await restic.prune();
    expect(await restic.check({ readDataSubset: "100%" })).toEqual({ ok: true, errors: [] });
  });

  it("refuses another password as wrong_password, and init does not take the repository for its own", async () => {
    const passwordFile = join(sandbox.dir, "wrong-password");
    await writeFile(passwordFile, "not the password\n", { mode: 0o600 });
    const stranger = sandbox.restic({ passwordFile });
    // One after the other: a second call started at once would reject while the first is awaited.
    for (const attempt of [() => stranger.snapshots(), () => stranger.init()]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ResticError);
      const { kind, exitCode, message, stderr } = error as ResticError;
      expect(kind).toBe("wrong_password");
      expect([1, 12]).toContain(exitCode); // 12 from restic 0.17
      expect(message).toMatch(/wrong password or no key found/);
      for (const secret of [sandbox.options().repository, sandbox.password]) {
        expect(`${message}\n${stderr}`).not.toContain(secret);
      }
    }
  });

  it("damaged: a pack overwritten in place is found by reading the data back, a deleted one by check", async () => {
    const pack = await dataPack(sandbox, sandbox.options().repository);
    const { size } = await stat(pack);
    await rm(pack, { force: true });
    await writeFile(pack, Buffer.alloc(size, 0xaa));
    expect(await restic.check()).toEqual({ ok: true, errors: [] }); // the structure is intact
    const read = await restic.check({ readDataSubset: "100%" });
    expect(read.ok).toBe(false);
    expect(read.errors.join("\n")).toMatch(/Pack ID does not match/);

    await rm(pack);
    expect(await restic.check()).toEqual({
      ok: false,
      errors: [expect.stringMatching(/^pack [0-9a-f]{64}: does not exist$/)],
    });
  });

  it("never put the repository or password on a command line, nor opsguard's environment in restic's", async () => {
    const calls = (await readFile(log, "utf8")).split("--- argv\n").filter(Boolean);
    expect(calls.length).toBeGreaterThan(15);
    for (const call of calls) {
      const [argv = "", env = ""] = call.split("--- env\n");
      expect(argv).not.toContain(sandbox.options().repository);
      expect(argv).not.toContain(sandbox.password);
      expect(env).not.toContain(sandbox.password);
      expect(env).not.toContain(MARKER);
      const names = env.split("\n").flatMap((line) => /^([A-Z_][A-Z0-9_]*)=/.exec(line)?.[1] ?? []);
      expect(names.filter((n) => !["PWD", "SHLVL", "_"].includes(n)).sort()).toEqual([
        "HOME",
        "PATH",
        "RESTIC_CACHE_DIR",
        "RESTIC_PASSWORD_FILE",
        "RESTIC_PROGRESS_FPS",
        "RESTIC_REPOSITORY",
        "TMPDIR", // given in `env`
      ]);
      expect(env).toContain(`RESTIC_REPOSITORY=${sandbox.options().repository}\n`);
    }
    await rm(log);
  });
});
