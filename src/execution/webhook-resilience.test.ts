import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  answering,
  AT,
  type Bridge,
  closeBridges,
  failure,
  order,
  reply,
  startBridge,
  webhook,
} from "./webhook-bridge.fixture.js";

afterEach(closeBridges);

/** A port with nothing listening: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("WebhookExecutor transport failures", () => {
  it("aborts each attempt on a bridge that never answers; the open's outcome is unknown", async () => {
    const bridge = await startBridge(() => {});
    const error = await failure(webhook(bridge.url, { timeoutMs: 150, retries: 2 }).open(order()));

    expect(error.outcome).toBe("unknown");
    expect(error.message).toContain("no answer within 150 ms");
    expect(bridge.hits).toHaveLength(3);
    // Each attempt's connection was closed by the client before the next attempt arrived.
    expect(bridge.hits.map((h) => h.abandonedBefore)).toEqual([0, 1, 2]);
    await vi.waitFor(() => expect(bridge.abandoned).toBe(3));
  });

  it("fails a single timed-out open as unknown", async () => {
    const bridge = await startBridge(() => {});
    const error = await failure(webhook(bridge.url, { timeoutMs: 150, retries: 0 }).open(order()));
    expect(error.outcome).toBe("unknown");
    expect(bridge.hits).toHaveLength(1);
    await vi.waitFor(() => expect(bridge.abandoned).toBe(1));
  });

  it("aborts an answer that starts and stalls; the open's outcome is unknown", async () => {
    const bridge = await startBridge((_hit, res) => {
      res.writeHead(200, { "content-type": "application/json" }).write('{"price":');
    });
    const error = await failure(webhook(bridge.url, { timeoutMs: 150, retries: 0 }).open(order()));
    expect(error.outcome).toBe("unknown");
    await vi.waitFor(() => expect(bridge.abandoned).toBe(1));
  });

  it("keeps an open unknown when a retry is refused a connection after an attempt timed out", async () => {
    // The bridge stops listening once the first request is in, and never answers it.
    const bridge: Bridge = await startBridge(() => bridge.server.close());
    const error = await failure(webhook(bridge.url, { timeoutMs: 150 }).open(order()));
    expect(error.outcome).toBe("unknown");
    expect(error.message).toContain("ECONNREFUSED");
    expect(bridge.hits).toHaveLength(1);
  });

  it("times out a GET, and a status that times out is an error, not `unknown`", async () => {
    const bridge = await startBridge(() => {});
    const executor = webhook(bridge.url, { timeoutMs: 100, retries: 1 });

    const quote = await failure(executor.quote("BTC-USD"));
    expect(quote.message).toContain("no answer within 100 ms");
    expect(bridge.hits).toHaveLength(2);

    const status = await failure(executor.status("op-1", "BTC-USD"));
    expect(status.message).toContain("no answer within 100 ms");
    expect(bridge.hits).toHaveLength(4);
    await vi.waitFor(() => expect(bridge.abandoned).toBe(4));
  });

  it("fails an open whose connection is lost mid-request with outcome unknown", async () => {
    const bridge = await startBridge((_hit, res) => res.socket?.destroy());
    const error = await failure(webhook(bridge.url).open(order()));
    expect(error.outcome).toBe("unknown");
    expect(bridge.hits).toHaveLength(3);
  });

  it("fails an open on a refused connection with outcome refused: nothing was sent", async () => {
    const port = await closedPort();
    const error = await failure(webhook(`http://127.0.0.1:${port}`).open(order()));
    expect(error.outcome).toBe("refused");
    expect(error.message).toContain("ECONNREFUSED");
  });
});

describe("WebhookExecutor circuit breaker", () => {
  const breaking = { retries: 0, circuitBreaker: { failureThreshold: 3, resetMs: 200 } };

  it("opens after consecutive failures, then lets a trial call through after resetMs", async () => {
    let down = true;
    const bridge = await startBridge((_hit, res) =>
      down ? reply(res, 503, { error: "maintenance" }) : reply(res, 200, { price: "65000", at: AT }),
    );
    const executor = webhook(bridge.url, breaking);

    for (let i = 0; i < 3; i++) await failure(executor.open(order()));
    expect(bridge.hits).toHaveLength(3);

    const open = await failure(executor.open(order()));
    expect(open.message).toContain("circuit open");
    expect(open.outcome).toBe("refused");
    expect(bridge.hits).toHaveLength(3);

    await sleep(250);
    down = false;
    expect((await executor.open(order())).price).toBe(6_500_000n);
    expect(bridge.hits).toHaveLength(4);

    // Closed again: failures count from zero, so two more still reach the bridge.
    down = true;
    await failure(executor.open(order()));
    await failure(executor.open(order()));
    expect(bridge.hits).toHaveLength(6);
  });

  it("opens again when the trial call fails", async () => {
    const bridge = await answering(503, { error: "maintenance" });
    const executor = webhook(bridge.url, breaking);
    for (let i = 0; i < 3; i++) await failure(executor.open(order()));

    await sleep(250);
    await failure(executor.open(order()));
    expect(bridge.hits).toHaveLength(4);
    expect((await failure(executor.open(order()))).message).toContain("open circuit open");
    expect(bridge.hits).toHaveLength(4);
    expect(executor.circuits()).toEqual({ quote: "closed", open: "open" });
  });

  it("does not count refusals as failures", async () => {
    const bridge = await answering(400, { error: "bad size" });
    const executor = webhook(bridge.url, breaking);
    for (let i = 0; i < 5; i++) await failure(executor.open(order()));
    expect(bridge.hits).toHaveLength(5);
  });

  it("counts failed calls after their retries, not each attempt", async () => {
    const bridge = await answering(502, { error: "bad gateway" });
    const executor = webhook(bridge.url, { retries: 2, circuitBreaker: { failureThreshold: 2 } });
    const first = await failure(executor.open(order()));
    expect(first.outcome).toBe("unknown");
    expect(bridge.hits).toHaveLength(3); // every attempt of the first call reached the bridge
    await failure(executor.open(order()));
    expect(bridge.hits).toHaveLength(6);
    const third = await failure(executor.open(order()));
    expect(third.message).toContain("open circuit open");
    expect(third.outcome).toBe("refused"); // no request was sent
    expect(bridge.hits).toHaveLength(6);
  });

  it("keeps closes and status checks going while the quote and open circuits are open", async () => {
    const bridge = await startBridge((hit, res) => {
      if (hit.url.includes("/quotes/") || hit.url.endsWith("/open")) {
        return reply(res, 500, { error: "venue feed down" });
      }
      if (hit.url.endsWith("/close")) return reply(res, 200, { price: "65100", at: AT });
      reply(res, 200, { state: "open", entry: { price: "65000", at: AT } });
    });
    const executor = webhook(bridge.url, breaking);
    for (let i = 0; i < 3; i++) await failure(executor.quote("BTC-USD"));
    // A failing quote feed opens the quote circuit only: opens still reach the bridge.
    expect(executor.circuits()).toEqual({ quote: "open", open: "closed" });
    for (let i = 0; i < 3; i++) await failure(executor.open(order()));
    expect(executor.circuits()).toEqual({ quote: "open", open: "open" });
    const sent = bridge.hits.length;

    expect((await executor.close(order())).price).toBe(6_510_000n);
    expect(await executor.status("op-1", "BTC-USD")).toMatchObject({ state: "open" });
    expect(bridge.hits).toHaveLength(sent + 2);
    // An answer to a close says nothing about the price feed: the quote circuit stays open.
    expect(executor.circuits()).toEqual({ quote: "open", open: "open" });
    expect((await failure(executor.quote("BTC-USD"))).message).toContain("quote circuit open");
  });

  it("recovers at the first trial once the bridge is back, resetMs after the circuit opened", async () => {
    let down = true;
    const bridge = await startBridge((_hit, res) =>
      down ? reply(res, 503, { error: "restarting" }) : reply(res, 200, { price: "65000", at: AT }),
    );
    const executor = webhook(bridge.url, {
      retries: 0,
      circuitBreaker: { failureThreshold: 2, resetMs: 100 },
    });
    for (let i = 0; i < 2; i++) await failure(executor.quote("BTC-USD"));
    expect((await failure(executor.quote("BTC-USD"))).message).toContain("quote circuit open");

    down = false;
    await sleep(120);
    expect(executor.circuits().quote).toBe("open"); // nothing has tried since
    expect((await executor.quote("BTC-USD")).price).toBe(6_500_000n);
    expect(executor.circuits().quote).toBe("closed");
  });
});
