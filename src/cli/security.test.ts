import { rmSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir, testConfig } from "../../tests/harness.js";
import { databasePath } from "../app.js";
import type { Config } from "../config/schema.js";
import { AuditLog } from "../platform/audit.js";
import { ManualClock } from "../platform/clock.js";
import { openDatabase } from "../platform/db.js";
import { TODAY, writeAt, writeFixtureApp } from "../security/app-root.fixture.js";
import type { CheckResult } from "../security/report.js";
import { runSecurityCommand, type SecurityCommandOptions } from "./security.js";
import { UsageError } from "./usage-error.js";

describe("opsguard security (in process)", () => {
  let dir: string;
  let appRoot: string;
  let config: Config;

  beforeEach(() => {
    dir = tempDir("opsguard-security-cli-");
    appRoot = writeFixtureApp(join(dir, "app"));
    config = testConfig(join(dir, "data"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs a subcommand on the fixture application as uid 1000; returns its status and output. */
  async function run(sub: string, options: Partial<SecurityCommandOptions> = {}, tty = false) {
    const out: string[] = [];
    const written: string[] = [];
    const err = Object.assign(
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          written.push(chunk.toString());
          done();
        },
      }),
      { isTTY: tty },
    );
    const code = await runSecurityCommand(
      sub,
      config,
      { configPath: undefined, env: {}, clock: new ManualClock(TODAY), appRoot, uid: 1000, ...options },
      { out: (line) => out.push(line), err },
    );
    return { code, out, err: written.join("") };
  }
  const parse = (out: string[]) =>
    JSON.parse(out.join("\n")) as { counts: Record<string, number>; results: CheckResult[] };

  it("prints every result as JSON, and exits 1 only when a result reaches --fail-on", async () => {
    // On a terminal too: no progress line on stderr with --json, whose output scripts read.
    const fresh = await run("check", { json: true, failOn: "warning" }, true);
    expect(fresh.code).toBe(1);
    expect(fresh.err).toBe("");
    const report = parse(fresh.out);
    expect(report.results).toHaveLength(18);
    expect(report.results[0]).toMatchObject({
      id: "OG-INT-001",
      status: "warning",
      checkedAt: new Date(TODAY).toISOString(),
    });
    expect(report.counts).toMatchObject({ critical: 0 });
    expect(report.counts.warning).toBeGreaterThan(0);

    expect((await run("check", { json: true })).code).toBe(0); // --fail-on critical by default
  });

  it("records a baseline, then finds a changed file of dist/ critical, in a table", async () => {
    const baseline = await run("baseline");
    expect(baseline).toMatchObject({
      code: 0,
      out: [
        `recorded the integrity baseline of 8 files in ${join(config.dataDir, "security/baseline.json")}`,
      ],
    });
    const clean = await run("check", { json: true });
    expect(
      parse(clean.out)
        .results.slice(0, 2)
        .map((r) => r.status),
    ).toEqual(["ok", "ok"]);

    writeAt(appRoot, "dist/main.js", "export const main = 'patched';\n");
    const tampered = await run("check");
    expect(tampered.code).toBe(1);
    const at = tampered.out.findIndex((line) => /^CRITICAL\s+OG-INT-002\s+Application files/.test(line));
    expect(at).toBeGreaterThanOrEqual(0);
    expect(tampered.out[at + 1]).toMatch(/^\s+- changed: app:dist\/main\.js$/);
    expect(tampered.out[at + 2]).toMatch(/^\s+do: Reinstall opsguard from a trusted source/);
    expect(tampered.out.at(-1)).toMatch(/^1 critical, \d+ warning, \d+ unavailable, \d+ ok$/);
  });

  it("records each run in the audit log of an existing database, as cli", async () => {
    openDatabase({ path: databasePath(config) }).close();
    await run("baseline");
    const report = parse((await run("check", { json: true })).out);
    // With a database, its checks run too.
    const statuses = Object.fromEntries(report.results.map((r) => [r.id, r.status]));
    expect(statuses).toMatchObject({
      "OG-DB-001": "ok",
      "OG-DB-002": "ok",
      "OG-DB-003": "ok",
      "OG-CFG-003": "ok",
    });
    const db = openDatabase({ path: databasePath(config) });
    try {
      const entries = new AuditLog(db, new ManualClock(TODAY)).search({ limit: 10 });
      expect(entries.map((e) => [e.actor, e.action])).toEqual([
        ["cli", "security.check"],
        ["cli", "security.baseline"],
      ]);
      expect(entries[0]!.details).toMatchObject({ trigger: "cli", critical: 0 });
      expect(entries[1]).toMatchObject({ details: { files: 8 } });
    } finally {
      db.close();
    }
  });

  it("shows which check runs on a terminal, and clears the line at the end", async () => {
    const { err } = await run("check", {}, true);
    expect(err).toContain("\r\x1b[Kchecking OG-INT-001 (1/18)");
    expect(err).toContain("\r\x1b[Kchecking OG-BAK-001 (18/18)");
    expect(err.endsWith("\r\x1b[K")).toBe(true);
  });

  it("refuses an unknown --fail-on and an unknown subcommand", async () => {
    await expect(run("check", { failOn: "bogus" })).rejects.toThrow(
      new UsageError("--fail-on must be one of unavailable, warning, critical"),
    );
    await expect(run("frobnicate")).rejects.toThrow(/usage:\nopsguard security check/);
  });
});
