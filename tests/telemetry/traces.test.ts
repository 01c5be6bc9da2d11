import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { ConfigInput } from "../../src/config/schema.js";
import { ExecutionError } from "../../src/execution/executor.js";
import { ManualClock } from "../../src/platform/clock.js";
import { ScriptedExecutor, startTestApp, submitBody, type TestApp } from "../harness.js";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "./receivers.js";

const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;

let otlp: OtlpReceiver;
let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  await otlp.close();
});

async function start(input: ConfigInput = {}, executor = new ScriptedExecutor(), clock?: ManualClock) {
  otlp = await startOtlpReceiver();
  t = await startTestApp(
    { env: "test", ...input, telemetry: { traces: { endpoint: otlp.url, ...input.telemetry?.traces } } },
    { executor, ...(clock ? { clock } : {}) },
  );
  return t;
}

/** Exports everything still queued, so the receiver has every span of the test. */
const flush = (app: TestApp) => app.app.tracing.shutdown(10_000);

const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) =>
  spans.filter((s) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId);

describe("traces", () => {
  it("makes one trace per submit: a SERVER span by route, with risk check, writes and executor calls", async () => {
    const app = await start();
    const res = await app.call("POST", "/v1/operations", { role: "operator", body: submitBody() });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    await flush(app);

    const servers = otlp.spans.filter((s) => s.kind === SERVER);
    expect(servers.map((s) => s.name)).toEqual(["POST /v1/operations"]); // one, not two
    const [server] = servers as [ReceivedSpan];
    expect(server.parentSpanId).toBeUndefined();
    expect(server.attributes).toMatchObject({
      "http.route": "/v1/operations",
      "http.response.status_code": 201,
    });
    expect(server.resource).toMatchObject({
      "service.name": "opsguard",
      "deployment.environment": "test",
      "service.version": expect.any(String),
      "service.instance.id": expect.any(String),
    });

    const children = childrenOf(otlp.spans, server);
    const names = children.map((s) => s.name).sort();
    expect(names).toEqual(["db.write", "db.write", "executor.open", "executor.quote", "risk.check"]);
    expect(children.find((s) => s.name === "risk.check")!.attributes).toMatchObject({
      "opsguard.risk.decision": "accepted",
      "opsguard.strategy": "trend-follow",
    });
    const writes = children
      .filter((s) => s.name === "db.write")
      .map((s) => s.attributes["db.operation.name"]);
    expect(writes.sort()).toEqual(["operation.open", "operation.submit"]);
    const open = children.find((s) => s.name === "executor.open")!;
    expect(open).toMatchObject({ kind: CLIENT, attributes: { "opsguard.operation.id": id } });
    expect(new Set(otlp.spans.map((s) => s.traceId)).size).toBe(1);
  });

  it("traces no /metrics scrape and no health probe with the default config", async () => {
    const app = await start();
    for (const path of ["/metrics", "/healthz", "/readyz"]) {
      expect((await app.app.http.request(path)).status, path).toBeLessThan(500);
    }
    expect((await app.call("GET", "/v1/risk")).status).toBe(200);
    await flush(app);
    expect(otlp.spans.filter((s) => s.kind === SERVER).map((s) => s.name)).toEqual(["GET /v1/risk"]);
  });

  it("puts the failed checks of a rejection on the risk span, without marking the request an error", async () => {
    const app = await start();
    const res = await app.call("POST", "/v1/operations", { body: submitBody({ size: "3", pattern: "tea" }) });
    expect(res.status).toBe(422);
    await flush(app);
    const server = otlp.spans.find((s) => s.kind === SERVER)!;
    expect(server.status).not.toBe(ERROR);
    expect(server.attributes["opsguard.error.code"]).toBe("RISK_REJECTED");
    const risk = childrenOf(otlp.spans, server).find((s) => s.name === "risk.check")!;
    expect(risk.attributes["opsguard.risk.decision"]).toBe("rejected");
    expect(risk.attributes["opsguard.risk.failed_codes"]).toEqual(
      expect.arrayContaining(["POSITION_SIZE_EXCEEDED", "UNKNOWN_PATTERN"]),
    );
  });

  it("records an executor failure on its span and marks the 502 request an error", async () => {
    const executor = new ScriptedExecutor();
    executor.failWith = new ExecutionError("venue rejected the order", "refused");
    const app = await start({}, executor);
    expect((await app.call("POST", "/v1/operations", { body: submitBody() })).status).toBe(502);
    await flush(app);
    const open = otlp.spans.find((s) => s.name === "executor.open")!;
    expect(open.status).toBe(ERROR);
    expect(open.events).toContain("exception");
    expect(otlp.spans.find((s) => s.kind === SERVER)!.status).toBe(ERROR);
  });

  it("continues the caller's trace from an incoming traceparent", async () => {
    const app = await start();
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parent = "00f067aa0ba902b7";
    const res = await app.app.http.request("/v1/risk", {
      headers: { authorization: `Bearer ${app.tokens.viewer}`, traceparent: `00-${traceId}-${parent}-01` },
    });
    expect(res.status).toBe(200);
    await flush(app);
    expect(otlp.spans.find((s) => s.kind === SERVER)).toMatchObject({
      name: "GET /v1/risk",
      traceId,
      parentSpanId: parent,
    });
  });

  it("gives each supervisor intervention a trace of its own", async () => {
    const clock = new ManualClock(Date.now());
    const executor = new ScriptedExecutor(undefined, clock);
    const app = await start({}, executor, clock);
    const body = submitBody({ stopLoss: "64000" });
    const { id } = (await (await app.call("POST", "/v1/operations", { body })).json()) as { id: string };
    executor.setPrice("BTC-USD", 6_390_000n);
    await app.app.supervisor.tick();
    await flush(app);

    const intervention = otlp.spans.find((s) => s.name === "supervisor.intervention")!;
    expect(intervention).toMatchObject({
      parentSpanId: undefined,
      attributes: { "opsguard.operation.id": id, "opsguard.close_reason": "stop_loss" },
    });
    const submitTrace = otlp.spans.find((s) => s.kind === SERVER)!.traceId;
    expect(intervention.traceId).not.toBe(submitTrace);
    const names = childrenOf(otlp.spans, intervention).map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(["executor.close", "db.write"]));
    // Routine supervision quotes make no traces of their own.
    expect(otlp.spans.filter((s) => s.name === "executor.quote" && s.parentSpanId === undefined)).toEqual([]);
  });

  it("records nothing of a request the sampler leaves out, and everything of one a caller sampled", async () => {
    const app = await start({ telemetry: { traces: { sampleRatio: 0 } } });
    const submit = (traceparent?: string) =>
      app.app.http.request("/v1/operations", {
        method: "POST",
        headers: {
          authorization: `Bearer ${app.tokens.operator}`,
          "content-type": "application/json",
          ...(traceparent ? { traceparent } : {}),
        },
        body: JSON.stringify(submitBody()),
      });
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    expect((await submit()).status).toBe(201);
    expect((await submit("00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-00")).status).toBe(201);
    // A caller that samples decides for the whole trace, whatever the ratio.
    expect((await submit(`00-${traceId}-00f067aa0ba902b7-01`)).status).toBe(201);
    await flush(app);
    expect(otlp.spans.map((s) => s.name).sort()).toEqual([
      "POST /v1/operations",
      "db.write",
      "db.write",
      "executor.open",
      "executor.quote",
      "risk.check",
    ]);
    // Nothing of the other two: every span is of the sampled trace.
    expect(new Set(otlp.spans.map((s) => s.traceId))).toEqual(new Set([traceId]));
  });

  it("propagates traceparent to the webhook executor, as a child of the executor span", async () => {
    const seen: IncomingHttpHeaders[] = [];
    const bridge: Server = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ price: "65000" }));
    });
    bridge.listen(0, "127.0.0.1");
    await once(bridge, "listening");
    try {
      const url = `http://127.0.0.1:${(bridge.address() as AddressInfo).port}`;
      otlp = await startOtlpReceiver();
      t = await startTestApp({
        telemetry: { traces: { endpoint: otlp.url } },
        executor: { type: "webhook", webhook: { url } },
      });
      expect((await t.call("POST", "/v1/operations", { body: submitBody() })).status).toBe(201);
      await flush(t);
      const open = otlp.spans.find((s) => s.name === "executor.open")!;
      const headers = seen.find((h) => h["idempotency-key"]?.toString().endsWith(":open"))!;
      expect(headers.traceparent).toBe(`00-${open.traceId}-${open.spanId}-01`);
    } finally {
      bridge.closeAllConnections();
      bridge.close();
    }
  });
});

