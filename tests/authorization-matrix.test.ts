import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLES, type Role } from "../src/http/tokens.js";
import { answerText, startTestApp, submitBody, type TestApp } from "./harness.js";

/**
 * The least role each protected route needs (DESIGN.md §3), keyed like the OpenAPI document:
 * "METHOD /path/{param}". The document carries each route's `security` but not its role, which
 * lives only in the route's `requireRole(...)` middleware (a closure, not readable), so the role is
 * kept here. The tests below fail when a served route is missing from this table, or when the
 * table names a route that is no longer served: a new route cannot skip the matrix.
 */
const MINIMUM_ROLE: Readonly<Record<string, Role>> = {
  "POST /v1/operations": "operator",
  "POST /v1/operations/{id}/close": "operator",
  "GET /v1/operations": "viewer",
  "GET /v1/operations/{id}": "viewer",
  "GET /v1/risk": "viewer",
  "GET /v1/events": "viewer",
  "PUT /v1/risk/state": "admin",
  "POST /v1/backups": "admin",
  "GET /v1/backups": "admin",
  "GET /v1/backups/runs/{id}": "admin",
  "POST /v1/backups/restore-drill": "admin",
  "GET /v1/audit": "admin",
  "POST /v1/security-checks": "admin",
  "GET /v1/security-checks/latest": "admin",
  "GET /v1/reports/performance": "viewer",
  "GET /v1/reports/logs": "viewer",
  "GET /v1/reports/system": "viewer",
};

/** Routes served without a token and outside the OpenAPI document (`/metrics` has no bearer file here). */
const UNPROTECTED: ReadonlySet<string> = new Set([
  "GET /healthz",
  "GET /readyz",
  "GET /metrics",
  "GET /openapi.json",
]);

/** A minimal valid body per route whose body is required, so that an allowed request reaches the handler. */
const BODIES: Readonly<Record<string, () => unknown>> = {
  "POST /v1/operations": () => submitBody({ instrument: "SOL-USD", size: "1" }),
  "PUT /v1/risk/state": () => ({ state: "active", reason: "authorization matrix" }),
};

// The operation keys of an OpenAPI 3.1 path item.
const OPENAPI_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

interface OpenApiOperation {
  security?: Record<string, string[]>[];
  requestBody?: { required?: boolean };
  responses?: Record<string, unknown>;
}
interface OpenApiDocument {
  paths: Record<string, Partial<Record<(typeof OPENAPI_METHODS)[number], OpenApiOperation>>>;
}

interface Route {
  /** "METHOD /path/{param}", as in {@link MINIMUM_ROLE}. */
  key: string;
  method: string;
  /** The path with every parameter filled with a real operation id. */
  url: string;
  operation: OpenApiOperation;
}

interface Problem {
  code: string;
  status: number;
  requestId: string;
}

let t: TestApp;
let operationId: string;
let documented: Route[];

beforeAll(async () => {
  t = await startTestApp();
  const created = await t.call("POST", "/v1/operations", {
    role: "operator",
    body: BODIES["POST /v1/operations"]!(),
  });
  expect(created.status).toBe(201);
  operationId = ((await created.json()) as { id: string }).id;
  const res = await t.app.http.request("/openapi.json");
  expect(res.status).toBe(200);
  const doc = (await res.json()) as OpenApiDocument;
  documented = Object.entries(doc.paths).flatMap(([path, item]) =>
    OPENAPI_METHODS.flatMap((method) => {
      const operation = item[method];
      if (!operation) return [];
      const url = path.replace(/\{[^}]+\}/g, encodeURIComponent(operationId));
      return [{ key: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), url, operation }];
    }),
  );
});

afterAll(() => t.close());

/** "METHOD /path/{param}" of a Hono route such as `/v1/operations/:id` or `/x/:id{[0-9]+}`. */
function openApiKey(method: string, honoPath: string): string {
  return `${method} ${honoPath.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}")}`;
}

