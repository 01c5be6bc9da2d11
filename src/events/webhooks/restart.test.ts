import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ScriptedExecutor, submitBody, tempDir, testConfig } from "../../../tests/harness.js";
import { createApp, type AppOverrides, type OpsguardApp } from "../../app.js";
import type { ConfigInput } from "../../config/schema.js";
import { ManualClock } from "../../platform/clock.js";
import { capturingLogger } from "../../platform/logger.fixture.js";
import { createSilentLogger } from "../../platform/logger.js";
import { Receiver, sample } from "./receiver.fixture.js";

const SECRET = "whsec_2f8d0a6b91c4e3";

/** Restarts on one data folder: what was not acknowledged is still delivered. */
describe("outgoing webhooks across restarts", () => {
  let dataDir: string;
  let secretFile: string;
  let receiver: Receiver;
  let executor: ScriptedExecutor;
  let app: OpsguardApp | undefined;
  let token: string;

  beforeEach(async () => {
    dataDir = tempDir();
    secretFile = join(dataDir, "webhook.secret");
    writeFileSync(secretFile, SECRET, { mode: 0o600 });
    receiver = await Receiver.start(SECRET);
    executor = new ScriptedExecutor();
  });
  afterEach(async () => {
    await app?.stop();
    app = undefined;
    await receiver.close();
    vi.unstubAllEnvs();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const endpoint = (input: Record<string, unknown> = {}): ConfigInput => ({
    webhooks: {
      endpoints: [{ name: "ledger-sync", url: receiver.url, secretFile, ...input }],
      timeoutMs: 500,
      retry: { initialMs: 5, maxMs: 20 },
    },
  });
  async function boot(input: ConfigInput, overrides: AppOverrides = {}): Promise<OpsguardApp> {
    app = createApp(testConfig(dataDir, input), {
      executor,
      logger: createSilentLogger(),
      runtimeMetrics: false,
      ...overrides,
    });
    token = app.tokens.create("admin", "test").token;
    await app.start();
    return app;
  }
  async function open(running: OpsguardApp): Promise<string> {
    const res = await running.http.request("/v1/operations", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(submitBody()),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }
  const ids = (running: OpsguardApp) => running.events.readAfter(0, 10_000).map((e) => e.id);

  it("delivers after a restart what the endpoint had not acknowledged before it", async () => {
    receiver.mode = "fail";
    let running = await boot(endpoint());
    await open(running);
    await open(running);
    await receiver.until(() => receiver.requests.length >= 2, "failed attempts");
    const pending = ids(running);
    expect(running.webhooks.status()[0]!.cursor).toBeLessThan(pending[0]!);
    await running.stop();
    app = undefined;

    receiver.mode = "ok";
    running = await boot(endpoint());
    await receiver.until(() => receiver.acknowledged().length === pending.length, "the pending events");
    expect(receiver.acknowledged()).toEqual(pending);
    expect(receiver.requests.every((r) => r.signed)).toBe(true);
    await vi.waitFor(() => expect(running.webhooks.status()[0]!.cursor).toBe(pending.at(-1)));
  });

  it("sends a new endpoint the events from when it was added, not the history", async () => {
    let running = await boot({});
    await open(running);
    const before = running.events.published;
    await running.stop();
    app = undefined;

    running = await boot(endpoint());
    expect(running.webhooks.status()[0]!.cursor).toBe(before);
    await open(running);
    await receiver.until(() => receiver.acknowledged().length > 0);
    expect(receiver.acknowledged()).toEqual(ids(running).filter((id) => id > before));
  });

  it("goes on from the oldest event kept when retention pruned what the endpoint missed", async () => {
    const clock = new ManualClock();
    executor = new ScriptedExecutor(undefined, clock);
    await receiver.close();
    receiver = await Receiver.start(SECRET, () => clock.now());
    receiver.mode = "fail";
    const input = { ...endpoint(), events: { retentionHours: 1 } };
    let running = await boot(input, { clock });
    await open(running);
    await open(running);
    const lost = ids(running);
    await receiver.until(() => receiver.requests.length >= 1);
    await running.stop();
    app = undefined;

    clock.advance(2 * 3_600_000);
    receiver.mode = "ok";
    const { logger, lines } = capturingLogger();
    running = await boot(input, { clock, logger });
    await open(running);
    await receiver.until(() => receiver.acknowledged().length > 0);
    expect(receiver.acknowledged()).toEqual(ids(running));
    expect(receiver.acknowledged()[0]).toBeGreaterThan(lost.at(-1)!);
    expect(lines.filter((l) => l.event === "webhook.events_expired")).toEqual([
      expect.objectContaining({
        level: "warn",
        endpoint: "ledger-sync",
        lost: lost.length,
        fromEventId: lost[0],
        toEventId: lost.at(-1),
      }),
    ]);
    const text = await (await running.http.request("/metrics")).text();
    expect(sample(text, "opsguard_webhook_events_expired_total", 'endpoint="ledger-sync"')).toBe(lost.length);
  });

  it("never writes the secret or a signature to the log, and says when an endpoint fails and recovers", async () => {
    vi.stubEnv("LEDGER_SYNC_SECRET", SECRET);
    receiver.mode = "fail";
    const { logger, lines, raw } = capturingLogger();
    const running = await boot(endpoint({ secretFile: undefined, secretEnv: "LEDGER_SYNC_SECRET" }), {
      logger,
    });
    await open(running);
    await receiver.until(() => receiver.requests.length >= 11, "eleven failed attempts");
    receiver.mode = "ok";
    await receiver.until(() => receiver.acknowledged().length > 0);
    await vi.waitFor(() => expect(lines.some((l) => l.event === "webhook.recovered")).toBe(true));

    const failures = lines.filter((l) => l.event === "webhook.delivery_failed");
    // The first failure of the streak and every tenth, not each one.
    expect(failures.map((l) => l.attempt)).toEqual([1, 10]);
    expect(failures[0]).toMatchObject({
      level: "warn",
      endpoint: "ledger-sync",
      status: 500,
      deliveryId: receiver.requests[0]!.deliveryId,
    });
    expect(lines.find((l) => l.event === "webhook.recovered")).toMatchObject({
      level: "info",
      endpoint: "ledger-sync",
    });
    const signatures = receiver.requests.map((r) => String(r.headers["opsguard-signature"]).split("v1=")[1]!);
    for (const line of raw) {
      expect(line).not.toContain(SECRET);
      expect(line).not.toContain("v1=");
      for (const signature of signatures) expect(line).not.toContain(signature);
    }
    expect(receiver.requests.every((r) => r.signed)).toBe(true);
  });
});
