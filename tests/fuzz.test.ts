import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CODES } from "../src/platform/errors.js";
import { answerText, startTestApp, submitBody, type TestApp } from "./harness.js";

/**
 * Requests per run: enough to reach every route with every kind of bad input many times, few enough
 * to finish in a few seconds. `FUZZ_SEED=<seed>` replays a run that fast-check reported.
 */
const RUNS = 2500;
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
/** `server.maxBodyBytes`, at its default. */
const MAX_BODY_BYTES = 65_536;

/** A request as sent, printed whole (long bodies cut) when an invariant breaks. */
interface FuzzRequest {
  route: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/**
 * Product bugs the fuzz found, excluded one shape at a time so that everything else stays checked.
 * Each entry names what the request looks like and what goes wrong; remove it once fixed.
 */
const KNOWN_BUGS: { id: string; matches(request: FuzzRequest, status: number): boolean }[] = [];

/** A body that is valid for each route that takes one; the fuzz mutates it. */
const VALID_BODIES: Readonly<Record<string, () => Record<string, unknown>>> = {
  "POST /v1/operations": () => submitBody({ instrument: "SOL-USD", size: "1" }),
  "POST /v1/operations/{id}/close": () => ({ reason: "manual" }),
  "PUT /v1/risk/state": () => ({ state: "active", reason: "fuzz" }),
};

/** Optional fields of the bodies, and keys that trip careless parsers. */
const FIELDS = [
  "stopLoss",
  "takeProfit",
  "maxDurationSec",
  "pattern",
  "confidence",
  "flatten",
  "__proto__",
  "",
];

const NUMBER_TEXTS = [
  ...["0", "-0", "1", "-1", "0.5", "1e308", "1e309", "-1e309", "1e-400", "1E2", "2.5e-3", "1e+21"],
  ...["9007199254740993", "0.1000000000000000000001", "123456789012345678901234567890", "-0.0"],
  // Not JSON, on purpose: what a careless client writes for special values.
  ...["NaN", "Infinity", "-Infinity", "0x10", "01", "+1", ".5", "1.", "1e", "--1"],
];
const numberText = fc.oneof(
  fc.constantFrom(...NUMBER_TEXTS),
  fc.double().map(String),
  fc.bigInt().map(String),
  fc.integer({ min: 20, max: 400 }).map((n) => "9".repeat(n)),
  fc.integer({ min: 1, max: 400 }).map((n) => `0.${"1".repeat(n)}`),
);
const WORDS = [
  "",
  " ",
  "auto",
  "buy",
  "sell",
  "halted",
  "reducing",
  "active",
  "manual",
  "BTC-USD",
  "trend-follow",
];
const weirdString = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(...WORDS, "\u0000", "\u202e", "𝟘𝟙", "null", "__proto__", "0.00000001", "-5"),
  numberText,
  fc.integer({ min: 60, max: 3000 }).map((n) => "é".repeat(n)),
);
const BODY_KEYS = ["clientId", "strategy", "instrument", "side", "size", "reason", "state", ...FIELDS];
const keyText = fc.oneof(fc.constantFrom(...BODY_KEYS), fc.string()).map((k) => JSON.stringify(k));

/** JSON text, built as text so that numbers keep whatever digits were generated. */
const { value: jsonText } = fc.letrec<{ value: string; array: string; object: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    numberText,
    weirdString.map((s) => JSON.stringify(s)),
    fc.constantFrom("true", "false", "null"),
    tie("array"),
    tie("object"),
  ),
  array: fc.array(tie("value"), { maxLength: 4 }).map((items) => `[${items.join(",")}]`),
  object: fc
    .array(fc.tuple(keyText, tie("value")), { maxLength: 5 })
    .map((members) => `{${members.map(([k, v]) => `${k}:${v}`).join(",")}}`),
}));

/**
 * Values a client could mean: valid, or wrong only in meaning (too large, unknown), so that risk
 * checks and state changes run. No "breakout": the final submit uses that strategy's fresh limits.
 */
