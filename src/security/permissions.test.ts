import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../../tests/harness.js";
import { ADMIN_TOKEN_FILE, writeSecretFile } from "../http/tokens.js";
import { fixtureContext, writeAt, writeFixtureApp } from "./app-root.fixture.js";
import type { CheckId } from "./catalog.js";
import { runChecks, type CheckContext } from "./run-checks.js";

describe("the permission checks", () => {
  let dir: string;
  let dataDir: string;
  let appRoot: string;
  let context: CheckContext;

  beforeEach(() => {
    dir = tempDir("opsguard-permissions-");
    dataDir = join(dir, "data");
    mkdirSync(dataDir, { mode: 0o700 });
    appRoot = writeFixtureApp(join(dir, "app"));
    context = fixtureContext({ dataDir, appRoot });
    // What serve leaves in the data folder: the database and the admin token, both 0600, and the
    // baseline key.
    writeSecretFile(context.databasePath, "SQLite format 3\0");
    writeSecretFile(join(dataDir, ADMIN_TOKEN_FILE), "og_x\n");
    writeSecretFile(context.integrity.keyFile, `${"k".repeat(64)}\n`);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const check = async (id: CheckId, on = context) => (await runChecks(on, [id]))[0]!;

  it("passes a private data folder, private secret files and nothing writable by others", async () => {
    expect(await check("OG-FILE-001")).toMatchObject({ status: "ok", evidence: [`${dataDir}: mode 0700`] });
    expect(await check("OG-FILE-002")).toMatchObject({
      status: "ok",
      evidence: [
        `database ${context.databasePath}: mode 0600`,
        `admin token ${join(dataDir, ADMIN_TOKEN_FILE)}: mode 0600`,
        `baseline key ${context.integrity.keyFile}: mode 0600`,
      ],
    });
    expect(await check("OG-FILE-003")).toMatchObject({
      status: "ok",
      evidence: [`nothing writable by others under ${dataDir}, ${appRoot}`],
    });
  });

  it.each([
    ["database", () => context.databasePath],
    ["admin token", () => join(dataDir, ADMIN_TOKEN_FILE)],
    ["baseline key", () => context.integrity.keyFile],
  ])(
    "finds the %s readable by others (OG-FILE-002 critical), naming the file and its mode",
    async (what, path) => {
      chmodSync(path(), 0o644);
      const result = await check("OG-FILE-002");
      expect(result).toMatchObject({
        status: "critical",
        evidence: [`${what} ${path()}: mode 0644, expected 0600`],
        recommendation: "chmod 600 each file listed.",
      });
    },
  );

  it("finds the database's WAL readable by its group too", async () => {
    writeSecretFile(`${context.databasePath}-wal`, "");
    chmodSync(`${context.databasePath}-wal`, 0o640);
    expect((await check("OG-FILE-002")).evidence).toEqual([
      `database WAL ${context.databasePath}-wal: mode 0640, expected 0600`,
    ]);
  });

  it("warns of a data folder others can list (0755), and is critical when others can write to it", async () => {
    chmodSync(dataDir, 0o755);
    expect(await check("OG-FILE-001")).toMatchObject({
      status: "warning",
      evidence: [`${dataDir}: mode 0755, expected 0700`],
      recommendation: "chmod 700 the data folder.",
    });
    chmodSync(dataDir, 0o777);
    expect(await check("OG-FILE-001")).toMatchObject({
      status: "critical",
      evidence: [`${dataDir}: mode 0777, expected 0700`],
    });
  });

  it("is unavailable before the data folder exists", async () => {
    const fresh = fixtureContext({ dataDir: join(dir, "not-yet"), appRoot });
    expect(await check("OG-FILE-001", fresh)).toMatchObject({
      status: "unavailable",
      reason: `${join(dir, "not-yet")} does not exist yet`,
    });
  });

  it("finds a file under the data folder and a folder of the application that others can write to (OG-FILE-003)", async () => {
    const report = writeAt(dataDir, "exports/report.csv", "a,b\n");
    chmodSync(report, 0o666);
    chmodSync(join(appRoot, "dist"), 0o777);
    expect(await check("OG-FILE-003")).toMatchObject({
      status: "critical",
      evidence: [
        `writable by others: ${report} (mode 666)`,
        `writable by others: ${join(appRoot, "dist")} (mode 777)`,
      ],
      recommendation: "chmod o-w each path listed.",
    });
  });

  it("looks in the config file's folder too", async () => {
    const configPath = writeAt(dir, "etc/opsguard.yaml", "{}\n");
    chmodSync(configPath, 0o646);
    const withConfig = fixtureContext({ dataDir, appRoot, configPath });
    expect((await check("OG-FILE-003", withConfig)).evidence).toEqual([
      `writable by others: ${configPath} (mode 646)`,
    ]);
  });

  it("warns when running as root (uid 0), passes uid 1000, and cannot tell without user ids", async () => {
    expect(await check("OG-PROC-001", { ...context, uid: 0 })).toMatchObject({
      status: "warning",
      evidence: ["the process runs as root (uid 0)"],
    });
    expect(await check("OG-PROC-001", { ...context, uid: 1000 })).toMatchObject({
      status: "ok",
      evidence: ["the process runs as uid 1000"],
    });
    expect(await check("OG-PROC-001", { ...context, uid: undefined })).toMatchObject({
      status: "unavailable",
      reason: "this platform has no user ids",
    });
  });
});
