import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CHECKS } from "../src/security/catalog.js";
import type { CheckResult } from "../src/security/report.js";
import { startTestApp, tempDir, type TestApp } from "./harness.js";
import { MAIN } from "./process.js";

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node <main> ...args` in `cwd` (where there is no opsguard.yaml) with only the given
 * environment, npm audit off (it would ask the registry) and backups off. Asynchronous, so that
 * commands that do not depend on each other run side by side.
 */
function opsguard(args: string[], env: Record<string, string>, cwd: string, main = MAIN): Promise<Ran> {
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (npm test does)`);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [main, ...args],
      {
        cwd,
        env: {
          PATH: process.env.PATH,
          OPSGUARD_SECURITY_NPM_AUDIT_ENABLED: "false",
          OPSGUARD_BACKUP_ENABLED: "false",
          ...env,
        },
        timeout: 30_000,
      },
      (error, stdout, stderr) => {
        const status = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ status, stdout, stderr });
      },
    );
  });
}

/**
 * The build, copied into `root` beside package.json and the lockfile, with node_modules/ made of
 * links to the repository's packages. The binary checks the folder it runs from: this way the
 * integrity baseline records each package as a link instead of reading all of node_modules/,
 * and OG-FILE-003 walks a small tree, while what runs is the same build with the same packages.
 */
function relocateBuild(root: string): string {
  const repository = dirname(dirname(MAIN));
  cpSync(join(repository, "dist"), join(root, "dist"), { recursive: true });
  for (const file of ["package.json", "package-lock.json"]) cpSync(join(repository, file), join(root, file));
  const from = join(repository, "node_modules");
  mkdirSync(join(root, "node_modules"));
  for (const name of readdirSync(from)) {
    if (name.startsWith("@")) {
      mkdirSync(join(root, "node_modules", name));
      for (const inner of readdirSync(join(from, name)))
        symlinkSync(join(from, name, inner), join(root, "node_modules", name, inner));
    } else symlinkSync(join(from, name), join(root, "node_modules", name));
  }
  return join(root, "dist/main.js");
}

describe("opsguard security check (the built binary)", () => {
  let dir: string;
  let runs: { json: Ran; critical: Ran; bogus: Ran };

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
    dir = tempDir("opsguard-security-bin-");
    const main = relocateBuild(join(dir, "app"));
    const dataDir = join(dir, "data");
    mkdirSync(dataDir, { mode: 0o700 });
    const env = { OPSGUARD_DATA_DIR: dataDir };
    // A fresh data folder: no baseline yet (a warning), no backups (a warning), nothing critical.
    const [json, critical, bogus] = await Promise.all([
      opsguard(["security", "check", "--json", "--fail-on", "warning"], env, dir, main),
      opsguard(["security", "check", "--fail-on", "critical"], env, dir, main),
      opsguard(["security", "check", "--fail-on", "bogus"], env, dir),
    ]);
    runs = { json: json, critical, bogus };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("prints every result as JSON, and exits 1 with --fail-on warning when there is a warning", () => {
    const { status, stdout, stderr } = runs.json;
    expect(status, stderr).toBe(1);
    const report = JSON.parse(stdout) as { counts: Record<string, number>; results: CheckResult[] };
    expect(report.results.map((r) => r.id)).toEqual(CHECKS.map((c) => c.id));
    expect(report.results[0]).toMatchObject({ id: "OG-INT-001", status: "warning" });
    expect(report.results.find((r) => r.id === "OG-BAK-001")).toMatchObject({
      status: "warning",
      evidence: ["backup.enabled is false: no scheduled backups"],
    });
    expect(report.counts.critical).toBe(0);
    // Not a terminal: no progress line.
    expect(stderr).toBe("");
  });

  it("exits 0 with --fail-on critical when nothing is critical, printing a table", () => {
    const { status, stdout, stderr } = runs.critical;
    expect(status, stderr).toBe(0);
    expect(stdout).toMatch(/^WARNING\s+OG-INT-001\s+The integrity baseline exists/m);
    expect(stdout.trimEnd().split("\n").at(-1)).toMatch(
      /^0 critical, [1-9]\d* warning, \d+ unavailable, \d+ ok$/,
    );
  });

  it("exits 2 on --fail-on bogus, naming the allowed values", () => {
    expect(runs.bogus).toMatchObject({
      status: 2,
      stdout: "",
      stderr: "--fail-on must be one of unavailable, warning, critical\n",
    });
  });
});

describe("opsguard token (the built binary) beside a running service", () => {
  let t: TestApp;
  afterEach(() => t.close());

  const idOf = (token: string) => /^og_([A-Za-z0-9]{12})_/.exec(token)![1]!;

  it("lists the tokens without their secrets, and revokes one: the service refuses it at its next request", async () => {
    t = await startTestApp();
    const env = { OPSGUARD_DATA_DIR: t.config.dataDir };
    const cwd = t.config.dataDir;
    const [list, unknown] = await Promise.all([
      opsguard(["token", "list"], env, cwd),
      opsguard(["token", "revoke", "AAAAAAAAAAAA"], env, cwd),
    ]);

    expect(list.status, list.stderr).toBe(0);
    const lines = list.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    for (const role of ["viewer", "operator", "admin"] as const) {
      const token = t.tokens[role];
      expect(lines.find((line) => line.startsWith(idOf(token)))).toMatch(
        new RegExp(`^${idOf(token)}  ${role.padEnd(8)}  test-${role}  created \\S+Z \\(0 days ago\\)$`),
      );
      expect(list.stdout).not.toContain(token.slice(-43));
    }
    expect(unknown).toMatchObject({ status: 1, stderr: "no token has the id AAAAAAAAAAAA\n" });

    expect((await t.call("GET", "/v1/risk", { role: "viewer" })).status).toBe(200);
    const viewer = idOf(t.tokens.viewer);
    const revoked = await opsguard(["token", "revoke", viewer], env, cwd);
    expect(revoked).toMatchObject({ status: 0, stdout: `revoked token ${viewer}\n` });

    // The service loaded the token before; another connection's commit makes it look again.
    const refused = await t.call("GET", "/v1/risk", { role: "viewer" });
    expect(refused.status).toBe(401);
    expect((await t.call("GET", "/v1/risk", { role: "operator" })).status).toBe(200);
    const audit = await t.call("GET", "/v1/audit?action=token.revoke");
    expect(((await audit.json()) as { items: unknown[] }).items).toEqual([
      expect.objectContaining({ actor: "cli", action: "token.revoke", target: viewer }),
    ]);
  });
});
