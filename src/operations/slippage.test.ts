import { afterEach, describe, expect, it } from "vitest";
import { ScriptedExecutor, startTestApp, submitBody, type TestApp } from "../../tests/harness.js";
import type { Fill, OrderRequest } from "../execution/executor.js";

/**
 * Limits are judged at the worst price an open may fill at (the quote ± risk.maxSlippageBps), and
 * the venue is told not to fill beyond it: no allowed fill takes exposure past a limit.
 */
describe("slippage and limits", () => {
  let t: TestApp;
  afterEach(() => t.close());

  const eth = (size: string) => submitBody({ instrument: "ETH-USD", size });
  const exposure = () => t.app.ledger.view().exposureTotal;

  it("refuses an open whose notional is within the limit at the quote but not at the worst fill", async () => {
    t = await startTestApp({
      risk: { maxNotionalPerOperation: "1000", maxSlippageBps: 50 },
      executor: { paper: { slippageBps: 50 } },
    });
    // 0.312 ETH × 3200 = 998.40 at the quote, but the buy may pay up to 3216: 1003.39.
    const over = await t.call("POST", "/v1/operations", { body: eth("0.312") });
    expect(over.status).toBe(422);
    expect(await over.json()).toMatchObject({
      errors: [{ code: "NOTIONAL_EXCEEDED", limit: "1000.00", observed: "1003.39" }],
    });
    // 0.310 ETH fills at the worst price the venue may give (3216): 996.96, within the limit.
    const within = await t.call("POST", "/v1/operations", { body: eth("0.310") });
    expect(within.status).toBe(201);
    expect(await within.json()).toMatchObject({ entryPrice: "3216.00", notional: "996.96" });
    expect(exposure()).toBe(99_696n);
  });

  it("tells the venue the limit price: a fill beyond it does not happen", async () => {
    t = await startTestApp({
      risk: { maxSlippageBps: 50 },
      executor: { paper: { slippageBps: 100 } },
    });
    const res = await t.call("POST", "/v1/operations", { body: eth("1") });
    expect(res.status).toBe(502);
    const problem = (await res.json()) as { operationId: string; errors: { message: string }[] };
    expect(problem.errors[0]?.message).toContain("beyond its limit price");
    expect(await (await t.call("GET", `/v1/operations/${problem.operationId}`)).json()).toMatchObject({
      status: "failed",
    });
    expect(exposure()).toBe(0n);
  });

  it("books a fill a venue made beyond the limit price as it happened, and counts it", async () => {
    const requests: OrderRequest[] = [];
    // A venue that ignores the limit price and fills 2% above the quote.
    const careless = new (class extends ScriptedExecutor {
      override async open(request: OrderRequest): Promise<Fill> {
        requests.push(request);
        const fill = await super.open(request);
        return { ...fill, price: (fill.price * 102n) / 100n };
      }
    })();
    t = await startTestApp({ risk: { maxSlippageBps: 50 } }, { executor: careless });
    const res = await t.call("POST", "/v1/operations", { body: submitBody({ size: "0.1" }) });
    expect(res.status).toBe(201);
    expect(requests[0]?.limitPrice).toBe(6_532_500n); // 65000 + 0.5%, in cents
    expect(await res.json()).toMatchObject({ entryPrice: "66300.00", notional: "6630.00" });
    expect(exposure()).toBe(663_000n);
    expect(await t.app.registry.getSingleMetricAsString("opsguard_fills_beyond_reservation_total")).toContain(
      'opsguard_fills_beyond_reservation_total{instrument="BTC-USD"} 1',
    );
  });
});
