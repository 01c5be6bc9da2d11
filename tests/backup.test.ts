import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import type { ConfigInput } from "../src/config/schema.js";
import { createSilentLogger } from "../src/platform/logger.js";
import { capturingLogger } from "../src/platform/logger.fixture.js";
import { restoreSnapshot } from "../src/maintenance/restore.js";
import { openDatabase } from "../src/platform/db.js";
import { submitBody, startTestApp, testConfig, type TestApp } from "./harness.js";

/**
 * Backups with the real restic binary into a real repository, of a real SQLite file, while the
 * service trades: what was acknowledged before the copy started is in the snapshot, a drill proves
 * it restorable, and a restore can be served from.
 */
describe("backups with restic", () => {
  let t: TestApp | undefined;
  const cleanup: string[] = [];
  afterEach(async () => {
    await t?.close();
    t = undefined;
    for (const dir of cleanup.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function setup(backup: ConfigInput["backup"] = {}, logger = createSilentLogger()): Promise<TestApp> {
    // Backups on, but no schedule: each test starts its runs itself.
    const schedule = { backup: "off", drill: "off", check: "off" };
    t = await startTestApp(
      {
        backup: { enabled: true, schedule, ...backup },
        risk: {
          maxSubmitRate: { perSecond: 10_000, burst: 10_000 },
          maxExposure: { total: "100000000", perInstrument: "100000000" },
          maxDailyOperations: { global: 1_000_000, perStrategy: 1_000_000 },
        },
      },
      { logger },
    );
    cleanup.push(`${t.config.dataDir}-backups`);
    return t;
  }
  const submit = async (app: TestApp, body = submitBody()) => {
    const res = await app.call("POST", "/v1/operations", { body });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };
  const metric = async (app: TestApp, name: string) => app.app.registry.getSingleMetricAsString(name);

  it("backs up under submit load with everything acknowledged before the copy, and a drill proves it", async () => {
    const app = await setup();
    const acknowledged: string[] = [];
    for (let i = 0; i < 20; i++) acknowledged.push(await submit(app));
    // Submits keep coming while the backup runs.
    let load = true;
    const during: Promise<unknown>[] = [];
    const pump = (async () => {
      while (load) {
        during.push(submit(app).then((id) => acknowledged.push(id)));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const acknowledgedBefore = [...acknowledged];
    const started = await app.call("POST", "/v1/backups");
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as { id: string; status: string };
    // One at a time: a second request while it runs is a 409.
    const again = await app.call("POST", "/v1/backups");
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ code: "ALREADY_RUNNING" });
    const backup = await waitForRun(app, id);
    load = false;
    await pump;
    await Promise.all(during);
    expect(backup, JSON.stringify(backup)).toMatchObject({
      kind: "backup",
      status: "succeeded",
      trigger: "api",
    });
    expect(backup.details.operations).toBeGreaterThanOrEqual(acknowledgedBefore.length);
    // Every operation acknowledged before the backup was asked for is in the snapshot.
    const to = join(app.config.dataDir, "..", `restored-${process.pid}-${Date.now()}`);
    cleanup.push(to);
    await restoreSnapshot({
      restic: Reflect.get(app.app.backups, "options").restic,
      snapshots: () => app.app.backups.snapshots(),
      dataDir: app.config.dataDir,
      logger: createSilentLogger(),
      to,
    });
    const copy = openDatabase({ path: join(to, "opsguard.db") });
    try {
      const present = new Set(copy.prepare("SELECT id FROM operations").pluck().all() as string[]);
      expect(acknowledgedBefore.filter((opId) => !present.has(opId))).toEqual([]);
    } finally {
      copy.close();
    }
    expect(during.length).toBeGreaterThan(0);

    const drill = await app.app.backups.drill("api").done;
    expect(drill).toMatchObject({ status: "succeeded", reason: null });
    expect(drill.details).toMatchObject({ operations: backup.details.operations });
    expect(await metric(app, "opsguard_backup_last_run_success")).toContain(
      "opsguard_backup_last_run_success 1",
    );
    expect(await metric(app, "opsguard_restore_drill_runs_total")).toContain(
      'opsguard_restore_drill_runs_total{result="succeeded"} 1',
    );
    expect(await metric(app, "opsguard_backup_snapshots")).toContain("opsguard_backup_snapshots 1");
  });

  it("restores to a folder that opsguard then serves from, with the same ledger and open operations", async () => {
    const app = await setup();
    const ids = [await submit(app), await submit(app, submitBody({ instrument: "ETH-USD", size: "2" }))];
    await app.call("POST", `/v1/operations/${ids[0]}/close`);
    expect((await app.app.backups.backup("api").done).status).toBe(succeeded);
    const equity = app.app.ledger.equity;
    const open = [...app.app.service.open.keys()].sort();

    const to = join(app.config.dataDir, "..", `restored-${process.pid}-${Date.now()}`);
    cleanup.push(to);
    const result = await restoreSnapshot({
      restic: Reflect.get(app.app.backups, "options").restic,
      snapshots: () => app.app.backups.snapshots(),
      dataDir: app.config.dataDir,
      logger: createSilentLogger(),
      to,
    });
    expect(result.database).toBe(join(to, "opsguard.db"));
    const restored = createApp(testConfig(to), { logger: createSilentLogger(), runtimeMetrics: false });
    try {
      await restored.start();
      expect(restored.ledger.equity).toBe(equity);
      expect([...restored.service.open.keys()].sort()).toEqual(open);
      expect(open).toEqual([ids[1]]);
    } finally {
      await restored.stop();
    }
  });

  it("never makes a new, empty repository where one that held backups has gone", async () => {
    const app = await setup();
    expect((await app.app.backups.backup("api").done).status).toBe(succeeded);
    rmSync(`${app.config.dataDir}-backups`, { recursive: true, force: true });
    const run = await app.app.backups.backup("api").done;
    expect(run.status).toBe("failed");
    expect(run.reason).toMatch(/repository/i);
    expect(existsSync(`${app.config.dataDir}-backups`)).toBe(false);
  });

  it("keeps exactly the snapshots the retention says", async () => {
    const app = await setup({ retention: { keepLast: 2, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 } });
    for (let i = 0; i < 4; i++) {
      await submit(app);
      expect((await app.app.backups.backup("api").done).status).toBe(succeeded);
    }
    const snapshots = await app.app.backups.snapshots();
    expect(snapshots).toHaveLength(2);
    const runs = app.app.backups.runs.recent(10).filter((r) => r.kind === "backup");
    // The two kept are the two newest backups.
    const newest = runs.slice(0, 2).map((r) => String(r.details.snapshotId));
    expect(snapshots.every((s) => newest.some((id) => s.id.startsWith(id) || id.startsWith(s.shortId)))).toBe(
      true,
    );
    expect(await metric(app, "opsguard_backup_snapshots")).toContain("opsguard_backup_snapshots 2");
  });

  it.each([
    ["a wrong password", /wrong password/i],
    ["a missing restic binary", /restic.*(not found|no such file|ENOENT|missing)/i],
    ["an unreachable repository", /127\.0\.0\.1|connect|unreachable|refused/i],
  ])(
    "fails with %s: a clear reason in the run, the log and the metrics; trading goes on",
    async (what, reason) => {
      const logs = capturingLogger();
      // A remote repository needs a password file of the user's; a local one gets one made.
      const ownPassword = join("/tmp", `opsguard-backup-password-${process.pid}-${Date.now()}`);
      cleanup.push(ownPassword);
      writeFileSync(ownPassword, "a password of the remote repository\n", { mode: 0o600 });
      const backup: ConfigInput["backup"] =
        what === "a missing restic binary"
          ? { resticBinary: "/nonexistent/restic" }
          : what === "an unreachable repository"
            ? { repository: "rest:http://127.0.0.1:9/opsguard", passwordFile: ownPassword }
            : {};
      const app = await setup(backup, logs.logger);
      const passwordFile = app.config.backup.passwordFile ?? join(app.config.dataDir, "backup-password");
      const secret = readFileSync(passwordFile, "utf8");
      if (what === "a wrong password") {
        expect((await app.app.backups.backup("api").done).status).toBe(succeeded);
        writeFileSync(passwordFile, "not the repository's password\n");
      }
      const run = await app.app.backups.backup("api").done;
      expect(run.status).toBe("failed");
      expect(run.reason).toMatch(reason);
      expect(await metric(app, "opsguard_backup_last_run_success")).toContain(
        "opsguard_backup_last_run_success 0",
      );
      expect(await metric(app, "opsguard_backup_runs_total")).toMatch(/result="failed"} [1-9]/);
      expect(logs.lines.some((l) => l.event === "backup.failed" && typeof l.reason === "string")).toBe(true);
      // Trading goes on, and no secret reached a log line.
      await submit(app);
      expect(logs.raw.join("")).not.toContain(secret.trim());
      expect(logs.raw.join("")).not.toContain("not the repository's password");
    },
  );
});

const succeeded = "succeeded";

async function waitForRun(t: TestApp, id: string) {
  for (;;) {
    const res = await t.call("GET", `/v1/backups/runs/${id}`);
    const run = (await res.json()) as {
      status: string;
      kind: string;
      trigger: string;
      details: Record<string, number>;
    };
    if (run.status !== "running") return run;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
