import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  ScriptedExecutor,
  startTestApp,
  submitBody,
  tempDir,
  testConfig,
  type TestApp,
} from "../tests/harness.js";
import { createApp } from "./app.js";
import { createSilentLogger } from "./platform/logger.js";

describe("service routes", () => {
  let t: TestApp;
  afterEach(() => t.close());

  it("answers /healthz and /readyz without a token", async () => {
    t = await startTestApp({}, { executor: new ScriptedExecutor() });
    const health = await t.call("GET", "/healthz", { role: null });
    expect(health.status).toBe(200);
    const ready = await t.call("GET", "/readyz", { role: null });
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", tradingState: "active" });
  });

  it("never checkpoints in a commit: its checkpoint thread moves the WAL and counts each one", async () => {
    t = await startTestApp({}, { executor: new ScriptedExecutor() });
    expect(t.app.db.pragma("wal_autocheckpoint", { simple: true })).toBe(0n);
    expect((await t.call("POST", "/v1/operations", { role: "operator", body: submitBody() })).status).toBe(
      201,
    );
    expect(await t.app.checkpointer.runOnce()).toMatchObject({ outcome: "complete" });
    const counted = await t.app.registry.getSingleMetricAsString("opsguard_wal_checkpoints_total");
    expect(counted).toContain('opsguard_wal_checkpoints_total{outcome="complete"} 1');
    expect(counted).toContain('opsguard_wal_checkpoints_total{outcome="failed"} 0');
  });

  it("is not ready before start", async () => {
    t = await startTestApp({}, { executor: new ScriptedExecutor() });
    const fresh = createApp(t.config, {
      logger: createSilentLogger(),
      runtimeMetrics: false,
      databasePath: ":memory:",
      executor: new ScriptedExecutor(),
    });
    expect((await fresh.http.request("/readyz")).status).toBe(503);
    await fresh.start();
    expect((await fresh.http.request("/readyz")).status).toBe(200);
    await fresh.stop();
  });

  it("serves an OpenAPI 3.1 document of every route, with bearer security", async () => {
    t = await startTestApp({}, { executor: new ScriptedExecutor() });
    const res = await t.call("GET", "/openapi.json", { role: null });
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { security?: unknown[] }>>;
      components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual([
      "/v1/audit",
      "/v1/backups",
      "/v1/backups/restore-drill",
      "/v1/backups/runs/{id}",
      "/v1/events",
      "/v1/operations",
      "/v1/operations/{id}",
      "/v1/operations/{id}/close",
      "/v1/reports/logs",
      "/v1/reports/performance",
      "/v1/reports/system",
      "/v1/risk",
      "/v1/risk/state",
      "/v1/security-checks",
      "/v1/security-checks/latest",
    ]);
    expect(doc.paths["/v1/operations"]!.post!.security).toEqual([{ Bearer: [] }]);
    expect(doc.components.securitySchemes.Bearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(["SubmitOperation", "Operation", "Problem", "MaintenanceRun", "Backups"]),
    );
  });

  it("answers unknown paths with a 404 problem carrying the request id", async () => {
    t = await startTestApp({}, { executor: new ScriptedExecutor() });
    const res = await t.app.http.request("/nowhere", { headers: { "x-request-id": "req-123" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.headers.get("x-request-id")).toBe("req-123");
    expect(await res.json()).toMatchObject({ code: "NOT_FOUND", requestId: "req-123" });
  });

  it("protects /metrics with a bearer token when a token file is configured", async () => {
    const file = join(tempDir(), "metrics-token");
    writeFileSync(file, "s3cret-metrics-token\n", { mode: 0o600 });
    t = await startTestApp({ metrics: { bearerTokenFile: file } }, { executor: new ScriptedExecutor() });
    expect((await t.app.http.request("/metrics")).status).toBe(401);
    const wrong = await t.app.http.request("/metrics", { headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    const ok = await t.app.http.request("/metrics", {
      headers: { authorization: "Bearer s3cret-metrics-token" },
    });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("opsguard_build_info");
  });

  it("leaves /metrics open by default", async () => {
    t = await startTestApp({}, { executor: new ScriptedExecutor() });
    expect((await t.app.http.request("/metrics")).status).toBe(200);
  });
});

describe("createApp", () => {
  it("refuses to start with an empty metrics token file rather than leave /metrics open", () => {
    const dir = tempDir();
    const file = join(dir, "metrics-token");
    writeFileSync(file, "\n", { mode: 0o600 });
    const config = testConfig(dir, { metrics: { bearerTokenFile: file } });
    expect(() => createApp(config, { logger: createSilentLogger(), runtimeMetrics: false })).toThrow(
      /is empty/,
    );
  });
});