const PLAUSIBLE = [
  ...['"0.5"', '"1000"', '"auto"', "0.25", "600", '"ETH-USD"', '"DOGE-USD"', '"sell"', '"149"', '"151"'],
  ...['"140.123456"', '"mean-revert"', '"halted"', '"reducing"', "true", "3600", "0.7", '"double-bottom"'],
  ...['"0"', '"0.001"', '"manual"'],
];
const replacement = fc.oneof({ arbitrary: fc.constantFrom(...PLAUSIBLE), weight: 2 }, jsonText);

/**
 * A valid body with fields replaced by plausible values (so that risk checks and state changes
 * run), or by any JSON, with unknown keys added or a key given twice.
 */
function mutatedBody(route: string): fc.Arbitrary<string> {
  const make = VALID_BODIES[route] ?? (() => ({}));
  const keys = [...Object.keys(make()), ...FIELDS];
  const plausible = fc.record({
    replace: fc.array(fc.tuple(fc.constantFrom(...keys), fc.constantFrom(...PLAUSIBLE)), { maxLength: 2 }),
    extra: fc.constant([]),
    duplicate: fc.constant(false),
  });
  const wild = fc.record({
    replace: fc.array(fc.tuple(fc.constantFrom(...keys), replacement), { maxLength: 3 }),
    extra: fc.array(fc.tuple(keyText, jsonText), { maxLength: 2 }),
    duplicate: fc.boolean(),
  });
  return fc.oneof(plausible, wild).map(({ replace, extra, duplicate }) => {
    const members = new Map(Object.entries(make()).map(([k, v]) => [JSON.stringify(k), JSON.stringify(v)]));
    for (const [key, value] of replace) members.set(JSON.stringify(key), value);
    const text = [...members].map(([k, v]) => `${k}:${v}`);
    for (const [key, value] of extra) text.push(`${key}:${value}`);
    if (duplicate && text.length > 0) text.push(text[0]!);
    return `{${text.join(",")}}`;
  });
}

const MALFORMED = [
  ...["", " ", "{", "}", "[", '{"a":}', '{"a":1,}', "[1,]", "{'a':1}", "{a:1}", "null", "true", "0"],
  ...['"text"', "[]", "{}", "\uFEFF{}", '{"size":"1"}{}', '{"a":"\u0001"}', "/* c */ {}", '{"a":1}//'],
];

/** Text that is not JSON, or JSON of the wrong shape, or very deep, or near and over the body limit. */
function bodyText(route: string): fc.Arbitrary<string> {
  const valid = mutatedBody(route);
  return fc.oneof(
    { arbitrary: valid, weight: 8 },
    { arbitrary: jsonText, weight: 3 },
    { arbitrary: fc.constantFrom(...MALFORMED), weight: 2 },
    { arbitrary: valid.chain((t) => fc.nat(t.length).map((n) => t.slice(0, n))), weight: 1 },
    { arbitrary: fc.string({ unit: "binary" }), weight: 1 },
    {
      arbitrary: fc
        .tuple(fc.integer({ min: 30, max: 3000 }), fc.boolean())
        .map(([depth, array]) =>
          array ? "[".repeat(depth) + "]".repeat(depth) : '{"a":'.repeat(depth) + "1" + "}".repeat(depth),
        ),
      weight: 1,
    },
    {
      // Sizes from 4 kB under the limit to 2 kB over it, counted in bytes as the limit is ("é" is two).
      arbitrary: fc
        .tuple(
          fc.integer({ min: MAX_BODY_BYTES - 4_000, max: MAX_BODY_BYTES + 2_000 }),
          fc.constantFrom("clientId", "size", "reason"),
          fc.constantFrom("x", "é", "9"),
        )
        .map(([bytes, field, unit]) => {
          const length = Math.floor((bytes - field.length - 8) / Buffer.byteLength(unit));
          const value = unit === "9" ? "9".repeat(length) : JSON.stringify(unit.repeat(length));
          return `{"${field}":${value}}`;
        }),
      weight: 1,
    },
  );
}

