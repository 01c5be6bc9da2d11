import { afterEach, describe, expect, it } from "vitest";
import {
  answering,
  AT,
  type Bridge,
  clock,
  closeBridges,
  failure,
  order,
  reply,
  startBridge,
  webhook,
} from "./webhook-bridge.fixture.js";

afterEach(closeBridges);

/** A bridge that answers the queued statuses first, then `{price}` with 200. */
const failingFirst = (statuses: number[], price = "65000.5"): Promise<Bridge> =>
  startBridge((_hit, res) => {
    const status = statuses.shift();
    if (status === undefined) reply(res, 200, { price, at: AT });
    else reply(res, status, { error: `status ${status}` });
  });

describe("WebhookExecutor orders", () => {
  it("opens with POST orders/{id}/open: JSON order, bearer token, idempotency key", async () => {
    const bridge = await answering(200, { price: "65000.125", at: AT });
    const fill = await webhook(bridge.url, {}, "s3cret").open(order("op-1", "BTC-USD", 1234n));

    // 65000.125 is a tie at 2 decimals: half-even keeps the even cent.
    expect(fill).toEqual({ price: 6_500_012n, at: AT });
    expect(bridge.hits).toHaveLength(1);
    const [hit] = bridge.hits;
    expect(hit?.method).toBe("POST");
    expect(hit?.url).toBe("/bridge/orders/op-1/open");
    expect(JSON.parse(hit!.body)).toEqual({
      operationId: "op-1",
      instrument: "BTC-USD",
      side: "buy",
      size: "0.1234",
    });
    expect(hit?.headers).toMatchObject({
      authorization: "Bearer s3cret",
      "idempotency-key": "op-1:open",
      "content-type": "application/json",
      accept: "application/json",
    });
  });

  it("closes with POST orders/{id}/close, the position's side, and reads an ISO time", async () => {
    const bridge = await answering(200, { price: "3200.5", at: "2026-01-05T12:00:01.500Z" });
    const fill = await webhook(bridge.url).close({ ...order("op-2", "ETH-USD", 1500n), side: "sell" });

    expect(fill).toEqual({ price: 320_050n, at: AT });
    expect(bridge.hits[0]?.url).toBe("/bridge/orders/op-2/close");
    expect(JSON.parse(bridge.hits[0]!.body)).toEqual({
      operationId: "op-2",
      instrument: "ETH-USD",
      side: "sell",
      size: "1.500",
    });
    // No token configured: no authorization header at all.
    expect(bridge.hits[0]?.headers.authorization).toBeUndefined();
    // Not the open's key: a bridge caching answers by this header must not replay the open.
    expect(bridge.hits[0]?.headers["idempotency-key"]).toBe("op-2:close");
  });

  it("encodes the operation id into the path", async () => {
    const bridge = await answering(200, { price: "1", at: AT });
    await webhook(bridge.url).open(order("a/b c"));
    expect(bridge.hits[0]?.url).toBe("/bridge/orders/a%2Fb%20c/open");
    expect(bridge.hits[0]?.headers["idempotency-key"]).toBe("a/b c:open");
  });

  it.each([
    ["150.0005", 150_000n],
    ["150.0015", 150_002n],
    ["150.0025", 150_002n],
    ["150.00251", 150_003n],
    ["150.1", 150_100n],
    [150.1, 150_100n],
  ])("rounds the price %s half-even to SOL-USD's 3 decimals", async (price, units) => {
    const bridge = await answering(200, { price, at: AT });
    expect((await webhook(bridge.url).open(order("op-1", "SOL-USD", 100n))).price).toBe(units);
  });

  it("dates a fill without `at` by the clock", async () => {
    const bridge = await answering(200, { price: "65000" });
    expect((await webhook(bridge.url).open(order())).at).toBe(clock.now());
  });
});

describe("WebhookExecutor quotes and status", () => {
  it("quotes with GET quotes/{instrument}", async () => {
    const bridge = await answering(200, { price: "65000.12", at: AT });
    expect(await webhook(bridge.url, {}, "s3cret").quote("BTC-USD")).toEqual({
      instrument: "BTC-USD",
      price: 6_500_012n,
      at: AT,
    });
    expect(bridge.hits[0]).toMatchObject({ method: "GET", url: "/bridge/quotes/BTC-USD", body: "" });
    expect(bridge.hits[0]?.headers.authorization).toBe("Bearer s3cret");
  });

  it("reads open, closed and unknown states from GET orders/{id}, and a 404 as unknown", async () => {
    const answers: Record<string, [number, unknown]> = {
      "/bridge/orders/op-open": [200, { state: "open", entry: { price: "65000.105", at: AT } }],
      "/bridge/orders/op-closed": [
        200,
        {
          state: "closed",
          entry: { price: "65000.1", at: AT },
          exit: { price: 65100.2, at: "2026-01-05T12:05:00Z" },
        },
      ],
      "/bridge/orders/op-unknown": [200, { state: "unknown" }],
    };
    const bridge = await startBridge((hit, res) => {
      const [status, body] = answers[hit.url] ?? [404, { error: "no such order" }];
      reply(res, status, body);
    });
    const executor = webhook(bridge.url);

    expect(await executor.status("op-open", "BTC-USD")).toEqual({
      state: "open",
      entry: { price: 6_500_010n, at: AT },
    });
    expect(await executor.status("op-closed", "BTC-USD")).toEqual({
      state: "closed",
      entry: { price: 6_500_010n, at: AT },
      exit: { price: 6_510_020n, at: Date.UTC(2026, 0, 5, 12, 5) },
    });
    expect(await executor.status("op-unknown", "BTC-USD")).toEqual({ state: "unknown" });
    expect(await executor.status("op-missing", "BTC-USD")).toEqual({ state: "unknown" });
    expect(bridge.hits.map((h) => `${h.method} ${h.url}`)).toEqual([
      "GET /bridge/orders/op-open",
      "GET /bridge/orders/op-closed",
      "GET /bridge/orders/op-unknown",
      "GET /bridge/orders/op-missing",
    ]);
  });

  it("does not read a status that cannot be fetched as unknown", async () => {
    const bridge = await answering(500, { error: "database down" });
    const error = await failure(webhook(bridge.url, { retries: 1 }).status("op-1", "BTC-USD"));
    expect(error.message).toContain("database down");
    expect(bridge.hits).toHaveLength(2);
  });
});

