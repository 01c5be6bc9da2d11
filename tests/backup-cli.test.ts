import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { submitBody, tempDir } from "./harness.js";
import { MAIN, startChild, type Child } from "./process.js";

/** `opsguard backup …` as an operator runs it: the built CLI, real restic, beside a live service. */
describe("opsguard backup (the CLI)", () => {
  let dir: string;
  let child: Child | undefined;
  afterEach(async () => {
    child?.process.kill("SIGKILL");
    await child?.exited;
    child = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (args: string[], env: Record<string, string> = {}) => {
    const result = spawnSync(process.execPath, [MAIN, "backup", ...args], {
      env: { PATH: process.env.PATH, OPSGUARD_DATA_DIR: join(dir, "data"), ...env },
      encoding: "utf8",
      timeout: 60_000,
    });
    if (result.error) throw result.error;
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  it("backs up beside a running service, lists, drills, and restores beside it and in place", async () => {
    dir = tempDir("opsguard-backup-cli-");
    const dataDir = join(dir, "data");
    child = await startChild(dataDir, ["serve"]);
    const headers = { authorization: `Bearer ${child.token}`, "content-type": "application/json" };
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`http://127.0.0.1:${child.port}/v1/operations`, {
        method: "POST",
        headers,
        body: JSON.stringify(submitBody()),
      });
      ids.push(((await res.json()) as { id: string }).id);
    }

    const backup = run(["run"]);
    expect(backup.status, backup.stderr).toBe(0);
    expect(backup.stdout).toMatch(/backup succeeded in [\d.]+ s \(snapshotId=\w+ .*operations=3/);
    // Not a terminal here: no progress drawn, one result line.
    expect(backup.stderr).toBe("");

    const list = run(["list"]);
    expect(list.status).toBe(0);
    expect(list.stdout).toContain(`repository ${dir}/data-backups`);
    expect(list.stdout).toMatch(/^[0-9a-f]{8} .* instance:[\w.-]+,opsguard$/m);

    const drill = run(["drill"]);
    expect(drill.status, drill.stderr).toBe(0);
    expect(drill.stdout).toMatch(/drill succeeded .*auditEntries=3 .*operations=3/);

    const beside = join(dir, "restored");
    const restored = run(["restore", "--to", beside]);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(
      `start a copy on it (its own port, no backups of its own): OPSGUARD_DATA_DIR=${beside} OPSGUARD_SERVER_PORT=8081 OPSGUARD_BACKUP_ENABLED=false opsguard serve\n`,
    );
    expect(readdirSync(beside).sort()).toEqual(["manifest.json", "opsguard.db"]);

    // A folder that already holds a database is never overwritten.
    const again = run(["restore", "--to", beside]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain(
      `${beside} already holds manifest.json, opsguard.db`.replace("manifest.json, ", ""),
    );

    // In place while the service runs — also when named with --to — is refused, naming it.
    const into = run(["restore", "--to", dataDir]);
    expect(into.status).toBe(1);
    expect(into.stderr).toMatch(/opsguard is running on .* \(pid \d+\)/);
    const refused = run(["restore"]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(
      /^opsguard: opsguard is running on .* \(pid \d+\): stop it before restoring in place/m,
    );

    child.process.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    child = undefined;
    // The database a restore is for may be damaged: the restore never opens it.
    writeFileSync(join(dataDir, "opsguard.db"), "this is not a database, it was damaged");
    const inPlace = run(["restore"]);
    expect(inPlace.status, inPlace.stderr).toBe(0);
    const replaced = readdirSync(dataDir).find((name) => name.startsWith("replaced-"));
    expect(replaced).toBeDefined();
    expect(existsSync(join(dataDir, replaced!, "opsguard.db"))).toBe(true);

    // The restored state serves, with the operations acknowledged before the backup.
    child = await startChild(dataDir, ["serve"]);
    for (const id of ids) {
      const res = await fetch(`http://127.0.0.1:${child.port}/v1/operations/${id}`, {
        headers: { authorization: `Bearer ${child.token}` },
      });
      expect(res.status).toBe(200);
    }
  });

  it("says what is wrong, in one line, without a stack", () => {
    dir = tempDir("opsguard-backup-cli-");
    const missing = run(["run"], { OPSGUARD_BACKUP_RESTIC_BINARY: "/nonexistent/restic" });
    expect(missing.status).toBe(1);
    expect(missing.stdout).toMatch(/backup failed in [\d.]+ s: .*restic/);
    expect(missing.stderr).not.toMatch(/^\s+at /m);

    const usage = run(["frobnicate"]);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("opsguard backup run");
  });
});
