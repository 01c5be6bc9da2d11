import type { Config } from "../config/schema.js";
import { demoConfig } from "../demo/profile.js";
import { DemoStrategy } from "../demo/strategy.js";
import { startServer, stopOnSignals } from "./serve.js";

/** `opsguard demo`: the service plus the built-in strategy, until SIGTERM or SIGINT. */
export async function runDemo(config: Config): Promise<void> {
  const demo = demoConfig(config);
  // Signals are handled from the moment it listens; the strategy, started later, is stopped first.
  const started: { strategy?: DemoStrategy } = {};
  const running = await startServer(demo, {}, (listening) =>
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