describe("WebhookExecutor answers that fail", () => {
  it.each([503, 429, 500, 502, 408])(
    "retries a %i and returns the fill of the next attempt",
    async (status) => {
      const bridge = await failingFirst([status]);
      expect((await webhook(bridge.url).open(order())).price).toBe(6_500_050n);
      expect(bridge.hits).toHaveLength(2);
      expect(bridge.hits[1]?.headers["idempotency-key"]).toBe("op-1:open");
    },
  );

  it.each([
    [503, "refused"],
    [429, "refused"],
    [500, "unknown"],
    [502, "unknown"],
    [408, "unknown"],
  ])("fails an open answered %i on every attempt with outcome %s", async (status, outcome) => {
    const bridge = await answering(status, { error: "try later" });
    const error = await failure(webhook(bridge.url).open(order()));
    expect(error.outcome).toBe(outcome);
    expect(error.message).toContain(`answered ${status}: try later`);
    expect(bridge.hits).toHaveLength(3);
  });

  it("does not retry a 4xx refusal and quotes the bridge's error", async () => {
    const bridge = await answering(422, { error: "insufficient margin" });
    const error = await failure(webhook(bridge.url).open(order()));
    expect(error.outcome).toBe("refused");
    expect(error.message).toContain("insufficient margin");
    expect(bridge.hits).toHaveLength(1);
  });

  it("takes a refusal after an unknown attempt as a refusal: the bridge is idempotent", async () => {
    const bridge = await failingFirst([502, 409]);
    const error = await failure(webhook(bridge.url).open(order()));
    expect(error.outcome).toBe("refused");
    expect(bridge.hits).toHaveLength(2);
  });

  it("fails a malformed 200 answer with outcome unknown, without retrying it", async () => {
    const bridge = await answering(200, { at: AT });
    const error = await failure(webhook(bridge.url).open(order()));
    expect(error.outcome).toBe("unknown");
    expect(error.message).toContain("malformed open answer: price");
    expect(bridge.hits).toHaveLength(1);
  });

  it("fails a 200 answer whose price is not a decimal with outcome unknown", async () => {
    const bridge = await answering(200, { price: "65,000.00" });
    const error = await failure(webhook(bridge.url).open(order()));
    expect(error.outcome).toBe("unknown");
    expect(error.message).toContain("is not a positive decimal");
  });

  it.each(["0", "-1.5"])("fails a fill at price %s with outcome unknown", async (price) => {
    const bridge = await answering(200, { price });
    expect((await failure(webhook(bridge.url).open(order()))).outcome).toBe("unknown");
  });

  it("does not follow a redirect, which would turn the POST into a GET: a 3xx is a refusal", async () => {
    const target = await answering(200, { price: "65000" });
    const bridge = await startBridge((_hit, res) => {
      res.writeHead(302, { location: `${target.url}/orders/op-1/open` }).end();
    });
    const error = await failure(webhook(bridge.url).open(order()));
    expect(error.outcome).toBe("refused");
    expect(error.message).toContain("302");
    expect(bridge.hits).toHaveLength(1);
    expect(target.hits).toHaveLength(0);
  });

  it("retries a 200 answer that is not JSON, then fails with outcome unknown", async () => {
    const bridge = await answering(200, "<html>ok</html>");
    const error = await failure(webhook(bridge.url).open(order()));
    expect(error.outcome).toBe("unknown");
    expect(error.message).toContain("not JSON");
    expect(bridge.hits).toHaveLength(3);
  });

  it("refuses an order on an instrument it has no precision for, without calling the bridge", async () => {
    const bridge = await answering(200, { price: "1" });
    const error = await failure(webhook(bridge.url).open(order("op-1", "DOGE-USD")));
    expect(error.outcome).toBe("refused");
    expect(bridge.hits).toHaveLength(0);
  });
});
