import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ScriptedExecutor, startTestApp, submitBody, type TestApp } from "../../tests/harness.js";
import { ExecutionError } from "../execution/executor.js";

interface Problem {
  status: number;
  code: string;
  requestId: string;
  errors?: { code: string; path?: string; limit?: string | number; observed?: string | number }[];
}

const countRows = (t: TestApp): number =>
  Number((t.app.db.prepare("SELECT COUNT(*) AS n FROM operations").get() as { n: bigint }).n);

describe("POST /v1/operations", () => {
  let t: TestApp;
  let executor: ScriptedExecutor;
  beforeEach(async () => {
    executor = new ScriptedExecutor();
    t = await startTestApp({}, { executor });
  });
  afterEach(() => t.close());

  it("opens an operation and answers 201 with its entry price and id", async () => {
    const res = await t.call("POST", "/v1/operations", {
      role: "operator",
      body: submitBody({ stopLoss: "64000", takeProfit: 66000 }),
    });
    expect(res.status).toBe(201);
    const op = (await res.json()) as Record<string, unknown>;
    expect(op).toMatchObject({
      status: "open",
      entryPrice: "65000.00",
      size: "0.1000",
      notional: "6500.00",
      stopLoss: "64000.00",
      takeProfit: "66000.00",
    });
    expect(op.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(executor.count("open")).toBe(1);
  });

  it("replays the same clientId and body without executing again", async () => {
    const body = submitBody();
    const first = await t.call("POST", "/v1/operations", { body });
    const second = await t.call("POST", "/v1/operations", { body: { ...body } });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    const [a, b] = (await Promise.all([first.json(), second.json()])) as { id: string }[];
    expect(b!.id).toBe(a!.id);
    expect(executor.count("open")).toBe(1);
    expect(countRows(t)).toBe(1);
  });

  it("replays concurrent duplicates once", async () => {
    let release!: () => void;
    executor.gate = new Promise((resolve) => (release = resolve));
    const body = submitBody();
    const pending = [t.call("POST", "/v1/operations", { body }), t.call("POST", "/v1/operations", { body })];
    await new Promise((resolve) => setTimeout(resolve, 10));
    release();
    const statuses = (await Promise.all(pending)).map((r) => r.status).sort();
    expect(statuses).toEqual([200, 201]);
    expect(executor.count("open")).toBe(1);
  });

  it("answers 409 when a clientId comes back with another body", async () => {
    const body = submitBody();
    await t.call("POST", "/v1/operations", { body });
    const res = await t.call("POST", "/v1/operations", { body: { ...body, size: "0.2" } });
    expect(res.status).toBe(409);
    expect(((await res.json()) as Problem).code).toBe("IDEMPOTENCY_CONFLICT");
    expect(executor.count("open")).toBe(1);
  });

  it("lists every problem of malformed input as 400 and writes nothing", async () => {
    const res = await t.call("POST", "/v1/operations", {
      body: { clientId: "", strategy: "trend-follow", side: "hold", size: -1, extra: true },
    });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    const problem = (await res.json()) as Problem;
    expect(problem.code).toBe("VALIDATION_FAILED");
    const paths = problem.errors!.map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining(["body.clientId", "body.instrument", "body.side", "body.size"]),
    );
    expect(countRows(t)).toBe(0);
    expect(executor.count("open")).toBe(0);
  });

  it("answers 400 to a body that is not JSON", async () => {
    const res = await t.call("POST", "/v1/operations", { rawBody: "{not json" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Problem).code).toBe("VALIDATION_FAILED");
  });

  it("refuses more decimals than the instrument has, rather than rounding", async () => {
    const res = await t.call("POST", "/v1/operations", {
      body: submitBody({ size: "0.00001", stopLoss: "64000.001" }),
    });
    expect(res.status).toBe(400);
    const paths = ((await res.json()) as Problem).errors!.map((e) => e.path);
    expect(paths).toEqual(["body.size", "body.stopLoss"]);
    expect(countRows(t)).toBe(0);
  });

  it("lists every failed risk check as 422 with limit and observed value, and writes nothing", async () => {
    const res = await t.call("POST", "/v1/operations", {
      body: submitBody({ size: "3", pattern: "tea-leaves", stopLoss: "70000" }),
    });
    expect(res.status).toBe(422);
    const problem = (await res.json()) as Problem;
    expect(problem.code).toBe("RISK_REJECTED");
    const codes = problem.errors!.map((e) => e.code);
    expect(codes).toEqual(
      expect.arrayContaining([
        "POSITION_SIZE_EXCEEDED",
        "NOTIONAL_EXCEEDED",
        "UNKNOWN_PATTERN",
        "INVALID_EXIT_LEVELS",
      ]),
    );
    const size = problem.errors!.find((e) => e.code === "POSITION_SIZE_EXCEEDED")!;
    expect(size).toMatchObject({ limit: "2.0000", observed: "3.0000" });
    expect(countRows(t)).toBe(0);
    expect(executor.count("open")).toBe(0);
    const metrics = await t.app.registry.getSingleMetricAsString("opsguard_risk_rejections_total");
    expect(metrics).toContain(
      'opsguard_risk_rejections_total{strategy="trend-follow",reason="POSITION_SIZE_EXCEEDED"} 1',
    );
  });

  it("rejects undeclared instruments and strategies without growing metric labels", async () => {
    const res = await t.call("POST", "/v1/operations", {
      body: submitBody({ instrument: "DOGE-USD", strategy: "yolo" }),
    });
    expect(res.status).toBe(422);
    const codes = ((await res.json()) as Problem).errors!.map((e) => e.code);
    expect(codes).toEqual(expect.arrayContaining(["UNKNOWN_INSTRUMENT", "UNKNOWN_STRATEGY"]));
    const metrics = await t.app.registry.getSingleMetricAsString("opsguard_risk_rejections_total");
    expect(metrics).not.toContain("yolo");
    expect(metrics).toContain('strategy="unknown",reason="UNKNOWN_STRATEGY"');
  });

  it("sizes automatically from equity, risk per operation and stop distance", async () => {
    // The stop distance is taken from the most the buy may pay (the quote + risk.maxSlippageBps,
    // 65000 + 0.5% = 65325): 100000 equity × 1% ÷ (65325 − 63000) = 0.4301 BTC, filled at 65000.
    const res = await t.call("POST", "/v1/operations", {
      body: submitBody({ size: "auto", stopLoss: "63000" }),
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ size: "0.4301", notional: "27956.50", autoSized: true });
  });

  it("caps an automatic size at the notional limit instead of rejecting it", async () => {
    // The risk budget buys 1000 ÷ (65325 − 64100) = 0.8163 BTC, more than maxNotionalPerOperation
    // allows at the most the buy may pay: 50000 ÷ 65325 = 0.7654 BTC.
    const res = await t.call("POST", "/v1/operations", {
      body: submitBody({ size: "auto", stopLoss: "64100" }),
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ size: "0.7654", notional: "49751.00", autoSized: true });
  });

  it("records a failed execution, answers 502 and frees the exposure it reserved", async () => {
    executor.failWith = new ExecutionError("venue rejected the order", "refused");
    const body = submitBody();
    const res = await t.call("POST", "/v1/operations", { body });
    expect(res.status).toBe(502);
    expect(((await res.json()) as Problem).code).toBe("EXECUTION_FAILED");
    const replay = await t.call("POST", "/v1/operations", { body });
    expect(replay.status).toBe(200);
    expect(await replay.json()).toMatchObject({
      status: "failed",
      failureReason: "venue rejected the order",
    });
    expect(t.app.ledger.view().exposureTotal).toBe(0n);
  });

  it("answers 503 when the executor cannot quote", async () => {
    const res = await t.call("POST", "/v1/operations", { body: submitBody({ instrument: "SOL-USD" }) });
    expect(res.status).toBe(201);
    executor.setPrice("ETH-USD", undefined as unknown as bigint);
    const down = await t.call("POST", "/v1/operations", {
      body: submitBody({ instrument: "ETH-USD", size: "1" }),
    });
    expect(down.status).toBe(503);
  });

  describe("authorization", () => {
    it("answers 401 without a token, with a Bearer challenge", async () => {
      const res = await t.call("POST", "/v1/operations", { role: null, body: submitBody() });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect(((await res.json()) as Problem).requestId).toBeTruthy();
    });
    it("answers 401 to an unknown token", async () => {
      const res = await t.call("POST", "/v1/operations", {
        token: "og_aaaaaaaaaaaa_bogus",
        body: submitBody(),
      });
      expect(res.status).toBe(401);
    });
    it("answers 403 to a viewer and writes nothing", async () => {
      const res = await t.call("POST", "/v1/operations", { role: "viewer", body: submitBody() });
      expect(res.status).toBe(403);
      expect(countRows(t)).toBe(0);
    });
  });
});

