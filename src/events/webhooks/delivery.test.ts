import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ScriptedExecutor, startTestApp, submitBody, tempDir, type TestApp } from "../../../tests/harness.js";
import type { ConfigInput } from "../../config/schema.js";
import { VERSION } from "../../platform/version.js";
import { eventJson } from "../model.js";
import { Receiver, sample } from "./receiver.fixture.js";
import { batchBody } from "./send.js";

const SECRET = "whsec_7c1e9f04b2d8a6";
/** Deadline of one attempt while the endpoint hangs: every submit must answer well before it. */
const TIMEOUT_MS = 200;
/** Small, so that a backlog goes out in several batches. */
const MAX_BATCH = 2;

describe("outgoing webhooks", () => {
  let secrets: string;
  let secretFile: string;
  let receiver: Receiver;
  let other: Receiver;
  let executor: ScriptedExecutor;
  let t: TestApp;
  const webhooks = (endpoints: NonNullable<NonNullable<ConfigInput["webhooks"]>["endpoints"]>) => ({
    webhooks: {
      endpoints,
      timeoutMs: TIMEOUT_MS,
      maxBatchEvents: MAX_BATCH,
      retry: { initialMs: 5, maxMs: 20 },
    },
  });
  const open = async (body: Record<string, unknown> = {}): Promise<string> => {
    const res = await t.call("POST", "/v1/operations", { body: submitBody(body) });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };
  const metrics = async (): Promise<string> => (await t.app.http.request("/metrics")).text();
  /** Every committed event, oldest first. */
  const stored = () => t.app.events.readAfter(0, 10_000);
  /** Resolves once every endpoint's cursor has reached the last committed event. */
  const settled = () =>
    vi.waitFor(
      () => {
        for (const { cursor } of t.app.webhooks.status()) expect(cursor).toBe(t.app.events.published);
      },
      { timeout: 10_000, interval: 5 },
    );

  beforeEach(async () => {
    secrets = tempDir("opsguard-webhook-secrets-");
    secretFile = join(secrets, "ledger-sync.secret");
    writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
    receiver = await Receiver.start(SECRET);
    other = await Receiver.start(SECRET);
    executor = new ScriptedExecutor();
  });
  afterEach(async () => {
    await t?.close();
    await receiver.close();
    await other.close();
    rmSync(secrets, { recursive: true, force: true });
  });

  it("delivers every event once, in order, signed, with the body and headers documented", async () => {
    t = await startTestApp(webhooks([{ name: "ledger-sync", url: receiver.url, secretFile }]), { executor });
    const first = await open();
    await open({ instrument: "ETH-USD", size: "1", strategy: "mean-revert" });
    executor.setPrice("BTC-USD", 6_510_000n);
    expect((await t.call("POST", `/v1/operations/${first}/close`, { body: {} })).status).toBe(200);
    await t.call("PUT", "/v1/risk/state", { body: { state: "halted", reason: "webhook test" } });
    const events = stored();
    expect(events.map((e) => e.kind)).toEqual([
      "operation.opened",
      "operation.opened",
      "operation.closed",
      "trading.state_changed",
    ]);
    await receiver.until(() => receiver.acknowledged().length === events.length, "every event");
    await settled();

    expect(receiver.acknowledged()).toEqual(events.map((e) => e.id));
    // No failure, so no event was sent twice.
    expect(receiver.requests.flatMap((r) => r.events.map((e) => e.id))).toEqual(events.map((e) => e.id));
    let offset = 0;
    for (const request of receiver.requests) {
      expect(request.signed).toBe(true);
      const batch = events.slice(offset, offset + request.events.length);
      offset += batch.length;
      const deliveryId = `ledger-sync:${batch[0]!.id}-${batch.at(-1)!.id}`;
      expect(request.deliveryId).toBe(deliveryId);
      // Byte for byte: each event as GET /v1/events carries it.
      expect(request.body).toBe(batchBody(deliveryId, batch));
      expect(request.events).toEqual(batch.map((e) => JSON.parse(eventJson(e)) as unknown));
      expect(request.headers).toMatchObject({
        "content-type": "application/json",
        "opsguard-delivery": deliveryId,
        "user-agent": `opsguard/${VERSION}`,
      });
      expect(request.headers["opsguard-signature"]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    }
    expect(receiver.requests[0]!.events[0]).toMatchObject({
      kind: "operation.opened",
      operationId: first,
      strategy: "trend-follow",
      instrument: "BTC-USD",
      data: { operation: { id: first, status: "open" } },
    });

    const text = await metrics();
    const label = 'endpoint="ledger-sync"';
    expect(sample(text, "opsguard_webhook_events_delivered_total", label)).toBe(events.length);
    expect(sample(text, "opsguard_webhook_deliveries_total", `${label},outcome="delivered"`)).toBe(
      receiver.requests.length,
    );
    expect(sample(text, "opsguard_webhook_deliveries_total", `${label},outcome="failed"`)).toBe(0);
    expect(sample(text, "opsguard_webhook_pending_events", label)).toBe(0);
    expect(sample(text, "opsguard_webhook_consecutive_failures", label)).toBe(0);
    expect(sample(text, "opsguard_webhook_last_success_timestamp_seconds", label)).toBeGreaterThan(0);
    expect(sample(text, "opsguard_webhook_events_expired_total", label)).toBe(0);
  });

  it("sends an endpoint only the kinds, strategies and instruments it asks for", async () => {
    t = await startTestApp(
      webhooks([
        { name: "all", url: receiver.url, secretFile },
        {
          name: "mean-revert-closes",
          url: other.url,
          secretFile,
          kinds: ["operation.closed", "trading.state_changed"],
          strategies: ["mean-revert"],
        },
      ]),
      { executor },
    );
    const trend = await open();
    const mean = await open({ strategy: "mean-revert", instrument: "ETH-USD", size: "1" });
    await t.call("POST", `/v1/operations/${trend}/close`, { body: {} });
    await t.call("POST", `/v1/operations/${mean}/close`, { body: {} });
    await t.call("PUT", "/v1/risk/state", { body: { state: "halted", reason: "webhook test" } });
    const events = stored();
    await receiver.until(() => receiver.acknowledged().length === events.length);
    await settled();

    expect(receiver.acknowledged()).toEqual(events.map((e) => e.id));
    const selected = other.requests.flatMap((r) => r.events);
    // The halt concerns every strategy: it reaches an endpoint that filters on one.
    expect(selected.map((e) => [e.kind, e.operationId])).toEqual([
      ["operation.closed", mean],
      ["trading.state_changed", null],
    ]);
    expect(other.requests.every((r) => r.signed)).toBe(true);
  });

  it("gets every event to an endpoint that fails, hangs, then recovers, without slowing trading", async () => {
    t = await startTestApp(
      webhooks([
        { name: "flaky", url: receiver.url, secretFile },
        { name: "steady", url: other.url, secretFile },
      ]),
      { executor },
    );
    receiver.mode = "fail";
    const ids = [await open(), await open({ instrument: "ETH-USD", size: "1" })];
    await receiver.until(() => receiver.requests.filter((r) => r.mode === "fail").length >= 3, "3 failures");
    let text = await metrics();
    // The third answer may not have been read yet; the first two have.
    expect(sample(text, "opsguard_webhook_consecutive_failures", 'endpoint="flaky"')).toBeGreaterThanOrEqual(
      2,
    );
    expect(sample(text, "opsguard_webhook_pending_events", 'endpoint="flaky"')).toBe(2);

    receiver.mode = "hang";
    await receiver.until(() => receiver.requests.some((r) => r.mode === "hang"), "a request to hold");
    // While the endpoint holds its requests, submits and closes answer as fast as ever.
    const latencies: number[] = [];
    const timed = async (call: () => Promise<unknown>): Promise<void> => {
      const started = performance.now();
      await call();
      latencies.push(performance.now() - started);
    };
    for (let i = 0; i < 5; i++)
      await timed(async () => ids.push(await open({ instrument: "SOL-USD", size: "1" })));
    for (const id of ids.slice(0, 4)) {
      await timed(async () =>
        expect((await t.call("POST", `/v1/operations/${id}/close`, { body: {} })).status).toBe(200),
      );
    }
    expect(latencies.filter((ms) => ms >= TIMEOUT_MS)).toEqual([]);
    await receiver.until(
      () => receiver.requests.filter((r) => r.mode === "hang").length >= 2,
      "a second held request, after the first timed out",
    );
    // The other endpoint never waited for the failing one.
    const events = stored();
    await other.until(() => other.acknowledged().length === events.length);

    receiver.mode = "ok";
    await receiver.until(
      () => receiver.acknowledged().length === events.length,
      "every event after recovery",
    );
    await settled();

    // Every event arrived and was acknowledged, in id order, the backlog in full batches.
    expect(receiver.acknowledged()).toEqual(events.map((e) => e.id));
    expect(Math.max(...receiver.requests.map((r) => r.events.length))).toBe(MAX_BATCH);
    // In order per operation: its opening before its close.
    for (const id of ids.slice(0, 4)) {
      const kinds = receiver.requests
        .filter((r) => r.mode === "ok")
        .flatMap((r) => r.events)
        .filter((e) => e.operationId === id)
        .map((e) => e.kind);
      expect(kinds).toEqual(["operation.opened", "operation.closed"]);
    }
    // Repeats only as whole batches: one delivery id always carries the same events, and no
    // event is in two delivery ids.
    const batches = new Map<string, string>();
    const owner = new Map<number, string>();
    for (const request of receiver.requests) {
      expect(request.signed).toBe(true);
      const ids = request.events.map((e) => e.id).join(",");
      expect(batches.get(request.deliveryId) ?? ids).toBe(ids);
      batches.set(request.deliveryId, ids);
      for (const event of request.events) {
        expect(owner.get(event.id) ?? request.deliveryId).toBe(request.deliveryId);
        owner.set(event.id, request.deliveryId);
      }
    }
    text = await metrics();
    const flaky = 'endpoint="flaky"';
    expect(sample(text, "opsguard_webhook_consecutive_failures", flaky)).toBe(0);
    expect(sample(text, "opsguard_webhook_pending_events", flaky)).toBe(0);
    expect(sample(text, "opsguard_webhook_deliveries_total", `${flaky},outcome="failed"`)).toBe(
      receiver.requests.filter((r) => r.mode !== "ok").length,
    );
    expect(sample(text, "opsguard_webhook_deliveries_total", 'endpoint="steady",outcome="failed"')).toBe(0);
  });
});