describe("traces when the collector is down", () => {
  it.each(["unreachable", "hanging"] as const)(
    "keeps serving when the collector is %s: spans held stay bounded, drops are counted, shutdown ends",
    async (failure) => {
      const maxQueueSize = 20;
      otlp = await startOtlpReceiver();
      otlp.mode = "hang";
      const endpoint = otlp.url;
      if (failure === "unreachable") {
        await otlp.close();
        otlp = await startOtlpReceiver(); // a live one for afterEach to close; the endpoint stays dead
      }
      t = await startTestApp(
        {
          telemetry: { traces: { endpoint, maxQueueSize, exportTimeoutMs: 200 } },
          risk: { maxSubmitRate: { perSecond: 1000, burst: 1000 } },
        },
        { executor: new ScriptedExecutor() },
      );
      let held = 0;
      for (let i = 0; i < 60; i++) {
        const res = await t.call("POST", "/v1/operations", { body: submitBody({ size: "0.01" }) });
        expect(res.status).toBe(201);
        held = Math.max(held, t.app.tracing.heldSpans);
      }
      expect(held).toBeLessThanOrEqual(maxQueueSize);
      // Each submit makes 6 spans: far more than the queue holds, so most were dropped and counted.
      const dropped = await t.app.registry.getSingleMetricAsString("opsguard_telemetry_dropped_total");
      const count = Number(/signal="traces"\} (\d+)/.exec(dropped)?.[1]);
      expect(count).toBeGreaterThanOrEqual(60 * 6 - maxQueueSize);
      // Shutdown gives up on the collector at its deadline instead of waiting for it.
      await t.app.tracing.shutdown(1_000);
    },
    30_000,
  );
});