describe("GET /v1/operations and /v1/operations/:id", () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp({}, { executor: new ScriptedExecutor() });
  });
  afterEach(() => t.close());

  it("pages newest first with a cursor and filters", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await t.call("POST", "/v1/operations", {
        body: submitBody({ instrument: i % 2 ? "ETH-USD" : "BTC-USD", size: "0.5" }),
      });
      ids.push(((await res.json()) as { id: string }).id);
    }
    const page1 = (await (await t.call("GET", "/v1/operations?limit=2", { role: "viewer" })).json()) as {
      items: { id: string }[];
      nextCursor: string;
    };
    expect(page1.items.map((o) => o.id)).toEqual([ids[4], ids[3]]);
    const page2 = (await (
      await t.call("GET", `/v1/operations?limit=2&cursor=${page1.nextCursor}`, { role: "viewer" })
    ).json()) as {
      items: { id: string }[];
    };
    expect(page2.items.map((o) => o.id)).toEqual([ids[2], ids[1]]);
    const eth = (await (
      await t.call("GET", "/v1/operations?instrument=ETH-USD", { role: "viewer" })
    ).json()) as {
      items: { instrument: string }[];
      nextCursor: string | null;
    };
    expect(eth.items).toHaveLength(2);
    expect(eth.nextCursor).toBeNull();
  });

  it("returns one operation, 404 for an unknown id, 400 for a bad filter", async () => {
    const created = (await (await t.call("POST", "/v1/operations", { body: submitBody() })).json()) as {
      id: string;
    };
    const res = await t.call("GET", `/v1/operations/${created.id}`, { role: "viewer" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { id: string }).id).toBe(created.id);
    expect((await t.call("GET", "/v1/operations/NOPE", { role: "viewer" })).status).toBe(404);
    expect((await t.call("GET", "/v1/operations?status=sideways", { role: "viewer" })).status).toBe(400);
    expect((await t.call("GET", "/v1/operations?limit=0", { role: "viewer" })).status).toBe(400);
  });

  it("needs a token", async () => {
    expect((await t.call("GET", "/v1/operations", { role: null })).status).toBe(401);
  });
});

