import { rmSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { submitBody, tempDir } from "../harness.js";
import { startChild, type Child } from "../process.js";
import { startLokiReceiver, startOtlpReceiver, type LokiReceiver, type OtlpReceiver } from "./receivers.js";

describe("shutdown on SIGTERM", () => {
  let dataDir: string;
  let child: Child | undefined;
  let otlp: OtlpReceiver;
  let loki: LokiReceiver;
  afterEach(async () => {
    child?.process.kill("SIGKILL");
    child = undefined;
    await otlp.close();
    await loki.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** A server whose collector and Loki both accept connections and never answer. */
  async function startWithHungTelemetry(latencyMs: number): Promise<Child> {
    dataDir = tempDir();
    otlp = await startOtlpReceiver();
    loki = await startLokiReceiver();
    otlp.mode = "hang";
    loki.mode = "hang";
    child = await startChild(dataDir, ["serve"], {
      OPSGUARD_EXECUTOR_PAPER_LATENCY_MS: String(latencyMs),
      OPSGUARD_TELEMETRY_TRACES_ENDPOINT: otlp.url,
      OPSGUARD_LOGGING_LOKI_URL: loki.url,
      OPSGUARD_LOGGING_LOKI_BATCH_INTERVAL_MS: "100",
      OPSGUARD_SERVER_SHUTDOWN_DEADLINE_MS: "3000",
    });
    return child;
  }

  const submit = (c: Child) =>
    fetch(`http://127.0.0.1:${c.port}/v1/operations`, {
      method: "POST",
      headers: { authorization: `Bearer ${c.token}`, "content-type": "application/json" },
      body: JSON.stringify(submitBody()),
    });

  it("lets the request in flight finish, gives up on hung telemetry at the deadline, and exits 0", async () => {
    const c = await startWithHungTelemetry(1_000);
    const inFlight = submit(c);
    await new Promise((resolve) => setTimeout(resolve, 200));
    c.process.kill("SIGTERM");
    expect((await inFlight).status).toBe(201);
    expect(await c.exited).toBe(0);
    child = undefined;
    // Both exporters were really trying: the deadline, not a missing endpoint, ended the wait.
    expect(otlp.requests + loki.requests).toBeGreaterThan(0);
  }, 30_000);

  it("exports the spans and logs of the built service (ESM, no preload) before it exits", async () => {
    dataDir = tempDir();
    otlp = await startOtlpReceiver();
    loki = await startLokiReceiver();
    const c = await startChild(dataDir, ["serve"], {
      OPSGUARD_TELEMETRY_TRACES_ENDPOINT: otlp.url,
      OPSGUARD_LOGGING_LOKI_URL: loki.url,
    });
    child = c;
    expect((await submit(c)).status).toBe(201);
    c.process.kill("SIGTERM");
    expect(await c.exited).toBe(0);
    child = undefined;
    const names = new Set(otlp.spans.map((s) => s.name));
    for (const name of ["POST /v1/operations", "risk.check", "db.write", "executor.open"]) {
      expect(names.has(name), name).toBe(true);
    }
    const opened = loki.lines().find((l) => l.line.event === "operation.opened")!;
    expect(otlp.spans.some((s) => s.traceId === opened.line.trace_id)).toBe(true);
    expect(loki.lines().some((l) => l.line.event === "server.stopped")).toBe(true);
  }, 30_000);

  it("exits at once on a second signal", async () => {
    const c = await startWithHungTelemetry(20_000);
    const inFlight = submit(c).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    c.process.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 100));
    c.process.kill("SIGINT");
    // Exit code 1 (not 0): it did not wait for the 20 s execution still under way.
    expect(await c.exited).toBe(1);
    child = undefined;
    await inFlight;
  }, 30_000);
});
