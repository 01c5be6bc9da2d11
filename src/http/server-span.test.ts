import { context, propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from "@opentelemetry/sdk-trace-base";
import { Hono } from "hono";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DomainError } from "../platform/errors.js";
import { createSilentLogger } from "../platform/logger.js";
import type { AppEnv } from "./env.js";
import { createErrorHandler, notFoundHandler } from "./problem.js";
import { serverSpan } from "./server-span.js";

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer("test");

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(() => {
  context.disable();
  propagation.disable();
});
beforeEach(() => exporter.reset());

function app(): Hono<AppEnv> {
  const http = new Hono<AppEnv>();
  http.onError(createErrorHandler(createSilentLogger()));
  http.notFound(notFoundHandler);
  http.use(serverSpan(tracer, { untracedPaths: ["/healthz"] }));
  http.get("/healthz", (c) => c.json({ traced: trace.getActiveSpan() !== undefined }));
  http.get("/things/:id", (c) => {
    // Spans started while handling are children of the server span.
    tracer.startSpan("inner").end();
    return c.json({ id: c.req.param("id"), traced: trace.getActiveSpan() !== undefined });
  });
  // Answers before the handler runs, as authentication does.
  http.use("/guarded/*", (c) => Promise.resolve(c.json({ code: "UNAUTHORIZED" }, 401)));
  http.get("/guarded/:id", (c) => c.text("never"));
  http.post("/refused", () => {
    throw new DomainError("RISK_REJECTED", "over the limit");
  });
  http.get("/broken", () => {
    throw new TypeError("cannot read properties of undefined");
  });
  return http;
}

async function only(path: string, init?: RequestInit): Promise<{ status: number; span: ReadableSpan }> {
  const res = await app().request(path, init);
  await res.arrayBuffer();
  const servers = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
  expect(servers).toHaveLength(1);
  return { status: res.status, span: servers[0]! };
}

describe("serverSpan", () => {
  it("names the span by method and route template and parents the spans made inside it", async () => {
    const { status, span } = await only("/things/42?verbose=1");
    expect(status).toBe(200);
    expect(span.name).toBe("GET /things/:id");
    expect(span.attributes).toEqual({
      "http.request.method": "GET",
      "url.path": "/things/42",
      "url.scheme": "http",
      "http.route": "/things/:id",
      "http.response.status_code": 200,
    });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    const inner = exporter.getFinishedSpans().find((s) => s.name === "inner")!;
    expect(inner.parentSpanContext?.spanId).toBe(span.spanContext().spanId);
  });

  it("records no span for an untraced path, such as a health probe", async () => {
    const res = await app().request("/healthz");
    expect(await res.json()).toEqual({ traced: false });
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });

  it("continues the caller's trace from traceparent", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const { span } = await only("/things/1", {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    expect(span.spanContext().traceId).toBe(traceId);
    expect(span.parentSpanContext).toMatchObject({ spanId: "00f067aa0ba902b7", isRemote: true });
  });

  it("starts a new trace when traceparent is malformed", async () => {
    const { span } = await only("/things/1", { headers: { traceparent: "00-not-a-trace-01" } });
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it("keeps a refusal (4xx) off the error status but records its code", async () => {
    const { status, span } = await only("/refused", { method: "POST" });
    expect(status).toBe(422);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.attributes["opsguard.error.code"]).toBe("RISK_REJECTED");
    expect(span.events).toEqual([]);
  });

  it("marks a 5xx an error, with the exception and its type", async () => {
    const { status, span } = await only("/broken");
    expect(status).toBe(500);
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes["error.type"]).toBe("TypeError");
    expect(span.events.map((e) => e.name)).toEqual(["exception"]);
  });

  it("names a request by the route it matched even when a middleware answered it", async () => {
    const { status, span } = await only("/guarded/7");
    expect(status).toBe(401);
    expect(span.name).toBe("GET /guarded/:id");
    expect(span.attributes["http.route"]).toBe("/guarded/:id");
  });

  it("names an unmatched request by its method alone, without a route", async () => {
    const { status, span } = await only("/nowhere");
    expect(status).toBe(404);
    expect(span.name).toBe("GET");
    expect(span.attributes["http.route"]).toBeUndefined();
    expect(span.attributes["url.path"]).toBe("/nowhere");
  });
});