describe("POST /v1/operations/:id/close", () => {
  let t: TestApp;
  let executor: ScriptedExecutor;
  beforeEach(async () => {
    executor = new ScriptedExecutor();
    t = await startTestApp({}, { executor });
  });
  afterEach(() => t.close());

  it("closes at the executor and books the P&L exactly", async () => {
    const op = (await (
      await t.call("POST", "/v1/operations", { body: submitBody({ size: "0.3" }) })
    ).json()) as { id: string };
    executor.setPrice("BTC-USD", 6_510_033n); // +100.33 per BTC
    const res = await t.call("POST", `/v1/operations/${op.id}/close`, { role: "operator" });
    expect(res.status).toBe(200);
    // 0.3 × 100.33 = 30.099 → 30.10 (half-even at cents)
    expect(await res.json()).toMatchObject({
      status: "closed",
      exitPrice: "65100.33",
      pnl: "30.10",
      closeReason: "manual",
    });
    const risk = (await (await t.call("GET", "/v1/risk", { role: "viewer" })).json()) as {
      equity: string;
      realizedPnl: string;
    };
    expect(risk).toMatchObject({ equity: "100030.10", realizedPnl: "30.10" });
  });

  it("is idempotent: closing twice closes once", async () => {
    const op = (await (await t.call("POST", "/v1/operations", { body: submitBody() })).json()) as {
      id: string;
    };
    const [a, b] = await Promise.all([
      t.call("POST", `/v1/operations/${op.id}/close`),
      t.call("POST", `/v1/operations/${op.id}/close`),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect((await t.call("POST", `/v1/operations/${op.id}/close`)).status).toBe(200);
    expect(executor.count("close", op.id)).toBe(1);
  });

  it("answers 404 for an unknown operation and 409 for one that never opened", async () => {
    expect((await t.call("POST", "/v1/operations/UNKNOWN/close")).status).toBe(404);
    executor.failWith = new ExecutionError("no liquidity", "refused");
    const body = submitBody();
    await t.call("POST", "/v1/operations", { body });
    executor.failWith = undefined;
    const failed = (await (await t.call("POST", "/v1/operations", { body })).json()) as { id: string };
    const res = await t.call("POST", `/v1/operations/${failed.id}/close`);
    expect(res.status).toBe(409);
    expect(((await res.json()) as Problem).code).toBe("INVALID_STATE");
  });

  it("keeps the operation open when the executor fails to close it", async () => {
    const op = (await (await t.call("POST", "/v1/operations", { body: submitBody() })).json()) as {
      id: string;
    };
    executor.failWith = new ExecutionError("no liquidity", "refused");
    expect((await t.call("POST", `/v1/operations/${op.id}/close`)).status).toBe(502);
    executor.failWith = undefined;
    const res = await t.call("POST", `/v1/operations/${op.id}/close`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "closed" });
  });

  it("refuses a viewer", async () => {
    const op = (await (await t.call("POST", "/v1/operations", { body: submitBody() })).json()) as {
      id: string;
    };
    expect((await t.call("POST", `/v1/operations/${op.id}/close`, { role: "viewer" })).status).toBe(403);
    expect((await t.call("POST", `/v1/operations/${op.id}/close`, { role: null })).status).toBe(401);
  });
});
