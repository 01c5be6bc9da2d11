import { describe, expect, it } from "vitest";
import { CHECKS, describeCheck, QUICK_CHECKS } from "./catalog.js";
import {
  countStatuses,
  FAIL_ON,
  finding,
  MAX_EVIDENCE_LINES,
  ok,
  reaches,
  toResult,
  unavailable,
  type CheckResult,
  type CheckStatus,
} from "./report.js";

describe("the catalog", () => {
  it("numbers 18 checks OG-<AREA>-<NNN>, each once, with a title and a recommendation", () => {
    expect(CHECKS).toHaveLength(18);
    const ids = CHECKS.map((check) => check.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toBe("OG-INT-001");
    expect(ids.at(-1)).toBe("OG-BAK-001");
    for (const check of CHECKS) {
      expect(check.id).toMatch(/^OG-[A-Z]+-\d{3}$/);
      expect(check.title.length).toBeGreaterThan(10);
      expect(check.recommendation.length).toBeGreaterThan(10);
    }
    for (const id of QUICK_CHECKS) expect(describeCheck(id).id).toBe(id);
  });
});

describe("toResult", () => {
  it("gives a finding the catalog's title and recommendation, unless the check has its own", () => {
    expect(toResult("OG-FILE-001", finding("warning", ["x: mode 0755"]), 1000, 3)).toEqual({
      id: "OG-FILE-001",
      title: describeCheck("OG-FILE-001").title,
      status: "warning",
      evidence: ["x: mode 0755"],
      recommendation: "chmod 700 the data folder.",
      checkedAt: 1000,
      durationMs: 3,
    });
    expect(toResult("OG-FILE-001", finding("critical", ["y"], "do this"), 0, 0).recommendation).toBe(
      "do this",
    );
  });

  it("gives an unavailable result its reason and an ok one neither reason nor recommendation", () => {
    expect(toResult("OG-DB-001", unavailable("no database yet"), 0, 0)).toMatchObject({
      status: "unavailable",
      reason: "no database yet",
      evidence: [],
    });
    const passed = toResult("OG-DB-001", ok("fine"), 0, 0);
    expect(passed).not.toHaveProperty("reason");
    expect(passed).not.toHaveProperty("recommendation");
  });

  it(`keeps ${MAX_EVIDENCE_LINES} evidence lines and counts the rest`, () => {
    const lines = Array.from({ length: MAX_EVIDENCE_LINES + 7 }, (_, i) => `changed: app:dist/${i}.js`);
    const { evidence } = toResult("OG-INT-002", finding("critical", lines), 0, 0);
    expect(evidence).toHaveLength(MAX_EVIDENCE_LINES + 1);
    expect(evidence.at(-1)).toBe("… and 7 more");
  });
});

describe("reaches (--fail-on)", () => {
  const results = (...statuses: CheckStatus[]): CheckResult[] =>
    statuses.map((status) => ({ ...toResult("OG-CFG-001", ok(), 0, 0), status }));

  it.each([
    [["ok"], { unavailable: false, warning: false, critical: false }],
    [["ok", "unavailable"], { unavailable: true, warning: false, critical: false }],
    [["ok", "warning"], { unavailable: true, warning: true, critical: false }],
    [["unavailable", "critical"], { unavailable: true, warning: true, critical: true }],
  ] as [CheckStatus[], Record<(typeof FAIL_ON)[number], boolean>][])("%j", (statuses, expected) => {
    for (const level of FAIL_ON) expect(reaches(results(...statuses), level), level).toBe(expected[level]);
  });

  it("counts each status", () => {
    expect(countStatuses(results("ok", "ok", "warning", "unavailable"))).toEqual({
      ok: 2,
      warning: 1,
      critical: 0,
      unavailable: 1,
    });
  });
});
