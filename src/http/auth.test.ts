import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../platform/clock.js";
import { openDatabase, type Db } from "../platform/db.js";
import { createSilentLogger } from "../platform/logger.js";
import { authenticate, bearerGuard, requireRole } from "./auth.js";
import type { AppEnv } from "./env.js";
import { createErrorHandler } from "./problem.js";
import { TokenStore, type Role } from "./tokens.js";

interface Problem {
  code: string;
  status: number;
  requestId: string;
}

let db: Db;
let tokens: TokenStore;
let issued: Record<Role, string>;

beforeEach(() => {
  db = openDatabase({ path: ":memory:" });
  tokens = new TokenStore(db, new ManualClock());
  issued = {
    viewer: tokens.create("viewer", "v").token,
    operator: tokens.create("operator", "o").token,
    admin: tokens.create("admin", "a").token,
  };
});

afterEach(() => db.close());

function buildApp({ enabled = true } = {}): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(createErrorHandler(createSilentLogger()));
  app.use(requestId());
  app.use("/metrics", bearerGuard("scrape-me"));
  app.get("/metrics", (c) => c.text("opsguard_up 1\n"));
  app.get("/unguarded", requireRole("viewer"), (c) => c.text("never"));
  app.use("/v1/*", authenticate({ tokens, enabled }));
  app.get("/v1/read", requireRole("viewer"), (c) => c.json(c.get("principal")));
  app.post("/v1/write", requireRole("operator"), (c) => c.json(c.get("principal")));
  app.put("/v1/admin", requireRole("admin"), (c) => c.json(c.get("principal")));
  return app;
}

function call(app: Hono<AppEnv>, method: string, path: string, authorization?: string): Promise<Response> {
  const headers: Record<string, string> = { "x-request-id": "req-1" };
  if (authorization !== undefined) headers.authorization = authorization;
  return Promise.resolve(app.request(path, { method, headers }));
}

describe("authenticate", () => {
  it("answers 401 problem+json with a Bearer challenge when the header is missing", async () => {
    const res = await call(buildApp(), "GET", "/v1/read");
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="opsguard"');
    expect(res.headers.get("x-request-id")).toBe("req-1");
    expect(await res.json()).toMatchObject({ code: "UNAUTHORIZED", status: 401, requestId: "req-1" });
  });

  it("answers 401 to another scheme, even with a valid token", async () => {
    const res = await call(buildApp(), "GET", "/v1/read", `Basic ${issued.admin}`);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(((await res.json()) as Problem).code).toBe("UNAUTHORIZED");
  });

  it("answers 401 with error=invalid_token to a wrong or malformed token", async () => {
    const app = buildApp();
    const wrong = issued.admin.slice(0, -2) + (issued.admin.endsWith("AA") ? "BB" : "AA");
    for (const value of [`Bearer ${wrong}`, "Bearer og_nope", "Bearer ", "Bearer a b"]) {
      const res = await call(app, "GET", "/v1/read", value);
      expect(res.status, value).toBe(401);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(((await res.json()) as Problem).requestId).toBe("req-1");
    }
    const res = await call(app, "GET", "/v1/read", `Bearer ${wrong}`);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="opsguard", error="invalid_token"');
  });

  it("accepts the scheme in any case (RFC 9110 §11.1) and sets the principal", async () => {
    const res = await call(buildApp(), "GET", "/v1/read", `bearer ${issued.viewer}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: "v", role: "viewer" });
  });

  it("makes every caller an anonymous admin when disabled", async () => {
    const res = await call(buildApp({ enabled: false }), "PUT", "/v1/admin");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: "anonymous", name: "anonymous", role: "admin" });
  });
});

describe("requireRole", () => {
  it.each([
    ["viewer", "GET", "/v1/read", 200],
    ["viewer", "POST", "/v1/write", 403],
    ["viewer", "PUT", "/v1/admin", 403],
    ["operator", "GET", "/v1/read", 200],
    ["operator", "POST", "/v1/write", 200],
    ["operator", "PUT", "/v1/admin", 403],
    ["admin", "PUT", "/v1/admin", 200],
  ] as const)("%s %s %s → %i", async (role, method, path, status) => {
    const res = await call(buildApp(), method, path, `Bearer ${issued[role]}`);
    expect(res.status).toBe(status);
    if (status === 403) {
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(res.headers.get("www-authenticate")).toBeNull();
      expect(await res.json()).toMatchObject({ code: "FORBIDDEN", status: 403, requestId: "req-1" });
    }
  });

  it("fails closed when authenticate is not mounted in front", async () => {
    const res = await call(buildApp(), "GET", "/unguarded");
    expect(res.status).toBe(401);
  });
});

describe("bearerGuard", () => {
  it("lets the right token through and answers 401 otherwise", async () => {
    const app = buildApp();
    expect((await call(app, "GET", "/metrics", "Bearer scrape-me")).status).toBe(200);
    for (const value of [
      undefined,
      "Bearer scrape-m",
      "Bearer scrape-me2",
      "Basic scrape-me",
      issued.admin,
    ]) {
      const res = await call(app, "GET", "/metrics", value);
      expect(res.status, String(value)).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
  });

  it("refuses an empty expected token at construction", () => {
    expect(() => bearerGuard("")).toThrow();
  });
});
