import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  judgeNodeVersion,
  MIN_NODE_MAJOR,
  missingSecurityRelease,
  NODE_RELEASES,
  NODE_SECURITY_RELEASES,
  RECOMMENDED_NODE_MAJOR,
} from "./node-support.js";

const at = (day: string) => Date.parse(`${day}T12:00:00Z`);
const TODAY = at("2026-12-01");

describe("judgeNodeVersion", () => {
  it("reports Node 20 from its end of life on, naming the date and what to do", () => {
    const message =
      "node 20.20.2: Node.js 20 reached end of life on 2026-04-30 and gets no security fixes; upgrade to Node 24 LTS";
    expect(judgeNodeVersion("20.20.2", at("2026-05-01"))).toEqual({ severity: "problem", message });
    expect(judgeNodeVersion("20.20.2", Date.parse("2026-04-30T00:00:00Z"))).toEqual({
      severity: "problem",
      message,
    });
    expect(judgeNodeVersion("v20.20.2", TODAY)?.severity).toBe("problem");
  });

  it("reports Node 20 before its end of life too: opsguard needs 22", () => {
    expect(judgeNodeVersion("20.19.0", at("2026-01-15"))).toEqual({
      severity: "problem",
      message:
        "node 20.19.0: opsguard needs Node.js 22 or later (Node.js 20 reaches end of life on 2026-04-30); upgrade to Node 24 LTS",
    });
  });

  it.each(["22.0.0", "22.21.1", "24.0.0", "24.22.3", "v24.22.3"])("passes Node %s", (version) => {
    expect(judgeNodeVersion(version, TODAY)).toBeUndefined();
  });

  it("reports Node 22 and 24 once they reach their own end of life", () => {
    expect(judgeNodeVersion("22.21.1", at("2027-04-29"))).toBeUndefined();
    expect(judgeNodeVersion("22.21.1", at("2027-04-30"))?.message).toBe(
      "node 22.21.1: Node.js 22 reached end of life on 2027-04-30 and gets no security fixes; upgrade to Node 24 LTS",
    );
    expect(judgeNodeVersion("24.22.3", at("2028-05-01"))?.message).toMatch(/end of life on 2028-04-30/);
  });

  it.each(["19.9.0", "21.7.3", "23.11.1", "25.2.1"])(
    "reports the odd major Node %s as unsupported",
    (version) => {
      const major = version.split(".")[0]!;
      expect(judgeNodeVersion(version, TODAY)).toEqual({
        severity: "problem",
        message: `node ${version}: Node.js ${major} is an odd-numbered line (never LTS, supported for months only), which opsguard does not support; upgrade to Node 24 LTS`,
      });
    },
  );

  it.each(["26.3.0", "27.0.0", "28.1.0"])(
    "warns that Node %s, newer than the table, is untested",
    (version) => {
      const major = version.split(".")[0]!;
      expect(judgeNodeVersion(version, TODAY)).toEqual({
        severity: "warning",
        message: `node ${version}: opsguard is not tested with Node ${major}; if anything misbehaves, use Node 24 LTS`,
      });
    },
  );

  it.each(["16.20.2", "18.20.8"])("reports the old Node %s", (version) => {
    expect(judgeNodeVersion(version, TODAY)?.severity).toBe("problem");
  });

  it("reports a version it cannot read", () => {
    expect(judgeNodeVersion("nightly", TODAY)).toEqual({
      severity: "problem",
      message: "node nightly: not a Node.js version; upgrade to Node 24 LTS",
    });
  });

  it("keeps the table consistent with the supported range", () => {
    const majors = NODE_RELEASES.map((r) => r.major);
    expect(majors).toEqual([...majors].sort((a, b) => a - b));
    expect(majors).toContain(MIN_NODE_MAJOR);
    expect(majors.at(-1)).toBe(RECOMMENDED_NODE_MAJOR);
    for (const { endOfLife } of NODE_RELEASES) expect(endOfLife).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      engines: { node: string };
    };
    expect(pkg.engines.node).toBe(`>=${MIN_NODE_MAJOR}`);
  });
});

describe("missingSecurityRelease", () => {
  const march = { date: "2026-03-24" };

  it.each([
    ["24.14.0", "24.14.1"],
    ["v24.14.0", "24.14.1"],
    ["24.13.9", "24.14.1"],
    ["24.0.0", "24.14.1"],
    ["22.22.1", "22.22.2"],
    ["20.20.0", "20.20.2"],
  ])("finds that %s lacks the fix of 2026-03-24, in %s", (version, fixedIn) => {
    expect(missingSecurityRelease(version)).toEqual({ ...march, fixedIn });
  });

  it.each(["24.14.1", "24.15.0", "24.22.3", "22.22.2", "22.23.0", "20.20.2", "26.0.0", "18.20.8", "nightly"])(
    "finds nothing missing in %s (fixed, or a line the table does not cover)",
    (version) => {
      expect(missingSecurityRelease(version)).toBeUndefined();
    },
  );

  it("keeps each fix on its own line, newer than the line's first release", () => {
    for (const { date, fixedIn } of NODE_SECURITY_RELEASES) {
      expect(date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      for (const [major, version] of Object.entries(fixedIn)) {
        expect(version.split(".")[0]).toBe(major);
        expect(missingSecurityRelease(`${major}.0.0`)?.fixedIn).toBe(version);
      }
    }
  });
});