const CONTENT_TYPES = [
  ...[
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/problem+json",
    "application/vnd.x+json",
  ],
  ...[
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/jsonx",
  ],
  ...["json", "", "application/json;", "application/json, text/plain", "text/json", "*/*"],
];
const contentType = fc.oneof(
  { arbitrary: fc.constant("application/json"), weight: 12 },
  { arbitrary: fc.constantFrom(...CONTENT_TYPES), weight: 3 },
  { arbitrary: fc.stringMatching(/^[\x20-\x7e]{0,40}$/), weight: 1 },
);

const QUERY_VALUES = [
  ...["", "0", "1", "-1", "500", "501", "50", "1e2", "0x10", "+5", "%205", "5%20", "05", "1.5", "NaN"],
  ...["99999999999999999999", "open", "closed", "pending", "failed", "OPEN", "trend-follow", "BTC-USD"],
  ...["%", "%zz", "%00", "%2F", "%E0%A4%A", "a&b", "x".repeat(64), "x".repeat(65), "x".repeat(5000)],
];
const queryKey = fc.oneof(
  { arbitrary: fc.constantFrom("limit", "cursor", "status", "strategy", "instrument"), weight: 6 },
  { arbitrary: fc.string({ unit: "grapheme" }).map(encodeURIComponent), weight: 1 },
);

function queryString(operationId: string): fc.Arbitrary<string> {
  const value = fc.oneof(
    fc.constantFrom(...QUERY_VALUES, operationId),
    fc.string({ unit: "grapheme" }).map(encodeURIComponent),
    fc.string({ unit: "grapheme-ascii" }),
  );
  return fc
    .array(fc.tuple(queryKey, fc.option(value, { freq: 6 })), { minLength: 1, maxLength: 5 })
    .map((pairs) => "?" + pairs.map(([k, v]) => (v === null ? k : `${k}=${v}`)).join("&"));
}

const PATH_IDS = [
  ...["%2F", "a%2Fb", "..", ".", "%2e", "%2e%2e", "%2E%2E%2Fclose", "a/b", "%00", "%", "%zz", "%C0%AF"],
  ...["%FF", "%20", "0", "-1", "null", "__proto__", "x".repeat(64), "x".repeat(65), "x".repeat(3000)],
];
function pathId(operationId: string): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.constant(operationId), weight: 3 },
    { arbitrary: fc.constantFrom(...PATH_IDS), weight: 3 },
    { arbitrary: fc.stringMatching(/^[0-9A-Z]{26}$/), weight: 1 },
    { arbitrary: fc.string({ unit: "grapheme" }).map(encodeURIComponent), weight: 1 },
    { arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1 }), weight: 1 },
  );
}

// CONNECT, TRACE and TRACK are refused by the Request constructor itself, not by the app; a
// lower-case "get" is normalised by it, a lower-case "patch" is not (undici warns about it).
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "FOO", "get", "M-SEARCH"];

function authorization(tokens: TestApp["tokens"]): fc.Arbitrary<string | undefined> {
  const id = tokens.admin.slice(0, 16);
  return fc.oneof(
    { arbitrary: fc.constant(`Bearer ${tokens.admin}`), weight: 17 },
    { arbitrary: fc.constant(undefined), weight: 2 },
    {
      arbitrary: fc.constantFrom("Bearer", "Basic x", "Bearer og_bad", `Bearer ${id}${"A".repeat(43)}`),
      weight: 1,
    },
  );
}

/** Every route Hono serves, as "METHOD /path/{param}", middleware left out. */
/**
 * Routes left out of the general fuzz. POST /v1/security-checks runs every security check per
 * allowed request (worker threads reading the database and files, seconds apiece) and takes no
 * body, path or query to fuzz; its refusals are tested in tests/security-checks.test.ts and the
 * authorization matrix. The performance and log reports read the database or the log files in a
 * worker thread per request: their queries are fuzzed on their own below, with fewer runs.
 */
const NOT_FUZZED = new Set([
  "POST /v1/security-checks",
  "GET /v1/reports/performance",
  "GET /v1/reports/logs",
]);

