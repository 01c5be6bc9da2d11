import { serve, type ServerType } from "@hono/node-server";
import { afterEach, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../../tests/harness.js";
import { Config, type ConfigInput } from "../config/schema.js";
import { createSilentLogger } from "../platform/logger.js";
import { demoConfig } from "./profile.js";
import { DemoStrategy, type DemoStrategyOptions } from "./strategy.js";

describe("the demo strategy", () => {
  let t: TestApp;
  let server: ServerType;
  afterEach(async () => {
    await new Promise((resolve) => server.close(resolve));
    await t.close();
  });

  /** An opsguard with `config` served on a loopback port, and a demo strategy talking to it. */
  async function strategyOf(
    config: ConfigInput,
    options: Partial<DemoStrategyOptions>,
  ): Promise<DemoStrategy> {
    t = await startTestApp(config);
    const port = await new Promise<number>((resolve) => {
      server = serve({ fetch: t.app.http.fetch, port: 0, hostname: "127.0.0.1" }, (info) =>
        resolve(info.port),
      );
    });
    return new DemoStrategy({
      baseUrl: `http://127.0.0.1:${port}`,
      token: t.tokens.admin,
      executor: t.app.executor,
      limits: t.app.limits,
      logger: createSilentLogger(),
      ...options,
    });
  }

  it("breaks the rate limit with its bursts, under the demo's own interval between operations", async () => {
    const { minOperationIntervalMs, maxSubmitRate } = demoConfig(Config.parse({})).risk;
    // Every draw below the burst's chance: this step is a burst.
    const strategy = await strategyOf(
      { risk: { minOperationIntervalMs, maxSubmitRate } },
      { random: () => 0.005 },
    );
    await strategy.step();
    const rejections = await t.app.registry.getSingleMetricAsString("opsguard_risk_rejections_total");
    expect(rejections).toMatch(/reason="RATE_LIMITED"} [1-9]/);
  });

  it("learns its open operations and the trading state from the event stream, without polling", async () => {
    let calls = 0;
    const strategy = await strategyOf(
      { risk: { maxSubmitRate: { perSecond: 1000, burst: 1000 } }, supervisor: { monitorIntervalMs: 50 } },
      {
        intervalMs: 5,
        resumeAfterMs: 60_000,
        random: () => ((calls = (calls * 7919 + 104_729) % 1_000_003), calls / 1_000_003),
      },
    );
    await strategy.start();
    const until = async (condition: () => boolean): Promise<void> => {
      for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
      expect(condition()).toBe(true);
    };
    await until(() => t.app.service.open.size >= 5);
    await t.call("PUT", "/v1/risk/state", { body: { state: "halted", reason: "demo test", flatten: true } });
    await until(() => t.app.service.open.size === 0 && strategy.openOperations.size === 0);
    await strategy.stop();

    const requests = await t.app.registry.getSingleMetricAsString("opsguard_http_requests_total");
    // The trading state was read once, at start; the halt came by the stream.
    expect(requests).toMatch(/method="GET",route="\/v1\/risk",status="200"} 1\n/);
    expect(requests).toMatch(/method="POST",route="\/v1\/operations",status="201"} \d+/);
  });
});
