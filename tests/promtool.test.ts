import { execFileSync, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../src/cli/serve.js";
import { createSilentLogger } from "../src/platform/logger.js";
import { ScriptedExecutor, submitBody, tempDir, testConfig } from "./harness.js";

/** promtool must be installed (Debian package `prometheus`); .ci/run installs it. */
function promtool(): string {
  try {
    execFileSync("promtool", ["--version"], { stdio: "ignore" });
    return "promtool";
  } catch {
    throw new Error("promtool is not installed: apt-get install prometheus (.ci/run does this)");
  }
}

describe("GET /metrics on a live server", () => {
  let dataDir: string;
  let running: RunningServer;
  let base: string;
  let token: string;
  beforeAll(async () => {
    dataDir = tempDir();
    const executor = new ScriptedExecutor();
    const config = testConfig(dataDir, { server: { port: 0 } });
    running = await startServer(config, { executor, logger: createSilentLogger() });
    base = `http://127.0.0.1:${running.port}`;
    token = running.app.tokens.create("admin", "promtool").token;
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    // Move every metric: opens, a rejection, closes of each result, a pattern, a halt.
    const ids: string[] = [];
    for (const body of [
      submitBody({ pattern: "double-bottom" }),
      submitBody({ instrument: "ETH-USD", size: "1" }),
    ]) {
      ids.push(((await (await call("POST", "/v1/operations", body)).json()) as { id: string }).id);
    }
    await call("POST", "/v1/operations", submitBody({ size: "50" }));
    executor.setPrice("BTC-USD", 6_510_000n);
    await call("POST", `/v1/operations/${ids[0]}/close`, {});
    await call("PUT", "/v1/risk/state", { state: "halted", reason: "promtool test", flatten: true });
    await call("GET", "/v1/operations/nope");
    await call("GET", "/nowhere");
  });
  afterAll(async () => {
    await running.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("passes promtool check metrics", async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    const result = spawnSync(promtool(), ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  it("exposes the core metrics of the telemetry contract", async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    for (const name of [
      "opsguard_operations_submitted_total",
      "opsguard_risk_rejections_total",
      "opsguard_operations_closed_total",
      "opsguard_operations_open",
      "opsguard_operation_submit_duration_seconds_bucket",
      "opsguard_execution_duration_seconds_bucket",
      "opsguard_operation_lifetime_seconds_bucket",
      "opsguard_profit_total",
      "opsguard_equity",
      "opsguard_drawdown_ratio",
      "opsguard_exposure",
      "opsguard_risk_limit_utilization_ratio",
      "opsguard_trading_state",
      "opsguard_pattern_predictions_total",
      "opsguard_trading_state_changes_total",
      "opsguard_http_requests_total",
      "opsguard_http_request_duration_seconds_bucket",
      "opsguard_log_messages_total",
      "opsguard_telemetry_dropped_total",
      "opsguard_build_info",
      "process_cpu_seconds_total",
      "nodejs_eventloop_lag_seconds",
    ]) {
      expect(text, name).toMatch(new RegExp(`^${name}[{ ]`, "m"));
    }
    expect(text).toContain('opsguard_http_requests_total{method="POST",route="/v1/operations",status="201"}');
    expect(text).toContain('route="unmatched"');
    expect(text).toContain('opsguard_trading_state{state="halted"} 1');
    expect(text).toMatch(
      /opsguard_operations_closed_total\{strategy="trend-follow",instrument="ETH-USD",result="flat",close_reason="halt"\} 1/,
    );
  });
});