const REPORT_RUNS = 120;
const REPORT_QUERY_VALUES = [
  ...["day", "week", "month", "all", "year", "DAY", "json", "markdown", "html", "table", "xml", ""],
  ...["2026-01-01", "2026-02-30", "2026-13-01", "2026-1-1", "2026-01-01T00:00:00Z", "99999-01-01"],
  ...["0", "-1", "1e2", "%00", "%zz", "x".repeat(5000)],
];

function reportQuery(): fc.Arbitrary<string> {
  const key = fc.oneof(
    { arbitrary: fc.constantFrom("timeframe", "from", "to", "format"), weight: 6 },
    { arbitrary: fc.string({ unit: "grapheme" }).map(encodeURIComponent), weight: 1 },
  );
  const value = fc.oneof(
    { arbitrary: fc.constantFrom(...REPORT_QUERY_VALUES), weight: 4 },
    { arbitrary: fc.string({ unit: "grapheme" }).map(encodeURIComponent), weight: 1 },
  );
  return fc
    .array(fc.tuple(key, fc.option(value, { freq: 6 })), { minLength: 0, maxLength: 4 })
    .map(
      (pairs) => (pairs.length ? "?" : "") + pairs.map(([k, v]) => (v === null ? k : `${k}=${v}`)).join("&"),
    );
}

function servedRoutes(t: TestApp): string[] {
  const routes = t.app.http.routes.filter((r) => r.method !== "ALL" && !r.path.includes("*"));
  const keys = routes.map((r) => `${r.method} ${r.path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}")}`);
  return [...new Set(keys)].filter((key) => !NOT_FUZZED.has(key));
}

function fuzzRequest(t: TestApp, routes: string[], operationId: string): fc.Arbitrary<FuzzRequest> {
  // Built once and shared: building arbitraries per generated value (fc.chain) costs more than the requests.
  const shared = {
    method: fc.oneof({ arbitrary: fc.constant(null), weight: 5 }, fc.constantFrom(...METHODS)),
    id: pathId(operationId),
    query: queryString(operationId),
    auth: authorization(t.tokens),
    type: fc.option(contentType, { freq: 8 }),
  };
  const perRoute = routes.map((route) => {
    const [routeMethod, template] = route.split(" ") as [string, string];
    return fc
      .record({
        ...shared,
        // fc.option gives null once in `freq` times.
        query: fc.option(shared.query, { freq: template === "/v1/operations" ? 5 : 2 }),
        body: fc.option(bodyText(route), { freq: routeMethod === "GET" ? 2 : 10 }),
      })
      .map(({ method, id, query, auth, type, body }): FuzzRequest => {
        const headers: Record<string, string> = {};
        if (auth !== undefined) headers.authorization = auth;
        const verb = method ?? routeMethod;
        // A GET or HEAD with a body is refused by the Request constructor, before the app.
        const withBody = body !== null && !["GET", "HEAD"].includes(verb.toUpperCase());
        if (withBody && type !== null) headers["content-type"] = type;
        const url = template.replace(/\{[^}]+\}/g, id) + (query ?? "");
        return { route, method: verb, url, headers, ...(withBody ? { body } : {}) };
      });
  });
  return fc.oneof(...perRoute);
}

function countRows(t: TestApp, table: "operations" | "audit_log"): number {
  // The database answers integers as bigint; COUNT(*) fits a number.
  return Number(t.app.db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get());
}

function describeRequest(request: FuzzRequest, status: number, answer: string): string {
  const cut = (text: string) => (text.length > 400 ? `${text.slice(0, 400)}… (${text.length} chars)` : text);
  const body = request.body === undefined ? "" : `\nbody: ${cut(JSON.stringify(request.body))}`;
  return `${request.method} ${cut(request.url)}\nheaders: ${JSON.stringify(request.headers)}${body}\n→ ${status} ${cut(answer)}`;
}

