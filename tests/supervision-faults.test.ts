import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../src/platform/clock.js";
import { startTestApp, submitBody, type TestApp } from "./harness.js";
import { waitFor } from "./stack/tools.js";
import { VenueBridge } from "./venue-bridge.js";

/**
 * The supervisor against a bridge whose closes outlast their timeout and retries, whose status
 * checks hang and whose quotes fail: every other operation's exits must still be taken.
 */
/** Submits through the API (the id it answered) and reads an operation's status. */
function client(app: TestApp) {
  return {
    submit: async (body: Record<string, unknown>) =>
      (
        (await (await app.call("POST", "/v1/operations", { body: submitBody(body) })).json()) as {
          id: string;
        }
      ).id,
    status: async (id: string) =>
      ((await (await app.call("GET", `/v1/operations/${id}`)).json()) as { status: string }).status,
  };
}

describe("supervision while the bridge is slow or failing", () => {
  let t: TestApp | undefined;
  let bridge: VenueBridge;
  afterEach(async () => {
    await t?.close();
    t = undefined;
    await bridge.down();
  });

  it("takes other operations' exits while a close is still out, through its timeouts and retries", async () => {
    bridge = await new VenueBridge().up();
    t = await startTestApp({
      executor: {
        type: "webhook",
        // Three attempts of 1.5 s each: the hung close is out for over 4 s in all.
        webhook: { url: bridge.url, timeoutMs: 1_500, retries: 2, backoffMs: 10 },
      },
      supervisor: { monitorIntervalMs: 20 },
    });
    const app = t;
    const { submit, status } = client(app);
    const slow = await submit({ instrument: "ETH-USD", size: "2", stopLoss: "3150" });
    const stopped = await submit({ size: "0.1", stopLoss: "64500" });
    bridge.fault("close", { fault: "hang", only: (id) => id === slow });
    bridge.setPrice("ETH-USD", "3100.00");
    t.app.supervisor.start();
    await waitFor("the slow close to be out", () => bridge.hanging > 0 && app.app.service.isClosing(slow));

    // While its first attempt hangs, another stop-loss is crossed: it is closed at once.
    bridge.setPrice("BTC-USD", "64400.00");
    await waitFor("the other stop-loss close", async () => (await status(stopped)) === "closed", {
      intervalMs: 10,
    });
    expect(app.app.service.isClosing(slow)).toBe(true); // the slow close is still out
    expect(bridge.received.close).toBeLessThan(3); // not even through its retries yet
  });

  it("takes other operations' exits while a close and its reconciliation hang", async () => {
    bridge = await new VenueBridge().up();
    const clock = new ManualClock(Date.now());
    t = await startTestApp(
      {
        executor: {
          type: "webhook",
          // One attempt of 2 s: a hung status check stays out long enough to see what runs meanwhile.
          webhook: { url: bridge.url, timeoutMs: 2_000, retries: 0 },
        },
        supervisor: { monitorIntervalMs: 20 },
      },
      { clock },
    );
    const app = t;
    const { submit, status } = client(app);
    const slow = await submit({ instrument: "ETH-USD", size: "2", stopLoss: "3150" });
    const stopped = await submit({ size: "0.1", stopLoss: "64500" });
    const timed = await submit({ size: "0.1", maxDurationSec: 30 });

    // The slow operation's close and every status check about it never get an answer.
    const isSlow = (id: string) => id === slow;
    bridge.fault("close", { fault: "hang", only: isSlow });
    bridge.fault("status", { fault: "hang", only: isSlow });
    bridge.setPrice("ETH-USD", "3100.00");
    t.app.supervisor.start();
    await waitFor(
      "the slow close to time out",
      () => bridge.received.close >= 1 && !t!.app.service.isClosing(slow),
    );
    clock.advance(t.config.executor.reconcileAfterMs);
    await waitFor("its reconciliation to hang", () => bridge.received.status >= 1 && bridge.hanging > 0);

    // While that hangs: a stop-loss crossed now is closed...
    bridge.setPrice("BTC-USD", "64400.00");
    await waitFor("the stop-loss close", async () => (await status(stopped)) === "closed", {
      intervalMs: 10,
    });
    // The first status question is still out, unanswered: the close did not wait for it.
    expect(bridge.received.status).toBe(1);
    expect(bridge.hanging).toBeGreaterThan(0);
    expect(await status(slow)).toBe("open");

    // ...and a time limit is taken while every quote hangs too: it needs no price.
    bridge.fault("quote", { fault: "hang" });
    clock.advance(30_000);
    await waitFor("the time-limit close", async () => (await status(timed)) === "closed");
    expect(await (await app.call("GET", `/v1/operations/${timed}`)).json()).toMatchObject({
      closeReason: "timeout",
    });

    // Once the bridge answers again, the venue still holds the position: the close is sent again.
    bridge.fault("all", undefined);
    await waitFor("the slow operation to be closed after all", async () => (await status(slow)) === "closed");
    expect(bridge.state(slow)).toMatchObject({ state: "closed" });
  });
});
