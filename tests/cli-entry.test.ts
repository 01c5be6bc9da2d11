import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { MAIN } from "./process.js";

/** Runs `opsguard <args>` from the build on this Node.js, told that its version is `version`. */
function runAs(version: string, args: string[]) {
  const pretend = `data:text/javascript,Object.defineProperty(process.versions,"node",{value:"${version}"});`;
  return spawnSync(process.execPath, ["--import", pretend, MAIN, ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH },
    timeout: 30_000,
  });
}

describe("the opsguard command line", () => {
  it("says which Node.js it needs before loading anything that would fail on an old one", () => {
    const old = runAs("20.20.2", ["check"]);
    expect(old.status).toBe(1);
    expect(old.stderr).toBe("opsguard needs Node.js 22 or later (24 recommended); this is 20.20.2\n");
    expect(old.stdout).toBe("");
  });

  it("runs on Node.js 22 and later", () => {
    for (const version of ["22.0.0", "24.22.3"]) {
      const supported = runAs(version, ["--help"]);
      expect(supported.status, supported.stderr).toBe(0);
      expect(supported.stdout).toContain("Usage: opsguard <command>");
    }
  });

  it("answers an option it does not know, or one without its value, with the usage error (exit 2)", () => {
    const unknown = runAs(process.versions.node, ["report", "performance", "--bogus"]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/^Unknown option '--bogus'/);
    expect(unknown.stderr).toContain("opsguard --help lists every command and option");
    expect(unknown.stderr).not.toContain("    at ");
    const missing = runAs(process.versions.node, ["token", "create", "--role"]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^Option '--role <value>' argument missing/);
  });
});
