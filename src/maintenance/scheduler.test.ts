import { afterEach, describe, expect, it } from "vitest";
import { BackupConfig } from "../config/schema.js";
import { DomainError } from "../platform/errors.js";
import { capturingLogger } from "../platform/logger.fixture.js";
import type { BackupManager } from "./backups.js";
import { startMaintenance, type MaintenanceSchedule } from "./scheduler.js";

/** A backup manager that records what was started; each backup ends when the test says so. */
function fakeManager({ backedUpBefore = false, busy = false } = {}) {
  const started: string[] = [];
  let finishBackup: (status: string) => void = () => undefined;
  const run = (kind: string) => (trigger: string) => {
    if (busy) throw new DomainError("ALREADY_RUNNING", "a backup is under way in another process");
    started.push(`${kind}:${trigger}`);
    const done =
      kind === "backup"
        ? new Promise((resolve) => (finishBackup = (status) => resolve({ status })))
        : Promise.resolve({ status: "succeeded" });
    return { done };
  };
  const manager = {
    runs: {
      summary: (kind: string) =>
        kind === "backup" && backedUpBefore ? { lastSuccess: { finishedAt: 1 }, last: {} } : {},
    },
    backup: run("backup"),
    drill: run("drill"),
    check: run("check"),
  } as unknown as BackupManager;
  return { manager, started, finishBackup: (status: string) => finishBackup(status) };
}

/** Whether `promise` has settled once every callback queued so far has run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe("startMaintenance", () => {
  const config = BackupConfig.parse({});
  let schedule: MaintenanceSchedule | undefined;
  afterEach(() => schedule?.stop());

  it("on a fresh install, backs up at once and tells when that backup has finished", async () => {
    const { manager, started, finishBackup } = fakeManager();
    schedule = startMaintenance(manager, config, capturingLogger().logger);
    expect(started).toEqual(["backup:start"]);
    expect(await settled(schedule.firstBackup)).toBe(false);
    finishBackup("succeeded");
    expect(await settled(schedule.firstBackup)).toBe(true);
    // Then the drill and the repository check, one after the other.
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual(["backup:start", "drill:start", "check:start"]);
  });

  it("tells so as well when the first backup failed", async () => {
    const { manager, started, finishBackup } = fakeManager();
    schedule = startMaintenance(manager, config, capturingLogger().logger);
    finishBackup("failed");
    expect(await settled(schedule.firstBackup)).toBe(true);
    expect(started).toEqual(["backup:start"]);
  });

  it("has nothing to wait for when a backup succeeded before, or another process is taking one", async () => {
    schedule = startMaintenance(
      fakeManager({ backedUpBefore: true }).manager,
      config,
      capturingLogger().logger,
    );
    expect(await settled(schedule.firstBackup)).toBe(true);
    schedule.stop();
    const { logger, lines } = capturingLogger();
    schedule = startMaintenance(fakeManager({ busy: true }).manager, config, logger);
    expect(await settled(schedule.firstBackup)).toBe(true);
    expect(lines.map((line) => line.event)).toEqual(["maintenance.skipped"]);
  });
});
