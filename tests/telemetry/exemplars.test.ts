import { spawn, type ChildProcess } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { metrics } from "@opentelemetry/api";
import { afterEach, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../../src/cli/serve.js";
import { createSilentLogger } from "../../src/platform/logger.js";
import { ScriptedExecutor, submitBody, tempDir, testConfig } from "../harness.js";
import { freePort, requireTool } from "../stack/tools.js";
import { startOtlpReceiver, type OtlpReceiver } from "./receivers.js";

const OPENMETRICS_ACCEPT =
  "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const EXEMPLAR =
  /^opsguard_operation_submit_duration_seconds_bucket\{[^}]*\} \d+ # \{trace_id="([0-9a-f]{32})"\} /gm;

let otlp: OtlpReceiver;
let running: RunningServer | undefined;
let dataDir: string;
let prometheus: ChildProcess | undefined;

afterEach(async () => {
  prometheus?.kill("SIGKILL");
  prometheus = undefined;
  await running?.close();
  running = undefined;
  await otlp.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function serve(): Promise<string> {
  otlp = await startOtlpReceiver();
  dataDir = tempDir();
  const config = testConfig(dataDir, {
    server: { port: 0 },
    telemetry: { traces: { endpoint: otlp.url } },
    risk: { maxSubmitRate: { perSecond: 1000, burst: 1000 } },
  });
  running = await startServer(config, { executor: new ScriptedExecutor(), logger: createSilentLogger() });
  return `http://127.0.0.1:${running.port}`;
}

async function submit(base: string, count: number): Promise<void> {
  const token = running!.app.tokens.create("operator", "exemplars").token;
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${base}/v1/operations`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(submitBody({ size: "0.01" })),
    });
    expect(res.status).toBe(201);
  }
}

describe("GET /metrics content negotiation", () => {
  it("serves OpenMetrics with trace-id exemplars to a scraper that asks, the classic format otherwise", async () => {
    const base = await serve();
    await submit(base, 5);
    // Tracing must not set up OTel metrics of its own: Prometheus is the only metrics pipeline.
    expect(metrics.getMeterProvider().constructor.name).toBe("NoopMeterProvider");

    const om = await fetch(`${base}/metrics`, { headers: { accept: OPENMETRICS_ACCEPT } });
    expect(om.headers.get("content-type")).toBe("application/openmetrics-text; version=1.0.0; charset=utf-8");
    const text = await om.text();
    expect(text.endsWith("# EOF\n")).toBe(true);
    expect(text).toMatch(/^# TYPE opsguard_operations_submitted counter$/m);
    expect(text).toMatch(
      /^opsguard_operations_submitted_total\{strategy="trend-follow",instrument="BTC-USD"\} 5$/m,
    );
    const traceIds = [...text.matchAll(EXEMPLAR)].map((m) => m[1]);
    expect(traceIds.length).toBeGreaterThan(0);
    expect(text).toMatch(
      /^opsguard_execution_duration_seconds_bucket\{[^}]*action="open"[^}]*\} \d+ # \{trace_id="/m,
    );

    await running!.app.tracing.shutdown(5_000);
    const exported = new Set(otlp.spans.map((s) => s.traceId));
    for (const id of traceIds) expect(exported.has(id!), `exemplar ${id} is an exported trace`).toBe(true);

    const classic = await fetch(`${base}/metrics`);
    expect(classic.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const plain = await classic.text();
    expect(plain).toMatch(/^# TYPE opsguard_operations_submitted_total counter$/m);
    expect(plain).not.toContain("# {");
    expect(plain).not.toContain("# EOF");
  });
});

describe("exemplars through a real Prometheus", () => {
  it("stores trace ids that belong to traces opsguard exported", async () => {
    const binary = requireTool("prometheus");
    const base = await serve();
    const port = await freePort();
    const config = join(dataDir, "prometheus.yml");
    writeFileSync(
      config,
      [
        "global: { scrape_interval: 1s }",
        "scrape_configs:",
        "  - job_name: opsguard",
        `    static_configs: [{ targets: ["${new URL(base).host}"] }]`,
      ].join("\n"),
    );
    const stderr: string[] = [];
    prometheus = spawn(
      binary,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dataDir, "tsdb")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--enable-feature=exemplar-storage",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    prometheus.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));

    const api = `http://127.0.0.1:${port}/api/v1`;
    const start = Date.now() / 1000 - 60;
    let traceIds: string[] = [];
    // Bounded: about 30 s at most. Keep submitting so every scrape has fresh exemplars.
    for (let attempt = 0; attempt < 60 && traceIds.length === 0; attempt++) {
      await submit(base, 2);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const query = "opsguard_operation_submit_duration_seconds_bucket";
      const res = await fetch(
        `${api}/query_exemplars?query=${query}&start=${start}&end=${Date.now() / 1000 + 60}`,
      ).catch(() => undefined);
      if (!res?.ok) continue;
      const body = (await res.json()) as { data: { exemplars: { labels: { trace_id?: string } }[] }[] };
      traceIds = body.data.flatMap((series) => series.exemplars.map((e) => e.labels.trace_id ?? ""));
    }
    expect(
      traceIds.length,
      `no exemplars stored; prometheus said: ${stderr.join("").slice(-2000)}`,
    ).toBeGreaterThan(0);

    await running!.app.tracing.shutdown(5_000);
    const exported = new Set(otlp.spans.map((s) => s.traceId));
    for (const id of traceIds) expect(exported.has(id), `exemplar ${id} is an exported trace`).toBe(true);
  }, 60_000);
});
