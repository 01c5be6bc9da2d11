import { integrityScope } from "../src/security/context.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp, type AppOverrides, type OpsguardApp } from "../src/app.js";
import { Config, type ConfigInput } from "../src/config/schema.js";
import {
  ExecutionError,
  type ExecutionStatus,
  type Executor,
  type Fill,
  type OrderRequest,
  type Quote,
} from "../src/execution/executor.js";
import type { Role } from "../src/http/tokens.js";
import type { BackupRepository } from "../src/maintenance/repository.js";
import { SYSTEM_CLOCK, type Clock } from "../src/platform/clock.js";
import { createSilentLogger } from "../src/platform/logger.js";

/** A fresh data folder under the system temp dir; removed by `cleanup`. */
export function tempDir(prefix = "opsguard-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Config for tests: an instant paper market and generous limits unless overridden. */
export function testConfig(dataDir: string, input: ConfigInput = {}): Config {
  return Config.parse({
    dataDir,
    ...input,
    supervisor: { monitorIntervalMs: 60_000, ...input.supervisor },
    // Backups run restic; the tests of backups turn them on.
    backup: { enabled: false, ...input.backup },
    // The security checks' tests run them on demand; npm audit would ask the registry (only
    // loopback in tests).
    security: {
      ...input.security,
      npmAudit: { enabled: false, ...input.security?.npmAudit },
      schedule: { quick: "off", checks: "off", ...input.security?.schedule },
    },
    executor: {
      ...input.executor,
      paper: { latencyMs: 0, slippageBps: 0, stepMs: 60_000, ...input.executor?.paper },
    },
    // The daily reports' tests make them; elsewhere each start would make every report once.
    reports: { ...input.reports, schedule: input.reports?.schedule ?? "off" },
  });
}

export interface TestApp {
  app: OpsguardApp;
  config: Config;
  tokens: Record<Role, string>;
  /** Calls the app in-process, as `role` (or with `token`, or with no token when `role` is null). */
  call(
    method: string,
    path: string,
    options?: { role?: Role | null; token?: string; body?: unknown; rawBody?: string },
  ): Promise<Response>;
  close(): Promise<void>;
}

/** Builds an app on a temp-file database, with one token per role, and starts it. */
export async function startTestApp(input: ConfigInput = {}, overrides: AppOverrides = {}): Promise<TestApp> {
  const dataDir = tempDir();
  const config = testConfig(dataDir, input);
  const { security, ...rest } = overrides;
  const app = createApp(config, {
    logger: createSilentLogger(),
    runtimeMetrics: false,
    // Only the tests of backups run restic; elsewhere a backup fails at once.
    ...(config.backup.enabled ? {} : { backupRepository: NO_BACKUPS }),
    ...rest,
    // The integrity check of an empty application folder: fingerprinting the repository's own
    // node_modules takes seconds, and a security check may run many times (the fuzz test).
    security: { integrity: integrityScope(config, undefined, join(dataDir, "app")), ...security },
  });
  const tokens = {
    viewer: app.tokens.create("viewer", "test-viewer").token,
    operator: app.tokens.create("operator", "test-operator").token,
    admin: app.tokens.create("admin", "test-admin").token,
  };
  await app.start();
  return {
    app,
    config,
    tokens,
    call(method, path, { role = "admin", token, body, rawBody } = {}) {
      const headers: Record<string, string> = {};
      const bearer = token ?? (role ? tokens[role] : undefined);
      if (bearer) headers.authorization = `Bearer ${bearer}`;
      if (body !== undefined || rawBody !== undefined) headers["content-type"] = "application/json";
      return Promise.resolve(
        app.http.request(path, {
          method,
          headers,
          body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
        }),
      );
    },
    async close() {
      await app.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A backup repository for tests that do not test backups: every call fails at once. */
const NO_BACKUPS: BackupRepository = new Proxy({} as BackupRepository, {
  get: (_target, name) =>
    name === "then"
      ? undefined
      : () => Promise.reject(new Error("backups are not set up in this test (backup.enabled is false)")),
});

let sequence = 0;
/** A valid submit body; fields may be overridden. */
export function submitBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    clientId: `test-${process.pid}-${++sequence}`,
    strategy: "trend-follow",
    instrument: "BTC-USD",
    side: "buy",
    size: "0.1",
    ...overrides,
  };
}

/**
 * An executor whose prices the test sets: fills happen at the current price, and every call is
 * recorded, so tests can assert that nothing executed twice.
 */
export class ScriptedExecutor implements Executor {
  readonly name = "paper" as const;
  readonly calls: { action: string; operationId?: string }[] = [];
  readonly orders = new Map<string, { entry: Fill; exit?: Fill }>();
  private readonly prices = new Map<string, bigint>();
  /** When set, open and close reject with this error. */
  failWith: Error | undefined;
  /** When set, open and close wait for this promise first. */
  gate: Promise<void> | undefined;
  /** When set, open and close execute, then reject with this error: an answer lost on the way. */
  loseAnswerWith: Error | undefined;

  constructor(
    prices: Record<string, bigint> = { "BTC-USD": 6_500_000n, "ETH-USD": 320_000n, "SOL-USD": 150_000n },
    private readonly clock: Clock = SYSTEM_CLOCK,
  ) {
    for (const [instrument, price] of Object.entries(prices)) this.prices.set(instrument, price);
  }

  setPrice(instrument: string, price: bigint): void {
    this.prices.set(instrument, price);
  }

  quote(instrument: string): Promise<Quote> {
    this.calls.push({ action: "quote" });
    const price = this.prices.get(instrument);
    if (price === undefined)
      return Promise.reject(new ExecutionError(`no price for ${instrument}`, "refused"));
    return Promise.resolve({ instrument, price, at: this.clock.now() });
  }

  async open(request: OrderRequest): Promise<Fill> {
    this.calls.push({ action: "open", operationId: request.operationId });
    await this.gate;
    if (this.failWith) throw this.failWith;
    const existing = this.orders.get(request.operationId);
    if (existing) return existing.entry;
    const entry = { price: this.prices.get(request.instrument)!, at: this.clock.now() };
    this.orders.set(request.operationId, { entry });
    if (this.loseAnswerWith) throw this.loseAnswerWith;
    return entry;
  }

  async close(request: OrderRequest): Promise<Fill> {
    this.calls.push({ action: "close", operationId: request.operationId });
    await this.gate;
    if (this.failWith) throw this.failWith;
    const order = this.orders.get(request.operationId);
    if (!order) throw new ExecutionError(`unknown operation ${request.operationId}`, "refused");
    order.exit ??= { price: this.prices.get(request.instrument)!, at: this.clock.now() };
    if (this.loseAnswerWith) throw this.loseAnswerWith;
    return order.exit;
  }

  status(operationId: string): Promise<ExecutionStatus> {
    const order = this.orders.get(operationId);
    if (!order) return Promise.resolve({ state: "unknown" });
    return Promise.resolve(
      order.exit
        ? { state: "closed", entry: order.entry, exit: order.exit }
        : { state: "open", entry: order.entry },
    );
  }

  count(action: string, operationId?: string): number {
    return this.calls.filter(
      (c) => c.action === action && (operationId === undefined || c.operationId === operationId),
    ).length;
  }
}

/**
 * A response's body as text; of an event stream (which never ends by itself) only what it sent
 * first, and the stream is then closed.
 */
export async function answerText(res: Response): Promise<string> {
  if (!res.headers.get("content-type")?.startsWith("text/event-stream") || !res.body) return res.text();
  const reader = res.body.getReader();
  const { value } = await reader.read();
  await reader.cancel();
  return value ? Buffer.from(value).toString() : "";
}

/** Counts the turns of the event loop from now until `stop()`: whether long work let others run. */
export function countTurns(): { readonly turns: number; stop(): void } {
  let turns = 0;
  let ticking = true;
  const tick = (): void => {
    turns++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    get turns() {
      return turns;
    },
    stop() {
      ticking = false;
    },
  };
}
