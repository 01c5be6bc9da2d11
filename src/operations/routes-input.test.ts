import { afterEach, describe, expect, it } from "vitest";
import { startTestApp, submitBody, type TestApp } from "../../tests/harness.js";

/** Every input is exact or refused: a 4xx naming the field, never a 500, never a rounding. */
describe("submit input, exactly", () => {
  let t: TestApp;
  afterEach(() => t.close());

  const operations = () => ({
    n: Number((t.app.db.prepare("SELECT COUNT(*) AS n FROM operations").get() as { n: bigint }).n),
  });
  /** The body of a valid submit with `extra` appended as raw JSON text. */
  const rawSubmit = (extra: string) => `${JSON.stringify(submitBody()).slice(0, -1)},${extra}}`;

  it.each([
    ['"size":0.10000000000000000001', "body.size"],
    ['"stopLoss":60000.000000000001', "body.stopLoss"],
    ['"takeProfit":9007199254740993', "body.takeProfit"],
    ['"maxDurationSec":3600.0000000000001', "body.maxDurationSec"],
  ])("refuses %s, which JSON.parse would round, and writes nothing", async (member, path) => {
    t = await startTestApp();
    const text = rawSubmit(member).replace('"size":"0.1",', "");
    const res = await t.call("POST", "/v1/operations", { rawBody: text });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { code: string; errors: { code: string; path: string }[] };
    expect(problem.code).toBe("VALIDATION_FAILED");
    expect(problem.errors).toContainEqual(expect.objectContaining({ code: "INEXACT_NUMBER", path }));
    expect(operations().n).toBe(0);
  });

  it.each([
    ["92233720368547758.08", "a value whose units do not fit in 64 bits"],
    ["1234567890123456789012345678901234567890", "a 40-digit number"],
    [1e308, "the JSON number 1e308"],
  ])(
    "answers a takeProfit of %s (%s) with a 400 naming the field and its range",
    async (takeProfit, _what) => {
      t = await startTestApp();
      const res = await t.call("POST", "/v1/operations", { body: submitBody({ takeProfit }) });
      expect(res.status).toBe(400);
      const problem = (await res.json()) as { errors: { code: string; path: string; message: string }[] };
      expect(problem.errors).toEqual([
        { code: "OUT_OF_RANGE", path: "body.takeProfit", message: "must be at most 92233720368547758.07" },
      ]);
      expect(operations().n).toBe(0);
    },
  );

  it("refuses a key given twice instead of letting the last one win", async () => {
    t = await startTestApp();
    const res = await t.call("POST", "/v1/operations", { rawBody: rawSubmit('"size":"0.01"') });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ errors: [{ code: "DUPLICATE_KEY", path: "body.size" }] });
    expect(operations().n).toBe(0);
  });

  it("replays a retry that writes the same amounts differently", async () => {
    t = await startTestApp();
    const body = submitBody({ size: "0.1", stopLoss: "64000" });
    const first = await t.call("POST", "/v1/operations", { body });
    expect(first.status).toBe(201);
    for (const same of [
      { ...body, size: "0.10", stopLoss: "64000.00" },
      { ...body, size: 0.1, stopLoss: 64000 },
    ]) {
      const again = await t.call("POST", "/v1/operations", { body: same });
      expect(again.status).toBe(200);
    }
    const other = await t.call("POST", "/v1/operations", { body: { ...body, size: "0.2" } });
    expect(other.status).toBe(409);
    expect(operations().n).toBe(1);
  });

  it("refuses a body larger than server.maxBodyBytes with 413, before reading it", async () => {
    t = await startTestApp({ server: { maxBodyBytes: 4096 } });
    const big = JSON.stringify({ ...submitBody(), pattern: "x".repeat(5000) });
    const res = await t.call("POST", "/v1/operations", { rawBody: big });
    expect(res.status).toBe(413);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });

    // Streamed without a content-length: counted as it arrives.
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode("x".repeat(1000)));
        controller.close();
      },
    });
    const streamed = await t.app.http.request("/v1/operations", {
      method: "POST",
      headers: { authorization: `Bearer ${t.tokens.operator}`, "content-type": "application/json" },
      body: chunks,
      duplex: "half",
    });
    expect(streamed.status).toBe(413);
  });

  it("authenticates before anything reads the body", async () => {
    t = await startTestApp({ server: { maxBodyBytes: 4096 } });
    const res = await t.call("POST", "/v1/operations", { role: null, rawBody: "x".repeat(100_000) });
    expect(res.status).toBe(401);
  });

  it("answers a body that is not JSON with 415, in problem+json", async () => {
    t = await startTestApp();
    const res = await t.app.http.request("/v1/operations", {
      method: "POST",
      headers: { authorization: `Bearer ${t.tokens.operator}`, "content-type": "text/plain" },
      body: JSON.stringify(submitBody()),
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({
      code: "UNSUPPORTED_MEDIA_TYPE",
      detail: "The request body must be JSON, sent with content-type: application/json.",
    });
  });

  it("closes with a JSON content type and an empty body: the body is optional", async () => {
    t = await startTestApp();
    const { id } = (await (await t.call("POST", "/v1/operations", { body: submitBody() })).json()) as {
      id: string;
    };
    const res = await t.app.http.request(`/v1/operations/${id}/close`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.tokens.operator}`, "content-type": "application/json" },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "closed" });
  });

  it.each(["0x10", "1e2", " 5", "0b11", "5.0", "+5", "05", "", "501", "0"])(
    "answers limit=%j with a 400 naming the parameter and its range",
    async (limit) => {
      t = await startTestApp();
      const res = await t.call("GET", `/v1/operations?limit=${encodeURIComponent(limit)}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        errors: [{ path: "query.limit", message: "a whole number from 1 to 500, in plain decimal digits" }],
      });
    },
  );

  it("spends a rate token only on an accepted operation: rejected submits do not lock a strategy out", async () => {
    t = await startTestApp({ risk: { maxSubmitRate: { perSecond: 0.001, burst: 2 } } });
    // A stop-loss above the price of a buy: rejected as INVALID_EXIT_LEVELS, three times.
    for (let i = 0; i < 3; i++) {
      const rejected = await t.call("POST", "/v1/operations", { body: submitBody({ stopLoss: "70000" }) });
      expect(rejected.status).toBe(422);
      expect(await rejected.json()).toMatchObject({ errors: [{ code: "INVALID_EXIT_LEVELS" }] });
    }
    expect((await t.call("POST", "/v1/operations", { body: submitBody() })).status).toBe(201);
    expect((await t.call("POST", "/v1/operations", { body: submitBody() })).status).toBe(201);
    const third = await t.call("POST", "/v1/operations", { body: submitBody() });
    expect(third.status).toBe(422);
    expect(await third.json()).toMatchObject({ errors: [{ code: "RATE_LIMITED" }] });
  });

  it("takes a plain limit", async () => {
    t = await startTestApp();
    expect((await t.call("GET", "/v1/operations?limit=500")).status).toBe(200);
  });
});
