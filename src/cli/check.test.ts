import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../../tests/harness.js";
import { MAIN } from "../../tests/process.js";
import { ManualClock } from "../platform/clock.js";
import { openDatabase } from "../platform/db.js";
import { checkEnvironment } from "./check.js";
import { judgeNodeVersion } from "./node-support.js";

let dir: string;
let dataDir: string;

beforeEach(() => {
  dir = tempDir("opsguard-check-");
  dataDir = join(dir, "data");
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Writes `opsguard.yaml` in the test folder with `dataDir` set and the given lines appended. Its
 * backups go to a remote repository with a password kept outside the data folder, as a careful
 * setup has them: the backup warnings have tests of their own.
 */
function writeConfig(...lines: string[]): string {
  const path = join(dir, "opsguard.yaml");
  writeFileSync(path, [`dataDir: ${dataDir}`, ...CAREFUL_BACKUP, ...lines].join("\n"));
  return path;
}

const CAREFUL_BACKUP = [
  "backup:",
  "  repository: sftp:backups.example:/opsguard",
  "  passwordFile: /etc/opsguard/backup-password",
];
const CAREFUL_BACKUP_ENV = {
  OPSGUARD_BACKUP_REPOSITORY: "sftp:backups.example:/opsguard",
  OPSGUARD_BACKUP_PASSWORD_FILE: "/etc/opsguard/backup-password",
};

/** Writes a secret file with exactly `mode`, whatever the umask. */
function writeSecret(name: string, mode: number, contents = "s3cret\n"): string {
  const path = join(dir, name);
  writeFileSync(path, contents);
  chmodSync(path, mode);
  return path;
}

/**
 * Checks as if on Node 24 on 2026-12-01, so that the results do not depend on the Node running
 * the tests; the Node checks pass their own.
 */
function check(options: Parameters<typeof checkEnvironment>[0]): ReturnType<typeof checkEnvironment> {
  return checkEnvironment({
    nodeVersion: "24.22.3",
    clock: new ManualClock(Date.UTC(2026, 11, 1)),
    ...options,
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("checkEnvironment", () => {
  it("passes on the defaults and creates a private data folder", () => {
    const result = check({ path: writeConfig(), env: {} });
    expect(result.problems).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.config?.dataDir).toBe(dataDir);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
  });

  it("warns that a repository on the data folder's disk, and a password in it, are lost with it", () => {
    writeFileSync(join(dir, "plain.yaml"), `dataDir: ${dataDir}\n`);
    const { problems, warnings } = check({ path: join(dir, "plain.yaml"), env: {} });
    expect(problems).toEqual([]);
    expect(warnings).toEqual([
      `backup.repository ${dataDir}-backups is on the same disk as the data folder: it does not survive the loss of that disk; use another disk or a remote repository (s3:, sftp:, rest:, b2:)`,
      `backup.passwordFile ${join(dataDir, "backup-password")} is in the data folder: keep a copy elsewhere, or the backups cannot be read once the data folder is lost`,
    ]);
  });

  it("lists every problem at once", () => {
    const tokenFile = join(dir, "no-such-token");
    const { problems } = check({
      path: writeConfig("auth:", "  enabled: false", "server:", "  host: 0.0.0.0"),
      env: { OPSGUARD_METRICS_BEARER_TOKEN_FILE: tokenFile },
    });
    expect(problems).toHaveLength(2);
    expect(problems).toEqual(
      expect.arrayContaining([
        "auth.enabled is false while server.host 0.0.0.0 is not a loopback address",
        expect.stringMatching(new RegExp(`^metrics\\.bearerTokenFile ${escapeRegExp(tokenFile)}: .*ENOENT`)),
      ]),
    );
  });

  it.each(["127.0.0.1", "localhost", "::1"])("allows auth disabled on the loopback address %s", (host) => {
    const { problems } = check({
      path: writeConfig(),
      env: { OPSGUARD_AUTH_ENABLED: "false", OPSGUARD_SERVER_HOST: host },
    });
    expect(problems).toEqual([]);
  });

  it.each([
    ["metrics.bearerTokenFile", "OPSGUARD_METRICS_BEARER_TOKEN_FILE"],
    ["executor.webhook.tokenFile", "OPSGUARD_EXECUTOR_WEBHOOK_TOKEN_FILE"],
    ["logging.loki.tokenFile", "OPSGUARD_LOGGING_LOKI_TOKEN_FILE"],
  ])("warns when %s is readable by group or others", (key, variable) => {
    const loose = writeSecret("loose-token", 0o644);
    const result = check({ path: writeConfig(), env: { [variable]: loose } });
    expect(result.problems).toEqual([]);
    expect(result.warnings).toEqual([`${key} ${loose}: readable by group or others; use chmod 600`]);

    const tight = writeSecret("tight-token", 0o600);
    expect(check({ path: writeConfig(), env: { [variable]: tight } }).warnings).toEqual([]);
  });

  it("reports an empty token file: it would leave what it guards unguarded", () => {
    const empty = writeSecret("empty-token", 0o600, "\n");
    const result = check({
      path: writeConfig(),
      env: { OPSGUARD_METRICS_BEARER_TOKEN_FILE: empty },
    });
    expect(result.problems).toEqual([`metrics.bearerTokenFile ${empty}: the file is empty`]);
  });

  it("checks each webhook endpoint's secret: its file, or its variable", () => {
    const open = writeSecret("hook-secret", 0o644);
    const empty = writeSecret("hook-empty", 0o600, "");
    const result = check({
      path: writeConfig(
        "webhooks:",
        "  endpoints:",
        "    - { name: desk, url: 'http://127.0.0.1:9/desk', secretFile: " + open + " }",
        "    - { name: risk, url: 'http://127.0.0.1:9/risk', secretFile: " + empty + " }",
        "    - { name: ops, url: 'http://127.0.0.1:9/ops', secretEnv: HOOK_SECRET }",
      ),
      env: {},
    });
    expect(result.problems).toEqual([
      "webhooks.endpoints.2.secretEnv: the variable HOOK_SECRET is not set or empty",
      `webhooks.endpoints.1.secretFile ${empty}: the file is empty`,
    ]);
    expect(result.warnings).toContain(
      `webhooks.endpoints.0.secretFile ${open}: readable by group or others; use chmod 600`,
    );
    const set = check({ path: join(dir, "opsguard.yaml"), env: { HOOK_SECRET: "s3cret" } });
    expect(set.problems).toEqual([`webhooks.endpoints.1.secretFile ${empty}: the file is empty`]);
  });

  it("warns when the data folder is open to others", () => {
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o755);
    const result = check({ path: writeConfig(), env: {} });
    expect(result.problems).toEqual([]);
    expect(result.warnings).toEqual([`dataDir ${dataDir}: readable or writable by others (mode 755)`]);
  });

  it("reports a data folder that cannot be created", () => {
    writeFileSync(dataDir, "a file, not a folder");
    const { problems } = check({ path: writeConfig(), env: {} });
    expect(problems).toEqual([expect.stringMatching(new RegExp(`^dataDir ${escapeRegExp(dataDir)}: `))]);
  });

  it("accepts a healthy database", () => {
    openDatabase({ path: join(dataDir, "opsguard.db") }).close();
    expect(check({ path: writeConfig(), env: {} }).problems).toEqual([]);
  });

  it("reports a database file that is not a database", () => {
    const db = join(dataDir, "opsguard.db");
    mkdirSync(dataDir, { mode: 0o700 });
    writeFileSync(db, Buffer.alloc(8192, 0xa5));
    const { problems } = check({ path: writeConfig(), env: {} });
    expect(problems).toEqual([
      expect.stringMatching(new RegExp(`^database ${escapeRegExp(db)}: .*not a database`)),
    ]);
  });

  it("returns config errors as problems, without a config", () => {
    const result = check({
      path: writeConfig("server:", "  port: 70000"),
      env: { OPSGUARD_SERVR_HOST: "0.0.0.0" },
    });
    expect(result.config).toBeUndefined();
    expect(result.warnings).toEqual([]);
    expect(result.problems).toEqual([
      "OPSGUARD_SERVR_HOST: not a configuration key",
      expect.stringMatching(/^server\.port: /),
    ]);
    // Nothing is touched on disk when the config itself is wrong.
    expect(existsSync(dataDir)).toBe(false);
  });

  it("reports Node 20 after its end of life as a problem, with the date and the upgrade", () => {
    const result = check({
      path: writeConfig(),
      env: {},
      nodeVersion: "20.20.2",
      clock: new ManualClock(Date.UTC(2026, 4, 1)),
    });
    expect(result.problems).toEqual([
      "node 20.20.2: Node.js 20 reached end of life on 2026-04-30 and gets no security fixes; upgrade to Node 24 LTS",
    ]);
    expect(result.warnings).toEqual([]);
  });

  it.each(["22.22.2", "24.22.3"])("passes Node %s", (nodeVersion) => {
    const result = check({ path: writeConfig(), env: {}, nodeVersion });
    expect(result.problems).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it.each([
    ["22.21.1", "22.22.2"],
    ["24.14.0", "24.14.1"],
  ])("warns that Node %s lacks a security release, fixed in %s", (nodeVersion, fixedIn) => {
    const result = check({ path: writeConfig(), env: {}, nodeVersion });
    expect(result.problems).toEqual([]);
    expect(result.warnings).toEqual([
      `node ${nodeVersion} lacks the security release of 2026-03-24: upgrade to ${fixedIn} or later`,
    ]);
  });

  it("reports an odd major as a problem", () => {
    const { problems } = check({ path: writeConfig(), env: {}, nodeVersion: "25.2.1" });
    expect(problems).toEqual([expect.stringMatching(/^node 25\.2\.1: Node\.js 25 is an odd-numbered line/)]);
  });

  it("warns about a newer major it has no release dates for, and still passes", () => {
    const result = check({ path: writeConfig(), env: {}, nodeVersion: "26.3.0" });
    expect(result.problems).toEqual([]);
    expect(result.warnings).toEqual([
      "node 26.3.0: opsguard is not tested with Node 26; if anything misbehaves, use Node 24 LTS",
    ]);
  });

  it("judges the Node running it by default", () => {
    const now = Date.UTC(2026, 11, 1);
    const result = checkEnvironment({ path: writeConfig(), env: {}, clock: new ManualClock(now) });
    const expected = judgeNodeVersion(process.versions.node, now);
    expect([...result.problems, ...result.warnings]).toEqual(expected ? [expected.message] : []);
  });
});

describe("opsguard check (the built CLI)", () => {
  // The CLI judges the Node running these tests: on one past its end of life (such as Node 20,
  // the system Node of some build machines) `check` has one more problem.
  const runningNode = judgeNodeVersion(process.versions.node, Date.now());
  const nodeProblems = runningNode?.severity === "problem" ? [runningNode.message] : [];
  const nodeWarnings = runningNode?.severity === "warning" ? [runningNode.message] : [];

  /** Runs `node dist/main.js check` in the empty test folder with only PATH and `env` set. */
  function runCheck(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
    const child = spawnSync(process.execPath, [MAIN, "check"], {
      cwd: dir,
      env: { PATH: process.env.PATH, ...CAREFUL_BACKUP_ENV, ...env },
      encoding: "utf8",
      timeout: 15_000,
    });
    if (child.error) throw child.error;
    return { status: child.status, stdout: child.stdout, stderr: child.stderr };
  }

  it("exits 0 when all is well, or 1 naming the Node it runs on when that Node is unsupported", () => {
    const result = runCheck({ OPSGUARD_DATA_DIR: dataDir });
    if (nodeProblems.length === 0) {
      expect(result.stderr).toBe(nodeWarnings.map((warning) => `warning: ${warning}\n`).join(""));
      expect(result.stdout).toBe(`opsguard check: ok (data in ${dataDir}, executor paper)\n`);
      expect(result.status).toBe(0);
    } else {
      expect(result.stdout).toBe("");
      expect(result.stderr).toBe(`opsguard check: 1 problem(s)\n  - ${nodeProblems[0]}\n`);
      expect(result.status).toBe(1);
    }
  });

  it("exits 1 and lists each problem on stderr", () => {
    const tokenFile = join(dir, "no-such-token");
    const result = runCheck({
      OPSGUARD_DATA_DIR: dataDir,
      OPSGUARD_AUTH_ENABLED: "false",
      OPSGUARD_SERVER_HOST: "0.0.0.0",
      OPSGUARD_METRICS_BEARER_TOKEN_FILE: tokenFile,
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe(`opsguard check: ${2 + nodeProblems.length} problem(s)`);
    expect(lines).toContain("  - auth.enabled is false while server.host 0.0.0.0 is not a loopback address");
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^  - metrics\\.bearerTokenFile ${escapeRegExp(tokenFile)}: `)),
    );
  });

  it("exits 1 naming an invalid value and a misspelt variable", () => {
    const result = runCheck({
      OPSGUARD_DATA_DIR: dataDir,
      OPSGUARD_SERVER_PORT: "abc",
      OPSGUARD_SERVER_HOTS: "0.0.0.0",
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    const lines = result.stderr.trimEnd().split("\n");
    // A config that does not load stops the check before it looks at Node.
    expect(lines[0]).toBe("opsguard check: 2 problem(s)");
    expect(lines).toContain("  - OPSGUARD_SERVER_HOTS: not a configuration key");
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}- server\.port: .*number/));
  });
});
