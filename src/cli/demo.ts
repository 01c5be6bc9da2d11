import type { Config } from "../config/schema.js";
import { demoConfig } from "../demo/profile.js";
import { DemoStrategy } from "../demo/strategy.js";
import { startDemoWebhookReceiver } from "../demo/webhook-receiver.js";
import { startServer, stopOnSignals } from "./serve.js";

/** `opsguard demo`: the service plus the built-in strategy, until SIGTERM or SIGINT. */
export async function runDemo(config: Config): Promise<void> {
  const profile = demoConfig(config);
  // The demo's own webhook endpoint, so that deliveries show on the dashboards too.
  const receiver = await startDemoWebhookReceiver(profile.dataDir);
  const demo = {
    ...profile,
    webhooks: { ...profile.webhooks, endpoints: [...profile.webhooks.endpoints, receiver.endpoint] },
  };
  // Signals are handled from the moment it listens; the strategy, started later, is stopped first.
  const started: { strategy?: DemoStrategy } = {};
  const running = await startServer(demo, {}, (listening) =>
    // The receiver stays up until the process exits: deliveries under way may still land.
    stopOnSignals(listening, () => started.strategy?.stop() ?? Promise.resolve()),
  );
  const { id, token } = running.app.tokens.create("admin", "demo-strategy");
  running.app.logger.info("demo strategy started", {
    event: "demo.started",
    principalId: id,
    dataDir: demo.dataDir,
  });
  const host = demo.server.host === "0.0.0.0" || demo.server.host === "::" ? "127.0.0.1" : demo.server.host;
  const strategy = new DemoStrategy({
    baseUrl: `http://${host.includes(":") ? `[${host}]` : host}:${running.port}`,
    token,
    executor: running.app.executor,
    limits: running.app.limits,
    logger: running.app.logger,
  });
  started.strategy = strategy;
  await strategy.start();
}