/** The routes Hono serves, without middleware (`use` handlers are method ALL, often on `*` paths). */
function servedRoutes(): Set<string> {
  const routes = t.app.http.routes.filter((r) => r.method !== "ALL" && !r.path.includes("*"));
  return new Set(routes.map((r) => openApiKey(r.method, r.path)));
}

function countRows(): { operations: number; audit: number } {
  // The database answers integers as bigint; COUNT(*) fits a number.
  const count = (table: string) => Number(t.app.db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get());
  return { operations: count("operations"), audit: count("audit_log") };
}

/** Sends `route` with the given Authorization header (none when undefined) and its minimal body. */
async function send(
  route: Route,
  authorization: string | undefined,
  method = route.method,
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  const makeBody = method === "HEAD" ? undefined : BODIES[route.key];
  if (makeBody) headers["content-type"] = "application/json";
  return t.app.http.request(route.url, {
    method,
    headers,
    body: makeBody ? JSON.stringify(makeBody()) : undefined,
  });
}

/** Sends a request that must be refused with `status`, and checks the problem and that nothing was written. */
async function expectRefused(
  route: Route,
  authorization: string | undefined,
  status: 401 | 403,
  label: string,
  method = route.method,
): Promise<void> {
  const before = countRows();
  const res = await send(route, authorization, method);
  const text = await answerText(res);
  const what = `${method} ${route.url} with ${label}`;
  expect(res.status, `${what}: ${text}`).toBe(status);
  expect(res.headers.get("content-type"), what).toBe("application/problem+json");
  if (status === 401) expect(res.headers.get("www-authenticate"), what).toMatch(/^Bearer( |$)/);
  if (method !== "HEAD") {
    const problem = JSON.parse(text) as Problem;
    expect(problem.code, what).toBe(status === 401 ? "UNAUTHORIZED" : "FORBIDDEN");
    expect(problem.status, what).toBe(status);
    expect(problem.requestId, what).toEqual(expect.any(String));
  }
  expect(countRows(), `${what} wrote rows`).toEqual(before);
}

/**
 * The index in {@link ROLES} of the route's minimum role; undefined for a route missing from the
 * table, which "the route table" tests report (the matrix then skips it rather than guess).
 */
function minimumRole(route: Route): number | undefined {
  const role = MINIMUM_ROLE[route.key];
  return role === undefined ? undefined : ROLES.indexOf(role);
}

/** The route with its first letter percent-encoded (`/%761/risk`): the same route to Hono's router. */
function percentEncoded(route: Route): Route {
  const url = route.url.replace(/^\/([a-z])/i, (_, c: string) => `/%${c.charCodeAt(0).toString(16)}`);
  expect(url, `${route.url} starts with a letter to encode`).not.toBe(route.url);
  return { ...route, url };
}

/** The same token id with another (well-formed) secret. */
function withWrongSecret(token: string): string {
  const match = /^(og_[A-Za-z0-9]{12}_)([A-Za-z0-9_-]{43})$/.exec(token);
  expect(match, "tokens look like og_<id>_<secret>").not.toBeNull();
  const [, prefix, secret] = match as unknown as [string, string, string];
  return prefix + (secret === "A".repeat(43) ? "B" : "A").repeat(43);
}

