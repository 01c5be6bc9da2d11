import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { describe, expect, it } from "vitest";
import { DomainError } from "../platform/errors.js";
import { capturingLogger } from "../platform/logger.fixture.js";
import type { AppEnv } from "./env.js";
import { createErrorHandler, notFoundHandler, problemType, validationHook } from "./problem.js";

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  requestId: string;
  instance: string;
  errors?: { code: string; path?: string; message: string; limit?: string | number }[];
}

const Order = z
  .object({ name: z.string().min(1), side: z.enum(["buy", "sell"]), size: z.number().positive() })
  .strict();
const Page = z.object({ limit: z.coerce.number().int().max(100) });

function buildApp(): { app: OpenAPIHono<AppEnv>; logs: Record<string, unknown>[] } {
  const { logger, lines: logs } = capturingLogger();
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.onError(createErrorHandler(logger));
  app.notFound(notFoundHandler);
  app.use(requestId());
  app.openapi(
    createRoute({
      method: "post",
      path: "/orders",
      request: {
        query: Page,
        body: { content: { "application/json": { schema: Order } }, required: true },
      },
      responses: { 201: { description: "created" } },
    }),
    (c) => c.json(c.req.valid("json"), 201),
  );
  app.get("/boom", () => {
    throw new Error("connection to postgres://admin:hunter2@db failed");
  });
  app.get("/boom-5xx", () => {
    throw new HTTPException(503, { message: "pool exhausted at 10.0.0.7" });
  });
  app.get("/internal", () => {
    throw new DomainError("INTERNAL", "invariant broken: ledger row 42 missing");
  });
  app.get("/rejected", () => {
    throw new DomainError("RISK_REJECTED", "2 risk checks failed", [
      { code: "POSITION_SIZE_EXCEEDED", message: "too big", limit: "2", observed: "3" },
      { code: "NOTIONAL_EXCEEDED", message: "too much" },
    ]);
  });
  app.get("/venue", () => {
    throw new DomainError("EXECUTION_FAILED", "the venue rejected the order");
  });
  return { app, logs };
}

async function send(app: OpenAPIHono<AppEnv>, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = { "x-request-id": "req-7", ...(init.headers as Record<string, string> | undefined) };
  return app.request(path, { ...init, headers });
}

function postJson(app: OpenAPIHono<AppEnv>, path: string, body: string): Promise<Response> {
  return send(app, path, { method: "POST", body, headers: { "content-type": "application/json" } });
}

describe("createErrorHandler", () => {
  it("answers an unknown error with a generic 500 and logs it whole", async () => {
    const { app, logs } = buildApp();
    const res = await send(app, "/boom");
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const text = await res.text();
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("postgres");
    expect(JSON.parse(text)).toMatchObject({
      code: "INTERNAL",
      status: 500,
      requestId: "req-7",
      instance: "/boom",
    });
    const line = logs.find((l) => l.event === "http.unhandled_error")!;
    expect(line).toMatchObject({ level: "error", requestId: "req-7", method: "GET", path: "/boom" });
    expect(line.error).toMatchObject({ name: "Error", message: expect.stringContaining("failed") });
    expect((line.error as { stack: string }).stack).toContain("problem.test.ts");
  });

  it("keeps internal messages of 5xx HTTPExceptions and INTERNAL domain errors out of the answer", async () => {
    const { app } = buildApp();
    const http = await send(app, "/boom-5xx");
    expect(http.status).toBe(503);
    expect(await http.text()).not.toContain("10.0.0.7");
    const internal = await send(app, "/internal");
    expect(internal.status).toBe(500);
    expect(await internal.text()).not.toContain("ledger row");
  });

  it("maps a domain error to its status with every detail and a stable type", async () => {
    const { app } = buildApp();
    const res = await send(app, "/rejected");
    expect(res.status).toBe(422);
    const problem = (await res.json()) as Problem;
    expect(problem).toMatchObject({
      type: "https://opsguard.dev/problems/risk-rejected",
      title: "Rejected by risk controls",
      status: 422,
      code: "RISK_REJECTED",
      detail: "2 risk checks failed",
      requestId: "req-7",
      instance: "/rejected",
    });
    expect(problem.errors!.map((e) => e.code)).toEqual(["POSITION_SIZE_EXCEEDED", "NOTIONAL_EXCEEDED"]);
    expect(problem.errors![0]).toMatchObject({ limit: "2", observed: "3" });
  });

  it("passes on a deliberate 5xx domain message", async () => {
    const { app, logs } = buildApp();
    const res = await send(app, "/venue");
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({
      code: "EXECUTION_FAILED",
      detail: "the venue rejected the order",
    });
    expect(logs.some((l) => l.event === "http.request_failed")).toBe(true);
  });

  it("keeps the X-Request-Id response header", async () => {
    const { app } = buildApp();
    expect((await send(app, "/boom")).headers.get("x-request-id")).toBe("req-7");
  });
});

describe("validationHook", () => {
  it("lists every issue with a dotted path that names the target", async () => {
    const { app } = buildApp();
    const res = await postJson(
      app,
      "/orders?limit=1",
      JSON.stringify({ name: "", side: "hold", size: -1, extra: 1 }),
    );
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await res.json()) as Problem;
    expect(problem).toMatchObject({ code: "VALIDATION_FAILED", status: 400, requestId: "req-7" });
    expect(problem.errors!.map((e) => e.path).sort()).toEqual([
      "body.extra",
      "body.name",
      "body.side",
      "body.size",
    ]);
    expect(problem.errors!.map((e) => e.code)).toEqual(
      expect.arrayContaining(["TOO_SMALL", "INVALID_VALUE", "UNRECOGNIZED_KEYS"]),
    );
    for (const error of problem.errors!) expect(error.message).toBeTruthy();
  });

  it("names query problems query.<field>", async () => {
    const { app } = buildApp();
    const res = await postJson(app, "/orders?limit=500", JSON.stringify({ name: "a", side: "buy", size: 1 }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as Problem).errors).toEqual([
      expect.objectContaining({ path: "query.limit", code: "TOO_BIG" }),
    ]);
  });

  it("lets valid input through", async () => {
    const { app } = buildApp();
    const res = await postJson(app, "/orders?limit=5", JSON.stringify({ name: "a", side: "buy", size: 1 }));
    expect(res.status).toBe(201);
  });

  it("answers a body that is not JSON with a 400 problem, not a 500", async () => {
    const { app, logs } = buildApp();
    const res = await postJson(app, "/orders?limit=5", "{not json");
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await res.json()) as Problem;
    expect(problem).toMatchObject({
      code: "VALIDATION_FAILED",
      requestId: "req-7",
      type: problemType("VALIDATION_FAILED"),
    });
    expect(problem.errors).toEqual([expect.objectContaining({ code: "MALFORMED_BODY", path: "body" })]);
    expect(logs.filter((l) => l.level === "error")).toEqual([]);
  });
});

describe("notFoundHandler", () => {
  it("answers unknown routes with a 404 problem", async () => {
    const { app } = buildApp();
    const res = await send(app, "/nowhere");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toMatchObject({
      code: "NOT_FOUND",
      status: 404,
      requestId: "req-7",
      instance: "/nowhere",
    });
  });
});
