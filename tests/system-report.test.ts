import { statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { databasePath } from "../src/app.js";
import { systemReport } from "../src/reports/system/service.js";
import { ScriptedExecutor, startTestApp, submitBody, type TestApp } from "./harness.js";

/** The value of an unlabelled gauge in a `/metrics` body. */
function gauge(body: string, name: string): number {
  const match = new RegExp(`^${name} (\\S+)$`, "m").exec(body);
  if (!match) throw new Error(`${name} is not in /metrics`);
  return Number(match[1]);
}

describe("the system report's metrics and samples in the app", () => {
  let t: TestApp | undefined;
  beforeEach(async () => {
    t = await startTestApp({}, { executor: new ScriptedExecutor() });
  });
  afterEach(async () => {
    await t?.close();
  });

  it("exposes the database, WAL and data volume sizes on /metrics", async () => {
    const response = await t!.call("GET", "/metrics", { role: null });
    expect(response.status).toBe(200);
    const body = await response.text();
    const path = databasePath(t!.config);
    expect(gauge(body, "opsguard_database_bytes")).toBe(statSync(path).size);
    expect(gauge(body, "opsguard_database_wal_bytes")).toBe(statSync(`${path}-wal`).size);
    const free = gauge(body, "opsguard_data_volume_free_bytes");
    expect(free).toBeGreaterThan(0);
    expect(gauge(body, "opsguard_data_volume_size_bytes")).toBeGreaterThanOrEqual(free);
    expect(body).toMatch(/^# TYPE opsguard_data_volume_free_bytes gauge$/m);
  });

  it("samples while started, and reports the samples read in a worker thread", async () => {
    const sampler = t!.app.systemSampler;
    expect(sampler.running).toBe(true);
    const opened = await t!.call("POST", "/v1/operations", { body: submitBody() });
    expect(opened.status).toBe(201);
    const taken = sampler.sample()!;
    expect(taken.openOperations).toBe(1);
    const now = Date.now();
    const report = await systemReport(
      join(t!.config.dataDir, "opsguard.db"),
      { start: now - 3_600_000, end: now + 1 },
      t!.config,
      now,
    );
    expect(report.samples.count).toBe(1);
    expect(report.operations.open?.last).toBe(1);
    expect(report.memory.rssBytes?.last).toBe(taken.rssBytes);
    expect(report.database.bytes?.last).toBe(taken.databaseBytes);
    expect(report.volume.forecast.status).toBe("not enough data");
  });

  it("stops sampling when the app stops", async () => {
    const sampler = t!.app.systemSampler;
    await t!.close();
    t = undefined;
    expect(sampler.running).toBe(false);
    expect(sampler.sample()).toBeUndefined();
  });
});
