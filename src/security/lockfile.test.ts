import { readFileSync, rmSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../../tests/harness.js";
import { writeAt, writeFixtureApp } from "./app-root.fixture.js";
import { checkInstalled, installedPackages, packageName, readLockfile } from "./lockfile.js";

describe("checkInstalled (OG-DEP-001)", () => {
  let root: string;
  beforeEach(() => {
    root = writeFixtureApp(tempDir("opsguard-lockfile-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const editLockfile = (file: string, edit: (packages: Record<string, Record<string, unknown>>) => void) => {
    const lockfile = JSON.parse(readFileSync(join(root, file), "utf8")) as {
      packages: Record<string, Record<string, unknown>>;
    };
    edit(lockfile.packages);
    writeAt(root, file, lockfile);
  };

  it("passes the packages npm installed from the lockfile, a development one left out", () => {
    expect(checkInstalled(root)).toEqual({
      status: "ok",
      evidence: ["2 installed packages match package-lock.json, with the integrity npm recorded at install"],
    });
  });

  it("reads `v0.3.1` in a package.json as the lockfile's 0.3.1", () => {
    writeAt(root, "node_modules/@acme/widget/package.json", { name: "@acme/widget", version: "v0.3.1" });
    expect(checkInstalled(root).status).toBe("ok");
  });

  it("compares versions only when npm's hidden lockfile is gone, and says so", () => {
    unlinkSync(join(root, "node_modules/.package-lock.json"));
    expect(checkInstalled(root)).toEqual({
      status: "ok",
      evidence: [
        "2 installed packages match package-lock.json (no node_modules/.package-lock.json: versions only)",
      ],
    });
  });

  it("finds a production package that is missing, and one recorded without integrity", () => {
    rmSync(join(root, "node_modules/left-pad-fixture"), { recursive: true });
    editLockfile("node_modules/.package-lock.json", (packages) => {
      delete packages["node_modules/@acme/widget"]!.integrity;
    });
    expect(checkInstalled(root)).toEqual({
      status: "critical",
      evidence: [
        "missing: node_modules/left-pad-fixture@1.2.0",
        expect.stringMatching(
          /^integrity: node_modules\/@acme\/widget was installed from an unknown tarball, the lockfile says sha512-/,
        ),
      ],
    });
  });

  it("warns of packages in node_modules that the lockfile does not know, scoped ones too", () => {
    writeAt(root, "node_modules/stowaway/package.json", { name: "stowaway", version: "1.0.0" });
    writeAt(root, "node_modules/@acme/extra/package.json", { name: "@acme/extra", version: "1.0.0" });
    expect(checkInstalled(root)).toEqual({
      status: "warning",
      evidence: [
        "extraneous: node_modules/@acme/extra is installed but not in the lockfile",
        "extraneous: node_modules/stowaway is installed but not in the lockfile",
      ],
    });
  });

  it("reports an installed package.json that is not JSON", () => {
    writeAt(root, "node_modules/left-pad-fixture/package.json", "{");
    const outcome = checkInstalled(root);
    expect(outcome.status).toBe("critical");
    expect(outcome.evidence).toEqual([
      expect.stringContaining(`unreadable: ${join(root, "node_modules/left-pad-fixture/package.json")}`),
    ]);
  });

  it("is unavailable without a lockfile or without node_modules, and critical on a lockfile without packages", () => {
    rmSync(join(root, "node_modules"), { recursive: true });
    expect(checkInstalled(root)).toMatchObject({
      status: "unavailable",
      reason: `${join(root, "node_modules")} does not exist`,
    });
    writeAt(root, "package-lock.json", { lockfileVersion: 1, dependencies: {} });
    expect(checkInstalled(root)).toMatchObject({
      status: "critical",
      evidence: [expect.stringContaining('no "packages" map (lockfileVersion 1')],
    });
    unlinkSync(join(root, "package-lock.json"));
    expect(checkInstalled(root)).toMatchObject({
      status: "unavailable",
      reason: `${join(root, "package-lock.json")} does not exist`,
    });
  });
});

describe("the lockfile's packages", () => {
  it("names a package by the last node_modules/ of its key", () => {
    expect(packageName("node_modules/a")).toBe("a");
    expect(packageName("node_modules/a/node_modules/@s/b")).toBe("@s/b");
  });

  it("lists the installed packages with the version of their own package.json", () => {
    const root = writeFixtureApp(tempDir("opsguard-lockfile-"));
    try {
      writeAt(root, "node_modules/@acme/widget/package.json", { name: "@acme/widget", version: "0.3.2" });
      expect(installedPackages(root, readLockfile(root)!)).toEqual([
        { key: "node_modules/left-pad-fixture", name: "left-pad-fixture", version: "1.2.0" },
        { key: "node_modules/@acme/widget", name: "@acme/widget", version: "0.3.2" },
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