describe("fuzzing every route", () => {
  let t: TestApp;
  let operationId: string;
  beforeAll(async () => {
    // Wide exposure limits: valid submits found by the fuzz must not crowd out the final one.
    t = await startTestApp({ risk: { maxExposure: { total: "1000000000", perInstrument: "1000000000" } } });
    const res = await t.call("POST", "/v1/operations", {
      role: "operator",
      body: VALID_BODIES["POST /v1/operations"]!(),
    });
    expect(res.status).toBe(201);
    operationId = ((await res.json()) as { id: string }).id;
  });
  afterAll(() => t.close());

  it("never answers 5xx, answers every 4xx with a known problem, and writes nothing when refusing", async () => {
    const routes = servedRoutes(t);
    const hits = new Map<string, number>();
    let known = 0;
    await fc.assert(
      fc.asyncProperty(fuzzRequest(t, routes, operationId), async (request) => {
        hits.set(request.route, (hits.get(request.route) ?? 0) + 1);
        const operations = countRows(t, "operations");
        const audit = countRows(t, "audit_log");
        const res = await t.app.http.request(request.url, {
          method: request.method,
          headers: request.headers,
          body: request.body,
        });
        const answer = await answerText(res);
        const shown = describeRequest(request, res.status, answer);
        if (KNOWN_BUGS.some((bug) => bug.matches(request, res.status))) {
          known++;
          return;
        }
        expect(res.status, shown).toBeLessThan(500);
        const grown = countRows(t, "operations") - operations;
        if (res.status < 400) {
          // Only a submit that opened something adds a row, and exactly one.
          const opened = request.route === "POST /v1/operations" && res.status === 201;
          expect(grown, `rows added: ${shown}`).toBe(opened ? 1 : 0);
          return;
        }
        expect(grown, `a refused request added operations: ${shown}`).toBe(0);
        expect(countRows(t, "audit_log") - audit, `a refused request audited: ${shown}`).toBe(0);
        expect(res.headers.get("content-type"), shown).toBe("application/problem+json");
        if (request.method.toUpperCase() === "HEAD") return;
        const problem = JSON.parse(answer) as { code: string; status: number; requestId: unknown };
        expect(Object.keys(ERROR_CODES), shown).toContain(problem.code);
        expect(ERROR_CODES[problem.code as keyof typeof ERROR_CODES], shown).toBe(res.status);
        expect(problem.status, shown).toBe(res.status);
        expect(problem.requestId, shown).toEqual(expect.stringMatching(/./));
      }),
      { numRuns: RUNS, seed: SEED },
    );
    console.log(`fuzz: ${RUNS} requests over ${routes.length} routes, ${known} matched KNOWN_BUGS`, hits);
    for (const route of routes) expect(hits.get(route) ?? 0, route).toBeGreaterThan(RUNS / routes.length / 4);
  }, 60_000);

  it("answers every query of the performance and log reports with a 200 or a known 4xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/v1/reports/performance", "/v1/reports/logs"),
        reportQuery(),
        async (path, query) => {
          const res = await t.call("GET", path + query);
          const answer = await res.text();
          const shown = `GET ${path}${query.slice(0, 200)} -> ${res.status} ${answer.slice(0, 300)}`;
          expect(res.status, shown).toBeLessThan(500);
          if (res.status === 200) return;
          expect(res.headers.get("content-type"), shown).toBe("application/problem+json");
          const problem = JSON.parse(answer) as { code: string; status: number };
          expect(ERROR_CODES[problem.code as keyof typeof ERROR_CODES], shown).toBe(res.status);
        },
      ),
      { numRuns: REPORT_RUNS, seed: SEED },
    );
  }, 60_000);

  it("still answers /healthz and a valid submit afterwards", async () => {
    expect((await t.app.http.request("/healthz")).status).toBe(200);
    // The fuzz may have halted trading with a valid PUT: resuming is an admin's ordinary step.
    const resumed = await t.call("PUT", "/v1/risk/state", { body: { state: "active", reason: "fuzz done" } });
    expect(resumed.status).toBe(200);
    const res = await t.call("POST", "/v1/operations", {
      role: "operator",
      body: submitBody({ strategy: "breakout", instrument: "ETH-USD", size: "0.01" }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
  });
});
