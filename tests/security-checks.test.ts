import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { AppOverrides } from "../src/app.js";
import { ManualClock } from "../src/platform/clock.js";
import { TODAY, writeAt, writeFixtureApp } from "../src/security/app-root.fixture.js";
import type { CheckId } from "../src/security/catalog.js";
import { startTestApp, submitBody, tempDir, type TestApp } from "./harness.js";

interface ReportBody {
  id: string;
  trigger: string;
  startedAt: string;
  finishedAt: string;
  counts: Record<"ok" | "warning" | "critical" | "unavailable", number>;
  results: { id: CheckId; status: string; evidence: string[]; checkedAt: string; recommendation?: string }[];
}

const DAY_MS = 86_400_000;

let fixture: string;
let appRoot: string;

beforeAll(() => {
  fixture = tempDir("opsguard-security-app-");
  appRoot = writeFixtureApp(join(fixture, "app"));
});
afterAll(() => rmSync(fixture, { recursive: true, force: true }));

/**
 * What the app's checks look at, instead of the repository: the fixture application (with its
 * baseline beside it), uid 1000 and a Node with every security fix. The test config turns npm
 * audit off: the registry is never asked.
 */
function securityOverrides(): AppOverrides["security"] {
  return {
    integrity: {
      appRoot,
      paths: [],
      baselineFile: join(fixture, "baseline.json"),
      keyFile: join(fixture, "baseline.key"),
    },
    uid: 1000,
    nodeVersion: "24.14.1",
  };
}

describe("POST /v1/security-checks and GET /v1/security-checks/latest", () => {
  let t: TestApp;
  afterEach(() => t.close());

  const run = async (): Promise<ReportBody> => {
    const res = await t.call("POST", "/v1/security-checks");
    expect(res.status).toBe(200);
    return (await res.json()) as ReportBody;
  };
  const latest = async (): Promise<ReportBody> => {
    const res = await t.call("GET", "/v1/security-checks/latest");
    expect(res.status).toBe(200);
    return (await res.json()) as ReportBody;
  };
  const result = (report: ReportBody, id: CheckId) => report.results.find((r) => r.id === id)!;

  it("answers 404 NOT_FOUND before the first run, then the report of each run", async () => {
    t = await startTestApp({}, { security: securityOverrides() });
    const before = await t.call("GET", "/v1/security-checks/latest");
    expect(before.status).toBe(404);
    expect(before.headers.get("content-type")).toBe("application/problem+json");
    expect(await before.json()).toMatchObject({ status: 404, code: "NOT_FOUND" });

    await t.app.security.recordBaseline("test");
    const report = await run();
    expect(report.trigger).toBe("api");
    expect(report.results.map((r) => r.id)).toHaveLength(18);
    expect(
      report.counts.ok + report.counts.warning + report.counts.critical + report.counts.unavailable,
    ).toBe(18);
    expect(Date.parse(report.finishedAt)).toBeGreaterThanOrEqual(Date.parse(report.startedAt));
    expect(report.results[0]!.checkedAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(result(report, "OG-INT-002").status).toBe("ok");
    expect(result(report, "OG-DB-001").status).toBe("ok");
    expect(result(report, "OG-DB-003").status).toBe("ok");
    expect(await latest()).toEqual(report);

    // The application changes: the next run says which file.
    writeAt(appRoot, "dist/main.js", "export const main = 'patched';\n");
    try {
      const second = await run();
      expect(second.id).not.toBe(report.id);
      expect(result(second, "OG-INT-002")).toMatchObject({
        status: "critical",
        evidence: ["changed: app:dist/main.js"],
      });
      expect((await latest()).id).toBe(second.id);
    } finally {
      writeAt(appRoot, "dist/main.js", "export const main = 1;\n");
    }

    const audit = await t.call("GET", "/v1/audit?action=security.check");
    const items = ((await audit.json()) as { items: { target: string; details: Record<string, unknown> }[] })
      .items;
    expect(items.map((item) => item.target)).toEqual([expect.any(String), report.id]);
    expect(items[0]!.details).toMatchObject({
      trigger: "api",
      critical: 1,
      findings: ["OG-INT-002", "OG-BAK-001"],
    });
  });

  it("finds an audit entry changed with SQL: OG-DB-003 critical naming the entry, in the report and the metric", async () => {
    t = await startTestApp({}, { security: securityOverrides() });
    for (let i = 0; i < 3; i++) await t.call("POST", "/v1/operations", { body: submitBody() });
    t.app.db.exec("DROP TRIGGER audit_log_no_update");
    t.app.db.prepare(`UPDATE audit_log SET details = '{"clientId":"forged"}' WHERE seq = ?`).run(2);

    const report = await run();
    const chain = {
      status: "critical",
      evidence: [
        "entry 2 breaks the chain: hash does not match the entry's contents",
        "entries 1 to 1 are sound",
      ],
    };
    expect(result(report, "OG-DB-003")).toMatchObject(chain);
    expect(result(await latest(), "OG-DB-003")).toMatchObject(chain);

    const metrics = await (await t.app.http.request("/metrics")).text();
    expect(metrics).toContain('opsguard_security_check_status{check="OG-DB-003",status="critical"} 1');
    expect(metrics).toContain('opsguard_security_check_status{check="OG-DB-003",status="ok"} 0');
    expect(metrics).toMatch(/^opsguard_security_findings\{severity="critical"\} [1-9]/m);
  });

  it("has no status series in /metrics before the first run", async () => {
    t = await startTestApp({}, { security: securityOverrides() });
    const metrics = await (await t.app.http.request("/metrics")).text();
    expect(metrics).toContain("# TYPE opsguard_security_check_status gauge");
    expect(metrics).not.toContain("opsguard_security_check_status{");
  });

  it("lists the tokens older than security.maxTokenAgeDays by id (OG-CFG-003)", async () => {
    const clock = new ManualClock(TODAY);
    t = await startTestApp({}, { clock, security: securityOverrides() });
    expect(result(await run(), "OG-CFG-003").status).toBe("ok");
    clock.advance(91 * DAY_MS);
    const ages = result(await run(), "OG-CFG-003");
    expect(ages.status).toBe("warning");
    const ids = Object.values(t.tokens).map((token) => token.split("_")[1]!);
    expect(ids).toHaveLength(3);
    for (const id of ids) expect(ages.evidence.join("\n")).toContain(`token ${id} (`);
    expect(ages.evidence).toHaveLength(3);
  });

  it("is for admins only: 403 for viewers and operators, 401 without a token", async () => {
    t = await startTestApp({}, { security: securityOverrides() });
    for (const [method, path] of [
      ["POST", "/v1/security-checks"],
      ["GET", "/v1/security-checks/latest"],
    ] as const) {
      for (const role of ["viewer", "operator"] as const) {
        const res = await t.call(method, path, { role });
        expect(res.status, `${method} ${path} as ${role}`).toBe(403);
        expect(await res.json()).toMatchObject({ code: "FORBIDDEN" });
      }
      const anonymous = await t.call(method, path, { role: null });
      expect(anonymous.status, `${method} ${path} without a token`).toBe(401);
    }
    // Nothing ran for the refused requests.
    expect(t.app.security.latest()).toBeUndefined();
  });
});
