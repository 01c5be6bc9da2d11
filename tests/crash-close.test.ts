import { rmSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { submitBody, tempDir } from "./harness.js";
import { startChild, type Child } from "./process.js";
import { waitFor } from "./stack/tools.js";
import { VenueBridge } from "./venue-bridge.js";

/**
 * kill -9 while a close is at the venue: the bridge executed it and never answered. After the
 * restart the first status check fails and the client's retry is refused; the close must still be
 * booked at the venue's fill, once.
 */
describe("kill -9 during a close at a webhook venue", () => {
  let dataDir: string;
  let bridge: VenueBridge;
  let child: Child | undefined;
  afterEach(async () => {
    child?.process.kill("SIGKILL");
    await child?.exited;
    child = undefined;
    await bridge.down();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("books the close the venue executed, after a restart, despite a refused retry", async () => {
    dataDir = tempDir();
    bridge = await new VenueBridge().up();
    const env = {
      OPSGUARD_EXECUTOR_TYPE: "webhook",
      OPSGUARD_EXECUTOR_WEBHOOK_URL: bridge.url,
      OPSGUARD_EXECUTOR_WEBHOOK_TIMEOUT_MS: "5000",
      OPSGUARD_EXECUTOR_WEBHOOK_RETRIES: "0",
      OPSGUARD_EXECUTOR_RECONCILE_AFTER_MS: "200",
      OPSGUARD_SUPERVISOR_MONITOR_INTERVAL_MS: "50",
    };
    child = await startChild(dataDir, ["serve"], env);
    const call = (c: Child, method: string, path: string, body?: unknown) =>
      fetch(`http://127.0.0.1:${c.port}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${c.token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const submitted = await call(child, "POST", "/v1/operations", submitBody({ size: "0.5" }));
    expect(submitted.status).toBe(201);
    const { id } = (await submitted.json()) as { id: string };

    bridge.setPrice("BTC-USD", "65100.00");
    bridge.fault("close", { fault: "late" });
    void call(child, "POST", `/v1/operations/${id}/close`).catch(() => undefined);
    await waitFor("the venue to execute the close", () => bridge.state(id).state === "closed", {
      intervalMs: 10,
    });
    child.process.kill("SIGKILL");
    await child.exited;

    // The next process: status checks fail at first, and the bridge refuses the client's retry.
    bridge.setPrice("BTC-USD", "64000.00");
    bridge.fault("status", { fault: "error" });
    bridge.fault("close", { fault: "busy" });
    child = await startChild(dataDir, ["serve"], env);
    const retry = await call(child, "POST", `/v1/operations/${id}/close`);
    expect(retry.status).toBe(504);
    expect(await retry.json()).toMatchObject({ code: "EXECUTION_UNCONFIRMED", operationId: id });

    bridge.fault("all", undefined);
    const restarted = child;
    const closed = await waitFor(
      "the close to be booked",
      async () => {
        const op = (await (await call(restarted, "GET", `/v1/operations/${id}`)).json()) as {
          status: string;
        };
        return op.status === "closed" && op;
      },
      { intervalMs: 50 },
    );
    expect(closed).toMatchObject({ closeReason: "manual", exitPrice: "65100.00", pnl: "50.00" });
    const metrics = await (await fetch(`http://127.0.0.1:${restarted.port}/metrics`)).text();
    const closes = [...metrics.matchAll(/^opsguard_operations_closed_total\{[^}]*\} (\d+)$/gm)];
    expect(closes.reduce((sum, [, n]) => sum + Number(n), 0)).toBe(1);
    expect(metrics).toMatch(/^opsguard_equity 100050$/m);
  });
});
