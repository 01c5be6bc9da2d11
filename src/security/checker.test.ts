import { once } from "node:events";
import { rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { tempDir } from "../../tests/harness.js";
import type { AuditInput } from "../platform/audit.js";
import { ManualClock } from "../platform/clock.js";
import { capturingLogger } from "../platform/logger.fixture.js";
import { createRegistry, type MetricsRegistry } from "../platform/metrics.js";
import { fixtureContext, TODAY, writeFixtureApp } from "./app-root.fixture.js";
import { SECURITY_SPAN, SecurityChecker } from "./checker.js";
import { readBaseline } from "./integrity.js";
import type { CheckContext } from "./run-checks.js";

describe("SecurityChecker", () => {
  let dir: string;
  let context: CheckContext;
  let clock: ManualClock;
  let registry: MetricsRegistry;
  let logs: ReturnType<typeof capturingLogger>;
  let audits: AuditInput[];
  let exporter: InMemorySpanExporter;
  let checker: SecurityChecker;

  beforeEach(() => {
    dir = tempDir("opsguard-checker-");
    clock = new ManualClock(TODAY);
    // No database file: the database checks are unavailable, and no worker reads one.
    context = fixtureContext({ dataDir: dir, appRoot: writeFixtureApp(join(dir, "app")), clock, uid: 1000 });
    registry = createRegistry();
    logs = capturingLogger();
    audits = [];
    exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    checker = new SecurityChecker({
      context,
      clock,
      logger: logs.logger,
      registry,
      tracer: provider.getTracer("test"),
      audit: (entry) => {
        audits.push(entry);
        return Promise.resolve();
      },
    });
  });
  afterEach(async () => {
    await checker.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const metric = (name: string) => registry.getSingleMetricAsString(name);
  const events = (event: string) => logs.lines.filter((line) => line.event === event);

  it("has no status series and no report before the first run", async () => {
    expect(checker.latest()).toBeUndefined();
    expect(await metric("opsguard_security_check_status")).not.toContain("check=");
    expect(await metric("opsguard_security_check_last_run_timestamp_seconds")).toContain(
      "opsguard_security_check_last_run_timestamp_seconds 0",
    );
  });

  it("runs every check, keeps the report, and makes it metrics, log lines, an audit entry and a span", async () => {
    clock.advance(1_000);
    const report = await checker.run("api", "tok_admin");
    expect(report.trigger).toBe("api");
    expect(report.results).toHaveLength(18);
    expect(checker.latest()).toEqual(report);

    const status = await metric("opsguard_security_check_status");
    expect(status).toContain('opsguard_security_check_status{check="OG-PROC-001",status="ok"} 1');
    expect(status).toContain('opsguard_security_check_status{check="OG-PROC-001",status="warning"} 0');
    expect(status).toContain('opsguard_security_check_status{check="OG-INT-001",status="warning"} 1');
    // One series per check and status.
    expect(
      status.split("\n").filter((line) => line.startsWith("opsguard_security_check_status{")),
    ).toHaveLength(18 * 4);
    const warnings = report.results.filter((r) => r.status === "warning").length;
    expect(await metric("opsguard_security_findings")).toContain(
      `opsguard_security_findings{severity="warning"} ${warnings}`,
    );
    expect(await metric("opsguard_security_check_last_run_timestamp_seconds")).toContain(
      `opsguard_security_check_last_run_timestamp_seconds ${(TODAY + 1_000) / 1000}`,
    );
    const duration = /^opsguard_security_check_last_duration_seconds (\S+)$/m.exec(
      await metric("opsguard_security_check_last_duration_seconds"),
    );
    expect(Number(duration?.[1])).toBeGreaterThan(0);

    expect(events("security.check_started")).toEqual([expect.objectContaining({ trigger: "api" })]);
    const finished = events("security.check_finished");
    expect(finished).toEqual([
      expect.objectContaining({
        trigger: "api",
        warning: warnings,
        findings: expect.arrayContaining(["OG-INT-001", "OG-BAK-001"]),
      }),
    ]);
    expect(audits).toEqual([
      {
        actor: "tok_admin",
        action: "security.check",
        target: report.id,
        details: expect.objectContaining({ trigger: "api", warning: warnings, critical: 0 }),
      },
    ]);
    const [span] = exporter.getFinishedSpans().filter((s) => s.name === SECURITY_SPAN);
    expect(span?.attributes).toMatchObject({
      "opsguard.security.trigger": "api",
      "opsguard.security.findings.warning": warnings,
    });
  });

  it("logs a change of status once, not again on an identical run, and when it is resolved", async () => {
    await checker.run("api");
    expect(events("security.finding").map((line) => line.check)).not.toContain("OG-PROC-001");

    context.uid = 0;
    await checker.run("api");
    const root = events("security.finding").filter((line) => line.check === "OG-PROC-001");
    expect(root).toEqual([
      expect.objectContaining({
        level: "warn",
        status: "warning",
        evidence: ["the process runs as root (uid 0)"],
      }),
    ]);
    // The other findings were logged once, at the first run, and are not logged again.
    const firstFindings = events("security.finding").length;
    await checker.run("api");
    expect(events("security.finding")).toHaveLength(firstFindings);

    context.uid = 1000;
    await checker.run("api");
    expect(events("security.finding_resolved")).toEqual([
      expect.objectContaining({ check: "OG-PROC-001", status: "ok" }),
    ]);
    expect(events("security.check_unavailable").map((line) => line.check)).toContain("OG-DB-001");
    expect(events("security.check_unavailable").filter((line) => line.check === "OG-DB-001")).toHaveLength(1);
  });

  it("logs a critical finding at level error", async () => {
    context.nodeVersion = "24.14.0";
    await checker.run("schedule");
    expect(events("security.finding").filter((line) => line.check === "OG-DEP-003")).toEqual([
      expect.objectContaining({ level: "error", status: "critical" }),
    ]);
    expect(await metric("opsguard_security_findings")).toContain(
      'opsguard_security_findings{severity="critical"} 1',
    );
    expect(audits[0]).toMatchObject({ actor: "system", details: { trigger: "schedule", critical: 1 } });
  });

  it("joins a run under way instead of starting another", async () => {
    const [a, b] = await Promise.all([checker.run("api"), checker.run("api")]);
    expect(a.id).toBe(b.id);
    expect(audits).toHaveLength(1);
  });

  it("runs the quick checks into the metrics, without a report until a full run", async () => {
    const results = await checker.runQuick();
    expect(results.map((r) => r.id)).toEqual(["OG-DB-001", "OG-DB-003"]);
    expect(checker.latest()).toBeUndefined();
    const status = await metric("opsguard_security_check_status");
    expect(status).toContain('opsguard_security_check_status{check="OG-DB-001",status="unavailable"} 1');
    expect(status).not.toContain('check="OG-INT-001"');
  });

  it("records the baseline as asked, with a log line and an audit entry", async () => {
    const baseline = await checker.recordBaseline("og_admin1234");
    expect(readBaseline(context.integrity).state).toBe("trusted");
    const files = Object.keys(baseline.files).length;
    expect(events("security.baseline_recorded")).toEqual([
      expect.objectContaining({ files, baselineFile: context.integrity.baselineFile }),
    ]);
    expect(audits).toEqual([
      {
        actor: "og_admin1234",
        action: "security.baseline",
        target: context.integrity.baselineFile,
        details: { files },
      },
    ]);
  });

  it("at start, records the missing baseline first, then runs every check", async () => {
    const scheduled = () => metric("opsguard_security_check_scheduled");
    expect(await scheduled()).toContain('opsguard_security_check_scheduled{kind="checks"} 0');
    checker.start({ quick: "off", checks: "0 0 1 1 *" });
    expect(await scheduled()).toContain('opsguard_security_check_scheduled{kind="checks"} 1');
    expect(await scheduled()).toContain('opsguard_security_check_scheduled{kind="quick"} 0');
    await vi.waitFor(() => expect(checker.latest()).toBeDefined(), { timeout: 10_000 });
    expect(audits.map((entry) => [entry.actor, entry.action])).toEqual([
      ["system", "security.baseline"],
      ["system", "security.check"],
    ]);
    const report = checker.latest()!;
    expect(report.trigger).toBe("start");
    expect(report.results.find((r) => r.id === "OG-INT-002")?.status).toBe("ok");
  });

  it("at start, runs the checks only once the first backup of a fresh install has finished", async () => {
    let backedUp!: () => void;
    const firstBackup = new Promise<void>((resolve) => (backedUp = resolve));
    checker.start({ quick: "off", checks: "0 0 1 1 *" }, firstBackup);
    await vi.waitFor(() => expect(audits.map((entry) => entry.action)).toEqual(["security.baseline"]), {
      timeout: 10_000,
    });
    // A run asked for meanwhile is a run of its own, not the one at start joined.
    expect((await checker.run("api")).trigger).toBe("api");
    backedUp();
    await vi.waitFor(() => expect(checker.latest()?.trigger).toBe("start"), { timeout: 10_000 });
    expect(audits.map((entry) => entry.action)).toEqual([
      "security.baseline",
      "security.check",
      "security.check",
    ]);
  });

  it("stops npm audit under way when it stops, and drops that run's results", async () => {
    // A registry on loopback that takes the request and never answers.
    let asked!: () => void;
    const reached = new Promise<void>((resolve) => (asked = resolve));
    const registry = createServer(() => asked());
    registry.listen(0, "127.0.0.1");
    await once(registry, "listening");
    try {
      const { port } = registry.address() as AddressInfo;
      context.advisories = { npmAudit: { registry: `http://127.0.0.1:${port}/`, timeoutMs: 60_000 } };
      const began = performance.now();
      const run = checker.run("api");
      await reached;
      await checker.stop();
      await expect(run).rejects.toThrow("the service is stopping");
      // Well before npm audit's own deadline.
      expect(performance.now() - began).toBeLessThan(20_000);
      expect(checker.latest()).toBeUndefined();
      expect(audits).toEqual([]);
      expect(await metric("opsguard_security_check_status")).not.toContain("check=");
    } finally {
      registry.closeAllConnections();
      registry.close();
    }
  });
});
