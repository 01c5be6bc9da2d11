import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp, type OpsguardApp } from "../src/app.js";
import { Config, type ConfigInput } from "../src/config/schema.js";
import { createSilentLogger } from "../src/platform/logger.js";
import { benchConfig } from "./config.js";

/** An opsguard built in this process on a temporary database, and how to take it down. */
export interface InProcessApp {
  app: OpsguardApp;
  config: Config;
  close: () => Promise<void>;
}

/**
 * Builds the app the way `opsguard serve` does ({@link benchConfig}, a real database file, the
 * paper executor at zero latency, runtime metrics on), with `changes` on top, but does not start
 * the supervisor's timer: phases that time a tick call it themselves.
 */
export function buildApp(changes: ConfigInput = {}): InProcessApp {
  const dataDir = mkdtempSync(join(tmpdir(), "opsguard-bench-"));
  const base = benchConfig(dataDir);
  const config = Config.parse({ ...base, ...changes, risk: { ...base.risk, ...changes.risk } });
  const app = createApp(config, { logger: createSilentLogger() });
  return {
    app,
    config,
    close: async () => {
      await app.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A submit body for `strategy` on `instrument`, one size unit, with a fresh clientId. */
export function submitBody(
  strategy: string,
  instrument: string,
  clientId: string,
  extra: Record<string, unknown> = {},
): Parameters<OpsguardApp["service"]["submit"]>[0] {
  return { clientId, strategy, instrument, side: "buy", size: "1", ...extra };
}