describe("the route table", () => {
  it("documents every route Hono serves, except the unprotected ones", () => {
    const inDocument = new Set(documented.map((r) => r.key));
    const served = servedRoutes();
    const undocumented = [...served].filter((key) => !inDocument.has(key) && !UNPROTECTED.has(key));
    expect(undocumented, "served but missing from /openapi.json").toEqual([]);
    expect(
      [...inDocument].filter((key) => !served.has(key)),
      "in /openapi.json but not served",
    ).toEqual([]);
    expect(
      [...UNPROTECTED].filter((key) => !served.has(key) || inDocument.has(key)),
      "UNPROTECTED entries that are not served, or that are documented (then give them a role)",
    ).toEqual([]);
  });

  it("gives every documented route bearer security, a minimum role and, when needed, a body", () => {
    expect(documented.length).toBeGreaterThan(0);
    for (const route of documented) {
      expect(route.operation.security, `${route.key} declares no security`).toEqual([{ Bearer: [] }]);
      expect(Object.keys(route.operation.responses ?? {}), `${route.key} documents 401 and 403`).toEqual(
        expect.arrayContaining(["401", "403"]),
      );
      expect(MINIMUM_ROLE[route.key], `${route.key} is missing from MINIMUM_ROLE`).toBeDefined();
      if (route.operation.requestBody?.required) {
        expect(BODIES[route.key], `${route.key} needs a minimal body in BODIES`).toBeDefined();
      }
    }
    const keys = new Set(documented.map((r) => r.key));
    const stale = [...Object.keys(MINIMUM_ROLE), ...Object.keys(BODIES)].filter((key) => !keys.has(key));
    expect(stale, "MINIMUM_ROLE or BODIES name routes that no longer exist").toEqual([]);
  });
});

describe("the authorization matrix", () => {
  it("answers the unprotected routes without a token", async () => {
    for (const key of UNPROTECTED) {
      const [method, path] = key.split(" ") as [string, string];
      const res = await t.app.http.request(path, { method });
      expect(res.status, key).toBe(200);
    }
  });

  it("refuses a missing, malformed or wrong token with 401, a Bearer challenge and nothing written", async () => {
    const credentials: [string, string | undefined][] = [
      ["no Authorization header", undefined],
      ["Bearer alone", "Bearer"],
      ["Basic x", "Basic x"],
      ["Basic and a valid admin token", `Basic ${t.tokens.admin}`],
      ["Bearer og_bad", "Bearer og_bad"],
      ...ROLES.map((role): [string, string] => [
        `a ${role} token id with a wrong secret`,
        `Bearer ${withWrongSecret(t.tokens[role])}`,
      ]),
    ];
    for (const route of documented) {
      for (const [label, authorization] of credentials) await expectRefused(route, authorization, 401, label);
      // HEAD runs the GET route, and the router decodes percent-encoded paths: neither may be a
      // way around authentication.
      if (route.method === "GET") await expectRefused(route, undefined, 401, "no token", "HEAD");
      await expectRefused(percentEncoded(route), undefined, 401, "no token");
    }
  });

  it("refuses a role below the route's minimum with 403 FORBIDDEN and nothing written", async () => {
    let refusals = 0;
    for (const route of documented) {
      const minimum = minimumRole(route);
      if (minimum === undefined) continue;
      for (const role of ROLES.slice(0, minimum)) {
        await expectRefused(route, `Bearer ${t.tokens[role]}`, 403, `a ${role} token`);
        await expectRefused(percentEncoded(route), `Bearer ${t.tokens[role]}`, 403, `a ${role} token`);
        refusals++;
      }
    }
    // Guards against a table where every route is viewer: then this test checks nothing.
    expect(refusals).toBeGreaterThan(0);
  });

  it("lets a role at or above the route's minimum through to the handler", async () => {
    for (const route of documented) {
      const minimum = minimumRole(route);
      if (minimum === undefined) continue;
      const spellings = ROLES.slice(minimum).map((role): [Role, Route] => [role, route]);
      // The percent-encoded spelling refused above must be the same route, or that check proves nothing.
      spellings.push([ROLES[minimum]!, percentEncoded(route)]);
      for (const [role, target] of spellings) {
        const res = await send(target, `Bearer ${t.tokens[role]}`);
        const text = await answerText(res);
        const what = `${target.method} ${target.url} as ${role}: ${res.status} ${text}`;
        // 404/409/422 from the handler still mean it ran; a 400 or 415 would mean the fixture body is
        // wrong, and the router's own 404 ("No route for …") that the path did not reach the route.
        expect([400, 401, 403, 415], what).not.toContain(res.status);
        expect(text, what).not.toContain("No route for");
        expect(res.status, what).toBeLessThan(500);
      }
    }
  });
});
