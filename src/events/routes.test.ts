import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ScriptedExecutor, startTestApp, submitBody, type TestApp } from "../../tests/harness.js";
import { SseReader } from "../../tests/sse.js";
import { acceptsGzip } from "./streams.js";

const stream = async (
  t: TestApp,
  query = "",
  headers: Record<string, string> = {},
  role = t.tokens.viewer,
) => {
  const res = await t.app.http.request(`/v1/events${query}`, {
    headers: { authorization: `Bearer ${role}`, ...headers },
  });
  return res;
};

describe("GET /v1/events", () => {
  let t: TestApp;
  let executor: ScriptedExecutor;
  beforeEach(async () => {
    executor = new ScriptedExecutor();
    t = await startTestApp({}, { executor });
  });
  afterEach(() => t.close());

  it("streams an operation's opening and close, with ids that resume after a reconnect", async () => {
    const res = await stream(t, "", { "x-request-id": "req-9" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(res.headers.get("x-request-id")).toBe("req-9");
    const live = new SseReader(res.body!);
    const submitted = (await (await t.call("POST", "/v1/operations", { body: submitBody() })).json()) as {
      id: string;
    };
    const [opened] = await live.take(1);
    expect(opened).toMatchObject({ event: "operation.opened" });
    expect(opened!.data).toMatchObject({
      kind: "operation.opened",
      operationId: submitted.id,
      strategy: "trend-follow",
      instrument: "BTC-USD",
      data: { operation: { id: submitted.id, status: "open", entryPrice: "65000.00" } },
    });
    expect(opened!.id).toBe(String(opened!.data.id));
    await live.cancel();

    executor.setPrice("BTC-USD", 66_000n * 100n);
    await t.call("POST", `/v1/operations/${submitted.id}/close`);
    const resumed = new SseReader((await stream(t, "", { "last-event-id": opened!.id! })).body!);
    const [closed] = await resumed.take(1);
    expect(closed).toMatchObject({ event: "operation.closed" });
    expect(closed!.data).toMatchObject({
      data: { result: "win", operation: { status: "closed", closeReason: "manual", pnl: "100.00" } },
    });
    expect(Number(closed!.id)).toBeGreaterThan(Number(opened!.id));
    await resumed.cancel();
  });

  it("filters by kind and strategy, and keeps account-wide events for every strategy", async () => {
    const reader = new SseReader(
      (await stream(t, "?kinds=operation.opened,trading.state_changed&strategy=mean-revert")).body!,
    );
    await t.call("POST", "/v1/operations", { body: submitBody() });
    await t.call("POST", "/v1/operations", { body: submitBody({ strategy: "mean-revert" }) });
    await t.call("PUT", "/v1/risk/state", { body: { state: "halted", reason: "test" } });
    const events = await reader.take(2);
    expect(events.map((e) => [e.event, e.data.strategy])).toEqual([
      ["operation.opened", "mean-revert"],
      ["trading.state_changed", null],
    ]);
    expect(events[1]!.data.data).toMatchObject({
      from: "active",
      to: "halted",
      reason: "test",
      trigger: "manual",
    });
    await reader.cancel();
  });

  it("tells when a limit's utilization crosses a threshold, in the commit of the submit that crossed it", async () => {
    await t.close();
    t = await startTestApp(
      { risk: { maxExposure: { total: "10000", perInstrument: "10000" }, maxSlippageBps: 0 } },
      { executor },
    );
    const reader = new SseReader((await stream(t, "?kinds=risk.limit_threshold")).body!);
    // 0.13 × 65,000 = 8,450: 84.5% of both exposure limits.
    await t.call("POST", "/v1/operations", { body: submitBody({ size: "0.13" }) });
    const crossings = await reader.take(2);
    expect(crossings.map((e) => e.data.data)).toEqual([
      { limit: "exposure_total", threshold: 0.8, utilization: 0.845, direction: "up" },
      { limit: "exposure_instrument", threshold: 0.8, utilization: 0.845, direction: "up" },
    ]);
    await reader.cancel();
  });

  it("refuses a bad filter or event id with a 400 naming the field", async () => {
    const cases: [string, Record<string, string>, string][] = [
      ["?kinds=operation.opened,nope", {}, "query.kinds"],
      ["?strategy=unknown", {}, "query.strategy"],
      ["?instrument=DOGE", {}, "query.instrument"],
      ["?lastEventId=1e3", {}, "query.lastEventId"],
      ["", { "last-event-id": "-1" }, "header.last-event-id"],
      ["", { "last-event-id": "999999" }, "header.last-event-id"],
      ["?lastEventId=999999", {}, "query.lastEventId"],
    ];
    for (const [query, headers, path] of cases) {
      const res = await stream(t, query, headers);
      expect(res.status, query).toBe(400);
      const problem = (await res.json()) as { errors: { path: string }[] };
      expect(problem.errors.map((e) => e.path)).toContain(path);
    }
  });

  it("asks for a token, and a viewer's is enough", async () => {
    expect((await t.app.http.request("/v1/events")).status).toBe(401);
    const res = await stream(t, "", {}, "og_not-a-token");
    expect(res.status).toBe(401);
    const ok = await stream(t, "", {}, t.tokens.viewer);
    expect(ok.status).toBe(200);
    await ok.body!.cancel();
  });

  it("sends a gzip stream to a client that accepts gzip, and a plain one otherwise", async () => {
    const res = await stream(t, "", { "accept-encoding": "gzip, deflate, br" });
    expect(res.headers.get("content-encoding")).toBe("gzip");
    expect(res.headers.get("vary")).toBe("accept-encoding");
    const live = new SseReader(res.body!.pipeThrough(new DecompressionStream("gzip")));
    const submitted = (await (await t.call("POST", "/v1/operations", { body: submitBody() })).json()) as {
      id: string;
    };
    const [opened] = await live.take(1);
    expect(opened!.data).toMatchObject({ kind: "operation.opened", operationId: submitted.id });
    await live.cancel();

    for (const refused of ["gzip;q=0", "deflate", "*"]) {
      const plain = await stream(t, "", { "accept-encoding": refused });
      expect(plain.headers.get("content-encoding"), refused).toBeNull();
      await plain.body!.cancel();
    }
  });
});

describe("GET /v1/events with events.gzip off", () => {
  it("sends a plain stream even to a client that accepts gzip", async () => {
    const t = await startTestApp({ events: { gzip: false } });
    try {
      const res = await stream(t, "", { "accept-encoding": "gzip" });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-encoding")).toBeNull();
      await res.body!.cancel();
    } finally {
      await t.close();
    }
  });
});

describe("acceptsGzip", () => {
  it("reads Accept-Encoding: gzip named with a q above 0", () => {
    expect(acceptsGzip("gzip, deflate, br")).toBe(true);
    expect(acceptsGzip("br;q=1.0, GZIP;q=0.5")).toBe(true);
    expect(acceptsGzip("gzip;q=0")).toBe(false);
    expect(acceptsGzip("gzip; q=0.000")).toBe(false);
    expect(acceptsGzip("deflate, *")).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
  });
});
